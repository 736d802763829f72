//! AF010: two blocks of one flow share an id.

use super::RuleDoc;
use crate::check::{Context, at};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports a block whose id an earlier block of the same flow already uses.",
    why: "Branches, traces and `step` outputs name blocks by id; with two blocks of one id a branch could land on either and a trace could not say which ran.",
    example: "- id: lookup\n  type: identity_lookup\n- id: lookup      # AF010: rename one of them\n  type: password_check",
};

pub fn run(cx: &mut Context) {
    // The graph indexes each id by its first block; any other block with that id repeats it.
    let found: Vec<(usize, usize)> = (0..cx.graph.blocks.len())
        .filter_map(|i| {
            let first = cx.graph.by_id[cx.graph.blocks[i].block.id.as_str()];
            (first != i).then_some((i, first))
        })
        .collect();
    for (i, earlier) in found {
        let block = cx.graph.blocks[i].block;
        let earlier_span = cx.graph.blocks[earlier].block.id.span;
        let d = at(
            cx,
            Code::DuplicateBlockId,
            block.id.span,
            format!("duplicate block id `{}`", block.id.value),
        )
        .label("used again here")
        .help("give every block a unique id")
        .related(cx.file, earlier_span, "first used here");
        cx.report(d);
    }
}
