//! Recorded logins: the JSONL format `authflow runs export` writes and `authflow replay
//! --from` reads, one recorded login per line.
//!
//! A line is a JSON object: `id` (the stored run's id), `flow` (the flow's name), `recorded_at`
//! (RFC 3339), `outcome` (what the login decided when it was recorded) and `event`: the event
//! file exactly as the run was given it, with its credentials, recorded fetch responses and
//! recorded clock (`now`), so that a replay runs it with the same inputs. Secret values never
//! appear: the store redacts them before it keeps a run, and export drops `event.secrets`.
//!
//! Reading is strict: a malformed line is an error naming its line number, never skipped.

use super::Login;
use crate::run::trace::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::BufRead;

/// The longest line read: an event with recorded fetch bodies (the event file limit).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The most logins one replay reads.
pub const MAX_LOGINS: usize = 1_000_000;

/// One line of a runs export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedLogin {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The event file the run was given (a preset's JSON for runs of a preset).
    pub event: Value,
}

/// A problem with one line of a runs file.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}:{line}: {message}")]
pub struct RecordError {
    pub source_name: String,
    pub line: usize,
    pub message: String,
}

/// Reads every recorded login of a JSONL stream, strictly. `source_name` names the stream in
/// errors. Blank lines are allowed (a trailing newline, a hand-edited file).
pub fn read_jsonl(
    mut reader: impl BufRead,
    source_name: &str,
) -> Result<Vec<RecordedLogin>, Vec<RecordError>> {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let error = |line: usize, message: String| RecordError {
        source_name: source_name.to_string(),
        line,
        message,
    };
    let mut buffer = Vec::new();
    let mut line = 0;
    loop {
        buffer.clear();
        line += 1;
        let mut bounded = std::io::Read::take(reader.by_ref(), MAX_LINE_BYTES as u64 + 1);
        match bounded.read_until(b'\n', &mut buffer) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                errors.push(error(line, e.to_string()));
                break;
            }
        }
        if buffer.len() > MAX_LINE_BYTES {
            errors.push(error(
                line,
                format!("the line is longer than {MAX_LINE_BYTES} bytes"),
            ));
            break;
        }
        let text = match std::str::from_utf8(&buffer) {
            Ok(t) => t.trim(),
            Err(e) => {
                errors.push(error(line, format!("not UTF-8 ({e})")));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        if records.len() >= MAX_LOGINS {
            errors.push(error(
                line,
                format!(
                    "more than {MAX_LOGINS} recorded logins; replay a part (`runs export --since`)"
                ),
            ));
            break;
        }
        match serde_json::from_str::<RecordedLogin>(text) {
            Ok(record) => records.push(record),
            Err(e) => errors.push(error(line, format!("not a recorded login: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

impl RecordedLogin {
    /// A stored run as a recorded login: its id, flow, time, outcome and the event it was
    /// given. The store redacted the workspace's secret values when it kept the run;
    /// `secrets` (the values known now) are redacted again, so a secret added since is not
    /// exported either.
    pub fn from_stored(
        run: &crate::store::StoredRun,
        secrets: &[(String, String)],
    ) -> RecordedLogin {
        let mut event = run.input_event.clone();
        if let Value::Object(map) = &mut event {
            map.remove("secrets");
        }
        crate::js::redact_json(secrets, &mut event);
        RecordedLogin {
            id: run.id.clone(),
            flow: Some(run.flow.clone()),
            recorded_at: Some(run.recorded_at.to_string()),
            outcome: Some(run.outcome),
            event,
        }
    }

    /// The login as the simulator runs it; the event's problems by JSON path.
    pub fn to_login(&self) -> Result<Login, String> {
        let event = crate::run::event::parse(self.event.clone()).map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let name = if event.description.is_empty() {
            self.id.clone()
        } else {
            event.description.clone()
        };
        Ok(Login {
            id: self.id.clone(),
            name,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_strictly_with_their_numbers() {
        let text = "{\"id\":\"a\",\"event\":{}}\n\n{\"id\":\"b\",\"flow\":\"login\",\"event\":{\"now\":\"2026-01-01T00:00:00Z\"}}\n";
        let records = read_jsonl(text.as_bytes(), "runs.jsonl").unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].flow.as_deref(), Some("login"));
        let bad = "{\"id\":\"a\",\"event\":{}}\n{\"id\":\"b\"}\nnot json\n";
        let errors = read_jsonl(bad.as_bytes(), "runs.jsonl").unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(
            errors[0]
                .to_string()
                .starts_with("runs.jsonl:2: not a recorded login")
        );
    }

    #[test]
    fn an_event_that_does_not_follow_the_reference_is_refused_with_its_path() {
        let record = RecordedLogin {
            id: "r1".into(),
            flow: None,
            recorded_at: None,
            outcome: None,
            event: serde_json::json!({"request": {"geo": {"country": 7}}}),
        };
        let error = record.to_login().err().unwrap();
        assert!(error.contains("request.geo.country"), "{error}");
    }
}
