//! Environments as users run them, on the `geo-policy` example: `environments/<name>.yaml`
//! overlays with `${{ vars.* }}` and `${{ clients.* }}` references in flows and action
//! metadata, `--env` on commands, `check --env all` naming the environment where a var is
//! missing, `diff --env A --env B`, and the overlay's JSON Schema checked by Python's
//! `jsonschema` (a validator nobody here wrote).

mod common;

use common::{authflow, commit_all, copy_tree};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/geo-policy"),
        dir.path(),
    );
    dir
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs authflow with a value for the example's risk-service key in both environments (a
/// declared secret with no value stops `run`).
fn with_keys(args: &[&str], dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_authflow"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("AUTHFLOW_SECRET_RISK_API_KEY", "dev")
        .env("AUTHFLOW_SECRET_RISK_API_KEY_PROD", "production-key")
        .output()
        .expect("the binary runs")
}

fn edit(path: &Path, from: &str, to: &str) {
    let source = std::fs::read_to_string(path).unwrap();
    assert!(source.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, source.replacen(from, to, 1)).unwrap();
}

#[test]
fn check_env_all_names_the_environment_that_misses_a_var() {
    let ws = example();
    let out = authflow(&["check", "--env", "all"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A var only staging defines: prod (and the base) miss it.
    edit(
        &ws.path().join("flows/login.yaml"),
        "reason: risky-ip",
        "reason: \"${{ vars.risky_reason }}\"",
    );
    edit(
        &ws.path().join("environments/staging.yaml"),
        "vars:\n",
        "vars:\n  risky_reason: risky-ip\n",
    );
    let out = authflow(&["check", "--env", "all", "--format", "json"], ws.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes = |env: &str| -> Vec<(String, String)> {
        report["environments"][env]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_string(),
                    d["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(codes("staging"), []);
    assert_eq!(
        codes("prod"),
        [(
            "AF080".to_string(),
            "`vars.risky_reason` is not defined in environment `prod`".to_string()
        )]
    );
    let prod = &report["environments"]["prod"]["diagnostics"][0];
    assert!(
        prod["help"]
            .as_str()
            .unwrap()
            .contains("environments/prod.yaml")
    );
    assert_eq!(prod["file"], "flows/login.yaml");
    // The human form has one section per environment; one environment checks alone.
    let human = text(&authflow(&["check", "--env", "all"], ws.path()));
    assert!(
        human.contains("environment `prod`:") && human.contains("environment `staging`:"),
        "{human}"
    );
    assert_eq!(
        authflow(&["check", "--env", "staging"], ws.path())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        authflow(&["check", "--env", "prod"], ws.path())
            .status
            .code(),
        Some(1)
    );
    // With no environment the base values apply, and the base lacks the var too.
    assert_eq!(authflow(&["check"], ws.path()).status.code(), Some(1));
}

#[test]
fn an_unknown_or_malformed_environment_is_refused() {
    let ws = example();
    let out = authflow(&["check", "--env", "qa"], ws.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no environment `qa`")
            && text(&out).contains("environments: prod, staging"),
        "{}",
        text(&out)
    );
    let out = authflow(
        &[
            "run",
            "flows/login.yaml",
            "--event",
            "logged-in-us-user",
            "--env",
            "../etc",
        ],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("not an environment name"),
        "{}",
        text(&out)
    );
    let out = authflow(
        &[
            "run",
            "flows/login.yaml",
            "--event",
            "x",
            "--env",
            "prod",
            "--env",
            "staging",
        ],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // A typo in an overlay is a diagnostic at its line.
    std::fs::write(
        ws.path().join("environments/prod.yaml"),
        "vars: {}\nfetch_alowlist: []\n",
    )
    .unwrap();
    let out = authflow(&["check", "--env", "prod"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("AF003") && text(&out).contains("environments/prod.yaml:2"),
        "{}",
        text(&out)
    );
}

#[test]
fn commands_run_in_the_selected_environment() {
    let ws = example();
    let event = ws.path().join("br.json");
    std::fs::write(
        &event,
        json!({
            "credentials": {"identifier": "ada@example.com", "password": "correct horse battery staple"},
            "request": {"ip": "198.51.100.1", "geo": {"country": "BR"}},
            "fetch": {"https://risk.acme.example/ip/198.51.100.1": {"body": {"score": 75}}},
        })
        .to_string(),
    )
    .unwrap();
    let run = |env: &str| -> Value {
        let out = with_keys(
            &[
                "run",
                "flows/login.yaml",
                "--event",
                "br.json",
                "--format",
                "json",
                "--no-store",
                "--env",
                env,
            ],
            ws.path(),
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
    };
    // Staging blocks Brazil; production scores 75 as acceptable, audits nothing (its
    // `audit_enabled` var disables the action through its metadata) and names its own
    // audience and issuer.
    let staging = run("staging");
    assert_eq!(
        (staging["outcome"].as_str(), staging["deny_reason"].as_str()),
        (Some("deny"), Some("country-blocked"))
    );
    let prod = run("prod");
    assert_eq!(prod["outcome"], "allow", "{prod:#}");
    let audit = prod["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "audit")
        .unwrap();
    assert_eq!(audit["status"], "skipped");
    let token = prod["session_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "https://api.acme.example/");
    assert_eq!(claims["iss"], "https://login.acme.example/");
}

#[test]
fn a_secret_is_read_under_the_environments_name_for_it() {
    let ws = example();
    // The action records the key's length before it fetches, so the test sees which value it
    // read (the fetch then fails: the preset has no recording, which does not matter here).
    edit(
        &ws.path().join("actions/risk-lookup.js"),
        "  const res =",
        "  api.state.set('key_length', (event.secrets.RISK_API_KEY || '').length)\n  const res =",
    );
    let run = |env: &str| -> Value {
        let out = with_keys(
            &[
                "run",
                "flows/login.yaml",
                "--event",
                "logged-in-us-user",
                "--format",
                "json",
                "--no-store",
                "--env",
                env,
            ],
            ws.path(),
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
    };
    let key_length = |trace: &Value| {
        trace["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == "risk-lookup")
            .unwrap()["state_writes"][0]["value"]
            .clone()
    };
    // prod maps RISK_API_KEY to RISK_API_KEY_PROD; staging reads it under its own name.
    let (prod, staging) = (run("prod"), run("staging"));
    assert_eq!(key_length(&prod), json!("production-key".len()), "{prod:#}");
    assert_eq!(key_length(&staging), json!("dev".len()), "{staging:#}");
    // Neither value ever shows in a trace.
    assert!(!prod.to_string().contains("production-key"));
}

#[test]
fn diff_between_environments_shows_what_promotion_changes() {
    let ws = example();
    let out = authflow(
        &[
            "diff", "--env", "staging", "--env", "prod", "--format", "json",
        ],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["from"], "working tree in environment prod");
    assert_eq!(report["to"], "working tree in environment staging");
    let item = |kind: &str| {
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == kind)
            .unwrap()["changes"]
            .clone()
    };
    let settings = item("settings");
    assert!(
        settings.as_array().unwrap().contains(
            &json!({"change": "value", "key": "vars.risk_threshold", "old": 80, "new": 70})
        ),
        "{settings:#}"
    );
    assert!(settings.as_array().unwrap().contains(&json!({"change": "entries", "key": "vars.blocked_countries", "added": ["BR"], "removed": []})), "{settings:#}");
    let flow = item("flow");
    assert!(
        flow.as_array().unwrap().contains(&json!({
            "change": "guard", "block": "block-countries",
            "old": "event.request.geo.country in [\"KP\"]",
            "new": "event.request.geo.country in [\"KP\", \"BR\"]",
        })),
        "{flow:#}"
    );
    assert_eq!(
        item("action"),
        json!([{"change": "value", "key": "enabled", "old": false, "new": true}])
    );
    // One environment against itself is no change; the same version in one environment too.
    assert_eq!(
        authflow(&["diff", "--env", "prod", "--env", "prod"], ws.path())
            .status
            .code(),
        Some(0)
    );
    commit_all(ws.path(), "geo-policy");
    assert_eq!(
        authflow(&["diff", "--env", "prod", "HEAD"], ws.path())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        authflow(&["diff", "--env", "all"], ws.path()).status.code(),
        Some(1)
    );
}

#[test]
fn environment_files_follow_the_published_schema() {
    let ws = example();
    let schema = authflow(&["schema", "environment"], ws.path());
    assert_eq!(schema.status.code(), Some(0));
    std::fs::write(ws.path().join("schema.json"), &schema.stdout).unwrap();
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open('schema.json'))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for name in ['staging', 'prod']:
    errors = list(validator.iter_errors(yaml.safe_load(open(f'environments/{name}.yaml'))))
    assert not errors, (name, [e.message for e in errors])
bad = list(validator.iter_errors({'fetch_alowlist': [], 'limits': {'cpu_ms': 'fast'}}))
assert len(bad) == 2, [e.message for e in bad]
print('ok')
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .current_dir(ws.path())
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_workspace_without_environments_behaves_as_before() {
    let ws = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/log-user"),
        ws.path(),
    );
    for args in [&["check"][..], &["check", "--env", "all"]] {
        let out = authflow(args, ws.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "0 errors, 0 warnings\n"
        );
    }
}
