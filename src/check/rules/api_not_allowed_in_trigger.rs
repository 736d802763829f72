//! AF045: what an action's trigger does not offer: api calls an event-stream action cannot
//! make (or that do not exist), and event-stream actions run inside a flow.

use super::RuleDoc;
use crate::catalog::api::{self, Trigger};
use crate::check::{Context, Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "In every action and module: api calls the trigger does not offer, such as `api.deny` in an event-stream action, and `api.<name>` methods that do not exist. In flows: Run Custom Action blocks naming an event-stream action, which only subscribed events run.",
    why: "An event-stream action runs after the login is decided; a call that would change the login fails there, and such an action placed in a flow never runs as its author expects.",
    example: example!(
        "af045-deny-in-event-stream",
        ["/actions/forward.js", "/actions/forward.yaml"]
    ),
};

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
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(slug) = cx.action_of(i) else {
            continue;
        };
        if cx
            .ws
            .actions
            .get(slug)
            .is_none_or(|a| a.meta.trigger == Trigger::Login)
        {
            continue;
        }
        let span = info.action().map_or(info.block.id.span, |v| v.span);
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
