//! Resolving what a command works on: the workspace (found as git finds a repository), the
//! environment it is loaded in (`--env`, see `workspace::env`), and the flow files named on
//! the command line or found under `flows/`.

use crate::diagnostic::{Diagnostic, FileId};
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
/// current directory) in the environment the command line selected (`--env`), and parses the
/// flows it names.
pub fn load(target: Option<&Path>, workspace_dir: Option<&Path>) -> Result<Loaded, LoadError> {
    load_in(target, workspace_dir, crate::cli::selected_env())
}

/// [`load`] in environment `env` (none: `authflow.yaml` alone).
pub fn load_in(
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
    let environment = Environment::select(&mut ws, env, &mut diagnostics).map_err(|e| {
        let dir = root
            .as_deref()
            .map(|r| r.join(workspace::env::ENVIRONMENTS_DIR))
            .unwrap_or_default();
        ReadError::new(&dir, ReadErrorKind::Io(std::io::Error::other(e.0)))
    })?;
    let streams = crate::streams::file::load(&mut ws, &mut diagnostics);
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

/// Loads the workspace of one flow file and parses it, for the commands that work on exactly
/// one flow (`graph`, `compile`, `run`). A directory or anything else that is not a flow file
/// is refused with a message, never replaced by the workspace's flows.
pub fn load_flow(
    path: &Path,
    workspace_dir: Option<&Path>,
) -> Result<(Loaded, FileId), crate::cli::CliError> {
    use crate::cli::CliError;
    if path.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is a directory; give one flow file (for example flows/login.yaml)",
            path.display()
        )));
    }
    let loaded = load(Some(path), workspace_dir)?;
    let Some((file, _)) = loaded.flows.first() else {
        return Err(CliError::Usage(format!(
            "{} is not a flow file",
            path.display()
        )));
    };
    let file = *file;
    Ok((loaded, file))
}
