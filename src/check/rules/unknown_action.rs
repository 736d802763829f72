//! AF040: a Run Custom Action block names an action the workspace lacks.

use super::RuleDoc;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports Run Custom Action blocks naming an action that the workspace has no `actions/<slug>.js` for, with the closest slug.",
    why: "The console cannot attach a missing action; a file that names one would fail every login at that block.",
    example: example!("af040-unknown-action", ["/flows/login.yaml"]),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(slug) = cx.action_of(i) else {
            continue;
        };
        // A pin (`log-user@3`) names a published version, which unknown-action-version
        // resolves against the lock, draft or not.
        if cx.ws.actions.contains_key(slug)
            || crate::blocks::run_action::ActionPin::parse(slug)
                .version
                .is_some()
        {
            continue;
        }
        let span = info.action().map_or(info.block.id.span, |v| v.span);
        let d = cx.at(
            Code::UnknownAction,
            span,
            format!("the workspace has no action `{slug}`"),
        );
        sink.report(
            match crate::catalog::closest(slug, cx.ws.actions.keys().map(String::as_str)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("create actions/{slug}.js and actions/{slug}.yaml")),
            },
        );
    }
}
