//! `authflow presets`: the built-in events.

use crate::cli::error::CliResult;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    for (name, description, _) in crate::run::presets::PRESETS {
        outln!("{name:<20} {description}");
    }
    Ok(ExitCode::SUCCESS)
}
