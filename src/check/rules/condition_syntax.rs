//! AF034: conditions that do not parse.

use super::RuleDoc;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;
use crate::expr::ExprErrorKind;

pub const DOC: RuleDoc = RuleDoc {
    what: "Parses every `when` condition with grammar/expr.pest and reports the ones that do not parse, or nest too deeply, at the exact position inside the YAML scalar or the DSL parentheses.",
    why: "A condition that cannot evaluate decides logins by accident: the platform would skip the guarded block or fail the run.",
    example: example!("af034-condition-syntax.yaml"),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for (e, span) in cx.condition_problems() {
        if matches!(e.kind, ExprErrorKind::Syntax | ExprErrorKind::TooDeep) {
            sink.report(cx.condition_diagnostic(Code::ConditionSyntax, e, span));
        }
    }
}
