//! Files that commands read and write. Every input file is hostile; every output is written
//! whole or not at all.
//!
//! Reading ([`read_text`], [`read_bytes`], [`list_dir`]) is the one way a command reads a file: it follows no
//! symbolic link out of the workspace, opens only regular files (a FIFO, a device or a socket
//! is refused before it is opened, so nothing blocks), caps the size ([`SOURCE_LIMIT`],
//! [`EVENT_LIMIT`]) and requires UTF-8. Refusals name the file and the reason.
//!
//! A write goes to a uniquely named temporary file in the target's own directory (so the final
//! rename stays on one file system and never touches a user's file of a fixed name), is
//! flushed, then renamed over the target. On every error path the temporary file is removed
//! (`tempfile` deletes it on drop), so a full disk leaves nothing half-written behind.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The largest workspace text file read: a flow, an action or module version, authflow.yaml,
/// an action's or module's metadata, users.yaml, `.authflow/secrets.yaml`, a test file.
pub const SOURCE_LIMIT: Limit = Limit {
    bytes: 4 * 1024 * 1024,
    what: "workspace files",
};

/// The largest event file read (`--event FILE`): recorded fetch bodies make them bigger.
pub const EVENT_LIMIT: Limit = Limit {
    bytes: 16 * 1024 * 1024,
    what: "event files",
};

/// A cap on the size of one file, and what kind of file it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    pub what: &'static str,
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadErrorKind {
    #[error("no such file or directory")]
    NotFound,
    #[error(
        "it resolves to {}, outside the workspace; authflow follows no symbolic link out of the workspace",
        target.display()
    )]
    OutsideWorkspace { target: PathBuf, root: PathBuf },
    #[error("it is {kind}, not a regular file; authflow reads only regular files")]
    NotRegular { kind: &'static str },
    #[error("it is larger than {} bytes, the limit for {}", limit.bytes, limit.what)]
    TooLarge { limit: Limit },
    #[error("it is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("{0}")]
    Io(std::io::Error),
}

/// A file that was not read, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct ReadError {
    pub path: PathBuf,
    pub kind: ReadErrorKind,
}

impl ReadError {
    pub fn new(path: &Path, kind: ReadErrorKind) -> ReadError {
        ReadError {
            path: path.to_path_buf(),
            kind,
        }
    }

    fn io(path: &Path, error: std::io::Error) -> ReadError {
        let kind = if error.kind() == std::io::ErrorKind::NotFound {
            ReadErrorKind::NotFound
        } else {
            ReadErrorKind::Io(error)
        };
        ReadError::new(path, kind)
    }
}

/// Reads a text file whole, if it is a regular file of at most `limit` bytes that resolves
/// inside `within` (the workspace root; `None` for a file named outside any workspace).
///
/// The path is resolved first and checked against `within`; its metadata must be a regular
/// file's; it is opened without following a final symbolic link and without blocking, and
/// the opened file must be the one that was checked. At most `limit + 1` bytes are read, so
/// a file that grows, or one that reports size 0 as `/proc` files do, is still capped.
pub fn read_text(path: &Path, within: Option<&Path>, limit: Limit) -> Result<String, ReadError> {
    let bytes = read_bytes(path, within, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::new(
            path,
            ReadErrorKind::NotUtf8 {
                offset: e.utf8_error().valid_up_to(),
            },
        )
    })
}

/// Reads a file whole as bytes (a release bundle), by the same rules as [`read_text`] except
/// the UTF-8 requirement.
pub fn read_bytes(path: &Path, within: Option<&Path>, limit: Limit) -> Result<Vec<u8>, ReadError> {
    let resolved = resolve(path, within)?;
    let meta = std::fs::metadata(&resolved).map_err(|e| ReadError::io(path, e))?;
    if let Some(kind) = not_regular(&meta.file_type()) {
        return Err(ReadError::new(path, ReadErrorKind::NotRegular { kind }));
    }
    if meta.len() > limit.bytes {
        return Err(ReadError::new(path, ReadErrorKind::TooLarge { limit }));
    }
    let file = open_no_follow(&resolved).map_err(|e| ReadError::io(path, e))?;
    let opened = file.metadata().map_err(|e| ReadError::io(path, e))?;
    {
        use std::os::unix::fs::MetadataExt;
        if opened.dev() != meta.dev() || opened.ino() != meta.ino() || !opened.is_file() {
            return Err(ReadError::new(
                path,
                ReadErrorKind::Io(std::io::Error::other(
                    "the file changed while it was being opened",
                )),
            ));
        }
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::io(path, e))?;
    if bytes.len() as u64 > limit.bytes {
        return Err(ReadError::new(path, ReadErrorKind::TooLarge { limit }));
    }
    Ok(bytes)
}

/// The entries of a directory that resolves inside `within`, sorted; none when it does not
/// exist. Entries are not followed: callers read each through [`read_text`].
pub fn list_dir(dir: &Path, within: Option<&Path>) -> Result<Vec<PathBuf>, ReadError> {
    let resolved = match resolve(dir, within) {
        Err(ReadError {
            kind: ReadErrorKind::NotFound,
            ..
        }) => return Ok(Vec::new()),
        other => other?,
    };
    if !resolved.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(&resolved).map_err(|e| ReadError::io(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ReadError::io(dir, e))?;
        paths.push(dir.join(entry.file_name()));
    }
    paths.sort();
    Ok(paths)
}

/// Where the workspace confines a path the user named: the root when the path lies under it
/// (lexically, before symbolic links are resolved), else nothing.
pub fn confinement<'a>(path: &Path, root: Option<&'a Path>) -> Option<&'a Path> {
    let root = root?;
    let absolute = std::path::absolute(path).ok()?;
    let canonical_root = std::fs::canonicalize(root).ok();
    (absolute.starts_with(root) || canonical_root.is_some_and(|r| absolute.starts_with(r)))
        .then_some(root)
}

/// `path` made absolute with its directory's symbolic links resolved but not its own: the
/// name a file is shown by, even when it is a link that leads elsewhere.
pub fn located(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|dir| dir.join(name))
            .unwrap_or(absolute),
        _ => std::fs::canonicalize(&absolute).unwrap_or(absolute),
    }
}

/// `path` with every symbolic link resolved, refused when it leaves `within`.
fn resolve(path: &Path, within: Option<&Path>) -> Result<PathBuf, ReadError> {
    let resolved = std::fs::canonicalize(path).map_err(|e| ReadError::io(path, e))?;
    if let Some(root) = within {
        let root = std::fs::canonicalize(root).map_err(|e| ReadError::io(root, e))?;
        if !resolved.starts_with(&root) {
            return Err(ReadError::new(
                path,
                ReadErrorKind::OutsideWorkspace {
                    target: resolved,
                    root,
                },
            ));
        }
    }
    Ok(resolved)
}

/// What a non-regular file is, for the message; `None` for a regular file.
fn not_regular(file_type: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some("a directory")
    } else if file_type.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if file_type.is_char_device() {
        Some("a character device")
    } else if file_type.is_block_device() {
        Some("a block device")
    } else if file_type.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
}

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct WriteError {
    pub path: String,
    pub source: std::io::Error,
}

/// Writes `contents` to `path` atomically: readers see the old file or the whole new one.
pub fn write_whole(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let error = |source| WriteError {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".authflow-")
        .suffix(".tmp")
        .permissions(permissions_for(path))
        .tempfile_in(dir)
        .map_err(error)?;
    tmp.write_all(contents).map_err(error)?;
    tmp.as_file().sync_all().map_err(error)?;
    tmp.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

/// The mode the written file gets: the replaced file's, else what a plain create gives (the
/// temporary file's default, 0600, would silently make outputs private).
fn permissions_for(path: &Path) -> std::fs::Permissions {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta.permissions(),
        _ => {
            use std::os::unix::fs::PermissionsExt;
            // The process umask still applies when the file is created.
            std::fs::Permissions::from_mode(0o666)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_inside_the_workspace_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("flow.yaml"), "flow: x\n").unwrap();
        std::os::unix::fs::symlink(root.join("flow.yaml"), root.join("inside.yaml")).unwrap();
        std::os::unix::fs::symlink("/proc/self/environ", root.join("environ.js")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("zero.js")).unwrap();
        let fifo = std::ffi::CString::new(root.join("pipe.js").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let read = |name: &str| read_text(&root.join(name), Some(root), SOURCE_LIMIT);
        assert_eq!(read("flow.yaml").unwrap(), "flow: x\n");
        assert_eq!(read("inside.yaml").unwrap(), "flow: x\n");
        for name in ["environ.js", "zero.js"] {
            assert!(
                matches!(
                    read(name).unwrap_err().kind,
                    ReadErrorKind::OutsideWorkspace { .. }
                ),
                "{name}"
            );
        }
        let pipe = read("pipe.js").unwrap_err();
        assert!(matches!(pipe.kind, ReadErrorKind::NotRegular { kind } if kind.contains("FIFO")));
        // Outside any workspace a device is still refused, and /proc files are capped.
        let zero = read_text(Path::new("/dev/zero"), None, SOURCE_LIMIT).unwrap_err();
        assert!(matches!(zero.kind, ReadErrorKind::NotRegular { .. }));
        let small = Limit {
            bytes: 4,
            what: "tests",
        };
        let environ = read_text(Path::new("/proc/self/environ"), None, small);
        assert!(environ.is_err());
        std::fs::write(root.join("big.yaml"), "12345").unwrap();
        let big = read_text(&root.join("big.yaml"), Some(root), small).unwrap_err();
        assert!(
            big.to_string()
                .contains("larger than 4 bytes, the limit for tests"),
            "{big}"
        );
        std::fs::write(root.join("latin1.yaml"), b"caf\xe9").unwrap();
        assert!(matches!(
            read("latin1.yaml").unwrap_err().kind,
            ReadErrorKind::NotUtf8 { offset: 3 }
        ));
        assert!(matches!(
            read("missing.yaml").unwrap_err().kind,
            ReadErrorKind::NotFound
        ));
    }

    #[test]
    fn lists_no_directory_outside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("actions")).unwrap();
        std::fs::write(root.join("actions/b.js"), "").unwrap();
        std::fs::write(root.join("actions/a.js"), "").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("modules")).unwrap();
        let names: Vec<_> = list_dir(&root.join("actions"), Some(root))
            .unwrap()
            .into_iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.js", "b.js"]);
        assert!(list_dir(&root.join("none"), Some(root)).unwrap().is_empty());
        assert!(matches!(
            list_dir(&root.join("modules"), Some(root))
                .unwrap_err()
                .kind,
            ReadErrorKind::OutsideWorkspace { .. }
        ));
    }

    #[test]
    fn writes_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("plan.json");
        // A user's own file with the name the old implementation used as its temporary file.
        std::fs::write(dir.path().join("plan.tmp"), "mine").unwrap();
        write_whole(&target, b"{}\n").unwrap();
        write_whole(&target, b"{\"v\":2}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "{\"v\":2}\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("plan.tmp")).unwrap(),
            "mine"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn keeps_the_mode_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("flow.yaml");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_whole(&target, b"new").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let fresh = dir.path().join("plan.json");
        write_whole(&fresh, b"{}").unwrap();
        let reference = dir.path().join("created");
        std::fs::File::create(&reference).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), mode(&reference));
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a directory fails after the temporary file was written.
        let target = dir.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "x").unwrap();
        assert!(write_whole(&target, b"data").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["taken".to_string()]);
    }
}
