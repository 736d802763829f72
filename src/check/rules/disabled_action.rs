//! AF041: a Run Custom Action block or a stream names a disabled action.

use crate::catalog::api::Trigger;
use crate::check::{Context, Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &Context, sink: &mut Sink) {
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(slug) = cx.action_of(i) else {
            continue;
        };
        let Some(action) = cx.ws.actions.get(slug) else {
            continue;
        };
        // An event-stream action in a flow is a wrong trigger (AF045) before it is disabled.
        if action.meta.trigger != Trigger::Login || action.meta.enabled {
            continue;
        }
        let span = info.action().map_or(info.block.id.span, |v| v.span);
        let mut d = cx
            .at(
                Code::DisabledAction,
                span,
                format!("action `{slug}` is disabled: this block is skipped at run time"),
            )
            .help(format!("set `enabled: true` in actions/{slug}.yaml"));
        if let Some(file) = action.meta_file {
            d = d.related(file, cx.ws.yaml_span(file, &["enabled"]), "disabled here");
        }
        sink.report(d);
    }
}

/// Streams that bind a disabled event-stream action (other bindings are AF091's).
pub fn run_in_streams(cx: &WorkspaceContext, sink: &mut Sink) {
    for stream in cx.streams {
        for bound in &stream.spec.actions {
            let slug = bound.value.as_str();
            let Some(action) = cx.ws.actions.get(slug) else {
                continue;
            };
            if action.meta.trigger != Trigger::EventStream || action.meta.enabled {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::DisabledAction,
                stream.file,
                bound.span,
                format!("action `{slug}` is disabled: the stream skips it"),
            )
            .help(format!("set `enabled: true` in actions/{slug}.yaml"));
            if let Some(meta) = action.meta_file {
                d = d.related(meta, cx.ws.yaml_span(meta, &["enabled"]), "disabled here");
            }
            sink.report(d);
        }
    }
}
