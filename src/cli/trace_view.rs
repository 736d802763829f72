//! How traces and reports are shown: the human tree of a run's stages and blocks, the JSON
//! trace, the list of stored runs and the Test pane's report of one action.

use super::TraceFormat;
use crate::run::ActionResult;
use crate::run::trace::{BlockStatus, Outcome, Trace};
use std::fmt::Write;
use std::path::Path;

/// A trace in the format asked for.
pub fn trace(trace: &Trace, format: TraceFormat) -> String {
    match format {
        TraceFormat::Human => render(trace),
        TraceFormat::Json => serde_json::to_string_pretty(trace).unwrap_or_default() + "\n",
    }
}

/// The stored runs, a line each, newest first.
pub fn run_list(dir: &Path, runs: &[(String, Trace)]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        let _ = writeln!(out, "no runs stored in {}", dir.display());
    }
    for (id, trace) in runs {
        let outcome = match trace.outcome {
            Outcome::Allow => "allow".to_string(),
            Outcome::Deny => format!("deny ({})", trace.deny_reason.as_deref().unwrap_or("")),
        };
        let _ = writeln!(
            out,
            "{id}  {}  {}  {}  {} blocks  {} µs",
            trace.flow,
            trace.event,
            outcome,
            trace.blocks.len(),
            trace.elapsed_us
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
            TraceFormat::Json => {
                serde_json::to_string_pretty(&self.json()).unwrap_or_default() + "\n"
            }
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
        let _ = writeln!(out, "action {slug} ({state}) · event {}", self.event);
        let _ = writeln!(out, "Logs");
        if result.logs.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for log in &result.logs {
            let _ = writeln!(out, "  {:<5} {}", log.level, log.message);
        }
        let _ = writeln!(out, "State writes");
        if result.state_writes.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for (k, v) in &result.state_writes {
            let _ = writeln!(out, "  step.{slug}.{k} = {v}");
        }
        let _ = writeln!(out, "Metadata");
        let _ = writeln!(
            out,
            "  elapsed: {:.2} ms",
            self.elapsed.as_secs_f64() * 1000.0
        );
        for (k, v) in &result.metadata_patch {
            let _ = writeln!(out, "  app_metadata.{k} = {v}");
        }
        for (k, v) in &result.claims {
            let _ = writeln!(out, "  claim {k} = {v}");
        }
        if let Some(reason) = &result.denied {
            let _ = writeln!(out, "Denied: {reason}");
        }
        if let Some(f) = &result.failure {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" at {file}:{line}"),
                _ => String::new(),
            };
            let _ = writeln!(out, "Failed ({}): {}{at}", f.kind, f.message);
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
    let _ = writeln!(
        out,
        "flow {} · event {} · {} · {}",
        trace.flow,
        trace.event,
        verdict,
        duration(trace.elapsed_us)
    );
    let mut stage: Option<&str> = None;
    for (i, b) in trace.blocks.iter().enumerate() {
        if stage != Some(b.stage.as_str()) {
            let _ = writeln!(out, "├─ stage {}", b.stage);
            stage = Some(b.stage.as_str());
        }
        let last_in_stage = trace.blocks.get(i + 1).is_none_or(|n| n.stage != b.stage);
        let branch = if last_in_stage { "└─" } else { "├─" };
        let pipe = if last_in_stage { "   " } else { "│  " };
        let status = format!("{:?}", b.status).to_lowercase();
        let _ = writeln!(
            out,
            "│  {branch} {} {} ({}) {status} · {}",
            mark(b.status),
            b.id,
            title(&b.kind),
            duration(b.elapsed_us)
        );
        let detail = |out: &mut String, text: String| {
            let _ = writeln!(out, "│  {pipe}    {text}");
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
    let _ = writeln!(
        out,
        "outcome: {}",
        match trace.outcome {
            Outcome::Allow => "allow".to_string(),
            Outcome::Deny => format!("deny: {}", trace.deny_reason.as_deref().unwrap_or("")),
        }
    );
    let _ = writeln!(out, "authentication: {}", trace.authentication);
    let _ = writeln!(
        out,
        "step state: {}",
        serde_json::Value::Object(trace.state.clone())
    );
    let _ = writeln!(
        out,
        "claims: {}",
        serde_json::Value::Object(trace.claims.clone())
    );
    let _ = writeln!(
        out,
        "app_metadata: {}",
        serde_json::Value::Object(trace.app_metadata.clone())
    );
    if let Some(token) = &trace.session_token {
        let _ = writeln!(out, "session token: {token}");
    }
    out
}
