//! Resolving what a command works on, for the command line and the library alike: the
//! workspace (found as git finds a repository) loaded in one environment
//! (`workspace::env`), its event streams and lock, the flow files named or found under
//! `flows/`, and what every run of them needs from the workspace (the user directory, the
//! session signing configuration).
//!
//! Nothing here prints, reads the command line or knows which `--env` was given: callers pass
//! the environment (`cli::load` passes the command line's).

use crate::diagnostic::{Diagnostic, FileId};
use crate::run::{self, SessionConfig};
use crate::syntax::{self, Syntax, ast::Flow};
use crate::workspace::env::Environment;
use crate::workspace::{self, LoadError, Workspace};
use std::path::{Path, PathBuf};

/// A workspace and the flows a command was asked about.
pub struct Loaded {
    pub ws: Workspace,
    /// Each flow file with its parse result.
    pub flows: Vec<(FileId, Option<Flow>)>,
    /// Diagnostics from loading and parsing.
    pub diagnostics: Vec<Diagnostic>,
    /// The workspace's `authflow.lock` (empty without a workspace or a release).
    pub lock: crate::release::Lock,
    /// The workspace's event streams (`streams/*.yaml`) that loaded without errors.
    pub streams: Vec<crate::streams::Stream>,
    /// The environment applied to the settings, the action metadata and the flows.
    pub environment: Environment,
}

impl Loaded {
    /// The errors from loading the workspace itself (authflow.yaml, actions, modules, ...),
    /// leaving out the flows': what commands that never read a flow must refuse on.
    pub fn workspace_errors(&self) -> Vec<Diagnostic> {
        let flow_files: Vec<FileId> = self.flows.iter().map(|(file, _)| *file).collect();
        self.diagnostics
            .iter()
            .filter(|d| d.is_error() && !flow_files.contains(&d.file))
            .cloned()
            .collect()
    }
}

/// Loads the workspace for `target` (a flow file, a workspace directory, or nothing for the
/// current directory) in environment `env` (none: `authflow.yaml` alone), and parses the
/// flows it names.
pub fn load(
    target: Option<&Path>,
    workspace_dir: Option<&Path>,
    env: Option<&str>,
) -> Result<Loaded, LoadError> {
    use crate::files::{ReadError, ReadErrorKind};
    let mut diagnostics = Vec::new();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let start = target.unwrap_or(&cwd);
    if let Some(dir) = workspace_dir
        && !dir.join(workspace::SETTINGS_FILE).is_file()
    {
        return Err(ReadError::new(
            &dir.join(workspace::SETTINGS_FILE),
            ReadErrorKind::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no authflow.yaml: not a workspace",
            )),
        ));
    }
    if let Some(path) = target
        && path.symlink_metadata().is_err()
    {
        return Err(ReadError::new(path, ReadErrorKind::NotFound));
    }
    let root = match workspace_dir {
        Some(dir) => Some(dir.to_path_buf()),
        None => workspace::discover(start),
    };
    let mut ws = match &root {
        Some(root) => Workspace::load(root, &mut diagnostics)?,
        None => Workspace::empty(),
    };
    crate::release::npm::load(&mut ws);
    let (lock, mut lock_diagnostics) = crate::release::check::read_lock(&mut ws);
    diagnostics.append(&mut lock_diagnostics);
    let mut flows = Vec::new();
    match target {
        // A file the user named (anything but a directory): read it, or say why not.
        Some(path) if !path.is_dir() => {
            let file = ws.read_flow(path)?;
            flows.push(parse(&ws, file, path, &mut diagnostics));
        }
        // A directory, or the workspace: its flow files, each refused file a diagnostic.
        _ => {
            let dir = match (target, &ws.root) {
                (Some(path), None) => path.to_path_buf(),
                (_, Some(root)) => root.join("flows"),
                (None, None) => PathBuf::new(),
            };
            if !dir.as_os_str().is_empty() {
                let paths = flow_files(ws.list(&dir, &mut diagnostics));
                flows = parse_flows(&mut ws, &paths, &mut diagnostics);
            }
        }
    }
    finish(ws, flows, diagnostics, lock, env)
}

/// The steps after the flows are read, the same for every loader (commands and the language
/// server): pinned versions join the actions (before the environment substitutes their
/// metadata), the environment (`env`, or none: `authflow.yaml`'s own values) is selected and
/// substituted into the flows, and the streams load. An environment that does not exist is
/// an error naming `environments/`.
pub fn finish(
    mut ws: Workspace,
    mut flows: Vec<(FileId, Option<Flow>)>,
    mut diagnostics: Vec<Diagnostic>,
    lock: crate::release::Lock,
    env: Option<&str>,
) -> Result<Loaded, LoadError> {
    crate::release::pins::load(&mut ws, &lock, &flows);
    let environment = Environment::select(&mut ws, env, &mut diagnostics).map_err(|e| {
        let dir = ws
            .root
            .as_deref()
            .map(|r| r.join(workspace::env::ENVIRONMENTS_DIR))
            .unwrap_or_default();
        LoadError::new(
            &dir,
            crate::files::ReadErrorKind::Io(std::io::Error::other(e.0)),
        )
    })?;
    let streams = crate::streams::file::load(&mut ws, &mut diagnostics);
    for (file, flow) in &mut flows {
        if let Some(flow) = flow {
            environment.apply_flow(flow, *file, &mut diagnostics);
        }
    }
    Ok(Loaded {
        ws,
        flows,
        diagnostics,
        lock,
        streams,
        environment,
    })
}

/// Reads (refusals become diagnostics) and parses each flow file of the workspace; parse
/// errors become diagnostics and a `None` flow.
pub fn parse_flows(
    ws: &mut Workspace,
    paths: &[PathBuf],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(FileId, Option<Flow>)> {
    let mut flows = Vec::new();
    for path in paths {
        if let Some(file) = ws.read_listed_flow(path, diagnostics) {
            flows.push(parse(ws, file, path, diagnostics));
        }
    }
    flows
}

/// Parses one flow file already in the workspace's sources.
fn parse(
    ws: &Workspace,
    file: FileId,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> (FileId, Option<Flow>) {
    match syntax::parse(ws.sources.text(file), file, Syntax::of_path(path)) {
        Ok(flow) => (file, Some(flow)),
        Err(mut d) => {
            diagnostics.append(&mut d);
            (file, None)
        }
    }
}

/// The flow files among a directory's entries: `*.yaml`, `*.yml`, `*.flow`, sorted.
pub fn flow_files(entries: Vec<PathBuf>) -> Vec<PathBuf> {
    entries
        .into_iter()
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "flow")
            )
        })
        .collect()
}

/// The workspace's user directory (`users.yaml`, or the file `users:` names), as loaded and
/// validated with the workspace.
pub fn directory(ws: &Workspace) -> run::directory::Directory {
    run::directory::Directory {
        users: ws.users.clone(),
    }
}

/// The session signing configuration: the named secret's value, else the public simulation
/// key, with a warning when a configured secret has no value. A configured value shorter
/// than HS256 allows is refused.
pub fn session_config(ws: &Workspace) -> Result<(SessionConfig, Option<String>), SessionKeyError> {
    let mut config = SessionConfig {
        issuer: ws.settings.session.issuer.clone(),
        signing_key: run::crypto::SIMULATION_SIGNING_KEY.to_vec(),
    };
    let Some(name) = &ws.settings.session.signing_secret else {
        return Ok((config, None));
    };
    match ws.secret_value(name) {
        Some(key) if key.len() < run::crypto::MIN_SIGNING_KEY_BYTES => {
            Err(SessionKeyError(format!(
                "the value of `{name}` (session.signing_secret) has {} bytes; HS256 needs a key of at least {} bytes",
                key.len(),
                run::crypto::MIN_SIGNING_KEY_BYTES
            )))
        }
        Some(key) => {
            config.signing_key = key.into_bytes();
            Ok((config, None))
        }
        None => Ok((
            config,
            Some(format!(
                "session.signing_secret `{name}` has no value (set AUTHFLOW_SECRET_{name} or add it to {}): tokens are signed with the public simulation key",
                crate::workspace::SECRETS_FILE
            )),
        )),
    }
}

/// The session signing secret has a value HS256 cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SessionKeyError(pub String);
