//! npm dependencies of action modules, vendored: a module's `dependencies: {ms: 2.1.3}` is
//! served from `vendor/npm/ms-2.1.3.tgz` (the file `npm pack ms@2.1.3` writes), never from a
//! network.
//!
//! `load` reads each declared package's tarball (a regular file inside the workspace, within
//! a size bound), computes its integrity as npm does (`sha512-<base64>` of the tarball's
//! bytes, the registry's `dist.integrity`), unpacks its JavaScript and JSON files (bounded)
//! and resolves every `require` in them: relative paths to the package's own files, bare
//! names to the other packages the module declares. A package that requires a Node built-in
//! (`fs`, `net`, `child_process`, ...: the sandbox grants none), an undeclared package or a
//! computed name is refused. What resolved goes to `Workspace::npm`, which the engine's module
//! loader receives as a per-file require table (`host::action_source`), and snapshots record
//! in the lock (version, file, integrity); the problems go there too, for the rule
//! `npm-dependency`. This module reports and runs nothing itself.

use crate::js::PackageFile;
use crate::workspace::Workspace;
use base64::Engine as _;
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Read;

/// Where vendored tarballs live, relative to the workspace root.
pub const VENDOR_DIR: &str = "vendor/npm";
/// The largest tarball read.
pub const TARBALL_LIMIT: crate::files::Limit = crate::files::Limit {
    bytes: 8 * 1024 * 1024,
    what: "vendored npm tarballs",
};
/// The most bytes a tarball may unpack to.
pub const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;

/// Node's built-in modules. The sandbox grants none of them; a package that requires one is
/// refused (with or without the `node:` prefix).
pub const NODE_BUILTINS: &[&str] = &[
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// A module's packages: those that resolved, and what is wrong with the others.
#[derive(Clone, Debug, Default)]
pub struct ModulePackages {
    pub packages: Vec<VendoredPackage>,
    pub problems: Vec<PackageProblem>,
}

/// One vendored package, unpacked and resolved.
#[derive(Clone, Debug)]
pub struct VendoredPackage {
    pub name: String,
    pub version: String,
    /// The tarball, workspace-relative (`vendor/npm/ms-2.1.3.tgz`).
    pub path: String,
    /// npm's integrity of the tarball: `sha512-<base64>`.
    pub integrity: String,
    /// The tarball's bytes (a release carries them).
    pub bytes: Vec<u8>,
    /// The id of the file `require('<name>')` loads.
    pub entry: String,
    pub files: Vec<PackageFile>,
}

/// A declared dependency that cannot be used.
#[derive(Clone, Debug)]
pub struct PackageProblem {
    /// The dependency's name as module.yaml declares it.
    pub dependency: String,
    pub message: String,
    pub help: String,
}

/// The tarball `npm pack <name>@<version>` writes: `@scope/name` becomes `scope-name`.
pub fn tarball_path(name: &str, version: &str) -> String {
    let flat = name.trim_start_matches('@').replace('/', "-");
    format!("{VENDOR_DIR}/{flat}-{version}.tgz")
}

/// npm's integrity string of a tarball: `sha512-` and the base64 of its SHA-512.
pub fn integrity(bytes: &[u8]) -> String {
    let digest = sha2::Sha512::digest(bytes);
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Unpacks, resolves and records every module's declared packages (see the module docs).
pub fn load(ws: &mut Workspace) {
    let Some(root) = ws.root.clone() else { return };
    let mut all = BTreeMap::new();
    for (module, m) in &ws.modules {
        let declared = &m.meta.dependencies;
        if declared.is_empty() {
            continue;
        }
        let mut out = ModulePackages::default();
        let mut unpacked = Vec::new();
        for (name, version) in declared {
            let problem = |message: String, help: String| PackageProblem {
                dependency: name.clone(),
                message,
                help,
            };
            if let Err(why) = check_name(name) {
                out.problems.push(problem(
                    format!("`{name}` is not an npm package name: {why}"),
                    "npm names are lowercase letters, digits, `-`, `.`, `_`, `~`, optionally `@scope/`".into(),
                ));
                continue;
            }
            if !exact_version(version) {
                out.problems.push(problem(
                    format!("`{name}: {version}` is not an exact version"),
                    format!("authflow resolves nothing at run time: pin one version (`{name}: 1.2.3`), the one you vendored with `npm pack {name}@<version>`"),
                ));
                continue;
            }
            let path = tarball_path(name, version);
            let fetch_help = format!(
                "vendor it: `mkdir -p {VENDOR_DIR} && cd {VENDOR_DIR} && npm pack {name}@{version}`, then commit the file"
            );
            let bytes = match read_tarball(&root, &path) {
                Ok(bytes) => bytes,
                Err(why) => {
                    out.problems
                        .push(problem(format!("{path}: {why}"), fetch_help));
                    continue;
                }
            };
            match unpack(&bytes) {
                Ok(files) => match package_json(&files, name, version) {
                    Ok(main) => {
                        unpacked.push((name.clone(), version.clone(), path, bytes, files, main))
                    }
                    Err(why) => out
                        .problems
                        .push(problem(format!("{path}: {why}"), fetch_help)),
                },
                Err(why) => out.problems.push(problem(
                    format!("{path} is not an npm package tarball: {why}"),
                    fetch_help,
                )),
            }
        }
        // Entries first: a package may require another declared package by name.
        let mut entries = BTreeMap::new();
        for (name, version, path, _, files, main) in &unpacked {
            match resolve_relative(files, "", main) {
                Some(file) => {
                    entries.insert(name.clone(), file_id(name, version, &file));
                }
                None => out.problems.push(PackageProblem {
                    dependency: name.clone(),
                    message: format!("{path}: its entry point `{main}` is not in the package"),
                    help: "vendor the tarball `npm pack` writes, unchanged".into(),
                }),
            }
        }
        for (name, version, path, bytes, files, _) in unpacked {
            let Some(entry) = entries.get(&name).cloned() else {
                continue;
            };
            match resolve_files(&name, &version, &path, &files, &entries) {
                Ok(resolved) => out.packages.push(VendoredPackage {
                    integrity: integrity(&bytes),
                    name,
                    version,
                    path,
                    bytes,
                    entry,
                    files: resolved,
                }),
                Err(message) => out.problems.push(PackageProblem {
                    dependency: name.clone(),
                    message,
                    help: "authflow runs only what the sandbox grants: choose a package without Node built-ins, or declare the packages it requires under `dependencies`".into(),
                }),
            }
        }
        all.insert(module.clone(), out);
    }
    ws.npm = all;
}

fn check_name(name: &str) -> Result<(), &'static str> {
    let bare = match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, rest)) if !scope.is_empty() && !rest.contains('/') => {
                check_part(scope)?;
                rest
            }
            _ => return Err("a scoped name is `@scope/name`"),
        },
        None => name,
    };
    check_part(bare)
}

fn check_part(part: &str) -> Result<(), &'static str> {
    if part.is_empty() || part.len() > 214 || part.starts_with(['.', '_']) {
        return Err("it is empty, too long, or starts with `.` or `_`");
    }
    if !part
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._~".contains(&b))
    {
        return Err("it has characters other than lowercase letters, digits and `-._~`");
    }
    Ok(())
}

/// `1.2.3`, with an optional `-prerelease` and `+build`: what npm writes in a lock.
fn exact_version(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let rest = &version[core.len()..];
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-+.".contains(&b))
}

/// A vendored tarball, through the confined reader (a regular file inside the workspace).
fn read_tarball(root: &std::path::Path, path: &str) -> Result<Vec<u8>, String> {
    crate::files::read_bytes(&root.join(path), Some(root), TARBALL_LIMIT).map_err(|e| {
        match e.kind {
            crate::files::ReadErrorKind::NotFound => "not vendored".to_string(),
            kind => kind.to_string(),
        }
    })
}

/// The gzip member's deflate stream (RFC 1952), inflated within the bound.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let header = bytes.get(..10).ok_or("too short for gzip")?;
    if header[..3] != [0x1f, 0x8b, 8] {
        return Err("not gzip".into());
    }
    let flags = header[3];
    let mut at = 10;
    let truncated = || "a truncated gzip header".to_string();
    if flags & 4 != 0 {
        let len = bytes.get(at..at + 2).ok_or_else(truncated)?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [8u8, 16] {
        if flags & flag != 0 {
            let end = bytes.get(at..).and_then(|b| b.iter().position(|&c| c == 0));
            at += end.ok_or_else(truncated)? + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    let body = bytes
        .get(at..bytes.len().saturating_sub(8))
        .ok_or_else(truncated)?;
    miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_UNPACKED_BYTES as usize).map_err(
        |e| {
            format!(
                "its gzip data does not inflate within {MAX_UNPACKED_BYTES} bytes ({:?})",
                e.status
            )
        },
    )
}

/// The package's `.js`, `.cjs` and `.json` files, by path below `package/`.
fn unpack(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let tar_bytes = gunzip(bytes)?;
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let mut files = BTreeMap::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?;
        let path = path
            .to_str()
            .ok_or("a member name that is not UTF-8")?
            .to_string();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(format!("member {path} is not a regular file"));
        }
        let Some(inner) = path.strip_prefix("package/") else {
            return Err(format!("member {path} is outside package/"));
        };
        if inner
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(format!("member {path} has an unsafe name"));
        }
        if !(inner.ends_with(".js") || inner.ends_with(".cjs") || inner.ends_with(".json")) {
            continue;
        }
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|_| format!("member {path} is not UTF-8 text"))?;
        files.insert(inner.to_string(), text);
    }
    Ok(files)
}

/// Checks package.json names this package and version; returns its entry point.
fn package_json(
    files: &BTreeMap<String, String>,
    name: &str,
    version: &str,
) -> Result<String, String> {
    let text = files
        .get("package.json")
        .ok_or("it has no package/package.json")?;
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("package.json does not parse: {e}"))?;
    let (found_name, found_version) = (json["name"].as_str(), json["version"].as_str());
    if found_name != Some(name) || found_version != Some(version) {
        return Err(format!(
            "it is {}@{}, not {name}@{version}",
            found_name.unwrap_or("?"),
            found_version.unwrap_or("?")
        ));
    }
    if json.get("type").and_then(|t| t.as_str()) == Some("module") {
        return Err(
            "it is an ES module package (`\"type\": \"module\"`); modules load CommonJS".into(),
        );
    }
    Ok(json["main"].as_str().unwrap_or("index.js").to_string())
}

fn file_id(name: &str, version: &str, file: &str) -> String {
    format!("npm:{name}@{version}/{file}")
}

/// `spec` relative to the package directory `dir`, as Node tries it: the file, with `.js`,
/// with `.json`, then `<spec>/index.js`.
fn resolve_relative(files: &BTreeMap<String, String>, dir: &str, spec: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in spec.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    let base = parts.join("/");
    [
        base.clone(),
        format!("{base}.js"),
        format!("{base}.json"),
        format!("{base}/index.js"),
    ]
    .into_iter()
    .find(|candidate| files.contains_key(candidate))
}

/// Every file of a package with its require table, or why the package cannot run.
fn resolve_files(
    name: &str,
    version: &str,
    path: &str,
    files: &BTreeMap<String, String>,
    entries: &BTreeMap<String, String>,
) -> Result<Vec<PackageFile>, String> {
    let mut out = Vec::new();
    for (file, text) in files {
        let where_ = format!("{path}: package/{file}");
        let code = if file.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| format!("{where_} does not parse: {e}"))?;
            format!("module.exports = {text};")
        } else {
            text.clone()
        };
        let mut requires = BTreeMap::new();
        if !file.ends_with(".json") {
            let facts = crate::jsfacts::analyze(text);
            if let Some(error) = facts.syntax_errors.first() {
                return Err(format!("{where_} does not parse: {}", error.message));
            }
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
            for require in &facts.requires {
                let spec = require
                    .specifier
                    .as_deref()
                    .ok_or_else(|| format!("{where_} calls `require` with a computed name"))?;
                let target = if spec.starts_with("./") || spec.starts_with("../") {
                    resolve_relative(files, dir, spec)
                        .map(|f| file_id(name, version, &f))
                        .ok_or_else(|| {
                            format!("{where_} requires `{spec}`, which the package does not hold")
                        })?
                } else if NODE_BUILTINS.contains(&spec.trim_start_matches("node:"))
                    || spec.starts_with("node:")
                {
                    return Err(format!(
                        "{where_} requires the Node built-in `{spec}`, which the sandbox does not grant"
                    ));
                } else {
                    entries.get(spec).cloned().ok_or_else(|| {
                        format!("{where_} requires `{spec}`, which the module does not declare (or which did not load)")
                    })?
                };
                requires.insert(spec.to_string(), target);
            }
        }
        out.push(PackageFile {
            id: file_id(name, version, file),
            file_name: format!("{path}/package/{file}"),
            code,
            requires,
        });
    }
    Ok(out)
}
