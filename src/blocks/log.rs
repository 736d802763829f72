//! Log: a log line in the trace.

use super::{
    BlockType, ConfigDefault, ConfigKind, Execution, Lowering, Native, Op, Step, optional, required,
};
use crate::compile::Template;
use crate::run::trace::LogEntry;
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "log",
    title: "Log",
    doc: "Writes a log line to the trace.",
    summary: "`message` (template), `level`",
    config: &[
        optional(
            "level",
            ConfigKind::OneOf(crate::catalog::api::LOG_LEVELS),
            Some(ConfigDefault::Text("info")),
            "The level (default info).",
        ),
        required(
            "message",
            ConfigKind::Template,
            "The message; templates are filled in.",
        ),
    ],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Log {
    pub level: String,
    pub message: Template,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::log(Log {
        level: cx.text("level"),
        message: cx.template("message"),
    }))
}

impl Native for Log {
    fn run(&self, cx: &mut Execution) -> Step {
        cx.trace.logs.push(LogEntry {
            level: self.level.clone(),
            message: self.message.render(&cx.state.ctx),
        });
        Step::Continue
    }
}
