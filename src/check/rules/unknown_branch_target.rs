//! AF012: a branch whose target is no block of the flow.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(to) = info.jump_target() else {
            continue;
        };
        let Some(target) = to.as_str() else { continue };
        if info.jump_to.is_some() {
            continue;
        }
        let ids = cx.graph.blocks[i + 1..].iter().map(|b| b.block.id.as_str());
        let d = cx.at(
            Code::UnknownBranchTarget,
            to.span,
            format!("branch target `{target}` is not a block of this flow"),
        );
        sink.report(match crate::catalog::closest(target, ids) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("name the id of a block later in the flow"),
        });
    }
}
