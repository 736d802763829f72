//! Pinned action versions: `action: log-user@3` in a flow runs published version 3 of
//! `log-user`, whatever the working tree holds now.
//!
//! After a workspace and its flows are loaded, `load` resolves every pin the flows name
//! against authflow.lock and adds the pinned version to `Workspace::actions` under its
//! reference (`log-user@3`), so checks, compile and run treat it as any other action. A
//! version whose content is the working tree's shares the working tree's files; any other
//! is read back from the release that published it (its commit's git objects, or its
//! verified bundle), every file checked against the lock's sha256. It also records which
//! actions' drafts differ from their last published version. It reports nothing itself: the
//! rules `unknown-action-version` and `unpinned-draft-action` read what it recorded.

use super::keys::PublicKey;
use super::lock::{ItemKey, ItemKind, Lock};
use super::publish::{ItemState, status};
use super::snapshot::Snapshot;
use crate::blocks::run_action::ActionPin;
use crate::diagnostic::FileId;
use crate::graph::FlowGraph;
use crate::syntax::ast::Flow;
use crate::workspace::{Action, ActionMeta, Workspace};
use std::collections::BTreeSet;

/// Every pinned reference (`slug@N`, N a valid version number) the flows' blocks name.
pub fn pinned_references(flows: &[(FileId, Option<Flow>)]) -> BTreeSet<String> {
    let mut references = BTreeSet::new();
    for flow in flows.iter().filter_map(|(_, f)| f.as_ref()) {
        let graph = FlowGraph::build(flow);
        for info in &graph.blocks {
            if let Some(reference) = info.action().and_then(|v| v.as_str())
                && let Some(Ok(_)) = ActionPin::parse(reference).number()
            {
                references.insert(reference.to_string());
            }
        }
    }
    references
}

/// Resolves the flows' pins against `lock` and records the actions whose draft differs from
/// their last published version (see the module's documentation).
pub fn load(ws: &mut Workspace, lock: &Lock, flows: &[(FileId, Option<Flow>)]) {
    let references = pinned_references(flows);
    if lock.items.is_empty() && references.is_empty() {
        return;
    }
    // The working tree's action hashes: the same computation publish compares with the lock.
    let current = Snapshot::content(ws, &[]).ok();
    if let Some(snap) = &current {
        for (key, state) in status(snap, lock) {
            if let (ItemKind::Action, ItemState::Draft { version, .. }) = (key.kind, state) {
                ws.published.drafts.insert(key.name, version);
            }
        }
    }
    let key = ws
        .settings
        .publish
        .public_key
        .as_deref()
        .and_then(|text| PublicKey::parse(text).ok());
    for reference in references {
        let pin = ActionPin::parse(&reference);
        let Some(Ok(number)) = pin.number() else {
            continue;
        };
        if ws.actions.contains_key(&reference) {
            continue;
        }
        let same_as_tree = current.as_ref().is_some_and(|snap| {
            let item = ItemKey::new(ItemKind::Action, pin.slug);
            let published = lock.version(&item.to_string(), number);
            matches!((snap.items.get(&item), published), (Some(now), Some(then)) if now.sha256 == then.sha256)
        });
        let resolved = match ws.actions.get(pin.slug) {
            Some(action) if same_as_tree => Ok(action.clone()),
            _ => from_release(ws, lock, pin.slug, number, key.as_ref()),
        };
        match resolved {
            Ok(action) => {
                ws.actions.insert(reference, action);
            }
            Err(reason) => {
                ws.published.unresolved.insert(reference, reason);
            }
        }
    }
}

/// Version `number` of action `slug`, read back from the release that published it.
fn from_release(
    ws: &mut Workspace,
    lock: &Lock,
    slug: &str,
    number: u32,
    key: Option<&PublicKey>,
) -> Result<Action, String> {
    let item = ItemKey::new(ItemKind::Action, slug).to_string();
    let versions = lock.items.get(&item).map(Vec::as_slice).unwrap_or_default();
    let Some(entry) = versions.iter().find(|v| v.version == number) else {
        return Err(match versions {
            [] => format!("action `{slug}` has never been published"),
            _ => format!(
                "action `{slug}` has no published version {number}: authflow.lock has {}",
                versions
                    .iter()
                    .map(|v| format!("v{}", v.version))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let root = ws
        .root
        .clone()
        .ok_or("a pin needs the workspace's releases")?;
    let release = lock
        .release(entry.release)
        .ok_or_else(|| format!("authflow.lock has no release {}", entry.release))?;
    let (contents, _) = super::published::read_files(&root, lock, release, &entry.files, key)?;
    for (module, version) in &entry.modules {
        if !ws
            .modules
            .get(module)
            .is_some_and(|m| m.versions.contains_key(version))
        {
            return Err(format!(
                "v{number} of `{slug}` pins module `{module}` v{version}, which modules/{module}/ no longer has"
            ));
        }
    }
    let mut code_file = None;
    let mut meta_file = None;
    for (path, bytes) in contents {
        let text = String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8"))?;
        // The file as it was published, shown in diagnostics as `<path>@v<N>`.
        let file = ws.sources.add(root.join(format!("{path}@v{number}")), text);
        if path.ends_with(".js") {
            code_file = Some(file);
        } else if path.ends_with(".yaml") {
            meta_file = Some(file);
        }
    }
    let code_file = code_file.ok_or_else(|| format!("v{number} of `{slug}` has no source file"))?;
    let meta_file =
        meta_file.ok_or_else(|| format!("v{number} of `{slug}` has no metadata file"))?;
    let meta =
        crate::syntax::conform::from_str::<ActionMeta>(ws.sources.text(meta_file), meta_file)
            .map_err(|d| {
                format!(
                    "the metadata of v{number} of `{slug}` does not load: {}",
                    d.first().map_or("", |d| d.message.as_str())
                )
            })?;
    Ok(Action {
        slug: slug.to_string(),
        meta,
        meta_file: Some(meta_file),
        code_file,
    })
}

/// The pinned actions of a plan read from a bundle: the bundle carries each action once, at
/// the version its release recorded, which is the version every pin of that release names
/// (publish refuses any other). Adds each pinned reference as that action, after checking
/// its source is the one the plan pinned.
pub fn alias_planned(ws: &mut Workspace, plan: &crate::compile::Plan) -> Result<(), String> {
    for (reference, planned) in &plan.actions {
        let pin = ActionPin::parse(reference);
        if pin.version.is_none() || ws.actions.contains_key(reference) {
            continue;
        }
        let action = ws
            .actions
            .get(pin.slug)
            .filter(|a| crate::compile::sha256(ws.sources.text(a.code_file)) == planned.sha256)
            .ok_or_else(|| format!("the bundle does not hold the source `{reference}` pins"))?;
        ws.actions.insert(reference.clone(), action.clone());
    }
    Ok(())
}
