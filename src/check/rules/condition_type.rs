//! AF035: conditions that do not type-check against the field catalogue.

use super::RuleDoc;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;
use crate::expr::ExprErrorKind;

pub const DOC: RuleDoc = RuleDoc {
    what: "Type-checks every `when` condition against the event field catalogue and the flow's actions: comparisons of a string field with a number, boolean operators on non-booleans, unknown functions. (Unknown fields are AF033.)",
    why: "A condition that cannot evaluate decides logins by accident. Type errors are caught here, with the exact position inside the YAML scalar.",
    example: example!("af035-string-vs-number.yaml"),
};

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
