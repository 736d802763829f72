//! Delivering a batch of messages to a stream's actions: bounded concurrency, at least once,
//! exponential backoff with jitter, dead letters, duplicate ids skipped, and each user's events
//! in order.
//!
//! The scheduler keeps one FIFO queue per ordering key (the message's subject or user id) and
//! hands a key to at most one worker at a time, so a user's events never overtake each other,
//! not even while one of them waits for a retry. An event's actions run in the stream's order;
//! a failed attempt resumes at the action that failed (the ones before it are not run again),
//! and after the last attempt the event is dead-lettered with that action and its failure.
//!
//! With a simulated clock nothing sleeps: backoff delays are computed (with jitter drawn from
//! a hash of the event id and attempt), added to the clock the actions see, and reported, so
//! the same input gives the same report. This module knows nothing about the engine: actions
//! run through the [`Deliver`] trait (`streams::LocalActions` in production).

use super::file::Stream;
use super::message::Message;
use crate::run::ActionResult;
use crate::run::trace::{DeliveryOutcome, DeliveryTrace, Failure};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Runs one action for one message.
pub trait Deliver: Sync {
    /// Runs `action` for `message` on `worker` (0-based, below the run's concurrency; each
    /// worker may keep its own runtimes) with the clock at `clock_ms`. `None` when the action
    /// is disabled and nothing ran.
    fn deliver(
        &self,
        worker: usize,
        message: &Message,
        action: &str,
        clock_ms: i64,
    ) -> Option<ActionResult>;
}

/// How a batch is delivered.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Backoff is computed but not waited for; the output is deterministic.
    pub simulated_clock: bool,
    /// Workers (the stream's `delivery.concurrency` unless overridden).
    pub concurrency: usize,
}

/// How an event's delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Every action ran to completion (disabled ones skipped).
    Delivered,
    /// An action still failed after the last attempt.
    DeadLettered,
    /// An earlier event had the same id: not delivered again.
    Duplicate,
}

/// What happened to one input event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventReport {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub status: EventStatus,
    /// Delivery attempts made (0 for a duplicate).
    pub attempts: u32,
    pub deliveries: Vec<DeliveryTrace>,
}

/// The counts a run ends with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Input events, duplicates included.
    pub events: usize,
    pub delivered: usize,
    /// Events that needed more than one attempt (delivered or dead-lettered in the end).
    pub retried: usize,
    /// Attempts beyond each event's first.
    pub retries: usize,
    pub dead_lettered: usize,
    pub duplicates_skipped: usize,
}

/// One dead letter: the event, the action that kept failing, and its last failure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub stream: String,
    pub action: String,
    pub attempts: u32,
    pub failure: Failure,
    /// When the event was given up, RFC 3339 (the simulated clock under `--simulated-clock`).
    pub dead_lettered_at: String,
    /// The message as received.
    pub event: Value,
}

/// Everything a run did, events in input order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamReport {
    pub stream: String,
    pub simulated_clock: bool,
    pub summary: Summary,
    pub events: Vec<EventReport>,
    pub dead_letters: Vec<DeadLetter>,
}

/// An event's progress, owned by whichever worker holds its key.
struct Progress {
    next_action: usize,
    attempts: u32,
    /// The clock of the next attempt, in milliseconds.
    clock_ms: i64,
    /// The backoff waited before the next attempt.
    delay_ms: u64,
    deliveries: Vec<DeliveryTrace>,
    status: Option<EventStatus>,
    dead_letter: Option<DeadLetter>,
}

/// The shared queue state.
struct Queues {
    /// Event indexes per ordering key, in input order.
    by_key: HashMap<String, VecDeque<usize>>,
    /// Keys whose head event may run, by (not before, sequence).
    ready: BinaryHeap<Reverse<(Instant, u64, String)>>,
    sequence: u64,
    /// Events not finished yet.
    remaining: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked left plain counters behind; the others can still finish.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A number in [0, 1) drawn from `id` and `attempt`: the simulated clock's jitter.
fn hashed_unit(id: &str, attempt: u32) -> f64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(id.as_bytes())
        .chain_update(attempt.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A number in [0, 1) from the operating system's generator: real jitter.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// The jittered delay before retry `retry` of the event `id`.
pub fn retry_delay_ms(stream: &Stream, id: &str, retry: u32, simulated: bool) -> u64 {
    let unit = if simulated {
        hashed_unit(id, retry)
    } else {
        random_unit()
    };
    stream.spec.delivery.backoff.delay_ms(retry, unit)
}

/// RFC 3339 with milliseconds: `2026-01-15T12:00:02.838Z`.
pub fn format_ms(clock_ms: i64) -> String {
    let seconds = crate::run::event::format_rfc3339(clock_ms.div_euclid(1000));
    let millis = clock_ms.rem_euclid(1000);
    match seconds.strip_suffix('Z') {
        Some(stem) => format!("{stem}.{millis:03}Z"),
        None => seconds,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Delivers `messages` to `stream`'s actions and reports what happened to each.
pub fn deliver_all(
    stream: &Stream,
    messages: &[Message],
    deliver: &dyn Deliver,
    options: &RunOptions,
    on_event_done: &(dyn Fn() + Sync),
) -> StreamReport {
    let mut seen = HashSet::new();
    let mut progress: Vec<Mutex<Progress>> = Vec::with_capacity(messages.len());
    let mut queues = Queues {
        by_key: HashMap::new(),
        ready: BinaryHeap::new(),
        sequence: 0,
        remaining: 0,
    };
    let started = Instant::now();
    for (index, message) in messages.iter().enumerate() {
        let duplicate = !seen.insert(message.id.as_str());
        progress.push(Mutex::new(Progress {
            next_action: 0,
            attempts: 0,
            clock_ms: if options.simulated_clock {
                message.time.saturating_mul(1000)
            } else {
                0
            },
            delay_ms: 0,
            deliveries: Vec::new(),
            status: duplicate.then_some(EventStatus::Duplicate),
            dead_letter: None,
        }));
        if duplicate {
            on_event_done();
            continue;
        }
        // Events without a subject or user order against nothing: each is its own key.
        let key = message
            .ordering_key
            .clone()
            .unwrap_or_else(|| format!("\u{0}{index}"));
        let queue = queues.by_key.entry(key.clone()).or_default();
        if queue.is_empty() {
            queues.sequence += 1;
            queues.ready.push(Reverse((started, queues.sequence, key)));
        }
        queue.push_back(index);
        queues.remaining += 1;
    }
    let shared = (Mutex::new(queues), Condvar::new());
    let workers = options.concurrency.clamp(1, 64).min(messages.len().max(1));
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let shared = &shared;
            let progress = &progress;
            scope.spawn(move || {
                work(
                    worker,
                    stream,
                    messages,
                    progress,
                    shared,
                    deliver,
                    options,
                    on_event_done,
                )
            });
        }
    });
    let mut summary = Summary {
        events: messages.len(),
        ..Summary::default()
    };
    let mut events = Vec::with_capacity(messages.len());
    let mut dead_letters = Vec::new();
    for (message, progress) in messages.iter().zip(progress) {
        let progress = progress
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let status = progress.status.unwrap_or(EventStatus::DeadLettered);
        match status {
            EventStatus::Delivered => summary.delivered += 1,
            EventStatus::DeadLettered => summary.dead_lettered += 1,
            EventStatus::Duplicate => summary.duplicates_skipped += 1,
        }
        if progress.attempts > 1 {
            summary.retried += 1;
            summary.retries += progress.attempts as usize - 1;
        }
        dead_letters.extend(progress.dead_letter);
        events.push(EventReport {
            id: message.id.clone(),
            event_type: message.ty.name.to_string(),
            subject: message.ordering_key.clone(),
            status,
            attempts: progress.attempts,
            deliveries: progress.deliveries,
        });
    }
    StreamReport {
        stream: stream.name.clone(),
        simulated_clock: options.simulated_clock,
        summary,
        events,
        dead_letters,
    }
}

/// One worker: takes a ready key, runs one attempt of its head event, and puts the key back.
#[allow(clippy::too_many_arguments)]
fn work(
    worker: usize,
    stream: &Stream,
    messages: &[Message],
    progress: &[Mutex<Progress>],
    (queues, wake): &(Mutex<Queues>, Condvar),
    deliver: &dyn Deliver,
    options: &RunOptions,
    on_event_done: &(dyn Fn() + Sync),
) {
    loop {
        let (key, index) = {
            let mut q = lock(queues);
            loop {
                if q.remaining == 0 {
                    wake.notify_all();
                    return;
                }
                let now = Instant::now();
                match q.ready.peek() {
                    Some(Reverse((at, _, _))) if options.simulated_clock || *at <= now => {
                        let Some(Reverse((_, _, key))) = q.ready.pop() else {
                            continue;
                        };
                        let Some(&index) = q.by_key.get(&key).and_then(VecDeque::front) else {
                            continue;
                        };
                        break (key, index);
                    }
                    Some(Reverse((at, _, _))) => {
                        let wait = at.saturating_duration_since(now);
                        q = wake
                            .wait_timeout(q, wait)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                    None => q = wake.wait(q).unwrap_or_else(PoisonError::into_inner),
                }
            }
        };
        let retry_in = attempt(
            worker,
            stream,
            &messages[index],
            &progress[index],
            deliver,
            options,
        );
        let mut q = lock(queues);
        q.sequence += 1;
        let sequence = q.sequence;
        match retry_in {
            Some(delay) => {
                let at = Instant::now() + delay;
                q.ready.push(Reverse((at, sequence, key)));
            }
            None => {
                q.remaining -= 1;
                on_event_done();
                let queue = q.by_key.entry(key.clone()).or_default();
                queue.pop_front();
                if queue.is_empty() {
                    q.by_key.remove(&key);
                } else {
                    q.ready.push(Reverse((Instant::now(), sequence, key)));
                }
            }
        }
        wake.notify_all();
    }
}

/// Runs one attempt of an event: its actions from where the last attempt stopped. Returns
/// the wait before the next attempt, or `None` when the event is finished (delivered or
/// dead-lettered).
fn attempt(
    worker: usize,
    stream: &Stream,
    message: &Message,
    progress: &Mutex<Progress>,
    deliver: &dyn Deliver,
    options: &RunOptions,
) -> Option<Duration> {
    let mut p = lock(progress);
    p.attempts += 1;
    let attempt = p.attempts;
    let clock_ms = if options.simulated_clock {
        p.clock_ms
    } else {
        now_ms()
    };
    let mut delay_ms = std::mem::take(&mut p.delay_ms);
    while let Some(action) = stream.spec.actions.get(p.next_action) {
        let action = action.value.as_str();
        let started = Instant::now();
        let result = deliver.deliver(worker, message, action, clock_ms);
        let elapsed = (!options.simulated_clock).then(|| started.elapsed().as_micros() as u64);
        let mut trace = DeliveryTrace {
            stream: stream.name.clone(),
            action: action.to_string(),
            attempt,
            outcome: DeliveryOutcome::Skipped,
            delay_ms,
            at: format_ms(clock_ms),
            elapsed_us: elapsed,
            logs: Vec::new(),
            fetches: Vec::new(),
            failure: None,
        };
        delay_ms = 0;
        let failure = result.and_then(|result| {
            trace.logs = result.logs;
            trace.fetches = result.fetches;
            trace.outcome = DeliveryOutcome::Delivered;
            result.failure
        });
        if let Some(failure) = failure {
            trace.outcome = DeliveryOutcome::Failed;
            trace.failure = Some(failure.clone());
            p.deliveries.push(trace);
            let attempts = stream.spec.delivery.attempts.value.max(1);
            if attempt >= attempts {
                p.status = Some(EventStatus::DeadLettered);
                p.dead_letter = Some(DeadLetter {
                    stream: stream.name.clone(),
                    action: action.to_string(),
                    attempts: attempt,
                    failure,
                    dead_lettered_at: format_ms(clock_ms),
                    event: message.envelope.clone(),
                });
                return None;
            }
            let wait = retry_delay_ms(stream, &message.id, attempt, options.simulated_clock);
            p.delay_ms = wait;
            p.clock_ms = clock_ms.saturating_add(wait as i64);
            return Some(if options.simulated_clock {
                Duration::ZERO
            } else {
                Duration::from_millis(wait)
            });
        }
        p.deliveries.push(trace);
        p.next_action += 1;
    }
    p.status = Some(EventStatus::Delivered);
    None
}

impl StreamReport {
    /// The dead letters as JSONL, one line each.
    pub fn dead_letter_lines(&self) -> String {
        let mut out = String::new();
        for letter in &self.dead_letters {
            if let Ok(line) = serde_json::to_string(letter) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

/// Where a redelivered event resumes: its attempt number and the first action not yet done.
#[derive(Clone, Copy, Debug)]
pub struct Resume {
    /// 1-based attempt number (a broker's delivery count).
    pub attempt: u32,
    pub next_action: usize,
}

/// How one attempt ended.
#[derive(Clone, Debug)]
pub enum AttemptEnd {
    /// Every remaining action completed.
    Delivered,
    /// An action failed; retry after this many milliseconds.
    Retry(u64),
    /// An action failed on the last attempt.
    DeadLettered(Box<DeadLetter>),
}

/// One attempt of one event outside the batch scheduler (a broker decides when to retry):
/// how it ended, the first action still to run, and the attempt's deliveries.
pub fn attempt_once(
    worker: usize,
    stream: &Stream,
    message: &Message,
    deliver: &dyn Deliver,
    resume: Resume,
) -> (AttemptEnd, usize, Vec<DeliveryTrace>) {
    let progress = Mutex::new(Progress {
        next_action: resume.next_action,
        attempts: resume.attempt.saturating_sub(1),
        clock_ms: 0,
        delay_ms: 0,
        deliveries: Vec::new(),
        status: None,
        dead_letter: None,
    });
    let options = RunOptions {
        simulated_clock: false,
        concurrency: 1,
    };
    let retry = attempt(worker, stream, message, &progress, deliver, &options);
    let p = progress
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let end = match (retry, p.dead_letter) {
        (_, Some(letter)) => AttemptEnd::DeadLettered(Box::new(letter)),
        (Some(_), None) => AttemptEnd::Retry(p.delay_ms),
        (None, None) => AttemptEnd::Delivered,
    };
    (end, p.next_action, p.deliveries)
}
