//! How traces and reports are shown: the human tree of a run's stages and blocks, the JSON
//! trace, the list of stored runs and the Test pane's report of one action.

use super::TraceFormat;
use crate::run::ActionResult;
use crate::run::trace::{BlockStatus, Outcome, Trace};
use crate::store::StoredRun;
use std::path::Path;

/// Appends one line of output, every unsafe character of tenant text in it escaped (the
/// layout itself has none), so no log line, reason or name can forge or hide lines.
fn line(out: &mut String, text: impl AsRef<str>) {
    out.push_str(&super::escape::escape(text.as_ref()));
    out.push('\n');
}

/// A trace in the format asked for.
pub fn trace(trace: &Trace, format: TraceFormat) -> String {
    match format {
        TraceFormat::Human => render(trace),
        TraceFormat::Json => json(trace),
    }
}

/// Pretty JSON for standard output, with the characters serde leaves raw escaped.
fn json(value: &impl serde::Serialize) -> String {
    super::escape::escape_json(serde_json::to_string_pretty(value).unwrap_or_default()) + "\n"
}

/// The stored runs, a line each (or a JSON array), newest first.
pub fn run_list(store: &Path, runs: &[StoredRun], format: TraceFormat) -> String {
    if format == TraceFormat::Json {
        let items: Vec<serde_json::Value> = runs
            .iter()
            .map(|run| {
                serde_json::json!({
                    "id": run.id,
                    "recorded_at": run.recorded_at.to_string(),
                    "flow": run.flow,
                    "flow_file": run.flow_file,
                    "event": run.event_name,
                    "outcome": run.outcome,
                    "deny_reason": run.deny_reason,
                    "blocks": run.trace.blocks.len(),
                    "elapsed_us": run.trace.elapsed_us,
                })
            })
            .collect();
        return json(&items);
    }
    let mut out = String::new();
    if runs.is_empty() {
        line(
            &mut out,
            format!("no stored runs match in {}", store.display()),
        );
    }
    for run in runs {
        let outcome = match run.outcome {
            Outcome::Allow => "allow".to_string(),
            Outcome::Deny => format!("deny ({})", run.deny_reason.as_deref().unwrap_or("")),
        };
        let at = run.recorded_at.strftime("%Y-%m-%d %H:%M:%S");
        line(
            &mut out,
            format!(
                "{}  {at}  {}  {}  {}  {} blocks  {} µs",
                run.id,
                run.flow,
                run.event_name,
                outcome,
                run.trace.blocks.len(),
                run.trace.elapsed_us
            ),
        );
    }
    out
}

/// What the Test pane shows for one action run: Logs, State writes, Metadata.
pub struct ActionReport<'a> {
    pub slug: &'a str,
    pub enabled: bool,
    pub event: &'a str,
    pub elapsed: std::time::Duration,
    pub result: &'a ActionResult,
}

impl ActionReport<'_> {
    pub fn render(&self, format: TraceFormat) -> String {
        match format {
            TraceFormat::Json => json(&self.json()),
            TraceFormat::Human => self.human(),
        }
    }

    fn json(&self) -> serde_json::Value {
        use serde_json::json;
        let result = self.result;
        json!({
            "action": self.slug,
            "enabled": self.enabled,
            "event": self.event,
            "logs": result.logs,
            "state_writes": result.state_writes.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "metadata": {
                "elapsed_ms": self.elapsed.as_secs_f64() * 1000.0,
                "app_metadata": result.metadata_patch,
                "claims": result.claims.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            },
            "denied": result.denied,
            "failure": result.failure,
            "fetches": result.fetches,
        })
    }

    fn human(&self) -> String {
        let (slug, result) = (self.slug, self.result);
        let mut out = String::new();
        let state = if self.enabled {
            "enabled"
        } else {
            "disabled: flows skip it, the Test pane runs it"
        };
        line(
            &mut out,
            format!("action {slug} ({state}) · event {}", self.event),
        );
        line(&mut out, "Logs");
        if result.logs.is_empty() {
            line(&mut out, "  (none)");
        }
        for log in &result.logs {
            line(&mut out, format!("  {:<5} {}", log.level, log.message));
        }
        line(&mut out, "State writes");
        if result.state_writes.is_empty() {
            line(&mut out, "  (none)");
        }
        for (k, v) in &result.state_writes {
            line(&mut out, format!("  step.{slug}.{k} = {v}"));
        }
        line(&mut out, "Metadata");
        line(
            &mut out,
            format!("  elapsed: {:.2} ms", self.elapsed.as_secs_f64() * 1000.0),
        );
        for (k, v) in &result.metadata_patch {
            line(&mut out, format!("  app_metadata.{k} = {v}"));
        }
        for (k, v) in &result.claims {
            line(&mut out, format!("  claim {k} = {v}"));
        }
        if let Some(reason) = &result.denied {
            line(&mut out, format!("Denied: {reason}"));
        }
        if let Some(f) = &result.failure {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" at {file}:{line}"),
                _ => String::new(),
            };
            line(&mut out, format!("Failed ({}): {}{at}", f.kind, f.message));
        }
        out
    }
}

fn duration(us: u64) -> String {
    if us >= 1000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

fn mark(status: BlockStatus) -> &'static str {
    match status {
        BlockStatus::Completed => "✓",
        BlockStatus::Skipped => "○",
        BlockStatus::Denied => "✗",
        BlockStatus::Failed => "!",
    }
}

fn title(kind: &str) -> &str {
    crate::blocks::block_type(kind).map_or(kind, |t| t.title)
}

/// Renders a trace as a tree.
pub fn render(trace: &Trace) -> String {
    let mut out = String::new();
    let verdict = match trace.outcome {
        Outcome::Allow => "ALLOW".to_string(),
        Outcome::Deny => format!(
            "DENY ({})",
            trace.deny_reason.as_deref().unwrap_or("no reason")
        ),
    };
    line(
        &mut out,
        format!(
            "flow {} · event {} · {} · {}",
            trace.flow,
            trace.event,
            verdict,
            duration(trace.elapsed_us)
        ),
    );
    let mut stage: Option<&str> = None;
    for (i, b) in trace.blocks.iter().enumerate() {
        if stage != Some(b.stage.as_str()) {
            line(&mut out, format!("├─ stage {}", b.stage));
            stage = Some(b.stage.as_str());
        }
        let last_in_stage = trace.blocks.get(i + 1).is_none_or(|n| n.stage != b.stage);
        let branch = if last_in_stage { "└─" } else { "├─" };
        let pipe = if last_in_stage { "   " } else { "│  " };
        let status = format!("{:?}", b.status).to_lowercase();
        line(
            &mut out,
            format!(
                "│  {branch} {} {} ({}) {status} · {}",
                mark(b.status),
                b.id,
                title(&b.kind),
                duration(b.elapsed_us)
            ),
        );
        let detail = |out: &mut String, text: String| {
            line(out, format!("│  {pipe}    {text}"));
        };
        if let Some(reason) = &b.reason {
            detail(&mut out, format!("reason: {reason}"));
        }
        if let Some(f) = &b.failure {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(
                    " at {file}:{line}{}",
                    f.column.map(|c| format!(":{c}")).unwrap_or_default()
                ),
                _ => String::new(),
            };
            detail(&mut out, format!("failure: {} ({}){at}", f.message, f.kind));
        }
        for log in &b.logs {
            detail(&mut out, format!("log {:<5} {}", log.level, log.message));
        }
        for w in &b.state_writes {
            detail(
                &mut out,
                format!(
                    "state  step.{}.{} = {}",
                    b.action.as_deref().unwrap_or(&b.id),
                    w.key,
                    w.value
                ),
            );
        }
        for (k, v) in &b.metadata {
            detail(&mut out, format!("app_metadata.{k} = {v}"));
        }
        for (k, v) in &b.claims {
            detail(&mut out, format!("claim  {k} = {v}"));
        }
        for f in &b.fetches {
            detail(&mut out, format!("fetch  {f}"));
        }
    }
    line(
        &mut out,
        format!(
            "outcome: {}",
            match trace.outcome {
                Outcome::Allow => "allow".to_string(),
                Outcome::Deny => format!("deny: {}", trace.deny_reason.as_deref().unwrap_or("")),
            }
        ),
    );
    line(
        &mut out,
        format!("authentication: {}", trace.authentication),
    );
    line(
        &mut out,
        format!(
            "step state: {}",
            serde_json::Value::Object(trace.state.clone())
        ),
    );
    line(
        &mut out,
        format!(
            "claims: {}",
            serde_json::Value::Object(trace.claims.clone())
        ),
    );
    line(
        &mut out,
        format!(
            "app_metadata: {}",
            serde_json::Value::Object(trace.app_metadata.clone())
        ),
    );
    if let Some(token) = &trace.session_token {
        line(&mut out, format!("session token: {token}"));
    }
    out
}
