//! AF030, AF031, AF033: event fields read before the block that populates them on some path,
//! and reads of fields the catalogue does not have.

use super::RuleDoc;
use crate::blocks::Fact;
use crate::check::reads::ReadOrigin;
use crate::check::types::unknown_event_field;
use crate::check::{Context, fact_for};
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "For every read of an event field, in conditions, templates and custom action source, checks that the field is populated on every path reaching the reading block: `event.user.*` needs an Identity Lookup before it (an error when the read would throw, i.e. is not optional-chained as `event.user?.email`); `event.authentication.risk_score` needs a Risk Evaluate before it (a warning: it reads 0). Also reports template and action reads of fields the catalogue does not have, with the closest name.",
    why: "This is the misconfiguration the console cannot show: an action moved before Identity Lookup throws on `event.user.email` for every login, and a risk rule placed before Risk Evaluate silently never fires.",
    example: "stages:\n  - name: pre\n    blocks:\n      - id: vip\n        type: deny\n        when: event.user.app_metadata.blocked == true   # AF030: no Identity Lookup yet\n        config: { reason: blocked }",
};

pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    for read in cx.reads.iter().filter(|r| r.root() == "event") {
        let names = read.names();
        if names.len() < 2 {
            continue;
        }
        let label_block = &cx.graph.blocks[read.block];
        let in_action = read.origin == ReadOrigin::Action;
        if matches!(
            crate::catalog::event::lookup(&names[1..]),
            crate::catalog::event::FieldLookup::Unknown
        ) {
            if read.origin == ReadOrigin::Condition {
                continue; // the condition type checker reports it, with the segment's span
            }
            let error = unknown_event_field(&names);
            let span = read
                .segments
                .get(error.segment)
                .map_or(read.span, |s| s.span);
            let mut d = Diagnostic::new(Code::UnknownField, read.file, span, error.message);
            if let Some(s) = error.suggestion {
                d = d.help(format!("did you mean `{s}`?"));
            }
            if in_action {
                d = d.severity(crate::diagnostic::Severity::Warning);
            }
            found.push(d);
            continue;
        }
        let Some(available) = &cx.available[read.block] else {
            continue;
        };
        let Some(fact) = fact_for(&names) else {
            continue;
        };
        if available.has(fact) {
            continue;
        }
        let block_ref = format!("block `{}`", label_block.block.id.value);
        let d = match fact {
            Fact::UserLoaded if read.guarded => continue,
            Fact::UserLoaded => Diagnostic::new(Code::FieldNotAvailable, read.file, read.span, format!("`{}` is read before Identity Lookup on some path to {block_ref}", read.dotted()))
                .label("event.user is undefined here")
                .help("move the block after an unguarded `identity_lookup` block, or read it as `event.user?.…` and handle its absence"),
            Fact::RiskEvaluated => Diagnostic::new(Code::RiskScoreBeforeEvaluate, read.file, read.span, format!("`{}` is read before Risk Evaluate on some path to {block_ref}: it reads 0", read.dotted()))
                .help("put a `risk_evaluate` block on every path before this one"),
            _ => continue,
        };
        let d = if read.file != cx.file {
            d.related(cx.file, label_block.block.id.span, "the action runs here")
        } else {
            d
        };
        found.push(d);
    }
    for d in found {
        cx.report(d);
    }
}
