//! `authflow status`: drafts, i.e. what the next publish would version.

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, TraceFormat, load, render};
use crate::diagnostic::Diagnostic;
use crate::release::Snapshot;
use crate::release::publish::{self, ItemState};
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    format: TraceFormat,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let loaded = load::in_workspace(
        load::load(None, globals.workspace.as_deref())?,
        "not in a workspace (a directory with authflow.yaml)",
    )?;
    let snap = Snapshot::content(&loaded.ws, &loaded.flows).map_err(|errors| {
        CliError::Diagnostics(render::human(
            &loaded.ws.sources,
            &errors,
            crate::cli::stdout_color(),
        ))
    })?;
    let states = publish::status(&snap, &loaded.lock);
    let last = loaded.lock.last_release(crate::cli::selected_env());
    let errors = crate::cli::check_loaded(&loaded)
        .iter()
        .filter(|d| Diagnostic::is_error(d))
        .count();
    let changes = states.values().filter(|s| s.is_change()).count();
    if args.format == TraceFormat::Json {
        let items: Vec<_> = states
            .iter()
            .map(|(key, state)| {
                let mut v = serde_json::to_value(state).unwrap_or_default();
                v["item"] = json!(key.to_string());
                v
            })
            .collect();
        let report = json!({
            "last_release": last.map(|r| r.release),
            "env": crate::cli::selected_env(),
            "items": items,
            "changes": changes,
            "errors": errors,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    match last {
        Some(r) => outln!(
            "last release: {}{} ({})",
            r.release,
            r.env
                .as_deref()
                .map(|e| format!(" to {e}"))
                .unwrap_or_default(),
            r.time
        ),
        None => outln!("no release yet"),
    }
    for (key, state) in &states {
        let line = match state {
            ItemState::Published { version } => format!("  published  {key} v{version}"),
            ItemState::Draft { version, next } => {
                format!("  draft      {key} v{version} -> v{next} on the next publish")
            }
            ItemState::New { next } => format!("  new        {key} -> v{next} on the next publish"),
            ItemState::Removed { version } => {
                format!("  removed    {key} (v{version} is left out of the next release)")
            }
        };
        outln!("{line}");
    }
    if changes == 0 {
        outln!("nothing to publish");
    } else if errors > 0 {
        outln!(
            "{changes} change(s); publish would refuse: `authflow check` reports {errors} error(s)"
        );
    } else {
        outln!("{changes} change(s) to publish");
    }
    Ok(ExitCode::SUCCESS)
}
