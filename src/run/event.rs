//! Simulation inputs: an event file (or built-in preset) validated against the event field
//! catalogue and completed with the reference's defaults.
//!
//! An event file is the event object of the reference, plus optional simulation keys beside
//! the seven groups: `credentials`, `directory`, `fetch`, `now`, `description`. Unknown or
//! mistyped fields are errors with their path; nothing is silently ignored.

use crate::catalog::event::{EVENT_FIELDS, FieldType};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Keys of an event file that are simulation inputs rather than event fields.
pub const SIMULATION_KEYS: &[&str] = &["credentials", "directory", "fetch", "now", "description"];

/// The simulated fixed clock when an event file gives none: runs are deterministic.
pub const DEFAULT_NOW: &str = "2026-01-15T12:00:00Z";

/// What the login form sent; every key is optional.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Credentials {
    /// Email, phone or user id typed into the login form.
    pub identifier: Option<String>,
    pub password: Option<String>,
    /// A TOTP code.
    pub otp: Option<String>,
    /// A one-time code the platform sent by email or SMS (passwordless login).
    pub code: Option<String>,
}

/// A recorded response served to `api.fetch` in simulation.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    #[serde(default = "ok_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A string body is served as is; any other JSON value is served JSON-encoded.
    #[serde(default)]
    pub body: Value,
}

/// Splits a `fetch` recording key into its method (`None`: any method) and URL: `"URL"` or
/// `"METHOD URL"` with an upper-case method such as `POST`.
pub fn recording_key(key: &str) -> Result<(Option<&str>, &str), String> {
    let (method, url) = match key.split_once(' ') {
        Some((method, url)) => (Some(method), url),
        None => (None, key),
    };
    if let Some(method) = method
        && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(format!(
            "a recording key is `URL` or `METHOD URL` with an upper-case method (`POST {url}`)"
        ));
    }
    if url.is_empty() || url.contains(char::is_whitespace) {
        return Err("a recording key is `URL` or `METHOD URL`; the URL has no spaces".into());
    }
    Ok((method, url))
}

fn ok_status() -> u16 {
    200
}

/// A validated simulation input.
#[derive(Clone, Debug)]
pub struct SimEvent {
    /// The event object, complete: every catalogued field present (but `user`, which only a
    /// lookup or an explicit `user` in the file fills).
    pub event: Value,
    pub credentials: Credentials,
    /// Directory entries the file carries in addition to the workspace's users.yaml.
    pub directory: Vec<super::directory::DirectoryUser>,
    /// Recorded responses by key: `"METHOD URL"` answers that method only, `"URL"` any method
    /// (see [`recording_key`]).
    pub fetch: BTreeMap<String, RecordedResponse>,
    /// Seconds since the Unix epoch of the simulated clock.
    pub now: i64,
    pub description: String,
}

/// One problem in an event file, at a JSON path.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct EventError {
    pub path: String,
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> EventError {
    EventError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Validates and completes an event file's JSON.
pub fn parse(value: Value) -> Result<SimEvent, Vec<EventError>> {
    let Value::Object(mut top) = value else {
        return Err(vec![err("$", "an event file is a JSON object")]);
    };
    let mut errors = Vec::new();
    let credentials = take(&mut top, "credentials", &mut errors).unwrap_or_default();
    let directory: Vec<super::directory::DirectoryUser> =
        take(&mut top, "directory", &mut errors).unwrap_or_default();
    let fetch: BTreeMap<String, RecordedResponse> =
        take(&mut top, "fetch", &mut errors).unwrap_or_default();
    for key in fetch.keys() {
        if let Err(message) = recording_key(key) {
            errors.push(err(&format!("fetch.{key}"), message));
        }
    }
    let now_text: Option<String> = take(&mut top, "now", &mut errors);
    let description: String = take(&mut top, "description", &mut errors).unwrap_or_default();
    let now = match parse_rfc3339(now_text.as_deref().unwrap_or(DEFAULT_NOW)) {
        Some(n) => n,
        None => {
            errors.push(err(
                "now",
                "expected an RFC 3339 UTC timestamp such as 2026-01-15T12:00:00Z",
            ));
            0
        }
    };
    let mut event = Map::new();
    check_object("", &top, &mut errors);
    for (key, value) in top {
        event.insert(key, value);
    }
    let mut event = Value::Object(event);
    complete(&mut event);
    if errors.is_empty() {
        Ok(SimEvent {
            event,
            credentials,
            directory,
            fetch,
            now,
            description,
        })
    } else {
        Err(errors)
    }
}

fn take<T: for<'de> Deserialize<'de>>(
    top: &mut Map<String, Value>,
    key: &str,
    errors: &mut Vec<EventError>,
) -> Option<T> {
    let value = top.remove(key)?;
    match serde_json::from_value(value) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(err(key, e.to_string()));
            None
        }
    }
}

/// Checks the keys of the object at `prefix` ("" for the event itself) against the catalogue.
fn check_object(prefix: &str, object: &Map<String, Value>, errors: &mut Vec<EventError>) {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Some(field) = EVENT_FIELDS.iter().find(|f| f.path == path) else {
            let candidates = EVENT_FIELDS
                .iter()
                .map(|f| f.path)
                .chain(if prefix.is_empty() {
                    SIMULATION_KEYS.to_vec()
                } else {
                    Vec::new()
                });
            let hint = crate::catalog::did_you_mean(&path, candidates);
            errors.push(err(
                &format!("event.{path}"),
                format!("unknown field{hint}"),
            ));
            continue;
        };
        let ok = match field.ty {
            FieldType::String => value.is_string(),
            FieldType::Number => value.is_number(),
            FieldType::Boolean => value.is_boolean(),
            FieldType::List => value.is_array(),
            FieldType::Record => value.is_object(),
            FieldType::Group => {
                if let Value::Object(inner) = value {
                    check_object(&path, inner, errors);
                    true
                } else {
                    false
                }
            }
        };
        if !ok {
            errors.push(err(
                &format!("event.{path}"),
                format!(
                    "expected {}, found {}",
                    describe(field.ty),
                    json_kind(value)
                ),
            ));
        }
    }
}

/// "a string", "an object", ...: a field type in error messages.
pub fn describe(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "a string",
        FieldType::Number => "a number",
        FieldType::Boolean => "a boolean",
        FieldType::List => "an array",
        FieldType::Record | FieldType::Group => "an object",
    }
}

/// What a JSON value is, in error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Fills every catalogued field the event lacks with the reference's empty value, except the
/// `user` group, whose absence means "not looked up yet".
pub fn complete(event: &mut Value) {
    for field in EVENT_FIELDS {
        if field.path == "user" || field.path.starts_with("user.") {
            continue;
        }
        let default = match field.ty {
            FieldType::String if field.path == "authentication.aal" => Value::from("aal0"),
            FieldType::String => Value::from(""),
            FieldType::Number => Value::from(0),
            FieldType::Boolean => Value::from(false),
            FieldType::List => Value::Array(Vec::new()),
            FieldType::Record | FieldType::Group => Value::Object(Map::new()),
        };
        insert_missing(event, field.path, default);
    }
}

/// Sets `path` to `value` if it is absent; groups on the way must already exist (they do,
/// because groups precede their members in the catalogue).
fn insert_missing(root: &mut Value, path: &str, value: Value) {
    let mut node = root;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.entry(part.to_string()).or_insert(value);
            return;
        }
        let Some(next) = map.get_mut(part) else {
            return;
        };
        node = next;
    }
}

/// Seconds since the epoch of an RFC 3339 timestamp (`2026-01-15T12:00:00Z`, or with an
/// offset such as `+02:00`; fractional seconds are dropped). jiff parses it, so impossible
/// dates (February 31) and times are refused.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch, clamped to the years jiff represents
/// (-9999 to 9999).
pub fn format_rfc3339(secs: i64) -> String {
    let at = jiff::Timestamp::from_second(secs).unwrap_or(if secs < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_and_mistyped_fields_are_reported_with_paths() {
        let errors = parse(json!({"request": {"geo": {"contry": "US"}, "ip": 5}})).unwrap_err();
        assert_eq!(
            errors[0],
            err(
                "event.request.geo.contry",
                "unknown field (did you mean `request.geo.country`?)"
            )
        );
        assert_eq!(
            errors[1],
            err("event.request.ip", "expected a string, found a number")
        );
    }

    #[test]
    fn missing_fields_get_reference_defaults() {
        let sim = parse(json!({"request": {"ip": "10.0.0.1"}})).unwrap();
        assert_eq!(sim.event["request"]["geo"]["country"], "");
        assert_eq!(sim.event["authentication"]["aal"], "aal0");
        assert_eq!(sim.event["authentication"]["risk_score"], 0);
        assert!(sim.event.get("user").is_none());
    }

    #[test]
    fn clock_round_trips() {
        let t = parse_rfc3339("2026-01-15T12:00:00Z").unwrap();
        assert_eq!(t, 1_768_478_400);
        assert_eq!(format_rfc3339(t), "2026-01-15T12:00:00Z");
        assert_eq!(parse_rfc3339("2026-13-15T12:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-02-31T12:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-01-15T12:00:00"), None);
        assert_eq!(parse_rfc3339("2026-01-15T14:00:00+02:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-01-15T12:00:00.750Z"), Some(t));
        assert_eq!(format_rfc3339(i64::MAX), "9999-12-30T22:00:00Z");
    }
}
