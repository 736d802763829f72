//! Benchmarks of the custom-action engine on the quickstart's log-user handler: a cold start
//! from nothing (new thread and runtime, prelude, action load, first call) and from a pooled
//! runtime (action load and first call), a warm call including event marshalling and the
//! hand-off to the runtime's thread, and a whole Login flow run with the action in it.
//!
//! Compare with `benches/node_vm.js`, which runs the same handler under Node's `vm` module,
//! and, for whole processes, `authflow run` with `benches/node_run.js`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use authflow::cli::simulate;
use authflow::js::{ActionInput, ActionSource, Engine, EngineConfig, FetchPolicy, Limits, Trigger};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

/// The custom-action quickstart, as the log-user example workspace ships it.
const LOG_USER: &str = include_str!("../examples/log-user/actions/log-user.js");

fn log_user() -> ActionSource {
    ActionSource {
        slug: "log-user".to_owned(),
        file_name: "log-user.js".to_owned(),
        code: LOG_USER.to_owned(),
        trigger: Trigger::Login,
        modules: Vec::new(),
        secrets: BTreeMap::new(),
    }
}

fn engine(max_runtimes: usize, warm_runtimes: usize) -> Engine {
    let config = EngineConfig {
        max_runtimes,
        warm_runtimes,
        ..EngineConfig::default()
    };
    match Engine::new(config) {
        Ok(engine) => engine,
        Err(error) => panic!("engine: {error}"),
    }
}

fn bench_actions(c: &mut Criterion) {
    let event = json!({
        "user": { "email": "ada@example.com", "app_metadata": { "plan": "free" } },
        "request": { "ip": "203.0.113.9", "geo": { "country": "US" } }
    });
    let limits = Limits::default();
    let fetch = FetchPolicy::default();
    let input = ActionInput {
        event: &event,
        limits: &limits,
        fetch: &fetch,
        clock_ms: 0,
    };
    let action = log_user();

    let mut group = c.benchmark_group("actions");
    group.sample_size(20);
    // From nothing: no pool, so every iteration (a new tenant) spawns a thread, builds a
    // runtime with the sandbox prelude, loads the action and calls it. A cache of one keeps at
    // most one idle runtime thread alive.
    let cold_engine = engine(1, 0);
    let mut tenant = 0_u64;
    group.bench_function("cold_start_from_nothing", |b| {
        b.iter(|| {
            tenant += 1;
            let outcome = cold_engine.run(&format!("tenant-{tenant}"), &action, input);
            black_box(outcome)
        })
    });
    // Pooled: the first run of a new action when a pooled runtime is ready. The pool is
    // refilled (and waited for) outside the timed section of each iteration.
    let pooled_engine = engine(1, 1);
    group.bench_function("cold_start_pooled", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                pooled_engine.prewarm(Duration::from_secs(10));
                tenant += 1;
                let started = Instant::now();
                let outcome = pooled_engine.run(&format!("tenant-{tenant}"), &action, input);
                total += started.elapsed();
                black_box(outcome);
            }
            total
        })
    });
    group.finish();

    let mut group = c.benchmark_group("actions");
    let warm_engine = engine(4, 0);
    let outcome = warm_engine.run("tenant-warm", &action, input);
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    group.bench_function("warm_call_log_user", |b| {
        b.iter(|| black_box(warm_engine.run("tenant-warm", &action, input)))
    });
    // A different event on every call, so nothing can be reused from the previous call.
    let events: Vec<serde_json::Value> = (0..64)
        .map(|i| {
            json!({
                "user": { "email": format!("user{i}@example.com"), "app_metadata": { "plan": "free" } },
                "request": { "ip": "203.0.113.9", "geo": { "country": "US" } }
            })
        })
        .collect();
    let mut next = 0_usize;
    group.bench_function("warm_call_log_user_distinct_events", |b| {
        b.iter(|| {
            next = (next + 1) % events.len();
            let input = ActionInput {
                event: &events[next],
                ..input
            };
            black_box(warm_engine.run("tenant-warm", &action, input))
        })
    });
    group.finish();
}

/// The quickstart's Login flow with log-user in Post-Auth, run end to end by the simulator on
/// the `logged-in-us-user` preset (identity lookup, argon2id password check, the action with
/// the full event, session issue), with the action's runtime warm.
fn bench_flow(c: &mut Criterion) {
    let flow = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/log-user/flows/login.yaml");
    let compiled = match simulate::compile_flow(&flow, None, false) {
        Ok(compiled) => compiled,
        Err(_) => panic!("the log-user flow does not compile"),
    };
    let Ok((name, sim)) = simulate::load_event("logged-in-us-user") else {
        panic!("no logged-in-us-user preset")
    };
    let Ok(runner) = authflow::host::runner_for(&compiled.loaded.ws, &compiled.plan) else {
        panic!("no action runner")
    };
    let mut group = c.benchmark_group("actions");
    group.bench_function("flow_run_log_user", |b| {
        b.iter(|| black_box(simulate::simulate(&compiled, &name, &sim, runner.as_ref()).is_ok()))
    });
    group.finish();
}

criterion_group!(benches, bench_actions, bench_flow);
criterion_main!(benches);
