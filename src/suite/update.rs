//! `--update`: rewrites the expectations of failing cases from what the run did, by splicing
//! new text over each failing expectation's own bytes. Everything else in the file (other
//! keys, comments, layout) stays as it was.
//!
//! **Invariant:** a file that did not parse and validate is never written; a file is written
//! only if the spliced text parses and validates again, and it is written whole (a temporary
//! file renamed over it). An expectation that several cases share is rewritten only when no
//! case that passed reads it and every failing case wants the same text.

use super::expect::Fix;
use super::load::WorkspaceSuite;
use super::runner::{CaseResult, Status};
use crate::span::Span;
use crate::syntax::tree::{Node, NodeValue};
use serde_json::Value;
use std::collections::BTreeMap;

/// What `--update` did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files rewritten, with how many expectations changed in each.
    pub written: Vec<(String, usize)>,
    /// Expectations left alone, and why.
    pub skipped: Vec<String>,
    /// Files not written at all, and why.
    pub refused: Vec<String>,
}

/// Rewrites the failing expectations of every test file.
pub fn update(suites: &[WorkspaceSuite], results: &[CaseResult]) -> Outcome {
    let mut outcome = Outcome::default();
    for (s, suite) in suites.iter().enumerate() {
        for (f, file) in suite.files.iter().enumerate() {
            let failing: Vec<&CaseResult> = results
                .iter()
                .filter(|r| {
                    r.suite == s && suite.cases[r.case].file == f && r.status == Status::Failed
                })
                .collect();
            if failing.is_empty() {
                continue;
            }
            if !file.valid {
                outcome
                    .refused
                    .push(format!("{}: it did not parse; fix it first", file.display));
                continue;
            }
            let source = suite.loaded.ws.sources.text(file.file);
            let mut protected = Vec::new();
            for r in results.iter().filter(|r| {
                r.suite == s && suite.cases[r.case].file == f && r.status == Status::Passed
            }) {
                if let Some(expect) = &suite.cases[r.case].expect {
                    leaf_spans(expect, &mut protected);
                }
            }
            let mut edits: BTreeMap<(u32, u32), Option<String>> = BTreeMap::new();
            // Entries to drop from flow mappings, gathered so one rewrite drops them all.
            let mut trims: BTreeMap<(u32, u32), (Value, Vec<String>)> = BTreeMap::new();
            for r in &failing {
                for m in &r.mismatches {
                    let Some(fix) = &m.fix else {
                        outcome.skipped.push(format!(
                            "{}: `{}` of `{}` cannot be rewritten ({})",
                            file.display,
                            m.path,
                            suite.cases[r.case].name,
                            if m.path == "fetch" {
                                "add a recording under `fetch:`"
                            } else {
                                "it is merged from several places or not an expectation"
                            }
                        ));
                        continue;
                    };
                    if let Fix::Remove {
                        key,
                        parent: Some((span, whole, name)),
                        ..
                    } = fix
                        && !at_line_start(source, *key)
                    {
                        let entry = trims
                            .entry((span.start, span.end))
                            .or_insert_with(|| (whole.clone(), Vec::new()));
                        entry.1.push(name.clone());
                        continue;
                    }
                    let Some((span, text)) = edit(source, fix) else {
                        outcome.skipped.push(format!(
                            "{}: `{}` of `{}` sits in a flow mapping that cannot lose an entry in place",
                            file.display, m.path, suite.cases[r.case].name
                        ));
                        continue;
                    };
                    if protected.iter().any(|p| overlaps(*p, span)) {
                        outcome.skipped.push(format!(
                            "{}: `{}` is shared with a case that passes; not rewritten for `{}`",
                            file.display, m.path, suite.cases[r.case].name
                        ));
                        continue;
                    }
                    let slot = edits
                        .entry((span.start, span.end))
                        .or_insert(Some(text.clone()));
                    if slot.as_ref().is_some_and(|t| *t != text) {
                        outcome.skipped.push(format!(
                            "{}: `{}` is shared by cases that disagree; not rewritten",
                            file.display, m.path
                        ));
                        *slot = None;
                    }
                }
            }
            for ((start, end), (mut whole, names)) in trims {
                if let Value::Object(map) = &mut whole {
                    for name in &names {
                        map.remove(name);
                    }
                }
                edits.insert((start, end), Some(flow_yaml(&whole)));
            }
            let mut chosen: Vec<(Span, String)> = Vec::new();
            for ((start, end), text) in edits {
                let span = Span::new(start as usize, end as usize);
                if let Some(text) = text
                    && !chosen.iter().any(|(s, _)| overlaps(*s, span))
                {
                    chosen.push((span, text));
                }
            }
            if chosen.is_empty() {
                continue;
            }
            let mut text = source.to_string();
            chosen.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
            for (span, replacement) in &chosen {
                text.replace_range(span.start as usize..span.end as usize, replacement);
            }
            let mut diagnostics = Vec::new();
            match crate::syntax::tree::parse(&text, file.file) {
                Ok(node) => super::format::validate(
                    &node,
                    &super::format::FILE,
                    file.file,
                    &mut diagnostics,
                ),
                Err(d) => diagnostics = d,
            }
            if diagnostics
                .iter()
                .any(crate::diagnostic::Diagnostic::is_error)
            {
                outcome.refused.push(format!(
                    "{}: the rewritten file would not parse; left unchanged",
                    file.display
                ));
                continue;
            }
            match crate::files::write_whole(&file.path, text.as_bytes()) {
                Ok(()) => outcome.written.push((file.display.clone(), chosen.len())),
                Err(e) => outcome.refused.push(e.to_string()),
            }
        }
    }
    outcome
}

fn overlaps(a: Span, b: Span) -> bool {
    a.start < b.end && b.start < a.end || a == b
}

fn leaf_spans(node: &Node, out: &mut Vec<Span>) {
    match &node.value {
        NodeValue::Map(entries) => entries.iter().for_each(|(_, v)| leaf_spans(v, out)),
        NodeValue::Seq(items) if !node.merged => out.push(node.span),
        NodeValue::Seq(items) => items.iter().for_each(|v| leaf_spans(v, out)),
        _ => out.push(node.span),
    }
}

/// The bytes to replace and the text to put there.
fn edit(source: &str, fix: &Fix) -> Option<(Span, String)> {
    match fix {
        Fix::Replace { span, value } => {
            let start = span.start as usize;
            let flow = matches!(source.as_bytes().get(start), Some(b'[' | b'{'));
            let column = start - source[..start].rfind('\n').map_or(0, |i| i + 1);
            let text = if flow || !is_container(value) {
                flow_yaml(value)
            } else {
                block_yaml(value, column)
            };
            Some((*span, text))
        }
        Fix::Remove { key, value, .. } => {
            let key_start = key.start as usize;
            let line_start = source[..key_start].rfind('\n').map_or(0, |i| i + 1);
            if !at_line_start(source, *key) {
                return None;
            }
            let value_end = value.end as usize;
            let line_end = source[value_end..]
                .find('\n')
                .map_or(source.len(), |i| value_end + i + 1);
            Some((Span::new(line_start, line_end), String::new()))
        }
    }
}

/// Whether only indentation precedes `span` on its line (a block mapping entry).
fn at_line_start(source: &str, span: Span) -> bool {
    let start = (span.start as usize).min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    source[line_start..start].trim().is_empty()
}

fn is_container(value: &Value) -> bool {
    match value {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    }
}

/// A scalar YAML reads back as the same string: plain when that is safe, else JSON-quoted.
fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
        && !text.starts_with(['-', '.', '@'])
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_string()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

/// A value on one line in YAML's flow style.
pub fn flow_yaml(value: &Value) -> String {
    match value {
        Value::String(s) => scalar(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flow_yaml).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => {
            if map.is_empty() {
                return "{}".into();
            }
            format!(
                "{{ {} }}",
                map.iter()
                    .map(|(k, v)| format!("{}: {}", scalar(k), flow_yaml(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// A container in block style whose first line starts at `column` (already indented there).
fn block_yaml(value: &Value, column: usize) -> String {
    let pad = " ".repeat(column);
    let mut lines = Vec::new();
    match value {
        Value::Array(items) => {
            for item in items {
                if is_container(item) && item.is_object() {
                    lines.push(format!("- {}", block_yaml(item, column + 2)));
                } else {
                    lines.push(format!("- {}", flow_yaml(item)));
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if is_container(v) {
                    lines.push(format!(
                        "{}:\n{}  {}",
                        scalar(k),
                        pad,
                        block_yaml(v, column + 2)
                    ));
                } else {
                    lines.push(format!("{}: {}", scalar(k), flow_yaml(v)));
                }
            }
        }
        other => lines.push(flow_yaml(other)),
    }
    lines.join(&format!("\n{pad}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_and_flow_renderings_read_back_as_the_value() {
        let value = json!({"a": ["x", "true", "3"], "b": {"c": "it's: here"}, "d": 1});
        for text in [
            format!("k:\n  {}\n", block_yaml(&value, 2)),
            format!("k: {}\n", flow_yaml(&value)),
        ] {
            let node = crate::syntax::tree::parse(&text, crate::diagnostic::FileId(0)).unwrap();
            assert_eq!(node.get("k").unwrap().to_json(), value, "{text}");
        }
    }
}
