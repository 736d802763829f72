//! authflow diagnostics -> LSP diagnostics, grouped by the file each one is published to.
//!
//! A diagnostic is published to the file it lives in, with its code, severity, exact range
//! and help line; its related places become `relatedInformation` (or lines of the message
//! when the client does not show related information). A diagnostic whose related place is
//! in another file (an action's read, related to the flow block that runs the action) is
//! also published to that file, at that place, pointing back. Content is never changed:
//! the same code, message and help as `authflow check`.

use super::analysis::Analysis;
use super::position::{Encoding, LineIndex};
use crate::diagnostic::{Diagnostic, FileId, Severity};
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Url};
use std::collections::BTreeMap;

/// How the client wants diagnostics.
#[derive(Clone, Copy)]
pub struct Style {
    pub encoding: Encoding,
    /// The client shows `relatedInformation`.
    pub related_information: bool,
}

/// Every diagnostic of an analysis, as LSP diagnostics by the file they are published to.
pub fn by_file(
    analysis: &Analysis,
    style: Style,
    uri_of: &dyn Fn(FileId) -> Option<Url>,
) -> BTreeMap<FileId, Vec<lsp_types::Diagnostic>> {
    let indexes: Vec<LineIndex> = (0..analysis.ws().sources.len())
        .map(|i| LineIndex::new(analysis.text(FileId(i as u32)), style.encoding))
        .collect();
    let location = |file: FileId, span: crate::span::Span| {
        uri_of(file).map(|uri| Location::new(uri, indexes[file.0 as usize].range(span)))
    };
    let mut out: BTreeMap<FileId, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    for d in &analysis.diagnostics {
        let related: Vec<(Location, &str)> = d
            .related
            .iter()
            .filter_map(|r| location(r.file, r.span).map(|l| (l, r.message.as_str())))
            .collect();
        let primary = convert(d, indexes[d.file.0 as usize].range(d.span), &related, style);
        out.entry(d.file).or_default().push(primary);
        // The same problem where it shows in another file, pointing back at its origin.
        let Some(origin) = location(d.file, d.span) else {
            continue;
        };
        for r in d.related.iter().filter(|r| r.file != d.file) {
            let mirrored = lsp_types::Diagnostic {
                message: format!(
                    "{} ({}: {})",
                    d.message,
                    r.message,
                    file_name(analysis, d.file)
                ),
                ..convert(
                    d,
                    indexes[r.file.0 as usize].range(r.span),
                    &[(origin.clone(), "the problem is here")],
                    style,
                )
            };
            out.entry(r.file).or_default().push(mirrored);
        }
    }
    out
}

fn file_name(analysis: &Analysis, file: FileId) -> String {
    analysis.ws().sources.path(file).display().to_string()
}

fn convert(
    d: &Diagnostic,
    range: lsp_types::Range,
    related: &[(Location, &str)],
    style: Style,
) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    if let Some(label) = &d.label {
        message.push_str(&format!(" ({label})"));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related_information = if style.related_information {
        Some(
            related
                .iter()
                .map(|(location, note)| DiagnosticRelatedInformation {
                    location: location.clone(),
                    message: (*note).to_string(),
                })
                .collect::<Vec<_>>(),
        )
        .filter(|r| !r.is_empty())
    } else {
        for (location, note) in related {
            message.push_str(&format!(
                "\n{note}: {}:{}",
                location.uri.path(),
                location.range.start.line + 1
            ));
        }
        None
    };
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some("authflow".into()),
        message,
        related_information,
        tags: None,
        data: None,
    }
}
