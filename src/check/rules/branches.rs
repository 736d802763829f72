//! AF012 and AF020: branch targets that do not exist, and branches that jump backwards.

use super::RuleDoc;
use crate::check::{Context, at};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports a branch whose `to` names no block of the flow, and a branch whose target is not later in the flow, which would form a loop.",
    why: "A login flow must terminate: the platform runs its graph as a DAG. A jump to a missing block would fail every login that takes it.",
    example: "- id: retry\n  type: branch\n  when: event.authentication.aal == \"aal0\"\n  config:\n    to: lookup           # AF020 if `lookup` is earlier in the flow",
};

pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(to) = info.jump_target() else {
            continue;
        };
        let Some(target) = to.as_str() else { continue };
        if info.jump_to.is_none() {
            let ids = cx.graph.blocks[i + 1..].iter().map(|b| b.block.id.as_str());
            let mut d = at(
                cx,
                Code::UnknownBranchTarget,
                to.span,
                format!("branch target `{target}` is not a block of this flow"),
            );
            d = match crate::catalog::closest(target, ids) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("name the id of a block later in the flow"),
            };
            found.push(d);
        }
    }
    for &(from, to) in &cx.graph.backward_jumps {
        let target = &cx.graph.blocks[to];
        let branch = &cx.graph.blocks[from];
        let span = branch
            .jump_target()
            .map_or(branch.block.id.span, |v| v.span);
        let what = if from == to {
            "itself".to_string()
        } else {
            format!("`{}`, which comes before it", target.block.id.value)
        };
        found.push(
            at(cx, Code::Cycle, span, format!("branch `{}` jumps back to {what}: this forms a loop", branch.block.id.value))
                .help("branches may only jump forward; restructure the flow so the retried part comes after the branch")
                .related(cx.file, target.block.id.span, "the loop starts here"),
        );
    }
    for d in found {
        cx.report(d);
    }
}
