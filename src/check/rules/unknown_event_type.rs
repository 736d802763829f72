//! AF090: event types that the catalogue does not know, in stream files (`events:`) and in
//! event-stream actions' metadata (`events:`), with "did you mean".

use crate::catalog::api::Trigger;
use crate::catalog::stream_events;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for stream in cx.streams {
        for event in &stream.spec.events {
            if stream_events::event_type(&event.value).is_none() {
                sink.report(unknown_type(stream.file, event.span, &event.value));
            }
        }
        if stream.spec.events.is_empty() {
            sink.report(
                Diagnostic::new(
                    Code::UnknownEventType,
                    stream.file,
                    Span::default(),
                    format!("stream `{}` subscribes to no event type", stream.name),
                )
                .help(format!(
                    "list event types under `events:`: {}",
                    stream_events::names().join(", ")
                )),
            );
        }
    }
    // A login action's `events:` is a binding problem (AF091), not an unknown type.
    for action in cx.ws.actions.values() {
        let Some(meta) = action.meta_file else {
            continue;
        };
        if action.meta.trigger == Trigger::Login {
            continue;
        }
        for name in &action.meta.events {
            if stream_events::event_type(name).is_none() {
                sink.report(unknown_type(
                    meta,
                    cx.ws.yaml_span(meta, &["events", name]),
                    name,
                ));
            }
        }
    }
}

/// The diagnostic for an unknown event type at `span` of `file`.
fn unknown_type(file: FileId, span: Span, name: &str) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownEventType,
        file,
        span,
        format!("`{name}` is not an event type"),
    );
    match stream_events::suggest(name) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
            "event types: {}",
            stream_events::names().join(", ")
        )),
    }
}
