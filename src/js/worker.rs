//! The worker-thread side of the engine: one thread owns one deno_core runtime for its whole
//! life, binds it to one action on its first job, and runs jobs one at a time.
//!
//! The thread builds the runtime (heap limit, the `api.*` ops, the sandbox prelude), reports
//! its isolate handle and CPU clock to the engine, then loops: load the action's code once,
//! call the prelude's entry function, collect what the ops recorded, decide the failure and
//! whether the runtime must be discarded. This file must not decide anything about caching or
//! time budgets (that is `engine.rs`) or interpret api calls (that is `ops.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use deno_core::error::{CoreError, CoreErrorKind, JsError};
use deno_core::v8;
use deno_core::{JsRuntime, PollEventLoopOptions, RuntimeOptions};

use super::cpu_clock::ThreadCpuClock;
use super::handoff;
use super::heap::{self, HeapLimit};
use super::limits::FAILURE_MESSAGE_BYTES;
use super::ops::{ModuleSecrets, RunRecorder, authflow_actions};
use super::redact::{Redactor, bounded};
use super::{
    ActionFailure, ActionOutcome, ActionSource, FailureKind, FetchPolicy, LimitKind, Limits,
    Trigger,
};

/// The prelude that removes ambient authority and builds `api`; see `prelude.js`.
const PRELUDE: &str = include_str!("prelude.js");
const PRELUDE_NAME: &str = "ext:authflow/prelude.js";

/// One run handed to a worker thread.
pub(super) struct Job {
    /// The action to bind a generic runtime to; sent with (only) the first job of a runtime.
    pub bind: Option<LoadPlan>,
    pub event_json: String,
    pub limits: Limits,
    pub fetch: FetchPolicy,
    pub clock_ms: i64,
}

/// A worker's answer to a [`Job`].
pub(super) struct WorkerReply {
    pub outcome: ActionOutcome,
    /// The runtime must not serve another run (terminated, out of heap, or in an unknown state).
    pub discard: bool,
}

/// `Worker::watchdog_fired` values.
pub(super) const FIRED_NONE: u8 = 0;
pub(super) const FIRED_CPU: u8 = 1;
pub(super) const FIRED_WALL: u8 = 2;

pub(super) fn time_limit_message(kind: LimitKind, limits: &Limits) -> String {
    match kind {
        LimitKind::CpuTime => format!(
            "{} exceeded: the action used more than {} ms of CPU",
            kind.describe(),
            limits.cpu_ms
        ),
        _ => format!(
            "{} exceeded: the action ran for more than {} ms",
            kind.describe(),
            limits.wall_ms
        ),
    }
}

pub(super) fn engine_failure(message: String) -> ActionFailure {
    ActionFailure::unlocated(FailureKind::Engine, message)
}

pub(super) fn limit_failure(kind: LimitKind, message: String) -> ActionFailure {
    ActionFailure::unlocated(FailureKind::Limit(kind), message)
}

/// The scripts that register the action and its modules, with what is needed to map stack
/// locations back to the user's files.
///
/// **Invariant:** no secret value is part of any script's source. The engine facade keeps
/// compiled scripts (in memory, and on disk unless `V82JSC_NO_BC_CACHE` is set), so a module's
/// secrets travel beside its script and reach it through an op while that script runs.
pub(super) struct LoadPlan {
    trigger: Trigger,
    action_file: String,
    scripts: Vec<LoadScript>,
    /// The secrets of the action and its modules, for everything the runtime hands back.
    redactor: Arc<Redactor>,
}

struct LoadScript {
    file_name: String,
    source: String,
    /// Characters the wrapper adds before the user's first line.
    prefix_chars: u32,
    /// A module's secrets, handed to its own definition only (none for the action).
    secrets: Option<ModuleSecrets>,
}

impl LoadPlan {
    /// The plan of a runtime that no action is bound to yet.
    fn unbound() -> LoadPlan {
        LoadPlan {
            trigger: Trigger::Login,
            action_file: String::new(),
            scripts: Vec::new(),
            redactor: Arc::new(Redactor::default()),
        }
    }

    pub(super) fn for_action(action: &ActionSource) -> LoadPlan {
        let mut scripts = Vec::new();
        for module in &action.modules {
            // Vendored npm files first: each with the table its `require` resolves through.
            for file in &module.packages {
                let id_json = serde_json::to_string(&file.id).unwrap_or_default();
                let requires_json = serde_json::to_string(&file.requires).unwrap_or_default();
                let prefix = format!(
                    "__authflow_define(\"file\", {id_json}, function (exports, require, module) {{"
                );
                scripts.push(LoadScript {
                    file_name: file.file_name.clone(),
                    source: format!("{prefix}{}\n}}, {requires_json});", file.code),
                    prefix_chars: prefix.chars().count() as u32,
                    secrets: None,
                });
            }
            let name_json = serde_json::to_string(&module.name).unwrap_or_default();
            let secrets_json = serde_json::to_string(&module.secrets).unwrap_or_default();
            let requires_json = serde_json::to_string(&module.requires).unwrap_or_default();
            let prefix = format!(
                "__authflow_define(\"module\", {name_json}, function (exports, require, module, actions, fetch, console) {{"
            );
            scripts.push(LoadScript {
                file_name: module_file_name(&module.name, &module.version, &module.file_name),
                source: format!("{prefix}{}\n}}, {requires_json});", module.code),
                prefix_chars: prefix.chars().count() as u32,
                secrets: Some(ModuleSecrets {
                    name: module.name.clone(),
                    json: secrets_json,
                }),
            });
        }
        let prefix = "__authflow_define(\"action\", null, function (exports, require, module) {";
        scripts.push(LoadScript {
            file_name: action.file_name.clone(),
            source: format!("{prefix}{}\n}});", action.code),
            prefix_chars: prefix.chars().count() as u32,
            secrets: None,
        });
        LoadPlan {
            trigger: action.trigger,
            action_file: action.file_name.clone(),
            scripts,
            redactor: Arc::new(Redactor::for_action(action)),
        }
    }

    fn prefix_chars(&self, file: &str) -> u32 {
        self.scripts
            .iter()
            .find(|script| script.file_name == file)
            .map_or(0, |script| script.prefix_chars)
    }

    /// Maps a `file:line:column` to the user's coordinates (the wrapper shares line 1).
    fn locate(&self, file: &str, line: u32, column: u32) -> (u32, u32) {
        if line == 1 {
            (line, column.saturating_sub(self.prefix_chars(file)).max(1))
        } else {
            (line, column)
        }
    }

    fn is_user_file(&self, file: &str) -> bool {
        self.scripts.iter().any(|script| script.file_name == file)
    }
}

fn module_file_name(name: &str, version: &str, file_name: &str) -> String {
    format!("actions:{name}@{version}/{file_name}")
}

/// Per-thread state of a worker.
struct WorkerState {
    runtime: JsRuntime,
    run_action: v8::Global<v8::Function>,
    plan: LoadPlan,
    /// Whether a job has bound the runtime to an action (it happens once per runtime).
    bound: bool,
    /// `None` until the first run loads the sources; then the load result, cached.
    loaded: Option<Result<(), ActionFailure>>,
    heap: HeapLimit,
    watchdog_fired: Arc<AtomicU8>,
}

pub(super) fn worker_main(
    heap_bytes: usize,
    watchdog_fired: Arc<AtomicU8>,
    engine_alive: Arc<AtomicBool>,
    ready: mpsc::Sender<Result<(v8::IsolateHandle, Option<ThreadCpuClock>), String>>,
    jobs: handoff::Receiver<Job>,
    replies: handoff::Sender<WorkerReply>,
) {
    let executor = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(executor) => executor,
        Err(error) => {
            let _ = ready.send(Err(format!("tokio runtime: {error}")));
            return;
        }
    };
    let mut state = match WorkerState::start(heap_bytes, watchdog_fired) {
        Ok(state) => state,
        Err(message) => {
            let _ = ready.send(Err(message));
            return;
        }
    };
    let handle = state.runtime.v8_isolate().thread_safe_handle();
    if ready
        .send(Ok((handle, ThreadCpuClock::of_current_thread())))
        .is_err()
    {
        return;
    }
    while let Ok(job) = jobs.recv() {
        let (outcome, discard) = state.run(&executor, job);
        if discard {
            // Tear the runtime down before answering, so a runtime that reached its heap
            // budget has given its memory back before the caller starts the next run.
            drop(state);
            heap::release_freed_memory();
            replies.send(WorkerReply { outcome, discard });
            return;
        }
        replies.send(WorkerReply { outcome, discard });
    }
    drop(state);
    // An evicted runtime gives its memory back to the system. One whose engine was dropped
    // leaves it to the allocator for the next engine of the process: trimming every arena
    // while that engine's runtimes allocate in them cost a fifth of a whole test suite.
    if engine_alive.load(Ordering::SeqCst) {
        heap::release_freed_memory_shared();
    }
}

/// Held while the process builds its first runtime.
///
/// The QuickJS facade compiles its 436 KB Temporal polyfill once per process and keeps the
/// bytecode for later runtimes, but runtimes that start at the same moment each compile it
/// again: two pooled runtimes starting together each paid the first runtime's cost. The first
/// build goes alone; later ones never wait here.
static FIRST_BUILD: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

impl WorkerState {
    fn start(heap_bytes: usize, watchdog_fired: Arc<AtomicU8>) -> Result<WorkerState, String> {
        let mut first = FIRST_BUILD
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *first {
            drop(first);
            return WorkerState::build(heap_bytes, watchdog_fired);
        }
        let built = WorkerState::build(heap_bytes, watchdog_fired);
        *first = built.is_ok();
        built
    }

    fn build(heap_bytes: usize, watchdog_fired: Arc<AtomicU8>) -> Result<WorkerState, String> {
        let heap_bytes = Limits::clamp_heap_bytes(heap_bytes);
        let mut runtime = JsRuntime::try_new(RuntimeOptions {
            extensions: vec![authflow_actions::init()],
            create_params: Some(HeapLimit::create_params(heap_bytes)),
            ..Default::default()
        })
        .map_err(|error| error.to_string())?;
        let heap = HeapLimit::install(&mut runtime, heap_bytes);
        runtime
            .v8_isolate()
            .set_prepare_stack_trace_callback(stack_text_unless_terminating);
        let value = runtime
            .execute_script(PRELUDE_NAME, PRELUDE)
            .map_err(|error| format!("the sandbox prelude failed: {error}"))?;
        let run_action = {
            deno_core::scope!(scope, &mut runtime);
            let local = v8::Local::new(scope, value);
            let function = v8::Local::<v8::Function>::try_from(local)
                .map_err(|_| "the sandbox prelude did not return a function".to_owned())?;
            v8::Global::new(scope, function)
        };
        Ok(WorkerState {
            runtime,
            run_action,
            plan: LoadPlan::unbound(),
            bound: false,
            loaded: None,
            heap,
            watchdog_fired,
        })
    }

    /// Registers the action and module factories; a syntax error is cached as the result.
    fn load(&mut self) -> Result<(), ActionFailure> {
        for index in 0..self.plan.scripts.len() {
            let (file_name, source, secrets) = {
                let script = &self.plan.scripts[index];
                (
                    script.file_name.clone(),
                    script.source.clone(),
                    script.secrets.clone(),
                )
            };
            // A module's secrets are in the op state only while its own script runs, and its
            // definition takes them, so no other script (not even one that breaks out of its
            // wrapper) can ask for them.
            if let Some(secrets) = secrets {
                self.runtime.op_state().borrow_mut().put(secrets);
            }
            let executed = self.runtime.execute_script(file_name.clone(), source);
            self.runtime
                .op_state()
                .borrow_mut()
                .try_take::<ModuleSecrets>();
            if let Err(error) = executed {
                return Err(self.js_failure(FailureKind::Syntax, &error));
            }
        }
        self.runtime
            .execute_script("ext:authflow/seal.js", "__authflow_seal();")
            .map(|_| ())
            .map_err(|error| self.js_failure(FailureKind::Syntax, &error))
    }

    /// A message the engine built from what the script threw: redacted, then bounded.
    fn outbound(&self, message: String) -> String {
        bounded(self.plan.redactor.text(message), FAILURE_MESSAGE_BYTES)
    }

    fn js_failure(&self, kind: FailureKind, error: &JsError) -> ActionFailure {
        let message = match (&error.name, &error.message) {
            (Some(name), Some(message)) => format!("{name}: {message}"),
            _ => error.exception_message.clone(),
        };
        let message = self.outbound(message);
        let frame = error
            .frames
            .iter()
            .find(|frame| frame.file_name.as_deref() == Some(self.plan.action_file.as_str()))
            .or_else(|| {
                error.frames.iter().find(|frame| {
                    frame
                        .file_name
                        .as_deref()
                        .is_some_and(|file| self.plan.is_user_file(file))
                })
            });
        let mut failure = ActionFailure::unlocated(kind, message);
        if let Some(frame) = frame
            && let (Some(file), Some(line), Some(column)) =
                (&frame.file_name, frame.line_number, frame.column_number)
        {
            let line = u32::try_from(line).unwrap_or(u32::MAX);
            let column = u32::try_from(column).unwrap_or(u32::MAX);
            let (line, column) = self.plan.locate(file, line, column);
            failure.file = Some(file.clone());
            failure.line = Some(line);
            failure.column = Some(column);
        }
        failure
    }

    /// Runs one job; returns the outcome and whether the runtime must be discarded.
    fn run(&mut self, executor: &tokio::runtime::Runtime, job: Job) -> (ActionOutcome, bool) {
        let started = Instant::now();
        match (job.bind, self.bound) {
            (Some(plan), false) => {
                self.plan = plan;
                self.bound = true;
            }
            (None, true) => {}
            // A runtime serves exactly one action: rebinding, or running unbound, is refused
            // and the runtime discarded.
            _ => {
                return (
                    ActionOutcome::failed(engine_failure(
                        "the runtime was not bound to exactly one action".to_owned(),
                    )),
                    true,
                );
            }
        }
        let limits = job.limits;
        self.runtime.op_state().borrow_mut().put(RunRecorder::new(
            job.event_json,
            self.plan.trigger,
            job.clock_ms,
            job.limits,
            job.fetch,
            Arc::clone(&self.plan.redactor),
        ));
        let load_result = match &self.loaded {
            Some(result) => result.clone(),
            None => {
                let result = self.load();
                self.loaded = Some(result.clone());
                result
            }
        };
        let call_result = match &load_result {
            Ok(()) => {
                let call = self.runtime.call(&self.run_action);
                let runtime = &mut self.runtime;
                Some(executor.block_on(
                    runtime.with_event_loop_promise(call, PollEventLoopOptions::default()),
                ))
            }
            Err(_) => None,
        };
        let recorder = self
            .runtime
            .op_state()
            .borrow_mut()
            .try_take::<RunRecorder>();
        let Some(recorder) = recorder else {
            return (
                ActionOutcome::failed(engine_failure("the run's record was lost".to_owned())),
                true,
            );
        };
        let fired = match self.watchdog_fired.load(Ordering::SeqCst) {
            FIRED_CPU => Some(LimitKind::CpuTime),
            FIRED_WALL => Some(LimitKind::WallTime),
            _ => None,
        };
        let watchdog = fired.is_some();
        let call_failed = matches!(call_result, Some(Err(_)));
        // Asking the heap costs a walk of its accounting on QuickJS, so only runs that did not
        // end cleanly ask; reaching the budget always terminates the script, which fails the
        // call or the load.
        let heap = (call_failed || load_result.is_err() || recorder.report.is_none())
            && self.heap.reached(&mut self.runtime);
        let discard = watchdog || heap || call_failed;
        let failure = if let Some(kind) = fired {
            Some(limit_failure(kind, time_limit_message(kind, &limits)))
        } else if heap {
            Some(limit_failure(
                LimitKind::Heap,
                format!(
                    "{} exceeded: the action's heap grew past {} bytes",
                    LimitKind::Heap.describe(),
                    self.heap.budget()
                ),
            ))
        } else if let Err(failure) = load_result {
            Some(failure)
        } else {
            self.judge(&recorder, call_result)
        };
        let outcome = ActionOutcome {
            logs: recorder.logs,
            state_writes: recorder.state_writes,
            metadata_patch: recorder.metadata_patch,
            claims: recorder.claims,
            denied: recorder.denied,
            failure,
            fetches: recorder.fetches,
            elapsed: started.elapsed(),
        };
        (outcome, discard)
    }

    /// Decides the failure of a run that was neither terminated nor out of heap.
    fn judge(
        &self,
        recorder: &RunRecorder,
        call_result: Option<Result<v8::Global<v8::Value>, CoreError>>,
    ) -> Option<ActionFailure> {
        let located = |kind: FailureKind, message: String| {
            let mut failure = ActionFailure::unlocated(kind, message);
            if let Some(report) = &recorder.report {
                self.locate_stack(&report.stack, &mut failure);
            }
            failure
        };
        if let Some((kind, message)) = &recorder.breach {
            return Some(located(FailureKind::Limit(*kind), message.clone()));
        }
        if let Some(message) = &recorder.api_error {
            return Some(located(FailureKind::Api, message.clone()));
        }
        if let Some(Err(error)) = call_result {
            return Some(match &*error.0 {
                CoreErrorKind::PendingPromiseResolution => limit_failure(
                    LimitKind::WallTime,
                    format!(
                        "{} exceeded: the handler's promise can never settle (nothing is left \
                         that could settle it)",
                        LimitKind::WallTime.describe()
                    ),
                ),
                CoreErrorKind::Js(js_error) => {
                    let mut failure = self.js_failure(FailureKind::Rejected, js_error);
                    failure.message = format!("unhandled rejection: {}", failure.message);
                    failure
                }
                other => engine_failure(self.outbound(other.to_string())),
            });
        }
        let report = recorder.report.as_ref()?;
        let kind = match report.kind.as_str() {
            "ok" => return None,
            "threw" => FailureKind::Threw,
            "rejected" => FailureKind::Rejected,
            "stack" => FailureKind::Limit(LimitKind::Stack),
            "heap" => FailureKind::Limit(LimitKind::Heap),
            _ => FailureKind::Api,
        };
        let message = match kind {
            FailureKind::Limit(limit) => {
                format!("{} exceeded: {}", limit.describe(), report.message)
            }
            _ => report.message.clone(),
        };
        Some(located(kind, message))
    }

    /// Fills `failure`'s location from a JavaScript stack string, preferring the innermost
    /// frame in the action's own file.
    fn locate_stack(&self, stack: &str, failure: &mut ActionFailure) {
        let frames: Vec<(String, u32, u32)> = stack.lines().filter_map(parse_frame).collect();
        let frame = frames
            .iter()
            .find(|(file, _, _)| *file == self.plan.action_file)
            .or_else(|| {
                frames
                    .iter()
                    .find(|(file, _, _)| self.plan.is_user_file(file))
            });
        if let Some((file, line, column)) = frame {
            let (line, column) = self.plan.locate(file, *line, *column);
            failure.file = Some(file.clone());
            failure.line = Some(line);
            failure.column = Some(column);
        }
    }
}

/// The engine's stack formatter, except while execution is terminating. deno_core's formatter
/// calls each call site's methods; during a termination those calls are refused, and it then
/// prints the error's text so far (tenant text, unredacted) to standard error. A stack made
/// while the script is being stopped is never read, so it is left empty.
fn stack_text_unless_terminating<'s, 'i>(
    scope: &mut v8::PinScope<'s, 'i>,
    error: v8::Local<'s, v8::Value>,
    callsites: v8::Local<'s, v8::Array>,
) -> v8::Local<'s, v8::Value> {
    if scope.is_execution_terminating() {
        return v8::String::empty(scope).into();
    }
    deno_core::error::prepare_stack_trace_callback(scope, error, callsites)
}

/// Parses one stack line: `    at name (file:line:column)` or `    at file:line:column`.
fn parse_frame(line: &str) -> Option<(String, u32, u32)> {
    let rest = line.trim().strip_prefix("at ")?;
    let location = match (rest.rfind('('), rest.ends_with(')')) {
        (Some(open), true) => &rest[open + 1..rest.len() - 1],
        _ => rest,
    };
    let mut parts = location.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let file = parts.next()?.to_owned();
    Some((file, line, column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js::ModuleSource;
    use std::collections::BTreeMap;

    #[test]
    fn no_secret_value_is_part_of_a_loaded_script() {
        let action = ActionSource {
            slug: "a".to_owned(),
            file_name: "a.js".to_owned(),
            code: "exports.handler = async () => {};".to_owned(),
            trigger: Trigger::Login,
            modules: vec![ModuleSource {
                name: "m".to_owned(),
                version: "1".to_owned(),
                file_name: "m.js".to_owned(),
                code: "module.exports = () => actions.secrets.KEY;".to_owned(),
                secrets: BTreeMap::from([("KEY".to_owned(), "module-secret-9f3".to_owned())]),
                packages: Vec::new(),
                requires: BTreeMap::new(),
            }],
            secrets: BTreeMap::from([("TOKEN".to_owned(), "action-secret-7c1".to_owned())]),
        };
        let plan = LoadPlan::for_action(&action);
        assert_eq!(plan.scripts.len(), 2);
        for script in &plan.scripts {
            for secret in ["module-secret-9f3", "action-secret-7c1"] {
                assert!(
                    !script.source.contains(secret),
                    "{} holds a secret value",
                    script.file_name
                );
            }
        }
        let module_secrets = plan.scripts[0].secrets.as_ref().map(|s| s.json.as_str());
        assert_eq!(module_secrets, Some(r#"{"KEY":"module-secret-9f3"}"#));
        assert!(plan.scripts[1].secrets.is_none());
    }
}
