//! `streams/<name>.yaml`: an event stream's subscribed event types, the event-stream actions
//! bound to it in order, and how it delivers (concurrency, attempts, backoff, per-delivery
//! timeout, dead letters, the NATS subjects it uses).
//!
//! Loading reads and validates the file's shape and value ranges, with spans, into a
//! [`Stream`]; what the file means for the rest of the workspace (unknown event types, actions
//! that do not exist or do not handle the types) is judged by the rules of `check::rules`. The JSON
//! Schema (`authflow schema stream`) is derived from the same types, so it cannot drift.

use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use crate::workspace::Workspace;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use std::path::{Component, Path, PathBuf};

/// The directory of stream files in a workspace.
pub const STREAMS_DIR: &str = "streams";

/// A value read from YAML with the byte span it came from (an empty span when it was
/// defaulted), so checks can point at one list entry or number.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanOf<T> {
    pub value: T,
    pub span: Span,
}

impl<T> SpanOf<T> {
    pub fn new(value: T) -> SpanOf<T> {
        SpanOf {
            value,
            span: Span::default(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SpanOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SpanOf<T>, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let location = spanned.referenced.span();
        let span = match (location.byte_offset(), location.byte_len()) {
            (Some(start), len) => {
                let start = start as usize;
                Span::new(start, start + len.unwrap_or(0) as usize)
            }
            (None, _) => Span::default(),
        };
        Ok(SpanOf {
            value: spanned.value,
            span,
        })
    }
}

impl<T: JsonSchema> JsonSchema for SpanOf<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// `streams/<name>.yaml`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "authflow event stream")]
pub struct StreamSpec {
    #[serde(default)]
    pub description: String,
    /// The event types the stream subscribes to (`authflow types` and docs/streams.md list
    /// them): login.succeeded, login.failed, user.created, user.updated, user.deleted.
    pub events: Vec<SpanOf<String>>,
    /// The event-stream actions that receive each event, run in this order.
    pub actions: Vec<SpanOf<String>>,
    /// How events are delivered.
    #[serde(default)]
    pub delivery: DeliverySpec,
    /// Where the stream's events live on a NATS JetStream server (`stream consume`).
    #[serde(default)]
    pub nats: NatsSpec,
}

/// Delivery settings; every field is optional.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySpec {
    /// How many events are delivered at once (1-64). Events of one user are always delivered
    /// one after the other, in order.
    pub concurrency: SpanOf<u32>,
    /// How many times an event is attempted before it is dead-lettered (1-50).
    pub attempts: SpanOf<u32>,
    /// The delay before each retry.
    pub backoff: BackoffSpec,
    /// The wall-time budget of one action run for one event, in milliseconds (1-600000); a
    /// run that exceeds it fails and is retried.
    pub timeout_ms: SpanOf<u64>,
    /// Where events go after their last failed attempt.
    pub dead_letter: DeadLetterSpec,
}

impl Default for DeliverySpec {
    fn default() -> DeliverySpec {
        DeliverySpec {
            concurrency: SpanOf::new(4),
            attempts: SpanOf::new(5),
            backoff: BackoffSpec::default(),
            timeout_ms: SpanOf::new(5_000),
            dead_letter: DeadLetterSpec::default(),
        }
    }
}

/// Exponential backoff with jitter: retry `n` (1-based) waits
/// `min(initial_ms * multiplier^(n-1), max_ms)`, reduced by up to `jitter` of itself at random.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BackoffSpec {
    /// The delay before the first retry, in milliseconds.
    pub initial_ms: SpanOf<u64>,
    /// The longest delay, in milliseconds.
    pub max_ms: SpanOf<u64>,
    /// The factor between consecutive delays (1-10).
    pub multiplier: SpanOf<f64>,
    /// The fraction of each delay that is random (0-1): 0.2 waits between 80% and 100%.
    pub jitter: SpanOf<f64>,
}

impl Default for BackoffSpec {
    fn default() -> BackoffSpec {
        BackoffSpec {
            initial_ms: SpanOf::new(500),
            max_ms: SpanOf::new(60_000),
            multiplier: SpanOf::new(2.0),
            jitter: SpanOf::new(0.2),
        }
    }
}

impl BackoffSpec {
    /// The delay before retry `retry` (1 for the first retry), with `unit` in [0, 1) the
    /// random draw that scales the jitter.
    pub fn delay_ms(&self, retry: u32, unit: f64) -> u64 {
        let exponent = retry.saturating_sub(1).min(64) as i32;
        let base = (self.initial_ms.value as f64) * self.multiplier.value.powi(exponent);
        let capped = base.min(self.max_ms.value as f64);
        let unit = unit.clamp(0.0, 1.0);
        (capped * (1.0 - self.jitter.value * unit)).round().max(0.0) as u64
    }
}

/// Dead-letter destinations.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLetterSpec {
    /// The JSONL file `stream run` appends dead letters to, relative to the workspace
    /// (default `.authflow/dead-letters/<stream>.jsonl`).
    pub file: Option<SpanOf<String>>,
    /// The NATS subject `stream consume` publishes dead letters to
    /// (default `authflow.<tenant>.dead-letter.<stream>`).
    pub subject: Option<SpanOf<String>>,
}

/// NATS JetStream names; every field is optional.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSpec {
    /// The subject events are published to (default `authflow.<tenant>.events`).
    pub subject: Option<SpanOf<String>>,
    /// The JetStream stream that stores the subject (default `AUTHFLOW_<TENANT>`).
    pub jetstream: Option<SpanOf<String>>,
    /// The durable consumer name every `stream consume` process of this stream shares
    /// (default `authflow-<stream>`).
    pub durable: Option<SpanOf<String>>,
}

/// A loaded stream file.
#[derive(Clone, Debug)]
pub struct Stream {
    /// The file stem: `streams/logins.yaml` is `logins`.
    pub name: String,
    pub file: FileId,
    pub spec: StreamSpec,
}

impl Stream {
    /// The dead-letter JSONL file, under the workspace root.
    pub fn dead_letter_file(&self, root: &Path) -> PathBuf {
        match &self.spec.delivery.dead_letter.file {
            Some(file) => root.join(&file.value),
            None => root
                .join(".authflow")
                .join("dead-letters")
                .join(format!("{}.jsonl", self.name)),
        }
    }

    /// The subject events are published to.
    pub fn subject(&self, tenant: &str) -> String {
        self.spec
            .nats
            .subject
            .as_ref()
            .map_or_else(|| format!("authflow.{tenant}.events"), |s| s.value.clone())
    }

    /// The subject dead letters are published to.
    pub fn dead_letter_subject(&self, tenant: &str) -> String {
        self.spec.delivery.dead_letter.subject.as_ref().map_or_else(
            || format!("authflow.{tenant}.dead-letter.{}", self.name),
            |s| s.value.clone(),
        )
    }

    /// The JetStream stream holding the events subject.
    pub fn jetstream(&self, tenant: &str) -> String {
        self.spec.nats.jetstream.as_ref().map_or_else(
            || {
                let token: String = tenant
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_uppercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("AUTHFLOW_{token}")
            },
            |s| s.value.clone(),
        )
    }

    /// The durable consumer's name.
    pub fn durable(&self) -> String {
        self.spec
            .nats
            .durable
            .as_ref()
            .map_or_else(|| format!("authflow-{}", self.name), |s| s.value.clone())
    }

    /// The subscribed event types as names.
    pub fn event_names(&self) -> impl Iterator<Item = &str> {
        self.spec.events.iter().map(|e| e.value.as_str())
    }

    /// Whether the stream subscribes to `event_type`.
    pub fn subscribes(&self, event_type: &str) -> bool {
        self.event_names().any(|e| e == event_type)
    }
}

/// Whether `name` is usable as a stream name (it appears in subjects and consumer names).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `subject` is a literal NATS subject: dot-separated non-empty tokens of printable
/// ASCII without wildcards or whitespace.
pub fn valid_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.len() <= 255
        && subject.split('.').all(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'*' && b != b'>')
        })
}

/// Loads every `streams/*.yaml` of the workspace, in name order.
/// Each file is read through the workspace's confined reader: a refused file is a diagnostic.
pub fn load(ws: &mut Workspace, diagnostics: &mut Vec<Diagnostic>) -> Vec<Stream> {
    let Some(root) = ws.root.clone() else {
        return Vec::new();
    };
    let mut streams = Vec::new();
    for path in ws.list(&root.join(STREAMS_DIR), diagnostics) {
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            continue;
        }
        let Some(file) = ws.read_source(&path, diagnostics) else {
            continue;
        };
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if !valid_name(&name) {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidWorkspace,
                    file,
                    Span::default(),
                    format!("`{name}` is not a stream name"),
                )
                .help("name stream files with lower-case letters, digits, `-` and `_`, e.g. streams/logins.yaml"),
            );
            continue;
        }
        match crate::syntax::conform::from_str::<StreamSpec>(ws.sources.text(file), file) {
            Ok(spec) => {
                let before = diagnostics.len();
                check_ranges(file, &spec, diagnostics);
                if diagnostics.len() == before {
                    streams.push(Stream { name, file, spec });
                }
            }
            Err(mut d) => diagnostics.append(&mut d),
        }
    }
    streams
}

/// Value ranges the file format sets.
fn check_ranges(file: FileId, spec: &StreamSpec, out: &mut Vec<Diagnostic>) {
    let delivery = &spec.delivery;
    let mut range = |span: Span, ok: bool, what: &str, allowed: &str| {
        if !ok {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    span,
                    format!("{what} is out of range"),
                )
                .help(format!("use {allowed}")),
            );
        }
    };
    let c = &delivery.concurrency;
    range(
        c.span,
        (1..=64).contains(&c.value),
        "`concurrency`",
        "1 to 64",
    );
    let a = &delivery.attempts;
    range(a.span, (1..=50).contains(&a.value), "`attempts`", "1 to 50");
    let t = &delivery.timeout_ms;
    range(
        t.span,
        (1..=600_000).contains(&t.value),
        "`timeout_ms`",
        "1 to 600000",
    );
    let b = &delivery.backoff;
    range(
        b.initial_ms.span,
        b.initial_ms.value <= 3_600_000,
        "`initial_ms`",
        "at most 3600000 (an hour)",
    );
    range(
        b.max_ms.span,
        b.max_ms.value >= b.initial_ms.value && b.max_ms.value <= 86_400_000,
        "`max_ms`",
        "a value from initial_ms to 86400000 (a day)",
    );
    range(
        b.multiplier.span,
        (1.0..=10.0).contains(&b.multiplier.value),
        "`multiplier`",
        "1 to 10",
    );
    range(
        b.jitter.span,
        (0.0..=1.0).contains(&b.jitter.value),
        "`jitter`",
        "0 to 1",
    );
    if let Some(path) = &delivery.dead_letter.file {
        let p = Path::new(&path.value);
        let inside = !path.value.is_empty()
            && p.components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    path.span,
                    "the dead-letter file must lie inside the workspace",
                )
                .help(
                    "give a relative path without `..`, e.g. .authflow/dead-letters/logins.jsonl",
                ),
            );
        }
    }
    let subjects = [
        &delivery.dead_letter.subject,
        &spec.nats.subject,
        &spec.nats.jetstream,
        &spec.nats.durable,
    ];
    for subject in subjects.into_iter().flatten() {
        if !valid_subject(&subject.value) {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    subject.span,
                    format!("`{}` is not a literal NATS name", subject.value),
                )
                .help("use dot-separated tokens of letters, digits, `-` and `_`, without `*`, `>` or spaces"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<StreamSpec, Vec<Diagnostic>> {
        crate::syntax::conform::from_str::<StreamSpec>(text, FileId(0))
    }

    #[test]
    fn defaults_and_spans() {
        let text = "events: [login.succeeded]\nactions: [forward]\n";
        let spec = spec(text).unwrap();
        assert_eq!(spec.delivery.attempts.value, 5);
        let span = spec.events[0].span;
        assert_eq!(
            &text[span.start as usize..span.end as usize],
            "login.succeeded"
        );
        assert!(spec.delivery.dead_letter.file.is_none());
    }

    #[test]
    fn backoff_grows_caps_and_jitters_downwards() {
        let backoff = BackoffSpec::default();
        assert_eq!(backoff.delay_ms(1, 0.0), 500);
        assert_eq!(backoff.delay_ms(2, 0.0), 1_000);
        assert_eq!(backoff.delay_ms(3, 0.5), 1_800);
        assert_eq!(backoff.delay_ms(30, 0.0), 60_000);
        assert_eq!(backoff.delay_ms(u32::MAX, 0.0), 60_000);
    }

    #[test]
    fn ranges_and_names_are_checked() {
        let text = "events: []\nactions: []\ndelivery:\n  attempts: 0\n  backoff: { jitter: 2 }\n  dead_letter: { file: ../out.jsonl, subject: 'a.*' }\n";
        let spec = spec(text).unwrap();
        let mut out = Vec::new();
        check_ranges(FileId(0), &spec, &mut out);
        let messages: Vec<&str> = out.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`attempts` is out of range",
                "`jitter` is out of range",
                "the dead-letter file must lie inside the workspace",
                "`a.*` is not a literal NATS name"
            ]
        );
        assert!(valid_name("logins-2"));
        assert!(!valid_name("Logins"));
        assert!(valid_subject("authflow.ten_acme.events"));
        assert!(!valid_subject("authflow..events"));
    }
}
