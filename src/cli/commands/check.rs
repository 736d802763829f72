//! `authflow check`: parse and check flows, actions and modules.

use crate::check;
use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::{Format, Globals, load, render};
use crate::diagnostic::Diagnostic;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// A flow file or a workspace directory (default: every flow of the workspace).
    path: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let (text, errors) = check_report(
        args.path.as_deref(),
        globals.workspace.as_deref(),
        args.format,
        crate::cli::stdout_color(),
    )
    .map_err(CliError::Usage)?;
    out!("{text}");
    Ok(exit_status(errors))
}

/// Checks `path` (a flow file, a workspace, or the current workspace) and renders the
/// diagnostics; the flag says whether any is an error. Tests go through this too.
pub fn check_report(
    path: Option<&Path>,
    workspace: Option<&Path>,
    format: Format,
    color: bool,
) -> Result<(String, bool), String> {
    let loaded = load::load(path, workspace).map_err(|e| e.to_string())?;
    if loaded.flows.is_empty() && loaded.ws.root.is_none() {
        return Err("nothing to check: give a flow file, or run inside a workspace (a directory with authflow.yaml)".into());
    }
    let diagnostics = check_loaded(&loaded);
    let text = render::diagnostics(&loaded.ws.sources, &diagnostics, format, color);
    Ok((text, diagnostics.iter().any(Diagnostic::is_error)))
}

/// Every diagnostic for what was loaded: loading, each flow, and the workspace's actions.
pub fn check_loaded(loaded: &load::Loaded) -> Vec<Diagnostic> {
    check_loaded_with(loaded, &check::analyze_actions(&loaded.ws))
}

/// `check_loaded` with the workspace's actions already analysed (`authflow lsp` keeps them
/// for completion and hover).
pub fn check_loaded_with(
    loaded: &load::Loaded,
    actions: &std::collections::BTreeMap<String, crate::jsfacts::ActionFacts>,
) -> Vec<Diagnostic> {
    let mut diagnostics = loaded.diagnostics.clone();
    for (file, flow) in &loaded.flows {
        if let Some(flow) = flow {
            diagnostics.extend(check::check_flow(&loaded.ws, *file, flow, actions));
        }
    }
    diagnostics.extend(check::check_workspace(&loaded.ws, actions));
    diagnostics.extend(crate::release::check::check(
        &loaded.ws,
        &loaded.flows,
        &loaded.lock,
    ));
    diagnostics.extend(crate::streams::checks::check_all(
        &loaded.ws,
        &loaded.streams,
    ));
    crate::streams::checks::check_action_reads(&loaded.ws, &actions, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.file, d.span.start, d.code));
    diagnostics.dedup();
    diagnostics
}
