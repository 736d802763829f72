//! Diagnostics rendered for people (miette), for programs (JSON) and for code scanning (SARIF).
//!
//! Rendering never changes what a diagnostic says; every format carries the same fields.

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::workspace::source::Sources;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_json::{Value, json};

/// One diagnostic bound to its source text, in the shape miette renders.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedSource<String>,
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
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = if self.is_primary() {
            self.diagnostic.span
        } else {
            self.related_span()
        };
        let label = if self.is_primary() {
            self.diagnostic.label.clone()
        } else {
            Some(self.message.clone())
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            label, span,
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

    fn related_span(&self) -> crate::span::Span {
        self.related_index
            .map_or(self.diagnostic.span, |i| self.diagnostic.related[i].span)
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
        super::Format::Json => {
            serde_json::to_string_pretty(&json(sources, diagnostics)).unwrap_or_default() + "\n"
        }
        super::Format::Sarif => {
            serde_json::to_string_pretty(&sarif(sources, diagnostics)).unwrap_or_default() + "\n"
        }
    }
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
    let source = NamedSource::new(
        sources.path(d.file).display().to_string(),
        sources.text(d.file).to_string(),
    );
    let related = d
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| Report {
            diagnostic: d,
            source: NamedSource::new(
                sources.path(r.file).display().to_string(),
                sources.text(r.file).to_string(),
            ),
            related: Vec::new(),
            message: r.message.clone(),
            related_index: Some(i),
        })
        .collect();
    Report {
        diagnostic: d,
        source,
        related,
        message: d.message.clone(),
        related_index: None,
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

fn location(
    sources: &Sources,
    d_file: crate::diagnostic::FileId,
    span: crate::span::Span,
) -> Value {
    let (line, column) = sources.line_column(d_file, span.start);
    let (end_line, end_column) = sources.line_column(d_file, span.end);
    json!({
        "file": sources.path(d_file).display().to_string(),
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
    })
}

/// Renders diagnostics as the JSON object documented in the README.
pub fn json(sources: &Sources, diagnostics: &[Diagnostic]) -> Value {
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut item = location(sources, d.file, d.span);
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
                    let mut l = location(sources, r.file, r.span);
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
    json!({ "diagnostics": items, "summary": { "errors": errors, "warnings": warnings } })
}

/// Renders diagnostics as SARIF 2.1.0 for code-scanning tools.
pub fn sarif(sources: &Sources, diagnostics: &[Diagnostic]) -> Value {
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
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let (line, column) = sources.line_column(d.file, d.span.start);
            let (end_line, end_column) = sources.line_column(d.file, d.span.end);
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
                        "artifactLocation": { "uri": uri(sources, d.file) },
                        "region": { "startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column },
                    }
                }],
                "relatedLocations": d.related.iter().enumerate().map(|(i, r)| {
                    let (line, column) = sources.line_column(r.file, r.span.start);
                    json!({
                        "id": i,
                        "message": { "text": r.message },
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri(sources, r.file) },
                            "region": { "startLine": line, "startColumn": column },
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
            "results": results,
        }]
    })
}

fn uri(sources: &Sources, file: crate::diagnostic::FileId) -> String {
    sources.path(file).display().to_string().replace('\\', "/")
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
