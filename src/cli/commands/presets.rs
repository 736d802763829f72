//! `authflow presets`: the built-in events; `authflow presets show NAME` prints one as the
//! event JSON it is (credentials, directory entries and clock included), so users see how to
//! submit a password or an OTP.

use crate::cli::error::{CliError, CliResult};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print a preset's event JSON.
    Show { name: String },
}

pub fn run(args: Args) -> CliResult {
    match args.command {
        None => {
            for (name, description, _) in crate::run::presets::PRESETS {
                outln!("{name:<20} {description}");
            }
        }
        Some(Command::Show { name }) => {
            let Some(json) = crate::run::presets::find(&name) else {
                let hint = crate::catalog::closest(&name, crate::run::presets::names())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(CliError::Usage(format!(
                    "no preset `{name}`{hint} (`authflow presets` lists them)"
                )));
            };
            out!("{}", json.trim_end());
            outln!();
        }
    }
    Ok(ExitCode::SUCCESS)
}
