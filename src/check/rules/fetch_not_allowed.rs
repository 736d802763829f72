//! AF044: fetches outside the tenant's allowlist.

use super::RuleDoc;
use crate::catalog::allowlist;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports `fetch` or `api.fetch` to a literal URL outside `fetch_allowlist` in authflow.yaml (for a template URL, when no allowed prefix can match whatever follows its static part), and allowlist entries that admit no URL. The matcher is the runtime's: same scheme, host and port, and a path continuing the entry's at a segment boundary, so `https://api.example.com` does not admit `https://api.example.com.evil.test`.",
    why: "The platform refuses fetches outside the allowlist at run time: the action fails on every login that reaches the fetch.",
    example: example!(
        "af044-fetch-not-allowed",
        ["/authflow.yaml", "/actions/fraud.js"]
    ),
};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    let list = &cx.ws.settings.fetch_allowlist;
    // An entry that cannot admit anything would otherwise fail every fetch without saying why.
    if let Some(settings) = cx.ws.settings_file {
        for entry in list {
            if let Some(problem) = allowlist::entry_problem(entry) {
                sink.report(
                    Diagnostic::new(
                        Code::FetchNotAllowed,
                        settings,
                        cx.ws.yaml_span(settings, &["fetch_allowlist", entry]),
                        format!("fetch allowlist entry `{entry}` admits no URL: {problem}"),
                    )
                    .help("write each entry as a URL prefix with scheme and host, e.g. `https://api.example.com/`"),
                );
            }
        }
    }
    for source in &cx.sources {
        for fetch in &source.facts.fetch_urls {
            // Global `fetch` and `api.fetch` are the same function under the same allowlist in
            // both triggers (the reference's examples use the global one), so both are checked
            // alike and neither is preferred.
            // A literal URL must be admitted by the one matcher the runtime uses; a template's
            // static start is reported only when no entry can admit whatever follows it.
            let (url, allowed) = match (&fetch.url, &fetch.prefix) {
                (Some(url), _) => (url, allowlist::allows(list, url)),
                (None, Some(start)) => (start, allowlist::may_allow(list, start)),
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
                .help(if list.is_empty() {
                    "add a URL prefix to `fetch_allowlist:` in authflow.yaml".to_string()
                } else {
                    format!("allowed prefixes: {}", list.join(", "))
                }),
            );
        }
    }
}
