//! `authflow lsp`: the language server, over standard input and output, for editors.

use crate::cli::error::{CliError, CliResult};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Accepted for editors that pass it; standard input and output are the only transport.
    #[arg(long)]
    stdio: bool,
    /// The debounce window (milliseconds): a change after a quiet spell is checked at once,
    /// changes within this long of the last publish wait until typing pauses this long.
    #[arg(long, value_name = "MS", default_value_t = crate::lsp::DEFAULT_DEBOUNCE_MS)]
    debounce_ms: u64,
}

pub fn run(args: Args) -> CliResult {
    let _ = args.stdio;
    let options = crate::lsp::Options {
        debounce: std::time::Duration::from_millis(args.debounce_ms),
    };
    crate::lsp::run_stdio(options).map_err(CliError::Usage)?;
    Ok(ExitCode::SUCCESS)
}
