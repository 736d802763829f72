//! AF010: two blocks of one flow share an id.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    // The graph indexes each id by its first block; any other block with that id repeats it.
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let first = cx.graph.by_id[info.block.id.as_str()];
        if first == i {
            continue;
        }
        let block = info.block;
        sink.report(
            cx.at(
                Code::DuplicateBlockId,
                block.id.span,
                format!("duplicate block id `{}`", block.id.value),
            )
            .label("used again here")
            .help("give every block a unique id")
            .related(
                cx.file,
                cx.graph.blocks[first].block.id.span,
                "first used here",
            ),
        );
    }
}
