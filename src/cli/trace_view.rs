//! The human form of a run trace: a tree of stages and blocks with what each did.

use crate::run::trace::{BlockStatus, Outcome, Trace};
use std::fmt::Write;

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
    crate::catalog::blocks::block_type(kind).map_or(kind, |t| t.title)
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
