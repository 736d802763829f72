//! AF091: stream bindings that cannot work: a stream binds an action that does not exist, is
//! a login action, or does not handle every type the stream delivers; and a login action
//! that declares `events:`.

use crate::catalog::api::Trigger;
use crate::catalog::stream_events;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for stream in cx.streams {
        for bound in &stream.spec.actions {
            let slug = bound.value.as_str();
            let Some(action) = cx.ws.actions.get(slug) else {
                let d = Diagnostic::new(
                    Code::StreamBinding,
                    stream.file,
                    bound.span,
                    format!("the workspace has no action `{slug}`"),
                );
                sink.report(
                    match crate::catalog::closest(slug, cx.ws.actions.keys().map(String::as_str)) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!(
                            "create actions/{slug}.js with `exports.onExecuteEventStream` and actions/{slug}.yaml with `trigger: event-stream`"
                        )),
                    },
                );
                continue;
            };
            if action.meta.trigger != Trigger::EventStream {
                let mut d = Diagnostic::new(
                    Code::StreamBinding,
                    stream.file,
                    bound.span,
                    format!("`{slug}` is a login action; streams run only event-stream actions"),
                )
                .help(format!(
                    "set `trigger: event-stream` in actions/{slug}.yaml and export `exports.onExecuteEventStream`, or bind another action"
                ));
                if let Some(meta) = action.meta_file {
                    d = d.related(meta, cx.ws.yaml_span(meta, &["trigger"]), "its trigger");
                }
                sink.report(d);
                continue;
            }
            let unhandled: Vec<&str> = stream
                .event_names()
                .filter(|t| stream_events::event_type(t).is_some())
                .filter(|t| !action.meta.events.iter().any(|e| e == t))
                .collect();
            if !unhandled.is_empty() {
                let mut d = Diagnostic::new(
                    Code::StreamBinding,
                    stream.file,
                    bound.span,
                    format!(
                        "`{slug}` does not handle {} that stream `{}` delivers",
                        unhandled
                            .iter()
                            .map(|t| format!("`{t}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        stream.name
                    ),
                )
                .help(format!(
                    "add them to `events:` in actions/{slug}.yaml, or bind the action to a stream of the types it handles"
                ));
                if let Some(meta) = action.meta_file {
                    d = d.related(
                        meta,
                        cx.ws.yaml_span(meta, &["events"]),
                        "the types it handles",
                    );
                }
                sink.report(d);
            }
        }
    }
    for action in cx.ws.actions.values() {
        let Some(meta) = action.meta_file else {
            continue;
        };
        if action.meta.trigger == Trigger::Login && !action.meta.events.is_empty() {
            sink.report(
                Diagnostic::new(
                    Code::StreamBinding,
                    meta,
                    cx.ws.yaml_span(meta, &["events"]),
                    format!(
                        "`{}` is a login action: `events:` has no effect",
                        action.slug
                    ),
                )
                .help("event types belong to event-stream actions (`trigger: event-stream`)"),
            );
        }
    }
}
