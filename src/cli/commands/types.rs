//! `authflow types`: a TypeScript declaration file of `event` and `api`, for editors.

use crate::cli::error::CliResult;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    out!("{}", crate::catalog::types_dts::declarations());
    Ok(ExitCode::SUCCESS)
}
