//! AF044: fetches outside the tenant's allowlist.

use crate::catalog::allowlist;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

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
