//! AF074: a Run Custom Action block runs an unpinned action whose working tree differs from
//! its last published version.

use crate::blocks::run_action::ActionPin;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (slug, span) in cx.named_actions() {
        if ActionPin::parse(slug).version.is_some() {
            continue;
        }
        let Some(version) = cx.ws.published.drafts.get(slug) else {
            continue;
        };
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
