//! Stream messages: CloudEvents 1.0 envelopes validated against the event-type catalogue, and
//! the event object an event-stream action receives for one (`event.message`, `event.tenant`,
//! `event.user` when the type carries one; the engine adds `event.secrets`).
//!
//! Every message a command reads (a JSONL line, a NATS message, an `action test` event file)
//! passes through [`validate`]: unknown or mistyped attributes are errors with their path, a
//! message from another tenant is refused, and members the type defines but the message leaves
//! out are completed with the reference's empty values, so actions see every catalogued field.

use crate::catalog::event::{EVENT_FIELDS, EventField, FieldType};
use crate::catalog::stream_events::{
    self, ENVELOPE, EventType, SOURCE_PREFIX, SPEC_VERSION, Shape,
};
use crate::run::event::{EventError, describe, json_kind as kind, parse_rfc3339};
use crate::workspace::TenantSettings;
use serde_json::{Map, Value};

/// The longest event id accepted: ids name dead letters and deduplication keys.
pub const MAX_ID_BYTES: usize = 256;

/// A validated message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The envelope, completed: every attribute and catalogued `data` member present.
    pub envelope: Value,
    pub id: String,
    pub ty: &'static EventType,
    /// Seconds since the epoch of `time`.
    pub time: i64,
    /// Messages with the same key are delivered in order: the subject, else `data.user.id`.
    pub ordering_key: Option<String>,
}

fn err(path: &str, message: impl Into<String>) -> EventError {
    EventError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// `value` as a JSON object, or the error saying what it must be.
fn object(value: Value, must_be: &str) -> Result<Map<String, Value>, Vec<EventError>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(vec![err("$", must_be)]),
    }
}

/// An "unknown `noun`" error at `prefix.key` for each key of `object` that is not `known`,
/// with the closest known key as a hint, or `otherwise` when none is close.
fn unknown_keys<'a>(
    object: &Map<String, Value>,
    known: impl IntoIterator<Item = &'a str> + Clone,
    prefix: &str,
    noun: &str,
    otherwise: &str,
) -> Vec<EventError> {
    let unknown = object
        .keys()
        .filter(|key| !known.clone().into_iter().any(|k| k == key.as_str()));
    unknown
        .map(|key| {
            let mut hint = crate::catalog::did_you_mean(key, known.clone());
            if hint.is_empty() {
                hint = otherwise.to_string();
            }
            err(&format!("{prefix}.{key}"), format!("unknown {noun}{hint}"))
        })
        .collect()
}

/// Validates one message for `tenant`'s streams.
pub fn validate(value: Value, tenant: &str) -> Result<Message, Vec<EventError>> {
    let mut envelope = object(
        value,
        "a stream message is a JSON object (a CloudEvents 1.0 envelope)",
    )?;
    let names = ENVELOPE.iter().map(|f| f.name);
    let mut errors = unknown_keys(&envelope, names, "message", "attribute", "");
    for field in ENVELOPE {
        match envelope.get(field.name) {
            None if field.required => errors.push(err(
                &format!("message.{}", field.name),
                "missing required attribute",
            )),
            Some(value) if !has_type(value, field.ty) => errors.push(err(
                &format!("message.{}", field.name),
                format!("expected {}, found {}", describe(field.ty), kind(value)),
            )),
            _ => {}
        }
    }
    let text = |envelope: &Map<String, Value>, name: &str| {
        envelope
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if let Some(version) = text(&envelope, "specversion")
        && version != SPEC_VERSION
    {
        errors.push(err(
            "message.specversion",
            format!("CloudEvents version `{version}` is not supported; use \"1.0\""),
        ));
    }
    let id = text(&envelope, "id").unwrap_or_default();
    if envelope.contains_key("id") && (id.is_empty() || id.len() > MAX_ID_BYTES) {
        errors.push(err(
            "message.id",
            format!("an event id is 1 to {MAX_ID_BYTES} bytes"),
        ));
    } else if id.chars().any(char::is_control) {
        errors.push(err("message.id", "an event id has no control characters"));
    }
    if let Some(source) = text(&envelope, "source") {
        match source.strip_prefix(SOURCE_PREFIX) {
            None => errors.push(err(
                "message.source",
                format!("the source is a tenant URN, `{SOURCE_PREFIX}<tenant id>`"),
            )),
            Some(owner) if owner != tenant => errors.push(err(
                "message.source",
                format!("the event belongs to tenant `{owner}`, not to this workspace's tenant `{tenant}`"),
            )),
            Some(_) => {}
        }
    }
    if let Some(owner) = text(&envelope, "tenantid")
        && owner != tenant
    {
        errors.push(err(
            "message.tenantid",
            format!("the event belongs to tenant `{owner}`, not to `{tenant}`"),
        ));
    }
    if let Some(media) = text(&envelope, "datacontenttype")
        && media != "application/json"
    {
        errors.push(err(
            "message.datacontenttype",
            "stream events carry JSON: \"application/json\"",
        ));
    }
    let time = text(&envelope, "time").and_then(|t| {
        let parsed = parse_rfc3339(&t);
        if parsed.is_none() {
            errors.push(err(
                "message.time",
                "expected an RFC 3339 UTC timestamp such as 2026-01-15T12:00:00Z",
            ));
        }
        parsed
    });
    let ty = text(&envelope, "type").and_then(|name| {
        let found = stream_events::event_type(&name);
        if found.is_none() {
            let hint = stream_events::suggest(&name)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("known types: {}", stream_events::names().join(", ")));
            errors.push(err(
                "message.type",
                format!("unknown event type `{name}`; {hint}"),
            ));
        }
        found
    });
    if let (Some(ty), Some(Value::Object(data))) = (ty, envelope.get_mut("data")) {
        check_data(ty, data, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(ty), Some(time)) = (ty, time) else {
        return Err(vec![err("message", "incomplete message")]);
    };
    let ordering_key = text(&envelope, "subject").or_else(|| {
        envelope["data"]
            .get("user")
            .and_then(|u| u.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    });
    Ok(Message {
        envelope: Value::Object(envelope),
        id,
        ty,
        time,
        ordering_key,
    })
}

/// Checks and completes `data` against the type's members.
fn check_data(ty: &EventType, data: &mut Map<String, Value>, errors: &mut Vec<EventError>) {
    for key in data.keys() {
        if ty.field(key).is_none() {
            let hint = crate::catalog::did_you_mean(key, ty.data.iter().map(|f| f.name));
            errors.push(err(
                &format!("message.data.{key}"),
                format!("`{}` events have no such member{hint}", ty.name),
            ));
        }
    }
    for field in ty.data {
        let path = format!("message.data.{}", field.name);
        let Some(value) = data.get_mut(field.name) else {
            if field.required {
                errors.push(err(
                    &path,
                    format!("`{}` events carry `{}`", ty.name, field.name),
                ));
            }
            continue;
        };
        match field.shape {
            Shape::Value(t) => {
                if !has_type(value, t) {
                    errors.push(err(
                        &path,
                        format!("expected {}, found {}", describe(t), kind(value)),
                    ));
                }
            }
            Shape::EventGroup(group) => check_group(&path, group, value, errors),
        }
    }
}

/// Checks an object against the login catalogue's `group` and fills its missing members.
fn check_group(path: &str, group: &str, value: &mut Value, errors: &mut Vec<EventError>) {
    let Value::Object(object) = value else {
        errors.push(err(
            path,
            format!("expected an object, found {}", kind(value)),
        ));
        return;
    };
    for (key, member) in object.iter_mut() {
        let field_path = format!("{group}.{key}");
        let Some(field) = EVENT_FIELDS.iter().find(|f| f.path == field_path) else {
            let hint = crate::catalog::did_you_mean(
                key,
                stream_events::group_members(group).map(|(name, _)| name),
            );
            errors.push(err(
                &format!("{path}.{key}"),
                format!("unknown field{hint}"),
            ));
            continue;
        };
        if field.ty == FieldType::Group {
            check_group(&format!("{path}.{key}"), field.path, member, errors);
        } else if !has_type(member, field.ty) {
            errors.push(err(
                &format!("{path}.{key}"),
                format!("expected {}, found {}", describe(field.ty), kind(member)),
            ));
        }
    }
    for (name, field) in stream_events::group_members(group) {
        if !object.contains_key(name) {
            let mut empty = empty_value(field);
            if field.ty == FieldType::Group {
                check_group(&format!("{path}.{name}"), field.path, &mut empty, errors);
            }
            object.insert(name.to_string(), empty);
        }
    }
}

/// The reference's empty value of a login-event field: "" and 0 and false, `aal0` for the
/// assurance level, empty lists and objects.
fn empty_value(field: &EventField) -> Value {
    match field.ty {
        FieldType::String if field.path.ends_with("aal") => Value::from("aal0"),
        FieldType::String => Value::from(""),
        FieldType::Number => Value::from(0),
        FieldType::Boolean => Value::from(false),
        FieldType::List => Value::Array(Vec::new()),
        FieldType::Record | FieldType::Group => Value::Object(Map::new()),
    }
}

fn has_type(value: &Value, ty: FieldType) -> bool {
    match ty {
        FieldType::String => value.is_string(),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::List => value.is_array(),
        FieldType::Record | FieldType::Group => value.is_object(),
    }
}

impl Message {
    /// The event object an event-stream action receives for this message on `stream`:
    /// `message` (with `streamid` set), `tenant`, and `user` when the type carries one.
    /// Nothing of a login's request or user is there unless the message carries it.
    pub fn action_event(&self, stream: &str, tenant: &TenantSettings) -> Value {
        let mut message = self.envelope.clone();
        message["streamid"] = Value::from(stream);
        let mut event = Map::new();
        if self.ty.carries_user()
            && let Some(user) = message["data"].get("user")
        {
            event.insert("user".into(), user.clone());
        }
        event.insert("message".into(), message);
        event.insert(
            "tenant".into(),
            serde_json::json!({ "id": tenant.id, "name": tenant.name, "slug": tenant.slug }),
        );
        Value::Object(event)
    }
}

/// Builds a message of `ty` (the caller fills `data` by the catalogue's shape).
pub fn envelope(
    id: &str,
    ty: &EventType,
    tenant: &str,
    time: i64,
    subject: Option<&str>,
    data: Value,
) -> Value {
    let mut envelope = Map::new();
    envelope.insert("specversion".into(), Value::from(SPEC_VERSION));
    envelope.insert("id".into(), Value::from(id));
    envelope.insert(
        "source".into(),
        Value::from(stream_events::tenant_urn(tenant)),
    );
    envelope.insert("type".into(), Value::from(ty.name));
    envelope.insert(
        "time".into(),
        Value::from(crate::run::event::format_rfc3339(time)),
    );
    if let Some(subject) = subject {
        envelope.insert("subject".into(), Value::from(subject));
    }
    envelope.insert("datacontenttype".into(), Value::from("application/json"));
    envelope.insert("tenantid".into(), Value::from(tenant));
    envelope.insert("data".into(), data);
    Value::Object(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn login_failed() -> Value {
        json!({
            "specversion": "1.0", "id": "evt_1", "source": "urn:authflow:tenant:ten_acme",
            "type": "login.failed", "time": "2026-01-15T12:00:00Z", "tenantid": "ten_acme",
            "data": { "reason": "invalid-credentials", "identifier": "ada@example.com",
                      "client": {}, "connection": {}, "request": { "ip": "203.0.113.9" },
                      "transaction": {}, "authentication": {} }
        })
    }

    #[test]
    fn completes_missing_members_with_empty_values() {
        let message = validate(login_failed(), "ten_acme").unwrap();
        let data = &message.envelope["data"];
        assert_eq!(data["request"]["ip"], "203.0.113.9");
        assert_eq!(data["request"]["geo"]["country"], "");
        assert_eq!(data["request"]["asn"]["is_tor"], false);
        assert_eq!(data["authentication"]["aal"], "aal0");
        assert!(data.get("user").is_none());
        assert_eq!(message.ordering_key, None);
        let event = message.action_event("logins", &TenantSettings::default());
        assert!(event.get("user").is_none(), "login.failed carries no user");
        assert!(event.get("request").is_none());
        assert_eq!(event["message"]["streamid"], "logins");
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let mut bad = login_failed();
        bad["type"] = json!("login.fail");
        bad["source"] = json!("urn:authflow:tenant:ten_other");
        bad["specvresion"] = json!("1.0");
        bad["time"] = json!("yesterday");
        let errors = validate(bad, "ten_acme").unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "message.specvresion",
                "message.source",
                "message.time",
                "message.type"
            ]
        );
        assert!(errors[0].message.contains("did you mean `specversion`"));
        assert!(errors[3].message.contains("did you mean `login.failed`"));
        let mut wrong = login_failed();
        wrong["data"]["request"]["geo"] = json!({ "contry": "US" });
        wrong["data"]["reason"] = json!(5);
        let errors = validate(wrong, "ten_acme").unwrap_err();
        assert_eq!(errors[0].path, "message.data.reason");
        assert_eq!(errors[1].path, "message.data.request.geo.contry");
        assert!(errors[1].message.contains("did you mean `country`"));
    }

    #[test]
    fn user_events_expose_the_user_and_order_by_it() {
        let message = validate(
            json!({
                "specversion": "1.0", "id": "evt_2", "source": "urn:authflow:tenant:ten_acme",
                "type": "user.updated", "time": "2026-01-15T12:00:00Z", "tenantid": "ten_acme",
                "data": { "user": { "id": "usr_ada", "app_metadata": { "tier": "pro" } },
                          "changed": ["app_metadata"] }
            }),
            "ten_acme",
        )
        .unwrap();
        assert_eq!(message.ordering_key.as_deref(), Some("usr_ada"));
        let event = message.action_event("users", &TenantSettings::default());
        assert_eq!(event["user"]["app_metadata"]["tier"], "pro");
        assert_eq!(event["user"]["email"], "");
    }
}

/// An event file for `action test` of an event-stream action: the `message` it receives,
/// plus the simulation keys `fetch` (recorded responses) and `description`.
#[derive(Clone, Debug)]
pub struct TestEvent {
    pub message: Message,
    pub fetch: std::collections::BTreeMap<String, crate::run::event::RecordedResponse>,
    pub description: String,
}

/// Validates an event-stream action's test event file.
pub fn test_event(value: Value, tenant: &str) -> Result<TestEvent, Vec<EventError>> {
    let mut top = object(
        value,
        "an event-stream action's event file is a JSON object with `message`",
    )?;
    let mut errors = unknown_keys(
        &top,
        ["message", "fetch", "description"],
        "event",
        "field",
        " (an event-stream action receives only the message, its secrets and the tenant)",
    );
    let fetch = match top.remove("fetch") {
        None => Default::default(),
        Some(value) => match serde_json::from_value::<
            std::collections::BTreeMap<String, crate::run::event::RecordedResponse>,
        >(value)
        {
            Ok(fetch) => {
                for key in fetch.keys() {
                    if let Err(message) = crate::run::event::recording_key(key) {
                        errors.push(err(&format!("fetch.{key}"), message));
                    }
                }
                fetch
            }
            Err(e) => {
                errors.push(err("fetch", e.to_string()));
                Default::default()
            }
        },
    };
    let description = match top.remove("description") {
        None => String::new(),
        Some(Value::String(text)) => text,
        Some(_) => {
            errors.push(err("description", "expected a string"));
            String::new()
        }
    };
    let message = match top.remove("message") {
        None => {
            errors.push(err(
                "message",
                "missing: the stream event the action receives",
            ));
            None
        }
        Some(value) => match validate(value, tenant) {
            Ok(message) => Some(message),
            Err(mut list) => {
                errors.append(&mut list);
                None
            }
        },
    };
    match message {
        Some(message) if errors.is_empty() => Ok(TestEvent {
            message,
            fetch,
            description,
        }),
        _ => Err(errors),
    }
}
