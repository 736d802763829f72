//! Runs per second of Login flows with native blocks only, beside the same decisions coded
//! by hand in Rust (the floor), and the cost of each built-in block.
//!
//! Password hashing is equal in both: the directory's hash uses argon2id's minimum cost
//! (m=8 KiB, t=1, p=1), and both sides call the same verifier, so the comparison measures
//! the simulator's own overhead rather than argon2.

#[path = "support.rs"]
mod support;

use authflow::cli::simulate;
use authflow::run::crypto;
use authflow::run::directory::{Directory, DirectoryUser};
use authflow::run::event::SimEvent;
use authflow::run::{NoActions, SessionConfig, Simulator};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use std::io::Write;

const RULES_FLOW: &str = "flow: login
stages:
  - name: identify
    blocks:
      - id: lookup
        type: identity_lookup
      - id: password
        type: password_check
      - id: risk
        type: risk_evaluate
  - name: post-auth
    blocks:
      - id: block-tor
        type: deny
        when: event.request.asn.is_tor
        config:
          reason: tor-exit-node-blocked
      - id: tier
        type: set_claim
        config:
          name: tier
          value: \"{{ event.user.app_metadata.tier }}\"
  - name: issue
    blocks:
      - id: issue
        type: issue_session
";

fn sim_event() -> (SimEvent, Directory) {
    let Ok((_, sim)) = simulate::load_event("logged-in-us-user") else {
        panic!("preset")
    };
    let mut user: DirectoryUser = sim.directory[0].clone();
    user.password_hash = Some(support::cheap_hash("correct horse battery staple"));
    let sim = SimEvent {
        directory: Vec::new(),
        ..sim
    };
    (sim, Directory { users: vec![user] })
}

fn compiled(text: &str) -> simulate::Compiled {
    let dir = std::env::temp_dir().join(format!("authflow-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:x}.yaml", text.len()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    match simulate::compile_flow(&path, None, false) {
        Ok(c) => c,
        Err(_) => panic!("bench flow does not compile"),
    }
}

/// The decisions of RULES_FLOW (and, without the risk/tor/claim part, of the default flow)
/// coded by hand: the floor the simulator is measured against.
fn floor(
    event: &Value,
    credentials: (&str, &str),
    directory: &Directory,
    session: &SessionConfig,
    rules: bool,
    now: i64,
) -> Result<String, &'static str> {
    let user = directory.find(credentials.0).ok_or("user-not-found")?;
    let hash = user.password_hash.as_deref().ok_or("invalid-credentials")?;
    if !crypto::verify_password(credentials.1, hash).unwrap_or(false) {
        return Err("invalid-credentials");
    }
    let mut claims = serde_json::Map::new();
    if rules {
        let request = &event["request"];
        let _score = authflow::run::risk::score(request);
        if request["asn"]["is_tor"].as_bool().unwrap_or(false) {
            return Err("tor-exit-node-blocked");
        }
        claims.insert(
            "tier".into(),
            user.app_metadata
                .get("tier")
                .cloned()
                .unwrap_or(Value::String(String::new())),
        );
    }
    let mut token = json!({
        "iss": session.issuer, "sub": user.id, "aud": event["client"]["id"], "iat": now, "exp": now + 3600,
        "aal": "aal1", "amr": ["password"],
    });
    for (k, v) in claims {
        token[k] = v;
    }
    Ok(crypto::sign_jwt(&token, &session.signing_key))
}

fn bench(c: &mut Criterion) {
    let (sim, directory) = sim_event();
    let session = SessionConfig::default();
    let actions = NoActions("benchmarks run native blocks only".into());
    let default_flow = compiled(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/flows/login.yaml")).unwrap(),
    );
    let rules_flow = compiled(RULES_FLOW);
    let creds = (
        sim.credentials.identifier.clone().unwrap(),
        sim.credentials.password.clone().unwrap(),
    );

    let mut group = c.benchmark_group("login-run");
    for (name, compiled, rules) in [
        ("default-login", &default_flow, false),
        ("login-with-rules", &rules_flow, true),
    ] {
        let simulator = Simulator::new(&compiled.plan, directory.clone(), session.clone()).unwrap();
        let trace = simulator.run(&sim, "bench", &actions);
        assert_eq!(trace.outcome, authflow::run::trace::Outcome::Allow);
        let floor_token = floor(
            &sim.event,
            (&creds.0, &creds.1),
            &directory,
            &session,
            rules,
            sim.now,
        )
        .unwrap();
        assert_eq!(
            trace.session_token.as_deref(),
            Some(floor_token.as_str()),
            "the floor must decide exactly what the simulator decides"
        );
        group.bench_function(format!("{name}/simulator"), |b| {
            b.iter(|| black_box(simulator.run(black_box(&sim), "bench", &actions)))
        });
        group.bench_function(format!("{name}/hand-written"), |b| {
            b.iter(|| {
                black_box(floor(
                    black_box(&sim.event),
                    (&creds.0, &creds.1),
                    &directory,
                    &session,
                    rules,
                    sim.now,
                ))
            })
        });
    }
    group.finish();

    // Each built-in block's cost: a flow of Identity Lookup + that block + an unconditional
    // Deny, beside the same flow without the block (`baseline`). Ending in Deny keeps password
    // hashing out of every flow but the one that measures Password Check itself.
    let mut blocks = c.benchmark_group("block");
    let base = "flow: login\nstages:\n  - name: s\n    blocks:\n      - id: lookup\n        type: identity_lookup\n";
    let tail = "      - id: end\n        type: deny\n        config:\n          reason: end\n";
    let extra = [
        ("baseline", ""),
        (
            "password_check",
            "      - id: x\n        type: password_check\n",
        ),
        (
            "risk_evaluate",
            "      - id: x\n        type: risk_evaluate\n",
        ),
        (
            "deny-guard-false",
            "      - id: x\n        type: deny\n        when: event.request.asn.is_tor\n        config:\n          reason: tor\n",
        ),
        (
            "branch-not-taken",
            "      - id: x\n        type: branch\n        when: event.request.geo.country == \"FR\"\n        config:\n          to: end\n",
        ),
        (
            "set_claim",
            "      - id: x\n        type: set_claim\n        config:\n          name: c\n          value: \"{{ event.user.email }}\"\n",
        ),
        (
            "log",
            "      - id: x\n        type: log\n        config:\n          message: \"hello {{ event.user.email }}\"\n",
        ),
    ];
    for (name, block) in extra {
        let compiled = compiled(&format!("{base}{block}{tail}"));
        let simulator = Simulator::new(&compiled.plan, directory.clone(), session.clone()).unwrap();
        let trace = simulator.run(&sim, "bench", &actions);
        assert_eq!(
            trace.deny_reason.as_deref(),
            Some("end"),
            "{name}: the block must run and pass"
        );
        blocks.bench_function(name, |b| {
            b.iter(|| black_box(simulator.run(black_box(&sim), "bench", &actions)))
        });
    }
    // Issue Session (JWT signing) needs a first factor before it: measure it after Password
    // Check and compare with `password_check`.
    let issue = compiled(&format!(
        "{base}      - id: x\n        type: password_check\n      - id: issue\n        type: issue_session\n"
    ));
    let simulator = Simulator::new(&issue.plan, directory.clone(), session.clone()).unwrap();
    blocks.bench_function("password_check+issue_session", |b| {
        b.iter(|| black_box(simulator.run(black_box(&sim), "bench", &actions)))
    });
    blocks.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
