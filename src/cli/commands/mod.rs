//! One file per command: each holds its clap `Args` and a `run` function that does the work
//! and hands the result to a renderer. Shared steps (loading, compiling, running) live in the
//! parent module's `load` and `simulate`, and in `crate::host`.

pub mod action;
pub mod check;
pub mod compile;
pub mod diff;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod hash_password;
pub mod keygen;
pub mod lsp;
pub mod presets;
pub mod publish;
pub mod replay;
pub mod run;
pub mod runs;
pub mod schema;
pub mod status;
pub mod stream;
pub mod test;
pub mod types;
pub mod verify;
pub mod versions;
