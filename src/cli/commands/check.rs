//! `authflow check`: parse and check flows, actions, modules and the workspace's test files,
//! in one environment, in several (`--env a --env b`), or in every one (`--env all`).

use crate::check;
use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::{Format, Globals, load, render};
use crate::diagnostic::{Diagnostic, FileId};
use crate::syntax::ast::Flow;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// A flow file or a workspace directory (default: every flow of the workspace).
    path: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let color = crate::cli::stdout_color();
    let path = args.path.as_deref();
    let workspace = globals.workspace.as_deref();
    let envs = environments(path, workspace, &globals.envs)?;
    if let [env] = envs.as_slice() {
        let (text, errors) = check_report_in(path, workspace, args.format, color, env.as_deref())
            .map_err(CliError::Usage)?;
        out!("{text}");
        return Ok(exit_status(errors));
    }
    let mut any_errors = false;
    let mut reports = Vec::new();
    for env in &envs {
        let (text, errors) = check_report_in(path, workspace, args.format, color, env.as_deref())
            .map_err(CliError::Usage)?;
        any_errors |= errors;
        reports.push((env.clone().unwrap_or_default(), text));
    }
    out!("{}", render::per_environment(&reports, args.format));
    Ok(exit_status(any_errors))
}

/// The environments `--env` names: none given is the one selection "no environment"; `all` is
/// every `environments/*.yaml` (none when the workspace defines no environment).
fn environments(
    path: Option<&Path>,
    workspace: Option<&Path>,
    given: &[String],
) -> Result<Vec<Option<String>>, CliError> {
    use crate::workspace::env;
    match given {
        [] => Ok(vec![None]),
        [all] if all == env::ALL => {
            let cwd = std::env::current_dir().map_err(CliError::usage)?;
            let root = match workspace {
                Some(dir) => Some(dir.to_path_buf()),
                None => crate::workspace::discover(path.unwrap_or(&cwd)),
            };
            let names = root.as_deref().map(env::names).unwrap_or_default();
            if names.is_empty() {
                return Ok(vec![None]);
            }
            Ok(names.into_iter().map(Some).collect())
        }
        list if list.iter().any(|e| e == env::ALL) => Err(CliError::Usage(
            "--env all already names every environment; give it alone".into(),
        )),
        list => Ok(list.iter().cloned().map(Some).collect()),
    }
}

/// Checks `path` (a flow file, a workspace, or the current workspace) and renders the
/// diagnostics; the flag says whether any is an error. Tests go through this too.
pub fn check_report(
    path: Option<&Path>,
    workspace: Option<&Path>,
    format: Format,
    color: bool,
) -> Result<(String, bool), String> {
    check_report_in(path, workspace, format, color, crate::cli::selected_env())
}

/// [`check_report`] in environment `env` (none: `authflow.yaml` alone).
pub fn check_report_in(
    path: Option<&Path>,
    workspace: Option<&Path>,
    format: Format,
    color: bool,
    env: Option<&str>,
) -> Result<(String, bool), String> {
    let loaded = load::load_in(path, workspace, env).map_err(|e| e.to_string())?;
    if loaded.flows.is_empty() && loaded.ws.root.is_none() {
        return Err("nothing to check: give a flow file, or run inside a workspace (a directory with authflow.yaml)".into());
    }
    let mut diagnostics = check_loaded(&loaded);
    // One flow file is checked on its own: the workspace's tests name flows that were not
    // loaded, so they are checked with the workspace (`authflow check`), not with one file.
    let one_file = path.is_some_and(|p| !p.is_dir());
    let loaded = if loaded.ws.root.is_some() && !one_file {
        check_tests(loaded, &mut diagnostics)?
    } else {
        loaded
    };
    let text = render::diagnostics(&loaded.ws.sources, &diagnostics, format, color);
    Ok((text, diagnostics.iter().any(Diagnostic::is_error)))
}

/// Adds the diagnostics of the workspace's test files (`tests/**/*.test.yaml`) to
/// `diagnostics`, the report [`check_loaded`] made: the files load through the suite loader
/// `authflow test` uses (`suite::load::from_loaded`, which runs nothing), and a test file it
/// refuses to read is an `unreadable-file` diagnostic like any workspace file. Returns the
/// workspace, whose source table now holds the test files the diagnostics point into. What
/// the loader reports again for the flows the tests name (their errors) is reported once.
pub fn check_tests(
    loaded: load::Loaded,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<load::Loaded, String> {
    use crate::suite::load::{Refused, from_loaded};
    let suite = from_loaded(loaded, &[], Refused::Report).map_err(|e| e.to_string())?;
    for d in suite.diagnostics {
        if !diagnostics.contains(&d) {
            diagnostics.push(d);
        }
    }
    finish_report(&suite.loaded.flows, diagnostics);
    Ok(suite.loaded)
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
    diagnostics.extend(check::check_workspace(&loaded.ws, actions, &loaded.streams));
    diagnostics.extend(crate::release::check::check(
        &loaded.ws,
        &loaded.flows,
        &loaded.lock,
    ));
    finish_report(&loaded.flows, &mut diagnostics);
    diagnostics
}

/// The report in order: without the consequences of unknown references, sorted by place,
/// each diagnostic once.
fn finish_report(flows: &[(FileId, Option<Flow>)], diagnostics: &mut Vec<Diagnostic>) {
    crate::workspace::env::drop_consequences(flows, diagnostics);
    diagnostics.sort_by_key(|d| (d.file, d.span.start, d.code));
    diagnostics.dedup();
}
