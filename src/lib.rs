//! authflow: login flows as code. Parse, check, compile and simulate identity-platform flows.
//!
//! The pipeline is `syntax` (text -> AST) -> `graph` (AST -> DAG) -> `check` (diagnostics)
//! -> `compile` (plan) -> `run` (trace). See ARCHITECTURE.md for the map.

pub mod blocks;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod compile;
pub mod diagnostic;
pub mod diff;
pub mod expr;
pub mod files;
pub mod git;
pub mod graph;
pub mod host;
pub mod js;
pub mod jsfacts;
pub mod load;
pub mod lsp;
pub mod release;
pub mod replay;
pub mod run;
pub mod span;
pub mod store;
pub mod streams;
pub mod suite;
pub mod syntax;
pub mod workspace;
