//! `authflow replay` as users run it: recorded logins (a JSONL export) through the committed
//! flow and the working tree's. The fixture workspace (tests/fixtures/replay/geo) runs an
//! action that reads a recorded fetch response and stamps the login with the clock, so a
//! login whose decision did not change proves that the recorded response and the recorded
//! clock were replayed on both sides.

mod common;

use common::{authflow, commit_all, copy_tree};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay")
}

const COUNTRIES: [&str; 5] = ["US", "DE", "BR", "FR", "JP"];

/// `n` recorded logins of Ada from five countries, each with its own IP, clock and recorded
/// risk score (every seventh scores high, except logins from Brazil).
fn recorded_logins(n: usize) -> Vec<Value> {
    let preset: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/run/presets/logged-in-us-user.json"),
        )
        .unwrap(),
    )
    .unwrap();
    (0..n)
        .map(|i| {
            let country = COUNTRIES[i % COUNTRIES.len()];
            let ip = format!("198.51.100.{}", i % 250);
            let mut event = preset.clone();
            event.as_object_mut().unwrap().remove("user");
            event["request"]["geo"]["country"] = json!(country);
            event["request"]["ip"] = json!(ip);
            event["now"] = json!(format!("2026-02-01T10:{:02}:{:02}Z", i / 60 % 60, i % 60));
            event["description"] = json!(format!("login {i} from {country}"));
            let score = if i % 7 == 0 && country != "BR" { 95 } else { 10 };
            event["fetch"] = json!({ format!("https://risk.acme.example/ip/{ip}"): { "body": { "score": score } } });
            json!({"id": format!("run-{i:04}"), "flow": "login", "event": event})
        })
        .collect()
}

fn write_jsonl(dir: &Path, logins: &[Value]) -> PathBuf {
    let path = dir.join("runs.jsonl");
    let text: String = logins.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// The fixture committed, in a fresh repository.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("geo"), dir.path());
    commit_all(dir.path(), "geo");
    dir
}

fn replay_json(dir: &Path, runs: &Path, extra: &[&str]) -> (Value, Option<i32>, String) {
    let runs = runs.to_str().unwrap();
    let mut args = vec![
        "replay",
        "flows/login.yaml",
        "--from",
        runs,
        "--format",
        "json",
        "--show",
        "1000",
    ];
    args.extend_from_slice(extra);
    let out = authflow(&args, dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (json, out.status.code(), stderr)
}

#[test]
fn exactly_the_logins_from_one_country_flip_from_allow_to_deny() {
    let ws = workspace();
    let logins = recorded_logins(60);
    let runs = write_jsonl(ws.path(), &logins);
    std::fs::copy(
        fixtures().join("geo-deny-br.yaml"),
        ws.path().join("flows/login.yaml"),
    )
    .unwrap();
    let (report, code, stderr) = replay_json(ws.path(), &runs, &["-j", "2"]);
    assert_eq!(code, Some(2), "{stderr}{report:#}");
    let from_brazil: Vec<String> = logins
        .iter()
        .filter(|l| l["event"]["request"]["geo"]["country"] == "BR")
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(from_brazil.len(), 12);
    let flipped: Vec<String> = report["changed_logins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["kind"], "allow_to_deny", "{c}");
            c["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(flipped, from_brazil);
    assert_eq!(
        report["summary"],
        json!({"total": 60, "unchanged": 48, "allow_to_deny": 12, "deny_to_allow": 0, "other_changes": 0})
    );
    // Each flipped login says why, in full.
    let first = &report["changes"][0];
    assert_eq!(first["id"], "run-0002");
    let fields: Vec<&str> = first["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "outcome",
            "deny_reason",
            "blocks.deny-br",
            "blocks.issue-session"
        ]
    );
    assert_eq!(
        first["differences"][1],
        json!({"field": "deny_reason", "old": null, "new": "region-blocked"})
    );
}

#[test]
fn an_unchanged_flow_changes_no_decision() {
    let ws = workspace();
    let runs = write_jsonl(ws.path(), &recorded_logins(20));
    let (report, code, stderr) = replay_json(ws.path(), &runs, &[]);
    assert_eq!(code, Some(0), "{stderr}{report:#}");
    assert_eq!(report["summary"]["unchanged"], 20);
    // The human form says the same; `--against` names the old version explicitly.
    let out = authflow(
        &[
            "replay",
            "flows/login.yaml",
            "--from",
            runs.to_str().unwrap(),
            "--against",
            "HEAD",
        ],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("20 recorded logins replayed: 20 unchanged, 0 allow -> deny"),
        "{text}"
    );
}

#[test]
fn a_state_change_without_a_new_outcome_is_an_other_change() {
    let ws = workspace();
    let runs = write_jsonl(ws.path(), &recorded_logins(10));
    let action = ws.path().join("actions/risk-lookup.js");
    let source = std::fs::read_to_string(&action).unwrap();
    std::fs::write(
        &action,
        source.replace(
            "api.state.set('score', score)",
            "api.state.set('score', score + 1)",
        ),
    )
    .unwrap();
    let (report, code, _) = replay_json(ws.path(), &runs, &[]);
    assert_eq!(code, Some(2));
    assert_eq!(report["summary"]["other_changes"], 10, "{report:#}");
    assert_eq!(
        report["changes"][1]["differences"],
        json!([{"field": "state.risk-lookup.score", "old": 10, "new": 11}])
    );
}

#[test]
fn bad_input_exits_1() {
    let ws = workspace();
    let stderr = |args: &[&str]| {
        let out = authflow(args, ws.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    std::fs::write(
        ws.path().join("bad.jsonl"),
        "{\"id\":\"a\",\"event\":{}}\n{oops\n",
    )
    .unwrap();
    let message = stderr(&["replay", "flows/login.yaml", "--from", "bad.jsonl"]);
    assert!(
        message.contains("bad.jsonl:2: not a recorded login"),
        "{message}"
    );
    std::fs::write(
        ws.path().join("typo.jsonl"),
        "{\"id\":\"a\",\"event\":{\"request\":{\"geo\":{\"country\":1}}}}\n",
    )
    .unwrap();
    let message = stderr(&["replay", "flows/login.yaml", "--from", "typo.jsonl"]);
    assert!(
        message.contains("recorded login `a`") && message.contains("request.geo.country"),
        "{message}"
    );
    let runs = write_jsonl(ws.path(), &recorded_logins(2));
    let runs = runs.to_str().unwrap();
    let message = stderr(&[
        "replay",
        "flows/login.yaml",
        "--from",
        runs,
        "--against",
        "no-such-rev",
    ]);
    assert!(message.contains("names no commit"), "{message}");
    stderr(&["replay", "flows/login.yaml", "--from", "missing.jsonl"]);
    stderr(&["replay", "flows/login.yaml"]);
    let message = stderr(&["replay", "flows/login.yaml", "--from", "flows/login.yaml"]);
    assert!(
        message.contains("flows/login.yaml:1: not a recorded login"),
        "{message}"
    );
}

#[test]
fn a_test_suite_replays_as_recorded_logins() {
    let ws = workspace();
    std::fs::copy(
        fixtures().join("geo-deny-br.yaml"),
        ws.path().join("flows/login.yaml"),
    )
    .unwrap();
    for from in ["tests", "tests/login.test.yaml"] {
        let out = authflow(
            &[
                "replay",
                "flows/login.yaml",
                "--from",
                from,
                "--format",
                "json",
            ],
            ws.path(),
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["changed_logins"],
            json!([{"id": "tests/login.test.yaml: logins by country [Brazil]", "kind": "allow_to_deny"}]),
            "{report:#}"
        );
        assert_eq!(report["summary"]["unchanged"], 2);
    }
}

/// Stores each login as `authflow run` does, in order.
fn store_runs(dir: &Path, logins: &[Value]) {
    std::fs::create_dir_all(dir.join("events")).unwrap();
    for (i, login) in logins.iter().enumerate() {
        let file = format!("events/login-{i}.json");
        std::fs::write(dir.join(&file), login["event"].to_string()).unwrap();
        let out = authflow(&["run", "flows/login.yaml", "--event", &file], dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn stored_runs_export_as_recorded_logins_and_replay_from_the_store() {
    let ws = workspace();
    let mut logins = recorded_logins(10);
    logins[3]["event"]["description"] = json!("partner token tok-4b1d-secret in a field");
    store_runs(ws.path(), &logins);
    let export = |extra: &[&str], env: &[(&str, &str)]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_authflow"))
            .args(["runs", "export"])
            .args(extra)
            .envs(env.iter().copied())
            .current_dir(ws.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<Value>>()
    };
    let lines = export(&[], &[]);
    assert_eq!(lines.len(), 10);
    // Oldest first, each the event as the run was given it.
    for (i, (line, login)) in lines.iter().zip(&logins).enumerate() {
        assert_eq!(line["flow"], "login");
        // The risk service scores login 0 high (see recorded_logins): it was denied.
        assert_eq!(line["outcome"], if i == 0 { "deny" } else { "allow" });
        assert_eq!(line["event"], login["event"], "{line}");
        assert!(line["recorded_at"].as_str().unwrap().ends_with('Z'));
    }
    assert!(export(&["--flow", "signup"], &[]).is_empty());
    assert!(export(&["--since", "2999-01-01"], &[]).is_empty());
    assert_eq!(export(&["--limit", "3"], &[]).len(), 3);
    // A secret declared after the runs were stored is redacted at export too.
    let settings = ws.path().join("authflow.yaml");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{original}secrets: [PARTNER_TOKEN]\n")).unwrap();
    let redacted = export(&[], &[("AUTHFLOW_SECRET_PARTNER_TOKEN", "tok-4b1d-secret")]);
    let text = serde_json::to_string(&redacted).unwrap();
    assert!(!text.contains("tok-4b1d-secret"), "{text}");
    assert_eq!(
        redacted[3]["event"]["description"],
        "partner token [redacted:PARTNER_TOKEN] in a field"
    );
    std::fs::write(&settings, original).unwrap();

    // The flow now denies Brazil: replaying the store flips exactly its two logins.
    std::fs::copy(
        fixtures().join("geo-deny-br.yaml"),
        ws.path().join("flows/login.yaml"),
    )
    .unwrap();
    let (report, code, stderr) = replay_json(ws.path(), Path::new("@store"), &[]);
    assert_eq!(code, Some(2), "{stderr}{report:#}");
    assert_eq!(
        report["summary"],
        json!({"total": 10, "unchanged": 8, "allow_to_deny": 2, "deny_to_allow": 0, "other_changes": 0})
    );
    let brazil: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"]["request"]["geo"]["country"] == "BR")
        .map(|l| &l["id"])
        .collect();
    let flipped: Vec<&Value> = report["changed_logins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(flipped, brazil);
    // The same logins through an export file give the same report; --since narrows the store.
    let file = write_jsonl(ws.path(), &lines);
    let (from_file, code, _) = replay_json(ws.path(), &file, &[]);
    assert_eq!(code, Some(2));
    assert_eq!(from_file["summary"], report["summary"]);
    let (none, code, stderr) =
        replay_json(ws.path(), Path::new("@store"), &["--since", "2999-01-01"]);
    assert_eq!(code, Some(1), "{none}");
    assert!(
        stderr.contains("holds no recorded login of flow `login`"),
        "{stderr}"
    );
    let (_, code, stderr) = replay_json(ws.path(), &file, &["--since", "2h"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--from @store"), "{stderr}");
}
