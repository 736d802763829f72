//! Hover: an event field's type, when it becomes available (and whether it is at this
//! block) and the reference's notes; a step output's writer; a block type's docs; a config
//! key's docs; an action's metadata; and the explanation of every diagnostic code at the
//! position. Everything shown is read from the catalogues and the rules table.

use super::At;
use super::analysis::FileKind;
use super::complete::{availability_name, type_name};
use super::cursor::{ITEM, Role};
use super::place::{self, Place};
use crate::catalog::event::{self, FieldLookup};
use crate::span::Span;
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};
use serde_json::Value;

pub fn hover(at: &At) -> Value {
    let mut sections = Vec::new();
    let mut range = None;
    let cursor = place::cursor(at);
    let place = match (&cursor, at.kind) {
        (Some(c), FileKind::Flow(_)) => place::place(at, c),
        _ => None,
    };
    if let Some((span, text)) = event_type(at) {
        sections.push(text);
        range = Some(span);
    } else if let Some((start, segments, upto)) = place::path_around(at.text, at.offset) {
        let shown = &segments[..upto];
        let end = start + shown.join(".").len();
        if let Some(text) = field(at, place.as_ref(), shown) {
            sections.push(text);
            range = Some(Span::new(start, end.min(at.text.len())));
        }
    } else if let Some(cursor) = &cursor {
        let (start, word) = place::word_around(at.text, at.offset);
        let block_path =
            cursor.path.len() >= 4 && cursor.path[..4] == ["stages", ITEM, "blocks", ITEM];
        let tail: Vec<&str> = cursor.path.iter().skip(4).map(String::as_str).collect();
        let text = match (block_path, tail.as_slice(), cursor.role) {
            (true, ["type"], Role::Value) => crate::blocks::block_type(word).map(block_doc),
            (true, ["config"], Role::Entry) => place::block_type(cursor)
                .and_then(|ty| ty.config.iter().find(|k| k.name == word))
                .map(|k| {
                    format!(
                        "**`{}`**{}\n\n{}",
                        k.name,
                        if k.required { " (required)" } else { "" },
                        k.doc
                    )
                }),
            (true, ["config", key], Role::Value) => action_doc(at, cursor, key, word),
            _ => None,
        };
        if let Some(text) = text {
            sections.push(text);
            range = Some(Span::new(start, start + word.len()));
        }
    }
    sections.extend(diagnostic_codes(at));
    if sections.is_empty() {
        return Value::Null;
    }
    serde_json::to_value(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: sections.join("\n\n---\n\n"),
        }),
        range: range.map(|r| at.index.range(r)),
    })
    .unwrap_or(Value::Null)
}

/// An `event.*` or `step.*` path.
fn field(at: &At, place: Option<&Place>, segments: &[String]) -> Option<String> {
    let dotted = segments.join(".");
    let block = place.and_then(|p| Some(&p.graph.blocks.get(p.block?)?.block.id.value));
    let available = place.and_then(|p| p.available());
    match segments[0].as_str() {
        "event" => {
            let below = &segments[1..];
            let (f, dynamic) = match event::lookup(below) {
                FieldLookup::Field(f) => (f, false),
                FieldLookup::Dynamic(f) => (f, true),
                FieldLookup::Unknown => {
                    return Some(match event::suggest(below) {
                        Some(s) => {
                            format!("**`{dotted}`**: not an event field; did you mean `event.{s}`?")
                        }
                        None => format!("**`{dotted}`**: not an event field"),
                    });
                }
            };
            let mut text = if dynamic {
                format!(
                    "**`{dotted}`**: a key below `event.{}` (record, any keys)\n\n{}",
                    f.path, f.doc
                )
            } else {
                format!(
                    "**`{dotted}`** · {} · {}\n\n{}",
                    type_name(f.ty),
                    availability_name(f.available),
                    f.doc
                )
            };
            let names: Vec<&str> = segments.iter().map(String::as_str).collect();
            if let (Some(block), Some(available), Some(fact)) =
                (block, available, crate::check::fact_for(&names))
            {
                text.push_str(&if available.has(fact) {
                    format!("\n\nAvailable at block `{block}`: {} runs before it on every path.", fact.describe())
                } else {
                    format!("\n\n**Not available at block `{block}`:** needs {} before it on every path.", fact.describe())
                });
            }
            Some(text)
        }
        "step" => {
            let (slug, key) = (segments.get(1)?, segments.get(2));
            let analysis = place.map(|p| p.analysis).or(at.analysis)?;
            let action = analysis.ws().actions.get(slug.as_str());
            let mut text = format!("**`{dotted}`**");
            match (action, key) {
                (None, _) => text.push_str(&format!(": the workspace has no action `{slug}`")),
                (Some(a), None) => text.push_str(&format!(
                    ": outputs of the custom action `{slug}` ({})",
                    a.meta.name
                )),
                (Some(a), Some(key)) => {
                    let written = analysis
                        .actions
                        .get(slug.as_str())
                        .is_some_and(|f| f.state_keys().contains(&key.as_str()));
                    if !written {
                        text.push_str(&format!(
                            ": `{slug}` never calls `api.state.set('{key}', …)`"
                        ));
                    } else {
                        let path = analysis
                            .ws()
                            .sources
                            .path(a.code_file)
                            .display()
                            .to_string();
                        text.push_str(&format!(
                            ": written by `api.state.set('{key}', …)` in {path}"
                        ));
                    }
                    if let (Some(block), Some(available)) = (block, available) {
                        let here = available.steps.contains(&(slug.clone(), key.clone()));
                        text.push_str(&if here {
                            format!("\n\nAvailable at block `{block}`: written on every path before it.")
                        } else {
                            format!("\n\n**Not available at block `{block}`:** not written on every path before it.")
                        });
                    }
                }
            }
            Some(text)
        }
        _ => None,
    }
}

pub fn block_doc(ty: &crate::blocks::BlockType) -> String {
    let mut text = format!("**{}** (`{}`)\n\n{}", ty.title, ty.name, ty.doc);
    if !ty.config.is_empty() {
        text.push_str("\n\nConfig:");
        for k in ty.config {
            text.push_str(&format!(
                "\n- `{}`{}: {}",
                k.name,
                if k.required { " (required)" } else { "" },
                k.doc
            ));
        }
    }
    if !ty.requires.is_empty() {
        let needs: Vec<&str> = ty.requires.iter().map(|f| f.describe()).collect();
        text.push_str(&format!("\n\nNeeds before it: {}.", needs.join(", ")));
    }
    if !ty.provides.is_empty() {
        let makes: Vec<&str> = ty.provides.iter().map(|f| f.describe()).collect();
        text.push_str(&format!("\n\nCounts as: {}.", makes.join(", ")));
    }
    text
}

/// The action a config value names.
fn action_doc(at: &At, cursor: &super::cursor::Cursor, key: &str, word: &str) -> Option<String> {
    let ty = place::block_type(cursor)?;
    let key = ty.config.iter().find(|k| k.name == key)?;
    if key.kind != crate::blocks::ConfigKind::ActionRef {
        return None;
    }
    let action = at.analysis?.ws().actions.get(word)?;
    let meta = &action.meta;
    Some(format!(
        "**{}** (`actions/{}.js`)\n\n{}\n\n{} · trigger {:?} · runtime {}",
        meta.name,
        action.slug,
        meta.description,
        if meta.enabled {
            "enabled"
        } else {
            "**disabled**: skipped at run time"
        },
        meta.trigger,
        meta.runtime
    ))
}

/// The explanation of each diagnostic code reported at the position.
fn diagnostic_codes(at: &At) -> Vec<String> {
    let (Some(analysis), Some(file)) = (at.analysis, at.file()) else {
        return Vec::new();
    };
    let mut codes = Vec::new();
    for d in &analysis.diagnostics {
        let here = d.file == file
            && (d.span.start as usize) <= at.offset
            && at.offset <= d.span.end as usize;
        if here && !codes.contains(&d.code) {
            codes.push(d.code);
        }
    }
    codes
        .into_iter()
        .map(|code| {
            let info = code.info();
            let mut text = format!(
                "**{}** `{}` ({:?}): {}",
                code.as_str(),
                info.name,
                info.severity,
                info.summary
            );
            if let Some(rule) = crate::check::rules::RULES.iter().find(|r| r.code == code) {
                text.push_str(&format!(
                    "\n\n**What it does.** {}\n\n**Why it matters.** {}",
                    rule.doc.what, rule.doc.why
                ));
            }
            text
        })
        .collect()
}

/// An event type named under the cursor in a stream file or an action's metadata: its doc
/// and the members of its `data`.
fn event_type(at: &At) -> Option<(Span, String)> {
    if !matches!(at.kind, FileKind::Stream | FileKind::ActionMeta) {
        return None;
    }
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_';
    let offset = at.text.floor_char_boundary(at.offset);
    let start = at.text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = at.text[offset..]
        .char_indices()
        .find(|(_, c)| !is_name(*c))
        .map_or(at.text.len(), |(i, _)| offset + i);
    let ty = crate::catalog::stream_events::event_type(&at.text[start..end])?;
    let members: Vec<String> = ty
        .data
        .iter()
        .map(|f| {
            format!(
                "- `data.{}`{}: {}",
                f.name,
                if f.required { "" } else { " (optional)" },
                f.doc
            )
        })
        .collect();
    let user = if ty.carries_user() {
        "An event-stream action subscribed to it sees `event.user`."
    } else {
        "It carries no user: `event.user` is not available to an action that handles it."
    };
    let text = format!(
        "**event type `{}`**\n\n{}\n\n{user}\n\n{}",
        ty.name,
        ty.doc,
        members.join("\n")
    );
    Some((Span::new(start, end), text))
}
