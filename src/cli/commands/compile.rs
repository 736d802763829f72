//! `authflow compile`: a checked flow's execution plan as JSON.

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, simulate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    flow: PathBuf,
    /// Write the plan here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let compiled = simulate::compile_flow(
        &args.flow,
        globals.workspace.as_deref(),
        crate::cli::stdout_color(),
    )?;
    let json = serde_json::to_string_pretty(&compiled.plan).map_err(CliError::usage)?;
    match args.output {
        Some(path) => {
            crate::files::write_whole(&path, (json + "\n").as_bytes()).map_err(CliError::usage)?
        }
        None => outln!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}
