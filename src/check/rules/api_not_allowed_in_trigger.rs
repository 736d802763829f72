//! AF045: what an action's trigger does not offer: api calls an event-stream action cannot
//! make (or that do not exist), and event-stream actions run inside a flow.

use crate::catalog::api::{self, Trigger};
use crate::check::{Context, Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

/// The workspace pass: api calls by trigger.
pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for source in &cx.sources {
        for call in &source.facts.api_calls {
            match api::method(&call.method) {
                None => sink.report(
                    Diagnostic::new(Code::ApiNotAllowedInTrigger, source.file, call.span, format!("`api.{}` does not exist", call.method)).help(format!(
                        "the api offers: {}",
                        api::API_METHODS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
                    )),
                ),
                Some(m) if source.trigger == Trigger::EventStream && !m.event_stream => sink.report(
                    Diagnostic::new(Code::ApiNotAllowedInTrigger, source.file, call.span, format!("event-stream actions cannot call `api.{}`", m.name))
                        .help("event-stream actions run after the fact and cannot change the login; log or fetch instead"),
                ),
                Some(_) => {}
            }
        }
    }
}

/// The flow pass: Run Custom Action blocks naming an event-stream action.
pub fn run_in_flow(cx: &Context, sink: &mut Sink) {
    for (slug, span) in cx.named_actions() {
        if cx
            .ws
            .actions
            .get(slug)
            .is_none_or(|a| a.meta.trigger == Trigger::Login)
        {
            continue;
        }
        sink.report(
            cx.at(
                Code::ApiNotAllowedInTrigger,
                span,
                format!("`{slug}` is an event-stream action; flows run only login actions"),
            )
            .help("event-stream actions run on subscribed events, not inside a flow"),
        );
    }
}
