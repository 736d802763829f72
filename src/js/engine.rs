//! The runtime cache, the worker threads and the watchdog.
//!
//! Each cached runtime lives on its own thread for its whole life: the QuickJS facade honours
//! `terminate_execution` only for a runtime that owns its thread, and V8 isolates are simplest
//! that way too. The thread that calls [`Engine::run`] is the watchdog: it waits for the reply
//! up to the run's time budget, then terminates the isolate through its thread-safe handle.
//! This file must not interpret api calls (that is `ops.rs`) or touch script internals beyond
//! the prelude's entry function.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use deno_core::error::{CoreError, CoreErrorKind, JsError};
use deno_core::v8;
use deno_core::{JsRuntime, PollEventLoopOptions, RuntimeOptions};
use sha2::{Digest, Sha256};

use super::cpu_clock::ThreadCpuClock;
use super::handoff::{self, RecvError};
use super::ops::{RunRecorder, authflow_actions};
use super::redact::Redactor;
use super::{
    ActionFailure, ActionInput, ActionOutcome, ActionSource, FailureKind, FetchPolicy, LimitKind,
    Limits, Trigger,
};

/// The prelude that removes ambient authority and builds `api`; see `prelude.js`.
const PRELUDE: &str = include_str!("prelude.js");
const PRELUDE_NAME: &str = "ext:authflow/prelude.js";

/// How the engine sizes its runtime cache and threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// How many runtimes (each with its own thread) stay cached; the least recently used idle
    /// one is dropped when a new one is needed.
    pub max_runtimes: usize,
    /// Stack size of each runtime's thread. It must exceed the engine's own JavaScript stack
    /// limit (1 MiB for QuickJS, about 1 MiB for V8) so deep recursion is caught by the engine
    /// instead of overflowing the thread.
    pub thread_stack_bytes: usize,
    /// How long the watchdog waits, after terminating a runaway script, for its thread to
    /// report; past it the thread is abandoned and the run still fails with the time limit.
    pub terminate_grace: Duration,
    /// How long a new runtime may take to start.
    pub startup_timeout: Duration,
    /// How many generic runtimes (thread, runtime and sandbox prelude, no tenant code) the
    /// engine keeps starting in the background, so the first run of an action only evaluates
    /// the action's own code. `0` starts every runtime on demand. Pooled runtimes are threads
    /// beyond `max_runtimes`; a pooled runtime is bound to one action by its first run and
    /// never returns to the pool.
    pub warm_runtimes: usize,
    /// The heap budget pooled runtimes are created with; runs with another
    /// [`Limits::heap_bytes`] start their runtime on demand, and the pool then follows the
    /// budget that run asked for.
    pub warm_heap_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_runtimes: 64,
            thread_stack_bytes: 8 * 1024 * 1024,
            terminate_grace: Duration::from_secs(2),
            startup_timeout: Duration::from_secs(10),
            warm_runtimes: 1,
            warm_heap_bytes: Limits::default().heap_bytes,
        }
    }
}

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration cannot work.
    #[error("invalid engine configuration: {0}")]
    Config(String),
    /// A runtime could not be started.
    #[error("could not start a JavaScript runtime: {0}")]
    Startup(String),
}

/// What identifies a cached runtime. Tenants never share one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RuntimeKey {
    tenant: String,
    slug: String,
    source_hash: [u8; 32],
    heap_bytes: usize,
}

/// One run handed to a worker thread.
struct Job {
    /// The action to bind a generic runtime to; sent with (only) the first job of a runtime.
    bind: Option<LoadPlan>,
    event_json: String,
    limits: Limits,
    fetch: FetchPolicy,
    clock_ms: i64,
}

/// A worker's answer to a [`Job`].
struct WorkerReply {
    outcome: ActionOutcome,
    /// The runtime must not serve another run (terminated, out of heap, or in an unknown state).
    discard: bool,
}

/// The engine's handle on one worker thread. Dropping it closes the job mailbox, which ends
/// the thread and its runtime.
struct Worker {
    jobs: handoff::Sender<Job>,
    replies: handoff::Receiver<WorkerReply>,
    /// Whether the runtime still waits for the action it will serve.
    unbound: bool,
    isolate: v8::IsolateHandle,
    cpu_clock: Option<ThreadCpuClock>,
    /// Which time limit the watchdog enforced (`FIRED_*`), read by the worker afterwards.
    watchdog_fired: Arc<AtomicU8>,
}

/// A cache entry; the mutex serialises runs on one runtime so queueing never counts against a
/// run's time budget.
struct Slot {
    worker: Mutex<Option<Worker>>,
    last_used: AtomicU64,
}

/// Runs custom actions in sandboxed JavaScript runtimes, one cached runtime (and thread) per
/// tenant, action and source version. `Engine` is `Send + Sync`; runs of different actions
/// proceed in parallel, runs of one action in turn.
pub struct Engine {
    config: EngineConfig,
    slots: Mutex<HashMap<RuntimeKey, Arc<Slot>>>,
    clock: AtomicU64,
    pool: Mutex<Pool>,
}

/// Generic runtimes that are starting or ready, all with the same heap budget.
struct Pool {
    heap_bytes: usize,
    runtimes: VecDeque<Pooled>,
}

/// One pooled runtime.
enum Pooled {
    /// Its thread is still building the runtime.
    Starting(PendingWorker),
    /// It is ready for its first job.
    Ready(Worker),
}

/// A worker thread that was spawned but may still be building its runtime.
struct PendingWorker {
    jobs: handoff::Sender<Job>,
    replies: handoff::Receiver<WorkerReply>,
    watchdog_fired: Arc<AtomicU8>,
    ready: mpsc::Receiver<Result<(v8::IsolateHandle, Option<ThreadCpuClock>), String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, never a half-made
    // invariant, so the poisoned value is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Engine {
    /// Builds an engine; runtimes are started lazily by the first run of each action.
    pub fn new(config: EngineConfig) -> Result<Engine, EngineError> {
        if config.max_runtimes == 0 {
            return Err(EngineError::Config(
                "max_runtimes must be at least 1".to_owned(),
            ));
        }
        if config.thread_stack_bytes < 2 * 1024 * 1024 {
            return Err(EngineError::Config(
                "thread_stack_bytes must be at least 2 MiB (the engine's JavaScript stack limit \
                 is 1 MiB)"
                    .to_owned(),
            ));
        }
        let engine = Engine {
            pool: Mutex::new(Pool {
                heap_bytes: config.warm_heap_bytes,
                runtimes: VecDeque::new(),
            }),
            config,
            slots: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
        };
        engine.refill_pool();
        Ok(engine)
    }

    /// Starts generic runtimes until the pool holds `warm_runtimes`; never waits for them.
    /// A runtime that cannot be started is simply not pooled: runs start their own instead.
    fn refill_pool(&self) {
        let mut pool = lock(&self.pool);
        while pool.runtimes.len() < self.config.warm_runtimes {
            match start_worker(&self.config, "action-pooled", pool.heap_bytes) {
                Ok(pending) => pool.runtimes.push_back(Pooled::Starting(pending)),
                Err(_) => break,
            }
        }
    }

    /// Waits until every pooled runtime has finished starting (at most `timeout` for each), so
    /// the next first runs of actions find them ready; returns how many are ready. A server
    /// calls this before it takes traffic; the benchmarks call it to time a pooled cold start.
    pub fn prewarm(&self, timeout: Duration) -> usize {
        self.refill_pool();
        let mut pool = lock(&self.pool);
        let runtimes = std::mem::take(&mut pool.runtimes);
        for pooled in runtimes {
            match pooled {
                Pooled::Starting(pending) => {
                    if let Ok(worker) = pending.wait(timeout) {
                        pool.runtimes.push_back(Pooled::Ready(worker));
                    }
                }
                ready @ Pooled::Ready(_) => pool.runtimes.push_back(ready),
            }
        }
        pool.runtimes.len()
    }

    /// A pooled runtime with `heap_bytes`, waiting for it to finish starting if it must. A
    /// request for another budget empties the pool and retargets it.
    fn take_pooled(&self, heap_bytes: usize) -> Option<Worker> {
        let pending = {
            let mut pool = lock(&self.pool);
            if pool.heap_bytes != heap_bytes {
                pool.heap_bytes = heap_bytes;
                pool.runtimes.clear();
                return None;
            }
            pool.runtimes.pop_front()?
        };
        match pending {
            Pooled::Ready(worker) => Some(worker),
            Pooled::Starting(pending) => pending.wait(self.config.startup_timeout).ok(),
        }
    }

    /// How many runtimes are cached right now (each owns a thread).
    pub fn cached_runtimes(&self) -> usize {
        lock(&self.slots).len()
    }

    /// Runs `action` for `tenant` with `input` and returns everything it produced. Never panics
    /// on any script: every failure, including a breached limit, is in
    /// [`ActionOutcome::failure`].
    pub fn run(
        &self,
        tenant: &str,
        action: &ActionSource,
        input: ActionInput<'_>,
    ) -> ActionOutcome {
        let redactor = Redactor::for_action(action);
        let key = RuntimeKey {
            tenant: tenant.to_owned(),
            slug: action.slug.clone(),
            source_hash: source_hash(action),
            heap_bytes: input.limits.heap_bytes,
        };
        let slot = self.slot(key);
        let mut guard = lock(&slot.worker);
        let mut took_pooled = false;
        if guard.is_none() {
            let heap_bytes = input.limits.heap_bytes;
            let worker = match self.take_pooled(heap_bytes) {
                Some(worker) => {
                    took_pooled = true;
                    Ok(worker)
                }
                None => start_worker(&self.config, &format!("action-{}", action.slug), heap_bytes)
                    .and_then(|pending| pending.wait(self.config.startup_timeout)),
            };
            match worker {
                Ok(worker) => *guard = Some(worker),
                Err(error) => {
                    return ActionOutcome::failed(engine_failure(error.to_string()));
                }
            }
        }
        let Some(worker) = guard.as_mut() else {
            return ActionOutcome::failed(engine_failure("no runtime".to_owned()));
        };
        let bind = if worker.unbound {
            worker.unbound = false;
            Some(LoadPlan::for_action(action))
        } else {
            None
        };
        let job = Job {
            bind,
            event_json: event_json(input.event, &action.secrets),
            limits: *input.limits,
            fetch: input.fetch.clone(),
            clock_ms: input.clock_ms,
        };
        let started = Instant::now();
        let cpu_at_start = worker.cpu_clock.and_then(|clock| clock.used());
        worker.jobs.send(job);
        let reply = watch(worker, input.limits, started, cpu_at_start, &self.config);
        let mut outcome = match reply {
            Ok(reply) => {
                // A watchdog that fired just as the script finished leaves the isolate marked
                // for termination even though the reply looks clean, so discard it too.
                if reply.discard || worker.watchdog_fired.load(Ordering::SeqCst) != FIRED_NONE {
                    *guard = None;
                }
                reply.outcome
            }
            Err(WatchError::Abandoned(kind)) => {
                // The thread did not stop in time; abandon it (it is detached and exits on its
                // own if it ever returns) and report the time limit.
                *guard = None;
                let mut outcome = ActionOutcome::failed(limit_failure(
                    kind,
                    time_limit_message(kind, input.limits),
                ));
                outcome.elapsed = started.elapsed();
                outcome
            }
            Err(WatchError::Disconnected) => {
                *guard = None;
                ActionOutcome::failed(engine_failure(
                    "the runtime's thread stopped unexpectedly".to_owned(),
                ))
            }
        };
        drop(guard);
        if took_pooled {
            // Replace the pooled runtime only after the run, so building it never competes with
            // the run that needed it.
            self.refill_pool();
        }
        redactor.outcome(&mut outcome);
        outcome
    }

    /// Finds or creates the cache slot for `key`, evicting the least recently used idle slot
    /// when the cache is full.
    fn slot(&self, key: RuntimeKey) -> Arc<Slot> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get(&key) {
            slot.last_used.store(tick, Ordering::Relaxed);
            return Arc::clone(slot);
        }
        while slots.len() >= self.config.max_runtimes {
            // Only slots nobody is running on are candidates; dropping one drops its worker's
            // job sender, which ends the worker thread and its runtime.
            let victim = slots
                .iter()
                .filter(|(_, slot)| Arc::strong_count(slot) == 1)
                .min_by_key(|(_, slot)| slot.last_used.load(Ordering::Relaxed))
                .map(|(key, _)| key.clone());
            match victim {
                Some(victim) => {
                    slots.remove(&victim);
                }
                None => break,
            }
        }
        let slot = Arc::new(Slot {
            worker: Mutex::new(None),
            last_used: AtomicU64::new(tick),
        });
        slots.insert(key, Arc::clone(&slot));
        slot
    }
}

/// Why the watchdog returned without a reply.
enum WatchError {
    /// A time limit fired and the thread did not answer within the grace period.
    Abandoned(LimitKind),
    /// The thread is gone.
    Disconnected,
}

/// Waits for the worker's reply, terminating the script when its CPU or wall budget runs out.
///
/// CPU time never advances faster than wall time, so sleeping for the smaller of the two
/// remaining budgets cannot overshoot either; the loop only repeats when the thread got less
/// CPU than wall time (a busy machine).
fn watch(
    worker: &Worker,
    limits: &Limits,
    started: Instant,
    cpu_at_start: Option<Duration>,
    config: &EngineConfig,
) -> Result<WorkerReply, WatchError> {
    let cpu_limit = Duration::from_millis(limits.cpu_ms);
    let wall_limit = Duration::from_millis(limits.wall_ms);
    let fired = loop {
        let wall_used = started.elapsed();
        let cpu_used = match (worker.cpu_clock, cpu_at_start) {
            (Some(clock), Some(start)) => clock
                .used()
                .map_or(wall_used, |now| now.saturating_sub(start)),
            _ => wall_used,
        };
        if cpu_used >= cpu_limit {
            break LimitKind::CpuTime;
        }
        if wall_used >= wall_limit {
            break LimitKind::WallTime;
        }
        let slice = (cpu_limit - cpu_used).min(wall_limit - wall_used);
        match worker.replies.recv_timeout(slice) {
            Ok(reply) => return Ok(reply),
            Err(RecvError::Timeout) => {}
            Err(RecvError::Closed) => return Err(WatchError::Disconnected),
        }
    };
    let code = match fired {
        LimitKind::CpuTime => FIRED_CPU,
        _ => FIRED_WALL,
    };
    worker.watchdog_fired.store(code, Ordering::SeqCst);
    worker.isolate.terminate_execution();
    match worker.replies.recv_timeout(config.terminate_grace) {
        Ok(reply) => Ok(reply),
        Err(RecvError::Timeout) => Err(WatchError::Abandoned(fired)),
        Err(RecvError::Closed) => Err(WatchError::Disconnected),
    }
}

/// `Worker::watchdog_fired` values.
const FIRED_NONE: u8 = 0;
const FIRED_CPU: u8 = 1;
const FIRED_WALL: u8 = 2;

fn time_limit_message(kind: LimitKind, limits: &Limits) -> String {
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

/// Hashes everything a runtime is built from: code, modules, secrets and trigger. Every field
/// is length-prefixed so no two different sources feed the hash the same bytes; hashing the
/// fields directly (rather than a serialisation of them) keeps this cheap on every warm call.
fn source_hash(action: &ActionSource) -> [u8; 32] {
    fn field(hasher: &mut Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    fn secrets(hasher: &mut Sha256, secrets: &std::collections::BTreeMap<String, String>) {
        hasher.update((secrets.len() as u64).to_le_bytes());
        for (name, value) in secrets {
            field(hasher, name.as_bytes());
            field(hasher, value.as_bytes());
        }
    }
    let mut hasher = Sha256::new();
    field(&mut hasher, action.slug.as_bytes());
    field(&mut hasher, action.file_name.as_bytes());
    field(&mut hasher, action.code.as_bytes());
    field(&mut hasher, action.trigger.entry_point().as_bytes());
    secrets(&mut hasher, &action.secrets);
    hasher.update((action.modules.len() as u64).to_le_bytes());
    for module in &action.modules {
        field(&mut hasher, module.name.as_bytes());
        field(&mut hasher, module.version.as_bytes());
        field(&mut hasher, module.file_name.as_bytes());
        field(&mut hasher, module.code.as_bytes());
        secrets(&mut hasher, &module.secrets);
    }
    hasher.finalize().into()
}

/// Serialises the event with `secrets` set to the action's secrets.
fn event_json(
    event: &serde_json::Value,
    secrets: &std::collections::BTreeMap<String, String>,
) -> String {
    let secrets_json = serde_json::to_string(secrets).unwrap_or_else(|_| "{}".to_owned());
    match event {
        serde_json::Value::Object(map) if !map.is_empty() => {
            let mut text = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
            // The object's closing brace is the last byte; a later duplicate key wins in
            // `JSON.parse`, so appending overrides any `secrets` the caller sent.
            text.pop();
            let _ = write!(text, ",\"secrets\":{secrets_json}}}");
            text
        }
        _ => format!("{{\"secrets\":{secrets_json}}}"),
    }
}

fn engine_failure(message: String) -> ActionFailure {
    ActionFailure {
        kind: FailureKind::Engine,
        message,
        file: None,
        line: None,
        column: None,
    }
}

fn limit_failure(kind: LimitKind, message: String) -> ActionFailure {
    ActionFailure {
        kind: FailureKind::Limit(kind),
        message,
        file: None,
        line: None,
        column: None,
    }
}

/// Spawns a worker thread that builds a generic runtime (prelude loaded, no action yet); the
/// first job binds it to an action. Returns at once.
fn start_worker(
    config: &EngineConfig,
    thread_name: &str,
    heap_bytes: usize,
) -> Result<PendingWorker, EngineError> {
    let (jobs, job_inbox) = handoff::mailbox::<Job>();
    let (reply_sender, replies) = handoff::mailbox::<WorkerReply>();
    let (ready_sender, ready) = mpsc::channel();
    let watchdog_fired = Arc::new(AtomicU8::new(FIRED_NONE));
    let fired = Arc::clone(&watchdog_fired);
    std::thread::Builder::new()
        .name(thread_name.to_owned())
        .stack_size(config.thread_stack_bytes)
        .spawn(move || worker_main(heap_bytes, fired, ready_sender, job_inbox, reply_sender))
        .map_err(|error| EngineError::Startup(error.to_string()))?;
    Ok(PendingWorker {
        jobs,
        replies,
        watchdog_fired,
        ready,
    })
}

impl PendingWorker {
    /// Waits until the runtime is ready to take its first job.
    fn wait(self, timeout: Duration) -> Result<Worker, EngineError> {
        match self.ready.recv_timeout(timeout) {
            Ok(Ok((isolate, cpu_clock))) => Ok(Worker {
                jobs: self.jobs,
                replies: self.replies,
                unbound: true,
                isolate,
                cpu_clock,
                watchdog_fired: self.watchdog_fired,
            }),
            Ok(Err(message)) => Err(EngineError::Startup(message)),
            Err(_) => Err(EngineError::Startup(
                "the runtime did not start in time".to_owned(),
            )),
        }
    }
}

/// The scripts that register the action and its modules, with what is needed to map stack
/// locations back to the user's files.
struct LoadPlan {
    trigger: Trigger,
    action_file: String,
    scripts: Vec<LoadScript>,
}

struct LoadScript {
    file_name: String,
    source: String,
    /// Characters the wrapper adds before the user's first line.
    prefix_chars: u32,
}

impl LoadPlan {
    /// The plan of a runtime that no action is bound to yet.
    fn unbound() -> LoadPlan {
        LoadPlan {
            trigger: Trigger::Login,
            action_file: String::new(),
            scripts: Vec::new(),
        }
    }

    fn for_action(action: &ActionSource) -> LoadPlan {
        let mut scripts = Vec::new();
        for module in &action.modules {
            let name_json = serde_json::to_string(&module.name).unwrap_or_default();
            let secrets_json = serde_json::to_string(&module.secrets).unwrap_or_default();
            let prefix = format!(
                "__authflow_define(\"module\", {name_json}, function (exports, require, module, actions) {{"
            );
            scripts.push(LoadScript {
                file_name: module_file_name(&module.name, &module.version, &module.file_name),
                source: format!("{prefix}{}\n}}, {secrets_json});", module.code),
                prefix_chars: prefix.chars().count() as u32,
            });
        }
        let prefix = "__authflow_define(\"action\", null, function (exports, require, module) {";
        scripts.push(LoadScript {
            file_name: action.file_name.clone(),
            source: format!("{prefix}{}\n}}, null);", action.code),
            prefix_chars: prefix.chars().count() as u32,
        });
        LoadPlan {
            trigger: action.trigger,
            action_file: action.file_name.clone(),
            scripts,
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
    heap_exhausted: Rc<AtomicBool>,
    watchdog_fired: Arc<AtomicU8>,
    heap_bytes: usize,
}

fn worker_main(
    heap_bytes: usize,
    watchdog_fired: Arc<AtomicU8>,
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
        replies.send(WorkerReply { outcome, discard });
        if discard {
            return;
        }
    }
}

impl WorkerState {
    fn start(heap_bytes: usize, watchdog_fired: Arc<AtomicU8>) -> Result<WorkerState, String> {
        let create_params = v8::CreateParams::default().heap_limits(0, heap_bytes);
        let mut runtime = JsRuntime::try_new(RuntimeOptions {
            extensions: vec![authflow_actions::init()],
            create_params: Some(create_params),
            ..Default::default()
        })
        .map_err(|error| error.to_string())?;
        let heap_exhausted = Rc::new(AtomicBool::new(false));
        let exhausted = Rc::clone(&heap_exhausted);
        let isolate = runtime.v8_isolate().thread_safe_handle();
        runtime.add_near_heap_limit_callback(move |current, _initial| {
            // Terminate and grant headroom so the engine can unwind instead of aborting; the
            // runtime is discarded after this run.
            exhausted.store(true, Ordering::SeqCst);
            isolate.terminate_execution();
            current.saturating_mul(2)
        });
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
            heap_exhausted,
            watchdog_fired,
            heap_bytes,
        })
    }

    /// Registers the action and module factories; a syntax error is cached as the result.
    fn load(&mut self) -> Result<(), ActionFailure> {
        for index in 0..self.plan.scripts.len() {
            let (file_name, source) = {
                let script = &self.plan.scripts[index];
                (script.file_name.clone(), script.source.clone())
            };
            if let Err(error) = self.runtime.execute_script(file_name.clone(), source) {
                return Err(self.js_failure(FailureKind::Syntax, &error));
            }
        }
        self.runtime
            .execute_script("ext:authflow/seal.js", "__authflow_seal();")
            .map(|_| ())
            .map_err(|error| self.js_failure(FailureKind::Syntax, &error))
    }

    fn js_failure(&self, kind: FailureKind, error: &JsError) -> ActionFailure {
        let message = match (&error.name, &error.message) {
            (Some(name), Some(message)) => format!("{name}: {message}"),
            _ => error.exception_message.clone(),
        };
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
        let mut failure = ActionFailure {
            kind,
            message,
            file: None,
            line: None,
            column: None,
        };
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
        let heap = self.heap_exhausted.load(Ordering::SeqCst);
        let call_failed = matches!(call_result, Some(Err(_)));
        let discard = watchdog || heap || call_failed;
        let failure = if let Some(kind) = fired {
            Some(limit_failure(kind, time_limit_message(kind, &limits)))
        } else if heap {
            Some(limit_failure(
                LimitKind::Heap,
                format!(
                    "{} exceeded: the action's heap grew past {} bytes",
                    LimitKind::Heap.describe(),
                    self.heap_bytes
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
            let mut failure = ActionFailure {
                kind,
                message,
                file: None,
                line: None,
                column: None,
            };
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
                other => engine_failure(other.to_string()),
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
