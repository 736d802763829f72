//! AF040: a Run Custom Action block names an action the workspace lacks.

use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (slug, span) in cx.named_actions() {
        // A pin (`log-user@3`) names a published version, which unknown-action-version
        // resolves against the lock, draft or not.
        if cx.ws.actions.contains_key(slug)
            || crate::blocks::run_action::ActionPin::parse(slug)
                .version
                .is_some()
        {
            continue;
        }
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
