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

use crate::check::types::CatalogTypes;
use crate::compile::{OnError, Op, Plan, Template, TemplatePart};
use crate::expr::Condition;
use directory::{Directory, DirectoryUser};
use event::{RecordedResponse, SimEvent};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Instant;
use trace::{BlockStatus, BlockTrace, Failure, LogEntry, Outcome, StateWrite, Trace};

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

/// How Issue Session signs tokens and names itself.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub issuer: String,
    pub signing_key: Vec<u8>,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            issuer: "https://authflow.local/".into(),
            signing_key: b"authflow-simulation-signing-key".to_vec(),
        }
    }
}

/// A plan ready to run many times: guards compiled once.
pub struct Simulator<'p> {
    plan: &'p Plan,
    guards: Vec<Option<Condition>>,
    pub directory: Directory,
    pub session: SessionConfig,
}

/// Why a plan could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("block `{block}`: its condition does not compile: {message}")]
pub struct LoadPlanError {
    pub block: String,
    pub message: String,
}

enum Step {
    Continue,
    Jump(usize),
    Deny(String),
    Allow,
    Fail(Failure),
}

/// Mutable state of one run.
struct RunState<'a> {
    /// `{"event": ..., "step": {...}}`: conditions and templates read paths from here.
    ctx: Value,
    user: Option<&'a DirectoryUser>,
    claims: Map<String, Value>,
    session_token: Option<String>,
}

impl<'p> Simulator<'p> {
    pub fn new(
        plan: &'p Plan,
        directory: Directory,
        session: SessionConfig,
    ) -> Result<Simulator<'p>, LoadPlanError> {
        let step_slugs: Vec<String> = plan.actions.keys().cloned().collect();
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
        })
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
                action: match &block.op {
                    Op::RunAction { action } => Some(action.clone()),
                    _ => None,
                },
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
            let step = if guard == Some(false) && !matches!(block.op, Op::Branch { .. }) {
                bt.status = BlockStatus::Skipped;
                bt.reason = Some("its `when` condition is false".into());
                Step::Continue
            } else {
                self.execute(&block.op, guard, sim, &mut state, &mut bt, actions)
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
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn execute<'d>(
        &'d self,
        op: &Op,
        guard: Option<bool>,
        sim: &'d SimEvent,
        state: &mut RunState<'d>,
        bt: &mut BlockTrace,
        actions: &dyn ActionRunner,
    ) -> Step {
        match op {
            Op::IdentityLookup => {
                let Some(identifier) = sim.credentials.identifier.as_deref() else {
                    return Step::Deny("user-not-found".into());
                };
                // The event file's own users come first, then the workspace's directory.
                let found = Directory::find_in(&sim.directory, identifier)
                    .or_else(|| self.directory.find(identifier));
                match found {
                    Some(user) => {
                        state.user = Some(user);
                        state.ctx["event"]["user"] = user.public();
                        Step::Continue
                    }
                    None => Step::Deny("user-not-found".into()),
                }
            }
            Op::PasswordCheck => {
                let (Some(user), Some(password)) =
                    (state.user, sim.credentials.password.as_deref())
                else {
                    return Step::Deny("invalid-credentials".into());
                };
                let Some(hash) = user.password_hash.as_deref() else {
                    return Step::Deny("invalid-credentials".into());
                };
                match crypto::verify_password(password, hash) {
                    Ok(true) => {
                        add_method(&mut state.ctx, "password", "aal1");
                        Step::Continue
                    }
                    Ok(false) => Step::Deny("invalid-credentials".into()),
                    Err(message) => Step::Fail(Failure {
                        kind: "directory".into(),
                        message,
                        file: None,
                        line: None,
                        column: None,
                    }),
                }
            }
            Op::Mfa {
                skip_if_not_enrolled,
            } => {
                let secret = state.user.and_then(|u| u.totp_secret.as_deref());
                let Some(secret) = secret else {
                    if *skip_if_not_enrolled {
                        bt.reason = Some("the user has no TOTP factor; passed through".into());
                        return Step::Continue;
                    }
                    return Step::Deny("mfa-required".into());
                };
                let Some(key) = crypto::base32_decode(secret) else {
                    return Step::Fail(Failure {
                        kind: "directory".into(),
                        message: "the user's TOTP secret is not base32".into(),
                        file: None,
                        line: None,
                        column: None,
                    });
                };
                match sim.credentials.otp.as_deref() {
                    Some(code) if crypto::verify_totp(&key, code, sim.now) => {
                        add_method(&mut state.ctx, "totp", "aal2");
                        Step::Continue
                    }
                    Some(_) => Step::Deny("invalid-otp".into()),
                    None => Step::Deny("mfa-required".into()),
                }
            }
            Op::RiskEvaluate { deny_above } => {
                let score = risk::score(&state.ctx["event"]["request"]);
                state.ctx["event"]["authentication"]["risk_score"] = json!(score);
                bt.reason = Some(format!("risk score {score}"));
                match deny_above {
                    Some(limit) if f64::from(score) > *limit => Step::Deny("risk-too-high".into()),
                    _ => Step::Continue,
                }
            }
            Op::RunAction { action } => self.run_action(action, sim, state, bt, actions),
            Op::SetClaim { name, value } => {
                let value = Value::String(render(value, &state.ctx));
                bt.claims.insert(name.clone(), value.clone());
                state.claims.insert(name.clone(), value);
                Step::Continue
            }
            Op::Log { level, message } => {
                bt.logs.push(LogEntry {
                    level: level.clone(),
                    message: render(message, &state.ctx),
                });
                Step::Continue
            }
            Op::Branch { to } => {
                if guard.unwrap_or(true) {
                    Step::Jump(*to)
                } else {
                    bt.reason = Some("its `when` condition is false: no jump".into());
                    Step::Continue
                }
            }
            Op::Deny { reason } => Step::Deny(render(reason, &state.ctx)),
            Op::IssueSession {
                ttl_seconds,
                audience,
            } => {
                let event = &state.ctx["event"];
                let mut claims = Map::new();
                claims.insert("iss".into(), json!(self.session.issuer));
                claims.insert("sub".into(), event["user"]["id"].clone());
                claims.insert(
                    "aud".into(),
                    audience
                        .as_ref()
                        .map_or_else(|| event["client"]["id"].clone(), |a| json!(a)),
                );
                claims.insert("iat".into(), json!(sim.now));
                claims.insert("exp".into(), json!(sim.now + *ttl_seconds as i64));
                claims.insert("aal".into(), event["authentication"]["aal"].clone());
                claims.insert("amr".into(), event["authentication"]["methods"].clone());
                for (k, v) in &state.claims {
                    claims.entry(k.clone()).or_insert_with(|| v.clone());
                }
                state.session_token = Some(crypto::sign_jwt(
                    &Value::Object(claims),
                    &self.session.signing_key,
                ));
                Step::Allow
            }
        }
    }

    fn run_action(
        &self,
        slug: &str,
        sim: &SimEvent,
        state: &mut RunState,
        bt: &mut BlockTrace,
        actions: &dyn ActionRunner,
    ) -> Step {
        let enabled = self.plan.actions.get(slug).is_some_and(|a| a.enabled);
        if !enabled {
            bt.status = BlockStatus::Skipped;
            bt.reason = Some(format!("action `{slug}` is disabled"));
            return Step::Continue;
        }
        let result = actions.run_action(ActionRequest {
            slug,
            event: &state.ctx["event"],
            now: sim.now,
            fetch: &sim.fetch,
        });
        bt.logs = result.logs;
        bt.fetches = result.fetches;
        // Effects recorded before a failure still happened: keep them, as the trace shows.
        for (key, value) in result.state_writes {
            let Some(step) = state.ctx["step"].as_object_mut() else {
                continue;
            };
            let outputs = step.entry(slug.to_string()).or_insert_with(|| json!({}));
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

fn add_method(ctx: &mut Value, method: &str, aal: &str) {
    let auth = &mut ctx["event"]["authentication"];
    if let Some(methods) = auth["methods"].as_array_mut() {
        methods.push(json!(method));
    }
    auth["aal"] = json!(aal);
}

/// Evaluates a compiled condition against the run's state.
///
/// `eval_root` looks each field up in `ctx` (paths start with `event` or `step`) only when
/// the condition needs it, and allocates nothing whatever the number of fields.
fn eval(condition: &Condition, ctx: &Value) -> bool {
    condition.eval_root(ctx)
}

/// Fills a template: missing fields render as empty strings, strings as themselves, other
/// values as JSON.
pub fn render(template: &Template, ctx: &Value) -> String {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            TemplatePart::Text(text) => out.push_str(text),
            TemplatePart::Field(path) => {
                let value = path.iter().try_fold(ctx, |v, segment| v.get(segment));
                match value {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(Value::Null) | None => {}
                    Some(other) => out.push_str(&other.to_string()),
                }
            }
        }
    }
    out
}
