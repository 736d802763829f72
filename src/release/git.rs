//! Reading git through the `git` command line: the commit a workspace is at, and files as a
//! commit holds them.
//!
//! Only plumbing commands are used (`rev-parse`, `ls-tree`, `cat-file`), with the repository
//! given explicitly and every argument that comes from a file validated first (commit ids are
//! hex, paths are workspace-relative), so nothing read from a lock can become an option or a
//! revision expression. This module never writes to a repository.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A workspace inside a git repository.
#[derive(Clone, Debug)]
pub struct Repo {
    /// The repository's top-level directory.
    pub top: PathBuf,
    /// The workspace's path inside the repository, `/`-terminated (empty at the top).
    pub prefix: String,
    /// The object format's hash (`sha1` or `sha256`).
    object_format: String,
}

/// Why git could not answer.
#[derive(Debug, thiserror::Error)]
#[error("git: {0}")]
pub struct GitError(pub String);

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        // A user's configuration must not change plumbing output or run hooks and pagers.
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PAGER", "cat")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    command
}

fn output(command: &mut Command) -> Result<Vec<u8>, GitError> {
    let out = command
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(GitError(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\n')
        .to_string()
}

/// Whether `id` is a full object id (sha1 or sha256, lowercase hex).
pub fn is_object_id(id: &str) -> bool {
    matches!(id.len(), 40 | 64) && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Repo {
    /// The repository holding `workspace`, or none when it is not in one (or git is missing).
    pub fn discover(workspace: &Path) -> Option<Repo> {
        let top = text(output(git(workspace).args(["rev-parse", "--show-toplevel"])).ok()?);
        let prefix = text(output(git(workspace).args(["rev-parse", "--show-prefix"])).ok()?);
        let object_format = output(git(workspace).args(["rev-parse", "--show-object-format"]))
            .map(text)
            .unwrap_or_else(|_| "sha1".into());
        Some(Repo {
            top: PathBuf::from(top),
            prefix,
            object_format,
        })
    }

    /// The commit `HEAD` names, or none in a repository without commits.
    pub fn head(&self) -> Option<String> {
        let id = text(
            output(git(&self.top).args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]))
                .ok()?,
        );
        is_object_id(&id).then_some(id)
    }

    /// Whether the repository has commit `id`.
    pub fn has_commit(&self, id: &str) -> bool {
        is_object_id(id)
            && output(git(&self.top).args(["cat-file", "-e", &format!("{id}^{{commit}}")])).is_ok()
    }

    /// The blob ids of the workspace's files at `commit`, by workspace-relative path.
    pub fn tree(&self, commit: &str) -> Result<BTreeMap<String, String>, GitError> {
        if !is_object_id(commit) {
            return Err(GitError(format!("`{commit}` is not a commit id")));
        }
        let mut command = git(&self.top);
        command.args(["ls-tree", "-r", "-z", "--full-tree", commit]);
        if !self.prefix.is_empty() {
            command.arg("--").arg(&self.prefix);
        }
        let listing = output(&mut command)?;
        let mut tree = BTreeMap::new();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            let mut fields = meta.split(' ');
            let (Some(mode), Some(kind), Some(id)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            // Regular files only: a symlink or submodule in a commit is never release content.
            if kind != "blob" || !(mode == "100644" || mode == "100755") {
                continue;
            }
            if let Some(rel) = path.strip_prefix(self.prefix.as_str()) {
                tree.insert(rel.to_string(), id.to_string());
            }
        }
        Ok(tree)
    }

    /// The contents of blobs, in one `git cat-file --batch` call.
    pub fn blobs(&self, ids: &[&str]) -> Result<Vec<Vec<u8>>, GitError> {
        if ids.iter().any(|id| !is_object_id(id)) {
            return Err(GitError("not an object id".into()));
        }
        let mut child = git(&self.top)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| GitError(format!("cannot run git: {e}")))?;
        let request: String = ids.iter().map(|id| format!("{id}\n")).collect();
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| GitError("no stdin".into()))?;
        let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
        let out = child
            .wait_with_output()
            .map_err(|e| GitError(e.to_string()))?;
        let _ = writer.join();
        if !out.status.success() {
            return Err(GitError(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        let mut rest = out.stdout.as_slice();
        let mut blobs = Vec::with_capacity(ids.len());
        for id in ids {
            let newline = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| GitError("truncated cat-file output".into()))?;
            let header = String::from_utf8_lossy(&rest[..newline]).to_string();
            rest = &rest[newline + 1..];
            let mut fields = header.split(' ');
            let (Some(_), Some(kind), Some(size)) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(GitError(format!("object {id}: {header}")));
            };
            let size: usize = size
                .parse()
                .map_err(|_| GitError(format!("object {id}: {header}")))?;
            if kind != "blob" || rest.len() < size + 1 {
                return Err(GitError(format!("object {id} is not a readable blob")));
            }
            blobs.push(rest[..size].to_vec());
            rest = &rest[size + 1..];
        }
        Ok(blobs)
    }

    /// The id git gives a blob with these bytes (so a working-tree file can be compared with a
    /// commit's without asking git for each file).
    pub fn blob_id(&self, bytes: &[u8]) -> String {
        let header = format!("blob {}\0", bytes.len());
        if self.object_format == "sha256" {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(header.as_bytes());
            h.update(bytes);
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        } else {
            use sha1::Digest;
            let mut h = sha1::Sha1::new();
            h.update(header.as_bytes());
            h.update(bytes);
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}
