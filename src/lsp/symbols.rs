//! Document symbols (a flow's stages and their blocks, for outlines) and formatting (the
//! canonical text `authflow fmt` writes, as one edit of the whole buffer).

use super::At;
use super::analysis::FileKind;
use crate::diagnostic::FileId;
use lsp_types::{DocumentSymbol, SymbolKind, TextEdit};
use serde_json::Value;

pub fn document_symbols(at: &At) -> Value {
    let (Some(analysis), Some(file)) = (at.analysis, at.file()) else {
        return Value::Null;
    };
    let Some(flow) = analysis.flow(file) else {
        return Value::Null;
    };
    #[allow(deprecated)] // `deprecated` is a required field of the struct, superseded by tags.
    let symbol =
        |name: &str, detail: Option<String>, kind, range, selection, children| DocumentSymbol {
            name: if name.is_empty() {
                "(unnamed)".into()
            } else {
                name.to_string()
            },
            detail,
            kind,
            tags: None,
            deprecated: None,
            range: at.index.range(range),
            selection_range: at.index.range(selection),
            children,
        };
    let stages: Vec<DocumentSymbol> = flow
        .stages
        .iter()
        .map(|stage| {
            let blocks = stage
                .blocks
                .iter()
                .map(|block| {
                    let title = crate::blocks::block_type(&block.kind.value)
                        .map_or(block.kind.value.clone(), |t| t.title.to_string());
                    symbol(
                        &block.id.value,
                        Some(title),
                        SymbolKind::FUNCTION,
                        block.span,
                        block.id.span,
                        None,
                    )
                })
                .collect();
            let range = stage.span.cover(stage.name.span);
            symbol(
                &stage.name.value,
                Some("stage".into()),
                SymbolKind::NAMESPACE,
                range,
                stage.name.span,
                Some(blocks),
            )
        })
        .collect();
    serde_json::to_value(lsp_types::DocumentSymbolResponse::Nested(stages)).unwrap_or(Value::Null)
}

pub fn format(at: &At) -> Value {
    let FileKind::Flow(syntax) = at.kind else {
        return Value::Null;
    };
    // A buffer that does not parse is left alone; its diagnostics say why.
    let Ok(text) = crate::cli::commands::fmt::canonical(at.text, FileId(0), syntax, syntax) else {
        return Value::Null;
    };
    if text == at.text {
        return Value::Array(Vec::new());
    }
    let whole = crate::span::Span::new(0, at.text.len());
    serde_json::to_value(vec![TextEdit::new(at.index.range(whole), text)]).unwrap_or(Value::Null)
}
