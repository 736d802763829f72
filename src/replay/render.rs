//! A replay `Report` as text: the summary counts, then the first changes in full (human), or
//! the same as JSON with every changed login listed by id and kind.
//!
//! Tenant text (ids, reasons, claim values) is escaped before it reaches a terminal.

use super::{Kind, Report};
use crate::diff::render::printable;
use serde_json::{Value, json};
use std::fmt::Write;

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Unchanged => "unchanged",
        Kind::AllowToDeny => "allow -> deny",
        Kind::DenyToAllow => "deny -> allow",
        Kind::Other => "other change",
    }
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(v) => printable(&v.to_string()),
    }
}

/// The terminal form, with the first `show` changes in full.
pub fn human(report: &Report, show: usize) -> String {
    let s = &report.summary;
    let mut out = format!(
        "authflow replay: flow {}, {} -> {}\n{} recorded login{} replayed: {} unchanged, {} allow -> deny, {} deny -> allow, {} other change{}\n",
        printable(&report.flow),
        printable(&report.from),
        printable(&report.to),
        s.total,
        if s.total == 1 { "" } else { "s" },
        s.unchanged,
        s.allow_to_deny,
        s.deny_to_allow,
        s.other_changes,
        if s.other_changes == 1 { "" } else { "s" },
    );
    if report.changed.is_empty() || show == 0 {
        return out;
    }
    let shown = show.min(report.changed.len());
    let _ = writeln!(
        out,
        "\n{} of {} changed login{}:",
        if shown == report.changed.len() {
            "all".to_string()
        } else {
            format!("first {shown}")
        },
        report.changed.len(),
        if report.changed.len() == 1 { "" } else { "s" }
    );
    for changed in report.changed.iter().take(shown) {
        let name = if changed.name == changed.id {
            String::new()
        } else {
            format!(" ({})", printable(&changed.name))
        };
        let _ = writeln!(
            out,
            "\n{}{name}: {}",
            printable(&changed.id),
            kind_text(changed.kind)
        );
        for d in &changed.differences {
            let _ = writeln!(
                out,
                "    {}: {} -> {}",
                printable(&d.field),
                value_text(&d.old),
                value_text(&d.new)
            );
        }
    }
    out
}

/// The JSON form: the summary, the first `show` changes in full, and every changed login by
/// id and kind.
pub fn json(report: &Report, show: usize) -> String {
    let value = json!({
        "flow": report.flow,
        "from": report.from,
        "to": report.to,
        "changed": report.has_changes(),
        "summary": report.summary,
        "changes": report.changed.iter().take(show).collect::<Vec<_>>(),
        "changed_logins": report
            .changed
            .iter()
            .map(|c| json!({"id": c.id, "kind": c.kind}))
            .collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
