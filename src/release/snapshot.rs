//! What a release would hold: every item of a loaded workspace with its content hash and
//! files, and every flow compiled to its plan.
//!
//! A snapshot is computed the same way for the working tree (the draft), for a release read
//! back from git, and for a bundle, so "is this the published content?" is always the same
//! comparison of hashes. It reads only what the workspace loader already read and decides
//! nothing about versions (`publish` does).
//!
//! **Invariant:** an item's hash is a function of its files' bytes (and, for actions, of the
//! module versions they pin) only: paths outside the workspace, the current directory, the
//! clock and the machine never enter it.

use super::lock::{ItemKey, ItemKind, LockedPackage};
use crate::blocks::run_action::ActionPin;
use crate::compile::{self, Plan};
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use crate::syntax::ast::Flow;
use crate::workspace::{SETTINGS_FILE, Workspace};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;

/// One item as it is now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemContent {
    pub sha256: String,
    /// Workspace-relative path -> sha256 of the file.
    pub files: BTreeMap<String, String>,
    /// Actions: pinned module versions.
    pub modules: BTreeMap<String, u32>,
    /// Modules: locked npm packages.
    pub dependencies: BTreeMap<String, LockedPackage>,
}

/// What an item's hash is computed from, borrowed from a snapshot or a lock entry.
#[derive(Clone, Copy)]
pub struct Parts<'a> {
    pub files: &'a BTreeMap<String, String>,
    pub modules: &'a BTreeMap<String, u32>,
    pub dependencies: &'a BTreeMap<String, LockedPackage>,
}

impl ItemContent {
    pub fn parts(&self) -> Parts<'_> {
        Parts {
            files: &self.files,
            modules: &self.modules,
            dependencies: &self.dependencies,
        }
    }
}

impl super::lock::ItemVersion {
    pub fn parts(&self) -> Parts<'_> {
        Parts {
            files: &self.files,
            modules: &self.modules,
            dependencies: &self.dependencies,
        }
    }
}

/// An item's content hash (`docs/publish.md` defines it):
/// - a flow, the settings, the user directory: the sha256 of its one file's bytes;
/// - a module: the digest list of its files by file name (`module.yaml`, `v1.js`, ...) and
///   one `npm <name>@<version>` line per locked package, whose value is its integrity;
/// - an action: the digest list of its files by file name (`log-user.js`, `log-user.yaml`)
///   and one `module <name>@<N>` line per pin, whose value is that module version's hash.
pub fn item_hash<'a>(
    kind: ItemKind,
    parts: Parts<'a>,
    module: &dyn Fn(&str) -> Option<Parts<'a>>,
) -> String {
    match kind {
        ItemKind::Flow | ItemKind::Settings | ItemKind::Users => {
            match parts.files.values().next() {
                Some(sha) if parts.files.len() == 1 => sha.clone(),
                _ => digest_list(&by_file_name(parts.files)),
            }
        }
        ItemKind::Module => {
            let mut lines = by_file_name(parts.files);
            lines.extend(dependency_lines(parts.dependencies));
            digest_list(&lines)
        }
        ItemKind::Action => {
            let mut lines = by_file_name(parts.files);
            for (name, version) in parts.modules {
                let sha = module(name).map_or_else(
                    || "missing".to_string(),
                    |m| module_version_hash(m, *version),
                );
                lines.insert(format!("module {name}@{version}"), sha);
            }
            digest_list(&lines)
        }
    }
}

/// One module version as an action sees it: the digest list of `vN.js`, `module.yaml` and the
/// module's locked packages; `missing` when the module has no such version.
pub fn module_version_hash(module: Parts<'_>, version: u32) -> String {
    let wanted = format!("v{version}.js");
    let lines: BTreeMap<String, String> = by_file_name(module.files)
        .into_iter()
        .filter(|(name, _)| *name == wanted || name == "module.yaml")
        .chain(dependency_lines(module.dependencies))
        .collect();
    if !lines.contains_key(&wanted) {
        return "missing".into();
    }
    digest_list(&lines)
}

fn by_file_name(files: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(path, sha)| {
            let name = path.rsplit('/').next().unwrap_or(path);
            (name.to_string(), sha.clone())
        })
        .collect()
}

fn dependency_lines(
    dependencies: &BTreeMap<String, LockedPackage>,
) -> impl Iterator<Item = (String, String)> + '_ {
    dependencies
        .iter()
        .map(|(name, p)| (format!("npm {name}@{}", p.version), p.integrity.clone()))
}

/// Every item of a workspace, its files' bytes, and its compiled flows.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub items: BTreeMap<ItemKey, ItemContent>,
    /// Workspace-relative path -> bytes, for every file of every item.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Flow name -> its plan, with workspace-relative file names.
    pub plans: BTreeMap<String, Plan>,
}

/// sha256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The hash of a digest list: one `label sha256` line per entry, sorted by label, each ending
/// in a newline. This is how an action's and a module's content hash is defined.
pub fn digest_list(lines: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (label, sha) in lines {
        text.push_str(label);
        text.push(' ');
        text.push_str(sha);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

impl Snapshot {
    /// Takes the snapshot of a loaded workspace and its parsed flows, compiling each flow.
    /// Fails with diagnostics when a flow does not compile, two flows share a name, or a file
    /// lies outside the workspace root.
    pub fn take(
        ws: &Workspace,
        flows: &[(FileId, Option<Flow>)],
    ) -> Result<Snapshot, Vec<Diagnostic>> {
        Snapshot::build(ws, flows, true)
    }

    /// The items and their hashes only, without compiling (for `status`, which reports drafts
    /// even while a flow has errors).
    pub fn content(
        ws: &Workspace,
        flows: &[(FileId, Option<Flow>)],
    ) -> Result<Snapshot, Vec<Diagnostic>> {
        Snapshot::build(ws, flows, false)
    }

    fn build(
        ws: &Workspace,
        flows: &[(FileId, Option<Flow>)],
        plans: bool,
    ) -> Result<Snapshot, Vec<Diagnostic>> {
        let Some(root) = ws.root.as_deref() else {
            return Err(vec![
                Diagnostic::new(
                    Code::InvalidWorkspace,
                    flows.first().map_or(FileId(0), |(f, _)| *f),
                    Span::default(),
                    "publishing needs a workspace: a directory with authflow.yaml",
                )
                .help("run inside the workspace, or give --workspace DIR"),
            ]);
        };
        let mut snap = Snapshot::default();
        let mut errors = Vec::new();
        let relative = |file: FileId, errors: &mut Vec<Diagnostic>| -> Option<String> {
            let rel = relative_path(root, ws.sources.path(file));
            if rel.is_none() {
                errors.push(
                    Diagnostic::new(
                        Code::InvalidWorkspace,
                        file,
                        Span::default(),
                        format!(
                            "{} is outside the workspace",
                            ws.sources.path(file).display()
                        ),
                    )
                    .help("a release holds only files under the workspace root"),
                );
            }
            rel
        };

        if let Some(file) = ws.settings_file
            && let Some(rel) = relative(file, &mut errors)
        {
            snap.add_file_item(
                ItemKind::Settings,
                SETTINGS_FILE,
                &rel,
                ws.sources.text(file),
            );
        }
        let users = ws.settings.users.as_deref().unwrap_or("users.yaml");
        // The directory as the workspace loaded it (through the confined reader).
        if let Some(file) = ws.users_file {
            match super::lock::check_path(users) {
                Ok(()) => snap.add_file_item(ItemKind::Users, users, users, ws.sources.text(file)),
                Err(message) => errors.push(
                    Diagnostic::new(
                        Code::InvalidWorkspace,
                        ws.settings_file.unwrap_or(FileId(0)),
                        ws.settings_file
                            .map_or(Span::default(), |f| ws.yaml_span(f, &["users", users])),
                        format!("the user directory {message}"),
                    )
                    .help("name a file under the workspace, such as users.yaml"),
                ),
            }
        }

        for (name, module) in &ws.modules {
            let mut content = ItemContent::default();
            let files = [module.meta_file]
                .into_iter()
                .flatten()
                .chain(module.versions.values().copied());
            for file in files {
                if let Some(rel) = relative(file, &mut errors) {
                    snap.add_file(&mut content.files, rel, ws.sources.text(file).as_bytes());
                }
            }
            // Its vendored npm packages: the tarball is a file of the module (a release
            // carries it), and the lock records its version and integrity.
            for package in ws
                .npm
                .get(name)
                .map(|n| n.packages.as_slice())
                .unwrap_or_default()
            {
                snap.add_file(&mut content.files, package.path.clone(), &package.bytes);
                content.dependencies.insert(
                    package.name.clone(),
                    LockedPackage {
                        version: package.version.clone(),
                        file: package.path.clone(),
                        integrity: package.integrity.clone(),
                    },
                );
            }
            snap.items
                .insert(ItemKey::new(ItemKind::Module, name.clone()), content);
        }
        for (slug, action) in &ws.actions {
            if ActionPin::parse(slug).version.is_some() {
                // A pinned version (`log-user@3`) is a published version of `log-user`,
                // not an item of its own.
                continue;
            }
            let mut content = ItemContent {
                modules: action.meta.modules.clone(),
                ..ItemContent::default()
            };
            for file in [Some(action.code_file), action.meta_file]
                .into_iter()
                .flatten()
            {
                if let Some(rel) = relative(file, &mut errors) {
                    snap.add_file(&mut content.files, rel, ws.sources.text(file).as_bytes());
                }
            }
            snap.items
                .insert(ItemKey::new(ItemKind::Action, slug.clone()), content);
        }
        let mut names: BTreeMap<String, FileId> = BTreeMap::new();
        for (file, flow) in flows {
            let Some(flow) = flow else { continue };
            let Some(rel) = relative(*file, &mut errors) else {
                continue;
            };
            let name = flow.name.value.clone();
            if super::lock::check_path(&name).is_err() || name.contains('/') {
                errors.push(
                    Diagnostic::new(
                        Code::InvalidWorkspace,
                        *file,
                        flow.name.span,
                        format!("the flow name `{name}` cannot name a release file"),
                    )
                    .help("use letters, digits, `-`, `_` and `.` in flow names"),
                );
                continue;
            }
            if let Some(first) = names.get(&name) {
                errors.push(super::check::duplicate_flow_name(*file, flow, *first));
                continue;
            }
            names.insert(name.clone(), *file);
            if plans {
                match compile::compile(ws, *file, flow) {
                    Ok(mut plan) => {
                        errors.extend(pins_outside_tree(ws, *file, flow));
                        relativize(&mut plan, root);
                        snap.plans.insert(name.clone(), plan);
                    }
                    Err(mut diagnostics) => errors.append(&mut diagnostics),
                }
            }
            snap.add_file_item(ItemKind::Flow, &name, &rel, ws.sources.text(*file));
        }
        snap.hash_items();
        if errors.is_empty() {
            Ok(snap)
        } else {
            Err(errors)
        }
    }

    /// Sets every item's hash from its parts (modules are looked up for the actions that pin
    /// them).
    fn hash_items(&mut self) {
        let hashes: Vec<(ItemKey, String)> = self
            .items
            .iter()
            .map(|(key, content)| {
                let module = |name: &str| {
                    self.items
                        .get(&ItemKey::new(ItemKind::Module, name))
                        .map(ItemContent::parts)
                };
                (key.clone(), item_hash(key.kind, content.parts(), &module))
            })
            .collect();
        for (key, sha) in hashes {
            if let Some(content) = self.items.get_mut(&key) {
                content.sha256 = sha;
            }
        }
    }

    fn add_file(
        &mut self,
        files: &mut BTreeMap<String, String>,
        rel: String,
        bytes: &[u8],
    ) -> String {
        let sha = sha256_hex(bytes);
        files.insert(rel.clone(), sha.clone());
        self.files.insert(rel, bytes.to_vec());
        sha
    }

    /// An item made of one file, hashed as that file's bytes.
    fn add_file_item(&mut self, kind: ItemKind, name: &str, rel: &str, text: &str) {
        let mut content = ItemContent::default();
        self.add_file(&mut content.files, rel.to_string(), text.as_bytes());
        self.items.insert(ItemKey::new(kind, name), content);
    }
}

/// A release carries the working tree's version of each action, so a flow may pin only the
/// version the working tree holds: a pin to another version is an error for publish.
fn pins_outside_tree(ws: &Workspace, file: FileId, flow: &Flow) -> Vec<Diagnostic> {
    let graph = crate::graph::FlowGraph::build(flow);
    let mut errors = Vec::new();
    for info in &graph.blocks {
        let Some(value) = info.action() else { continue };
        let Some(reference) = value.as_str() else {
            continue;
        };
        let pin = ActionPin::parse(reference);
        let (Some(pinned), current) = (ws.actions.get(reference), ws.actions.get(pin.slug)) else {
            continue;
        };
        if pin.version.is_some() && current.is_none_or(|c| c.code_file != pinned.code_file) {
            errors.push(
                Diagnostic::new(
                    Code::InvalidWorkspace,
                    file,
                    value.span,
                    format!("`{reference}` is not the version of `{}` in the working tree", pin.slug),
                )
                .help(format!("a release bundles the working tree's actions: restore v{}'s files under actions/ to publish this pin, or remove the pin", pin.version.map_or("", |(_, v)| v))),
            );
        }
    }
    errors
}

/// `path` relative to `root`, `/`-separated; none when it lies outside.
pub fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let root = std::fs::canonicalize(root).ok()?;
    let absolute = std::fs::canonicalize(path).ok()?;
    let rel = absolute.strip_prefix(&root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let rel = parts?.join("/");
    super::lock::check_path(&rel).ok()?;
    Some(rel)
}

/// Rewrites a plan's file names to workspace-relative ones, so the same workspace compiles to
/// the same bytes from any current directory.
fn relativize(plan: &mut Plan, root: &Path) {
    let fix = |name: &mut String| {
        if let Some(rel) = relative_path(root, Path::new(name.as_str())) {
            *name = rel;
        }
    };
    fix(&mut plan.source);
    for action in plan.actions.values_mut() {
        fix(&mut action.file);
        for module in action.modules.values_mut() {
            fix(&mut module.file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_lists_are_sorted_lines() {
        let mut lines = BTreeMap::new();
        lines.insert("b.js".to_string(), "2".repeat(64));
        lines.insert("a.yaml".to_string(), "1".repeat(64));
        let expected =
            sha256_hex(format!("a.yaml {}\nb.js {}\n", "1".repeat(64), "2".repeat(64)).as_bytes());
        assert_eq!(digest_list(&lines), expected);
    }
}
