//! Go to definition: an action slug to the action's source, `step.<slug>.<key>` to the
//! `api.state.set('<key>', ...)` calls that write it, a branch target to its block, a module
//! pin (in action metadata, or a `require('actions:<name>')` in an action) to the pinned
//! version's file.

use super::At;
use super::analysis::{Analysis, FileKind};
use super::cursor::{ITEM, Role};
use super::place;
use crate::blocks::ConfigKind;
use crate::span::Span;
use lsp_types::{GotoDefinitionResponse, Location};
use serde_json::Value;

pub fn definition(at: &At) -> Value {
    let locations = find(at).unwrap_or_default();
    if locations.is_empty() {
        return Value::Null;
    }
    serde_json::to_value(GotoDefinitionResponse::Array(locations)).unwrap_or(Value::Null)
}

fn find(at: &At) -> Option<Vec<Location>> {
    let analysis = at.analysis?;
    match at.kind {
        FileKind::ActionSource => return required_module(at, analysis),
        FileKind::ActionMeta => return module_pin(at, analysis),
        _ => {}
    }
    if let Some((_, segments, _)) = place::path_around(at.text, at.offset)
        && segments[0] == "step"
    {
        return step_writes(at, analysis, &segments);
    }
    let cursor = place::cursor(at)?;
    let (Some(ty), Some(key), Role::Value) =
        (place::block_type(&cursor), cursor.path.last(), cursor.role)
    else {
        return None;
    };
    let key = ty.config.iter().find(|k| k.name == key)?;
    let (_, word) = place::word_around(at.text, at.offset);
    match key.kind {
        ConfigKind::ActionRef => {
            let action = analysis.ws().actions.get(word)?;
            Some(vec![action_location(at, analysis, action)?])
        }
        ConfigKind::BlockRef => {
            let place = place::place(at, &cursor)?;
            let target = place.graph.by_id.get(word)?;
            let span = place.graph.blocks[*target].block.id.span;
            Some(vec![at.location(place.analysis, place.file, span)?])
        }
        _ => None,
    }
}

/// The action's exported handler, or the start of its file.
fn action_location(
    at: &At,
    analysis: &Analysis,
    action: &crate::workspace::Action,
) -> Option<Location> {
    let span = analysis
        .actions
        .get(&action.slug)
        .and_then(|f| f.handler.as_ref())
        .map_or(Span::default(), |h| h.span);
    at.location(analysis, action.code_file, span)
}

fn step_writes(at: &At, analysis: &Analysis, segments: &[String]) -> Option<Vec<Location>> {
    let action = analysis.ws().actions.get(segments.get(1)?)?;
    let Some(key) = segments.get(2) else {
        return Some(vec![action_location(at, analysis, action)?]);
    };
    let facts = analysis.actions.get(&action.slug)?;
    Some(
        facts
            .state_writes
            .iter()
            .filter(|w| w.key.as_ref() == Some(key))
            .filter_map(|w| at.location(analysis, action.code_file, w.key_span.unwrap_or(w.span)))
            .collect(),
    )
}

fn module_file(at: &At, analysis: &Analysis, name: &str, version: u32) -> Option<Vec<Location>> {
    let module = analysis.ws().modules.get(name)?;
    let file = *module.versions.get(&version)?;
    Some(vec![at.location(analysis, file, Span::default())?])
}

/// `modules: { logger: 2 }` or `modules:\n  logger: 2`, with the cursor on the pin.
fn module_pin(at: &At, analysis: &Analysis) -> Option<Vec<Location>> {
    let cursor = place::cursor(at)?;
    let under_modules = cursor.path.first().map(String::as_str) == Some("modules")
        && !cursor.path.contains(&ITEM.to_string());
    if !under_modules {
        return None;
    }
    let line_start = at.text[..at.offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = at.text[at.offset..]
        .find('\n')
        .map_or(at.text.len(), |i| at.offset + i);
    let line = &at.text[line_start..line_end];
    let column = at.offset - line_start;
    // Each `name: N` pair on the line, and the one the cursor is in (or the only one).
    let mut pairs = Vec::new();
    let mut rest = line;
    let mut base = 0;
    while let Some(colon) = rest.find(':') {
        let name_start = rest[..colon]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let name = rest[name_start..colon].trim();
        let digits: String = rest[colon + 1..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let end = colon
            + 1
            + (rest[colon + 1..].len() - rest[colon + 1..].trim_start().len())
            + digits.len();
        if let (false, Ok(v)) = (name.is_empty(), digits.parse::<u32>()) {
            pairs.push((base + name_start, base + end, name.to_string(), v));
        }
        base += colon + 1;
        rest = &rest[colon + 1..];
    }
    let (_, _, name, version) = pairs
        .iter()
        .find(|(s, e, _, _)| *s <= column && column <= *e)
        .or_else(|| (pairs.len() == 1).then(|| &pairs[0]))?;
    module_file(at, analysis, name, *version)
}

/// `require('actions:logger')` in an action: the version its metadata pins.
fn required_module(at: &At, analysis: &Analysis) -> Option<Vec<Location>> {
    let action = analysis
        .ws()
        .actions
        .values()
        .find(|a| analysis.path(a.code_file) == at.path)?;
    let facts = analysis.actions.get(&action.slug)?;
    let require = facts
        .requires
        .iter()
        .find(|r| (r.span.start as usize) <= at.offset && at.offset <= r.span.end as usize)?;
    let name = require.specifier.as_deref()?.strip_prefix("actions:")?;
    let version = *action.meta.modules.get(name)?;
    module_file(at, analysis, name, version)
}
