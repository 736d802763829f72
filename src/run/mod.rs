//! The simulator: runs an execution plan against a simulated event and user directory and
//! records a trace. Built-in blocks are native Rust; guards are compiled conditions; custom
//! actions go through an `ActionRunner` (the JavaScript engine in `js`).
//!
//! The simulator never reads the clock, the network or the disk during a run: time comes from
//! the event (`now`), fetches from recorded responses, users from the loaded directory.

pub mod crypto;
pub mod directory;
pub mod event;
pub mod presets;
pub mod risk;
pub mod trace;

use crate::blocks::{Ending, Execution, RunState, Step};
use crate::check::types::CatalogTypes;
use crate::compile::{OnError, Plan};
use crate::expr::Condition;
use crypto::VerifiedPasswords;
use directory::Directory;
use event::SimEvent;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Instant;
use trace::{BlockStatus, BlockTrace, Outcome, Trace};

pub use crate::blocks::issue_session::SessionConfig;
pub use crate::blocks::run_action::{ActionRequest, ActionResult, ActionRunner, NoActions};

/// A plan ready to run many times: guards compiled once.
pub struct Simulator<'p> {
    plan: &'p Plan,
    guards: Vec<Option<Condition>>,
    pub directory: Directory,
    pub session: SessionConfig,
    /// Password verifications shared by every run of this simulator and any other simulator
    /// given the same memory (see [`Simulator::remembering_passwords`]).
    passwords: Option<Arc<VerifiedPasswords>>,
}

/// Why a plan could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("block `{block}`: its condition does not compile: {message}")]
pub struct LoadPlanError {
    pub block: String,
    pub message: String,
}

impl<'p> Simulator<'p> {
    pub fn new(
        plan: &'p Plan,
        directory: Directory,
        session: SessionConfig,
    ) -> Result<Simulator<'p>, LoadPlanError> {
        let step_slugs: Vec<String> = plan
            .actions
            .keys()
            .map(|r| {
                crate::blocks::run_action::ActionPin::parse(r)
                    .slug
                    .to_string()
            })
            .collect();
        let types = CatalogTypes {
            step_slugs: &step_slugs,
        };
        let guards = plan
            .blocks
            .iter()
            .map(|b| {
                b.guard
                    .as_ref()
                    .map(|text| {
                        Condition::from_source(text, &types).map_err(|e| LoadPlanError {
                            block: b.id.clone(),
                            message: e
                                .iter()
                                .map(|e| e.message.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                        })
                    })
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        Ok(Simulator {
            plan,
            guards,
            directory,
            session,
            passwords: None,
        })
    }

    /// This simulator, verifying each (password, hash) pair once in `memo` for all its runs:
    /// the test runner shares one memory among a suite's flows, since its cases log the same
    /// test users in again and again and argon2 is slow on purpose.
    pub fn remembering_passwords(mut self, memo: Arc<VerifiedPasswords>) -> Simulator<'p> {
        self.passwords = Some(memo);
        self
    }

    /// Runs the plan once.
    pub fn run(&self, sim: &SimEvent, event_name: &str, actions: &dyn ActionRunner) -> Trace {
        let started = Instant::now();
        // Identity Lookup fills `user`; a flow run starts without one, as on the platform, so
        // the copy of the event leaves it out rather than copying and dropping it.
        let event: Map<String, Value> = sim
            .event
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| *k != "user")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut state = RunState {
            ctx: Value::Object(Map::from_iter([
                ("event".to_string(), Value::Object(event)),
                ("step".to_string(), Value::Object(Map::new())),
            ])),
            user: None,
            claims: Map::new(),
            session_token: None,
        };
        let mut blocks = Vec::with_capacity(self.plan.blocks.len());
        let mut outcome = None;
        let mut pc = 0;
        while pc < self.plan.blocks.len() {
            let block = &self.plan.blocks[pc];
            let block_start = Instant::now();
            let mut bt = BlockTrace {
                id: block.id.clone(),
                stage: block.stage.clone(),
                kind: block.kind.clone(),
                action: block.op.action().map(str::to_string),
                status: BlockStatus::Completed,
                guard: None,
                reason: None,
                elapsed_us: 0,
                logs: Vec::new(),
                state_writes: Vec::new(),
                metadata: Map::new(),
                claims: Map::new(),
                fetches: Vec::new(),
                failure: None,
            };
            let guard = self.guards[pc].as_ref().map(|c| eval(c, &state.ctx));
            bt.guard = guard;
            // A jump's guard decides where it goes; any other block's guard whether it runs.
            let decides = block.op.block_type().ending == Ending::Jump;
            let step = if guard == Some(false) && !decides {
                bt.status = BlockStatus::Skipped;
                bt.reason = Some("its `when` condition is false".into());
                Step::Continue
            } else {
                block.op.run(&mut Execution {
                    sim,
                    directory: &self.directory,
                    session: &self.session,
                    actions: &self.plan.actions,
                    runner: actions,
                    passwords: self.passwords.as_deref(),
                    guard,
                    state: &mut state,
                    trace: &mut bt,
                })
            };
            bt.elapsed_us = block_start.elapsed().as_micros() as u64;
            let next = match step {
                Step::Continue => Some(pc + 1),
                Step::Jump(to) => {
                    bt.reason = Some(format!("jumped to `{}`", self.plan.blocks[to].id));
                    Some(to)
                }
                Step::Deny(reason) => {
                    bt.status = BlockStatus::Denied;
                    bt.reason = Some(reason.clone());
                    outcome = Some((Outcome::Deny, Some(reason)));
                    None
                }
                Step::Allow => {
                    outcome = Some((Outcome::Allow, None));
                    None
                }
                Step::Fail(failure) => {
                    bt.status = BlockStatus::Failed;
                    bt.reason = Some(failure.message.clone());
                    bt.failure = Some(failure.clone());
                    match block.on_error {
                        OnError::Continue => Some(pc + 1),
                        OnError::Deny => {
                            outcome = Some((
                                Outcome::Deny,
                                Some(format!("block `{}` failed: {}", block.id, failure.message)),
                            ));
                            None
                        }
                    }
                }
            };
            blocks.push(bt);
            match next {
                Some(n) => pc = n,
                None => break,
            }
        }
        let (outcome, deny_reason) = outcome.unwrap_or((
            Outcome::Deny,
            Some("the flow ended without Issue Session or Deny".into()),
        ));
        let app_metadata = state.ctx["event"]["user"]["app_metadata"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let authentication = state.ctx["event"]["authentication"].clone();
        let step_state = state.ctx["step"].as_object().cloned().unwrap_or_default();
        Trace {
            flow: self.plan.flow.clone(),
            event: event_name.to_string(),
            outcome,
            deny_reason,
            blocks,
            state: step_state,
            claims: state.claims,
            app_metadata,
            session_token: state.session_token,
            authentication,
            elapsed_us: started.elapsed().as_micros() as u64,
            events: Vec::new(),
        }
    }
}

/// Evaluates a compiled condition against the run's state.
///
/// `eval_root` looks each field up in `ctx` (paths start with `event` or `step`) only when
/// the condition needs it, and allocates nothing whatever the number of fields.
fn eval(condition: &Condition, ctx: &Value) -> bool {
    condition.eval_root(ctx)
}
