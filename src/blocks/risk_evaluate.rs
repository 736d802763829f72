//! Risk Evaluate: scores the request's signals (`run::risk`) and may deny above a limit.

use super::{BlockType, ConfigKind, Execution, Fact, Lowering, Native, Op, Step, optional};
use crate::run::risk;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub static ROW: BlockType = BlockType {
    name: "risk_evaluate",
    title: "Risk Evaluate",
    doc: "Computes authentication.risk_score (0-100) from the request signals: Tor +60, VPN +25, datacenter +20, bot +30, bogon +15, low fingerprint confidence up to +15; capped at 100. With `deny_above`, denies with `risk-too-high` when the score is higher.",
    summary: "scores the request 0-100 (Tor 60, VPN 25, datacenter 20, bot 30, bogon 15, fingerprint uncertainty up to 15); `deny_above: N`",
    makes_available: "`authentication.risk_score`",
    config: &[optional(
        "deny_above",
        ConfigKind::Number,
        None,
        "Deny when the score is strictly above this (0-100).",
    )],
    provides: &[Fact::RiskEvaluated],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RiskEvaluate {
    pub deny_above: Option<f64>,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::risk_evaluate(RiskEvaluate {
        deny_above: cx.number("deny_above"),
    }))
}

impl Native for RiskEvaluate {
    fn run(&self, cx: &mut Execution) -> Step {
        let score = risk::score(&cx.state.ctx["event"]["request"]);
        cx.state.ctx["event"]["authentication"]["risk_score"] = json!(score);
        cx.trace.reason = Some(format!("risk score {score}"));
        match self.deny_above {
            Some(limit) if f64::from(score) > limit => Step::Deny("risk-too-high".into()),
            _ => Step::Continue,
        }
    }
}
