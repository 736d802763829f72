//! The fetch allowlist: which URLs an entry of `fetch_allowlist:` admits. The one matcher,
//! used by `check` (AF044) and by the runtime's `api.fetch`, so the two cannot disagree.
//!
//! It must not read files or know about diagnostics: it answers questions about strings.
//!
//! An entry is an absolute URL (`https://api.example.com/v1`). A URL is admitted when, both
//! parsed by the url crate (WHATWG rules: scheme and host lower-cased, default ports dropped,
//! `.` and `..` path segments resolved, percent-encoded dots included), it has the entry's
//! scheme, credentials, host and port, and its path is the entry's path or continues it at a
//! segment boundary: the entry `https://api.example.com/v1` admits `/v1`, `/v1/x` and `/v1?q`
//! but not `/v10`, and never `https://api.example.com.evil.test`. An entry that ends in `/`
//! admits what continues after that `/`. An entry with a query or fragment admits only URLs
//! whose normalised text starts with the entry's. An entry or URL that does not parse admits
//! or is admitted by nothing.

use url::Url;

/// Whether some entry of `allowlist` admits `url`.
pub fn allows<S: AsRef<str>>(allowlist: &[S], url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    allowlist
        .iter()
        .filter_map(|entry| Url::parse(entry.as_ref()).ok())
        .any(|entry| admits(&entry, &url))
}

/// Whether some entry of `allowlist` may still admit a URL that starts with the static text
/// `start` and continues with text only known at run time (a template's `${...}` part).
pub fn may_allow<S: AsRef<str>>(allowlist: &[S], start: &str) -> bool {
    allowlist
        .iter()
        .any(|entry| may_admit(entry.as_ref(), start))
}

/// Why an entry cannot admit anything, for a diagnostic; `None` for a usable entry.
pub fn entry_problem(entry: &str) -> Option<String> {
    match Url::parse(entry) {
        Err(e) => Some(format!("not an absolute URL ({e})")),
        Ok(url) if url.cannot_be_a_base() || !url.has_host() => {
            Some("a URL with a host is needed, such as `https://api.example.com/`".into())
        }
        Ok(_) => None,
    }
}

fn admits(entry: &Url, url: &Url) -> bool {
    if entry.cannot_be_a_base() || !entry.has_host() {
        return false;
    }
    if !same_origin(entry, url) {
        return false;
    }
    if entry.query().is_some() || entry.fragment().is_some() {
        return entry.path() == url.path() && url.as_str().starts_with(entry.as_str());
    }
    under_path(entry.path(), url.path())
}

/// Whether `path` is `base` or continues it at a segment boundary.
fn under_path(base: &str, path: &str) -> bool {
    match path.strip_prefix(base) {
        Some(rest) => base.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn may_admit(entry: &str, start: &str) -> bool {
    let Ok(parsed_entry) = Url::parse(entry) else {
        return false;
    };
    // Once the static text has a complete authority (a `/`, `?` or `#` after `scheme://host`),
    // what follows can only extend the path: the host is known.
    if let Some(authority_end) = authority_end(start) {
        let Ok(known) = Url::parse(&start[..authority_end]) else {
            return false;
        };
        if parsed_entry.cannot_be_a_base() || !same_origin(&parsed_entry, &known) {
            return false;
        }
        let Ok(url) = Url::parse(start) else {
            return false;
        };
        // The path so far is under the entry's, or could still grow into it.
        return admits(&parsed_entry, &url)
            || parsed_entry.path().starts_with(url.path())
                && url.query().is_none()
                && url.fragment().is_none();
    }
    // The host is still being written: the entry must continue the static text (the rest may
    // complete it), compared on the entry as written and as normalised.
    entry.starts_with(start) || parsed_entry.as_str().starts_with(start)
}

/// Same scheme, credentials, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.username() == b.username()
        && a.password() == b.password()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The byte offset where the authority of `text` (`scheme://authority`) ends, when the text
/// goes on past it.
fn authority_end(text: &str) -> Option<usize> {
    let after_scheme = text.find("://")? + 3;
    text[after_scheme..]
        .find(['/', '?', '#'])
        .map(|i| after_scheme + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[&str] = &["https://api.example.com", "https://hooks.example.net/v1/"];

    #[test]
    fn an_entry_admits_its_host_at_a_boundary_only() {
        for url in [
            "https://api.example.com",
            "https://api.example.com/",
            "https://api.example.com/users?id=1",
            "https://API.example.com:443/x",
            "https://hooks.example.net/v1/send",
        ] {
            assert!(allows(LIST, url), "{url} should be allowed");
        }
        for url in [
            "https://api.example.com.evil.test/",
            "https://api.example.com@evil.test/",
            "http://api.example.com/",
            "https://api.example.com:8443/",
            "https://user@api.example.com/",
            "https://hooks.example.net/v1",
            "https://hooks.example.net/v10/send",
            "https://hooks.example.net/v1/../admin",
            "https://hooks.example.net/v1/%2e%2e/admin",
            "not a url",
        ] {
            assert!(!allows(LIST, url), "{url} should be refused");
        }
    }

    #[test]
    fn a_path_entry_needs_a_segment_boundary() {
        let list = ["https://api.example.com/v1"];
        assert!(allows(&list, "https://api.example.com/v1"));
        assert!(allows(&list, "https://api.example.com/v1/x"));
        assert!(allows(&list, "https://api.example.com/v1?q=1"));
        assert!(allows(&list, "https://api.example.com/v1#top"));
        assert!(!allows(&list, "https://api.example.com/v10"));
        assert!(!allows(&list, "https://api.example.com/"));
    }

    #[test]
    fn unparsable_entries_admit_nothing() {
        assert!(!allows(&["api.example.com"], "https://api.example.com/"));
        assert!(!allows(&[""], "https://api.example.com/"));
        assert!(entry_problem("api.example.com").is_some());
        assert!(entry_problem("mailto:a@example.com").is_some());
        assert_eq!(entry_problem("https://api.example.com/"), None);
    }

    #[test]
    fn a_template_start_is_judged_by_what_can_still_follow() {
        // The host is still open: `https://api.` may become `https://api.example.com/...`.
        assert!(may_allow(LIST, "https://api."));
        assert!(may_allow(LIST, "https://"));
        // The host is closed and matches; the path can only grow.
        assert!(may_allow(LIST, "https://api.example.com/users/"));
        assert!(may_allow(LIST, "https://hooks.example.net/v"));
        // Open host that already left the entry's host without a boundary.
        assert!(!may_allow(LIST, "https://api.example.com.evil"));
        // Closed host outside the list.
        assert!(!may_allow(LIST, "https://evil.test/"));
        // Closed host, path that left the entry's path.
        assert!(!may_allow(LIST, "https://hooks.example.net/v2/"));
    }
}
