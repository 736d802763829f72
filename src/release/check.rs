//! The checks that need the lock: a readable `authflow.lock`, published module versions left
//! as they were published.
//!
//! `authflow check` and `authflow publish` both run these after the flow and workspace
//! checks. They read the workspace and the lock and report diagnostics; they change nothing.

use super::lock::{ItemKey, ItemKind, LOCK_FILE, Lock};
use super::snapshot::{relative_path, sha256_hex};
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use crate::syntax::ast::Flow;
use crate::workspace::Workspace;
use std::collections::BTreeMap;

/// Reads the workspace's lock, adding its text to the workspace's sources so a malformed lock
/// is a diagnostic at the spot. No workspace, or no lock yet: an empty lock.
pub fn read_lock(ws: &mut Workspace) -> (Lock, Vec<Diagnostic>) {
    let Some(root) = ws.root.clone() else {
        return (Lock::new(), Vec::new());
    };
    let path = root.join(LOCK_FILE);
    // The text when the file could be read, so that a parse error points into it.
    let (text, message, position) = match Lock::read_text(&path) {
        Ok(None) => return (Lock::new(), Vec::new()),
        Ok(Some(text)) => match Lock::parse(&text) {
            Ok(lock) => return (lock, Vec::new()),
            Err(problem) => (text, problem.message, problem.position),
        },
        Err(error) => (String::new(), error.message, None),
    };
    let span = position.map_or(Span::default(), |(line, column)| {
        let start = offset_of(&text, line, column);
        Span::new(start, (start + 1).min(text.len()))
    });
    let file = ws.sources.add(crate::workspace::display_path(&path), text);
    let diagnostic = Diagnostic::new(Code::InvalidLock, file, span, format!("the lock is unusable: {message}"))
        .help("authflow.lock is written by `authflow publish`; restore the committed one with `git checkout authflow.lock`");
    (Lock::new(), vec![diagnostic])
}

/// A second flow file declaring a name another flow file declares.
pub fn duplicate_flow_name(file: FileId, flow: &Flow, first: FileId) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateFlowName,
        file,
        flow.name.span,
        format!("a second flow named `{}`", flow.name.value),
    )
    .related(first, Span::default(), "the first flow with this name")
    .help("releases version flows by name: rename one of them")
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// The release checks: flow names are unique (releases version flows by name), and every
/// module version file a release published is unchanged.
pub fn check(ws: &Workspace, flows: &[(FileId, Option<Flow>)], lock: &Lock) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut names: BTreeMap<&str, FileId> = BTreeMap::new();
    for (file, flow) in flows {
        let Some(flow) = flow else { continue };
        match names.get(flow.name.value.as_str()) {
            Some(first) => diagnostics.push(duplicate_flow_name(*file, flow, *first)),
            None => {
                names.insert(&flow.name.value, *file);
            }
        }
    }
    let Some(root) = ws.root.as_deref() else {
        return diagnostics;
    };
    for (name, module) in &ws.modules {
        let key = ItemKey::new(ItemKind::Module, name.clone()).to_string();
        let Some(versions) = lock.items.get(&key) else {
            continue;
        };
        for (number, file) in &module.versions {
            let Some(rel) = relative_path(root, ws.sources.path(*file)) else {
                continue;
            };
            // The first published version that held this file is the one actions pinned.
            let Some(published) = versions.iter().find(|v| v.files.contains_key(&rel)) else {
                continue;
            };
            if published.files.get(&rel) != Some(&sha256_hex(ws.sources.text(*file).as_bytes())) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::PublishedModuleChanged,
                        *file,
                        Span::new(0, ws.sources.text(*file).len().min(1)),
                        format!(
                            "module `{name}` v{number} changed after release {} published it",
                            published.release
                        ),
                    )
                    .help(format!(
                        "published module versions are immutable (actions pin them): restore {rel} from git and put the change in a new version file, v{}.js",
                        module.versions.keys().last().map_or(1, |n| n + 1)
                    )),
                );
            }
        }
    }
    diagnostics
}
