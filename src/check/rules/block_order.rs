//! AF023: a built-in block runs before a block it depends on, on some path.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let (Some(ty), Some(available)) = (info.ty, &cx.available[i]) else {
            continue;
        };
        for need in ty.requires.iter().filter(|need| !available.has(**need)) {
            sink.report(
                cx.at(
                    Code::BlockOrder,
                    info.block.kind.span,
                    format!(
                        "`{}` can run before {} on some path",
                        ty.name,
                        need.describe()
                    ),
                )
                .label(format!("needs {}", need.describe()))
                .help(format!(
                    "put {} (unguarded) on every path before `{}`",
                    need.describe(),
                    info.block.id.value
                )),
            );
        }
    }
}
