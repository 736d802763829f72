//! AF044: fetches outside the tenant's allowlist.

use super::RuleDoc;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports `fetch` or `api.fetch` to a literal URL outside `fetch_allowlist` in authflow.yaml (for a template URL, when no allowed prefix can match whatever follows its static part).",
    why: "The platform refuses fetches outside the allowlist at run time: the action fails on every login that reaches the fetch.",
    example: example!(
        "af044-fetch-not-allowed",
        ["/authflow.yaml", "/actions/fraud.js"]
    ),
};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    let allowlist = &cx.ws.settings.fetch_allowlist;
    for source in &cx.sources {
        for fetch in &source.facts.fetch_urls {
            // Global `fetch` and `api.fetch` are the same function under the same allowlist in
            // both triggers (the reference's examples use the global one), so both are checked
            // alike and neither is preferred.
            // A literal URL must start with an allowed prefix; a template's static prefix is
            // reported only when no allowed prefix can still match whatever follows it.
            let (url, allowed) = match (&fetch.url, &fetch.prefix) {
                (Some(url), _) => (url, allowlist.iter().any(|p| url.starts_with(p.as_str()))),
                (None, Some(prefix)) => (
                    prefix,
                    allowlist
                        .iter()
                        .any(|p| prefix.starts_with(p.as_str()) || p.starts_with(prefix.as_str())),
                ),
                (None, None) => continue,
            };
            if allowed {
                continue;
            }
            sink.report(
                Diagnostic::new(
                    Code::FetchNotAllowed,
                    source.file,
                    fetch.span,
                    format!("`{url}` is outside the tenant's fetch allowlist"),
                )
                .help(if allowlist.is_empty() {
                    "add a URL prefix to `fetch_allowlist:` in authflow.yaml".to_string()
                } else {
                    format!("allowed prefixes: {}", allowlist.join(", "))
                }),
            );
        }
    }
}
