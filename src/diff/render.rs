//! A `WorkspaceDiff` as text: human (terminal), markdown (a pull-request comment) and JSON.
//!
//! Human and markdown share one description of every change ([`describe`]): a sign (`+`
//! added, `-` removed, `~` changed, `>` moved) and words in which tenant text is marked as
//! code, so the two formats never disagree on what a change says. Tenant text is escaped
//! before printing: control characters never reach a terminal, and markdown never sees raw
//! backticks, pipes or newlines from a flow.

use super::{Change, ItemDiff, ItemKind, Status, WorkspaceDiff};
use serde_json::Value;
use std::fmt::Write;

/// The JSON form: the diff itself plus `changed` and `summary`.
pub fn json(diff: &WorkspaceDiff) -> String {
    let counts = diff.counts();
    let count = |k: ItemKind| counts.get(&k).copied().unwrap_or(0);
    let value = serde_json::json!({
        "from": diff.from,
        "to": diff.to,
        "changed": diff.has_changes(),
        "summary": {
            "settings": count(ItemKind::Settings),
            "flows": count(ItemKind::Flow),
            "actions": count(ItemKind::Action),
            "modules": count(ItemKind::Module),
            "changes": diff.items.iter().map(|i| i.changes.len().max(1)).sum::<usize>(),
        },
        "items": diff.items,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// A part of a description: plain words, or tenant text shown as code.
enum Part {
    Words(String),
    Code(String),
}

/// One described change: its sign, its words, and for guards the old and new condition.
struct Line {
    sign: char,
    parts: Vec<Part>,
    before_after: Option<(Option<String>, Option<String>)>,
}

fn w(s: impl Into<String>) -> Part {
    Part::Words(s.into())
}

fn c(s: impl Into<String>) -> Part {
    Part::Code(s.into())
}

/// A value as a reader expects it: strings bare, anything else as JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn opt_text(v: &Option<Value>) -> Part {
    match v {
        Some(v) => c(match v {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        }),
        None => w("(unset)"),
    }
}

fn opt_str(v: &Option<String>) -> Part {
    match v {
        Some(s) => c(s.clone()),
        None => w("(none)"),
    }
}

/// `after stage x`, or `first`.
fn after(previous: &Option<String>, what: &str) -> Vec<Part> {
    match previous {
        Some(p) => vec![w(format!("after {what} ")), c(p)],
        None => vec![w("first")],
    }
}

fn describe(change: &Change) -> Line {
    let line = |sign, parts| Line {
        sign,
        parts,
        before_after: None,
    };
    match change {
        Change::Description { old, new } => line(
            '~',
            vec![w("description: "), opt_str(old), w(" -> "), opt_str(new)],
        ),
        Change::StageAdded { stage, position } => line(
            '+',
            vec![
                w("stage "),
                c(stage),
                w(format!(" added at position {position}")),
            ],
        ),
        Change::StageRemoved { stage } => line('-', vec![w("stage "), c(stage), w(" removed")]),
        Change::StageReordered {
            stage,
            old_after,
            new_after,
        } => {
            let mut parts = vec![w("stage "), c(stage), w(" reordered: now ")];
            parts.extend(after(new_after, "stage"));
            parts.push(w(" (was "));
            parts.extend(after(old_after, "stage"));
            parts.push(w(")"));
            line('>', parts)
        }
        Change::BlockAdded {
            block,
            kind,
            stage,
            position,
        } => line(
            '+',
            vec![
                w("block "),
                c(block),
                w(" ("),
                c(kind),
                w(") added to stage "),
                c(stage),
                w(format!(" at position {position}")),
            ],
        ),
        Change::BlockRemoved { block, kind, stage } => line(
            '-',
            vec![
                w("block "),
                c(block),
                w(" ("),
                c(kind),
                w(") removed from stage "),
                c(stage),
            ],
        ),
        Change::BlockMoved {
            block,
            old_stage,
            new_stage,
            position,
        } => line(
            '>',
            vec![
                w("block "),
                c(block),
                w(" moved from stage "),
                c(old_stage),
                w(" to stage "),
                c(new_stage),
                w(format!(" (position {position})")),
            ],
        ),
        Change::BlockReordered {
            block,
            stage,
            old_after,
            new_after,
        } => {
            let mut parts = vec![
                w("block "),
                c(block),
                w(" reordered in stage "),
                c(stage),
                w(": now "),
            ];
            parts.extend(after(new_after, "block"));
            parts.push(w(" (was "));
            parts.extend(after(old_after, "block"));
            parts.push(w(")"));
            line('>', parts)
        }
        Change::BlockType { block, old, new } => line(
            '~',
            vec![
                w("block "),
                c(block),
                w(": type "),
                c(old),
                w(" -> "),
                c(new),
            ],
        ),
        Change::Guard { block, old, new } => Line {
            sign: '~',
            parts: vec![
                w("block "),
                c(block),
                w(match (old, new) {
                    (None, _) => ": guard added",
                    (_, None) => ": guard removed",
                    _ => ": guard changed",
                }),
            ],
            before_after: Some((old.clone(), new.clone())),
        },
        Change::OnError { block, old, new } => line(
            '~',
            vec![
                w("block "),
                c(block),
                w(": on_error "),
                c(old),
                w(" -> "),
                c(new),
            ],
        ),
        Change::Config {
            block,
            key,
            old,
            new,
        } => line(
            '~',
            vec![
                w("block "),
                c(block),
                w(": config "),
                c(key),
                w(": "),
                opt_text(old),
                w(" -> "),
                opt_text(new),
            ],
        ),
        Change::BranchTarget { block, old, new } => line(
            '~',
            vec![
                w("block "),
                c(block),
                w(": branch target "),
                opt_str(old),
                w(" -> "),
                opt_str(new),
            ],
        ),
        Change::Source {
            old_sha256,
            new_sha256,
            ..
        } => line(
            '~',
            vec![w(format!(
                "source changed (sha256 {} -> {})",
                &old_sha256[..12.min(old_sha256.len())],
                &new_sha256[..12.min(new_sha256.len())]
            ))],
        ),
        Change::Facts {
            version,
            facts,
            added,
            removed,
        } => {
            let mut parts = Vec::new();
            if let Some(v) = version {
                parts.push(c(v));
                parts.push(w(" "));
            }
            parts.push(w(format!("{}:", facts.describe())));
            for a in added {
                parts.push(w(" +"));
                parts.push(c(a));
            }
            for r in removed {
                parts.push(w(" -"));
                parts.push(c(r));
            }
            line('~', parts)
        }
        Change::ModulePin { module, old, new } => {
            let pin = |v: &Option<u32>| match v {
                Some(v) => c(format!("v{v}")),
                None => w("(none)"),
            };
            line(
                '~',
                vec![
                    w("module pin "),
                    c(module),
                    w(": "),
                    pin(old),
                    w(" -> "),
                    pin(new),
                ],
            )
        }
        Change::ModuleVersion { version, status } => {
            let (sign, verb) = match status {
                Status::Added => ('+', " added"),
                Status::Removed => ('-', " removed"),
                Status::Modified => ('~', " changed"),
            };
            line(sign, vec![w("version "), c(version), w(verb)])
        }
        Change::Value { key, old, new } => line(
            '~',
            vec![c(key), w(": "), opt_text(old), w(" -> "), opt_text(new)],
        ),
        Change::Entries {
            key,
            added,
            removed,
        } => {
            let mut parts = vec![c(key), w(":")];
            for a in added {
                parts.push(w(" +"));
                parts.push(c(value_text(a)));
            }
            for r in removed {
                parts.push(w(" -"));
                parts.push(c(value_text(r)));
            }
            let sign = match (added.is_empty(), removed.is_empty()) {
                (false, true) => '+',
                (true, false) => '-',
                _ => '~',
            };
            line(sign, parts)
        }
    }
}

fn kind_word(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Settings => "settings",
        ItemKind::Flow => "flow",
        ItemKind::Action => "action",
        ItemKind::Module => "module",
    }
}

/// `3 items changed: settings, 1 flow, 2 actions`.
fn summary(diff: &WorkspaceDiff) -> String {
    if !diff.has_changes() {
        return "no changes".into();
    }
    let mut parts = Vec::new();
    for (kind, n) in diff.counts() {
        parts.push(match kind {
            ItemKind::Settings => "settings".to_string(),
            other => format!("{n} {}{}", kind_word(other), if n == 1 { "" } else { "s" }),
        });
    }
    let n = diff.items.len();
    format!(
        "{n} item{} changed: {}",
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// Tenant text made safe for a terminal: control characters escaped.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() {
            let _ = write!(out, "{}", ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A line's parts as text, each code part written by `code` (escaped for the terminal, or a
/// Markdown code span).
fn joined(parts: &[Part], code: fn(&str) -> String) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Words(s) => s.clone(),
            Part::Code(s) => code(s),
        })
        .collect()
}

/// The terminal form.
pub fn human(diff: &WorkspaceDiff) -> String {
    let mut out = format!(
        "authflow diff: {} -> {}\n",
        printable(&diff.from),
        printable(&diff.to)
    );
    for item in &diff.items {
        out.push('\n');
        let file = item.file.as_deref().map(printable).unwrap_or_default();
        match item.status {
            Status::Added => {
                let _ = writeln!(
                    out,
                    "+ {} {} ({file}) added",
                    kind_word(item.kind),
                    printable(&item.name)
                );
            }
            Status::Removed => {
                let _ = writeln!(
                    out,
                    "- {} {} ({file}) removed",
                    kind_word(item.kind),
                    printable(&item.name)
                );
            }
            Status::Modified => {
                let _ = writeln!(out, "{}", heading(item, &file));
            }
        }
        for change in &item.changes {
            let line = describe(change);
            let _ = writeln!(out, "  {} {}", line.sign, joined(&line.parts, printable));
            if let Some((old, new)) = &line.before_after {
                if let Some(old) = old {
                    let _ = writeln!(out, "      - {}", printable(old));
                }
                if let Some(new) = new {
                    let _ = writeln!(out, "      + {}", printable(new));
                }
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary(diff));
    out
}

fn heading(item: &ItemDiff, file: &str) -> String {
    if item.kind == ItemKind::Settings {
        format!("settings ({file})")
    } else {
        format!(
            "{} {} ({file})",
            kind_word(item.kind),
            printable(&item.name)
        )
    }
}

/// A markdown code span holding `text` exactly, whatever backticks it contains; pipes are
/// escaped so the span is safe inside a table cell.
fn code_span(text: &str) -> String {
    let text = printable(text).replace('|', "\\|");
    let longest = text.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// The pull-request comment form: a summary table, then each item's changes.
pub fn markdown(diff: &WorkspaceDiff) -> String {
    let mut out = format!(
        "### authflow diff: {} → {}\n\n",
        code_span(&diff.from),
        code_span(&diff.to)
    );
    if !diff.has_changes() {
        out.push_str("No changes.\n");
        return out;
    }
    let _ = writeln!(out, "{}.\n", capitalise(&summary(diff)));
    out.push_str("| | item | file | changes |\n|---|---|---|---|\n");
    for item in &diff.items {
        let sign = match item.status {
            Status::Added => "➕ added",
            Status::Removed => "➖ removed",
            Status::Modified => "✏️ changed",
        };
        let _ = writeln!(
            out,
            "| {sign} | {} {} | {} | {} |",
            kind_word(item.kind),
            code_span(&item.name),
            item.file.as_deref().map(code_span).unwrap_or_default(),
            item.changes.len()
        );
    }
    for item in diff.items.iter().filter(|i| !i.changes.is_empty()) {
        let _ = writeln!(
            out,
            "\n#### {} {}\n",
            capitalise(kind_word(item.kind)),
            code_span(&item.name)
        );
        for change in &item.changes {
            let line = describe(change);
            let _ = writeln!(
                out,
                "- {} {}",
                sign_mark(line.sign),
                joined(&line.parts, code_span)
            );
            if let Some((old, new)) = &line.before_after {
                let body: Vec<String> = old
                    .iter()
                    .map(|o| format!("- {}", printable(o)))
                    .chain(new.iter().map(|n| format!("+ {}", printable(n))))
                    .collect();
                let body = body.join("\n");
                let fence = "`".repeat(3.max(longest_backtick_run(&body) + 1));
                let _ = writeln!(out, "  {fence}diff");
                for l in body.lines() {
                    let _ = writeln!(out, "  {l}");
                }
                let _ = writeln!(out, "  {fence}");
            }
        }
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|ch| ch != '`').map(str::len).max().unwrap_or(0)
}

fn sign_mark(sign: char) -> &'static str {
    match sign {
        '+' => "➕",
        '-' => "➖",
        '>' => "↕️",
        _ => "✏️",
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_pipes_and_newlines() {
        assert_eq!(code_span("a"), "`a`");
        assert_eq!(code_span("a`b"), "`` a`b ``");
        assert_eq!(code_span("a|b"), "`a\\|b`");
        assert_eq!(code_span("a\nb"), "`a\\nb`");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(printable("ok\u{1b}[31m"), "ok\\u{1b}[31m");
    }
}
