//! Run Custom Action: runs a tenant's `exports.handler` through an `ActionRunner` (the
//! JavaScript engine in `js`, composed in `cli::actions`) and applies what it did.

use super::{BlockType, ConfigKind, Execution, Lowering, Native, Op, Step, required};
use crate::run::event::RecordedResponse;
use crate::run::trace::{BlockStatus, Failure, LogEntry, StateWrite};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub static ROW: BlockType = BlockType {
    name: "run_action",
    title: "Run Custom Action",
    doc: "Runs a custom action's `exports.handler`. Its state writes become step.<slug>.<key>; it may deny, set app metadata and custom claims. A disabled action is skipped.",
    summary: "runs `action: <slug>`; disabled actions are skipped",
    makes_available: "`step.<slug>.<key>` for its `api.state.set` writes",
    config: &[required(
        "action",
        ConfigKind::ActionRef,
        "The action's slug (file name under actions/), optionally pinned to a published version: `log-user@3`.",
    )],
    can_fail: true,
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunAction {
    pub action: String,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::run_action(RunAction {
        action: cx.text("action"),
    }))
}

/// An action reference as a flow writes it: `log-user` (the working tree's draft) or
/// `log-user@3` (published version 3, resolved against authflow.lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionPin<'a> {
    /// The slug: the name step outputs are keyed by (`step.log-user.*`), pinned or not.
    pub slug: &'a str,
    /// The text after `@`, with its byte offset in the reference; `None` when unpinned.
    pub version: Option<(usize, &'a str)>,
}

impl<'a> ActionPin<'a> {
    pub fn parse(reference: &'a str) -> ActionPin<'a> {
        match reference.split_once('@') {
            Some((slug, version)) => ActionPin {
                slug,
                version: Some((slug.len() + 1, version)),
            },
            None => ActionPin {
                slug: reference,
                version: None,
            },
        }
    }

    /// The pinned version number: `Some(Ok(3))` for `@3`, `Some(Err(text))` for a pin that
    /// is not a whole number from 1 on.
    pub fn number(&self) -> Option<Result<u32, &'a str>> {
        self.version.map(|(_, text)| {
            text.parse::<u32>()
                .ok()
                .filter(|n| *n >= 1 && !text.starts_with(['+', '0']))
                .ok_or(text)
        })
    }
}

/// A request to run one custom action.
pub struct ActionRequest<'a> {
    pub slug: &'a str,
    /// The event as the action sees it at this point of the flow.
    pub event: &'a Value,
    /// Seconds since the epoch of the simulated clock.
    pub now: i64,
    pub fetch: &'a BTreeMap<String, RecordedResponse>,
}

/// What one custom action run did.
#[derive(Clone, Debug, Default)]
pub struct ActionResult {
    pub logs: Vec<LogEntry>,
    pub state_writes: Vec<(String, Value)>,
    pub metadata_patch: Map<String, Value>,
    pub claims: Vec<(String, Value)>,
    pub denied: Option<String>,
    pub failure: Option<Failure>,
    pub fetches: Vec<Value>,
}

/// Runs custom actions for the simulator.
pub trait ActionRunner {
    fn run_action(&self, request: ActionRequest) -> ActionResult;
}

/// An `ActionRunner` for builds or commands without a JavaScript engine: every action fails
/// loudly with the reason, never pretending to run.
pub struct NoActions(pub String);

impl ActionRunner for NoActions {
    fn run_action(&self, request: ActionRequest) -> ActionResult {
        ActionResult {
            failure: Some(Failure {
                kind: "unavailable".into(),
                message: format!("action `{}` cannot run: {}", request.slug, self.0),
                file: None,
                line: None,
                column: None,
            }),
            ..ActionResult::default()
        }
    }
}

impl Native for RunAction {
    fn action(&self) -> Option<&str> {
        Some(&self.action)
    }

    fn run(&self, cx: &mut Execution) -> Step {
        let slug = self.action.as_str();
        let enabled = cx.actions.get(slug).is_some_and(|a| a.enabled);
        if !enabled {
            cx.trace.status = BlockStatus::Skipped;
            cx.trace.reason = Some(format!("action `{slug}` is disabled"));
            return Step::Continue;
        }
        let result = cx.runner.run_action(ActionRequest {
            slug,
            event: &cx.state.ctx["event"],
            now: cx.sim.now,
            fetch: &cx.sim.fetch,
        });
        let (state, bt) = (&mut *cx.state, &mut *cx.trace);
        bt.logs = result.logs;
        bt.fetches = result.fetches;
        // Effects recorded before a failure still happened: keep them, as the trace shows.
        for (key, value) in result.state_writes {
            let Some(step) = state.ctx["step"].as_object_mut() else {
                continue;
            };
            let outputs = step
                .entry(ActionPin::parse(slug).slug.to_string())
                .or_insert_with(|| json!({}));
            outputs[&key] = value.clone();
            bt.state_writes.push(StateWrite { key, value });
        }
        if !result.metadata_patch.is_empty() {
            if let Some(user) = state.ctx["event"]
                .get_mut("user")
                .and_then(Value::as_object_mut)
            {
                let metadata = user.entry("app_metadata").or_insert_with(|| json!({}));
                for (k, v) in &result.metadata_patch {
                    metadata[k] = v.clone();
                }
            }
            bt.metadata = result.metadata_patch;
        }
        for (name, value) in result.claims {
            bt.claims.insert(name.clone(), value.clone());
            state.claims.insert(name, value);
        }
        if let Some(failure) = result.failure {
            return Step::Fail(failure);
        }
        match result.denied {
            Some(reason) => Step::Deny(reason),
            None => Step::Continue,
        }
    }
}
