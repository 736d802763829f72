//! `authflow graph`: draw a flow's graph as DOT or Mermaid.

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, load, render};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(clap::Args)]
pub struct Args {
    flow: PathBuf,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let (loaded, _) = load::load_flow(&args.flow, globals.workspace.as_deref())?;
    let Some((_, Some(parsed))) = loaded.flows.first() else {
        return Err(CliError::Diagnostics(render::human(
            &loaded.ws.sources,
            &loaded.diagnostics,
            crate::cli::stdout_color(),
        )));
    };
    let graph = crate::graph::FlowGraph::build(parsed);
    out!(
        "{}",
        match args.format {
            GraphFormat::Dot => crate::graph::draw::dot(&graph),
            GraphFormat::Mermaid => crate::graph::draw::mermaid(&graph),
        }
    );
    Ok(ExitCode::SUCCESS)
}
