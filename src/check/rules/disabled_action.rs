//! AF041: a Run Custom Action block names a disabled action.

use super::RuleDoc;
use crate::catalog::api::Trigger;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports Run Custom Action blocks naming a login action whose metadata says `enabled: false`: the block is skipped at run time.",
    why: "A disabled action silently does nothing: the flow passes review with a check that never runs.",
    example: example!(
        "af041-disabled-action",
        ["/flows/login.yaml", "/actions/log-user.yaml"]
    ),
};

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
            d = d.related(file, cx.ws.find_in_file(file, "enabled"), "disabled here");
        }
        sink.report(d);
    }
}
