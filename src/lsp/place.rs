//! The semantic side of a cursor: which block of which flow it is in, what the availability
//! dataflow says holds before that block, and the field path under the cursor.
//!
//! Completion, hover and definition all ask these questions; the answers come from the
//! latest analysis in which the file parsed, found by the block's id as the text has it, so
//! they hold while the user is typing text that does not parse yet.

use super::At;
use super::analysis::{Analysis, FileKind};
use super::cursor::{self, Cursor};
use crate::blocks::{BLOCKS, BlockType};
use crate::diagnostic::FileId;
use crate::graph::{Available, FlowGraph};
use crate::syntax::Syntax;
use crate::syntax::ast::Block;

/// The block a cursor is in, in the flow's latest parsed form.
pub struct Place<'a> {
    pub analysis: &'a Analysis,
    pub file: FileId,
    pub graph: FlowGraph<'a>,
    pub available: Vec<Option<Available>>,
    /// Index into `graph.blocks`, when the block's id names one.
    pub block: Option<usize>,
}

impl<'a> Place<'a> {
    /// Availability before the block; `None` when the block is unknown or unreachable.
    pub fn available(&self) -> Option<&Available> {
        self.available.get(self.block?)?.as_ref()
    }

    pub fn ast_block(&self) -> Option<&'a Block> {
        Some(self.graph.blocks.get(self.block?)?.block)
    }

    /// The slugs of the actions this flow's Run Custom Action blocks name.
    pub fn flow_actions(&self) -> Vec<String> {
        let mut slugs: Vec<String> = Vec::new();
        for slug in self
            .graph
            .blocks
            .iter()
            .filter_map(|b| b.action()?.as_str())
        {
            if !slugs.iter().any(|s| s == slug) {
                slugs.push(slug.to_string());
            }
        }
        slugs
    }
}

/// The cursor of an `At` in its file's syntax; `None` for JavaScript.
pub fn cursor(at: &At) -> Option<Cursor> {
    match at.kind {
        FileKind::Flow(Syntax::Dsl) => cursor::dsl(at.text, at.offset),
        FileKind::Flow(Syntax::Yaml)
        | FileKind::Settings
        | FileKind::ActionMeta
        | FileKind::ModuleMeta
        | FileKind::Stream
        | FileKind::Test => cursor::yaml(at.text, at.offset),
        FileKind::ActionSource | FileKind::ModuleSource => None,
    }
}

/// The flow block a cursor is in.
pub fn place<'a>(at: &At<'a>, cursor: &Cursor) -> Option<Place<'a>> {
    let analysis = at.parsed?;
    let file = analysis.file(at.path)?;
    let flow = analysis.flow(file)?;
    let (graph, available) = analysis.dataflow(flow);
    let id = cursor.block.as_ref().and_then(|b| b.id.as_deref());
    let block = id.and_then(|id| graph.by_id.get(id).copied()).or_else(|| {
        // A block whose id is still being typed: the last block that starts before it.
        let before = graph
            .blocks
            .iter()
            .rposition(|b| (b.block.span.start as usize) < at.offset)?;
        id.is_none().then_some(before)
    });
    Some(Place {
        analysis,
        file,
        graph,
        available,
        block,
    })
}

/// The block type the cursor's block names, as written.
pub fn block_type(cursor: &Cursor) -> Option<&'static BlockType> {
    let kind = cursor.block.as_ref()?.kind.as_deref()?;
    crate::blocks::block_type(kind)
}

/// Characters of a field path as conditions and templates write it.
pub fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '?')
}

/// The field path that ends at `offset` (`event.req` while typing), and where it starts.
pub fn path_before(text: &str, offset: usize) -> (usize, &str) {
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_path_char(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    (start, &text[start..offset])
}

/// The whole field path around `offset`, its start, and how many of its segments reach up
/// to the cursor (hovering `geo` in `event.request.geo.country` gives 3).
pub fn path_around(text: &str, offset: usize) -> Option<(usize, Vec<String>, usize)> {
    let (start, before) = path_before(text, offset);
    let after_len = text[offset..]
        .char_indices()
        .find(|(_, c)| !is_path_char(*c))
        .map_or(text.len() - offset, |(i, _)| i);
    let whole = &text[start..offset + after_len];
    let segments: Vec<String> = whole
        .split('.')
        .map(|s| s.trim_end_matches('?').to_string())
        .collect();
    if segments.len() < 2 || !matches!(segments[0].as_str(), "event" | "step") {
        return None;
    }
    let upto = before.matches('.').count() + 1;
    Some((start, segments, upto.min(whole.split('.').count())))
}

/// The word (a name, a slug, a number) that ends at `offset`, and where it starts.
pub fn word_before(text: &str, offset: usize) -> usize {
    text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .last()
        .map_or(offset, |(i, _)| i)
}

/// The word around `offset`.
pub fn word_around(text: &str, offset: usize) -> (usize, &str) {
    let start = word_before(text, offset);
    let end = text[offset..]
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .map_or(text.len(), |(i, _)| offset + i);
    (start, &text[start..end])
}

/// Whether `offset` is inside an unclosed `{{` of the value that starts at `value_start`.
pub fn in_template(text: &str, value_start: usize, offset: usize) -> bool {
    let value = &text[value_start.min(offset)..offset];
    match (value.rfind("{{"), value.rfind("}}")) {
        (Some(open), Some(close)) => open > close,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Every block type of the catalogue.
pub fn block_types() -> impl Iterator<Item = &'static BlockType> {
    BLOCKS.iter().copied()
}
