//! Branch: a forward jump, taken when the block's guard holds.

use super::{BlockType, ConfigKind, Ending, Execution, Lowering, Native, Op, Step, required};
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "branch",
    title: "Branch",
    doc: "Jumps forward to the block named by `to` when its `when` condition holds (always, without one); otherwise control falls through to the next block.",
    summary: "jumps forward `to: <block id>` when `when` holds (always without one)",
    config: &[required(
        "to",
        ConfigKind::BlockRef,
        "The id of a later block.",
    )],
    ending: Ending::Jump,
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Branch {
    /// Jump to block index `to` when the guard holds (always without one).
    pub to: usize,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    let to = cx.jump_to.ok_or("the branch has no forward target")?;
    Ok(Op::branch(Branch { to }))
}

impl Native for Branch {
    fn jump(&self) -> Option<usize> {
        Some(self.to)
    }

    fn run(&self, cx: &mut Execution) -> Step {
        if cx.guard.unwrap_or(true) {
            Step::Jump(self.to)
        } else {
            cx.trace.reason = Some("its `when` condition is false: no jump".into());
            Step::Continue
        }
    }
}
