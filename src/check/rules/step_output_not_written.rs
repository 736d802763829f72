//! AF032: `step.<slug>.<key>` read where no upstream action writes it on every path.

use crate::check::{Context, Sink};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &Context, sink: &mut Sink) {
    for read in cx.reads.iter().filter(|r| r.root() == "step") {
        let (Some(slug), Some(key)) = (read.segments.get(1), read.segments.get(2)) else {
            continue;
        };
        let Some(available) = &cx.available[read.block] else {
            continue;
        };
        // A slug no block of the flow runs is an unknown field (AF033), not a missing write.
        if !cx.flow_actions.contains(&slug.name)
            || available
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
        sink.report(
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
}
