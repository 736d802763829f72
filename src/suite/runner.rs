//! Running cases: every case of every loaded workspace in this one process, against one
//! JavaScript engine, in parallel on at most `jobs` threads, results kept in the cases' order.
//!
//! **Invariant:** runtimes are keyed by the workspace's tenant key, so two workspaces never
//! share a runtime; within one tenant the engine reuses a runtime per action (and secrets), and
//! a runtime that breached a limit is discarded by the engine, so one spinning or allocating
//! case fails alone and the next case runs on a fresh runtime.

use super::expect::{self, Mismatch, Observed};
use super::load::{Case, Target, WorkspaceSuite};
use crate::js::{self, ActionSource, Engine};
use crate::run::crypto::VerifiedPasswords;
use crate::run::trace::{BlockStatus, BlockTrace, Outcome, Trace};
use crate::run::{ActionRequest, ActionResult, ActionRunner, SessionConfig, Simulator};
use crate::streams::Stream;
use crate::streams::delivery::Deliver;
use crate::streams::message::Message;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Threads running cases at once (at least 1).
    pub jobs: usize,
    /// Stop starting cases after the first failure; the rest are reported as not run.
    pub fail_fast: bool,
    /// Run only cases whose name (or `file: name`) contains this text.
    pub filter: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            jobs: js::cores(),
            fail_fast: false,
            filter: None,
        }
    }
}

/// The engine a run of cases uses: as many pooled runtimes as the run has threads (at most
/// one per core), so the first runs of a suite's actions, one runtime each, are built in
/// parallel. Make it before loading the suites: the pool starts building at once, while the
/// loader reads and checks the test files on the calling thread.
pub fn engine(options: &Options) -> Result<Engine, js::EngineError> {
    Engine::new(js::EngineConfig {
        warm_runtimes: options.jobs.clamp(1, js::cores()),
        ..js::EngineConfig::default()
    })
}

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// `--fail-fast` stopped the run before this case started.
    NotRun,
}

/// The result of one case.
pub struct CaseResult {
    /// Position among the cases of this run (results come back sorted by it).
    pub index: usize,
    /// Index of the workspace suite.
    pub suite: usize,
    /// Index of the case in its suite.
    pub case: usize,
    pub status: Status,
    pub mismatches: Vec<Mismatch>,
    /// The run's trace (none for a case that did not run).
    pub trace: Option<Trace>,
    pub elapsed: Duration,
}

/// What each workspace needs to run its cases, prepared once.
struct Prepared<'s> {
    simulators: Vec<Result<Simulator<'s>, String>>,
    sources: BTreeMap<String, ActionSource>,
    session: SessionConfig,
    /// Each stream's limits: the workspace's, within the stream's delivery timeout.
    stream_limits: BTreeMap<String, js::Limits>,
}

/// The cases `run` would run, in order: (suite, case).
pub fn selected(suites: &[WorkspaceSuite], filter: Option<&str>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (s, suite) in suites.iter().enumerate() {
        for (c, case) in suite.cases.iter().enumerate() {
            let full = format!("{}: {}", suite.files[case.file].display, case.name);
            if filter.is_none_or(|f| full.contains(f)) {
                out.push((s, c));
            }
        }
    }
    out
}

/// Runs the selected cases; `done` sees each result as it finishes (from any thread). The
/// returned results are in the cases' order whatever order they finished in.
pub fn run(
    suites: &[WorkspaceSuite],
    engine: &Engine,
    options: &Options,
    done: &(dyn Fn(&CaseResult) + Sync),
) -> Vec<CaseResult> {
    let prepared: Vec<Prepared> = suites.iter().map(prepare).collect();
    let work = selected(suites, options.filter.as_deref());
    // Each action of each workspace needs one runtime (a case that breaches a limit needs a
    // fresh one, which it then starts itself): no more pooled runtimes than that.
    engine.expect_first_runs(prepared.iter().map(|p| p.sources.len()).sum());
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<CaseResult>>> =
        Mutex::new((0..work.len()).map(|_| None).collect());
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(s, c)) = work.get(i) else {
                break;
            };
            let result = if options.fail_fast && failed.load(Ordering::SeqCst) {
                CaseResult {
                    index: i,
                    suite: s,
                    case: c,
                    status: Status::NotRun,
                    mismatches: Vec::new(),
                    trace: None,
                    elapsed: Duration::ZERO,
                }
            } else {
                run_case(&suites[s], &prepared[s], engine, i, s, c)
            };
            if result.status == Status::Failed {
                failed.store(true, Ordering::SeqCst);
            }
            done(&result);
            if let Ok(mut slots) = results.lock() {
                slots[i] = Some(result);
            }
        }
    };
    let jobs = options.jobs.clamp(1, work.len().max(1));
    std::thread::scope(|scope| {
        for _ in 1..jobs {
            scope.spawn(worker);
        }
        worker();
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

fn prepare(suite: &WorkspaceSuite) -> Prepared<'_> {
    let ws = &suite.loaded.ws;
    // A signing key HS256 cannot use fails every flow's cases, with the reason.
    let configured = crate::load::session_config(ws).map(|(session, _)| session);
    // One memory of verified passwords per workspace: its cases log the same test users in.
    let passwords = Arc::new(VerifiedPasswords::default());
    let simulators = suite
        .flows
        .iter()
        .map(|f| match &configured {
            Ok(session) => Simulator::new(&f.plan, suite.directory.clone(), session.clone())
                .map(|s| s.remembering_passwords(Arc::clone(&passwords)))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        })
        .collect();
    let session = configured.unwrap_or_default();
    let sources = ws
        .actions
        .iter()
        .map(|(slug, a)| (slug.clone(), crate::host::action_source(ws, a)))
        .collect();
    let stream_limits = suite
        .loaded
        .streams
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                crate::streams::actions::delivery_limits(ws.settings.limits, s),
            )
        })
        .collect();
    Prepared {
        simulators,
        sources,
        session,
        stream_limits,
    }
}

fn run_case(
    suite: &WorkspaceSuite,
    prepared: &Prepared,
    engine: &Engine,
    index: usize,
    s: usize,
    c: usize,
) -> CaseResult {
    let case = &suite.cases[c];
    let started = Instant::now();
    let actions = CaseActions {
        engine,
        tenant: &suite.tenant_key,
        sources: &prepared.sources,
        secrets: &case.secrets,
        limits: suite.loaded.ws.settings.limits,
        allowlist: &suite.loaded.ws.settings.fetch_allowlist,
    };
    let (trace, blocks) = match &case.target {
        Target::Flow(i) => match &prepared.simulators[*i] {
            Ok(simulator) => {
                let mut trace = simulator.run(&case.sim, &case.event_name, &actions);
                if let Err(message) = emit(suite, prepared, case, &actions, &mut trace) {
                    return failed_to_start(index, s, c, case, &message, started);
                }
                let blocks = suite.flows[*i]
                    .plan
                    .blocks
                    .iter()
                    .map(|b| b.id.clone())
                    .collect();
                (trace, blocks)
            }
            Err(message) => {
                return failed_to_start(index, s, c, case, message, started);
            }
        },
        Target::Action(slug) => (
            action_alone(suite, prepared, case, slug, &actions),
            vec![slug.clone()],
        ),
    };
    let mut observed = Observed::new(&trace, blocks, &prepared.session.signing_key);
    if case.message.is_some() {
        // A stream action's run is delivered or failed; it has no login decision.
        let failed = trace.blocks.iter().any(|b| b.failure.is_some());
        observed.outcome = json!(if failed { "failed" } else { "delivered" });
    }
    let mismatches = expect::check(case.expect.as_ref(), &observed, case.span);
    CaseResult {
        index,
        suite: s,
        case: c,
        status: if mismatches.is_empty() {
            Status::Passed
        } else {
            Status::Failed
        },
        mismatches,
        trace: Some(trace),
        elapsed: started.elapsed(),
    }
}

fn failed_to_start(
    index: usize,
    s: usize,
    c: usize,
    case: &Case,
    message: &str,
    started: Instant,
) -> CaseResult {
    CaseResult {
        index,
        suite: s,
        case: c,
        status: Status::Failed,
        mismatches: vec![Mismatch {
            path: "flow".into(),
            span: case.span,
            expected: "a flow that loads".into(),
            actual: message.into(),
            fix: None,
        }],
        trace: None,
        elapsed: started.elapsed(),
    }
}

/// Emits a flow run's events to the workspace's streams and delivers them on the suite's
/// engine, with the case's secrets and recorded responses (as `authflow run` does).
fn emit(
    suite: &WorkspaceSuite,
    prepared: &Prepared,
    case: &Case,
    actions: &CaseActions,
    trace: &mut Trace,
) -> Result<(), String> {
    let streams = &suite.loaded.streams;
    if streams.is_empty() {
        return Ok(());
    }
    let ws = &suite.loaded.ws;
    let deliverer = |stream: &Stream| -> Result<Box<dyn Deliver + '_>, js::EngineError> {
        Ok(Box::new(CaseDelivery {
            actions,
            ws,
            stream: stream.name.clone(),
            limits: prepared
                .stream_limits
                .get(&stream.name)
                .copied()
                .unwrap_or(actions.limits),
            recordings: &case.sim.fetch,
        }))
    };
    crate::streams::emit::emit_with(ws, streams, &case.sim, &suite.directory, trace, &deliverer)
        .map_err(|e| e.to_string())
}

/// Delivers one stream's events to its actions, on the case's runner.
struct CaseDelivery<'a> {
    actions: &'a CaseActions<'a>,
    ws: &'a crate::workspace::Workspace,
    stream: String,
    limits: js::Limits,
    recordings: &'a BTreeMap<String, crate::run::event::RecordedResponse>,
}

impl Deliver for CaseDelivery<'_> {
    fn deliver(
        &self,
        _worker: usize,
        message: &Message,
        action: &str,
        clock_ms: i64,
    ) -> Option<ActionResult> {
        // A disabled action receives nothing (the delivery records it as skipped).
        if !self.ws.actions.get(action)?.meta.enabled {
            return None;
        }
        let event = message.action_event(&self.stream, &self.ws.settings.tenant);
        let request = ActionRequest {
            slug: action,
            event: &event,
            now: clock_ms.div_euclid(1000),
            fetch: self.recordings,
        };
        Some(self.actions.run_at(request, &self.limits, clock_ms))
    }
}

/// The Test pane: one action run alone on the case's event (with its `user`, if any), or an
/// event-stream action on the case's message, shown as a one-block trace so the same
/// expectations apply.
fn action_alone(
    suite: &WorkspaceSuite,
    prepared: &Prepared,
    case: &Case,
    slug: &str,
    actions: &CaseActions,
) -> Trace {
    let started = Instant::now();
    let result = match &case.message {
        Some(message) => {
            // The stream that delivers to the action names it in `streamid` and bounds it
            // with its timeout; an action no stream binds runs as `action test` runs it.
            let stream = suite
                .loaded
                .streams
                .iter()
                .find(|s| s.spec.actions.iter().any(|a| a.value == slug));
            let (name, limits) = match stream {
                Some(s) => (
                    s.name.as_str(),
                    prepared
                        .stream_limits
                        .get(&s.name)
                        .copied()
                        .unwrap_or(actions.limits),
                ),
                None => ("action-test", actions.limits),
            };
            let event = message.action_event(name, &suite.loaded.ws.settings.tenant);
            let clock_ms = message.time.saturating_mul(1000);
            let request = ActionRequest {
                slug,
                event: &event,
                now: message.time,
                fetch: &case.sim.fetch,
            };
            actions.run_at(request, &limits, clock_ms)
        }
        None => actions.run_action(ActionRequest {
            slug,
            event: &case.sim.event,
            now: case.sim.now,
            fetch: &case.sim.fetch,
        }),
    };
    let (status, outcome, reason) = match (&result.failure, &result.denied) {
        (Some(f), _) => (
            BlockStatus::Failed,
            Outcome::Deny,
            Some(format!("block `{slug}` failed: {}", f.message)),
        ),
        (None, Some(r)) => (BlockStatus::Denied, Outcome::Deny, Some(r.clone())),
        (None, None) => (BlockStatus::Completed, Outcome::Allow, None),
    };
    let mut app_metadata = case.sim.event["user"]["app_metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    app_metadata.extend(result.metadata_patch.clone());
    let writes: Map<String, Value> = result.state_writes.iter().cloned().collect();
    let claims: Map<String, Value> = result.claims.iter().cloned().collect();
    let block = BlockTrace {
        id: slug.to_string(),
        stage: "test".into(),
        kind: crate::blocks::run_action::ROW.name.into(),
        action: Some(slug.to_string()),
        status,
        guard: None,
        reason: reason.clone(),
        elapsed_us: started.elapsed().as_micros() as u64,
        logs: result.logs,
        state_writes: result
            .state_writes
            .into_iter()
            .map(|(key, value)| crate::run::trace::StateWrite { key, value })
            .collect(),
        metadata: result.metadata_patch,
        claims: claims.clone(),
        fetches: result.fetches,
        failure: result.failure,
    };
    Trace {
        flow: format!("action {slug}"),
        event: case.event_name.clone(),
        outcome,
        deny_reason: reason,
        blocks: vec![block],
        state: Map::from_iter([(slug.to_string(), Value::Object(writes))]),
        claims,
        app_metadata,
        session_token: None,
        authentication: case.sim.event["authentication"].clone(),
        events: Vec::new(),
        elapsed_us: started.elapsed().as_micros() as u64,
    }
}

/// Runs a case's actions on the shared engine, with the case's secret values.
struct CaseActions<'a> {
    engine: &'a Engine,
    tenant: &'a str,
    sources: &'a BTreeMap<String, ActionSource>,
    secrets: &'a BTreeMap<String, String>,
    limits: js::Limits,
    allowlist: &'a [String],
}

impl ActionRunner for CaseActions<'_> {
    fn run_action(&self, request: ActionRequest) -> ActionResult {
        let clock_ms = request.now.saturating_mul(1000);
        self.run_at(request, &self.limits, clock_ms)
    }
}

impl CaseActions<'_> {
    /// Runs an action within `limits` with the clock at `clock_ms`.
    fn run_at(&self, request: ActionRequest, limits: &js::Limits, clock_ms: i64) -> ActionResult {
        let Some(source) = self.sources.get(request.slug) else {
            return crate::host::unknown_action(request.slug);
        };
        let run = |source: &ActionSource| {
            crate::host::run_on_at(
                self.engine,
                self.tenant,
                source,
                &request,
                limits,
                self.allowlist,
                clock_ms,
            )
        };
        if self.secrets.is_empty() {
            return run(source);
        }
        let mut patched = source.clone();
        let apply = |map: &mut BTreeMap<String, String>| {
            for (name, value) in map.iter_mut() {
                if let Some(v) = self.secrets.get(name) {
                    value.clone_from(v);
                }
            }
        };
        apply(&mut patched.secrets);
        for module in &mut patched.modules {
            apply(&mut module.secrets);
        }
        run(&patched)
    }
}

/// The JSON of a case result's trace for reports.
pub fn trace_json(result: &CaseResult) -> Value {
    result
        .trace
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or(json!(null))
}
