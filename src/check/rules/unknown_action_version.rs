//! AF073: a Run Custom Action block pins an action version (`log-user@3`) that authflow.lock
//! does not have, or that cannot be read back from its release.

use super::RuleDoc;
use crate::blocks::run_action::ActionPin;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;
use crate::span::Span;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports `action: <slug>@<N>` pins whose version N authflow.lock does not record for that action, that are not a version number, or whose published files cannot be read back (from the release's git commit or its bundle).",
    why: "A pin says exactly which published source runs; a pin to nothing would leave the block without an action, and running the draft instead would defeat the pin.",
    example: example!(
        "af073-unknown-action-version",
        ["/flows/login.yaml", "/authflow.lock"]
    ),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(reference) = cx.action_of(i) else {
            continue;
        };
        let pin = ActionPin::parse(reference);
        let Some((offset, version)) = pin.version else {
            continue;
        };
        let span = info.action().map_or(info.block.id.span, |v| {
            pin_span(cx, v.span, reference, offset)
        });
        let (message, help) = match pin.number() {
            Some(Err(text)) => (
                format!("`@{text}` is not a version number"),
                format!(
                    "pin a published version by its number (`{}@1`); `authflow versions action:{}` lists them",
                    pin.slug, pin.slug
                ),
            ),
            _ if cx.ws.actions.contains_key(reference) => continue,
            _ => (
                match cx.ws.published.unresolved.get(reference) {
                    Some(reason) => format!("`{reference}` does not resolve: {reason}"),
                    None => format!(
                        "`{reference}` does not resolve: authflow.lock records no version {version} of `{}`",
                        pin.slug
                    ),
                },
                format!(
                    "`authflow versions action:{}` lists its published versions; remove `@{version}` to run the working tree's draft",
                    pin.slug
                ),
            ),
        };
        sink.report(cx.at(Code::UnknownActionVersion, span, message).help(help));
    }
}

/// The span of `@N` inside the config value's span (which may include quotes).
fn pin_span(cx: &Context, value: Span, reference: &str, offset: usize) -> Span {
    let text = cx.ws.sources.text(cx.file);
    let start = text
        .get(value.range())
        .and_then(|t| t.find(reference))
        .map_or(value.start as usize, |at| {
            value.start as usize + at + offset - 1
        });
    Span::new(
        start,
        (start + reference.len() + 1 - offset).min(text.len()),
    )
}
