//! AF023: a built-in block runs before a block it depends on, on some path.

use super::RuleDoc;
use crate::check::{Context, at};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports a built-in block that can run before what it needs: Password Check and MFA need an Identity Lookup, MFA needs a first factor, Issue Session needs an identified user and a verified first factor, on every path that reaches it. A guarded block counts only on the paths where its guard holds, so it never satisfies a later block.",
    why: "Issuing a session before the password was checked is an authentication bypass; the console forbids that order and files must too.",
    example: "- id: issue\n  type: issue_session      # AF023: no Password Check runs before it\n- id: password\n  type: password_check",
};

pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let (Some(ty), Some(available)) = (info.ty, &cx.available[i]) else {
            continue;
        };
        for need in ty.requires {
            if !available.has(*need) {
                found.push(
                    at(
                        cx,
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
    for d in found {
        cx.report(d);
    }
}
