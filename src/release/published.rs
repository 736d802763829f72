//! A published release, read back as a workspace directory: from the git objects of its
//! commit, or else from its bundle.
//!
//! Every file is checked against the sha256 the lock records before it is written to a
//! private temporary directory (removed when the `Materialized` is dropped); the caller then
//! loads that directory like any workspace. A release that cannot be reproduced exactly is an
//! error naming why each source failed, never a silent switch to the working tree.

use super::bundle::{Bundle, Verified};
use super::keys::PublicKey;
use super::lock::{Lock, Release};
use super::publish::bundle_path;
use super::snapshot::sha256_hex;
use crate::git::Repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Where a materialised release came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The git objects of this commit.
    Git(String),
    /// The release's bundle; whether its signature was checked against a public key.
    Bundle { signature_checked: bool },
}

/// A release written out as a workspace directory.
pub struct Materialized {
    pub dir: tempfile::TempDir,
    pub release: Release,
    pub origin: Origin,
}

/// Every file of a release, with the sha256 the lock records for it.
pub fn release_files(lock: &Lock, release: &Release) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    for (key, version) in &release.items {
        let entry = lock
            .version(key, *version)
            .ok_or_else(|| format!("the lock has no {key} version {version}"))?;
        files.extend(entry.files.clone());
    }
    Ok(files)
}

/// Writes release `release` of the workspace at `root` (with the workspace's lock) to a
/// temporary directory. The secrets
/// file of the workspace (`.authflow/secrets.yaml`) is copied along, so secrets resolve as
/// they do for the working tree.
pub fn materialize(
    root: &Path,
    lock: &Lock,
    release: &Release,
    key: Option<&PublicKey>,
) -> Result<Materialized, String> {
    let files = release_files(lock, release)?;
    let (contents, origin) = read_files(root, lock, release, &files, key)?;
    let dir = tempfile::Builder::new()
        .prefix("authflow-release-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?;
    write_tree(dir.path(), &contents)?;
    // The lock comes along so that the release's pins (`log-user@3`) resolve as they did.
    std::fs::write(dir.path().join(super::LOCK_FILE), lock.to_text())
        .map_err(|e| format!("{}: {e}", super::LOCK_FILE))?;
    let secrets = root.join(".authflow").join("secrets.yaml");
    if std::fs::symlink_metadata(&secrets).is_ok_and(|m| m.is_file()) {
        let target = dir.path().join(".authflow");
        std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
        std::fs::copy(&secrets, target.join("secrets.yaml"))
            .map_err(|e| format!("{}: {e}", secrets.display()))?;
    }
    Ok(Materialized {
        dir,
        release: release.clone(),
        origin,
    })
}

/// The most bytes of working-tree files `materialize_over_tree` copies.
pub const MAX_TREE_BYTES: u64 = 256 * 1024 * 1024;

/// Release `release` laid over a copy of the working tree's other files, for running the
/// workspace's tests against it: tests, event files and fixtures come from the working tree;
/// every item file (flows, actions, modules, settings, users) comes from the release, and
/// the working tree's item files (`item_files`, workspace-relative) are never copied, so no
/// draft leaks in. `.git` and `.authflow` are not copied (the secrets file is, as for
/// `materialize`); a link is copied as its target's bytes only when the target is a regular
/// file inside the workspace, as the workspace reader would read it.
pub fn materialize_over_tree(
    root: &Path,
    lock: &Lock,
    release: &Release,
    key: Option<&PublicKey>,
    item_files: &BTreeSet<String>,
) -> Result<Materialized, String> {
    let materialized = materialize(root, lock, release, key)?;
    let root = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let mut budget = MAX_TREE_BYTES;
    copy_tree(
        &root,
        &root,
        materialized.dir.path(),
        item_files,
        0,
        &mut budget,
    )?;
    Ok(materialized)
}

fn copy_tree(
    root: &Path,
    dir: &Path,
    target: &Path,
    item_files: &BTreeSet<String>,
    depth: usize,
    budget: &mut u64,
) -> Result<(), String> {
    if depth > 32 {
        return Err(format!("{} is nested too deeply to copy", dir.display()));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        let Some(rel) = path.strip_prefix(root).ok().and_then(Path::to_str) else {
            continue;
        };
        let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
        if depth == 0 && matches!(rel.as_str(), ".git" | ".authflow" | super::LOCK_FILE) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("{rel}: {e}"))?;
        let source = if meta.file_type().is_symlink() {
            match std::fs::canonicalize(&path) {
                Ok(resolved) if resolved.starts_with(root) && resolved.is_file() => resolved,
                _ => continue,
            }
        } else if meta.is_dir() {
            copy_tree(root, &path, target, item_files, depth + 1, budget)?;
            continue;
        } else if meta.is_file() {
            path.clone()
        } else {
            continue;
        };
        if item_files.contains(&rel) || target.join(&rel).exists() {
            continue;
        }
        let len = std::fs::metadata(&source).map_or(0, |m| m.len());
        *budget = budget.checked_sub(len).ok_or_else(|| {
            format!("the working tree's files beside the release exceed {MAX_TREE_BYTES} bytes")
        })?;
        let destination = target.join(&rel);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(&source, &destination).map_err(|e| format!("{rel}: {e}"))?;
    }
    Ok(())
}

/// Reads `files` (workspace-relative path -> the sha256 the lock records) as release
/// `release` published them: from the git objects of its commit when it was published from a
/// clean tree, or else from its verified bundle. Every file is checked against its sha256.
pub fn read_files(
    root: &Path,
    lock: &Lock,
    release: &Release,
    files: &BTreeMap<String, String>,
    key: Option<&PublicKey>,
) -> Result<(BTreeMap<String, Vec<u8>>, Origin), String> {
    let from_git = match (&release.commit, release.dirty) {
        (Some(commit), false) => {
            from_git(root, commit, files).map(|f| (f, Origin::Git(commit.clone())))
        }
        (Some(_), true) => {
            Err("it was published from a working tree with uncommitted changes".to_string())
        }
        (None, _) => Err("it was published outside a git repository".to_string()),
    };
    match from_git {
        Ok(found) => Ok(found),
        Err(git_reason) => {
            let bundle_file = bundle_path(root, release.release);
            match from_bundle(&bundle_file, lock, key) {
                Ok(verified) => {
                    let mut contents = BTreeMap::new();
                    for (path, sha) in files {
                        let bytes = verified
                            .sources
                            .get(path)
                            .filter(|bytes| &sha256_hex(bytes) == sha)
                            .ok_or_else(|| {
                                format!(
                                    "its bundle {} does not hold {path} as published",
                                    bundle_file.display()
                                )
                            })?;
                        contents.insert(path.clone(), bytes.clone());
                    }
                    Ok((
                        contents,
                        Origin::Bundle {
                            signature_checked: verified.signature_checked,
                        },
                    ))
                }
                Err(bundle_reason) => Err(format!(
                    "release {} cannot be read back: not from git ({git_reason}), not from its bundle {} ({bundle_reason})",
                    release.release,
                    bundle_file.display()
                )),
            }
        }
    }
}

/// Writes workspace-relative files (already validated as relative paths) under `dir`.
pub fn write_tree(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    for (path, bytes) in files {
        super::lock::check_path(path)?;
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&target, bytes).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn from_git(
    root: &Path,
    commit: &str,
    files: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let repo = Repo::discover(root).ok_or("the workspace is not in a git repository")?;
    if !repo.has_commit(commit) {
        return Err(format!("the repository has no commit {commit}"));
    }
    let tree = repo.tree(commit)?;
    let mut ids = Vec::new();
    for path in files.keys() {
        ids.push(
            tree.id(path)
                .ok_or_else(|| format!("commit {commit} has no {path}"))?,
        );
    }
    let blobs = repo.blobs(&ids)?;
    let mut contents = BTreeMap::new();
    for ((path, sha), bytes) in files.iter().zip(blobs) {
        if &sha256_hex(&bytes) != sha {
            return Err(format!(
                "{path} at commit {commit} is not the published file"
            ));
        }
        contents.insert(path.clone(), bytes);
    }
    Ok(contents)
}

/// Reads and verifies a bundle file (against `key` when given, and against `lock`).
pub fn from_bundle(path: &Path, lock: &Lock, key: Option<&PublicKey>) -> Result<Verified, String> {
    let bytes = read_bundle_file(path)?;
    Bundle::read(&bytes)
        .and_then(|b| b.verify(key, Some(lock)))
        .map_err(|e| e.0)
}

/// Reads a bundle file through the confined reader: a regular file within the size bound.
pub fn read_bundle_file(path: &Path) -> Result<Vec<u8>, String> {
    crate::files::read_bytes(path, None, super::bundle::BUNDLE_LIMIT).map_err(|e| e.to_string())
}
