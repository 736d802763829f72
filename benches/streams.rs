//! Benchmarks of event-stream delivery with the reference's event-stream action (the
//! event-stream example, verbatim): events per second through `stream run`'s scheduler on a
//! simulated clock (one and four workers), and through NATS JetStream with one and two
//! consumers of one group (a real `nats-server -js` on a free loopback port, skipped when it is
//! not installed), against the baseline of the same action called directly through the engine
//! for the same messages, one after the other.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authflow::cli::load;
use authflow::streams::actions::StreamActions;
use authflow::streams::delivery::{self, Deliver, RunOptions};
use authflow::streams::{Message, Stream, nats};
use authflow::workspace::Workspace;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/support/mod.rs"]
mod support;
use serde_json::{Value, json};
use support::{Server, copy_tree};

const EVENTS: usize = 200;

/// The example workspace in a temporary directory, with its two secrets' values.
fn example() -> (tempfile::TempDir, Workspace, Vec<Stream>) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/event-stream"),
        dir.path(),
    );
    std::fs::create_dir_all(dir.path().join(".authflow")).unwrap();
    std::fs::write(
        dir.path().join(".authflow/secrets.yaml"),
        "URL: https://hooks.acme.example/logins\nAPI_KEY: bench-key\n",
    )
    .unwrap();
    let loaded = load::load(None, Some(dir.path())).unwrap();
    (dir, loaded.ws, loaded.streams)
}

/// `count` login.succeeded messages for 50 users, ids starting at `first`.
fn messages(first: usize, count: usize) -> Vec<Message> {
    let template: Value = serde_json::from_str(
        include_str!("../examples/event-stream/events/logins.jsonl")
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let mut text = String::new();
    for i in first..first + count {
        let mut message = template.clone();
        message["id"] = json!(format!("evt_bench_{i}"));
        message["subject"] = json!(format!("usr_{}", i % 50));
        message["data"]["user"]["id"] = message["subject"].clone();
        text.push_str(&message.to_string());
        text.push('\n');
    }
    authflow::streams::parse_events(&text, "ten_acme").unwrap()
}

fn recordings() -> std::collections::BTreeMap<String, authflow::run::event::RecordedResponse> {
    serde_json::from_str(include_str!(
        "../examples/event-stream/events/recordings.json"
    ))
    .unwrap()
}

/// Starts a server when nats-server is installed (the NATS benchmarks are skipped otherwise).
fn nats_server() -> Option<Server> {
    let installed = ["nats-server", "/usr/sbin/nats-server"]
        .into_iter()
        .any(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    installed.then(|| Server::start("bench"))
}

fn bench_streams(c: &mut Criterion) {
    let (_dir, ws, streams) = example();
    let stream = streams.iter().find(|s| s.name == "logins").unwrap();
    let mut group = c.benchmark_group("streams");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(EVENTS as u64));

    let batch = messages(0, EVENTS);
    let direct = StreamActions::new(&ws, stream, 1, recordings()).unwrap();
    group.bench_function("baseline_engine_direct", |b| {
        b.iter(|| {
            for message in &batch {
                black_box(direct.deliver(0, message, "forward-logins", message.time * 1000));
            }
        })
    });
    for workers in [1, 4] {
        let actions = StreamActions::new(&ws, stream, workers, recordings()).unwrap();
        let options = RunOptions {
            simulated_clock: true,
            concurrency: workers,
        };
        group.bench_function(format!("stream_run_simulated_{workers}_workers"), |b| {
            b.iter(|| {
                let report = delivery::deliver_all(stream, &batch, &actions, &options, &|| {});
                assert_eq!(report.summary.delivered, EVENTS);
                black_box(report)
            })
        });
    }

    let Some(server) = nats_server() else {
        eprintln!("nats-server is not installed: the NATS benchmarks are skipped");
        return;
    };
    let next_id = AtomicUsize::new(1_000_000);
    for consumers in [1, 2] {
        let actions: Vec<StreamActions> = (0..consumers)
            .map(|_| StreamActions::new(&ws, stream, 4, recordings()).unwrap())
            .collect();
        group.bench_function(format!("nats_{consumers}_consumers"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let first = next_id.fetch_add(EVENTS, Ordering::Relaxed);
                    let batch = messages(first, EVENTS);
                    let started = Instant::now();
                    nats::publish(&ws, stream, &server.url, &batch).unwrap();
                    let finished = AtomicUsize::new(0);
                    let stop = Arc::new(AtomicBool::new(false));
                    std::thread::scope(|scope| {
                        for deliver in &actions {
                            let stop = Arc::clone(&stop);
                            let finished = &finished;
                            let options = nats::ConsumeOptions {
                                url: server.url.clone(),
                                workers: 4,
                                max_events: None,
                                idle_exit: Some(Duration::from_secs(20)),
                                stop: Some(Arc::clone(&stop)),
                            };
                            let ws = &ws;
                            scope.spawn(move || {
                                nats::consume(ws, stream, deliver, &options, &|_| {
                                    if finished.fetch_add(1, Ordering::SeqCst) + 1 >= EVENTS {
                                        stop.store(true, Ordering::SeqCst);
                                    }
                                })
                                .unwrap();
                            });
                        }
                    });
                    assert!(finished.load(Ordering::SeqCst) >= EVENTS);
                    total += started.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_streams);
criterion_main!(benches);
