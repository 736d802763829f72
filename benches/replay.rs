//! Replaying 10,000 recorded logins through two versions of a flow (the replay fixture's
//! risk-lookup flow, and the same flow denying Brazil), beside a baseline in the same run: the
//! same logins simulated once through one version on one thread, as a plain loop.
//!
//! Each login runs the fixture's custom action (a recorded fetch, state, a claim, app_metadata)
//! in the JavaScript engine. Password hashing uses argon2's minimum cost, so the figures
//! measure replay rather than argon2. Throughput is logins per second; a replay runs each
//! login twice (once per version), so its runs per second are twice its logins per second.

#[path = "support.rs"]
mod support;

use authflow::cli::simulate;
use authflow::replay::{self, Login, Side};
use authflow::run::Simulator;
use authflow::run::directory::Directory;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::path::Path;

const LOGINS: usize = 10_000;

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/replay"
    ))
}

/// Recorded logins from five countries, each with its IP, clock and recorded risk score.
fn logins() -> Vec<Login> {
    let Ok((_, preset)) = simulate::load_event("logged-in-us-user") else {
        panic!("preset")
    };
    let mut user = preset.directory[0].clone();
    user.password_hash = Some(support::cheap_hash("correct horse battery staple"));
    let mut base: Value = serde_json::to_value(&preset.event).unwrap();
    base.as_object_mut().unwrap().remove("user");
    base["credentials"] = serde_json::to_value(&preset.credentials).unwrap();
    base["directory"] = json!([user]);
    (0..LOGINS)
        .map(|i| {
            let country = ["US", "DE", "BR", "FR", "JP"][i % 5];
            let ip = format!("198.51.{}.{}", i / 250, i % 250);
            let mut event = base.clone();
            event["request"]["geo"]["country"] = json!(country);
            event["request"]["ip"] = json!(ip);
            event["now"] = json!(format!("2026-02-01T{:02}:{:02}:{:02}Z", i / 3600 % 24, i / 60 % 60, i % 60));
            let score = if i % 7 == 0 { 95 } else { 10 };
            event["fetch"] = json!({ format!("https://risk.acme.example/ip/{ip}"): { "body": { "score": score } } });
            let sim = authflow::run::event::parse(event).unwrap();
            Login {
                id: format!("run-{i}"),
                name: format!("login {i}"),
                event: sim,
            }
        })
        .collect()
}

fn simulator(compiled: &simulate::Compiled) -> Simulator<'_> {
    Simulator::new(
        &compiled.plan,
        Directory::default(),
        simulate::session_config(&compiled.loaded.ws).unwrap().0,
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (old_root, new_root) = (dir.path().join("old"), dir.path().join("new"));
    support::copy_tree(&fixture().join("geo"), &old_root);
    support::copy_tree(&fixture().join("geo"), &new_root);
    std::fs::copy(
        fixture().join("geo-deny-br.yaml"),
        new_root.join("flows/login.yaml"),
    )
    .unwrap();
    let compile = |root: &Path| match simulate::compile_flow(
        &root.join("flows/login.yaml"),
        Some(root),
        false,
    ) {
        Ok(c) => c,
        Err(_) => panic!("the fixture compiles"),
    };
    let (old, new) = (compile(&old_root), compile(&new_root));
    let (old_sim, new_sim) = (simulator(&old), simulator(&new));
    let old_actions = authflow::host::runner_for(&old.loaded.ws, &old.plan).unwrap();
    let new_actions = authflow::host::runner_for(&new.loaded.ws, &new.plan).unwrap();
    let old_side = Side {
        label: "old".into(),
        simulator: &old_sim,
        actions: old_actions.as_ref(),
    };
    let new_side = Side {
        label: "new".into(),
        simulator: &new_sim,
        actions: new_actions.as_ref(),
    };
    let logins = logins();
    // The answer is checked once, so the benchmark times a correct replay.
    let report = replay::replay("login", &old_side, &new_side, &logins, 2);
    assert_eq!(report.summary.total, LOGINS);
    assert_eq!(report.summary.allow_to_deny, 1714, "{:?}", report.summary);
    let cores = authflow::js::cores();

    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(LOGINS as u64));
    group.sample_size(10);
    group.bench_function("baseline_one_version_one_thread_10000_logins", |b| {
        b.iter(|| {
            for login in &logins {
                std::hint::black_box(new_sim.run(&login.event, &login.name, new_actions.as_ref()));
            }
        })
    });
    group.bench_function("replay_two_versions_one_thread_10000_logins", |b| {
        b.iter(|| replay::replay("login", &old_side, &new_side, &logins, 1))
    });
    group.bench_function(
        format!("replay_two_versions_{cores}_threads_10000_logins"),
        |b| b.iter(|| replay::replay("login", &old_side, &new_side, &logins, cores)),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
