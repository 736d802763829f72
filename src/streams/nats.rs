//! Event streams on a real broker: NATS JetStream through async-nats.
//!
//! `publish` sends messages to the stream's subject with `Nats-Msg-Id` set to the event id,
//! so the server drops a copy published again within its duplicate window. `consume` is one
//! member of a consumer group: a durable pull consumer (`delivery.concurrency` messages at a
//! time) that every process started for the same stream shares, so the server spreads the
//! messages over them. Each message is attempted once per delivery: on success it is acked, on
//! failure nak'ed with the backoff delay, and on the last attempt published to the
//! dead-letter subject and terminated.
//!
//! Deduplication across the group and across crashes uses a progress stream: after
//! an event's actions completed, its id (hashed) is marked done before the ack, so a copy that
//! is delivered again (a second publish after the window, or a redelivery after a consumer died
//! between the mark and the ack) is acked as a duplicate without running anything. The stream
//! also records how many of the stream's actions completed, so a retry resumes at the action
//! that failed. A consumer killed mid-action loses nothing: the server redelivers the message
//! once its ack wait (the per-delivery timeout times the number of actions, plus a margin) has
//! passed. Order per user is not kept across consumers; `stream run` keeps it.

use super::delivery::{self, AttemptEnd, DeadLetter, Deliver, Resume, Summary};
use super::file::Stream;
use super::message::{self, Message};
use crate::run::trace::DeliveryTrace;
use crate::workspace::Workspace;
use async_nats::jetstream::{self, AckKind, consumer, stream};
use futures_util::StreamExt;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How `consume` runs.
#[derive(Clone, Debug)]
pub struct ConsumeOptions {
    /// The server URL (or comma-separated URLs of a cluster).
    pub url: String,
    /// Messages processed at once; the deliverer must have this many workers.
    pub workers: usize,
    /// Stop after this many finished events.
    pub max_events: Option<u64>,
    /// Stop when nothing arrived for this long.
    pub idle_exit: Option<Duration>,
    /// Stop once this is set (benchmarks and embedding programs end a consumer this way).
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// How a consumed message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumedStatus {
    Delivered,
    /// Failed; nak'ed for redelivery after the backoff.
    Retrying,
    DeadLettered,
    /// Another delivery of the same event id already completed.
    Duplicate,
    /// A type this stream does not subscribe to: acked, nothing ran.
    Ignored,
    /// Not a valid message: dead-lettered and terminated without running.
    Invalid,
}

/// One message handled by `consume`.
#[derive(Clone, Debug, Serialize)]
pub struct Consumed {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub status: ConsumedStatus,
    /// The server's delivery count for the message.
    pub attempt: u32,
    /// The process that handled it.
    pub consumer: u32,
    pub deliveries: Vec<DeliveryTrace>,
}

/// What `publish` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Published {
    pub stored: usize,
    pub duplicates: usize,
}

fn nats_error(what: &str, error: impl std::fmt::Display) -> String {
    format!("NATS: {what}: {error}")
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the I/O runtime: {e}"))
}

async fn connect(url: &str) -> Result<jetstream::Context, String> {
    let client = async_nats::ConnectOptions::new()
        .name("authflow")
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|e| nats_error(&format!("cannot connect to {url}"), e))?;
    Ok(jetstream::new(client))
}

/// The JetStream stream holding the events and dead-letter subjects, created when missing and
/// extended when it lacks one of them (several authflow streams of a tenant share it).
async fn ensure_stream(
    js: &jetstream::Context,
    name: &str,
    subjects: &[String],
) -> Result<stream::Stream, String> {
    for _ in 0..5 {
        match js.get_stream(name).await {
            Ok(mut existing) => {
                let info = existing
                    .info()
                    .await
                    .map_err(|e| nats_error("stream info", e))?;
                let mut config = info.config.clone();
                let missing: Vec<&String> = subjects
                    .iter()
                    .filter(|s| !config.subjects.contains(s))
                    .collect();
                if missing.is_empty() {
                    return Ok(existing);
                }
                config.subjects.extend(missing.into_iter().cloned());
                js.update_stream(config)
                    .await
                    .map_err(|e| nats_error(&format!("cannot add subjects to {name}"), e))?;
            }
            Err(_) => {
                let created = js
                    .create_stream(stream::Config {
                        name: name.to_string(),
                        subjects: subjects.to_vec(),
                        duplicate_window: Duration::from_secs(120),
                        ..Default::default()
                    })
                    .await;
                if let Ok(created) = created {
                    return Ok(created);
                }
                // Another process created it first: look again.
            }
        }
    }
    Err(nats_error(
        &format!("cannot create or update the JetStream stream {name}"),
        "retries exhausted",
    ))
}

/// The subjects a stream uses: (events, dead letters).
fn subjects(ws: &Workspace, stream: &Stream) -> (String, String) {
    let tenant = &ws.settings.tenant.id;
    (stream.subject(tenant), stream.dead_letter_subject(tenant))
}

/// Publishes `messages` to the stream's subject, each with its id as `Nats-Msg-Id`.
pub fn publish(
    ws: &Workspace,
    stream: &Stream,
    url: &str,
    messages: &[Message],
) -> Result<Published, String> {
    runtime()?.block_on(async {
        let js = connect(url).await?;
        let (events, dead) = subjects(ws, stream);
        ensure_stream(
            &js,
            &stream.jetstream(&ws.settings.tenant.id),
            &[events.clone(), dead],
        )
        .await?;
        let mut pending = Vec::with_capacity(messages.len());
        for message in messages {
            let payload = serde_json::to_vec(&message.envelope)
                .map_err(|e| format!("cannot encode {}: {e}", message.id))?;
            let ack = js
                .send_publish(
                    events.clone(),
                    jetstream::message::PublishMessage::build()
                        .payload(payload.into())
                        .message_id(&message.id),
                )
                .await
                .map_err(|e| nats_error(&format!("publish {}", message.id), e))?;
            pending.push(ack);
        }
        let mut published = Published::default();
        for ack in pending {
            let ack = ack.await.map_err(|e| nats_error("publish ack", e))?;
            if ack.duplicate {
                published.duplicates += 1;
            } else {
                published.stored += 1;
            }
        }
        Ok(published)
    })
}

/// The key-value key of an event id (ids may hold characters keys cannot).
fn done_key(id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The progress value of an event whose actions all completed (otherwise it is the number of
/// actions that completed).
const DONE: &str = "done";

/// Per-event progress shared by a consumer group: a JetStream stream keeping the last value of
/// each subject `authflow-progress.<durable>.<event key>`, written with the expected last
/// subject sequence so exactly one writer wins each step (a key-value bucket built from the
/// same primitives, which also works on servers whose key-value api the client cannot read).
struct ProgressStore {
    js: jetstream::Context,
    stream: stream::Stream,
    prefix: String,
}

impl ProgressStore {
    async fn open(js: &jetstream::Context, durable: &str) -> Result<ProgressStore, String> {
        let token: String = durable
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let prefix = format!("authflow-progress.{token}");
        let name = format!("{token}-progress");
        let stream = match js.get_stream(&name).await {
            Ok(stream) => stream,
            Err(_) => match js
                .create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![format!("{prefix}.>")],
                    max_messages_per_subject: 1,
                    ..Default::default()
                })
                .await
            {
                Ok(stream) => stream,
                Err(created) => js.get_stream(&name).await.map_err(|e| {
                    nats_error(
                        &format!("progress stream {name}"),
                        format!("{created}; {e}"),
                    )
                })?,
            },
        };
        Ok(ProgressStore {
            js: js.clone(),
            stream,
            prefix,
        })
    }

    /// The value of `key` and its sequence, if it has one.
    async fn entry(&self, key: &str) -> Result<Option<(String, u64)>, String> {
        match self
            .stream
            .get_last_raw_message_by_subject(&format!("{}.{key}", self.prefix))
            .await
        {
            Ok(message) => Ok(Some((
                String::from_utf8_lossy(&message.payload).into_owned(),
                message.sequence,
            ))),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(nats_error("progress lookup", e)),
        }
    }

    /// Writes `value` if `key` is still at `expected` (0: absent); false when another
    /// consumer wrote it first.
    async fn put_if(&self, key: &str, value: &str, expected: u64) -> Result<bool, String> {
        let publish = jetstream::message::PublishMessage::build()
            .payload(value.to_string().into_bytes().into())
            .expected_last_subject_sequence(expected);
        let ack = self
            .js
            .send_publish(format!("{}.{key}", self.prefix), publish)
            .await
            .map_err(|e| nats_error("progress write", e))?;
        match ack.await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == jetstream::context::PublishErrorKind::WrongLastSequence => {
                Ok(false)
            }
            Err(e) => Err(nats_error("progress write", e)),
        }
    }
}

/// Consumes the stream until `max_events` or `idle_exit`; `on_finished` sees every message.
pub fn consume(
    ws: &Workspace,
    stream: &Stream,
    deliver: &(dyn Deliver + Sync),
    options: &ConsumeOptions,
    on_finished: &dyn Fn(&Consumed),
) -> Result<Summary, String> {
    let tenant = ws.settings.tenant.id.clone();
    runtime()?.block_on(async {
        let js = connect(&options.url).await?;
        let (events_subject, dead_subject) = subjects(ws, stream);
        let jet = ensure_stream(
            &js,
            &stream.jetstream(&tenant),
            &[events_subject.clone(), dead_subject.clone()],
        )
        .await?;
        let actions = stream.spec.actions.len().max(1) as u64;
        let ack_wait = Duration::from_millis(
            stream
                .spec
                .delivery
                .timeout_ms
                .value
                .saturating_mul(actions)
                + 2_000,
        );
        let durable = stream.durable();
        let consumer: consumer::PullConsumer = jet
            .get_or_create_consumer(
                &durable,
                consumer::pull::Config {
                    durable_name: Some(durable.clone()),
                    filter_subject: events_subject.clone(),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait,
                    max_ack_pending: 1_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| nats_error(&format!("consumer {durable}"), e))?;
        let progress = ProgressStore::open(&js, &durable).await?;
        let pid = std::process::id();
        let mut summary = Summary::default();
        let mut last_message = Instant::now();
        let workers = options.workers.max(1);
        loop {
            if options
                .max_events
                .is_some_and(|max| summary.events as u64 >= max)
            {
                break;
            }
            if options
                .idle_exit
                .is_some_and(|idle| last_message.elapsed() >= idle)
                || options
                    .stop
                    .as_ref()
                    .is_some_and(|stop| stop.load(std::sync::atomic::Ordering::SeqCst))
            {
                break;
            }
            let mut batch = consumer
                .fetch()
                .max_messages(workers)
                .expires(Duration::from_millis(200))
                .messages()
                .await
                .map_err(|e| nats_error("fetch", e))?;
            let mut received = Vec::with_capacity(workers);
            while let Some(next) = batch.next().await {
                match next {
                    Ok(message) => received.push(message),
                    Err(e) => return Err(nats_error("fetch", e)),
                }
            }
            if received.is_empty() {
                continue;
            }
            last_message = Instant::now();
            let handled = futures_util::future::join_all(received.into_iter().enumerate().map(
                |(worker, message)| {
                    handle(
                        worker,
                        message,
                        Context {
                            stream,
                            tenant: &tenant,
                            deliver,
                            js: &js,
                            progress: &progress,
                            dead_subject: &dead_subject,
                            pid,
                        },
                    )
                },
            ))
            .await;
            for consumed in handled {
                let consumed = consumed?;
                match consumed.status {
                    ConsumedStatus::Retrying => {
                        summary.retries += 1;
                        on_finished(&consumed);
                        continue;
                    }
                    ConsumedStatus::Delivered => summary.delivered += 1,
                    ConsumedStatus::DeadLettered | ConsumedStatus::Invalid => {
                        summary.dead_lettered += 1
                    }
                    ConsumedStatus::Duplicate => summary.duplicates_skipped += 1,
                    ConsumedStatus::Ignored => {}
                }
                if consumed.attempt > 1 {
                    summary.retried += 1;
                }
                summary.events += 1;
                on_finished(&consumed);
            }
        }
        Ok(summary)
    })
}

/// What `handle` needs besides the message.
#[derive(Clone, Copy)]
struct Context<'a> {
    stream: &'a Stream,
    tenant: &'a str,
    deliver: &'a (dyn Deliver + Sync),
    js: &'a jetstream::Context,
    progress: &'a ProgressStore,
    dead_subject: &'a str,
    pid: u32,
}

/// Handles one delivery of one message.
async fn handle(
    worker: usize,
    message: jetstream::Message,
    cx: Context<'_>,
) -> Result<Consumed, String> {
    let attempt = message
        .info()
        .map(|i| i.delivered.clamp(1, i64::from(u32::MAX)) as u32)
        .unwrap_or(1);
    let mut consumed = Consumed {
        id: String::new(),
        event_type: String::new(),
        status: ConsumedStatus::Invalid,
        attempt,
        consumer: cx.pid,
        deliveries: Vec::new(),
    };
    let ack = |kind: AckKind| {
        let message = &message;
        async move {
            message
                .double_ack_with(kind)
                .await
                .map_err(|e| nats_error("ack", e))
        }
    };
    let parsed = serde_json::from_slice::<serde_json::Value>(&message.payload)
        .map_err(|e| {
            vec![crate::run::event::EventError {
                path: "$".into(),
                message: format!("not JSON: {e}"),
            }]
        })
        .and_then(|value| message::validate(value, cx.tenant));
    let event = match parsed {
        Ok(event) => event,
        Err(errors) => {
            let text = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let letter = serde_json::json!({
                "stream": cx.stream.name,
                "action": null,
                "attempts": attempt,
                "failure": { "kind": "invalid", "message": text },
                "dead_lettered_at": crate::run::event::format_rfc3339(now_secs()),
                "event": String::from_utf8_lossy(&message.payload),
            });
            dead_letter(cx, &letter).await?;
            ack(AckKind::Term).await?;
            return Ok(consumed);
        }
    };
    consumed.id = event.id.clone();
    consumed.event_type = event.ty.name.to_string();
    if !cx.stream.subscribes(event.ty.name) {
        consumed.status = ConsumedStatus::Ignored;
        ack(AckKind::Ack).await?;
        return Ok(consumed);
    }
    let key = done_key(&event.id);
    let entry = cx.progress.entry(&key).await?;
    let (next_action, revision) = match &entry {
        Some((value, _)) if value == DONE => {
            consumed.status = ConsumedStatus::Duplicate;
            ack(AckKind::Ack).await?;
            return Ok(consumed);
        }
        Some((value, sequence)) => (value.parse::<usize>().unwrap_or(0), *sequence),
        None => (0, 0),
    };
    let stream = cx.stream;
    let deliver = cx.deliver;
    let run_event = event.clone();
    let (end, next, deliveries) = tokio::task::block_in_place(|| {
        delivery::attempt_once(
            worker,
            stream,
            &run_event,
            deliver,
            Resume {
                attempt,
                next_action,
            },
        )
    });
    consumed.deliveries = deliveries;
    let mark = |value: &'static str| {
        let key = &key;
        async move { cx.progress.put_if(key, value, revision).await }
    };
    match end {
        AttemptEnd::Delivered => {
            // The first to mark the event done owns it; a loser ran it concurrently after a
            // redelivery and reports a duplicate, so the effect is recorded once.
            consumed.status = if mark(DONE).await? {
                ConsumedStatus::Delivered
            } else {
                ConsumedStatus::Duplicate
            };
            ack(AckKind::Ack).await?;
        }
        AttemptEnd::Retry(delay_ms) => {
            if next > next_action {
                let done = next.to_string();
                cx.progress.put_if(&key, &done, revision).await?;
            }
            consumed.status = ConsumedStatus::Retrying;
            ack(AckKind::Nak(Some(Duration::from_millis(delay_ms)))).await?;
        }
        AttemptEnd::DeadLettered(letter) => {
            let letter = DeadLetter {
                event: event.envelope.clone(),
                ..*letter
            };
            dead_letter(cx, &serde_json::to_value(&letter).unwrap_or_default()).await?;
            consumed.status = ConsumedStatus::DeadLettered;
            ack(AckKind::Term).await?;
        }
    }
    Ok(consumed)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Publishes a dead letter and waits for the server to store it.
async fn dead_letter(cx: Context<'_>, letter: &serde_json::Value) -> Result<(), String> {
    let payload = serde_json::to_vec(letter).map_err(|e| format!("dead letter: {e}"))?;
    cx.js
        .publish(cx.dead_subject.to_string(), payload.into())
        .await
        .map_err(|e| nats_error("dead letter", e))?
        .await
        .map_err(|e| nats_error("dead letter ack", e))?;
    Ok(())
}
