//! Recording a release: which items get a new version, the release record, the signed bundle,
//! and writing them (bundle first, lock last, both whole) under an exclusive workspace lock.
//!
//! The gate itself (every check, the workspace's tests) runs before this, in the `publish`
//! command; this module is given a snapshot that passed it. It also answers `status`: what
//! the next publish would version.
//!
//! **Invariant:** an item gets a new version exactly when its content hash differs from its
//! newest published version; a publish whose items and versions equal the environment's last
//! release records nothing and writes nothing.

use super::bundle::{self, BundleError};
use super::keys::PrivateKey;
use super::lock::{ItemKey, ItemVersion, LOCK_FILE, Lock, Release};
use super::snapshot::Snapshot;
use crate::git::Repo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the working tree stands in git.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub commit: Option<String>,
    pub dirty: bool,
}

/// How an item of the working tree compares with its newest published version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ItemState {
    /// Same content as published version `version`.
    Published { version: u32 },
    /// Changed since `version`; the next publish makes `next`.
    Draft { version: u32, next: u32 },
    /// Never published; the next publish makes version 1.
    New { next: u32 },
    /// Published (`version`) but gone from the working tree.
    Removed { version: u32 },
}

impl ItemState {
    /// Whether the next publish changes this item.
    pub fn is_change(&self) -> bool {
        !matches!(self, ItemState::Published { .. })
    }
}

/// Every item of the working tree and of the lock, with its state.
pub fn status(snap: &Snapshot, lock: &Lock) -> BTreeMap<ItemKey, ItemState> {
    let mut states = BTreeMap::new();
    for (key, content) in &snap.items {
        let state = match lock.latest(&key.to_string()) {
            Some(latest) if latest.sha256 == content.sha256 => ItemState::Published {
                version: latest.version,
            },
            Some(latest) => ItemState::Draft {
                version: latest.version,
                next: latest.version + 1,
            },
            None => ItemState::New { next: 1 },
        };
        states.insert(key.clone(), state);
    }
    for (key, versions) in &lock.items {
        let (Some(parsed), Some(latest)) = (ItemKey::parse(key), versions.last()) else {
            continue;
        };
        states.entry(parsed).or_insert(ItemState::Removed {
            version: latest.version,
        });
    }
    states
}

/// Where the working tree is in git: `HEAD`, and whether any file of the snapshot differs from
/// (or is missing in) it. Outside a repository: no commit, dirty.
pub fn origin(root: &Path, snap: &Snapshot) -> Origin {
    let Some(repo) = Repo::discover(root) else {
        return Origin {
            commit: None,
            dirty: true,
        };
    };
    let Some(head) = repo.head() else {
        return Origin {
            commit: None,
            dirty: true,
        };
    };
    let tree = repo.tree(&head).unwrap_or_default();
    let dirty = snap
        .files
        .iter()
        .any(|(path, bytes)| tree.id(path) != Some(repo.blob_id(bytes).as_str()));
    Origin {
        commit: Some(head),
        dirty,
    }
}

/// The release time: `SOURCE_DATE_EPOCH` when set (reproducible builds' convention), else
/// now; RFC 3339 in UTC, whole seconds.
pub fn release_time() -> Result<String, String> {
    let seconds = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => text
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("SOURCE_DATE_EPOCH=`{text}` is not a number of seconds"))?,
        Err(_) => jiff::Timestamp::now().as_second(),
    };
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .map_err(|e| format!("SOURCE_DATE_EPOCH: {e}"))
}

/// A release ready to be written.
pub struct Publication {
    pub lock: Lock,
    pub release: Release,
    pub bundle: Vec<u8>,
    /// The items that got a new version: key -> new version.
    pub bumped: BTreeMap<ItemKey, u32>,
}

/// What a publish comes to.
pub enum Outcome {
    /// Nothing changed since the environment's last release (its number, if any).
    Unchanged(Option<u32>),
    Published(Box<Publication>),
}

/// Decides the next release from a snapshot that passed the gate.
pub fn prepare(
    snap: &Snapshot,
    lock: &Lock,
    env: Option<&str>,
    origin: Origin,
    time: String,
    key: &PrivateKey,
) -> Result<Outcome, BundleError> {
    let number = lock.releases.len() as u32 + 1;
    let mut next = lock.clone();
    let mut items = BTreeMap::new();
    let mut bumped = BTreeMap::new();
    for (key, content) in &snap.items {
        let name = key.to_string();
        let version = match lock.latest(&name) {
            Some(latest) if latest.sha256 == content.sha256 => latest.version,
            latest => {
                let version = latest.map_or(1, |l| l.version + 1);
                next.items
                    .entry(name.clone())
                    .or_default()
                    .push(ItemVersion {
                        version,
                        sha256: content.sha256.clone(),
                        release: number,
                        files: content.files.clone(),
                        modules: content.modules.clone(),
                        dependencies: content.dependencies.clone(),
                    });
                bumped.insert(key.clone(), version);
                version
            }
        };
        items.insert(name, version);
    }
    let last = lock.last_release(env);
    if bumped.is_empty() && last.is_some_and(|r| r.items == items) {
        return Ok(Outcome::Unchanged(last.map(|r| r.release)));
    }
    let release = Release {
        release: number,
        env: env.map(str::to_string),
        commit: origin.commit,
        dirty: origin.dirty,
        time,
        items,
        files: bundle::release_files(snap)?,
    };
    next.releases.push(release.clone());
    next.validate()
        .map_err(|e| BundleError(format!("the new lock would be invalid: {e}")))?;
    let bundle = bundle::build(snap, &next, &release, key)?;
    Ok(Outcome::Published(Box::new(Publication {
        lock: next,
        release,
        bundle,
        bumped,
    })))
}

/// Where release `n`'s bundle is kept in a workspace.
pub fn bundle_path(root: &Path, n: u32) -> PathBuf {
    root.join(".authflow")
        .join("releases")
        .join(format!("{n}.bundle"))
}

/// An exclusive hold on a workspace's releases: two publishes never interleave their
/// read-modify-write of the lock. It is an advisory lock on `authflow.yaml` itself, so taking
/// it creates no file (a refused publish writes nothing). Released when dropped.
pub struct PublishLock(#[allow(dead_code)] std::fs::File);

impl PublishLock {
    pub fn acquire(root: &Path) -> Result<PublishLock, String> {
        let path = root.join(crate::workspace::SETTINGS_FILE);
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        file.lock()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(PublishLock(file))
    }
}

/// Writes the bundle (at its place, and at `extra` when given), then the lock; each whole.
/// If the lock cannot be written, the bundles are removed again: nothing is left half-done.
pub fn write(
    root: &Path,
    publication: &Publication,
    extra: Option<&Path>,
) -> Result<PathBuf, String> {
    let path = bundle_path(root, publication.release.release);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut written = Vec::new();
    let result = (|| {
        for target in std::iter::once(path.as_path()).chain(extra) {
            crate::files::write_whole(target, &publication.bundle).map_err(|e| e.to_string())?;
            written.push(target.to_path_buf());
        }
        crate::files::write_whole(&root.join(LOCK_FILE), publication.lock.to_text().as_bytes())
            .map_err(|e| e.to_string())
    })();
    if let Err(e) = result {
        for file in written {
            let _ = std::fs::remove_file(file);
        }
        return Err(e);
    }
    Ok(path)
}

/// The private key that signs this workspace's bundles: the secret `publish.signing_key` of
/// authflow.yaml names (declared under `secrets`), matching `publish.public_key` when set.
pub fn signing_key(
    ws: &crate::workspace::Workspace,
) -> Result<PrivateKey, crate::diagnostic::Diagnostic> {
    use crate::diagnostic::{Code, Diagnostic, FileId};
    let file = ws.settings_file.unwrap_or(FileId(0));
    let at = |path: &[&str]| ws.yaml_span(file, path);
    let error = |span, message: String, help: &str| {
        Diagnostic::new(Code::InvalidWorkspace, file, span, message).help(help)
    };
    let publish = &ws.settings.publish;
    let Some(name) = &publish.signing_key else {
        return Err(error(
            crate::span::Span::default(),
            "releases are signed, and authflow.yaml names no signing key".into(),
            "run `authflow keygen`, then add `publish: { signing_key: RELEASE_SIGNING_KEY, public_key: <the printed key> }` and the secret's name under `secrets:`",
        ));
    };
    if !ws.settings.secrets.contains(name) {
        return Err(error(
            at(&["publish", "signing_key", name]),
            format!("the signing key `{name}` is not a declared secret"),
            "add its name under `secrets:` in authflow.yaml",
        ));
    }
    let Some(value) = ws.secret_value(name) else {
        return Err(error(
            at(&["publish", "signing_key", name]),
            format!("the secret `{name}` has no value"),
            "set AUTHFLOW_SECRET_<NAME> or put it in .authflow/secrets.yaml (`authflow keygen` does)",
        ));
    };
    let key = PrivateKey::parse(&value).map_err(|e| {
        error(
            at(&["publish", "signing_key", name]),
            format!("the secret `{name}` is not a signing key: {e}"),
            "`authflow keygen` makes a key pair",
        )
    })?;
    if let Some(public) = &publish.public_key {
        let expected = super::keys::PublicKey::parse(public).map_err(|e| {
            error(
                at(&["publish", "public_key", public]),
                format!("publish.public_key: {e}"),
                "paste the key `authflow keygen` printed",
            )
        })?;
        if expected != key.public() {
            return Err(error(
                at(&["publish", "public_key", public]),
                format!(
                    "the secret `{name}` is the private key of {}, not of publish.public_key",
                    key.public()
                ),
                "use the key pair that belongs together, or update publish.public_key",
            ));
        }
    }
    Ok(key)
}
