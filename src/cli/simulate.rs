//! `authflow compile`, `authflow run` and `authflow runs`: from a flow file to a plan, a
//! simulated login, and its record in the workspace's store (`crate::store`).

use super::error::CliError;
use super::load;
use crate::compile::{self, Plan};
use crate::diagnostic::Diagnostic;
use crate::run::{self, ActionRunner, SessionConfig, Simulator, event::SimEvent, trace::Trace};
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

/// A flow compiled, with the workspace it came from.
pub struct Compiled {
    pub loaded: load::Loaded,
    pub plan: Plan,
}

/// Loads and compiles one flow file; on errors, the rendered diagnostics.
pub fn compile_flow(
    flow: &Path,
    workspace: Option<&Path>,
    color: bool,
) -> Result<Compiled, CliError> {
    let (loaded, file) = load::load_flow(flow, workspace)?;
    let Some(parsed) = loaded.flows.first().and_then(|(_, f)| f.as_ref()) else {
        return Err(CliError::Diagnostics(super::render::human(
            &loaded.ws.sources,
            &loaded.diagnostics,
            color,
        )));
    };
    let load_errors: Vec<Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if !load_errors.is_empty() {
        return Err(CliError::Diagnostics(super::render::human(
            &loaded.ws.sources,
            &load_errors,
            color,
        )));
    }
    match compile::compile(&loaded.ws, file, parsed) {
        Ok(plan) => Ok(Compiled { loaded, plan }),
        Err(errors) => Err(CliError::Diagnostics(super::render::human(
            &loaded.ws.sources,
            &errors,
            color,
        ))),
    }
}

/// Reads an event by preset name or file path.
pub fn load_event(spec: &str) -> Result<(String, SimEvent), CliError> {
    load_event_input(spec).map(|(name, _, sim)| (name, sim))
}

/// Reads an event by preset name or file path: its name, the JSON as given (what a stored
/// run keeps for replay) and the validated, completed event. A file is read through
/// `files::read_text`: inside a workspace it must resolve inside it, and it is capped at
/// `files::EVENT_LIMIT`.
pub fn load_event_input(spec: &str) -> Result<(String, serde_json::Value, SimEvent), CliError> {
    let (name, text) = match run::presets::find(spec) {
        Some(json) => (spec.to_string(), json.to_string()),
        None => {
            let path = Path::new(spec);
            if path.symlink_metadata().is_err() {
                return Err(CliError::Usage(format!(
                    "`{spec}` is neither an event preset ({}) nor a file",
                    run::presets::names().join(", ")
                )));
            }
            let root = crate::workspace::discover(path);
            let within = crate::files::confinement(path, root.as_deref());
            let text = crate::files::read_text(path, within, crate::files::EVENT_LIMIT)
                .map_err(CliError::usage)?;
            (spec.to_string(), text)
        }
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{name}: not JSON: {e}")))?;
    let invalid = |errors: Vec<run::event::EventError>| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        CliError::Usage(format!(
            "{name}: the event does not follow the event object reference:\n{}",
            lines.join("\n")
        ))
    };
    let sim = run::event::parse(value.clone()).map_err(invalid)?;
    // The event's own users are hostile data too: refuse hashes above the argon2 caps here,
    // with their path, rather than at the password check.
    let hash_errors: Vec<run::event::EventError> = sim
        .directory
        .iter()
        .enumerate()
        .filter_map(|(i, user)| {
            let hash = user.password_hash.as_deref()?;
            let problem = run::crypto::check_password_hash(hash).err()?;
            Some(run::event::EventError {
                path: format!("directory[{i}].password_hash"),
                message: problem,
            })
        })
        .collect();
    if !hash_errors.is_empty() {
        return Err(invalid(hash_errors));
    }
    Ok((name, value, sim))
}

/// The workspace's user directory (`crate::load::directory`).
pub fn load_directory(ws: &Workspace) -> run::directory::Directory {
    crate::load::directory(ws)
}

/// The session signing configuration (`crate::load::session_config`); a key HS256 cannot
/// use is a usage error.
pub fn session_config(ws: &Workspace) -> Result<(SessionConfig, Option<String>), CliError> {
    crate::load::session_config(ws).map_err(CliError::usage)
}

/// Runs a compiled flow once. Warnings (a signing secret with no value) go to standard error.
pub fn simulate(
    compiled: &Compiled,
    event_name: &str,
    sim: &SimEvent,
    actions: &dyn ActionRunner,
) -> Result<Trace, CliError> {
    let directory = load_directory(&compiled.loaded.ws);
    let (session, warning) = session_config(&compiled.loaded.ws)?;
    if let Some(warning) = warning {
        eprintln!("warning: {}", super::escape::escape_lines(&warning));
    }
    let simulator = Simulator::new(&compiled.plan, directory, session)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(simulator.run(sim, event_name, actions))
}

/// Where the store lives: the workspace root, or the current directory outside any workspace.
pub fn store_base(ws_root: Option<&Path>) -> PathBuf {
    ws_root.map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every secret value the workspace knows, by name: what a stored run must never hold.
pub fn secret_values(ws: &Workspace) -> Vec<(String, String)> {
    let mut names: Vec<&String> = ws.settings.secrets.iter().collect();
    names.extend(ws.actions.values().flat_map(|a| a.meta.secrets.iter()));
    names.extend(ws.modules.values().flat_map(|m| m.meta.secrets.iter()));
    names.extend(ws.settings.session.signing_secret.iter());
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| Some((name.clone(), ws.secret_value(name)?)))
        .collect()
}

/// Stores a run in the store under `base` (`store_base`) and returns its id.
pub fn store_run(
    base: &Path,
    compiled: &Compiled,
    flow_file: &Path,
    input_event: &serde_json::Value,
    trace: &Trace,
) -> Result<String, crate::store::StoreError> {
    let ws = &compiled.loaded.ws;
    let mut store = crate::store::Store::open(base)?;
    // The flow's path from the workspace root, so replay finds it from anywhere.
    let relative = ws
        .root
        .as_deref()
        .and_then(|root| {
            std::fs::canonicalize(flow_file)
                .ok()?
                .strip_prefix(root)
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| crate::workspace::display_path(flow_file));
    store.insert_run(crate::store::NewRun {
        flow_file: &relative.display().to_string(),
        input_event,
        trace,
        secrets: &secret_values(ws),
    })
}
