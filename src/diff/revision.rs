//! Which version of a workspace a command compares: the working tree, a git revision, or a
//! release, and that version written out as a directory the ordinary workspace loader reads.
//!
//! A git revision is materialised into a private temporary directory (removed when the
//! [`Materialized`] is dropped) from the commit's objects, so the same loader, checks and
//! compiler read it as they read the working tree: there is no second loader. Only the
//! workspace's own files are written, never `.authflow/` (runs and secrets); a file a commit
//! holds that cannot be reproduced exactly (too large) is an error, never silently left out.

use crate::git::{self, Repo};
use std::path::{Path, PathBuf};

/// A version of the workspace, as the user names it on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revision {
    /// The files on disk now (the draft): `@worktree`, or an omitted argument.
    WorkingTree,
    /// Release `N` from `authflow.lock`: `@N`.
    Release(u32),
    /// The last release (of the selected environment): `@latest`.
    LastRelease,
    /// Anything else: a git revision (`HEAD`, `main~2`, a tag, a commit id).
    Git(String),
}

impl Revision {
    /// Reads a FROM/TO argument. `@` starts authflow's own names (git gives `@N` no meaning;
    /// it spells reflog entries `@{N}`), anything else is a git revision.
    pub fn parse(spec: &str) -> Result<Revision, String> {
        let Some(name) = spec.strip_prefix('@') else {
            return if spec.is_empty() || spec.starts_with('-') {
                Err(format!("`{spec}` is not a revision"))
            } else {
                Ok(Revision::Git(spec.to_string()))
            };
        };
        match name {
            "worktree" => Ok(Revision::WorkingTree),
            "latest" => Ok(Revision::LastRelease),
            "" => Ok(Revision::Git("@".into())),
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => match digits.parse() {
                Ok(n) if n > 0 => Ok(Revision::Release(n)),
                _ => Err(format!("`{spec}`: releases are numbered from 1")),
            },
            // `@{upstream}`, `@{1}` and friends are git's.
            other if other.starts_with('{') => Ok(Revision::Git(spec.to_string())),
            _ => Err(format!(
                "`{spec}` is not a revision: use @N (release N), @latest, @worktree or a git revision"
            )),
        }
    }
}

/// A version of the workspace as a directory the loader can read.
pub struct Materialized {
    /// The workspace root to load: the real one for the working tree, else a temporary copy.
    pub root: PathBuf,
    /// How the version is named to the user (`HEAD (3f2a9c1d04b2)`, `working tree`).
    pub label: String,
    /// The commit read, for git revisions.
    pub commit: Option<String>,
    /// Entries of the commit that were not written (symbolic links, submodules).
    pub skipped: Vec<String>,
    /// Holds the temporary copy; removed on drop.
    _dir: Option<tempfile::TempDir>,
}

/// A version already written to a temporary directory (a release read back), kept alive as
/// long as the returned value.
pub fn in_temporary_dir(
    dir: tempfile::TempDir,
    label: String,
    commit: Option<String>,
) -> Materialized {
    Materialized {
        root: dir.path().to_path_buf(),
        label,
        commit,
        skipped: Vec::new(),
        _dir: Some(dir),
    }
}

/// The working tree itself.
pub fn working_tree(root: &Path) -> Materialized {
    Materialized {
        root: root.to_path_buf(),
        label: "working tree".into(),
        commit: None,
        skipped: Vec::new(),
        _dir: None,
    }
}

/// The workspace at `root` as git revision `revision` holds it. The working tree's local
/// secret values (`.authflow/secrets.yaml`, never committed) are copied along, so actions of
/// the old version read the same secrets as the new one's.
pub fn from_git(root: &Path, revision: &str) -> Result<Materialized, String> {
    let root_of_working_tree = root;
    let repo = Repo::discover(root).ok_or_else(|| {
        format!(
            "{} is not in a git repository, so `{revision}` cannot be read (compare releases with @N instead)",
            root.display()
        )
    })?;
    let commit = repo.resolve(revision)?;
    let tree = repo.tree(&commit)?;
    let short = &commit[..12];
    let files: Vec<&git::TreeFile> = tree
        .files
        .iter()
        .filter(|f| !f.path.starts_with(".authflow/"))
        .collect();
    if !files
        .iter()
        .any(|f| f.path == crate::workspace::SETTINGS_FILE)
    {
        return Err(format!(
            "`{revision}` ({short}) has no workspace at {}: no {} there",
            if repo.prefix.is_empty() {
                "the repository's top".to_string()
            } else {
                repo.prefix.clone()
            },
            crate::workspace::SETTINGS_FILE
        ));
    }
    let mut total = 0u64;
    for file in &files {
        if file.size > git::MAX_FILE_BYTES {
            return Err(format!(
                "{} at `{revision}` is {} bytes, more than the {} authflow reads from a commit",
                file.path,
                file.size,
                git::MAX_FILE_BYTES
            ));
        }
        total += file.size;
    }
    if total > git::MAX_TREE_BYTES {
        return Err(format!(
            "the workspace at `{revision}` holds {total} bytes, more than the {} authflow reads from a commit",
            git::MAX_TREE_BYTES
        ));
    }
    let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
    let blobs = repo.blobs(&ids)?;
    let dir = tempfile::Builder::new()
        .prefix("authflow-rev-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?;
    for (file, bytes) in files.iter().zip(blobs) {
        let target = dir.path().join(safe_relative(&file.path)?);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&target, bytes).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    let root = std::fs::canonicalize(dir.path()).map_err(|e| e.to_string())?;
    copy_local_secrets(root_of_working_tree, &root)?;
    Ok(Materialized {
        root,
        label: format!("{revision} ({short})"),
        commit: Some(commit),
        skipped: tree.skipped,
        _dir: Some(dir),
    })
}

/// Copies `.authflow/secrets.yaml` of the working tree into a materialised version, readable
/// by the owner only; nothing when there is none (a symbolic link or other non-file is refused).
fn copy_local_secrets(working_tree: &Path, materialized: &Path) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let source = working_tree.join(".authflow").join("secrets.yaml");
    let Ok(meta) = std::fs::symlink_metadata(&source) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", source.display()));
    }
    let text = std::fs::read(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let dir = materialized.join(".authflow");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join("secrets.yaml"))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    std::io::Write::write_all(&mut file, &text).map_err(|e| format!("{}: {e}", dir.display()))
}

/// A workspace-relative path from a commit as a relative path with no `..`, `.` or root.
fn safe_relative(path: &str) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for part in path.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\\') {
            return Err(format!(
                "the commit holds a path authflow will not write: `{path}`"
            ));
        }
        out.push(part);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_releases_the_working_tree_and_git_revisions() {
        assert_eq!(Revision::parse("@3"), Ok(Revision::Release(3)));
        assert_eq!(Revision::parse("@latest"), Ok(Revision::LastRelease));
        assert_eq!(Revision::parse("@worktree"), Ok(Revision::WorkingTree));
        assert_eq!(
            Revision::parse("HEAD~1"),
            Ok(Revision::Git("HEAD~1".into()))
        );
        assert_eq!(Revision::parse("@{1}"), Ok(Revision::Git("@{1}".into())));
        assert!(Revision::parse("@0").is_err());
        assert!(Revision::parse("@draft").is_err());
        assert!(Revision::parse("--output=x").is_err());
        assert!(Revision::parse("").is_err());
    }

    #[test]
    fn refuses_paths_that_climb_out() {
        assert!(safe_relative("flows/login.yaml").is_ok());
        for bad in ["../x", "a/../b", "/etc/passwd", "a//b", "a\\b"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
    }
}
