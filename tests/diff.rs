//! `authflow diff` as users run it, over real git repositories: every fixture under
//! tests/fixtures/diff/<case>/ is a change to the workspace in tests/fixtures/diff-base/
//! (`before/` and `after/` overlay the base; `after/.removed` lists files the change deletes).
//! The base plus `before/` is committed, the base plus `after/` left in the working tree, and
//! `authflow diff HEAD` compared with a snapshot in the human and markdown formats. Cases named
//! `none-*` must report no change.

mod common;

use common::{authflow, copy_tree, git};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Makes `dir` hold the base workspace with `overlay` applied (when it exists).
fn lay_out(dir: &Path, overlay: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != ".git" {
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(path).unwrap();
            } else {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
    copy_tree(&fixtures().join("diff-base"), dir);
    if overlay.is_dir() {
        copy_tree(overlay, dir);
        if let Ok(removed) = std::fs::read_to_string(overlay.join(".removed")) {
            for path in removed.lines().filter(|l| !l.is_empty()) {
                let path = dir.join(path);
                if path.is_dir() {
                    std::fs::remove_dir_all(path).unwrap();
                } else {
                    std::fs::remove_file(path).unwrap();
                }
            }
        }
    }
}

/// A repository with the case's `before` committed and its `after` in the working tree.
fn case_repo(case: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(&["init", "-q"], dir.path());
    lay_out(dir.path(), &case.join("before"));
    git(&["add", "-A"], dir.path());
    git(&["commit", "-q", "-m", "before"], dir.path());
    lay_out(dir.path(), &case.join("after"));
    dir
}

fn diff_json(dir: &Path, args: &[&str]) -> (Value, Option<i32>) {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = authflow(&all, dir);
    let text = String::from_utf8(out.stdout).unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (value, out.status.code())
}

#[test]
fn diff_fixtures_match_snapshots() {
    insta::glob!("fixtures/diff/*", |case| {
        let repo = case_repo(case);
        let human = authflow(&["diff", "HEAD"], repo.path());
        let markdown = authflow(&["diff", "HEAD", "--format", "markdown"], repo.path());
        let (json, code) = diff_json(repo.path(), &["HEAD"]);
        let name = case.file_name().unwrap().to_string_lossy();
        let expected = if name.starts_with("none-") { 0 } else { 2 };
        assert_eq!(
            human.status.code(),
            Some(expected),
            "{name}: {}",
            String::from_utf8_lossy(&human.stderr)
        );
        assert_eq!(markdown.status.code(), Some(expected), "{name}");
        assert_eq!(code, Some(expected), "{name}");
        assert_eq!(json["changed"], json!(expected == 2), "{name}");
        insta::assert_snapshot!(format!(
            "{}\n---- markdown ----\n{}",
            String::from_utf8_lossy(&human.stdout),
            String::from_utf8_lossy(&markdown.stdout)
        ));
    });
}

/// The changes of one item in the JSON form.
fn changes_of(json: &Value, kind: &str, name: &str) -> Vec<Value> {
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {json:#}"))["changes"]
        .as_array()
        .unwrap()
        .clone()
}

fn case(name: &str) -> tempfile::TempDir {
    case_repo(&fixtures().join("diff").join(name))
}

#[test]
fn a_block_moved_between_stages_is_one_move() {
    let repo = case("block-moved-between-stages");
    let (json, _) = diff_json(repo.path(), &["HEAD"]);
    assert_eq!(
        changes_of(&json, "flow", "login"),
        vec![
            json!({"change": "block_moved", "block": "log-login", "old_stage": "post-auth", "new_stage": "identify", "position": 3})
        ]
    );
}

#[test]
fn a_guard_edit_shows_the_old_and_new_condition() {
    let repo = case("guard-edited");
    let (json, _) = diff_json(repo.path(), &["HEAD"]);
    assert_eq!(
        changes_of(&json, "flow", "login"),
        vec![json!({
            "change": "guard",
            "block": "block-tor",
            "old": "event.request.asn.is_tor",
            "new": "event.request.asn.is_tor || event.request.geo.country == \"RU\"",
        })]
    );
}

#[test]
fn an_action_writing_another_state_key_shows_both_keys() {
    let repo = case("action-writes-another-state-key");
    let (json, _) = diff_json(repo.path(), &["HEAD"]);
    let changes = changes_of(&json, "action", "geo");
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(changes[0]["change"], "source");
    assert_eq!(
        changes[1],
        json!({"change": "facts", "facts": "state_writes", "added": ["review_required"], "removed": ["needs_review"]})
    );
}

#[test]
fn a_removed_allowlist_entry_is_named() {
    let repo = case("allowlist-entry-removed");
    let (json, _) = diff_json(repo.path(), &["HEAD"]);
    assert_eq!(
        changes_of(&json, "settings", "authflow.yaml"),
        vec![
            json!({"change": "entries", "key": "fetch_allowlist", "added": [], "removed": ["https://hooks.acme.example/"]})
        ]
    );
    assert_eq!(json["items"].as_array().unwrap().len(), 1);
}

#[test]
fn two_revisions_and_the_working_tree_compare_in_any_direction() {
    let repo = case("guard-edited");
    git(&["add", "-A"], repo.path());
    git(&["commit", "-q", "-m", "after"], repo.path());
    // The working tree is now HEAD: no change; HEAD~1 -> HEAD is the guard edit, and back.
    assert_eq!(
        authflow(&["diff", "HEAD"], repo.path()).status.code(),
        Some(0)
    );
    let (forward, code) = diff_json(repo.path(), &["HEAD~1", "HEAD"]);
    assert_eq!(code, Some(2));
    let (backward, _) = diff_json(repo.path(), &["HEAD", "HEAD~1"]);
    let guard = |v: &Value, side: &str| changes_of(v, "flow", "login")[0][side].clone();
    assert_eq!(guard(&forward, "new"), guard(&backward, "old"));
    assert_eq!(guard(&forward, "old"), guard(&backward, "new"));
    // `@worktree` names the working tree explicitly; a workspace below the repository's top works.
    let (explicit, _) = diff_json(repo.path(), &["HEAD~1", "@worktree"]);
    assert_eq!(explicit["items"], forward["items"]);
}

#[test]
fn a_workspace_below_the_repository_top_is_read_at_its_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("tenants/acme");
    std::fs::create_dir_all(&ws).unwrap();
    git(&["init", "-q"], dir.path());
    lay_out(&ws, Path::new("no-overlay"));
    git(&["add", "-A"], dir.path());
    git(&["commit", "-q", "-m", "base"], dir.path());
    lay_out(&ws, &fixtures().join("diff/allowlist-entry-removed/after"));
    let (json, code) = diff_json(&ws.join("flows"), &["HEAD"]);
    assert_eq!(code, Some(2));
    assert_eq!(changes_of(&json, "settings", "authflow.yaml").len(), 1);
}

#[test]
fn errors_exit_1_never_2() {
    let repo = case("guard-edited");
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    // An unknown revision, a malformed one, an unknown flag, and a format that does not exist.
    for args in [
        &["diff", "no-such-branch"][..],
        &["diff", "@draft"],
        &["diff", "--no-such-flag"],
        &["diff", "--format", "xml"],
        &["diff", "HEAD", "HEAD", "HEAD"],
    ] {
        let out = authflow(args, repo.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
    }
    let out = authflow(&["diff", "no-such-branch"], repo.path());
    assert!(
        stderr(&out).contains("`no-such-branch` names no commit"),
        "{}",
        stderr(&out)
    );
    // A version whose flow does not parse cannot be compared: exit 1 with the diagnostic.
    std::fs::write(repo.path().join("flows/login.yaml"), "flow: [\n").unwrap();
    let out = authflow(&["diff", "HEAD"], repo.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("AF001"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Outside any workspace, and in a workspace that is not in git (no release to compare).
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(authflow(&["diff"], empty.path()).status.code(), Some(1));
    lay_out(empty.path(), Path::new("no-overlay"));
    let out = authflow(&["diff"], empty.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not in a git repository"),
        "{}",
        stderr(&out)
    );
}
