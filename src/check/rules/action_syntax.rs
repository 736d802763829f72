//! AF046: action and module JavaScript that does not parse, and actions that export no
//! handler for their trigger.

use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for source in &cx.sources {
        for e in &source.facts.syntax_errors {
            sink.report(
                Diagnostic::new(
                    Code::ActionSyntax,
                    source.file,
                    e.span,
                    format!("JavaScript syntax error: {}", e.message),
                )
                .help(
                    e.help.clone().unwrap_or_else(|| {
                        "fix the syntax; the action would fail on every run".into()
                    }),
                ),
            );
        }
    }
    for (source, slug, action) in cx.actions() {
        let trigger = action.meta.trigger;
        let facts = source.facts;
        if !facts.syntax_errors.is_empty()
            || facts.handler.as_ref().map(|h| h.kind) == Some(trigger)
        {
            continue;
        }
        sink.report(
            Diagnostic::new(
                Code::ActionSyntax,
                source.file,
                facts
                    .handler
                    .as_ref()
                    .map_or_else(Default::default, |h| h.span),
                format!(
                    "`{slug}` does not export `exports.{}`",
                    trigger.export_name()
                ),
            )
            .help(format!(
                "a {} action exports `exports.{} = async (event, api) => {{ ... }}`",
                trigger.name(),
                trigger.export_name()
            )),
        );
    }
}
