//! Flow tests: the library behind `authflow test`, which `publish` and `replay` call too.
//!
//! A workspace's suite lives in `tests/**/*.test.yaml` (the format is one table in `format`,
//! also published as a JSON Schema). `load` turns the files into [`Case`]s, with diagnostics
//! (spanned, rendered like `check`'s) for anything malformed or naming what does not exist;
//! `runner` runs cases in one process against one JavaScript engine, in parallel, and returns
//! results in the cases' order; `expect` matches each run against its expectations;
//! `coverage`, `report` (human, JSON, JUnit) and `update` (`--update`) read the results.
//!
//! This module must not print or exit: commands do (`cli::commands::test`).

pub mod coverage;
pub mod expect;
pub mod format;
pub mod load;
pub mod report;
pub mod runner;
pub mod update;

/// Diagnostic codes only test files produce (`check` fixtures skip them; `tests/suite.rs`
/// covers them).
pub const CODES: &[crate::diagnostic::Code] = &[crate::diagnostic::Code::UnknownTestTarget];

pub use load::{Case, SuiteError, Target, WorkspaceSuite, load};
pub use runner::{CaseResult, Options, Status, engine, run};
