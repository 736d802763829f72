//! AF011: block types that are not in the block catalogue.

use crate::blocks;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for info in cx.graph.blocks.iter().filter(|b| b.ty.is_none()) {
        let kind = &info.block.kind;
        let d = cx
            .at(
                Code::UnknownBlockType,
                kind.span,
                format!("unknown block type `{}`", kind.value),
            )
            .label("not in the block catalogue");
        sink.report(match blocks::suggest(&kind.value) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!(
                "block types are: {}",
                blocks::BLOCKS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        });
    }
}
