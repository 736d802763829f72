//! `authflow.lock`: the committed record of every release and every published version.
//!
//! The lock is JSON written deterministically (sorted keys, two-space indentation, one
//! trailing newline), so the same releases always give the same bytes and a diff shows only
//! what a publish added. Its JSON Schema is `authflow schema lock`. This module owns the
//! format, reading (a hostile file: size-capped, regular files only, every cross-reference
//! validated) and writing; it decides nothing about what changed (`publish` does).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The lock file's name, at the workspace root.
pub const LOCK_FILE: &str = "authflow.lock";

/// The lock format's version; bumped on any incompatible change.
pub const LOCK_VERSION: u32 = 1;

/// A lock larger than this is refused rather than read.
pub const LOCK_LIMIT: crate::files::Limit = crate::files::Limit {
    bytes: 16 * 1024 * 1024,
    what: "lock files",
};

/// `authflow.lock`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// The format version (1).
    pub lock_version: u32,
    /// Every published item by key (`flow:login`, `action:log-user`, `module:logger`,
    /// `settings:authflow.yaml`, `users:users.yaml`), each with its versions, oldest first.
    #[serde(default)]
    pub items: BTreeMap<String, Vec<ItemVersion>>,
    /// Every release, numbered from 1, oldest first.
    #[serde(default)]
    pub releases: Vec<Release>,
}

/// One published version of one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemVersion {
    /// 1, 2, ...: the item's own version number, bumped when its content changes.
    pub version: u32,
    /// sha256 of the item's content (hex). For a flow, settings or users file: of the file's
    /// bytes. For an action: of its digest list (its files, and every module version it pins
    /// with that module's dependencies). For a module: of its digest list (module.yaml, every
    /// published `vN.js`, every locked npm dependency). `docs/publish.md` defines the lists.
    pub sha256: String,
    /// The release that published this version.
    pub release: u32,
    /// The item's files, workspace-relative, with the sha256 of each.
    pub files: BTreeMap<String, String>,
    /// Actions: the module versions the action pins (`logger: 2`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub modules: BTreeMap<String, u32>,
    /// Modules: the npm packages the module may `require`, as vendored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, LockedPackage>,
}

/// An npm package as vendored under the workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// The exact version (`2.1.3`).
    pub version: String,
    /// The vendored tarball, workspace-relative (`vendor/npm/ms-2.1.3.tgz`).
    pub file: String,
    /// The tarball's Subresource Integrity hash, as npm records it (`sha512-<base64>`).
    pub integrity: String,
}

/// One release: what `authflow publish` recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// 1, 2, ...
    pub release: u32,
    /// The environment published to (`--env NAME`), if one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The git commit the working tree was at (`HEAD`), or null outside a git repository.
    pub commit: Option<String>,
    /// Whether some file of the release differed from (or was missing in) that commit; a
    /// dirty release can be reproduced only from its bundle.
    pub dirty: bool,
    /// When it was published (RFC 3339, UTC, whole seconds; `SOURCE_DATE_EPOCH` overrides).
    pub time: String,
    /// The version of every item in the release, by item key.
    pub items: BTreeMap<String, u32>,
    /// Every file of the release's bundle except the bundle's own `lock.json`, with its sha256.
    pub files: BTreeMap<String, String>,
}

/// Why a lock could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LockError {
    pub path: String,
    pub message: String,
}

/// What is wrong with lock text, and where when the JSON itself is malformed.
#[derive(Debug, PartialEq, Eq)]
pub struct LockProblem {
    pub message: String,
    /// 1-based line and column.
    pub position: Option<(usize, usize)>,
}

impl std::fmt::Display for LockProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((line, column)) = self.position {
            write!(f, "line {line}, column {column}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl Lock {
    /// An empty lock (no release yet).
    pub fn new() -> Lock {
        Lock {
            lock_version: LOCK_VERSION,
            ..Lock::default()
        }
    }

    /// Reads the lock at `path`; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<Lock, LockError> {
        match Lock::read_text(path)? {
            None => Ok(Lock::new()),
            Some(text) => Lock::parse(&text).map_err(|p| LockError {
                path: path.display().to_string(),
                message: p.to_string(),
            }),
        }
    }

    /// The text of the lock at `path`, through the confined reader (a regular file inside
    /// its own directory, at most `LOCK_LIMIT`, UTF-8); `None` when there is no lock.
    pub fn read_text(path: &Path) -> Result<Option<String>, LockError> {
        let within = path.parent().filter(|p| !p.as_os_str().is_empty());
        match crate::files::read_text(path, Some(within.unwrap_or(Path::new("."))), LOCK_LIMIT) {
            Ok(text) => Ok(Some(text)),
            Err(crate::files::ReadError {
                kind: crate::files::ReadErrorKind::NotFound,
                ..
            }) => Ok(None),
            Err(error) => Err(LockError {
                path: path.display().to_string(),
                message: error.kind.to_string(),
            }),
        }
    }

    /// Parses and validates lock text.
    pub fn parse(text: &str) -> Result<Lock, LockProblem> {
        let lock: Lock = serde_json::from_str(text).map_err(|e| LockProblem {
            message: e.to_string(),
            position: Some((e.line(), e.column())),
        })?;
        lock.validate().map_err(|message| LockProblem {
            message,
            position: None,
        })?;
        Ok(lock)
    }

    /// Checks every invariant a reader relies on: consecutive numbers, known references,
    /// hex hashes.
    pub fn validate(&self) -> Result<(), String> {
        if self.lock_version != LOCK_VERSION {
            return Err(format!(
                "lock_version {} is not supported (this authflow reads version {LOCK_VERSION})",
                self.lock_version
            ));
        }
        for (i, release) in self.releases.iter().enumerate() {
            if release.release as usize != i + 1 {
                return Err(format!(
                    "release {} is listed at position {}: releases are numbered 1, 2, ... in order",
                    release.release,
                    i + 1
                ));
            }
            if let Some(commit) = &release.commit
                && !is_hex(commit, &[40, 64])
            {
                return Err(format!(
                    "release {}: `{commit}` is not a git commit id",
                    release.release
                ));
            }
            for (key, version) in &release.items {
                if self.version(key, *version).is_none() {
                    return Err(format!(
                        "release {} names {key} version {version}, which the lock does not have",
                        release.release
                    ));
                }
            }
            for (file, sha) in &release.files {
                check_path(file)?;
                check_sha(sha, file)?;
            }
        }
        for (key, versions) in &self.items {
            ItemKey::parse(key).ok_or_else(|| format!("`{key}` is not an item key"))?;
            for (i, v) in versions.iter().enumerate() {
                if v.version as usize != i + 1 {
                    return Err(format!(
                        "{key}: version {} is listed at position {}: versions are numbered 1, 2, ... in order",
                        v.version,
                        i + 1
                    ));
                }
                check_sha(&v.sha256, key)?;
                if v.release == 0 || v.release as usize > self.releases.len() {
                    return Err(format!(
                        "{key} version {} names release {}, which the lock does not have",
                        v.version, v.release
                    ));
                }
                for (file, sha) in &v.files {
                    check_path(file)?;
                    check_sha(sha, file)?;
                }
                for (name, package) in &v.dependencies {
                    check_path(&package.file)?;
                    if !package.integrity.starts_with("sha512-") {
                        return Err(format!(
                            "{key}: dependency {name}: integrity `{}` is not a sha512 SRI hash",
                            package.integrity
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The lock as written: deterministic JSON with a trailing newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// One version of one item.
    pub fn version(&self, key: &str, version: u32) -> Option<&ItemVersion> {
        self.items.get(key)?.get((version as usize).checked_sub(1)?)
    }

    /// An item's newest version.
    pub fn latest(&self, key: &str) -> Option<&ItemVersion> {
        self.items.get(key)?.last()
    }

    /// The newest release, of one environment when `env` is given (releases without an
    /// environment count as the default environment).
    pub fn last_release(&self, env: Option<&str>) -> Option<&Release> {
        self.releases.iter().rev().find(|r| r.env.as_deref() == env)
    }

    /// Release `n`.
    pub fn release(&self, n: u32) -> Option<&Release> {
        self.releases.get((n as usize).checked_sub(1)?)
    }
}

/// What kind of thing a lock item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    Flow,
    Action,
    Module,
    Settings,
    Users,
}

impl ItemKind {
    pub const ALL: [ItemKind; 5] = [
        ItemKind::Flow,
        ItemKind::Action,
        ItemKind::Module,
        ItemKind::Settings,
        ItemKind::Users,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Flow => "flow",
            ItemKind::Action => "action",
            ItemKind::Module => "module",
            ItemKind::Settings => "settings",
            ItemKind::Users => "users",
        }
    }
}

/// An item's identity in the lock: `kind:name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemKey {
    pub kind: ItemKind,
    pub name: String,
}

impl ItemKey {
    pub fn new(kind: ItemKind, name: impl Into<String>) -> ItemKey {
        ItemKey {
            kind,
            name: name.into(),
        }
    }

    /// Parses `kind:name`.
    pub fn parse(text: &str) -> Option<ItemKey> {
        let (kind, name) = text.split_once(':')?;
        let kind = ItemKind::ALL.into_iter().find(|k| k.as_str() == kind)?;
        (!name.is_empty()).then(|| ItemKey::new(kind, name))
    }
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.name)
    }
}

fn is_hex(text: &str, lengths: &[usize]) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_sha(sha: &str, what: &str) -> Result<(), String> {
    if is_hex(sha, &[64]) {
        Ok(())
    } else {
        Err(format!(
            "{what}: `{sha}` is not a sha256 (64 lowercase hex digits)"
        ))
    }
}

/// A workspace-relative path as the lock and bundles hold them: `/`-separated, no `.`/`..`
/// segments, not absolute.
pub fn check_path(path: &str) -> Result<(), String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    if bad {
        Err(format!(
            "`{path}` is not a relative path inside the workspace"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys_round_trip() {
        let key = ItemKey::new(ItemKind::Action, "log-user");
        assert_eq!(key.to_string(), "action:log-user");
        assert_eq!(ItemKey::parse("action:log-user"), Some(key));
        assert_eq!(ItemKey::parse("gadget:x"), None);
        assert_eq!(ItemKey::parse("flow:"), None);
    }

    #[test]
    fn paths_must_stay_inside() {
        for bad in ["", "/etc/passwd", "a/../b", "./a", "a//b", "a\\b"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(check_path("modules/logger/v1.js").is_ok());
    }

    #[test]
    fn dangling_references_are_refused() {
        let text = r#"{"lock_version": 1, "items": {}, "releases": [
            {"release": 1, "commit": null, "dirty": true, "time": "2026-01-01T00:00:00Z",
             "items": {"flow:login": 1}, "files": {}}]}"#;
        let e = Lock::parse(text).unwrap_err();
        assert!(e.message.contains("flow:login version 1"), "{e}");
        let e = Lock::parse("{\"lock_version\": 1, \"extra\": 2}").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(1), "{e}");
    }
}
