//! AF020: a branch that jumps backwards, which would form a loop.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
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
        sink.report(
            cx.at(Code::Cycle, span, format!("branch `{}` jumps back to {what}: this forms a loop", branch.block.id.value))
                .help("branches may only jump forward; restructure the flow so the retried part comes after the branch")
                .related(cx.file, target.block.id.span, "the loop starts here"),
        );
    }
}
