//! The event-type catalogue of event streams: every event type a stream can subscribe to, the
//! shape of its `data`, and the CloudEvents 1.0 envelope that carries it to an event-stream
//! action as `event.message`.
//!
//! This table is the one source of truth for stream events, as `catalog::event` is for the
//! login event: the stream checks, the message validator (`streams::message`), the JSON Schema
//! of stream events, `authflow types` and the events a flow run emits all read it. Groups that
//! mirror the login event (`data.user` has the shape of `event.user`) point at the login
//! catalogue instead of repeating it. It must not grow logic beyond walking its own rows.

use super::event::{EVENT_FIELDS, FieldType};

/// The CloudEvents version every message carries.
pub const SPEC_VERSION: &str = "1.0";

/// The prefix of a message's `source`: `urn:authflow:tenant:<tenant id>`.
pub const SOURCE_PREFIX: &str = "urn:authflow:tenant:";

/// The `source` of messages about `tenant`.
pub fn tenant_urn(tenant: &str) -> String {
    format!("{SOURCE_PREFIX}{tenant}")
}

/// One attribute of the CloudEvents envelope.
pub struct EnvelopeField {
    pub name: &'static str,
    pub ty: FieldType,
    /// Whether an input message must carry it. Optional attributes are filled on delivery
    /// (`streamid`) or left out (`subject`).
    pub required: bool,
    pub doc: &'static str,
}

/// The envelope attributes, in the order messages are written.
pub static ENVELOPE: &[EnvelopeField] = &[
    EnvelopeField {
        name: "specversion",
        ty: FieldType::String,
        required: true,
        doc: "The CloudEvents version: always \"1.0\".",
    },
    EnvelopeField {
        name: "id",
        ty: FieldType::String,
        required: true,
        doc: "Unique per event within its source; a stream never delivers an id twice.",
    },
    EnvelopeField {
        name: "source",
        ty: FieldType::String,
        required: true,
        doc: "The tenant that produced the event, as a URN: urn:authflow:tenant:<tenant id>.",
    },
    EnvelopeField {
        name: "type",
        ty: FieldType::String,
        required: true,
        doc: "The event type, e.g. \"login.succeeded\"; see the event-type catalogue.",
    },
    EnvelopeField {
        name: "time",
        ty: FieldType::String,
        required: true,
        doc: "When the event happened: an RFC 3339 UTC timestamp.",
    },
    EnvelopeField {
        name: "subject",
        ty: FieldType::String,
        required: false,
        doc: "The user the event is about, when there is one; events with one subject are delivered in order.",
    },
    EnvelopeField {
        name: "datacontenttype",
        ty: FieldType::String,
        required: false,
        doc: "The media type of data: always \"application/json\".",
    },
    EnvelopeField {
        name: "tenantid",
        ty: FieldType::String,
        required: true,
        doc: "Extension attribute: the tenant id (the same as in source).",
    },
    EnvelopeField {
        name: "streamid",
        ty: FieldType::String,
        required: false,
        doc: "Extension attribute: the stream delivering the event; set on delivery.",
    },
    EnvelopeField {
        name: "data",
        ty: FieldType::Group,
        required: true,
        doc: "The event's payload; its shape depends on type.",
    },
];

/// The shape of one member of an event's `data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A value of this type.
    Value(FieldType),
    /// An object with the members of the login event's group of this name (`user`,
    /// `request`, ...), nested groups included.
    EventGroup(&'static str),
}

/// One member of an event's `data`.
#[derive(Debug, PartialEq)]
pub struct DataField {
    pub name: &'static str,
    pub shape: Shape,
    /// Whether every message of the type carries it.
    pub required: bool,
    pub doc: &'static str,
}

/// One event type.
#[derive(Debug, PartialEq)]
pub struct EventType {
    pub name: &'static str,
    pub doc: &'static str,
    /// The members of `data`.
    pub data: &'static [DataField],
}

impl EventType {
    /// Whether every message of this type carries a user (`data.user`); only then does an
    /// event-stream action see `event.user`.
    pub fn carries_user(&self) -> bool {
        self.data
            .iter()
            .any(|f| f.name == "user" && f.required && f.shape == Shape::EventGroup("user"))
    }

    /// A member of `data` by name.
    pub fn field(&self, name: &str) -> Option<&'static DataField> {
        self.data.iter().find(|f| f.name == name)
    }
}

const fn data(name: &'static str, shape: Shape, required: bool, doc: &'static str) -> DataField {
    DataField {
        name,
        shape,
        required,
        doc,
    }
}

/// A member of `data` holding the login event's group of the same name.
const fn group(name: &'static str, required: bool, doc: &'static str) -> DataField {
    data(name, Shape::EventGroup(name), required, doc)
}

const USER: DataField = group("user", true, "The user, with the fields of event.user.");
const CLIENT: DataField = group("client", true, "The application the login came from.");
const CONNECTION: DataField = group("connection", true, "The connection the login used.");
const REQUEST: DataField = group(
    "request",
    true,
    "The login's HTTP request: IP, geo, ASN signals, user agent, fingerprint.",
);
const TRANSACTION: DataField = group("transaction", true, "The login's OAuth2 transaction.");

/// Every event type, sorted by name.
pub static EVENT_TYPES: &[EventType] = &[
    EventType {
        name: "login.failed",
        doc: "A login ended denied (a Deny block, a failed check, or a flow that ended without a decision).",
        data: &[
            data(
                "reason",
                Shape::Value(FieldType::String),
                true,
                "Why the login was denied, e.g. \"invalid-credentials\".",
            ),
            data(
                "identifier",
                Shape::Value(FieldType::String),
                true,
                "What the login form sent as the identifier; empty when none.",
            ),
            group(
                "user",
                false,
                "The user, when Identity Lookup found one before the login failed.",
            ),
            CLIENT,
            CONNECTION,
            REQUEST,
            TRANSACTION,
            group(
                "authentication",
                true,
                "The factors verified before the login failed.",
            ),
        ],
    },
    EventType {
        name: "login.succeeded",
        doc: "A login ended allowed with a session.",
        data: &[
            USER,
            CLIENT,
            CONNECTION,
            REQUEST,
            TRANSACTION,
            group(
                "authentication",
                true,
                "The assurance level, verified methods and risk score of the login.",
            ),
        ],
    },
    EventType {
        name: "user.created",
        doc: "A user was created.",
        data: &[USER],
    },
    EventType {
        name: "user.deleted",
        doc: "A user was deleted; data.user is the user as it was.",
        data: &[USER],
    },
    EventType {
        name: "user.updated",
        doc: "A user's profile or metadata changed (a flow run emits it when app_metadata changed).",
        data: &[
            USER,
            data(
                "changed",
                Shape::Value(FieldType::List),
                true,
                "The names of the user fields that changed, e.g. [\"app_metadata\"].",
            ),
        ],
    },
];

/// An event type by name.
pub fn event_type(name: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|t| t.name == name)
}

/// The closest known event type to an unknown name, for "did you mean": by edit distance,
/// else the type sharing the longest prefix when it covers the namespace and three more
/// characters (`login.success` for `login.succeeded`, a word form edits alone miss).
pub fn suggest(name: &str) -> Option<&'static str> {
    super::closest(name, EVENT_TYPES.iter().map(|t| t.name)).or_else(|| {
        let common = |t: &str| {
            t.bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        };
        EVENT_TYPES
            .iter()
            .map(|t| (common(t.name), t.name))
            .filter(|(n, t)| t.find('.').is_some_and(|dot| *n >= dot + 4))
            .max_by_key(|(n, _)| *n)
            .map(|(_, t)| t)
    })
}

/// The names of every event type, for messages.
pub fn names() -> Vec<&'static str> {
    EVENT_TYPES.iter().map(|t| t.name).collect()
}

/// The login-event members of `group` one level below it: (member name, field row).
pub fn group_members(
    group: &str,
) -> impl Iterator<Item = (&'static str, &'static super::event::EventField)> + '_ {
    EVENT_FIELDS.iter().filter_map(move |f| {
        let rest = f.path.strip_prefix(group)?.strip_prefix('.')?;
        (!rest.contains('.')).then_some((rest, f))
    })
}

/// The type a path below `event.message` has, or `None` when no subscribed type has it.
/// `types` are the event types the reading action handles; a path is typed when at least one
/// of them has it (the message's `type` tells which one arrived).
pub fn message_path_type(types: &[&EventType], path: &[&str]) -> Option<PathType> {
    let (first, rest) = path.split_first()?;
    if *first != "data" {
        let field = ENVELOPE.iter().find(|f| f.name == *first)?;
        return match (field.ty, rest.is_empty()) {
            (ty, true) => Some(PathType::Typed(ty)),
            _ => None,
        };
    }
    let Some((member, below)) = rest.split_first() else {
        return Some(PathType::Typed(FieldType::Group));
    };
    let mut found = None;
    for ty in types {
        let Some(field) = ty.field(member) else {
            continue;
        };
        let resolved = match field.shape {
            Shape::Value(t) if below.is_empty() => Some(PathType::Typed(t)),
            Shape::Value(FieldType::Record) => Some(PathType::Dynamic),
            Shape::Value(_) => None,
            Shape::EventGroup(group) => {
                let mut segments = vec![group];
                segments.extend_from_slice(below);
                match super::event::lookup(&segments) {
                    super::event::FieldLookup::Field(f) => Some(PathType::Typed(f.ty)),
                    super::event::FieldLookup::Dynamic(_) => Some(PathType::Dynamic),
                    super::event::FieldLookup::Unknown => None,
                }
            }
        };
        if resolved.is_some() {
            found = resolved;
            break;
        }
    }
    found
}

/// What a path below `event.message` resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathType {
    Typed(FieldType),
    /// Below a `Record`: any key, no type.
    Dynamic,
}

/// The TypeScript declarations of event-stream actions' `event` and `api`, for
/// `authflow types`: one interface per event type, discriminated by `type`.
pub fn declarations() -> String {
    use super::types_dts::interface_name;
    use std::fmt::Write;
    let ts = |ty: FieldType| match ty {
        FieldType::String => "string",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
        FieldType::List => "unknown[]",
        FieldType::Record | FieldType::Group => "Record<string, unknown>",
    };
    let mut out = String::from(
        "/** The CloudEvents 1.0 envelope every stream event has. */\ninterface AuthflowStreamMessageBase {\n",
    );
    for field in ENVELOPE
        .iter()
        .filter(|f| !matches!(f.name, "type" | "data"))
    {
        let optional = if field.required || field.name == "streamid" {
            ""
        } else {
            "?"
        };
        let ty = if field.name == "specversion" {
            "'1.0'"
        } else {
            ts(field.ty)
        };
        let _ = writeln!(
            out,
            "  /** {} */\n  readonly {}{optional}: {ty};",
            field.doc, field.name
        );
    }
    out.push_str("}\n\n");
    let mut names = Vec::new();
    for ty in EVENT_TYPES {
        let name: String = ty
            .name
            .split(['.', '_'])
            .map(|w| {
                let mut c = w.chars();
                c.next().map_or_else(String::new, |f| {
                    f.to_ascii_uppercase().to_string() + c.as_str()
                })
            })
            .collect();
        let name = format!("AuthflowStreamMessage{name}");
        let _ = writeln!(
            out,
            "/** {} */\ninterface {name} extends AuthflowStreamMessageBase {{",
            ty.doc
        );
        let _ = writeln!(out, "  readonly type: '{}';\n  readonly data: {{", ty.name);
        for field in ty.data {
            let shape = match field.shape {
                Shape::Value(t) => ts(t).to_string(),
                Shape::EventGroup(group) => interface_name(group),
            };
            let optional = if field.required { "" } else { "?" };
            let _ = writeln!(
                out,
                "    /** {} */\n    readonly {}{optional}: {shape};",
                field.doc, field.name
            );
        }
        out.push_str("  };\n}\n\n");
        names.push(name);
    }
    let _ = writeln!(
        out,
        "/** One event of an event stream; `type` tells which. */\ntype AuthflowStreamMessage = {};\n",
        names.join(" | ")
    );
    out.push_str("/** What an event-stream action receives: the message, its secrets and the tenant; `user` only for types that carry one. */\ninterface AuthflowStreamEvent {\n  readonly message: AuthflowStreamMessage;\n  readonly secrets: Readonly<Record<string, string>>;\n  readonly tenant: AuthflowEventTenant;\n  readonly user?: AuthflowEventUser;\n}\n\n");
    out.push_str("/** The api of event-stream actions: they run after the login and cannot change it. */\ninterface AuthflowStreamApi {\n");
    for method in super::api::API_METHODS.iter().filter(|m| m.event_stream) {
        let _ = writeln!(
            out,
            "  /** {} */\n  {};",
            method.doc,
            super::types_dts::ts_signature(method.signature)
        );
    }
    out.push_str("}\n\n/** An event-stream action: `exports.onExecuteEventStream = async (event, api) => { ... }`. */\ntype AuthflowStreamHandler = (event: AuthflowStreamEvent, api: AuthflowStreamApi) => void | Promise<unknown>;\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_sorted_and_names_known_groups() {
        let names = names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for ty in EVENT_TYPES {
            for field in ty.data {
                if let Shape::EventGroup(group) = field.shape {
                    assert!(
                        group_members(group).next().is_some(),
                        "{}.{} names an empty group",
                        ty.name,
                        field.name
                    );
                }
            }
        }
    }

    #[test]
    fn user_carrying_types() {
        let carrying: Vec<&str> = EVENT_TYPES
            .iter()
            .filter(|t| t.carries_user())
            .map(|t| t.name)
            .collect();
        assert_eq!(
            carrying,
            [
                "login.succeeded",
                "user.created",
                "user.deleted",
                "user.updated"
            ]
        );
        assert_eq!(suggest("login.success"), Some("login.succeeded"));
        assert_eq!(suggest("user.create"), Some("user.created"));
        assert_eq!(suggest("user.x"), None);
    }

    #[test]
    fn declarations_discriminate_types_and_offer_only_the_stream_api() {
        let dts = declarations();
        assert!(dts.contains("readonly type: 'user.updated';"));
        assert!(
            dts.contains("    readonly user?: AuthflowEventUser;"),
            "login.failed's user is optional"
        );
        assert!(dts.contains("type AuthflowStreamMessage = AuthflowStreamMessageLoginFailed | "));
        let api = &dts[dts.find("interface AuthflowStreamApi").unwrap()..];
        let api = &api[..api.find('}').unwrap()];
        assert!(api.contains("fetch(url: string"));
        assert!(!api.contains("deny(") && !api.contains("setCustomClaim"));
    }

    #[test]
    fn message_paths_resolve_through_the_login_catalogue() {
        let failed = event_type("login.failed").unwrap();
        let updated = event_type("user.updated").unwrap();
        assert_eq!(
            message_path_type(&[failed], &["data", "request", "geo", "country"]),
            Some(PathType::Typed(FieldType::String))
        );
        assert_eq!(
            message_path_type(&[updated], &["data", "user", "app_metadata", "tier"]),
            Some(PathType::Dynamic)
        );
        assert_eq!(message_path_type(&[updated], &["data", "reason"]), None);
        assert_eq!(
            message_path_type(&[updated, failed], &["data", "reason"]),
            Some(PathType::Typed(FieldType::String))
        );
        assert_eq!(
            message_path_type(&[updated], &["id"]),
            Some(PathType::Typed(FieldType::String))
        );
        assert_eq!(message_path_type(&[updated], &["id", "length"]), None);
    }
}
