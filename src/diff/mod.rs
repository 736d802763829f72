//! Semantic diff: what changed between two versions of a workspace, as a plan rather than a
//! text diff.
//!
//! Each side is first reduced to a [`Version`] (`version.rs`): flows as ASTs without spans
//! (so YAML and the DSL, comments, quoting and key order compare equal), actions and modules
//! as their metadata plus what `jsfacts` knows of their code, and the settings as the values
//! the loader produced (defaults filled in). [`diff`] then compares two versions item by
//! item: flows block by block (`flows.rs`), metadata and settings key by key (`values.rs`).
//! Reading a version from git or a release is `revision.rs`; rendering is `render.rs`.
//!
//! This module only compares: it never loads files itself, runs a check, or decides that a
//! change is wrong.
//!
//! **Invariant:** two versions whose files differ only in formatting (YAML <-> DSL, comments,
//! key order, quoting, whitespace inside conditions) have an empty diff.

mod flows;
pub mod render;
pub mod revision;
mod values;
pub mod version;

pub use version::Version;

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Everything that changed between two versions.
#[derive(Clone, Debug, Serialize)]
pub struct WorkspaceDiff {
    /// How the old version is named (`HEAD (3f2a9c1d04b2)`, `release 3`).
    pub from: String,
    /// How the new version is named (`working tree`).
    pub to: String,
    /// Items with changes, in a fixed order: settings, flows, actions, modules, each by name.
    pub items: Vec<ItemDiff>,
}

/// One flow, action, module or the settings, with what changed in it.
#[derive(Clone, Debug, Serialize)]
pub struct ItemDiff {
    pub kind: ItemKind,
    /// The flow's name, the action's slug, the module's name, or `authflow.yaml`.
    pub name: String,
    /// The item's main file in the new version (the old one's when it was removed).
    pub file: Option<String>,
    pub status: Status,
    /// Empty for added and removed items.
    pub changes: Vec<Change>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Settings,
    Flow,
    Action,
    Module,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Added,
    Removed,
    Modified,
}

/// What the static analysis of an action's code knows, by kind of fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// `event.request.geo.country`, ...
    EventReads,
    /// Keys of `api.state.set`.
    StateWrites,
    /// `api.deny`, `api.user.setAppMetadata`, ...
    ApiCalls,
    /// URLs (or their static prefixes) passed to `api.fetch` and `fetch`.
    FetchUrls,
    /// `event.secrets.X` and `actions.secrets.X` read.
    Secrets,
    /// `require(...)` specifiers.
    Requires,
}

impl FactKind {
    pub const ALL: [FactKind; 6] = [
        FactKind::EventReads,
        FactKind::StateWrites,
        FactKind::ApiCalls,
        FactKind::FetchUrls,
        FactKind::Secrets,
        FactKind::Requires,
    ];

    /// How the fact is named to a reader.
    pub fn describe(self) -> &'static str {
        match self {
            FactKind::EventReads => "event fields read",
            FactKind::StateWrites => "state keys written",
            FactKind::ApiCalls => "api calls",
            FactKind::FetchUrls => "fetch URLs",
            FactKind::Secrets => "secrets read",
            FactKind::Requires => "modules required",
        }
    }
}

/// The facts of one source, each a sorted set of readable strings.
pub type Facts = BTreeMap<FactKind, BTreeSet<String>>;

/// One change inside an item. Positions are 1-based, as a reader counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// The flow's description.
    Description {
        old: Option<String>,
        new: Option<String>,
    },
    StageAdded {
        stage: String,
        position: usize,
    },
    StageRemoved {
        stage: String,
    },
    /// A stage kept but now runs at another place relative to the other stages: the stage it
    /// came after in each version (`None`: it was first).
    StageReordered {
        stage: String,
        old_after: Option<String>,
        new_after: Option<String>,
    },
    BlockAdded {
        block: String,
        #[serde(rename = "type")]
        kind: String,
        stage: String,
        position: usize,
    },
    BlockRemoved {
        block: String,
        #[serde(rename = "type")]
        kind: String,
        stage: String,
    },
    /// A block now in another stage.
    BlockMoved {
        block: String,
        old_stage: String,
        new_stage: String,
        position: usize,
    },
    /// A block in the same stage, now at another place relative to the stage's other blocks:
    /// the block it came after in each version (`None`: it was first in the stage).
    BlockReordered {
        block: String,
        stage: String,
        old_after: Option<String>,
        new_after: Option<String>,
    },
    BlockType {
        block: String,
        old: String,
        new: String,
    },
    /// The `when` condition, as each version wrote it (`None`: unguarded).
    Guard {
        block: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// `on_error`, with the default (`deny`) filled in.
    OnError {
        block: String,
        old: String,
        new: String,
    },
    /// One config key (`None`: not set).
    Config {
        block: String,
        key: String,
        old: Option<Value>,
        new: Option<Value>,
    },
    /// Where a branch jumps.
    BranchTarget {
        block: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// An action's code, or a module version's, by file and content hash.
    Source {
        file: String,
        old_sha256: String,
        new_sha256: String,
    },
    /// What the analysis of the code knows: entries that appeared and disappeared.
    Facts {
        /// For modules, the version whose code it is (`v2`, `draft`).
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        facts: FactKind,
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// An action's pin of a module version.
    ModulePin {
        module: String,
        old: Option<u32>,
        new: Option<u32>,
    },
    /// A module's published version or draft appeared, disappeared or was edited.
    ModuleVersion {
        version: String,
        status: Status,
    },
    /// A setting or metadata value, by dotted key (`limits.cpu_ms`, `session.issuer`).
    Value {
        key: String,
        old: Option<Value>,
        new: Option<Value>,
    },
    /// A list whose order carries no meaning (`fetch_allowlist`, `secrets`): entries added
    /// and removed.
    Entries {
        key: String,
        added: Vec<Value>,
        removed: Vec<Value>,
    },
}

impl WorkspaceDiff {
    /// Whether anything changed (terraform's detailed exit code 2).
    pub fn has_changes(&self) -> bool {
        !self.items.is_empty()
    }

    /// How many items of each kind changed.
    pub fn counts(&self) -> BTreeMap<ItemKind, usize> {
        let mut counts = BTreeMap::new();
        for item in &self.items {
            *counts.entry(item.kind).or_insert(0) += 1;
        }
        counts
    }
}

/// Compares two versions. `from` and `to` name them in the result.
pub fn diff(old: &Version, new: &Version, from: &str, to: &str) -> WorkspaceDiff {
    let mut items = Vec::new();
    let settings = values::changes("", &old.settings, &new.settings);
    if !settings.is_empty() {
        items.push(ItemDiff {
            kind: ItemKind::Settings,
            name: crate::workspace::SETTINGS_FILE.into(),
            file: Some(crate::workspace::SETTINGS_FILE.into()),
            status: Status::Modified,
            changes: settings,
        });
    }
    items.extend(compare_maps(
        ItemKind::Flow,
        &old.flows,
        &new.flows,
        |f| f.file.clone(),
        |a, b| flows::changes(&a.flow, &b.flow),
    ));
    items.extend(compare_maps(
        ItemKind::Action,
        &old.actions,
        &new.actions,
        |a| a.file.clone(),
        version::action_changes,
    ));
    items.extend(compare_maps(
        ItemKind::Module,
        &old.modules,
        &new.modules,
        |m| m.file.clone(),
        version::module_changes,
    ));
    WorkspaceDiff {
        from: from.to_string(),
        to: to.to_string(),
        items,
    }
}

/// Items present on either side: added, removed, or compared with `changes`.
fn compare_maps<T>(
    kind: ItemKind,
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    file: impl Fn(&T) -> String,
    changes: impl Fn(&T, &T) -> Vec<Change>,
) -> Vec<ItemDiff> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut items = Vec::new();
    for name in names {
        let (status, file, changes) = match (old.get(name), new.get(name)) {
            (Some(a), Some(b)) => (Status::Modified, file(b), changes(a, b)),
            (None, Some(b)) => (Status::Added, file(b), Vec::new()),
            (Some(a), None) => (Status::Removed, file(a), Vec::new()),
            (None, None) => continue,
        };
        if status == Status::Modified && changes.is_empty() {
            continue;
        }
        items.push(ItemDiff {
            kind,
            name: name.clone(),
            file: Some(file),
            status,
            changes,
        });
    }
    items
}
