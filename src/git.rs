//! Reading git through the `git` command line: the commit a workspace is at, revisions, and a
//! workspace's files as a commit holds them. `publish` (the commit of a release, whether the
//! tree is dirty), `run --published` (a release read back) and `diff`/`replay` (a revision
//! materialised) all read git here.
//!
//! The git CLI rather than a library: git is on every machine that has a repository to read,
//! and it answers for every repository feature (packs, alternates, sha256 object format,
//! partial clones) exactly as the user's own git does. Only plumbing commands run (`rev-parse`, `ls-tree`,
//! `cat-file`), with the repository named explicitly, the user's configuration ignored, and
//! every revision the user typed passed after `--end-of-options`, so no argument can become an
//! option. This module never writes to a repository.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The largest file read from a commit; larger ones are refused, never skipped.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The most a workspace at one commit may hold, all files together.
pub const MAX_TREE_BYTES: u64 = 256 * 1024 * 1024;

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

/// One regular file of a commit, under the workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Workspace-relative, `/`-separated.
    pub path: String,
    pub id: String,
    pub size: u64,
}

/// What a commit holds under the workspace: its regular files, and the entries that are not
/// regular files (symbolic links, submodules), which a revision never materialises.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub files: Vec<TreeFile>,
    pub skipped: Vec<String>,
}

impl Tree {
    /// The blob id of the regular file at workspace-relative `path`.
    pub fn id(&self, path: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.id.as_str())
    }
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        // A user's configuration must not change plumbing output or run hooks and pagers.
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PAGER", "cat")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    command
}

fn output(command: &mut Command) -> Result<Vec<u8>, String> {
    let out = command
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn line(bytes: Vec<u8>) -> String {
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
        let top = line(output(git(workspace).args(["rev-parse", "--show-toplevel"])).ok()?);
        let prefix = line(output(git(workspace).args(["rev-parse", "--show-prefix"])).ok()?);
        let object_format = output(git(workspace).args(["rev-parse", "--show-object-format"]))
            .map(line)
            .unwrap_or_else(|_| "sha1".into());
        Some(Repo {
            top: PathBuf::from(top),
            prefix,
            object_format,
        })
    }

    /// The commit `HEAD` names, or none in a repository without commits.
    pub fn head(&self) -> Option<String> {
        let id = line(
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

    /// The commit a revision name (`HEAD`, `main~2`, a tag, an abbreviated id) names.
    pub fn resolve(&self, revision: &str) -> Result<String, String> {
        if revision.is_empty() || revision.starts_with('-') || revision.contains('\0') {
            return Err(format!("`{revision}` is not a revision"));
        }
        let id = output(git(&self.top).args([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{revision}^{{commit}}"),
        ]))
        .map(line)
        .map_err(|_| format!("`{revision}` names no commit in {}", self.top.display()))?;
        if is_object_id(&id) {
            Ok(id)
        } else {
            Err(format!(
                "`{revision}` names no commit (git answered `{id}`)"
            ))
        }
    }

    /// The workspace's entries at `commit` (a full id from [`Repo::resolve`]).
    pub fn tree(&self, commit: &str) -> Result<Tree, String> {
        if !is_object_id(commit) {
            return Err(format!("`{commit}` is not a commit id"));
        }
        let mut command = git(&self.top);
        command.args(["ls-tree", "-r", "-z", "-l", "--full-tree", commit]);
        if !self.prefix.is_empty() {
            command.arg("--").arg(&self.prefix);
        }
        let listing = output(&mut command)?;
        let mut tree = Tree::default();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                return Err(format!("unexpected ls-tree line `{entry}`"));
            };
            let Some(relative) = path.strip_prefix(self.prefix.as_str()) else {
                continue;
            };
            let fields: Vec<&str> = meta.split_whitespace().collect();
            let [mode, kind, id, size] = fields[..] else {
                return Err(format!("unexpected ls-tree line `{entry}`"));
            };
            if kind != "blob" || !(mode == "100644" || mode == "100755") {
                tree.skipped.push(relative.to_string());
                continue;
            }
            let size = size
                .parse()
                .map_err(|_| format!("unexpected ls-tree size in `{entry}`"))?;
            tree.files.push(TreeFile {
                path: relative.to_string(),
                id: id.to_string(),
                size,
            });
        }
        Ok(tree)
    }

    /// The contents of blobs, in one `git cat-file --batch` call.
    pub fn blobs(&self, ids: &[&str]) -> Result<Vec<Vec<u8>>, String> {
        if ids.iter().any(|id| !is_object_id(id)) {
            return Err("not an object id".into());
        }
        let mut child = git(&self.top)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run git: {e}"))?;
        let request: String = ids.iter().map(|id| format!("{id}\n")).collect();
        let mut stdin = child.stdin.take().ok_or("git cat-file has no input")?;
        // The request is written from another thread so a full output pipe cannot deadlock it.
        let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let _ = writer.join();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let mut rest = out.stdout.as_slice();
        let mut blobs = Vec::with_capacity(ids.len());
        for id in ids {
            let newline = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or("truncated cat-file output")?;
            let header = String::from_utf8_lossy(&rest[..newline]).to_string();
            rest = &rest[newline + 1..];
            let fields: Vec<&str> = header.split(' ').collect();
            let [_, kind, size] = fields[..] else {
                return Err(format!("object {id}: {header}"));
            };
            let size: usize = size.parse().map_err(|_| format!("object {id}: {header}"))?;
            if kind != "blob" || rest.len() < size + 1 {
                return Err(format!("object {id} is not a readable blob"));
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
