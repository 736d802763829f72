//! Expectations against what a run did: every `expect:` key is matched as a subset of the
//! observed run, and every difference becomes a [`Mismatch`] that says where the expectation
//! is written, what it wanted, what happened, and how `--update` would rewrite it.
//!
//! Matching reads a finished [`Trace`] only; it never runs anything.

use crate::run::trace::{BlockStatus, DeliveryTrace, EmittedEvent, Trace};
use crate::span::Span;
use crate::syntax::tree::{Node, NodeValue};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::{Map, Value, json};

/// One difference between an expectation and the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// Where in `expect:` (`state.log-user.country`), or `fetch` for an unrecorded fetch.
    pub path: String,
    /// The expectation's text in the test file (the test's span for checks not written down).
    pub span: Span,
    pub expected: String,
    pub actual: String,
    /// What `--update` writes instead, when the expectation has one place in the file.
    pub fix: Option<Fix>,
}

/// How `--update` rewrites one expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Fix {
    /// Replace the node at `span` with `value`.
    Replace { span: Span, value: Value },
    /// Remove the mapping entry whose key starts at `key` and whose value ends with `value`;
    /// where the entry cannot be cut out line by line (a flow mapping), `parent` is the
    /// mapping's span, the mapping as the run corrects it (without the entry) and the key.
    Remove {
        key: Span,
        value: Span,
        parent: Option<(Span, Value, String)>,
    },
}

/// What a run did, in the terms expectations use.
pub struct Observed<'t> {
    pub trace: &'t Trace,
    /// Every block of the flow, in order (for `not_reached`).
    pub blocks: Vec<String>,
    /// The decoded session token's claims, or why it could not be read.
    pub token: Option<Result<Map<String, Value>, String>>,
    /// How the run ended, as `outcome:` names it: the trace's decision, or `delivered` /
    /// `failed` for a message case (the runner sets it).
    pub outcome: Value,
}

impl<'t> Observed<'t> {
    /// Observes `trace`; `signing_key` verifies the session token's signature.
    pub fn new(trace: &'t Trace, blocks: Vec<String>, signing_key: &[u8]) -> Observed<'t> {
        let token = trace
            .session_token
            .as_deref()
            .map(|t| decode_token(t, signing_key));
        Observed {
            trace,
            blocks,
            token,
            outcome: json!(trace.outcome),
        }
    }

    fn ids(&self, status: BlockStatus) -> Vec<Value> {
        self.trace
            .blocks
            .iter()
            .filter(|b| b.status == status)
            .map(|b| json!(b.id))
            .collect()
    }

    fn not_reached(&self) -> Vec<Value> {
        self.blocks
            .iter()
            .filter(|id| !self.trace.blocks.iter().any(|b| &b.id == *id))
            .map(|id| json!(id))
            .collect()
    }

    fn logs(&self) -> Vec<(String, String, String)> {
        self.trace
            .blocks
            .iter()
            .flat_map(|b| {
                b.logs
                    .iter()
                    .map(|l| (b.id.clone(), l.level.clone(), l.message.clone()))
            })
            .collect()
    }

    fn fetches(&self) -> Vec<(String, &'t Value)> {
        self.trace
            .blocks
            .iter()
            .flat_map(|b| b.fetches.iter().map(|f| (b.id.clone(), f)))
            .collect()
    }

    /// Every fetch of the run: its blocks', then its event deliveries' (named
    /// `stream/action`).
    fn all_fetches(&self) -> Vec<(String, &'t Value)> {
        let mut all = self.fetches();
        for event in &self.trace.events {
            for d in &event.deliveries {
                let by = format!("{}/{}", d.stream, d.action);
                all.extend(d.fetches.iter().map(|f| (by.clone(), f)));
            }
        }
        all
    }
}

/// Decodes a compact HS256 JWT and verifies its signature.
pub fn decode_token(token: &str, key: &[u8]) -> Result<Map<String, Value>, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the session token is not a compact JWT".into());
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = b64
        .decode(signature)
        .map_err(|_| "the session token's signature is not base64url")?;
    mac.verify_slice(&signature)
        .map_err(|_| "the session token's signature does not verify with the session key")?;
    let bytes = b64
        .decode(payload)
        .map_err(|_| "the session token's payload is not base64url")?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err("the session token's payload is not a JSON object".into()),
    }
}

/// Every way the run differs from `expect` (or from what every test requires: no fetch
/// without a recording). `case_span` locates checks that are not written down.
pub fn check(expect: Option<&Node>, seen: &Observed, case_span: Span) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (block, fetch) in seen.all_fetches() {
        if fetch["unmatched"] == json!(true) {
            let actual = format!(
                "block `{block}` fetched {} {} and no recording matches it; add it under `fetch:`",
                fetch["method"].as_str().unwrap_or("GET"),
                fetch["url"].as_str().unwrap_or_default()
            );
            // Retried deliveries repeat the same fetch: one mismatch says it.
            if out.iter().any(|m: &Mismatch| m.actual == actual) {
                continue;
            }
            out.push(Mismatch {
                path: "fetch".into(),
                span: case_span,
                expected: "a recorded response for every fetch".into(),
                actual,
                fix: None,
            });
        }
    }
    let Some(expect) = expect else {
        return out;
    };
    let trace = seen.trace;
    for (key, node) in expect.as_map() {
        let path = key.name.as_str();
        match path {
            "outcome" => scalar(path, node, &seen.outcome, &mut out),
            "reason" => match &trace.deny_reason {
                Some(reason) => text_matcher(path, node, reason, &mut out),
                None => out.push(Mismatch {
                    path: path.into(),
                    span: node.span,
                    expected: render_node(node),
                    actual: "no deny reason: the run was allowed".into(),
                    fix: remove(key.span, node),
                }),
            },
            "blocks" => {
                for (status_key, list) in node.as_map() {
                    let actual = match status_key.name.as_str() {
                        "completed" => seen.ids(BlockStatus::Completed),
                        "skipped" => seen.ids(BlockStatus::Skipped),
                        "failed" => seen.ids(BlockStatus::Failed),
                        "denied" => seen.ids(BlockStatus::Denied),
                        _ => seen.not_reached(),
                    };
                    contains_all(
                        &format!("blocks.{}", status_key.name),
                        list,
                        &actual,
                        seen,
                        &mut out,
                    );
                }
            }
            "state" => subset(path, node, &Value::Object(trace.state.clone()), &mut out),
            "claims" => {
                subset(path, node, &Value::Object(trace.claims.clone()), &mut out);
                if let Some(token) = &seen.token {
                    match token {
                        Ok(claims) => {
                            // Only claims the trace has are looked for in the token: a claim
                            // missing from both is one mismatch, reported (and updated) once.
                            let mut in_token = Vec::new();
                            subset(
                                "claims",
                                node,
                                &Value::Object(claims.clone()),
                                &mut in_token,
                            );
                            for mut m in in_token {
                                if out.iter().all(|o| o.path != m.path) {
                                    m.path = format!("{} (in the session token)", m.path);
                                    m.fix = None;
                                    out.push(m);
                                }
                            }
                        }
                        Err(message) => out.push(token_error(path, node, message)),
                    }
                }
            }
            "token" => match &seen.token {
                Some(Ok(claims)) => subset(path, node, &Value::Object(claims.clone()), &mut out),
                Some(Err(message)) => out.push(token_error(path, node, message)),
                None => out.push(Mismatch {
                    path: path.into(),
                    span: node.span,
                    expected: render_node(node),
                    actual: "no session token: the run did not issue one".into(),
                    fix: remove(key.span, node),
                }),
            },
            "app_metadata" => subset(
                path,
                node,
                &Value::Object(trace.app_metadata.clone()),
                &mut out,
            ),
            "aal" => scalar(path, node, &trace.authentication["aal"], &mut out),
            "methods" => subset(path, node, &trace.authentication["methods"], &mut out),
            "logs" => logs(node, seen, &mut out),
            "events" => events(node, trace, &mut out),
            "fetches" => fetches(node, seen, &mut out),
            "failures" => {
                let failed: Map<String, Value> = trace
                    .blocks
                    .iter()
                    .filter_map(|b| {
                        let f = b.failure.as_ref()?;
                        Some((b.id.clone(), json!({"kind": f.kind, "contains": f.message})))
                    })
                    .collect();
                let failed = Value::Object(failed);
                for (block, expected) in node.as_map() {
                    let failure = trace
                        .blocks
                        .iter()
                        .find(|b| b.id == block.name)
                        .and_then(|b| b.failure.as_ref());
                    let here = format!("failures.{}", block.name);
                    let Some(failure) = failure else {
                        out.push(Mismatch {
                            path: here,
                            span: expected.span,
                            expected: render_node(expected),
                            actual: format!("block `{}` did not fail", block.name),
                            fix: remove_entry(node, &failed, &block.name, block.span, expected),
                        });
                        continue;
                    };
                    let ok = expected
                        .get("kind")
                        .and_then(Node::as_str)
                        .is_none_or(|k| k == failure.kind)
                        && text_ok(expected, &failure.message);
                    if !ok {
                        out.push(Mismatch {
                            path: here,
                            span: expected.span,
                            expected: render_node(expected),
                            actual: format!("{}: {}", failure.kind, failure.message),
                            fix: replace(
                                expected,
                                json!({"kind": failure.kind, "contains": failure.message}),
                            ),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn token_error(path: &str, node: &Node, message: &str) -> Mismatch {
    Mismatch {
        path: path.into(),
        span: node.span,
        expected: render_node(node),
        actual: message.into(),
        fix: None,
    }
}

fn replace(node: &Node, value: Value) -> Option<Fix> {
    (!node.merged).then_some(Fix::Replace {
        span: node.span,
        value,
    })
}

fn remove(key: Span, node: &Node) -> Option<Fix> {
    (!node.merged).then_some(Fix::Remove {
        key,
        value: node.span,
        parent: None,
    })
}

/// Removing entry `key` of mapping `parent`.
fn remove_entry(
    parent: &Node,
    actual: &Value,
    key: &str,
    key_span: Span,
    node: &Node,
) -> Option<Fix> {
    // The mapping as the run has it, for when only a rewrite of the whole mapping can drop
    // the entry: each expected key the run has, kept where it matched, corrected where not.
    let corrected = || {
        let map: Map<String, Value> = parent
            .as_map()
            .iter()
            .filter_map(|(k, v)| {
                let a = actual.get(&k.name)?;
                Some((
                    k.name.clone(),
                    if matches(v, a) {
                        v.to_json()
                    } else {
                        a.clone()
                    },
                ))
            })
            .collect();
        Value::Object(map)
    };
    (!node.merged).then_some(Fix::Remove {
        key: key_span,
        value: node.span,
        parent: (!parent.merged).then(|| (parent.span, corrected(), key.to_string())),
    })
}

fn scalar(path: &str, node: &Node, actual: &Value, out: &mut Vec<Mismatch>) {
    if !equal(node, actual) {
        out.push(differs(path, node, actual));
    }
}

/// `node` should have been `actual`: replace it.
fn differs(path: &str, node: &Node, actual: &Value) -> Mismatch {
    Mismatch {
        path: path.into(),
        span: node.span,
        expected: render_node(node),
        actual: render(actual),
        fix: replace(node, actual.clone()),
    }
}

/// Whether `node` is a subset of `actual`: mappings key by key, lists element by element
/// (same length), scalars equal.
fn matches(node: &Node, actual: &Value) -> bool {
    match (&node.value, actual) {
        (NodeValue::Map(entries), Value::Object(map)) => entries
            .iter()
            .all(|(k, v)| map.get(&k.name).is_some_and(|a| matches(v, a))),
        (NodeValue::Seq(items), Value::Array(values)) => {
            items.len() == values.len() && items.iter().zip(values).all(|(n, v)| matches(n, v))
        }
        _ => equal(node, actual),
    }
}

fn equal(node: &Node, actual: &Value) -> bool {
    match (&node.value, actual) {
        (NodeValue::Null, Value::Null) => true,
        (NodeValue::Bool(a), Value::Bool(b)) => a == b,
        (NodeValue::Int(a), Value::Number(b)) => b.as_f64() == Some(*a as f64),
        (NodeValue::Float(a), Value::Number(b)) => b.as_f64() == Some(*a),
        (NodeValue::Str(a), Value::String(b)) => a == b,
        (NodeValue::Seq(_) | NodeValue::Map(_), _) => matches(node, actual),
        _ => false,
    }
}

/// Subset matching that reports at the deepest differing entry, so `--update` rewrites only
/// that entry.
fn subset(path: &str, node: &Node, actual: &Value, out: &mut Vec<Mismatch>) {
    match (&node.value, actual) {
        (NodeValue::Map(entries), Value::Object(map)) => {
            for (k, v) in entries {
                let here = format!("{path}.{}", k.name);
                match map.get(&k.name) {
                    Some(a) => subset(&here, v, a, out),
                    None => out.push(Mismatch {
                        path: here,
                        span: v.span,
                        expected: render_node(v),
                        actual: "absent".into(),
                        fix: remove_entry(node, actual, &k.name, k.span, v),
                    }),
                }
            }
        }
        _ if matches(node, actual) => {}
        _ => out.push(differs(path, node, actual)),
    }
}

/// `blocks.<status>`: every listed block must have that status.
fn contains_all(
    path: &str,
    list: &Node,
    actual: &[Value],
    seen: &Observed,
    out: &mut Vec<Mismatch>,
) {
    let missing: Vec<String> = list
        .as_seq()
        .iter()
        .filter_map(Node::as_str)
        .filter(|id| !actual.iter().any(|a| a == id))
        .map(|id| match seen.trace.blocks.iter().find(|b| b.id == id) {
            Some(b) => format!(
                "`{id}` was {}{}",
                json!(b.status).as_str().unwrap_or_default(),
                b.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            None => format!("`{id}` was not reached"),
        })
        .collect();
    if !missing.is_empty() {
        out.push(Mismatch {
            path: path.into(),
            span: list.span,
            expected: render_node(list),
            actual: format!(
                "{}; the run had {}",
                missing.join(", "),
                render(&Value::Array(actual.to_vec()))
            ),
            fix: replace(list, Value::Array(actual.to_vec())),
        });
    }
}

fn text_ok(matcher: &Node, text: &str) -> bool {
    if let Some(exact) = matcher.as_str() {
        return exact == text;
    }
    let contains = matcher
        .get("contains")
        .and_then(Node::as_str)
        .is_none_or(|c| text.contains(c));
    let regex = matcher
        .get("regex")
        .and_then(Node::as_str)
        .is_none_or(|r| regex::Regex::new(r).is_ok_and(|re| re.is_match(text)));
    contains && regex
}

fn text_matcher(path: &str, node: &Node, text: &str, out: &mut Vec<Mismatch>) {
    if !text_ok(node, text) {
        out.push(differs(path, node, &json!(text)));
    }
}

/// Matches a list of expected entries against what the run did, in order (other items may
/// come between). On the first entry with no match, reports it with the run's items (`shown`,
/// one phrase each) and the list `--update` would write (`rewritten`).
struct InOrder<'a, T> {
    path: &'a str,
    node: &'a Node,
    actual: &'a [T],
    what: &'a str,
    shown: &'a dyn Fn(&T) -> String,
    rewritten: &'a dyn Fn(&T) -> Value,
}

impl<T> InOrder<'_, T> {
    fn check(&self, matches: impl Fn(&Node, &T) -> bool, out: &mut Vec<Mismatch>) {
        let mut at = 0;
        for (i, entry) in self.node.as_seq().iter().enumerate() {
            match self.actual[at..].iter().position(|a| matches(entry, a)) {
                Some(offset) => at += offset + 1,
                None => {
                    let shown: Vec<String> = self.actual.iter().map(self.shown).collect();
                    out.push(Mismatch {
                        path: format!("{}[{i}]", self.path),
                        span: entry.span,
                        expected: render_node(entry),
                        actual: if shown.is_empty() {
                            format!("no {}", self.what)
                        } else {
                            format!(
                                "no such item after the earlier ones; the run had: {}",
                                shown.join(" | ")
                            )
                        },
                        fix: replace(
                            self.node,
                            Value::Array(self.actual.iter().map(self.rewritten).collect()),
                        ),
                    });
                    return;
                }
            }
        }
    }
}

fn str_field<'n>(entry: &'n Node, name: &str) -> Option<&'n str> {
    entry.get(name).and_then(Node::as_str)
}

/// `logs:` entries must appear in order (other lines may come between).
fn logs(node: &Node, seen: &Observed, out: &mut Vec<Mismatch>) {
    let actual = seen.logs();
    InOrder {
        path: "logs",
        node,
        actual: &actual,
        what: "log lines",
        shown: &|(block, level, message)| format!("{block}: {level} {message:?}"),
        rewritten: &|(_, level, message)| json!({"level": level, "contains": message}),
    }
    .check(
        |entry, (block, level, message)| log_matches(entry, block, level, message),
        out,
    );
}

/// Whether one `logs:` entry matches a line `block` wrote.
fn log_matches(entry: &Node, block: &str, level: &str, message: &str) -> bool {
    str_field(entry, "level").is_none_or(|l| l == level)
        && str_field(entry, "block").is_none_or(|b| b == block)
        && text_ok(entry, message)
}

/// The request body of a fetch record: JSON when it parses, else the text.
fn body_of(fetch: &Value) -> Value {
    match fetch["body"].as_str() {
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| json!(text)),
        None => Value::Null,
    }
}

/// `fetches:` entries must appear in order; a body is matched as a subset of the JSON body
/// (or exactly, as text, when it is not JSON).
fn fetches(node: &Node, seen: &Observed, out: &mut Vec<Mismatch>) {
    let actual = seen.fetches();
    let summary = |(_, f): &(String, &Value)| {
        let mut v = json!({"method": f["method"], "url": f["url"]});
        if !f["body"].is_null() {
            v["body"] = body_of(f);
        }
        v
    };
    InOrder {
        path: "fetches",
        node,
        actual: &actual,
        what: "fetches",
        shown: &|f| render(&summary(f)),
        rewritten: &summary,
    }
    .check(
        |entry, (block, fetch)| fetch_matches(entry, block, fetch),
        out,
    );
}

/// Whether one `fetches:` entry matches a fetch `block` made.
fn fetch_matches(entry: &Node, block: &str, fetch: &Value) -> bool {
    let field = |name: &str| entry.get(name).is_none_or(|n| equal(n, &fetch[name]));
    str_field(entry, "method").is_none_or(|m| {
        fetch["method"]
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(m))
    }) && field("url")
        && field("status")
        && str_field(entry, "block").is_none_or(|b| b == block)
        && entry.get("body").is_none_or(|b| {
            matches(b, &body_of(fetch)) || b.as_str().is_some_and(|t| fetch["body"] == json!(t))
        })
}

/// Whether the entries of list `node` match items of `actual` in order (others between).
fn in_order<T>(node: Option<&Node>, actual: &[T], matches: impl Fn(&Node, &T) -> bool) -> bool {
    let mut at = 0;
    node.map(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .all(
            |entry| match actual[at..].iter().position(|a| matches(entry, a)) {
                Some(offset) => {
                    at += offset + 1;
                    true
                }
                None => false,
            },
        )
}

/// Whether one `deliveries:` entry matches a delivery attempt.
fn delivery_matches(entry: &Node, d: &DeliveryTrace) -> bool {
    let by = d.action.as_str();
    str_field(entry, "stream").is_none_or(|s| s == d.stream)
        && str_field(entry, "action").is_none_or(|a| a == by)
        && entry
            .get("attempt")
            .is_none_or(|n| equal(n, &json!(d.attempt)))
        && entry
            .get("outcome")
            .is_none_or(|n| equal(n, &json!(d.outcome)))
        && in_order(entry.get("logs"), &d.logs, |e, l| {
            log_matches(e, by, &l.level, &l.message)
        })
        && in_order(entry.get("fetches"), &d.fetches, |e, f| {
            fetch_matches(e, by, f)
        })
        && entry.get("failure").is_none_or(|f| {
            d.failure.as_ref().is_some_and(|failure| {
                str_field(f, "kind").is_none_or(|k| k == failure.kind)
                    && text_ok(f, &failure.message)
            })
        })
}

/// Whether one `events:` entry matches an emitted event.
fn event_matches(entry: &Node, event: &EmittedEvent) -> bool {
    let attribute = |name: &str| {
        entry
            .get(name)
            .is_none_or(|n| equal(n, &event.message[name]))
    };
    attribute("type")
        && attribute("subject")
        && entry
            .get("data")
            .is_none_or(|n| matches(n, &event.message["data"]))
        && entry
            .get("streams")
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .all(|s| event.streams.iter().any(|name| equal(s, &json!(name))))
        && in_order(entry.get("deliveries"), &event.deliveries, delivery_matches)
}

/// An emitted event as `--update` writes it and a mismatch shows it: its type, subject and
/// how each delivery attempt ended.
fn event_summary(event: &EmittedEvent) -> Value {
    let mut v = json!({ "type": event.message["type"] });
    if let Some(subject) = event.message["subject"].as_str() {
        v["subject"] = json!(subject);
    }
    if !event.deliveries.is_empty() {
        v["deliveries"] = event
            .deliveries
            .iter()
            .map(|d| {
                json!({"stream": d.stream, "action": d.action, "attempt": d.attempt, "outcome": d.outcome})
            })
            .collect();
    }
    v
}

/// `events:` entries must match emitted events in order; `events: []` means none.
fn events(node: &Node, trace: &Trace, out: &mut Vec<Mismatch>) {
    if node.as_seq().is_empty() && !trace.events.is_empty() {
        let actual: Vec<Value> = trace.events.iter().map(event_summary).collect();
        out.push(Mismatch {
            path: "events".into(),
            span: node.span,
            expected: "no events".into(),
            actual: render(&Value::Array(actual.clone())),
            fix: replace(node, Value::Array(actual)),
        });
        return;
    }
    InOrder {
        path: "events",
        node,
        actual: &trace.events,
        what: "events",
        shown: &|e| render(&event_summary(e)),
        rewritten: &event_summary,
    }
    .check(event_matches, out);
}

fn render_node(node: &Node) -> String {
    render(&node.to_json())
}

/// A value on one line, as JSON (which YAML reads too).
pub fn render(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
