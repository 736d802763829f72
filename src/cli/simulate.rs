//! `authflow compile`, `authflow run` and `authflow runs`: from a flow file to a plan, a
//! simulated login, and the stored record of past runs.

use super::error::CliError;
use super::load;
use crate::compile::{self, Plan};
use crate::diagnostic::Diagnostic;
use crate::run::{
    self, ActionRunner, SessionConfig, Simulator, directory::DirectoryFile, event::SimEvent,
    trace::Trace,
};
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
    let (name, text) = match run::presets::find(spec) {
        Some(json) => (spec.to_string(), json.to_string()),
        None => {
            let path = Path::new(spec);
            if !path.exists() {
                return Err(CliError::Usage(format!(
                    "`{spec}` is neither an event preset ({}) nor a file",
                    run::presets::names().join(", ")
                )));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("{spec}: {e}")))?;
            (spec.to_string(), text)
        }
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{name}: not JSON: {e}")))?;
    let sim = run::event::parse(value).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        CliError::Usage(format!(
            "{name}: the event does not follow the event object reference:\n{}",
            lines.join("\n")
        ))
    })?;
    Ok((name, sim))
}

/// The workspace's user directory (`users.yaml`, or the file `users:` names).
pub fn load_directory(ws: &Workspace) -> Result<run::directory::Directory, CliError> {
    let Some(root) = &ws.root else {
        return Ok(run::directory::Directory::default());
    };
    let path = root.join(ws.settings.users.as_deref().unwrap_or("users.yaml"));
    if !path.is_file() {
        return Ok(run::directory::Directory::default());
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let file: DirectoryFile = serde_saphyr::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: {}", path.display(), e.without_snippet())))?;
    Ok(run::directory::Directory { users: file.users })
}

/// The session signing configuration: the named secret's value, else the simulation key.
pub fn session_config(ws: &Workspace) -> SessionConfig {
    let mut config = SessionConfig {
        issuer: ws.settings.session.issuer.clone(),
        ..SessionConfig::default()
    };
    if let Some(key) = ws
        .settings
        .session
        .signing_secret
        .as_ref()
        .and_then(|name| ws.secret_value(name))
    {
        config.signing_key = key.into_bytes();
    }
    config
}

/// Runs a compiled flow once.
pub fn simulate(
    compiled: &Compiled,
    event_name: &str,
    sim: &SimEvent,
    actions: &dyn ActionRunner,
) -> Result<Trace, CliError> {
    let directory = load_directory(&compiled.loaded.ws)?;
    let simulator = Simulator::new(
        &compiled.plan,
        directory,
        session_config(&compiled.loaded.ws),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(simulator.run(sim, event_name, actions))
}

/// Where runs are stored: `.authflow/runs/` in the workspace, or the current directory.
pub fn runs_dir(ws_root: Option<&Path>) -> PathBuf {
    ws_root
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        .join(".authflow")
        .join("runs")
}

/// Stores a trace atomically (written whole to a temporary file, then renamed).
pub fn store_run(dir: &Path, trace: &Trace) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let safe = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    let base = format!(
        "{millis}-{}-{}",
        safe(&trace.flow),
        safe(
            Path::new(&trace.event)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(&trace.event)
        )
    );
    let mut path = dir.join(format!("{base}.json"));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{base}-{n}.json"));
        n += 1;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(trace).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Stored runs, newest first: (id, trace).
pub fn list_runs(dir: &Path) -> Vec<(String, Trace)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut runs: Vec<(String, Trace)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().and_then(|x| x.to_str()) == Some("json"))
        .filter_map(|e| {
            let id = e.path().file_stem()?.to_str()?.to_string();
            let trace = serde_json::from_str(&std::fs::read_to_string(e.path()).ok()?).ok()?;
            Some((id, trace))
        })
        .collect();
    runs.sort_by(|a, b| b.0.cmp(&a.0));
    runs
}
