//! The test file format, as one table: every key of a `*.test.yaml` file, its shape and its
//! documentation. The validator (unknown keys, wrong types, missing keys, with spans and
//! did-you-mean hints) and the JSON Schema (`authflow schema test`) are both read from it, so
//! they cannot disagree. This file says what is well-formed; `load` says what it means.

use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::syntax::tree::{Node, NodeValue};
use serde_json::{Map, Value, json};

/// The shape of a value.
pub enum Shape {
    /// Anything (event fields, expected values): checked later, or compared as data.
    Any,
    String,
    Integer,
    Enum(&'static [&'static str]),
    List(&'static Shape),
    /// A mapping with free keys, each value of one shape.
    Map(&'static Shape),
    /// A mapping with the keys of the table; no others (unless `open`).
    Object {
        fields: &'static [Field],
        /// Keys outside the table are allowed (an inline event beside `from`).
        open: bool,
    },
    /// The first alternative whose kind matches the node (string, list or mapping).
    OneOf(&'static [Shape]),
}

/// One key of an object.
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
    pub doc: &'static str,
}

const fn field(name: &'static str, shape: Shape, doc: &'static str) -> Field {
    Field {
        name,
        shape,
        required: false,
        doc,
    }
}

const fn required(name: &'static str, shape: Shape, doc: &'static str) -> Field {
    Field {
        name,
        shape,
        required: true,
        doc,
    }
}

const STRINGS: Shape = Shape::List(&Shape::String);

/// A string matched exactly, or `{contains}` / `{regex}`.
const MATCHER: Shape = Shape::OneOf(&[
    Shape::String,
    Shape::Object {
        fields: &[
            field(
                "contains",
                Shape::String,
                "The text contains this substring.",
            ),
            field(
                "regex",
                Shape::String,
                "The text matches this regular expression (Rust `regex` syntax).",
            ),
        ],
        open: false,
    },
]);

/// `event:` in a test or a row.
pub const EVENT: Shape = Shape::OneOf(&[
    Shape::String,
    Shape::Object {
        fields: &[field(
            "from",
            Shape::String,
            "The base event: a preset name or an event file (path relative to the workspace root). The other keys are event fields merged over it (mappings merge key by key, anything else replaces).",
        )],
        open: true,
    },
]);

const OTP: Shape = Shape::OneOf(&[
    Shape::String,
    Shape::Object {
        fields: &[
            required(
                "compute",
                Shape::Enum(&["totp"]),
                "Compute the code (RFC 6238, SHA-1, 30 s) from the user's `totp_secret` at the event's `now`.",
            ),
            field(
                "offset_seconds",
                Shape::Integer,
                "Compute the code this many seconds away from `now` (e.g. -120 for a stale code).",
            ),
            field(
                "secret",
                Shape::String,
                "The base32 secret to use instead of the user's.",
            ),
        ],
        open: false,
    },
]);

const CREDENTIALS: Shape = Shape::Object {
    fields: &[
        field(
            "identifier",
            Shape::String,
            "What the login form sent as the identifier (email, phone or user id).",
        ),
        field("password", Shape::String, "The password typed."),
        field(
            "otp",
            OTP,
            "A TOTP code: a literal string, or `{compute: totp}` to compute it from the user's secret.",
        ),
    ],
    open: false,
};

const RECORDING: Shape = Shape::Object {
    fields: &[
        field(
            "method",
            Shape::String,
            "The request method it answers (default: any).",
        ),
        required("url", Shape::String, "The exact URL it answers."),
        field("status", Shape::Integer, "HTTP status (default 200)."),
        field("headers", Shape::Map(&Shape::String), "Response headers."),
        field(
            "body",
            Shape::Any,
            "The body: a string as is, anything else JSON-encoded.",
        ),
    ],
    open: false,
};

const BLOCKS: Shape = Shape::Object {
    fields: &[
        field("completed", STRINGS, "Blocks that ran to completion."),
        field(
            "skipped",
            STRINGS,
            "Blocks skipped (guard false, disabled action).",
        ),
        field("failed", STRINGS, "Blocks whose op failed."),
        field("denied", STRINGS, "The block that denied."),
        field("not_reached", STRINGS, "Blocks the run never reached."),
    ],
    open: false,
};

/// The keys that match a message (of a log line, of a failure) by part.
const MESSAGE_CONTAINS: Field = field(
    "contains",
    Shape::String,
    "The message contains this substring.",
);
const MESSAGE_REGEX: Field = field(
    "regex",
    Shape::String,
    "The message matches this regular expression.",
);

const LOG: Shape = Shape::Object {
    fields: &[
        field(
            "level",
            Shape::Enum(crate::catalog::api::LOG_LEVELS),
            "The line's level.",
        ),
        MESSAGE_CONTAINS,
        MESSAGE_REGEX,
        field("block", Shape::String, "The block that wrote it."),
    ],
    open: false,
};

const FETCH: Shape = Shape::Object {
    fields: &[
        field("method", Shape::String, "The request method."),
        field("url", Shape::String, "The exact URL."),
        field("status", Shape::Integer, "The recorded status served."),
        field(
            "body",
            Shape::Any,
            "The request body: a string exactly, or JSON matched as a subset.",
        ),
        field("block", Shape::String, "The block that fetched."),
    ],
    open: false,
};

const FAILURE: Shape = Shape::Object {
    fields: &[
        field(
            "kind",
            Shape::String,
            "The failure kind (`rejected`, `threw`, `limit: cpu time`, ...).",
        ),
        MESSAGE_CONTAINS,
        MESSAGE_REGEX,
    ],
    open: false,
};

/// The outcomes a login run ends with.
pub const LOGIN_OUTCOMES: &[&str] = &["allow", "deny"];

/// The outcomes a message case (an event-stream action given a `message:`) ends with.
pub const MESSAGE_OUTCOMES: &[&str] = &["delivered", "failed"];

/// The outcomes of one delivery attempt of an emitted event.
const DELIVERY_OUTCOMES: &[&str] = &["delivered", "failed", "skipped"];

/// One delivery attempt of an emitted event to a stream's action.
const DELIVERY: Shape = Shape::Object {
    fields: &[
        field("stream", Shape::String, "The stream that delivered it."),
        field("action", Shape::String, "The event-stream action it ran."),
        field(
            "attempt",
            Shape::Integer,
            "The attempt number (1 for the first; retries follow the stream's backoff).",
        ),
        field(
            "outcome",
            Shape::Enum(DELIVERY_OUTCOMES),
            "How the attempt ended (`skipped`: the action is disabled).",
        ),
        field(
            "logs",
            Shape::List(&LOG),
            "The action's log lines in this attempt, in order (`block` is the action).",
        ),
        field(
            "fetches",
            Shape::List(&FETCH),
            "The action's fetches in this attempt, in order.",
        ),
        field("failure", FAILURE, "Why the attempt failed."),
    ],
    open: false,
};

/// One event the run emitted to its streams.
const EMITTED: Shape = Shape::Object {
    fields: &[
        field(
            "type",
            Shape::String,
            "The event type (`login.succeeded`, `login.failed`, `user.updated`, ...).",
        ),
        field(
            "subject",
            Shape::String,
            "The envelope's subject (the user's id).",
        ),
        field(
            "data",
            Shape::Any,
            "The event's `data`, matched as a subset.",
        ),
        field(
            "streams",
            STRINGS,
            "Streams subscribed to it (each listed one must be among them).",
        ),
        field(
            "deliveries",
            Shape::List(&DELIVERY),
            "Its delivery attempts, in order (others may come between).",
        ),
    ],
    open: false,
};

/// `expect:`: every key optional, each matched as a subset.
pub const EXPECT: Shape = Shape::Object {
    fields: &[
        field(
            "outcome",
            Shape::Enum(&["allow", "deny", "delivered", "failed"]),
            "How the run ended: `allow` or `deny` for a flow or a login action; `delivered` or `failed` for a message case.",
        ),
        field("reason", MATCHER, "The deny reason."),
        field(
            "blocks",
            BLOCKS,
            "Which blocks completed, were skipped, failed, denied or were not reached (each list a subset).",
        ),
        field(
            "state",
            Shape::Map(&Shape::Map(&Shape::Any)),
            "`step.<slug>.<key>` values: `{slug: {key: value}}`, values matched as subsets.",
        ),
        field(
            "claims",
            Shape::Map(&Shape::Any),
            "Custom claims, in the trace and in the decoded session token.",
        ),
        field(
            "token",
            Shape::Map(&Shape::Any),
            "Claims of the decoded session token (`sub`, `aal`, `amr`, `aud`, ...).",
        ),
        field(
            "app_metadata",
            Shape::Map(&Shape::Any),
            "The user's app_metadata at the end of the run (subset).",
        ),
        field(
            "aal",
            Shape::Enum(&["aal0", "aal1", "aal2"]),
            "The assurance level at the end of the run.",
        ),
        field("methods", STRINGS, "The verified methods, in order."),
        field(
            "logs",
            Shape::List(&LOG),
            "Log lines, in order (other lines may come between).",
        ),
        field(
            "fetches",
            Shape::List(&FETCH),
            "Fetches made, in order (others may come between).",
        ),
        field(
            "failures",
            Shape::Map(&FAILURE),
            "Why blocks failed, by block id.",
        ),
        field(
            "events",
            Shape::List(&EMITTED),
            "Events the run emitted to its streams and their deliveries, in order (others may come between); `[]` means none.",
        ),
    ],
    open: false,
};

/// `message:` in a test or a row.
pub const MESSAGE: Shape = Shape::OneOf(&[
    Shape::String,
    Shape::Object {
        fields: &[field(
            "from",
            Shape::String,
            "The base message: a message file (relative to the workspace root) holding a CloudEvents envelope or `{message, fetch}` as `action test` reads it. The other keys are envelope attributes merged over it.",
        )],
        open: true,
    },
]);

/// The keys a test and a row share: what the case runs on and what it expects.
macro_rules! case_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            $($extra,)*
            field("event", EVENT, "A preset name, an event file (relative to the workspace root), or `{from: ..., <event fields>}`; in a row, a mapping without `from` is merged over the test's event."),
            field("message", MESSAGE, "For an event-stream action: the stream message it receives instead of a login event: a message file, `{from: FILE, <attributes>}`, or an inline envelope (`specversion`, `source`, `tenantid` and `id` are filled in; `time` comes from `now:` when given)."),
            field("now", Shape::String, "The simulated clock (RFC 3339 UTC), over the event's."),
            field("directory", Shape::List(&Shape::Any), "Users added to the directory (users.yaml fields; `password` is hashed for you)."),
            field("credentials", CREDENTIALS, "What the login form sent, over the event's credentials."),
            field("secrets", Shape::Map(&Shape::String), "Secret values for this case, over the environment's."),
            field("fetch", Shape::List(&RECORDING), "Recorded responses for `api.fetch`, matched by method and URL."),
            field("expect", EXPECT, "What must hold after the run."),
        ]
    };
}

const ROW: Shape = Shape::Object {
    fields: case_fields!(field(
        "name",
        Shape::String,
        "The row's name, shown after the test's."
    )),
    open: false,
};

const TEST: Shape = Shape::Object {
    fields: case_fields!(
        required("name", Shape::String, "The test's name."),
        field(
            "flow",
            Shape::String,
            "The flow to run: its name or its file relative to the workspace."
        ),
        field(
            "action",
            Shape::String,
            "Run this action alone instead of a flow (the console's Test pane)."
        ),
        field(
            "each",
            Shape::List(&ROW),
            "Table-driven rows: each row is merged over the test and reported as its own case."
        ),
    ),
    open: false,
};

const DEFAULTS: Shape = Shape::Object {
    fields: case_fields!(),
    open: false,
};

/// A whole `*.test.yaml` file.
pub const FILE: Shape = Shape::Object {
    fields: &[
        field(
            "flow",
            Shape::String,
            "The flow every test runs unless it names another: a flow name or a file relative to the workspace.",
        ),
        field(
            "action",
            Shape::String,
            "Run this action alone in every test (the console's Test pane).",
        ),
        field(
            "defaults",
            DEFAULTS,
            "Keys every test starts from (event, credentials, secrets, fetch, expect, ...).",
        ),
        required("tests", Shape::List(&TEST), "The tests."),
    ],
    open: false,
};

/// Checks `node` against `shape`, reporting every problem.
pub fn validate(node: &Node, shape: &Shape, file: FileId, out: &mut Vec<Diagnostic>) {
    match (shape, &node.value) {
        (Shape::Any, _) => {}
        (Shape::String, NodeValue::Str(_)) | (Shape::Integer, NodeValue::Int(_)) => {}
        (Shape::Enum(values), NodeValue::Str(s)) => {
            if !values.contains(&s.as_str()) {
                let mut d = Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    node.span,
                    format!("`{s}` is not one of {}", quoted(values)),
                );
                if let Some(close) = crate::catalog::closest(s, values.iter().copied()) {
                    d = d.help(format!("did you mean `{close}`?"));
                }
                out.push(d);
            }
        }
        (Shape::List(item), NodeValue::Seq(items)) => {
            for i in items {
                validate(i, item, file, out);
            }
        }
        (Shape::Map(item), NodeValue::Map(entries)) => {
            for (_, v) in entries {
                validate(v, item, file, out);
            }
        }
        (Shape::Object { fields, open }, NodeValue::Map(entries)) => {
            for (key, value) in entries {
                match fields.iter().find(|f| f.name == key.name) {
                    Some(f) => validate(value, &f.shape, file, out),
                    None if *open => {}
                    None => {
                        let names = fields.iter().map(|f| f.name);
                        let help = match crate::catalog::closest(&key.name, names.clone()) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!(
                                "the keys allowed here are: {}",
                                names.collect::<Vec<_>>().join(", ")
                            ),
                        };
                        out.push(
                            Diagnostic::new(
                                Code::UnknownKey,
                                file,
                                key.span,
                                format!("unknown key `{}`", key.name),
                            )
                            .label("not a key here")
                            .help(help),
                        );
                    }
                }
            }
            for f in fields.iter().filter(|f| f.required) {
                if !entries.iter().any(|(k, _)| k.name == f.name) {
                    out.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            file,
                            node.span,
                            format!("missing required key `{}`", f.name),
                        )
                        .help(format!("add `{}:` ({})", f.name, f.doc)),
                    );
                }
            }
        }
        (Shape::OneOf(alternatives), _) => {
            match alternatives.iter().find(|alt| kind_matches(alt, node)) {
                Some(alt) => validate(node, alt, file, out),
                None => out.push(mismatch(node, shape, file)),
            }
        }
        _ => out.push(mismatch(node, shape, file)),
    }
}

fn kind_matches(shape: &Shape, node: &Node) -> bool {
    matches!(
        (shape, &node.value),
        (Shape::Any, _)
            | (Shape::String | Shape::Enum(_), NodeValue::Str(_))
            | (Shape::Integer, NodeValue::Int(_))
            | (Shape::List(_), NodeValue::Seq(_))
            | (Shape::Map(_) | Shape::Object { .. }, NodeValue::Map(_))
    )
}

fn mismatch(node: &Node, shape: &Shape, file: FileId) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidValue,
        file,
        node.span,
        format!("expected {}, found {}", describe(shape), node.kind()),
    )
    .help("see `authflow schema test` for the shape of a test file")
}

fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Any => "a value".into(),
        Shape::String => "a string".into(),
        Shape::Integer => "an integer".into(),
        Shape::Enum(values) => format!("one of {}", quoted(values)),
        Shape::List(_) => "a list".into(),
        Shape::Map(_) | Shape::Object { .. } => "a mapping".into(),
        Shape::OneOf(alts) => alts.iter().map(describe).collect::<Vec<_>>().join(" or "),
    }
}

fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON Schema of a test file.
pub fn schema() -> Value {
    let mut root = schema_of(&FILE);
    if let Value::Object(map) = &mut root {
        map.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        map.insert(
            "title".into(),
            json!("authflow test file (tests/**/*.test.yaml)"),
        );
    }
    root
}

fn schema_of(shape: &Shape) -> Value {
    match shape {
        Shape::Any => json!({}),
        Shape::String => json!({"type": "string"}),
        Shape::Integer => json!({"type": "integer"}),
        Shape::Enum(values) => json!({"type": "string", "enum": values}),
        Shape::List(item) => json!({"type": "array", "items": schema_of(item)}),
        Shape::Map(item) => json!({"type": "object", "additionalProperties": schema_of(item)}),
        Shape::Object { fields, open } => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|f| {
                    let mut s = schema_of(&f.shape);
                    if let Value::Object(m) = &mut s {
                        m.insert("description".into(), json!(f.doc));
                    }
                    (f.name.to_string(), s)
                })
                .collect();
            let required: Vec<&str> = fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name)
                .collect();
            let mut s = json!({
                "type": "object",
                "properties": properties,
                "additionalProperties": open,
            });
            if !required.is_empty() {
                s["required"] = json!(required);
            }
            s
        }
        Shape::OneOf(alts) => json!({"oneOf": alts.iter().map(schema_of).collect::<Vec<_>>()}),
    }
}
