//! One version of a workspace reduced to what the diff compares: flows without spans, actions
//! and modules as metadata plus the facts `jsfacts` finds in their code, settings as values.

use super::{Change, FactKind, Facts, Status, values};
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::syntax::ast::Flow;
use crate::workspace::Workspace;
use crate::workspace::env::Environment;
use serde_json::Value;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;

/// A workspace as the diff sees it.
#[derive(Clone, Debug, Default)]
pub struct Version {
    /// The effective settings (environment applied), as JSON.
    pub settings: Value,
    /// Flows by flow name.
    pub flows: BTreeMap<String, FlowItem>,
    /// Actions by slug.
    pub actions: BTreeMap<String, ActionItem>,
    /// Modules by name.
    pub modules: BTreeMap<String, ModuleItem>,
}

#[derive(Clone, Debug)]
pub struct FlowItem {
    /// Workspace-relative path of the flow file.
    pub file: String,
    /// The AST with every span zeroed.
    pub flow: Flow,
}

#[derive(Clone, Debug)]
pub struct ActionItem {
    pub file: String,
    /// The metadata as JSON (defaults filled in), without `modules` (see `pins`).
    pub meta: Value,
    pub pins: BTreeMap<String, u32>,
    pub code: SourceItem,
}

#[derive(Clone, Debug)]
pub struct ModuleItem {
    /// The module's directory, workspace-relative.
    pub file: String,
    pub meta: Value,
    /// Published versions and the draft (`draft`), by name (`v1`, `v2`, `draft`).
    pub versions: BTreeMap<String, SourceItem>,
}

/// A JavaScript source: its file, content hash, and facts.
#[derive(Clone, Debug)]
pub struct SourceItem {
    pub file: String,
    pub sha256: String,
    pub facts: Facts,
}

impl Version {
    /// Reduces a loaded workspace and its parsed flows. Fails with the diagnostics that make the
    /// version unknowable: a file that did not load or parse (its content would be guessed),
    /// or two flow files with one flow name.
    pub fn of(
        ws: &Workspace,
        env: &Environment,
        flows: &[(FileId, Option<Flow>)],
        load_diagnostics: &[Diagnostic],
    ) -> Result<Version, Vec<Diagnostic>> {
        let mut errors: Vec<Diagnostic> = load_diagnostics
            .iter()
            .filter(|d| d.is_error() && unknowable(d.code))
            .cloned()
            .collect();
        let mut version = Version {
            settings: settings(ws, env),
            ..Version::default()
        };
        for (file, flow) in flows {
            let Some(flow) = flow else { continue };
            let name = flow.name.value.clone();
            let item = FlowItem {
                file: relative(ws, *file),
                flow: flow.without_spans(),
            };
            if let Some(first) = version.flows.get(&name) {
                errors.push(
                    Diagnostic::new(
                        Code::InvalidWorkspace,
                        *file,
                        flow.name.span,
                        format!("flow `{name}` is also defined in {}", first.file),
                    )
                    .help("each flow name is one flow; rename one of them"),
                );
                continue;
            }
            version.flows.insert(name, item);
        }
        for (slug, action) in &ws.actions {
            let mut meta = serde_json::to_value(&action.meta).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut meta {
                map.remove("modules");
            }
            version.actions.insert(
                slug.clone(),
                ActionItem {
                    file: relative(ws, action.code_file),
                    meta,
                    pins: action.meta.modules.clone(),
                    code: source_item(ws, action.code_file),
                },
            );
        }
        for (name, module) in &ws.modules {
            let mut versions: BTreeMap<String, SourceItem> = module
                .versions
                .iter()
                .map(|(n, file)| (format!("v{n}"), source_item(ws, *file)))
                .collect();
            if let Some(draft) = module.draft {
                versions.insert("draft".into(), source_item(ws, draft));
            }
            version.modules.insert(
                name.clone(),
                ModuleItem {
                    file: format!("modules/{name}/"),
                    meta: serde_json::to_value(&module.meta).unwrap_or(Value::Null),
                    versions,
                },
            );
        }
        if errors.is_empty() {
            Ok(version)
        } else {
            Err(errors)
        }
    }
}

/// The effective settings: `authflow.yaml` with the environment applied, plus what only an
/// environment holds (client ids, secret names, the default audience) and the effective vars.
fn settings(ws: &Workspace, env: &Environment) -> Value {
    let mut settings = serde_json::to_value(&ws.settings).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut settings {
        map.insert(
            "vars".into(),
            serde_json::to_value(&env.vars).unwrap_or(Value::Null),
        );
        map.insert(
            "clients".into(),
            serde_json::to_value(&env.clients).unwrap_or(Value::Null),
        );
        map.insert(
            "secret_names".into(),
            serde_json::to_value(&env.secret_names).unwrap_or(Value::Null),
        );
        if let (Some(audience), Some(Value::Object(session))) =
            (&env.audience, map.get_mut("session"))
        {
            session.insert("audience".into(), Value::String(audience.clone()));
        }
    }
    settings
}

/// Whether a loading diagnostic leaves a file's content unknown (so any diff would guess).
fn unknowable(code: Code) -> bool {
    matches!(
        code,
        Code::YamlSyntax | Code::DslSyntax | Code::UnknownKey | Code::InvalidValue
    )
}

/// The path of a loaded file relative to the workspace root, `/`-separated.
pub fn relative(ws: &Workspace, file: FileId) -> String {
    let path = ws.sources.path(file);
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let root = ws
        .root
        .as_deref()
        .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.to_path_buf()));
    let shown = match root.as_deref().and_then(|r| absolute.strip_prefix(r).ok()) {
        Some(rel) => rel.to_path_buf(),
        None => path.to_path_buf(),
    };
    slash_path(&shown)
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn source_item(ws: &Workspace, file: FileId) -> SourceItem {
    let text = ws.sources.text(file);
    let sha256: String = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    SourceItem {
        file: relative(ws, file),
        sha256,
        facts: facts(text),
    }
}

/// What `jsfacts` finds in a source, as readable sets.
pub fn facts(source: &str) -> Facts {
    let found = crate::jsfacts::analyze(source);
    let computed = "(computed)".to_string();
    let mut facts = Facts::new();
    let mut add = |kind: FactKind, value: String| {
        facts.entry(kind).or_default().insert(value);
    };
    // `event.secrets.X` is listed once, as a secret read.
    for read in found.event_reads.iter().filter(|r| r.path[0] != "secrets") {
        add(
            FactKind::EventReads,
            format!("event.{}", read.path.join(".")),
        );
    }
    for write in &found.state_writes {
        add(
            FactKind::StateWrites,
            write.key.clone().unwrap_or_else(|| computed.clone()),
        );
    }
    for call in &found.api_calls {
        add(FactKind::ApiCalls, format!("api.{}", call.method));
    }
    for fetch in &found.fetch_urls {
        let url = match (&fetch.url, &fetch.prefix) {
            (Some(url), _) => url.clone(),
            (None, Some(prefix)) => format!("{prefix}…"),
            (None, None) => computed.clone(),
        };
        add(FactKind::FetchUrls, url);
    }
    for secret in &found.secret_reads {
        add(FactKind::Secrets, secret.name.clone());
    }
    for require in &found.requires {
        add(
            FactKind::Requires,
            require
                .specifier
                .clone()
                .unwrap_or_else(|| computed.clone()),
        );
    }
    facts
}

/// Changes between two versions of one action.
pub fn action_changes(old: &ActionItem, new: &ActionItem) -> Vec<Change> {
    let mut changes = Vec::new();
    source_changes(&old.code, &new.code, None, &mut changes);
    changes.extend(values::changes("", &old.meta, &new.meta));
    for module in old
        .pins
        .keys()
        .chain(new.pins.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (a, b) = (old.pins.get(module).copied(), new.pins.get(module).copied());
        if a != b {
            changes.push(Change::ModulePin {
                module: module.clone(),
                old: a,
                new: b,
            });
        }
    }
    changes
}

/// Changes between two versions of one module.
pub fn module_changes(old: &ModuleItem, new: &ModuleItem) -> Vec<Change> {
    let mut changes = values::changes("", &old.meta, &new.meta);
    let names: std::collections::BTreeSet<&String> =
        old.versions.keys().chain(new.versions.keys()).collect();
    for name in names {
        match (old.versions.get(name), new.versions.get(name)) {
            (Some(a), Some(b)) => {
                if a.sha256 != b.sha256 {
                    changes.push(Change::ModuleVersion {
                        version: name.clone(),
                        status: Status::Modified,
                    });
                    source_changes(a, b, Some(name), &mut changes);
                }
            }
            (None, Some(_)) => changes.push(Change::ModuleVersion {
                version: name.clone(),
                status: Status::Added,
            }),
            (Some(_), None) => changes.push(Change::ModuleVersion {
                version: name.clone(),
                status: Status::Removed,
            }),
            (None, None) => {}
        }
    }
    changes
}

/// A source's change of content and of each kind of fact.
fn source_changes(
    old: &SourceItem,
    new: &SourceItem,
    version: Option<&String>,
    out: &mut Vec<Change>,
) {
    if old.sha256 == new.sha256 {
        return;
    }
    if version.is_none() {
        out.push(Change::Source {
            file: new.file.clone(),
            old_sha256: old.sha256.clone(),
            new_sha256: new.sha256.clone(),
        });
    }
    let empty = Default::default();
    for kind in FactKind::ALL {
        let a = old.facts.get(&kind).unwrap_or(&empty);
        let b = new.facts.get(&kind).unwrap_or(&empty);
        let added: Vec<String> = b.difference(a).cloned().collect();
        let removed: Vec<String> = a.difference(b).cloned().collect();
        if !added.is_empty() || !removed.is_empty() {
            out.push(Change::Facts {
                version: version.cloned(),
                facts: kind,
                added,
                removed,
            });
        }
    }
}
