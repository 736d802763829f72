//! Benchmarks of the custom-action engine: a cold start (new runtime and thread, prelude,
//! action load, first handler call) and a warm call of the quickstart's log-user handler,
//! including event marshalling and the hand-off to the runtime's thread.
//!
//! Compare with `benches/node_vm.js`, which runs the same handler under Node's `vm` module.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use authflow::js::{ActionInput, ActionSource, Engine, EngineConfig, FetchPolicy, Limits, Trigger};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const LOG_USER: &str = r#"exports.handler = async function logUser(event, api) {
const email = event.user?.email
if (!email) {
api.log('warn', 'log-user: no user email — action ran before identity lookup')
return
}
api.log('info', `log-user: login for ${email}`)
api.state.set('seen_email', email)
api.state.set('country', event.request?.geo?.country ?? 'unknown')
}
"#;

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

fn engine(max_runtimes: usize) -> Engine {
    let config = EngineConfig {
        max_runtimes,
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
    group.measurement_time(Duration::from_secs(5));
    // Every iteration uses a new tenant, so each run starts a runtime; a cache of one keeps at
    // most one idle runtime thread alive.
    let cold_engine = engine(1);
    let mut tenant = 0_u64;
    group.bench_function("cold_start_log_user", |b| {
        b.iter(|| {
            tenant += 1;
            let outcome = cold_engine.run(&format!("tenant-{tenant}"), &action, input);
            black_box(outcome)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("actions");
    group.measurement_time(Duration::from_secs(3));
    let warm_engine = engine(4);
    let outcome = warm_engine.run("tenant-warm", &action, input);
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    group.bench_function("warm_call_log_user", |b| {
        b.iter(|| black_box(warm_engine.run("tenant-warm", &action, input)))
    });
    group.finish();
}

criterion_group!(benches, bench_actions);
criterion_main!(benches);
