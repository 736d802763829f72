//! The one error type of every command, and how it maps to exit codes.
//!
//! Exit codes: 0 when no errors, 1 when the input has errors (rendered to standard output),
//! 2 for usage and I/O errors (a message on standard error).

use std::process::ExitCode;

/// Why a command did not complete.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments or unreadable input: exit 2, the message on standard error.
    Usage(String),
    /// The input has errors: exit 1, with the rendered report for standard output.
    Diagnostics(String),
}

/// What every command returns.
pub type CliResult = Result<ExitCode, CliError>;

impl CliError {
    /// A usage error from anything printable.
    pub fn usage(message: impl std::fmt::Display) -> CliError {
        CliError::Usage(message.to_string())
    }
}

impl From<crate::workspace::LoadError> for CliError {
    fn from(e: crate::workspace::LoadError) -> CliError {
        CliError::usage(e)
    }
}

/// The exit code for "errors were found" (1) or success (0).
pub fn exit_status(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
