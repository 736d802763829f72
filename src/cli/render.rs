//! Diagnostics rendered for people (miette), for programs (JSON) and for code scanning (SARIF).
//!
//! Rendering never changes what a diagnostic says; every format carries the same fields.
//!
//! **Positions.** Lines and columns are 1-based and columns count Unicode code points, in
//! every format (the human header `file:line:column`, JSON, SARIF's `columnKind`). JSON and
//! SARIF name files relative to one root: the git top level of the files (else the current
//! directory), given as `root` in JSON and as the `SRCROOT` base in SARIF.
//!
//! **Hostile text.** miette is handed an excerpt, never a whole file: the lines of the span
//! and one line of context, each cut to a window of at most [`MAX_LINE_CHARS`] code points
//! around the span (a minified action has lines of megabytes, and miette's formatting panics
//! past column 65535), at most [`MAX_SPAN_LINES`] lines of a long span, and every control
//! character escaped (`cli::escape`), as in messages, labels and file names.

use crate::cli::escape;
use crate::diagnostic::{Code, Diagnostic, FileId, Severity};
use crate::span::Span;
use crate::workspace::source::Sources;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The widest excerpt line, in code points; longer lines show a window around the span.
pub const MAX_LINE_CHARS: usize = 160;

/// How much of a long line precedes the span in its window, in code points.
const BEFORE_SPAN_CHARS: usize = 48;

/// The most lines of one span an excerpt shows.
pub const MAX_SPAN_LINES: usize = 8;

/// The longest message, label or help text shown, in code points.
const MAX_TEXT_CHARS: usize = 2000;

/// One diagnostic bound to its source text, in the shape miette renders.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: Excerpt,
    related: Vec<Report<'a>>,
    message: String,
    /// For a related note: which of the diagnostic's `related` entries it shows.
    related_index: Option<usize>,
}

impl std::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        (!self.message.is_empty() && self.is_primary()).then(|| {
            Box::new(format!(
                "{}({})",
                self.diagnostic.code,
                self.diagnostic.code.info().name
            )) as Box<dyn std::fmt::Display>
        })
    }

    fn severity(&self) -> Option<miette::Severity> {
        if !self.is_primary() {
            return Some(miette::Severity::Advice);
        }
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        if !self.is_primary() {
            return None;
        }
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(shown(h)) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = if self.is_primary() {
            self.diagnostic.label.as_deref().map(shown)
        } else {
            Some(self.message.clone())
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            label,
            self.source.span,
        ))))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

impl Report<'_> {
    /// Whether this is the primary report (related notes reuse the type with a note span).
    fn is_primary(&self) -> bool {
        self.related_index.is_none()
    }
}

/// Renders diagnostics in the format asked for.
pub fn diagnostics(
    sources: &Sources,
    diagnostics: &[Diagnostic],
    format: super::Format,
    color: bool,
) -> String {
    match format {
        super::Format::Human => human(sources, diagnostics, color),
        super::Format::Json => pretty(&json(sources, diagnostics)),
        super::Format::Sarif => pretty(&sarif(sources, diagnostics)),
    }
}

/// JSON for standard output, with the characters serde leaves raw escaped.
fn pretty(value: &Value) -> String {
    escape::escape_json(serde_json::to_string_pretty(value).unwrap_or_default()) + "\n"
}

/// Renders diagnostics for a terminal.
pub fn human(sources: &Sources, diagnostics: &[Diagnostic], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for d in diagnostics {
        let report = report(sources, d);
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    out.push_str(&summary_line(diagnostics));
    out
}

fn report<'a>(sources: &Sources, d: &'a Diagnostic) -> Report<'a> {
    let related = d
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| Report {
            diagnostic: d,
            source: Excerpt::new(sources, r.file, r.span),
            related: Vec::new(),
            message: shown(&r.message),
            related_index: Some(i),
        })
        .collect();
    Report {
        diagnostic: d,
        source: Excerpt::new(sources, d.file, d.span),
        related,
        message: shown(&d.message),
        related_index: None,
    }
}

/// Text from a diagnostic as a terminal may show it: bounded, controls escaped (authflow's
/// own line breaks kept).
fn shown(text: &str) -> String {
    let bounded = match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    };
    escape::escape_lines(&bounded)
}

/// The part of a file one label shows, as miette reads it: a few lines, each bounded and
/// escaped, with the label's span moved into it and the file's real line numbers.
#[derive(Debug)]
struct Excerpt {
    name: String,
    text: String,
    /// The file's 0-based line number of the excerpt's first line.
    first_line: usize,
    /// The label's span, in the excerpt.
    span: SourceSpan,
    /// The 0-based line and code-point column of the label's start in the file.
    line: usize,
    column: usize,
}

impl Excerpt {
    fn new(sources: &Sources, file: FileId, span: Span) -> Excerpt {
        let name = escape::escape(&sources.path(file).display().to_string()).into_owned();
        excerpt(name, sources.text(file), span)
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        let (line, column) = if span == &self.span && before == 0 {
            (self.line, self.column)
        } else {
            (inner.line() + self.first_line, inner.column())
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            line,
            column,
            inner.line_count(),
        )))
    }
}

/// Builds the excerpt of `text` for `span` (clamped into the text and onto characters).
fn excerpt(name: String, text: &str, span: Span) -> Excerpt {
    let len = text.len();
    let floor = |i: usize| {
        let mut i = i.min(len);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start as usize);
    let mut end = floor(span.end as usize).max(start);
    // A long span shows its first lines.
    if let Some((i, _)) = text[start..end].match_indices('\n').nth(MAX_SPAN_LINES - 1) {
        end = start + i;
    }
    let line_start = |i: usize| text[..i].rfind('\n').map_or(0, |p| p + 1);
    let line_end = |i: usize| text[i..].find('\n').map_or(len, |p| i + p);
    let start_line = line_start(start);
    let first = if start_line > 0 {
        line_start(start_line - 1)
    } else {
        0
    };
    let end_line_end = line_end(end);
    let last = if end_line_end < len {
        line_end(end_line_end + 1)
    } else {
        len
    };
    let mut out = String::new();
    let (mut mapped_start, mut mapped_end) = (None, None);
    let mut pos = first;
    loop {
        let e = line_end(pos);
        let content_end = if e > pos && e < len && text.as_bytes()[e - 1] == b'\r' {
            e - 1
        } else {
            e
        };
        let (ws, we) = window(text, pos, content_end, start, end);
        if ws > pos {
            out.push('…');
        }
        for (i, c) in text[ws..we].char_indices() {
            let offset = ws + i;
            if offset == start {
                mapped_start = Some(out.len());
            }
            if offset == end && mapped_start.is_some() {
                mapped_end = Some(out.len());
            }
            if c == '\t' || !escape::is_unsafe(c) {
                out.push(c);
            } else {
                out.push_str(&escape::escaped(c));
            }
        }
        // A position past the window (or at the line's end) maps to the window's end.
        if mapped_start.is_none() && (pos..=e).contains(&start) {
            mapped_start = Some(out.len());
        }
        if mapped_end.is_none() && mapped_start.is_some() && (pos..=e).contains(&end) {
            mapped_end = Some(out.len());
        }
        if we < content_end {
            out.push('…');
        }
        if e < len {
            out.push('\n');
        }
        if e >= last || e >= len {
            break;
        }
        pos = e + 1;
    }
    let excerpt_start = mapped_start.unwrap_or(0);
    let excerpt_end = mapped_end.unwrap_or(excerpt_start).max(excerpt_start);
    Excerpt {
        name,
        first_line: text[..first].matches('\n').count(),
        span: SourceSpan::new(excerpt_start.into(), excerpt_end - excerpt_start),
        line: text[..start].matches('\n').count(),
        column: text[start_line..start].chars().count(),
        text: out,
    }
}

/// The byte range of the line `pos..content_end` an excerpt shows: all of a short line; of a
/// long one, a window that holds the span's start (or, on its last line, its end).
fn window(text: &str, pos: usize, content_end: usize, start: usize, end: usize) -> (usize, usize) {
    let line = &text[pos..content_end];
    if line.chars().nth(MAX_LINE_CHARS).is_none() {
        return (pos, content_end);
    }
    let back = |from: usize, n: usize| {
        text[pos..from]
            .char_indices()
            .rev()
            .nth(n.saturating_sub(1))
            .map_or(pos, |(i, _)| pos + i)
    };
    let forward = |from: usize, n: usize| {
        text[from..content_end]
            .char_indices()
            .nth(n)
            .map_or(content_end, |(i, _)| from + i)
    };
    if (pos..=content_end).contains(&start) {
        let ws = back(start, BEFORE_SPAN_CHARS);
        (ws, forward(ws, MAX_LINE_CHARS))
    } else if (pos..=content_end).contains(&end) {
        let we = forward(end, BEFORE_SPAN_CHARS);
        (back(we, MAX_LINE_CHARS), we)
    } else {
        (pos, forward(pos, MAX_LINE_CHARS))
    }
}

pub fn summary_line(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}\n",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// Where JSON and SARIF paths start: the git top level of the reported files (else of the
/// current directory), else the current directory. Never a path relative to the current
/// directory, so a report reads the same from wherever it was made.
pub struct Root {
    /// Absolute, with symbolic links resolved.
    pub path: PathBuf,
}

impl Root {
    /// The root for the files of `diagnostics` (their first file decides).
    pub fn of(sources: &Sources, diagnostics: &[Diagnostic]) -> Root {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
        let first = diagnostics
            .first()
            .map(|d| absolute(sources.path(d.file)))
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let path = first
            .as_deref()
            .and_then(git_top_level)
            .or_else(|| git_top_level(&cwd))
            .unwrap_or(cwd);
        Root { path }
    }

    /// A file's path relative to the root, with `/` separators; the absolute path when the
    /// file lies outside it.
    pub fn relative(&self, file: &Path) -> String {
        let absolute = absolute(file);
        match absolute.strip_prefix(&self.path) {
            Ok(relative) => relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            Err(_) => absolute.display().to_string(),
        }
    }

    /// A file's SARIF artifact location: a relative URI against `SRCROOT`, or an absolute
    /// `file:` URI for a file outside the root.
    fn artifact(&self, file: &Path) -> Value {
        let absolute = absolute(file);
        let base = url::Url::from_directory_path(&self.path).ok();
        let target = url::Url::from_file_path(&absolute).ok();
        match (base, target) {
            (Some(base), Some(target)) if absolute.starts_with(&self.path) => {
                let relative = base
                    .make_relative(&target)
                    .unwrap_or_else(|| target.to_string());
                json!({ "uri": relative, "uriBaseId": SARIF_ROOT })
            }
            (_, Some(target)) => json!({ "uri": target.to_string() }),
            _ => json!({ "uri": self.relative(file) }),
        }
    }

    fn uri(&self) -> String {
        url::Url::from_directory_path(&self.path)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("file://{}/", self.path.display()))
    }
}

/// The SARIF base id of [`Root`].
const SARIF_ROOT: &str = "SRCROOT";

/// A path made absolute (against the current directory), its directories' symbolic links
/// resolved (a link is named by itself, not by its target).
fn absolute(path: &Path) -> PathBuf {
    crate::files::located(path)
}

/// The nearest directory at or above `dir` that holds `.git` (a directory, or a file in a
/// worktree or submodule).
fn git_top_level(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").symlink_metadata().is_ok())
        .map(Path::to_path_buf)
}

fn location(sources: &Sources, root: &Root, file: FileId, span: Span) -> Value {
    let (line, column) = sources.line_column(file, span.start);
    let (end_line, end_column) = sources.line_column(file, span.end);
    json!({
        "file": root.relative(sources.path(file)),
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
    })
}

/// Renders diagnostics as the JSON object documented in the README.
pub fn json(sources: &Sources, diagnostics: &[Diagnostic]) -> Value {
    let root = Root::of(sources, diagnostics);
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut item = location(sources, &root, d.file, d.span);
            let obj = item.as_object_mut().expect("location is an object");
            obj.insert("code".into(), json!(d.code.as_str()));
            obj.insert("name".into(), json!(d.code.info().name));
            obj.insert("severity".into(), json!(d.severity));
            obj.insert("message".into(), json!(d.message));
            obj.insert("label".into(), json!(d.label));
            obj.insert("help".into(), json!(d.help));
            obj.insert(
                "span".into(),
                json!({"start": d.span.start, "end": d.span.end}),
            );
            let related: Vec<Value> = d
                .related
                .iter()
                .map(|r| {
                    let mut l = location(sources, &root, r.file, r.span);
                    l.as_object_mut()
                        .expect("location is an object")
                        .insert("message".into(), json!(r.message));
                    l
                })
                .collect();
            obj.insert("related".into(), json!(related));
            item
        })
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    json!({
        "root": root.path.display().to_string(),
        "column_kind": "unicode_code_points",
        "diagnostics": items,
        "summary": { "errors": errors, "warnings": warnings },
    })
}

/// Renders diagnostics as SARIF 2.1.0 for code-scanning tools: URIs relative to the git top
/// level (`SRCROOT`), columns in code points.
pub fn sarif(sources: &Sources, diagnostics: &[Diagnostic]) -> Value {
    let root = Root::of(sources, diagnostics);
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            let info = c.info();
            json!({
                "id": c.as_str(),
                "name": info.name,
                "shortDescription": { "text": info.summary },
                "defaultConfiguration": { "level": level(info.severity) },
            })
        })
        .collect();
    let region = |file: FileId, span: Span| {
        let (line, column) = sources.line_column(file, span.start);
        let (end_line, end_column) = sources.line_column(file, span.end);
        json!({ "startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column })
    };
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(&format!("\nhelp: {help}"));
            }
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": Code::ALL.iter().position(|c| *c == d.code),
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": root.artifact(sources.path(d.file)),
                        "region": region(d.file, d.span),
                    }
                }],
                "relatedLocations": d.related.iter().enumerate().map(|(i, r)| {
                    json!({
                        "id": i,
                        "message": { "text": r.message },
                        "physicalLocation": {
                            "artifactLocation": root.artifact(sources.path(r.file)),
                            "region": region(r.file, r.span),
                        }
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "authflow",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": { SARIF_ROOT: { "uri": root.uri() } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Reports of one check per environment (`check --env all`), each already rendered in
/// `format`, as one output: sections for a terminal, an object by environment name for JSON,
/// one SARIF run per environment (named by `automationDetails.id`).
pub fn per_environment(reports: &[(String, String)], format: super::Format) -> String {
    match format {
        super::Format::Human => reports
            .iter()
            .map(|(env, text)| format!("environment `{env}`:\n{text}"))
            .collect::<Vec<_>>()
            .join("\n"),
        super::Format::Json => {
            let by_env: serde_json::Map<String, Value> = reports
                .iter()
                .map(|(env, text)| {
                    (
                        env.clone(),
                        serde_json::from_str(text).unwrap_or(Value::Null),
                    )
                })
                .collect();
            serde_json::to_string_pretty(&serde_json::json!({ "environments": by_env }))
                .unwrap_or_default()
                + "\n"
        }
        super::Format::Sarif => {
            let mut merged: Option<Value> = None;
            for (env, text) in reports {
                let Ok(mut log) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                if let Some(runs) = log["runs"].as_array_mut() {
                    for run in runs.iter_mut() {
                        run["automationDetails"] =
                            serde_json::json!({ "id": format!("environment/{env}") });
                    }
                }
                match &mut merged {
                    None => merged = Some(log),
                    Some(all) => {
                        let runs = log["runs"].as_array().cloned().unwrap_or_default();
                        if let Some(list) = all["runs"].as_array_mut() {
                            list.extend(runs);
                        }
                    }
                }
            }
            serde_json::to_string_pretty(&merged.unwrap_or(Value::Null)).unwrap_or_default() + "\n"
        }
    }
}
