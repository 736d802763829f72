//! `authflow diff` and `authflow replay` against published releases (`@N`, `@latest`, and the
//! default "last release -> working tree"), read back from git through `authflow.lock`.

mod common;

use authflow::release::keys::PrivateKey;
use common::{authflow, commit_all, copy_tree};
use std::path::Path;
use std::process::{Command, Output};

const SECRET: &str = "RELEASE_SIGNING_KEY";

/// The quickstart workspace (examples/log-user) in git, signing with a fresh key.
fn workspace(key: &PrivateKey) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/log-user"),
        dir.path(),
    );
    let settings = dir.path().join("authflow.yaml");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        "secrets: [{SECRET}]\npublish:\n  signing_key: {SECRET}\n  public_key: {}\n",
        key.public()
    ));
    std::fs::write(&settings, text).unwrap();
    // The example's suite pins the unguarded action; publish would (rightly) refuse the change.
    std::fs::remove_dir_all(dir.path().join("tests")).unwrap();
    commit_all(dir.path(), "start");
    dir
}

fn publish(dir: &Path, key: &PrivateKey) {
    let out = Command::new(env!("CARGO_BIN_EXE_authflow"))
        .arg("publish")
        .current_dir(dir)
        .env(format!("AUTHFLOW_SECRET_{SECRET}"), key.to_text())
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .output()
        .unwrap();
    assert!(out.status.success(), "publish: {}", text(&out));
    commit_all(dir, "publish");
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn diff(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    let out = authflow(&all, dir);
    (out.status.code(), text(&out))
}

/// The flow with the log-user block skipped unless the login comes from the US.
fn guard_the_action(dir: &Path) {
    let flow = dir.join("flows/login.yaml");
    let text = std::fs::read_to_string(&flow).unwrap().replacen(
        "        type: run_action\n",
        "        type: run_action\n        when: event.request.geo.country == \"US\"\n",
        1,
    );
    std::fs::write(&flow, text).unwrap();
}

#[test]
fn releases_are_versions_for_diff_and_replay() {
    let key = PrivateKey::generate().unwrap();
    let ws = workspace(&key);
    let dir = ws.path();
    publish(dir, &key);
    guard_the_action(dir);
    commit_all(dir, "guard");
    publish(dir, &key);

    let (code, out) = diff(dir, &["@1", "@2"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("release 1 (") && out.contains("release 2 ("),
        "{out}"
    );
    assert!(out.contains("event.request.geo.country == \"US\""), "{out}");
    let (code, out) = diff(dir, &["@2", "@1"]);
    assert_eq!(code, Some(2), "{out}");
    // The last release is the working tree: no change, by default and by name.
    assert_eq!(diff(dir, &[]).0, Some(0));
    assert_eq!(diff(dir, &["@latest"]).0, Some(0));
    let (code, out) = diff(dir, &["@1"]);
    assert_eq!(code, Some(2), "{out}");
    let (code, out) = diff(dir, &["@9"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("there is no release 9: authflow.lock records releases 1 to 2"),
        "{out}"
    );

    // A stored login from Germany ran the action; against release 1 the guard skips it.
    let event = dir.join("de.json");
    let mut login: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/run/presets/logged-in-us-user.json"),
        )
        .unwrap(),
    )
    .unwrap();
    login["request"]["geo"]["country"] = "DE".into();
    std::fs::write(&event, login.to_string()).unwrap();
    let out = authflow(&["run", "flows/login.yaml", "--event", "de.json"], dir);
    assert!(out.status.success(), "{}", text(&out));
    let replay = |against: &[&str]| {
        let mut args = vec![
            "replay",
            "flows/login.yaml",
            "--from",
            "@store",
            "--format",
            "json",
        ];
        args.extend_from_slice(against);
        let out = authflow(&args, dir);
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out.status.code(), report, text(&out))
    };
    let (code, report, out) = replay(&[]);
    assert_eq!(code, Some(0), "default: the last release, unchanged: {out}");
    assert_eq!(report["summary"]["unchanged"], 1, "{report}");
    let (code, report, out) = replay(&["--against", "@1"]);
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(report["summary"]["other_changes"], 1, "{report}");
    assert!(
        report["from"]
            .as_str()
            .unwrap_or_default()
            .starts_with("release 1 ("),
        "{report}"
    );
    let (_, report, _) = replay(&[]);
    assert!(
        report["from"]
            .as_str()
            .unwrap_or_default()
            .starts_with("release 2 ("),
        "{report}"
    );
}
