//! AF022: paths that run past the last block without a decision.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for i in cx.graph.blocks_falling_off() {
        let block = cx.graph.blocks[i].block;
        sink.report(
            cx.at(Code::PathWithoutEnd, block.id.span, format!("a path runs past `{}`, the end of the flow, without Issue Session or Deny", block.id.value))
                .help("end the flow with an `issue_session` block, or a `deny` block for the paths that must not log in"),
        );
    }
    if cx.graph.blocks.is_empty() {
        sink.report(
            cx.at(
                Code::PathWithoutEnd,
                cx.flow.name.span,
                "the flow has no blocks, so no login can end",
            )
            .help("add at least an `issue_session` or a `deny` block"),
        );
    }
}
