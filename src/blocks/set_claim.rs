//! Set Custom Claim: a custom claim for the session Issue Session signs.

use super::{BlockType, ConfigKind, Execution, Lowering, Native, Op, Step, ValueRule, required};
use crate::compile::Template;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub static ROW: BlockType = BlockType {
    name: "set_claim",
    title: "Set Custom Claim",
    doc: "Adds a custom claim to the session that Issue Session will sign.",
    summary: "`name`, `value` (template): a custom claim on the session",
    config: &[
        required(
            "name",
            ConfigKind::String,
            "The claim name; not one the token sets itself or JWT and OpenID Connect reserve.",
        )
        .with_rule(ValueRule::NoneOf(super::issue_session::RESERVED_CLAIMS)),
        required(
            "value",
            ConfigKind::Template,
            "The claim value; templates are filled in.",
        ),
    ],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SetClaim {
    pub name: String,
    pub value: Template,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::set_claim(SetClaim {
        name: cx.text("name"),
        value: cx.template("value"),
    }))
}

impl Native for SetClaim {
    fn run(&self, cx: &mut Execution) -> Step {
        let value = Value::String(self.value.render(&cx.state.ctx));
        cx.trace.claims.insert(self.name.clone(), value.clone());
        cx.state.claims.insert(self.name.clone(), value);
        Step::Continue
    }
}
