//! The command line's side of loading (the work is `crate::load`): the environment is the
//! one `--env` selected, and a command that works on one flow file refuses anything else with
//! a usage error.

use crate::diagnostic::FileId;
pub use crate::load::{Loaded, flow_files, parse_flows};
use crate::workspace::LoadError;
use std::path::Path;

/// Loads the workspace for `target` (a flow file, a workspace directory, or nothing for the
/// current directory) in the environment the command line selected (`--env`), and parses the
/// flows it names.
pub fn load(target: Option<&Path>, workspace_dir: Option<&Path>) -> Result<Loaded, LoadError> {
    crate::load::load(target, workspace_dir, crate::cli::selected_env())
}

/// [`load`] in environment `env` (none: `authflow.yaml` alone).
pub fn load_in(
    target: Option<&Path>,
    workspace_dir: Option<&Path>,
    env: Option<&str>,
) -> Result<Loaded, LoadError> {
    crate::load::load(target, workspace_dir, env)
}

/// The loaded workspace, or a usage error saying `outside` when no authflow.yaml was found:
/// for the commands that only make sense inside a workspace.
pub fn in_workspace(loaded: Loaded, outside: &str) -> Result<Loaded, crate::cli::CliError> {
    if loaded.ws.root.is_none() {
        return Err(crate::cli::CliError::usage(outside));
    }
    Ok(loaded)
}

/// Refuses a workspace whose own files (authflow.yaml, actions, modules; flows do not count)
/// did not load, with their diagnostics: a command would run with defaults in their place.
pub fn refuse_workspace_errors(loaded: &Loaded) -> Result<(), crate::cli::CliError> {
    let errors = loaded.workspace_errors();
    if errors.is_empty() {
        return Ok(());
    }
    Err(crate::cli::CliError::Diagnostics(
        crate::cli::render::human(&loaded.ws.sources, &errors, crate::cli::stdout_color()),
    ))
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
