//! Every read of `event.*` and `step.*` a block makes, from its guard, its templates and its
//! custom action's source, gathered once so that each read-related rule sees the same list.

use crate::diagnostic::FileId;
use crate::span::Span;
use crate::syntax::scalar::ScalarPositions;

/// Where a read was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOrigin {
    Condition,
    Template,
    /// A custom action's JavaScript (the read's file is the action's file).
    Action,
}

/// One segment of a read path.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub name: String,
    pub span: Span,
    /// Followed by `?.`.
    pub optional: bool,
}

/// One read of a field by one block.
#[derive(Clone, Debug)]
pub struct FieldRead {
    pub block: usize,
    pub origin: ReadOrigin,
    pub file: FileId,
    /// Including the root (`event` or `step`).
    pub segments: Vec<Segment>,
    pub span: Span,
    /// The read cannot throw when the group it starts in is absent (`event.user?.email`).
    pub guarded: bool,
}

impl FieldRead {
    pub fn root(&self) -> &str {
        self.segments.first().map_or("", |s| s.name.as_str())
    }

    pub fn names(&self) -> Vec<&str> {
        self.segments.iter().map(|s| s.name.as_str()).collect()
    }

    pub fn dotted(&self) -> String {
        self.names().join(".")
    }
}

/// One `{{ path }}` inside a config string.
pub struct TemplatePart {
    pub path: Vec<Segment>,
    /// The path inside the braces.
    pub span: Span,
    /// The whole reference, braces included.
    pub outer: Span,
}

/// Problems found while reading a template.
pub struct TemplateError {
    pub span: Span,
    pub message: String,
}

/// Finds the `{{ ... }}` references in a template string whose content starts at `base`.
pub fn parse_template(text: &str, base: usize) -> (Vec<TemplatePart>, Vec<TemplateError>) {
    let mut parts = Vec::new();
    let mut errors = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{") {
        let open = rest + open;
        let Some(close) = text[open + 2..].find("}}") else {
            errors.push(TemplateError {
                span: Span::new(base + open, base + text.len()),
                message: "`{{` is never closed with `}}`".into(),
            });
            break;
        };
        let inner_start = open + 2;
        let inner_end = inner_start + close;
        let inner = &text[inner_start..inner_end];
        let trimmed_start = inner_start + (inner.len() - inner.trim_start().len());
        let trimmed = inner.trim();
        match parse_path(trimmed, base + trimmed_start) {
            Some(path) => parts.push(TemplatePart {
                path,
                span: Span::new(base + trimmed_start, base + trimmed_start + trimmed.len()),
                outer: Span::new(base + open, base + inner_end + 2),
            }),
            None => errors.push(TemplateError {
                span: Span::new(base + open, base + inner_end + 2),
                message: format!("`{{{{ {trimmed} }}}}` is not a field path such as `event.user.email` or `step.log-user.country`"),
            }),
        }
        rest = inner_end + 2;
    }
    (parts, errors)
}

/// `parse_template` of a config string, with every span mapped into the file through the
/// string's scalar positions (escapes and folding included).
pub fn parse_template_in(
    text: &str,
    positions: &ScalarPositions,
) -> (Vec<TemplatePart>, Vec<TemplateError>) {
    let (mut parts, mut errors) = parse_template(text, 0);
    for part in &mut parts {
        part.span = positions.span(part.span);
        part.outer = positions.span(part.outer);
        for segment in &mut part.path {
            segment.span = positions.span(segment.span);
        }
    }
    for error in &mut errors {
        error.span = positions.span(error.span);
    }
    (parts, errors)
}

/// `event.user?.email` -> segments, or `None` when the text is not a path rooted at
/// `event` or `step`.
pub fn parse_path(text: &str, base: usize) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut offset = 0;
    for piece in text.split('.') {
        let (name, optional) = match piece.strip_suffix('?') {
            Some(n) => (n, true),
            None => (piece, false),
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return None;
        }
        segments.push(Segment {
            name: name.to_string(),
            span: Span::new(base + offset, base + offset + name.len()),
            optional,
        });
        offset += piece.len() + 1;
    }
    let root = segments.first()?.name.as_str();
    (matches!(root, "event" | "step") && segments.len() >= 2).then_some(segments)
}

/// Whether a read is protected from a missing group: some segment after the root up to and
/// including the group is optional-chained (`event.user?.email`, `event?.user.x` is not).
pub fn guarded(segments: &[Segment]) -> bool {
    segments.iter().skip(1).take(1).any(|s| s.optional) || segments.len() <= 2
}
