//! Files that commands write: every output is written whole or not at all.
//!
//! A write goes to a uniquely named temporary file in the target's own directory (so the final
//! rename stays on one file system and never touches a user's file of a fixed name), is
//! flushed, then renamed over the target. On every error path the temporary file is removed
//! (`tempfile` deletes it on drop), so a full disk leaves nothing half-written behind.

use std::io::Write;
use std::path::Path;

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
