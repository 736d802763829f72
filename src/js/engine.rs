//! The engine side of custom actions: the runtime cache, the pool of ready runtimes and the
//! watchdog.
//!
//! Each cached runtime lives on its own thread for its whole life (`worker.rs`): the QuickJS
//! facade honours `terminate_execution` only for a runtime that owns its thread, and V8
//! isolates are simplest that way too. The thread that calls [`Engine::run`] is the watchdog:
//! it waits for the reply up to the run's time budget, then terminates the isolate through its
//! thread-safe handle. This file must not touch a runtime itself (that is `worker.rs`) or
//! interpret api calls (that is `ops.rs`).

use std::collections::HashMap;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use deno_core::v8;

use super::cpu_clock::ThreadCpuClock;
use super::handoff::{self, RecvError};
use super::heap;
use super::worker::{
    FIRED_CPU, FIRED_NONE, FIRED_WALL, Job, LoadPlan, WorkerReply, engine_failure, limit_failure,
    time_limit_message, worker_main,
};
use super::{ActionInput, ActionOutcome, ActionSource, LimitKind, Limits};

/// How many threads this machine runs at once (at least 1): the most runtimes worth building
/// in parallel, and the default number of threads running logins or test cases.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How the engine sizes its runtime cache and threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// How many runtimes (each with its own thread) stay cached; the least recently used idle
    /// one is dropped when a new one is needed. It leaves the cache at once and ends when the
    /// run that needed the room is over, so for the length of a run one more may exist.
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
/// run's time budget. It keeps what identifies its runtime (tenant, heap budget and the whole
/// source the runtime was built from), so finding it costs a comparison, never a hash of the
/// source.
struct Slot {
    worker: Mutex<Option<Worker>>,
    last_used: AtomicU64,
    tenant: String,
    heap_bytes: usize,
    source: ActionSource,
    /// The action's secrets as JSON, spliced into every run's event.
    secrets_json: String,
}

impl Slot {
    /// Whether this slot's runtime was built for exactly `tenant`, `action` and `heap_bytes`.
    /// Tenants never share a runtime; a changed byte of code, a module or a secret value makes
    /// another runtime.
    fn serves(&self, tenant: &str, action: &ActionSource, heap_bytes: usize) -> bool {
        self.heap_bytes == heap_bytes && self.tenant == tenant && self.source == *action
    }
}

/// The cached slots, bucketed by a hash of (tenant, slug, heap budget): the hash only narrows
/// the search, [`Slot::serves`] decides.
#[derive(Default)]
struct Slots {
    buckets: HashMap<u64, Vec<Arc<Slot>>>,
    count: usize,
}

impl Slots {
    /// Takes the least recently used slot nobody is running on out of the cache; `None` when
    /// every slot is busy. Dropping the slot drops its worker's job sender, which ends the
    /// worker thread and its runtime.
    fn evict_one(&mut self) -> Option<Arc<Slot>> {
        let victim = self
            .buckets
            .iter()
            .flat_map(|(name, bucket)| bucket.iter().map(move |slot| (*name, slot)))
            .filter(|(_, slot)| Arc::strong_count(slot) == 1)
            .min_by_key(|(_, slot)| slot.last_used.load(Ordering::Relaxed))
            .map(|(name, slot)| (name, Arc::clone(slot)));
        let (name, victim) = victim?;
        if let Some(bucket) = self.buckets.get_mut(&name) {
            bucket.retain(|slot| !Arc::ptr_eq(slot, &victim));
            if bucket.is_empty() {
                self.buckets.remove(&name);
            }
        }
        self.count -= 1;
        Some(victim)
    }
}

/// Runs custom actions in sandboxed JavaScript runtimes, one cached runtime (and thread) per
/// tenant, action and source version. `Engine` is `Send + Sync`; runs of different actions
/// proceed in parallel, runs of one action in turn.
pub struct Engine {
    config: EngineConfig,
    slots: Mutex<Slots>,
    /// Hashes (tenant, slug, heap budget) to a bucket of `slots`.
    names: RandomState,
    clock: AtomicU64,
    pool: Mutex<Pool>,
    /// True until the engine is dropped; its runtime threads read it as they end (see
    /// `worker_main`).
    alive: Arc<AtomicBool>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Before the fields (and with them every runtime thread's mailbox) are dropped.
        self.alive.store(false, Ordering::SeqCst);
    }
}

/// Generic runtimes that are starting or ready, all with the same heap budget.
struct Pool {
    heap_bytes: usize,
    runtimes: VecDeque<Pooled>,
    /// How many more pooled runtimes may be started; `None` keeps refilling for good (see
    /// [`Engine::expect_first_runs`]).
    starts_left: Option<usize>,
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
        heap::tune_allocator();
        let engine = Engine {
            pool: Mutex::new(Pool {
                heap_bytes: Limits::clamp_heap_bytes(config.warm_heap_bytes),
                runtimes: VecDeque::new(),
                starts_left: None,
            }),
            config,
            slots: Mutex::new(Slots::default()),
            names: RandomState::new(),
            clock: AtomicU64::new(0),
            alive: Arc::new(AtomicBool::new(true)),
        };
        engine.refill_pool();
        Ok(engine)
    }

    /// Starts generic runtimes until the pool holds `warm_runtimes`; never waits for them.
    /// A runtime that cannot be started is simply not pooled: runs start their own instead.
    fn refill_pool(&self) {
        let mut pool = lock(&self.pool);
        while pool.runtimes.len() < self.config.warm_runtimes && pool.starts_left != Some(0) {
            match start_worker(&self.config, &self.alive, "action-pooled", pool.heap_bytes) {
                Ok(pending) => pool.runtimes.push_back(Pooled::Starting(pending)),
                Err(_) => break,
            }
            pool.starts_left = pool.starts_left.map(|left| left - 1);
        }
    }

    /// Tells the engine that at most `count` more runs will need a runtime of their own (the
    /// first runs of that many actions), counting the runtimes pooled already: the pool stops
    /// refilling once it has started enough, instead of building runtimes nobody takes. A
    /// wrong guess costs only time: past it, first runs start their runtime on demand.
    pub fn expect_first_runs(&self, count: usize) {
        let mut pool = lock(&self.pool);
        pool.starts_left = Some(count.saturating_sub(pool.runtimes.len()));
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
        lock(&self.slots).count
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
        // Budgets out of range never reach a runtime (settings files reject them; callers of
        // the library get the nearest value in range).
        let limits = input.limits.clamped();
        let (slot, evicted) = self.slot(tenant, action, limits.heap_bytes);
        let mut guard = lock(&slot.worker);
        let mut took_pooled = false;
        if guard.is_none() {
            let heap_bytes = limits.heap_bytes;
            let worker = match self.take_pooled(heap_bytes) {
                Some(worker) => {
                    took_pooled = true;
                    Ok(worker)
                }
                None => start_worker(
                    &self.config,
                    &self.alive,
                    &format!("action-{}", action.slug),
                    heap_bytes,
                )
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
            event_json: event_json(input.event, &slot.secrets_json),
            limits,
            fetch: input.fetch.clone(),
            clock_ms: input.clock_ms,
        };
        let started = Instant::now();
        let cpu_at_start = worker.cpu_clock.and_then(|clock| clock.used());
        worker.jobs.send(job);
        let reply = watch(worker, &limits, started, cpu_at_start, &self.config);
        let outcome = match reply {
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
                let mut outcome =
                    ActionOutcome::failed(limit_failure(kind, time_limit_message(kind, &limits)));
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
        // The runtimes this run's slot replaced end only now: tearing one down (and giving its
        // memory back) while this run started cost a pooled first run more than half its time.
        drop(evicted);
        if took_pooled {
            // Replace the pooled runtime only after the run, so building it never competes with
            // the run that needed it.
            self.refill_pool();
        }
        outcome
    }

    /// Finds or creates the cache slot of `tenant`, `action` and `heap_bytes`, taking the least
    /// recently used idle slots out of the cache while it is full; the caller drops those (which
    /// ends their runtimes) once its run is over.
    fn slot(
        &self,
        tenant: &str,
        action: &ActionSource,
        heap_bytes: usize,
    ) -> (Arc<Slot>, Vec<Arc<Slot>>) {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let name = self
            .names
            .hash_one((tenant, action.slug.as_str(), heap_bytes));
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.buckets.get(&name).and_then(|bucket| {
            bucket
                .iter()
                .find(|slot| slot.serves(tenant, action, heap_bytes))
        }) {
            slot.last_used.store(tick, Ordering::Relaxed);
            return (Arc::clone(slot), Vec::new());
        }
        let mut evicted = Vec::new();
        while slots.count >= self.config.max_runtimes
            && let Some(victim) = slots.evict_one()
        {
            evicted.push(victim);
        }
        let slot = Arc::new(Slot {
            worker: Mutex::new(None),
            last_used: AtomicU64::new(tick),
            tenant: tenant.to_owned(),
            heap_bytes,
            source: action.clone(),
            secrets_json: serde_json::to_string(&action.secrets)
                .unwrap_or_else(|_| "{}".to_owned()),
        });
        slots
            .buckets
            .entry(name)
            .or_default()
            .push(Arc::clone(&slot));
        slots.count += 1;
        (slot, evicted)
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
    let grace_ends = Instant::now() + config.terminate_grace;
    loop {
        let left = grace_ends.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match worker.replies.recv_timeout(left.min(REASSERT_TERMINATION)) {
            Ok(reply) => return Ok(reply),
            // deno_core cancels a termination while it turns an exception into an error (and
            // script getters on the thrown value run meanwhile), so the watchdog keeps
            // asserting it until the thread answers.
            Err(RecvError::Timeout) => {
                worker.isolate.terminate_execution();
            }
            Err(RecvError::Closed) => return Err(WatchError::Disconnected),
        }
    }
    // The thread still runs script (a queue of jobs that each schedule the next outlives any
    // termination) or is stuck in native code. It must never run tenant code again: at its
    // next interrupt check it parks for good.
    worker
        .isolate
        .request_interrupt(park_abandoned_thread, std::ptr::null_mut());
    worker.isolate.terminate_execution();
    Err(WatchError::Abandoned(fired))
}

/// How often the watchdog re-asserts a termination while it waits for the thread to stop.
const REASSERT_TERMINATION: Duration = Duration::from_millis(2);

/// Interrupt callback for an abandoned runtime: its thread stops here for the rest of the
/// process's life, so nothing it was running (tenant script, its jobs, its finalizers) can run
/// again. Its memory (at most the heap budget plus the unwinding headroom) stays reserved.
unsafe extern "C" fn park_abandoned_thread(
    _isolate: v8::UnsafeRawIsolatePtr,
    _data: *mut std::ffi::c_void,
) {
    loop {
        std::thread::park();
    }
}

/// Serialises the event with `secrets` set to the action's secrets (`secrets_json`).
fn event_json(event: &serde_json::Value, secrets_json: &str) -> String {
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

/// Spawns a worker thread that builds a generic runtime (prelude loaded, no action yet); the
/// first job binds it to an action. Returns at once.
fn start_worker(
    config: &EngineConfig,
    engine_alive: &Arc<AtomicBool>,
    thread_name: &str,
    heap_bytes: usize,
) -> Result<PendingWorker, EngineError> {
    let (jobs, job_inbox) = handoff::mailbox::<Job>();
    let (reply_sender, replies) = handoff::mailbox::<WorkerReply>();
    let (ready_sender, ready) = mpsc::channel();
    let watchdog_fired = Arc::new(AtomicU8::new(FIRED_NONE));
    let fired = Arc::clone(&watchdog_fired);
    let engine_alive = Arc::clone(engine_alive);
    std::thread::Builder::new()
        .name(thread_name.to_owned())
        .stack_size(config.thread_stack_bytes)
        .spawn(move || {
            worker_main(
                heap_bytes,
                fired,
                engine_alive,
                ready_sender,
                job_inbox,
                reply_sender,
            )
        })
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
