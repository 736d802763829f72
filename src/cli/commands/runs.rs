//! `authflow runs list|show`: the stored runs (the console's Recent Runs).

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, TraceFormat, simulate, trace_view};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Args {
    /// List stored runs, newest first.
    List,
    /// Show one stored run by id (or `latest`).
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = globals
        .workspace
        .clone()
        .or_else(|| crate::workspace::discover(&cwd));
    let dir = simulate::runs_dir(root.as_deref());
    let runs = simulate::list_runs(&dir);
    match args {
        Args::List => {
            out!("{}", trace_view::run_list(&dir, &runs));
            Ok(ExitCode::SUCCESS)
        }
        Args::Show { id, format } => {
            let found = if id == "latest" {
                runs.first()
            } else {
                runs.iter().find(|(i, _)| *i == id)
            };
            let Some((_, trace)) = found else {
                return Err(CliError::Usage(format!(
                    "no stored run `{id}` in {} (`authflow runs list` lists them)",
                    dir.display()
                )));
            };
            out!("{}", trace_view::trace(trace, format));
            Ok(ExitCode::SUCCESS)
        }
    }
}
