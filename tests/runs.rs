//! The run fixture suite: each case under tests/fixtures/run/ names a flow and an event (a
//! preset, optionally with other credentials), is compiled and simulated, and its JSON trace
//! (elapsed times zeroed) is compared with a snapshot.

use authflow::cli::simulate;
use std::path::{Path, PathBuf};

fn trace_of(case_path: &Path) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case_path).unwrap()).unwrap();
    let base: PathBuf = match case["workspace"].as_str() {
        Some(ws) => case_path
            .parent()
            .unwrap()
            .join(ws)
            .strip_prefix(root)
            .unwrap()
            .to_path_buf(),
        None => PathBuf::new(),
    };
    let flow = base.join(case["flow"].as_str().unwrap());
    let compiled = match simulate::compile_flow(&flow, None, false) {
        Ok(c) => c,
        Err(authflow::cli::CliError::Diagnostics(d)) => panic!("{d}"),
        Err(authflow::cli::CliError::Usage(u)) => panic!("{u}"),
    };
    let Ok((name, mut sim)) = simulate::load_event(case["event"].as_str().unwrap()) else {
        panic!("bad event")
    };
    if let Some(credentials) = case.get("credentials") {
        sim.credentials = serde_json::from_value(credentials.clone()).unwrap();
    }
    let Ok(runner) = authflow::host::runner_for(&compiled.loaded.ws, &compiled.plan) else {
        panic!("no engine")
    };
    let Ok(mut trace) = simulate::simulate(&compiled, &name, &sim, runner.as_ref()) else {
        panic!("run failed")
    };
    trace.elapsed_us = 0;
    for block in &mut trace.blocks {
        block.elapsed_us = 0;
    }
    serde_json::to_value(&trace).unwrap()
}

#[test]
fn run_fixtures_match_snapshots() {
    insta::glob!("fixtures/run/*.json", |path| {
        insta::assert_json_snapshot!(trace_of(path));
    });
}

#[test]
fn quickstart_outcomes_are_the_documented_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run");
    let trace = trace_of(&dir.join("log-user-quickstart.json"));
    assert_eq!(trace["outcome"], "allow");
    assert_eq!(trace["state"]["log-user"]["seen_email"], "ada@example.com");
    assert_eq!(trace["state"]["log-user"]["country"], "US");
    let tor = trace_of(&dir.join("deny-tor-from-tor.json"));
    assert_eq!(tor["outcome"], "deny");
    assert_eq!(tor["deny_reason"], "tor-exit-node-blocked");
    let unauthenticated = trace_of(&dir.join("default-login-unauthenticated.json"));
    assert_eq!(unauthenticated["deny_reason"], "user-not-found");
}

#[test]
fn failing_actions_follow_their_on_error_policy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run");
    let trace = trace_of(&dir.join("blocks-us-user.json"));
    let blocks = trace["blocks"].as_array().unwrap();
    let flaky = blocks.iter().find(|b| b["id"] == "flaky").unwrap();
    assert_eq!(flaky["status"], "failed");
    assert_eq!(
        flaky["logs"][0]["message"], "about to fail",
        "logs written before the failure are kept"
    );
    assert_eq!(flaky["failure"]["line"], 5);
    let strict = blocks.iter().find(|b| b["id"] == "strict").unwrap();
    assert_eq!(strict["status"], "failed");
    assert_eq!(trace["outcome"], "deny");
    assert!(
        trace["deny_reason"]
            .as_str()
            .unwrap()
            .starts_with("block `strict` failed")
    );
    let mfa_user = trace_of(&dir.join("blocks-mfa-user.json"));
    assert_eq!(mfa_user["outcome"], "allow");
    assert_eq!(mfa_user["authentication"]["aal"], "aal2");
    assert_eq!(mfa_user["claims"]["tier"], "enterprise");
}

#[test]
fn the_trace_shows_exactly_the_claims_the_token_carries() {
    // Every allowed fixture run: the token's claims beyond the ones Issue Session sets itself
    // are the trace's `claims`, key for key and value for value; `amr` holds RFC 8176 values
    // while the trace's authentication.methods keep the block names.
    use base64::Engine as _;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let trace = trace_of(&path);
        let Some(token) = trace["session_token"].as_str() else {
            continue;
        };
        let payload = token.split('.').nth(1).expect("a compact JWT");
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let mut claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&payload).unwrap();
        for own in ["iss", "sub", "aud", "iat", "exp", "aal", "amr"] {
            assert!(claims.contains_key(own), "{}: no `{own}`", path.display());
        }
        let amr = claims["amr"].clone();
        let methods = &trace["authentication"]["methods"];
        assert_eq!(
            amr,
            authflow::blocks::issue_session::amr(methods, &trace["authentication"]["aal"]),
            "{}",
            path.display()
        );
        for own in authflow::blocks::issue_session::RESERVED_CLAIMS {
            claims.remove(*own);
        }
        assert_eq!(
            serde_json::Value::Object(claims),
            trace["claims"],
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} fixtures issued a token");
}
