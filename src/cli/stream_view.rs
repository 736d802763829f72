//! How stream reports are shown: the summary and per-event lines of `stream run` and
//! `stream consume`, and the emitted events and deliveries of a flow run. Tenant text (logs,
//! failure messages, ids) is escaped before it reaches a terminal.

use super::TraceFormat;
use crate::run::trace::{DeliveryOutcome, DeliveryTrace, EmittedEvent};
use crate::streams::delivery::{EventStatus, StreamReport, Summary};
use std::fmt::Write;

/// Control characters of tenant text as `\u{..}`, so no log line can forge output lines.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// A `stream run` report.
pub fn report(report: &StreamReport, format: TraceFormat) -> String {
    if format == TraceFormat::Json {
        return serde_json::to_string_pretty(report).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    for event in &report.events {
        let status = match event.status {
            EventStatus::Delivered => "delivered",
            EventStatus::DeadLettered => "dead-lettered",
            EventStatus::Duplicate => "duplicate, skipped",
        };
        let _ = writeln!(
            out,
            "{} {} · {} · {} attempt{}",
            clean(&event.id),
            event.event_type,
            status,
            event.attempts,
            if event.attempts == 1 { "" } else { "s" }
        );
        for delivery in &event.deliveries {
            delivery_lines(&mut out, "  ", delivery, false);
        }
    }
    let _ = writeln!(
        out,
        "stream {}{}: {}",
        report.stream,
        if report.simulated_clock {
            " (simulated clock)"
        } else {
            ""
        },
        summary(&report.summary)
    );
    out
}

/// The one-line summary.
pub fn summary(s: &Summary) -> String {
    format!(
        "{} events: {} delivered, {} retried ({} retries), {} dead-lettered, {} duplicates skipped",
        s.events, s.delivered, s.retried, s.retries, s.dead_lettered, s.duplicates_skipped
    )
}

fn delivery_lines(out: &mut String, indent: &str, d: &DeliveryTrace, with_stream: bool) {
    let outcome = match d.outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Failed => "failed",
        DeliveryOutcome::Skipped => "skipped (disabled)",
    };
    let wait = if d.delay_ms > 0 {
        format!(" after {} ms backoff", d.delay_ms)
    } else {
        String::new()
    };
    let stream = if with_stream {
        format!("stream {} · ", d.stream)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{indent}{stream}{} attempt {} · {outcome}{wait} · {}",
        d.action, d.attempt, d.at
    );
    if let Some(f) = &d.failure {
        let _ = writeln!(out, "{indent}  failure: {} ({})", clean(&f.message), f.kind);
    }
    for log in &d.logs {
        let _ = writeln!(
            out,
            "{indent}  log {:<5} {}",
            log.level,
            clean(&log.message)
        );
    }
    for fetch in &d.fetches {
        let text = |key: &str| fetch[key].as_str().unwrap_or_default().to_string();
        let answer = match fetch["status"].as_u64() {
            Some(status) => format!("HTTP {status}"),
            None if fetch["allowed"] == false => "refused: not on the allowlist".to_string(),
            None => "no recorded response".to_string(),
        };
        let _ = writeln!(
            out,
            "{indent}  fetch  {} {} -> {answer} ({} bytes sent)",
            clean(&text("method")),
            clean(&text("url")),
            fetch["body_bytes"].as_u64().unwrap_or(0)
        );
    }
}

/// The events a flow run emitted and their deliveries, after the trace's blocks.
pub fn emitted(events: &[EmittedEvent]) -> String {
    let mut out = String::new();
    if events.is_empty() {
        return out;
    }
    let _ = writeln!(out, "events emitted (delivered after the decision):");
    for event in events {
        let streams = if event.streams.is_empty() {
            "no subscribed stream".to_string()
        } else {
            format!("to {}", event.streams.join(", "))
        };
        let _ = writeln!(
            out,
            "├─ {} {} · {streams}",
            event.message["type"].as_str().unwrap_or_default(),
            clean(event.message["id"].as_str().unwrap_or_default()),
        );
        for delivery in &event.deliveries {
            delivery_lines(&mut out, "│    ", delivery, true);
        }
    }
    out
}

/// Delivers a flow run's events to the workspace's streams and records them in the trace.
/// Streams with errors (an unknown type, a bad binding) are left out, with a warning.
pub fn deliver_after_run(
    compiled: &super::simulate::Compiled,
    sim: &crate::run::event::SimEvent,
    trace: &mut crate::run::trace::Trace,
) -> Result<(), super::CliError> {
    let ws = &compiled.loaded.ws;
    let mut usable = Vec::new();
    for stream in &compiled.loaded.streams {
        let diagnostics = crate::check::check_stream(ws, stream);
        if diagnostics.iter().any(|d| d.is_error()) {
            eprintln!(
                "warning: stream `{}` has errors and received no events (run `authflow check`)",
                stream.name
            );
        } else {
            usable.push(stream.clone());
        }
    }
    if usable.is_empty() {
        return Ok(());
    }
    let directory = super::simulate::load_directory(ws);
    crate::streams::emit::emit_and_deliver(ws, &usable, sim, &directory, trace)
        .map_err(super::CliError::usage)
}
