//! AF074: a Run Custom Action block runs an unpinned action whose working tree differs from
//! its last published version.

use super::RuleDoc;
use crate::blocks::run_action::ActionPin;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Warns on `action: <slug>` (no `@N`) when authflow.lock has published the action and its files (or the module versions it pins) have changed since its last published version.",
    why: "The flow runs the draft, which no release has recorded: the next publish ships it, and a test run of the flow is not a test of what is live.",
    example: example!(
        "af074-unpinned-draft-action",
        ["/flows/login.yaml", "/actions/log-user.js"]
    ),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(slug) = cx.action_of(i) else {
            continue;
        };
        if ActionPin::parse(slug).version.is_some() {
            continue;
        }
        let Some(version) = cx.ws.published.drafts.get(slug) else {
            continue;
        };
        let span = info.action().map_or(info.block.id.span, |v| v.span);
        sink.report(
            cx.at(
                Code::UnpinnedDraftAction,
                span,
                format!("action `{slug}` is a draft: it changed since v{version}, its last published version"),
            )
            .help(format!(
                "pin `{slug}@{version}` to run the published version, or publish the draft (`authflow status` shows what the next publish records)"
            )),
        );
    }
}
