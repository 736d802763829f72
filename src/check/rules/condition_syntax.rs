//! AF034: conditions that do not parse.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;
use crate::expr::ExprErrorKind;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (e, span) in cx.condition_problems() {
        if matches!(e.kind, ExprErrorKind::Syntax | ExprErrorKind::TooDeep) {
            sink.report(cx.condition_diagnostic(Code::ConditionSyntax, e, span));
        }
    }
}
