//! AF021 and AF022: blocks no path reaches, and paths that end without a decision.

use super::RuleDoc;
use crate::check::{Context, at};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports blocks that no path from the start reaches (after an unconditional Deny, Issue Session or branch), and paths that run past the last block without reaching Issue Session or Deny.",
    why: "An unreachable block is dead configuration that reviewers will wrongly trust; a path without an ending leaves the login undecided, which the platform treats as an error at run time.",
    example: "- id: block-all\n  type: deny\n  config: { reason: maintenance }\n- id: issue\n  type: issue_session      # AF021: nothing reaches it",
};

pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    for i in cx.graph.unreachable_blocks() {
        let block = cx.graph.blocks[i].block;
        let cause = (0..i).rev().find(|&j| {
            let b = &cx.graph.blocks[j];
            !b.guarded() && b.ending() != crate::blocks::Ending::Continues
        });
        let mut d = at(
            cx,
            Code::UnreachableBlock,
            block.id.span,
            format!("block `{}` is never reached", block.id.value),
        )
        .help("remove it, or guard the block that ends the path before it with `when`");
        if let Some(j) = cause {
            d = d.related(
                cx.file,
                cx.graph.blocks[j].block.id.span,
                "every path ends or jumps away here",
            );
        }
        found.push(d);
    }
    for i in cx.graph.blocks_falling_off() {
        let block = cx.graph.blocks[i].block;
        found.push(
            at(cx, Code::PathWithoutEnd, block.id.span, format!("a path runs past `{}`, the end of the flow, without Issue Session or Deny", block.id.value))
                .help("end the flow with an `issue_session` block, or a `deny` block for the paths that must not log in"),
        );
    }
    if cx.graph.blocks.is_empty() {
        found.push(
            at(
                cx,
                Code::PathWithoutEnd,
                cx.flow.name.span,
                "the flow has no blocks, so no login can end",
            )
            .help("add at least an `issue_session` or a `deny` block"),
        );
    }
    for d in found {
        cx.report(d);
    }
}
