//! AF033: reads of `event.*` fields the catalogue does not have, and of `step.<slug>` for a
//! slug no block of the flow runs, in conditions, templates and action source.

use crate::check::reads::ReadOrigin;
use crate::check::types::unknown_event_field;
use crate::check::{Context, Sink, is_unknown_event_field};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::expr::ExprErrorKind;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (e, span) in cx.condition_problems() {
        if e.kind == ExprErrorKind::UnknownField {
            sink.report(cx.condition_diagnostic(Code::UnknownField, e, span));
        }
    }
    // Conditions' unknown fields are the type checker's, reported above with its spans.
    for read in cx
        .reads
        .iter()
        .filter(|r| r.origin != ReadOrigin::Condition)
    {
        let names = read.names();
        match read.root() {
            "event" if names.len() >= 2 && is_unknown_event_field(&names) => {
                let error = unknown_event_field(&names);
                let span = read
                    .segments
                    .get(error.segment)
                    .map_or(read.span, |s| s.span);
                let mut d = Diagnostic::new(Code::UnknownField, read.file, span, error.message);
                if let Some(s) = error.suggestion {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                if read.origin == ReadOrigin::Action {
                    d = d.severity(Severity::Warning);
                }
                sink.report(d);
            }
            "step" => {
                let (Some(slug), Some(_)) = (read.segments.get(1), read.segments.get(2)) else {
                    continue;
                };
                if cx.available[read.block].is_none() || cx.flow_actions.contains(&slug.name) {
                    continue;
                }
                let mut d = Diagnostic::new(
                    Code::UnknownField,
                    read.file,
                    slug.span,
                    format!(
                        "no Run Custom Action block of this flow runs an action `{}`",
                        slug.name
                    ),
                );
                if let Some(s) =
                    crate::catalog::closest(&slug.name, cx.flow_actions.iter().map(String::as_str))
                {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                sink.report(d);
            }
            _ => {}
        }
    }
}
