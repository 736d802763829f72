//! `authflow action test`: one action alone against an event, enabled or not (the console's
//! Test pane).

use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::{Globals, TraceFormat, load, simulate, trace_view};

#[derive(clap::Subcommand)]
pub enum Args {
    /// Run one action alone against an event, enabled or not (the console's Test pane):
    /// Logs, State writes, Metadata (elapsed time).
    Test {
        slug: String,
        #[arg(long, value_name = "PRESET|FILE")]
        event: String,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let Args::Test {
        slug,
        event,
        format,
    } = args;
    let loaded = load::in_workspace(
        load::load(None, globals.workspace.as_deref())?,
        "`action test` runs inside a workspace (a directory with authflow.yaml), or give --workspace",
    )?;
    // A workspace that does not load (authflow.yaml, the action's metadata, a module) would
    // run with defaults in its place: refuse, as `run` does. Flow files do not matter here.
    load::refuse_workspace_errors(&loaded)?;
    let Some(action) = loaded.ws.actions.get(&slug) else {
        let hint = crate::catalog::closest(&slug, loaded.ws.actions.keys().map(String::as_str))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(CliError::Usage(format!(
            "the workspace has no action `{slug}`{hint}"
        )));
    };
    let runner =
        crate::host::JsActions::new(&loaded.ws, [slug.as_str()]).map_err(CliError::usage)?;
    // An event-stream action receives a stream message, not a login event.
    let (name, event, now, fetch) =
        if action.meta.trigger == crate::catalog::api::Trigger::EventStream {
            let test = stream_test_event(&event, &loaded.ws.settings.tenant.id)?;
            let body = test
                .message
                .action_event("action-test", &loaded.ws.settings.tenant);
            (event.clone(), body, test.message.time, test.fetch)
        } else {
            let (name, sim) = simulate::load_event(&event)?;
            (name, sim.event, sim.now, sim.fetch)
        };
    let started = std::time::Instant::now();
    let result = crate::run::ActionRunner::run_action(
        &runner,
        crate::run::ActionRequest {
            slug: &slug,
            event: &event,
            now,
            fetch: &fetch,
        },
    );
    let report = trace_view::ActionReport {
        slug: &slug,
        enabled: action.meta.enabled,
        event: &name,
        elapsed: started.elapsed(),
        result: &result,
    };
    out!("{}", report.render(format));
    Ok(exit_status(result.failure.is_some()))
}

/// Reads an event-stream action's event file: `{"message": ..., "fetch": ...}`.
fn stream_test_event(
    spec: &str,
    tenant: &str,
) -> Result<crate::streams::message::TestEvent, CliError> {
    let text = std::fs::read_to_string(spec).map_err(|e| {
        CliError::Usage(format!(
            "{spec}: {e} (an event-stream action is tested with an event file holding `message`)"
        ))
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{spec}: not JSON: {e}")))?;
    crate::streams::message::test_event(value, tenant).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        CliError::Usage(format!(
            "{spec}: the event does not follow the event-type catalogue:\n{}",
            lines.join("\n")
        ))
    })
}
