//! The published side of `run` (and later `test`): a flow of the last release, read back from
//! git or its bundle, or a flow of a bundle file on its own.
//!
//! Both hand back a `simulate::Compiled` like the working tree's, plus the temporary
//! directory the release was written to (kept alive as long as the run needs it) and a line
//! saying where the release came from.

use super::error::CliError;
use super::simulate::{self, Compiled};
use super::{commands, load};
use crate::release::Lock;
use crate::release::Snapshot;
use crate::release::bundle::Bundle;
use crate::release::keys::PublicKey;
use crate::release::published::{self, Origin};
use crate::release::snapshot::relative_path;
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

/// A flow compiled from a release, with where it came from.
pub struct FromRelease {
    pub compiled: Compiled,
    /// Holds the release's files; removed when dropped.
    pub dir: tempfile::TempDir,
    /// Where the run is stored: the real workspace's store (`simulate::store_base`).
    pub store_base: PathBuf,
    /// One line for the user: which release, from where.
    pub note: String,
}

/// The flow at `flow` (a working-tree path) as the last release of `env` has it.
pub fn published_flow(
    flow: &Path,
    workspace: Option<&Path>,
    env: Option<&str>,
    key: Option<&str>,
    color: bool,
) -> Result<FromRelease, CliError> {
    let loaded = load::load(Some(flow), workspace)?;
    let Some(root) = loaded.ws.root.clone() else {
        return Err(CliError::Usage(format!(
            "{} is not in a workspace: --published reads the workspace's releases",
            flow.display()
        )));
    };
    let rel = relative_path(&root, flow).ok_or_else(|| {
        CliError::Usage(format!(
            "{} is not a file inside the workspace {}",
            flow.display(),
            root.display()
        ))
    })?;
    let (release, key) = last_release(&loaded, env, key)?;
    let materialized = published::materialize(&root, &loaded.lock, &release, key.as_ref())
        .map_err(CliError::Usage)?;
    let path = materialized.dir.path().join(&rel);
    if !path.is_file() {
        return Err(CliError::Usage(format!(
            "{rel} is not part of release {}",
            release.release
        )));
    }
    let compiled = simulate::compile_flow(&path, Some(materialized.dir.path()), color)?;
    let from = origin_note(&materialized.origin);
    Ok(FromRelease {
        compiled,
        dir: materialized.dir,
        store_base: simulate::store_base(Some(&root)),
        note: format!("published release {} ({rel}), from {from}", release.release),
    })
}

/// The last release of `env` and the public key its bundle is checked with (`--key`, else
/// `publish.public_key`).
fn last_release(
    loaded: &load::Loaded,
    env: Option<&str>,
    key: Option<&str>,
) -> Result<(crate::release::lock::Release, Option<PublicKey>), CliError> {
    let release = loaded.lock.last_release(env).cloned().ok_or_else(|| {
        CliError::Usage(match env {
            Some(env) => {
                format!("nothing is published to `{env}` yet: run `authflow publish --env {env}`")
            }
            None => "nothing is published yet: run `authflow publish`".to_string(),
        })
    })?;
    let key = match key
        .map(str::to_string)
        .or_else(|| loaded.ws.settings.publish.public_key.clone())
    {
        Some(text) => Some(commands::verify::public_key(&text)?),
        None => None,
    };
    Ok((release, key))
}

fn origin_note(origin: &Origin) -> String {
    match origin {
        Origin::Git(commit) => format!("git commit {}", &commit[..12.min(commit.len())]),
        Origin::Bundle {
            signature_checked: true,
        } => "its bundle (signature checked)".to_string(),
        Origin::Bundle {
            signature_checked: false,
        } => "its bundle (integrity checked; no public key to check the signature)".to_string(),
    }
}

/// The workspace at `root` as its last release of `env` has it, for `test --published`: the
/// release's items over the working tree's other files (tests, event files), in a temporary
/// directory (`published::materialize_over_tree`).
pub struct PublishedWorkspace {
    /// Holds the files; removed when dropped.
    pub dir: tempfile::TempDir,
    /// One line for the user: which release, from where.
    pub note: String,
}

pub fn published_workspace(
    root: &Path,
    env: Option<&str>,
    key: Option<&str>,
) -> Result<PublishedWorkspace, CliError> {
    let loaded = load::load(None, Some(root))?;
    let Some(root) = loaded.ws.root.clone() else {
        return Err(CliError::Usage(format!(
            "{} is not a workspace: --published reads the workspace's releases",
            root.display()
        )));
    };
    let (release, key) = last_release(&loaded, env, key)?;
    let items = Snapshot::content(&loaded.ws, &loaded.flows).map_err(|errors| {
        CliError::Diagnostics(super::render::human(&loaded.ws.sources, &errors, false))
    })?;
    let item_files = items.files.keys().cloned().collect();
    let materialized =
        published::materialize_over_tree(&root, &loaded.lock, &release, key.as_ref(), &item_files)
            .map_err(CliError::Usage)?;
    Ok(PublishedWorkspace {
        note: format!(
            "testing published release {}, from {} (tests from the working tree)",
            release.release,
            origin_note(&materialized.origin)
        ),
        dir: materialized.dir,
    })
}

/// Flow `flow` (by name; optional when the bundle holds one flow) of a bundle file, run from
/// the bundle alone: its plan, and its action, module, settings and user files.
pub fn bundle_flow(
    bundle: &Path,
    flow: Option<&str>,
    key: Option<&str>,
) -> Result<FromRelease, CliError> {
    let key = key.map(commands::verify::public_key).transpose()?;
    let bytes = published::read_bundle_file(bundle).map_err(CliError::Usage)?;
    let verified = Bundle::read(&bytes)
        .and_then(|b| b.verify(key.as_ref(), None))
        .map_err(|e| CliError::Usage(format!("refused: {}: {e}", bundle.display())))?;
    let name = match flow {
        Some(name) => name.to_string(),
        None => match verified.plans.keys().collect::<Vec<_>>().as_slice() {
            [one] => (*one).clone(),
            names => {
                return Err(CliError::Usage(format!(
                    "the bundle holds several flows ({}): name one",
                    names
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        },
    };
    let plan = verified.plans.get(&name).cloned().ok_or_else(|| {
        CliError::Usage(format!(
            "the bundle has no flow `{name}` (it has: {})",
            verified
                .plans
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let dir = tempfile::Builder::new()
        .prefix("authflow-bundle-")
        .tempdir()
        .map_err(|e| CliError::Usage(format!("a temporary directory: {e}")))?;
    published::write_tree(dir.path(), &verified.sources).map_err(CliError::Usage)?;
    let mut diagnostics = Vec::new();
    let mut ws = Workspace::load(dir.path(), &mut diagnostics)?;
    crate::release::npm::load(&mut ws);
    crate::release::pins::alias_planned(&mut ws, &plan)
        .map_err(|e| CliError::Usage(format!("refused: {}: {e}", bundle.display())))?;
    if let Some(error) = diagnostics.iter().find(|d| d.is_error()) {
        return Err(CliError::Usage(format!(
            "the bundle's workspace files do not load: {}",
            error.message
        )));
    }
    let release = verified.manifest.release;
    let signature = if verified.signature_checked {
        "signature checked"
    } else {
        "integrity checked; give --key to check the signature"
    };
    Ok(FromRelease {
        compiled: Compiled {
            loaded: load::Loaded {
                ws,
                flows: Vec::new(),
                diagnostics,
                lock: Lock::new(),
                // A release bundle carries flows and actions, not stream files.
                streams: Vec::new(),
                // The bundle's plans were compiled with the environment already applied.
                environment: Default::default(),
            },
            plan,
        },
        dir,
        store_base: simulate::store_base(None),
        note: format!(
            "release {release} from bundle {} ({signature})",
            bundle.display()
        ),
    })
}
