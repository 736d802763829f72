//! AF035: conditions that do not type-check against the field catalogue.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;
use crate::expr::ExprErrorKind;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (e, span) in cx.condition_problems() {
        if !matches!(
            e.kind,
            ExprErrorKind::Syntax | ExprErrorKind::TooDeep | ExprErrorKind::UnknownField
        ) {
            sink.report(cx.condition_diagnostic(Code::ConditionType, e, span));
        }
    }
}
