//! Event streams: `streams/<name>.yaml` files, the CloudEvents messages they carry, and their
//! delivery to event-stream actions, in one process (`stream run`, and the events a flow run
//! emits) or across processes through a NATS JetStream server (`stream consume`).
//!
//! - `file`: stream files (subscribed types, bound actions, delivery settings) and their schema.
//! - `message`: validating messages against `catalog::stream_events` and the event object an
//!   event-stream action receives.
//! - `delivery`: the scheduler (concurrency, retries with backoff and jitter, dead letters,
//!   duplicate ids, per-user order) over the [`delivery::Deliver`] trait.
//! - `actions`: [`delivery::Deliver`] on the JavaScript engine, composed through `crate::host`.
//! - `emit`: the events a flow run emits and their delivery after the decision.
//! - `nats`: the JetStream durable pull consumer and the publisher.
//! - `schema`: the JSON Schema of stream events, generated from the catalogue.
//!
//! What a stream file means for the workspace (unknown types, bindings, what actions read) is
//! checked by `check::rules` (AF090-AF092), like every other rule.
//!
//! This module must not know about the command line: commands call it and render its reports.
//!
//! **Invariant:** an event id is delivered at most once per stream run or consumer group
//! (later copies are counted as duplicates), and at least once unless it is dead-lettered.

pub mod actions;
pub mod delivery;
pub mod emit;
pub mod file;
pub mod message;
pub mod nats;
pub mod schema;

pub use file::{Stream, StreamSpec};
pub use message::Message;

use crate::run::event::EventError;
use std::path::Path;

/// The largest events file `stream run` and `stream publish` read.
pub const EVENTS_FILE_LIMIT: crate::files::Limit = crate::files::Limit {
    bytes: 256 << 20,
    what: "events files",
};

/// The longest line of an events file.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One bad line of an events file.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub error: EventError,
}

impl LineError {
    /// A problem with the line as a whole (`$`), before it is a message.
    fn whole(line: usize, message: String) -> LineError {
        LineError {
            line,
            error: EventError {
                path: "$".into(),
                message,
            },
        }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// Why an events file could not be used.
#[derive(Debug)]
pub enum InputError {
    Io(String),
    /// Every bad line, so one pass fixes them all.
    Lines(Vec<LineError>),
}

/// Reads a JSONL file of messages (blank lines are skipped) and validates every line for
/// `tenant`. Nothing is returned unless every line is valid. The file is read through
/// `files::read_text`, confined to the workspace at `root` when it lies inside it.
pub fn read_events(
    path: &Path,
    root: Option<&Path>,
    tenant: &str,
) -> Result<Vec<Message>, InputError> {
    let within = crate::files::confinement(path, root);
    let text = crate::files::read_text(path, within, EVENTS_FILE_LIMIT)
        .map_err(|e| InputError::Io(e.to_string()))?;
    parse_events(&text, tenant).map_err(InputError::Lines)
}

/// Parses and validates JSONL text.
pub fn parse_events(text: &str, tenant: &str) -> Result<Vec<Message>, Vec<LineError>> {
    let mut messages = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            errors.push(LineError::whole(
                line_no,
                format!("a line is at most {MAX_LINE_BYTES} bytes"),
            ));
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(e) => {
                errors.push(LineError::whole(line_no, format!("not JSON: {e}")));
                continue;
            }
        };
        match message::validate(value, tenant) {
            Ok(message) => messages.push(message),
            Err(list) => errors.extend(list.into_iter().map(|error| LineError {
                line: line_no,
                error,
            })),
        }
    }
    if errors.is_empty() {
        Ok(messages)
    } else {
        Err(errors)
    }
}

/// Finds a stream by name (or by the path of its file) among the loaded ones.
pub fn find<'a>(streams: &'a [Stream], wanted: &str) -> Result<&'a Stream, String> {
    let name = Path::new(wanted)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| wanted.ends_with(".yaml") || wanted.ends_with(".yml"))
        .unwrap_or(wanted);
    streams.iter().find(|s| s.name == name).ok_or_else(|| {
        let hint = crate::catalog::closest(name, streams.iter().map(|s| s.name.as_str()))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        if streams.is_empty() {
            format!("the workspace has no stream `{name}` (no streams/*.yaml)")
        } else {
            format!("the workspace has no stream `{name}`{hint}")
        }
    })
}
