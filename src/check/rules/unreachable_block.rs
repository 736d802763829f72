//! AF021: blocks no path reaches.

use crate::blocks::Ending;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for i in cx.graph.unreachable_blocks() {
        let block = cx.graph.blocks[i].block;
        let cause = (0..i).rev().find(|&j| {
            let b = &cx.graph.blocks[j];
            !b.guarded() && b.ending() != Ending::Continues
        });
        let mut d = cx
            .at(
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
        sink.report(d);
    }
}
