//! Deny: ends the run, denied, with a reason.

use super::{BlockType, ConfigKind, Ending, Execution, Lowering, Native, Op, Step, required};
use crate::compile::Template;
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "deny",
    title: "Deny",
    doc: "Ends the run, denied, with a reason. Guard it with `when` to deny only some logins.",
    summary: "ends the run denied with `reason` (template)",
    config: &[required(
        "reason",
        ConfigKind::Template,
        "The deny reason returned to the client; templates are filled in.",
    )],
    ending: Ending::Deny,
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Deny {
    pub reason: Template,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::deny(Deny {
        reason: cx.template("reason"),
    }))
}

impl Native for Deny {
    fn run(&self, cx: &mut Execution) -> Step {
        Step::Deny(self.reason.render(&cx.state.ctx))
    }
}
