//! `authflow run`: simulate one login and print (and store) its trace.

use crate::cli::error::CliError;
use crate::cli::error::{CliResult, exit_status};
use crate::cli::{Globals, TraceFormat, simulate, trace_view};
use crate::run::trace::Outcome;
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Expect {
    Allow,
    Deny,
}

#[derive(clap::Args)]
pub struct Args {
    flow: PathBuf,
    /// A preset name (`authflow presets` lists them) or an event JSON file.
    #[arg(long, value_name = "PRESET|FILE")]
    event: String,
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    format: TraceFormat,
    /// Exit 1 unless the run ends with this outcome (for CI).
    #[arg(long, value_enum)]
    expect: Option<Expect>,
    /// Do not store the run under .authflow/runs/.
    #[arg(long)]
    no_store: bool,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let compiled = simulate::compile_flow(
        &args.flow,
        globals.workspace.as_deref(),
        crate::cli::stdout_color(),
    )?;
    let (name, sim) = simulate::load_event(&args.event)?;
    let engine =
        crate::host::runner_for(&compiled.loaded.ws, &compiled.plan).map_err(CliError::usage)?;
    let trace = simulate::simulate(&compiled, &name, &sim, engine.as_ref())?;
    out!("{}", trace_view::trace(&trace, args.format));
    if !args.no_store {
        let dir = simulate::runs_dir(compiled.loaded.ws.root.as_deref());
        match simulate::store_run(&dir, &trace) {
            Ok(path) if args.format == TraceFormat::Human => {
                outln!("stored as {}", path.display())
            }
            Ok(_) => {}
            Err(e) => eprintln!("warning: the run was not stored: {e}"),
        }
    }
    let expected = match args.expect {
        None => true,
        Some(Expect::Allow) => trace.outcome == Outcome::Allow,
        Some(Expect::Deny) => trace.outcome == Outcome::Deny,
    };
    Ok(exit_status(!expected))
}
