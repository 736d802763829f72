//! AF073: a Run Custom Action block pins an action version (`log-user@3`) that authflow.lock
//! does not have, or that cannot be read back from its release.

use crate::blocks::run_action::ActionPin;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;
use crate::span::Span;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (reference, span) in cx.named_actions() {
        let pin = ActionPin::parse(reference);
        let Some((offset, version)) = pin.version else {
            continue;
        };
        let span = pin_span(cx, span, reference, offset);
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
