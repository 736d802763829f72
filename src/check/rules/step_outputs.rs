//! AF032 (and AF033 for unknown slugs): `step.<slug>.<key>` read where no upstream action
//! writes it on every path.

use super::RuleDoc;
use crate::check::Context;
use crate::check::reads::ReadOrigin;
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "For every `step.<slug>.<key>` read in a condition or template, checks that an enabled action with that slug writes `<key>` with `api.state.set('<key>', ...)` (a string literal) in an unguarded Run Custom Action block on every path before the reading block.",
    why: "An unset step output reads as missing: a branch on it never fires and a template renders empty, so the flow silently does something else than its author meant.",
    example: "- id: review\n  type: branch\n  when: step.log-user.contry == \"RU\"   # AF032: log-user writes seen_email, country\n  config: { to: regional-review }",
};

pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    for read in cx.reads.iter().filter(|r| r.root() == "step") {
        let (Some(slug), Some(key)) = (read.segments.get(1), read.segments.get(2)) else {
            continue;
        };
        let Some(available) = &cx.available[read.block] else {
            continue;
        };
        if !cx.flow_actions.contains(&slug.name) {
            if read.origin != ReadOrigin::Condition {
                let mut d = Diagnostic::new(
                    Code::UnknownField,
                    read.file,
                    slug.span,
                    format!(
                        "no Run Custom Action block of this flow runs an action `{}`",
                        slug.name
                    ),
                );
                if let Some(s) =
                    crate::catalog::closest(&slug.name, cx.flow_actions.iter().map(String::as_str))
                {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                found.push(d);
            }
            continue;
        }
        if available
            .steps
            .contains(&(slug.name.clone(), key.name.clone()))
        {
            continue;
        }
        let writes: Vec<String> = cx
            .actions
            .get(&slug.name)
            .map(|f| {
                f.state_writes
                    .iter()
                    .filter_map(|w| w.key.clone())
                    .collect()
            })
            .unwrap_or_default();
        let help = if writes.contains(&key.name) {
            let enabled = cx
                .ws
                .actions
                .get(&slug.name)
                .is_some_and(|a| a.meta.enabled);
            if enabled {
                format!(
                    "`{}` writes `{}`, but not before this block on every path: move its Run Custom Action block earlier, or unguard it",
                    slug.name, key.name
                )
            } else {
                format!(
                    "`{}` writes `{}` but is disabled, so it never runs in a flow: enable it",
                    slug.name, key.name
                )
            }
        } else if writes.is_empty() {
            format!("`{}` writes no state with a literal key", slug.name)
        } else {
            match crate::catalog::closest(&key.name, writes.iter().map(String::as_str)) {
                Some(s) => format!(
                    "did you mean `step.{}.{s}`? `{}` writes: {}",
                    slug.name,
                    slug.name,
                    writes.join(", ")
                ),
                None => format!("`{}` writes: {}", slug.name, writes.join(", ")),
            }
        };
        found.push(
            Diagnostic::new(
                Code::StepOutputNotWritten,
                read.file,
                read.span,
                format!(
                    "`step.{}.{}` is not written before block `{}` on every path",
                    slug.name, key.name, cx.graph.blocks[read.block].block.id.value
                ),
            )
            .help(help),
        );
    }
    for d in found {
        cx.report(d);
    }
}
