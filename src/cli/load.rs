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
    /// The environment applied to the settings, the action metadata and the flows.
    pub environment: Environment,
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
    let mut diagnostics = Vec::new();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let start = target.unwrap_or(&cwd);
    let root = match workspace_dir {
        Some(dir) => Some(dir.to_path_buf()),
        None => workspace::discover(start),
    };
    if let Some(dir) = workspace_dir
        && !dir.join(workspace::SETTINGS_FILE).is_file()
    {
        return Err(LoadError {
            path: dir.join(workspace::SETTINGS_FILE),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no authflow.yaml: not a workspace",
            ),
        });
    }
    let mut ws = match &root {
        Some(root) => Workspace::load(root, &mut diagnostics)?,
        None => Workspace::empty(),
    };
    let environment =
        Environment::select(&mut ws, env, &mut diagnostics).map_err(|e| LoadError {
            path: root
                .as_deref()
                .map(|r| r.join(workspace::env::ENVIRONMENTS_DIR))
                .unwrap_or_default(),
            source: std::io::Error::other(e.0),
        })?;
    let flow_paths: Vec<PathBuf> = match target {
        Some(path) if path.is_file() => vec![path.to_path_buf()],
        Some(path) if !path.exists() => {
            return Err(LoadError {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                ),
            });
        }
        Some(path) if root.is_none() => flow_files(path)?,
        _ => root
            .as_deref()
            .map(|r| flow_files(&r.join("flows")))
            .transpose()?
            .unwrap_or_default(),
    };
    let (lock, mut lock_diagnostics) = crate::release::check::read_lock(&mut ws);
    diagnostics.append(&mut lock_diagnostics);
    let mut flows = Vec::new();
    for path in flow_paths {
        let file = ws.read_flow(&path)?;
        match syntax::parse(ws.sources.text(file), file, Syntax::of_path(&path)) {
            Ok(mut flow) => {
                environment.apply_flow(&mut flow, file, &mut diagnostics);
                flows.push((file, Some(flow)));
            }
            Err(mut d) => {
                diagnostics.append(&mut d);
                flows.push((file, None));
            }
        }
    }
    Ok(Loaded {
        ws,
        flows,
        diagnostics,
        lock,
        environment,
    })
}

/// The flow files in a directory: `*.yaml`, `*.yml`, `*.flow`, sorted.
pub fn flow_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(workspace::sorted_entries(dir)?
        .into_iter()
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "flow")
            )
        })
        .collect())
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
