//! Benchmark of `authflow test` against the baseline it replaces: a generated workspace with
//! 20 quickstart-sized actions, one Login flow per action (Identity Lookup, Password Check,
//! the action, Issue Session), and a suite of 1,000 cases (50 per flow, each with its own
//! event file). Reported as cases per second for:
//!
//! - `suite/in-process`: the library (`authflow::suite`) loading and running the whole suite
//!   with a new engine, as `authflow test` does inside its one process;
//! - `suite/authflow-test-process`: the `authflow test` command itself, one process;
//! - `baseline/authflow-run-processes`: the same cases as separate `authflow run` processes
//!   (a sample of them per iteration, one process per core at a time; throughput is per case,
//!   so the rates compare directly).

use authflow::suite::{self, Options, Status};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const ACTIONS: usize = 20;
const CASES: usize = 1_000;
/// How many `authflow run` processes one baseline iteration starts.
const PROCESS_SAMPLE: usize = 40;
const COUNTRIES: &[&str] = &["US", "DE", "FR", "JP", "BR", "IN", "GB", "CA", "AU", "NL"];

/// Writes the workspace; returns the (flow file, event file) of every case, in suite order.
fn generate(root: &Path) -> Vec<(String, String)> {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "authflow.yaml",
        "tenant: { id: ten_bench, name: Bench, slug: bench }\n",
    );
    let mut preset: serde_json::Value =
        serde_json::from_str(authflow::run::presets::find("logged-in-us-user").unwrap()).unwrap();
    // Test data: Ada's password hashed with light argon2id parameters, as test suites hash
    // directory passwords (the preset's production-like m=4096 hash would make every case
    // spend milliseconds in argon2 and measure nothing else).
    preset["directory"][0]["password_hash"] =
        serde_json::json!(light_hash("correct horse battery staple"));
    let mut cases = Vec::new();
    let mut suite = String::from("tests:\n");
    for a in 0..ACTIONS {
        // The quickstart's shape: read the user and the request, log, write two state keys.
        write(
            &format!("actions/act-{a}.js"),
            &format!(
                "exports.handler = async (event, api) => {{\n  const email = event.user?.email\n  if (!email) {{ api.log('warn', 'no user'); return }}\n  api.log('info', `act-{a}: login for ${{email}}`)\n  api.state.set('seen_email', email)\n  api.state.set('country', event.request?.geo?.country ?? 'unknown')\n}}\n"
            ),
        );
        write(
            &format!("actions/act-{a}.yaml"),
            &format!("name: act-{a}\nenabled: true\n"),
        );
        write(
            &format!("flows/flow-{a}.yaml"),
            &format!(
                "flow: flow-{a}\nstages:\n  - name: identify\n    blocks:\n      - {{ id: identity-lookup, type: identity_lookup }}\n      - {{ id: password-check, type: password_check }}\n  - name: post-auth\n    blocks:\n      - {{ id: act-{a}, type: run_action, config: {{ action: act-{a} }} }}\n  - name: issue\n    blocks:\n      - {{ id: issue-session, type: issue_session }}\n"
            ),
        );
    }
    for n in 0..CASES {
        let a = n % ACTIONS;
        let country = COUNTRIES[n % COUNTRIES.len()];
        let mut event = preset.clone();
        event["request"]["geo"]["country"] = serde_json::json!(country);
        let event_file = format!("events/case-{n}.json");
        write(&event_file, &serde_json::to_string(&event).unwrap());
        suite.push_str(&format!(
            "  - name: case {n}\n    flow: flow-{a}\n    event: {event_file}\n    expect: {{ outcome: allow, state: {{ act-{a}: {{ country: {country} }} }} }}\n"
        ));
        cases.push((format!("flows/flow-{a}.yaml"), event_file));
    }
    write("tests/generated.test.yaml", &suite);
    cases
}

/// An argon2id hash with the parameters the test runner uses for `password:` entries.
fn light_hash(password: &str) -> String {
    use argon2::PasswordHasher;
    let params = argon2::Params::new(256, 1, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), b"bench-salt-16byt")
        .unwrap()
        .to_string()
}

fn bench_suite(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cases = generate(root);
    let exe = env!("CARGO_BIN_EXE_authflow");

    // Once, outside the timings: the suite passes, so every timed run does the real work.
    let engine = suite::engine(&Options::default()).unwrap();
    let loaded = suite::load(root, &[], None).unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.cases.len(), CASES);
    let results = suite::run(
        std::slice::from_ref(&loaded),
        &engine,
        &Options::default(),
        &|_| {},
    );
    assert!(results.iter().all(|r| r.status == Status::Passed));
    drop((results, engine, loaded));

    let mut group = c.benchmark_group("suite");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(CASES as u64));
    group.bench_function("in-process", |b| {
        b.iter(|| {
            // As `authflow test` does: the engine first, so its pool builds while loading.
            let engine = suite::engine(&Options::default()).unwrap();
            let loaded = suite::load(root, &[], None).unwrap();
            let results = suite::run(
                std::slice::from_ref(&loaded),
                &engine,
                &Options::default(),
                &|_| {},
            );
            assert_eq!(results.len(), CASES);
        })
    });
    group.bench_function("authflow-test-process", |b| {
        b.iter(|| {
            let status = Command::new(exe)
                .args(["test", "--quiet"])
                .current_dir(root)
                .output()
                .unwrap()
                .status;
            assert!(status.success());
        })
    });
    group.finish();

    let mut group = c.benchmark_group("baseline");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(PROCESS_SAMPLE as u64));
    // As many processes at once as there are cores, as `xargs -P` would run them: the
    // baseline gets the same cores the suite uses.
    let jobs = authflow::js::cores();
    group.bench_function("authflow-run-processes", |b| {
        let mut next = 0;
        b.iter(|| {
            let batch: Vec<&(String, String)> = (0..PROCESS_SAMPLE)
                .map(|i| &cases[(next + i) % CASES])
                .collect();
            next += PROCESS_SAMPLE;
            std::thread::scope(|scope| {
                for chunk in batch.chunks(PROCESS_SAMPLE.div_ceil(jobs)) {
                    scope.spawn(move || {
                        for (flow, event) in chunk {
                            let status = Command::new(exe)
                                .args([
                                    "run",
                                    flow,
                                    "--event",
                                    event,
                                    "--no-store",
                                    "--expect",
                                    "allow",
                                ])
                                .current_dir(root)
                                .output()
                                .unwrap()
                                .status;
                            assert!(status.success());
                        }
                    });
                }
            });
        })
    });
    group.finish();
}

criterion_group!(benches, bench_suite);
criterion_main!(benches);
