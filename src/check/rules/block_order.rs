//! AF023: a built-in block runs before a block it depends on, on some path.

use super::RuleDoc;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports a built-in block that can run before what its catalogue row requires, on some path that reaches it: Password Check and MFA need an Identity Lookup, MFA needs a first factor, Issue Session needs an identified user and a verified first factor. A guarded block counts only on the paths where its guard holds, so it never satisfies a later block.",
    why: "Issuing a session before the password was checked is an authentication bypass; the console forbids that order and files must too.",
    example: example!("af023-issue-before-password.yaml"),
};

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
