//! Completion, driven by one table: each row names a kind of file, a place in it (a logical
//! path from `cursor`, where `*` is any key and `-` a list item) and what to offer there.
//!
//! Adding a completion is adding a row: event types, for instance, are the rows
//! `(ActionMeta, ["events", "-"], Entry, event_types)` and `(Stream, ["events", "-"], Entry,
//! event_types)`. Places no row claims fall back to the JSON Schema of the file
//! (`authflow schema`), so every key the formats define is offered everywhere.
//!
//! Field paths in conditions and templates are offered from the event catalogue and the
//! upstream actions' `api.state.set` writes, split by the availability dataflow at the
//! block: fields that hold there first, the others after them, marked with what they need.

use super::At;
use super::analysis::{Analysis, FileKind};
use super::cursor::{Cursor, ITEM, Role};
use super::place::{self, Place};
use crate::blocks::{ConfigKind, ON_ERROR_CHOICES};
use crate::catalog::event::{self, EVENT_FIELDS, FieldType};
use crate::syntax::Syntax;
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionItemLabelDetails, CompletionTextEdit,
    Documentation, MarkupContent, MarkupKind, TextEdit,
};
use serde_json::Value;

/// Which files a row applies to.
#[derive(Clone, Copy)]
enum Files {
    Flows,
    Only(FileKind),
}

impl Files {
    fn holds(self, kind: FileKind) -> bool {
        match self {
            Files::Flows => matches!(kind, FileKind::Flow(_)),
            Files::Only(k) => k == kind,
        }
    }
}

/// One place and what is offered there.
struct Row {
    files: Files,
    path: &'static [&'static str],
    role: Role,
    offer: fn(&Ask) -> Vec<Offer>,
}

static ROWS: &[Row] = &[
    Row {
        files: Files::Flows,
        path: &["stages", ITEM, "blocks", ITEM, "type"],
        role: Role::Value,
        offer: block_types,
    },
    Row {
        files: Files::Flows,
        path: &["stages", ITEM, "blocks", ITEM, "config"],
        role: Role::Entry,
        offer: config_keys,
    },
    Row {
        files: Files::Flows,
        path: &["stages", ITEM, "blocks", ITEM, "config", "*"],
        role: Role::Value,
        offer: config_value,
    },
    Row {
        files: Files::Flows,
        path: &["stages", ITEM, "blocks", ITEM, "on_error"],
        role: Role::Value,
        offer: on_error,
    },
    Row {
        files: Files::Flows,
        path: &["stages", ITEM, "blocks", ITEM, "when"],
        role: Role::Value,
        offer: fields,
    },
    Row {
        files: Files::Only(FileKind::ActionMeta),
        path: &["modules"],
        role: Role::Entry,
        offer: module_names,
    },
    Row {
        files: Files::Only(FileKind::ActionMeta),
        path: &["modules", "*"],
        role: Role::Value,
        offer: module_versions,
    },
    Row {
        files: Files::Only(FileKind::ActionMeta),
        path: &["secrets", ITEM],
        role: Role::Entry,
        offer: declared_secrets,
    },
    Row {
        files: Files::Only(FileKind::ActionMeta),
        path: &["events", ITEM],
        role: Role::Entry,
        offer: event_types,
    },
    Row {
        files: Files::Only(FileKind::Stream),
        path: &["events", ITEM],
        role: Role::Entry,
        offer: event_types,
    },
    Row {
        files: Files::Only(FileKind::Stream),
        path: &["actions", ITEM],
        role: Role::Entry,
        offer: stream_actions,
    },
];

/// A completion request, resolved.
struct Ask<'a, 'b> {
    at: &'b At<'a>,
    cursor: &'b Cursor,
    place: Option<Place<'a>>,
    /// Where the word being completed starts.
    word_start: usize,
}

impl<'a> Ask<'a, '_> {
    /// Offers made from the workspace's analysis: none for a file outside a workspace.
    fn workspace_offers<I: IntoIterator<Item = Offer>>(
        &self,
        offers: impl FnOnce(&'a Analysis) -> I,
    ) -> Vec<Offer> {
        self.at.analysis.map(offers).into_iter().flatten().collect()
    }
}

/// One candidate before it becomes a `CompletionItem`.
struct Offer {
    label: String,
    insert: Option<String>,
    kind: CompletionItemKind,
    detail: Option<String>,
    doc: Option<String>,
    /// Why it does not fit here, when it does not: listed after the others, with this note.
    unavailable: Option<String>,
    /// Replaces from here instead of the word's start.
    replace_from: Option<usize>,
}

impl Offer {
    fn new(label: impl Into<String>, kind: CompletionItemKind) -> Offer {
        Offer {
            label: label.into(),
            insert: None,
            kind,
            detail: None,
            doc: None,
            unavailable: None,
            replace_from: None,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Offer {
        self.detail = Some(detail.into());
        self
    }

    fn doc(mut self, doc: impl Into<String>) -> Offer {
        self.doc = Some(doc.into());
        self
    }

    fn unavailable(mut self, why: Option<String>) -> Offer {
        self.unavailable = why;
        self
    }

    fn insert(mut self, text: impl Into<String>) -> Offer {
        self.insert = Some(text.into());
        self
    }
}

pub fn complete(at: &At) -> Value {
    let Some(cursor) = place::cursor(at) else {
        return Value::Null;
    };
    let place = matches!(at.kind, FileKind::Flow(_))
        .then(|| place::place(at, &cursor))
        .flatten();
    let ask = Ask {
        at,
        cursor: &cursor,
        place,
        word_start: place::word_before(at.text, at.offset),
    };
    let row = ROWS
        .iter()
        .find(|r| r.files.holds(at.kind) && r.role == cursor.role && cursor.matches(r.path));
    let offers = match row {
        Some(row) => (row.offer)(&ask),
        None => from_schema(&ask),
    };
    let items: Vec<CompletionItem> = offers
        .into_iter()
        .enumerate()
        .map(|(n, o)| item(&ask, n, o))
        .collect();
    serde_json::to_value(lsp_types::CompletionResponse::List(
        lsp_types::CompletionList {
            is_incomplete: false,
            items,
        },
    ))
    .unwrap_or(Value::Null)
}

fn item(ask: &Ask, n: usize, offer: Offer) -> CompletionItem {
    let start = offer.replace_from.unwrap_or(ask.word_start);
    let range = ask
        .at
        .index
        .range(crate::span::Span::new(start, ask.at.offset));
    let new_text = offer.insert.clone().unwrap_or_else(|| offer.label.clone());
    let rank = if offer.unavailable.is_some() { 1 } else { 0 };
    let documentation = offer.doc.map(|d| {
        Documentation::MarkupContent(MarkupContent {
            kind: MarkupKind::Markdown,
            value: match &offer.unavailable {
                Some(why) => format!("{d}\n\n**Not available here:** {why}"),
                None => d,
            },
        })
    });
    CompletionItem {
        label: offer.label.clone(),
        label_details: offer
            .unavailable
            .as_ref()
            .map(|why| CompletionItemLabelDetails {
                detail: None,
                description: Some(format!("not available here: {why}")),
            }),
        kind: Some(offer.kind),
        detail: offer.detail,
        documentation,
        sort_text: Some(format!("{rank}{n:04}")),
        filter_text: Some(offer.label),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
        ..CompletionItem::default()
    }
}

// ---------------------------------------------------------------- flows

fn is_dsl(ask: &Ask) -> bool {
    ask.at.kind == FileKind::Flow(Syntax::Dsl)
}

fn block_types(ask: &Ask) -> Vec<Offer> {
    let available = ask.place.as_ref().and_then(|p| p.available());
    place::block_types()
        .map(|ty| {
            let missing: Vec<&str> = match available {
                Some(a) => ty
                    .requires
                    .iter()
                    .filter(|f| !a.has(**f))
                    .map(|f| f.describe())
                    .collect(),
                None => Vec::new(),
            };
            Offer::new(ty.name, CompletionItemKind::CLASS)
                .detail(ty.title)
                .doc(ty.doc)
                .unavailable(
                    (!missing.is_empty()).then(|| {
                        format!("needs {} before it on every path", missing.join(" and "))
                    }),
                )
        })
        .collect()
}

fn config_keys(ask: &Ask) -> Vec<Offer> {
    let Some(ty) = place::block_type(ask.cursor) else {
        return Vec::new();
    };
    let written: Vec<&str> = ask
        .place
        .as_ref()
        .and_then(|p| p.ast_block())
        .map(|b| b.config.iter().map(|e| e.key.value.as_str()).collect())
        .unwrap_or_default();
    ty.config
        .iter()
        .filter(|k| !written.contains(&k.name))
        .map(|k| {
            let insert = if is_dsl(ask) {
                format!("{} = ", k.name)
            } else {
                format!("{}: ", k.name)
            };
            Offer::new(k.name, CompletionItemKind::PROPERTY)
                .detail(format!(
                    "{}{}",
                    kind_name(k.kind),
                    if k.required { ", required" } else { "" }
                ))
                .doc(k.doc)
                .insert(insert)
        })
        .collect()
}

fn kind_name(kind: ConfigKind) -> String {
    match kind {
        ConfigKind::Template => "template string".into(),
        ConfigKind::String => "string".into(),
        ConfigKind::Number => "number".into(),
        ConfigKind::BlockRef => "id of a later block".into(),
        ConfigKind::ActionRef => "action slug".into(),
        ConfigKind::OneOf(words) => words.join(" | "),
    }
}

/// Quotes a value for the DSL when the cursor is not already inside a string.
fn value_text(ask: &Ask, value: &str) -> String {
    if is_dsl(ask) && !ask.at.text[..ask.word_start].ends_with('"') {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

fn config_value(ask: &Ask) -> Vec<Offer> {
    let (Some(ty), Some(key)) = (place::block_type(ask.cursor), ask.cursor.path.last()) else {
        return Vec::new();
    };
    let Some(key) = ty.config.iter().find(|k| k.name == key) else {
        return Vec::new();
    };
    match key.kind {
        ConfigKind::ActionRef => action_slugs(ask),
        ConfigKind::BlockRef => branch_targets(ask),
        ConfigKind::OneOf(words) => words
            .iter()
            .map(|w| Offer::new(*w, CompletionItemKind::ENUM_MEMBER).insert(value_text(ask, w)))
            .collect(),
        ConfigKind::Template => {
            if place::in_template(ask.at.text, ask.cursor.value_start, ask.at.offset) {
                fields(ask)
            } else {
                Vec::new()
            }
        }
        ConfigKind::String | ConfigKind::Number => Vec::new(),
    }
}

fn action_slugs(ask: &Ask) -> Vec<Offer> {
    ask.workspace_offers(|analysis| {
        analysis.ws().actions.values().map(move |a| {
            let why = if a.meta.trigger != crate::catalog::api::Trigger::Login {
                Some("an event-stream action; flows run only login actions".to_string())
            } else if !a.meta.enabled {
                Some("disabled: the block would be skipped at run time".to_string())
            } else {
                None
            };
            let writes = analysis
                .actions
                .get(&a.slug)
                .map(|f| f.state_keys())
                .unwrap_or_default();
            let mut doc = a.meta.description.clone();
            if !writes.is_empty() {
                let paths: Vec<String> = writes
                    .iter()
                    .map(|k| format!("`step.{}.{k}`", a.slug))
                    .collect();
                doc.push_str(&format!("\n\nWrites {}.", paths.join(", ")));
            }
            Offer::new(&a.slug, CompletionItemKind::MODULE)
                .detail(a.meta.name.clone())
                .doc(doc)
                .unavailable(why)
                .insert(value_text(ask, &a.slug))
        })
    })
}

fn branch_targets(ask: &Ask) -> Vec<Offer> {
    let Some(place) = &ask.place else {
        return Vec::new();
    };
    let here = place.block;
    place
        .graph
        .blocks
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != here)
        .map(|(i, b)| {
            let backward = here.is_some_and(|h| i < h);
            Offer::new(&b.block.id.value, CompletionItemKind::REFERENCE)
                .detail(format!(
                    "{} in stage {}",
                    b.block.kind.value, b.stage.name.value
                ))
                .unavailable(
                    backward
                        .then(|| "not later in the flow: a branch only jumps forward".to_string()),
                )
                .insert(value_text(ask, &b.block.id.value))
        })
        .collect()
}

fn on_error(_: &Ask) -> Vec<Offer> {
    ON_ERROR_CHOICES
        .iter()
        .map(|w| Offer::new(*w, CompletionItemKind::ENUM_MEMBER))
        .collect()
}

/// `event.*` and `step.*` paths at the cursor, in a condition or a template.
fn fields(ask: &Ask) -> Vec<Offer> {
    let (start, typed) = place::path_before(ask.at.text, ask.at.offset);
    let segments: Vec<&str> = typed.split('.').collect();
    let parents: Vec<&str> = segments[..segments.len() - 1]
        .iter()
        .map(|s| s.trim_end_matches('?'))
        .collect();
    let partial_start = start + typed.rfind('.').map_or(0, |i| i + 1);
    let mut offers = match parents.split_first() {
        None => vec![
            Offer::new("event", CompletionItemKind::VARIABLE).doc("The event object of the login."),
            Offer::new("step", CompletionItemKind::VARIABLE)
                .doc("Outputs of upstream custom actions: `step.<slug>.<key>`."),
        ],
        Some((&"event", below)) => event_members(ask, below),
        Some((&"step", below)) => step_members(ask, below),
        Some(_) => Vec::new(),
    };
    for o in &mut offers {
        o.replace_from = Some(partial_start);
    }
    offers
}

fn event_members(ask: &Ask, below: &[&str]) -> Vec<Offer> {
    let available = ask.place.as_ref().and_then(|p| p.available());
    let depth = below.len();
    let prefix = below.join(".");
    let mut offers: Vec<Offer> = EVENT_FIELDS
        .iter()
        .filter(|f| {
            let parts: Vec<&str> = f.path.split('.').collect();
            parts.len() == depth + 1 && parts[..depth].join(".") == prefix
        })
        .map(|f| {
            let name = f.path.rsplit('.').next().unwrap_or(f.path);
            let full = format!("event.{}", f.path);
            let segments: Vec<&str> = full.split('.').collect();
            let why = available.and_then(|a| {
                let fact = crate::check::fact_for(&segments)?;
                (!a.has(fact))
                    .then(|| format!("needs {} before this block on every path", fact.describe()))
            });
            let kind = match f.ty {
                FieldType::Group | FieldType::Record => CompletionItemKind::MODULE,
                _ => CompletionItemKind::FIELD,
            };
            Offer::new(name, kind)
                .detail(format!(
                    "{} · {}",
                    type_name(f.ty),
                    availability_name(f.available)
                ))
                .doc(format!("`{full}`: {}", f.doc))
                .unavailable(why)
        })
        .collect();
    offers.sort_by_key(|o| o.unavailable.is_some());
    offers
}

fn step_members(ask: &Ask, below: &[&str]) -> Vec<Offer> {
    let Some(place) = &ask.place else {
        return Vec::new();
    };
    let available = place.available();
    match below {
        [] => place
            .flow_actions()
            .into_iter()
            .map(|slug| Offer::new(slug, CompletionItemKind::MODULE).detail("custom action"))
            .collect(),
        [slug] => {
            let Some(facts) = place.analysis.actions.get(*slug) else {
                return Vec::new();
            };
            let mut offers: Vec<Offer> = facts
                .state_keys()
                .into_iter()
                .map(|key| {
                    let written = available
                        .is_some_and(|a| a.steps.contains(&(slug.to_string(), key.to_string())));
                    Offer::new(key, CompletionItemKind::FIELD)
                        .detail(format!("written by {slug}"))
                        .doc(format!("`step.{slug}.{key}`: set by `api.state.set('{key}', …)` in actions/{slug}.js"))
                        .unavailable((!written && available.is_some()).then(|| {
                            format!("`{slug}` does not write it before this block on every path")
                        }))
                })
                .collect();
            offers.sort_by_key(|o| o.unavailable.is_some());
            offers
        }
        _ => Vec::new(),
    }
}

pub fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "string",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
        FieldType::List => "list",
        FieldType::Record => "record",
        FieldType::Group => "object",
    }
}

pub fn availability_name(available: event::Availability) -> &'static str {
    match available {
        event::Availability::FlowStart => "from flow start",
        event::Availability::AfterIdentityLookup => "after Identity Lookup",
        event::Availability::AfterRiskEvaluate => "after Risk Evaluate (0 before)",
        event::Availability::AsFactorsPass => "grows as factors pass",
    }
}

// ---------------------------------------------------------------- workspace YAML

fn module_names(ask: &Ask) -> Vec<Offer> {
    ask.workspace_offers(|analysis| {
        analysis.ws().modules.values().map(|m| {
            let latest = m.versions.keys().last().copied().unwrap_or(1);
            Offer::new(&m.name, CompletionItemKind::MODULE)
                .detail(format!("published: {}", versions(m)))
                .doc(m.meta.description.clone())
                .insert(format!("{}: {latest}", m.name))
        })
    })
}

fn versions(module: &crate::workspace::Module) -> String {
    let v: Vec<String> = module.versions.keys().map(|v| format!("v{v}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn module_versions(ask: &Ask) -> Vec<Offer> {
    let (Some(analysis), Some(name)) = (ask.at.analysis, ask.cursor.path.last()) else {
        return Vec::new();
    };
    let Some(module) = analysis.ws().modules.get(name) else {
        return Vec::new();
    };
    module
        .versions
        .keys()
        .rev()
        .map(|v| {
            Offer::new(v.to_string(), CompletionItemKind::VALUE)
                .detail(format!("modules/{name}/v{v}.js"))
        })
        .collect()
}

fn declared_secrets(ask: &Ask) -> Vec<Offer> {
    ask.workspace_offers(|analysis| {
        let secrets = analysis.ws().settings.secrets.iter();
        secrets.map(|s| {
            Offer::new(s, CompletionItemKind::CONSTANT).detail("declared in authflow.yaml")
        })
    })
}

/// The event types of the stream catalogue, for a stream's or an event-stream action's
/// `events:`, with what each carries.
fn event_types(_ask: &Ask) -> Vec<Offer> {
    crate::catalog::stream_events::EVENT_TYPES
        .iter()
        .map(|t| {
            let detail = if t.carries_user() {
                "event type; carries event.user"
            } else {
                "event type"
            };
            Offer::new(t.name, CompletionItemKind::EVENT)
                .detail(detail)
                .doc(t.doc)
        })
        .collect()
}

/// The actions a stream may bind: event-stream actions first; login actions are listed
/// after them, marked (a stream runs only event-stream actions).
fn stream_actions(ask: &Ask) -> Vec<Offer> {
    ask.workspace_offers(|analysis| {
        analysis.ws().actions.values().map(|a| {
            let offer = Offer::new(&a.slug, CompletionItemKind::MODULE)
                .detail(a.meta.name.clone())
                .doc(a.meta.description.clone());
            if a.meta.trigger == crate::catalog::api::Trigger::Login {
                offer.unavailable(Some(
                    "a login action; streams run only event-stream actions".to_string(),
                ))
            } else if !a.meta.events.is_empty() {
                offer.detail(format!("handles {}", a.meta.events.join(", ")))
            } else {
                offer
            }
        })
    })
}

/// Keys and values the file's JSON Schema defines at the cursor's path.
fn from_schema(ask: &Ask) -> Vec<Offer> {
    use crate::cli::commands::schema::{SchemaKind, schema};
    let schema = match ask.at.kind {
        FileKind::Flow(Syntax::Yaml) => schema(SchemaKind::Flow),
        FileKind::Settings => schema(SchemaKind::Settings),
        FileKind::ActionMeta => schema(SchemaKind::Action),
        FileKind::ModuleMeta => schema(SchemaKind::Module),
        FileKind::Stream => schema(SchemaKind::Stream),
        FileKind::Test => schema(SchemaKind::Test),
        _ => return Vec::new(),
    };
    let mut path = ask.cursor.path.clone();
    let value_of = match ask.cursor.role {
        Role::Value => path.pop(),
        Role::Entry => None,
    };
    let Some(mut node) = schema_at(&schema, &schema, &path) else {
        return Vec::new();
    };
    if let Some(key) = value_of {
        let Some(child) = schema_at(&schema, node, &[key]) else {
            return Vec::new();
        };
        node = child;
        return schema_values(&schema, node);
    }
    if path.last().map(String::as_str) == Some(ITEM)
        || node.get("type") == Some(&Value::from("array"))
    {
        return Vec::new();
    }
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, p)| {
            let p = resolve(&schema, p);
            let mut offer =
                Offer::new(name, CompletionItemKind::PROPERTY).insert(format!("{name}: "));
            if let Some(d) = p.get("description").and_then(Value::as_str) {
                offer = offer.doc(d);
            }
            offer
        })
        .collect()
}

fn resolve<'s>(root: &'s Value, node: &'s Value) -> &'s Value {
    let mut node = node;
    for _ in 0..8 {
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/"))
        {
            Some(pointer) => match root.pointer(&format!("/{pointer}")) {
                Some(target) => node = target,
                None => break,
            },
            None => break,
        }
    }
    node
}

fn schema_at<'s>(root: &'s Value, node: &'s Value, path: &[String]) -> Option<&'s Value> {
    let mut node = resolve(root, node);
    for segment in path {
        node = if segment == ITEM {
            resolve(root, node.get("items")?)
        } else {
            let properties = node.get("properties").and_then(|p| p.get(segment));
            resolve(
                root,
                properties
                    .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?,
            )
        };
    }
    Some(node)
}

fn schema_values(root: &Value, node: &Value) -> Vec<Offer> {
    let node = resolve(root, node);
    let mut words: Vec<(String, Option<String>)> = Vec::new();
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        words.extend(
            values
                .iter()
                .filter_map(|v| v.as_str().map(|s| (s.to_string(), None))),
        );
    }
    for alternative in node
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let alternative = resolve(root, alternative);
        if let Some(c) = alternative.get("const").and_then(Value::as_str) {
            let doc = alternative
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string);
            words.push((c.to_string(), doc));
        }
        if let Some(values) = alternative.get("enum").and_then(Value::as_array) {
            words.extend(
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(|s| (s.to_string(), None))),
            );
        }
    }
    if node.get("type") == Some(&Value::from("boolean")) {
        words.push(("true".into(), None));
        words.push(("false".into(), None));
    }
    words
        .into_iter()
        .map(|(w, doc)| {
            let offer = Offer::new(w, CompletionItemKind::ENUM_MEMBER);
            match doc {
                Some(d) => offer.doc(d),
                None => offer,
            }
        })
        .collect()
}
