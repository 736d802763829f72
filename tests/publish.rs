//! Publish, releases and bundles as users run them: the gate refusing and writing nothing,
//! idempotent publishes, versions bumped only for changed items, drafts vs `--published`,
//! every tampering of a bundle refused, a run from a bundle alone in an empty directory, and
//! the signature checked by PyNaCl (libsodium), an Ed25519 implementation nobody here wrote.

mod support;
use authflow::release::keys::PrivateKey;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::copy_tree;

const SECRET: &str = "RELEASE_SIGNING_KEY";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the quickstart workspace in git, with a signing key.
struct Ws {
    dir: tempfile::TempDir,
    key: PrivateKey,
}

impl Ws {
    fn new() -> Ws {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&repo_root().join("examples/log-user"), dir.path());
        let key = PrivateKey::generate().unwrap();
        let settings = dir.path().join("authflow.yaml");
        let mut text = std::fs::read_to_string(&settings).unwrap();
        text.push_str(&format!(
            "secrets: [{SECRET}]\npublish:\n  signing_key: {SECRET}\n  public_key: {}\n",
            key.public()
        ));
        std::fs::write(&settings, text).unwrap();
        // The quickstart's test suite pins its behaviour; tests that change the action drop it
        // (`the_gate_runs_the_workspace_tests` keeps it).
        std::fs::remove_dir_all(dir.path().join("tests")).unwrap();
        let ws = Ws { dir, key };
        ws.git(&["init", "-q"]);
        ws.commit("start");
        ws
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn public(&self) -> String {
        self.key.public().to_string()
    }

    fn authflow(&self, args: &[&str]) -> Output {
        authflow_in(self.path(), args, Some(&self.key))
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path().join(rel), text).unwrap();
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path().join(rel)).unwrap();
        assert!(text.contains(from), "{rel} has no `{from}`");
        self.write(rel, &text.replacen(from, to, 1));
    }

    fn lock(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path().join("authflow.lock")).unwrap())
            .unwrap()
    }

    fn bundle(&self, n: u32) -> PathBuf {
        self.path().join(format!(".authflow/releases/{n}.bundle"))
    }

    /// Runs a publish that must be refused, asserting it wrote nothing; returns its output.
    fn publish_refused(&self) -> String {
        let before = listing(self.path());
        let out = self.authflow(&["publish"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert_eq!(
            listing(self.path()),
            before,
            "publish wrote files although it refused"
        );
        text(&out)
    }

    /// The outcome of a JSON run of flows/login.yaml on the US user, and everything printed.
    fn outcome(&self, extra: &[&str]) -> (String, String) {
        let mut args = vec![
            "run",
            "flows/login.yaml",
            "--event",
            "logged-in-us-user",
            "--no-store",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = self.authflow(&args);
        let trace: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
        (trace["outcome"].as_str().unwrap().to_string(), text(&out))
    }

    /// Publishes and commits release 1, then edits the draft action to deny US logins.
    fn publish_then_deny_us_in_the_draft(&self) {
        self.publish();
        self.commit("release 1");
        self.edit(
            "actions/log-user.js",
            "  api.state.set('country'",
            "  if (event.request?.geo?.country === 'US') api.deny('us-logins-paused')\n  api.state.set('country'",
        );
    }

    fn publish(&self) -> String {
        let out = self.authflow(&["publish"]);
        assert_eq!(out.status.code(), Some(0), "publish: {}", text(&out));
        text(&out)
    }
}

fn authflow_in(dir: &Path, args: &[&str], key: Option<&PrivateKey>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authflow"));
    command
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .env_remove(format!("AUTHFLOW_SECRET_{SECRET}"));
    if let Some(key) = key {
        command.env(format!("AUTHFLOW_SECRET_{SECRET}"), key.to_text());
    }
    command.output().expect("the binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir` except `.git`, for "nothing was written" comparisons.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn publish_refuses_on_an_error_and_writes_nothing() {
    let ws = Ws::new();
    ws.edit(
        "flows/login.yaml",
        "action: log-user",
        "action: no-such-action",
    );
    let out = ws.publish_refused();
    assert!(out.contains("AF040"), "{out}");
    assert!(out.contains("publish refused"), "{out}");

    // Without the signing key's value the gate refuses too.
    ws.edit(
        "flows/login.yaml",
        "action: no-such-action",
        "action: log-user",
    );
    let out = authflow_in(ws.path(), &["publish"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("has no value"), "{}", text(&out));
    assert!(!ws.path().join("authflow.lock").exists());
    assert!(!ws.bundle(1).exists());
}

#[test]
fn publishing_an_unchanged_tree_adds_nothing() {
    let ws = Ws::new();
    ws.publish();
    let first = std::fs::read(ws.path().join("authflow.lock")).unwrap();
    let out = ws.publish();
    assert!(out.contains("nothing to publish"), "{out}");
    assert_eq!(
        std::fs::read(ws.path().join("authflow.lock")).unwrap(),
        first
    );
    assert!(!ws.bundle(2).exists());
    // The lock follows its published schema.
    let schema = ws.authflow(&["schema", "lock"]);
    let schema: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
    assert_eq!(schema["title"], "Lock");
}

#[test]
fn only_changed_items_get_a_new_version() {
    let ws = Ws::new();
    ws.publish();
    ws.commit("release 1");
    ws.edit(
        "actions/log-user.js",
        "log-user: login for",
        "log-user: sign-in for",
    );
    let status = text(&ws.authflow(&["status"]));
    assert!(
        status.contains("draft      action:log-user v1 -> v2"),
        "{status}"
    );
    assert!(status.contains("published  flow:login v1"), "{status}");
    let out = ws.publish();
    assert!(out.contains("+ action:log-user v2"), "{out}");
    let lock = ws.lock();
    assert_eq!(
        lock["items"]["action:log-user"].as_array().unwrap().len(),
        2
    );
    assert_eq!(lock["items"]["flow:login"].as_array().unwrap().len(), 1);
    assert_eq!(
        lock["items"]["settings:authflow.yaml"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let releases = lock["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 2);
    assert_eq!(releases[1]["items"]["action:log-user"], 2);
    assert_eq!(releases[1]["items"]["flow:login"], 1);
    // Release 2 was published from an uncommitted edit: dirty, at the commit of release 1.
    assert_eq!(releases[1]["dirty"], true);
    assert_eq!(releases[0]["dirty"], false);
    let versions = text(&ws.authflow(&["versions", "log-user"]));
    assert!(
        versions.contains("v1") && versions.contains("v2"),
        "{versions}"
    );
    assert!(versions.contains("2026-01-01T00:00:00Z"), "{versions}");
}

#[test]
fn draft_and_published_runs_differ() {
    let ws = Ws::new();
    ws.publish_then_deny_us_in_the_draft();
    let run = |extra: &[&str]| ws.outcome(extra);
    let (draft, _) = run(&[]);
    let (published, note) = run(&["--published"]);
    assert_eq!(draft, "deny");
    assert_eq!(published, "allow");
    assert!(note.contains("from git commit"), "{note}");

    // A release published from a dirty tree is read back from its bundle; without the bundle
    // it cannot be reproduced, and --published says so instead of running something else.
    ws.publish();
    let (published, note) = run(&["--published"]);
    assert_eq!(published, "deny");
    assert!(
        note.contains("from its bundle (signature checked)"),
        "{note}"
    );
    std::fs::remove_file(ws.bundle(2)).unwrap();
    let out = ws.authflow(&[
        "run",
        "flows/login.yaml",
        "--event",
        "logged-in-us-user",
        "--published",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("uncommitted changes"), "{}", text(&out));
}

#[test]
fn a_bundle_runs_alone_in_an_empty_directory() {
    let ws = Ws::new();
    ws.publish();
    let empty = tempfile::tempdir().unwrap();
    let bundle = ws.bundle(1);
    let public = ws.public();
    let out = authflow_in(
        empty.path(),
        &[
            "run",
            "--bundle",
            bundle.to_str().unwrap(),
            "--key",
            &public,
            "--event",
            "logged-in-us-user",
            "--expect",
            "allow",
            "--no-store",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("log-user: login for ada@example.com"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("signature checked"), "{}", text(&out));
    assert!(
        listing(empty.path()).is_empty(),
        "the run wrote into the directory"
    );
}

/// Rewrites a bundle's members: `edit` gets the (name, bytes) list in archive order.
fn rewrite(bundle: &Path, out: &Path, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) {
    let bytes = std::fs::read(bundle).unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut members: Vec<(String, Vec<u8>)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (name, data)
        })
        .collect();
    edit(&mut members);
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in &members {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, data.as_slice())
            .unwrap();
    }
    std::fs::write(out, builder.into_inner().unwrap()).unwrap();
}

type Members = Vec<(String, Vec<u8>)>;
type Tamper = Box<dyn Fn(&mut Members)>;

fn member<'a>(members: &'a mut [(String, Vec<u8>)], name: &str) -> &'a mut Vec<u8> {
    &mut members.iter_mut().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn every_tampering_of_a_bundle_is_refused() {
    let ws = Ws::new();
    ws.publish();
    let bundle = ws.bundle(1);
    let public = ws.public();
    let verify = |file: &Path, key: &str| {
        let out = ws.authflow(&["verify", file.to_str().unwrap(), "--key", key]);
        (out.status.code(), text(&out))
    };
    let (code, out) = verify(&bundle, &public);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("verified: release 1"), "{out}");

    let flip_plan = |members: &mut Members| {
        let plan = member(members, "plans/login.json");
        let i = plan.iter().position(|b| *b == b'p').unwrap();
        plan[i] = b'P';
    };
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "signature stripped",
            Box::new(|m| m.retain(|(n, _)| n != "SIGNATURE")),
            "not signed",
        ),
        (
            "signature altered",
            Box::new(|m| {
                let sig = member(m, "SIGNATURE");
                sig[0] = if sig[0] == b'A' { b'B' } else { b'A' };
            }),
            "signature does not match",
        ),
        (
            "byte flipped in a plan",
            Box::new(flip_plan),
            "plans/login.json` does not match its sha256",
        ),
        (
            "byte flipped in a plan, manifest re-hashed",
            Box::new(move |m| {
                flip_plan(m);
                let plan = member(m, "plans/login.json").clone();
                let sha = authflow::release::snapshot::sha256_hex(&plan);
                let manifest = member(m, "MANIFEST.json");
                let mut value: serde_json::Value = serde_json::from_slice(manifest).unwrap();
                value["files"]["plans/login.json"]["sha256"] = sha.into();
                *manifest = serde_json::to_vec_pretty(&value).unwrap();
            }),
            "signature does not match",
        ),
        (
            "file added",
            Box::new(|m| {
                m.push((
                    "sources/actions/extra.js".into(),
                    b"exports.handler = async () => {}".to_vec(),
                ))
            }),
            "not listed in the signed manifest",
        ),
        (
            "file removed",
            Box::new(|m| m.retain(|(n, _)| n != "sources/actions/log-user.js")),
            "missing from the bundle",
        ),
        (
            "manifest removed",
            Box::new(|m| m.retain(|(n, _)| n != "MANIFEST.json")),
            "no MANIFEST.json",
        ),
    ];
    let scratch = tempfile::tempdir().unwrap();
    for (name, edit, reason) in cases {
        let tampered = scratch.path().join("tampered.bundle");
        rewrite(&bundle, &tampered, edit);
        let (code, out) = verify(&tampered, &public);
        assert_eq!(code, Some(1), "{name}: {out}");
        assert!(
            out.contains(reason),
            "{name}: expected `{reason}` in: {out}"
        );
        // A tampered bundle never runs either.
        let run = ws.authflow(&[
            "run",
            "--bundle",
            tampered.to_str().unwrap(),
            "--key",
            &public,
            "--event",
            "logged-in-us-user",
            "--no-store",
        ]);
        assert_ne!(run.status.code(), Some(0), "{name}: a tampered bundle ran");
    }
    let other = PrivateKey::generate().unwrap().public().to_string();
    let (code, out) = verify(&bundle, &other);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not by the given key"), "{out}");
    // Not a tar archive at all.
    let junk = scratch.path().join("junk.bundle");
    std::fs::write(&junk, b"not a bundle").unwrap();
    assert_eq!(verify(&junk, &public).0, Some(1));
}

#[test]
fn pynacl_verifies_the_signature_over_the_documented_bytes() {
    let ws = Ws::new();
    ws.publish();
    let script = repo_root().join("tests/fixtures/publish/verify_bundle.py");
    let run = |bundle: &Path, key: &str| {
        Command::new("python3")
            .arg(&script)
            .arg(bundle)
            .arg(key)
            .output()
            .expect("python3 runs (.ci/setup installs PyNaCl)")
    };
    let out = run(&ws.bundle(1), &ws.public());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("ok 1 "),
        "{}",
        text(&out)
    );
    let other = PrivateKey::generate().unwrap().public().to_string();
    let out = run(&ws.bundle(1), &other);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("bad signature"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_changed_published_module_version_is_refused() {
    let ws = Ws::new();
    copy_tree(
        &repo_root().join("examples/action-modules/modules"),
        &ws.path().join("modules"),
    );
    ws.publish();
    ws.commit("release 1");
    ws.edit(
        "modules/logger/v1.js",
        "module.exports",
        "// edited after publishing\nmodule.exports",
    );
    let out = ws.authflow(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("AF071"), "{}", text(&out));
    let out = ws.authflow(&["publish"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(ws.lock()["releases"].as_array().unwrap().len(), 1);
}

#[test]
fn a_corrupt_lock_is_a_diagnostic() {
    let ws = Ws::new();
    ws.write(
        "authflow.lock",
        "{\"lock_version\": 1,\n  \"releases\": [ oops ]}\n",
    );
    let out = ws.authflow(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("AF072"), "{}", text(&out));
    assert!(text(&out).contains("authflow.lock:2:"), "{}", text(&out));
}

#[test]
fn the_gate_runs_the_workspace_tests() {
    let ws = Ws::new();
    copy_tree(
        &repo_root().join("examples/log-user/tests"),
        &ws.path().join("tests"),
    );
    let out = ws.authflow(&["publish"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("tests: 5 passed, 0 failed"),
        "{}",
        text(&out)
    );
    // An edit that breaks a tested behaviour: publish refuses and writes nothing.
    ws.edit(
        "actions/log-user.js",
        "login for ${email}",
        "sign-in for ${email}",
    );
    let lock = std::fs::read(ws.path().join("authflow.lock")).unwrap();
    let out = ws.authflow(&["publish"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAIL "), "{}", text(&out));
    assert!(
        text(&out).contains("publish refused: 1 test case(s) failed"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(ws.path().join("authflow.lock")).unwrap(),
        lock
    );
    assert!(!ws.bundle(2).exists());
}

/// `action: log-user@1` runs published version 1 (read back from its release's commit) while
/// the working tree holds a draft; check reports a pin to a missing version at the `@N` and
/// warns on an unpinned action whose draft differs from its last published version.
#[test]
fn pins_resolve_against_the_lock() {
    let ws = Ws::new();
    ws.publish_then_deny_us_in_the_draft();
    let outcome = || ws.outcome(&[]).0;
    let check = || {
        let out = ws.authflow(&["check", "--format", "json"]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };

    // Unpinned: the draft runs, and check warns that it is a draft.
    assert_eq!(outcome(), "deny");
    let (code, report) = check();
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("\"code\": \"AF074\""), "{report}");

    // Pinned to v1: the published source runs, and there is nothing to warn about.
    ws.edit("flows/login.yaml", "action: log-user", "action: log-user@1");
    assert_eq!(outcome(), "allow");
    let (code, report) = check();
    assert_eq!(code, Some(0), "{report}");
    assert!(
        !report.contains("AF074") && !report.contains("AF073"),
        "{report}"
    );
    let plan = ws.authflow(&["compile", "flows/login.yaml"]);
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("log-user@1"),
        "{}",
        text(&plan)
    );

    // Pinned to a version the lock does not have: an error at the `@7`, and run refuses.
    ws.edit(
        "flows/login.yaml",
        "action: log-user@1",
        "action: log-user@7",
    );
    let (code, report) = check();
    assert_eq!(code, Some(1), "{report}");
    let report: serde_json::Value =
        serde_json::from_str(&report).unwrap_or_else(|_| panic!("{report}"));
    let diagnostic = report["diagnostics"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["code"] == "AF073"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        diagnostic["message"].as_str().unwrap().contains("has v1"),
        "{diagnostic}"
    );
    let flow = std::fs::read_to_string(ws.path().join("flows/login.yaml")).unwrap();
    let at = flow.find("@7").unwrap();
    let line = flow[..at].matches('\n').count() + 1;
    let column = at - flow[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    assert_eq!(diagnostic["line"], line, "{diagnostic}");
    assert_eq!(diagnostic["column"], column, "{diagnostic}");
    let out = ws.authflow(&[
        "run",
        "flows/login.yaml",
        "--event",
        "logged-in-us-user",
        "--no-store",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("AF073"), "{}", text(&out));

    // A pin to an older version than the working tree's cannot be bundled: publish refuses.
    ws.edit(
        "flows/login.yaml",
        "action: log-user@7",
        "action: log-user@1",
    );
    let out = ws.publish_refused();
    assert!(
        out.contains("is not the version of `log-user` in the working tree"),
        "{out}"
    );
}

/// `authflow test --published` runs the working tree's tests against the last release: a
/// draft that breaks a tested behaviour fails `test` and passes `test --published`.
#[test]
fn test_published_runs_the_tests_against_the_last_release() {
    let ws = Ws::new();
    copy_tree(
        &repo_root().join("examples/log-user/tests"),
        &ws.path().join("tests"),
    );
    ws.publish();
    ws.commit("release 1");
    ws.edit(
        "actions/log-user.js",
        "login for ${email}",
        "sign-in for ${email}",
    );
    let draft = ws.authflow(&["test"]);
    assert_eq!(draft.status.code(), Some(1), "{}", text(&draft));
    assert!(text(&draft).contains("FAIL "), "{}", text(&draft));

    let published = ws.authflow(&["test", "--published"]);
    assert_eq!(published.status.code(), Some(0), "{}", text(&published));
    let out = text(&published);
    assert!(
        out.contains("testing published release 1, from git commit"),
        "{out}"
    );
    assert!(out.contains("5 passed, 0 failed"), "{out}");
    // Test files show where they live in the working tree, and can be named one by one.
    assert!(out.contains("ok   tests/login.test.yaml: "), "{out}");
    let one = ws.authflow(&["test", "--published", "tests/login.test.yaml"]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one));
    assert!(text(&one).contains("5 passed, 0 failed"), "{}", text(&one));

    // A workspace without a release has nothing to test this way.
    let fresh = Ws::new();
    let out = fresh.authflow(&["test", "--published"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("nothing is published yet"),
        "{}",
        text(&out)
    );
}

/// `authflow keygen` keeps the private key out of git: `.authflow/` ignores itself.
#[test]
fn keygen_keeps_the_private_key_out_of_git() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo_root().join("examples/log-user"), dir.path());
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert!(git(&["init", "-q"]).status.success());
    let out = authflow_in(dir.path(), &["keygen"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dir.path().join(".authflow/secrets.yaml").is_file());
    let status = String::from_utf8(git(&["status", "--porcelain", "-uall"]).stdout).unwrap();
    assert!(
        !status.is_empty() && !status.contains(".authflow"),
        "{status}"
    );
}

/// A module with a vendored npm dependency: `ms@2.1.3` from the npm registry (`npm pack`, the
/// registry's own tarball), required by the module, run in a flow; the lock records the
/// integrity npm computes, and the bundle carries the tarball so it runs alone.
#[test]
fn a_module_with_a_vendored_npm_dependency_runs_in_a_flow() {
    let ws = Ws::new();
    let vendor = ws.path().join("vendor/npm");
    std::fs::create_dir_all(&vendor).unwrap();
    let pack = Command::new("npm")
        .args(["pack", "ms@2.1.3", "--json", "--silent"])
        .current_dir(&vendor)
        .output()
        .expect("npm runs (.ci/setup installs it)");
    assert!(
        pack.status.success(),
        "npm pack ms@2.1.3: {}",
        String::from_utf8_lossy(&pack.stderr)
    );
    let packed: serde_json::Value = serde_json::from_slice(&pack.stdout).unwrap();
    let npm_integrity = packed[0]["integrity"].as_str().unwrap().to_string();
    assert!(vendor.join("ms-2.1.3.tgz").is_file());

    std::fs::create_dir_all(ws.path().join("modules/clock")).unwrap();
    ws.write(
        "modules/clock/module.yaml",
        "description: Durations for log lines\ndependencies:\n  ms: 2.1.3\n",
    );
    ws.write(
        "modules/clock/v1.js",
        "const ms = require('ms');\nmodule.exports = { window: () => ms('2 days'), label: (n) => ms(n, { long: true }) };\n",
    );
    ws.write(
        "actions/log-user.yaml",
        "name: log-user\nenabled: true\nmodules:\n  clock: 1\n",
    );
    ws.edit(
        "actions/log-user.js",
        "  api.state.set('country'",
        "  const clock = require('actions:clock')\n  api.state.set('window', clock.window())\n  api.state.set('label', clock.label(90000))\n  api.state.set('country'",
    );
    let state = |out: &Output| {
        let trace: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(out)));
        trace["state"]["log-user"].clone()
    };
    let run = ws.authflow(&[
        "run",
        "flows/login.yaml",
        "--event",
        "logged-in-us-user",
        "--no-store",
        "--format",
        "json",
    ]);
    let step = state(&run);
    assert_eq!(step["window"], 172_800_000, "{}", text(&run));
    assert_eq!(step["label"], "2 minutes", "{}", text(&run));

    ws.publish();
    let lock = ws.lock();
    let locked = &lock["items"]["module:clock"][0]["dependencies"]["ms"];
    assert_eq!(locked["version"], "2.1.3", "{lock}");
    assert_eq!(locked["file"], "vendor/npm/ms-2.1.3.tgz", "{lock}");
    assert_eq!(locked["integrity"], npm_integrity.as_str(), "{lock}");

    let empty = tempfile::tempdir().unwrap();
    let bundle = ws.bundle(1);
    let out = authflow_in(
        empty.path(),
        &[
            "run",
            "--bundle",
            bundle.to_str().unwrap(),
            "--key",
            &ws.public(),
            "--event",
            "logged-in-us-user",
            "--no-store",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(state(&out)["window"], 172_800_000, "{}", text(&out));

    // A range instead of the exact version vendored: check refuses it (AF075).
    ws.edit("modules/clock/module.yaml", "ms: 2.1.3", "ms: ^2.1.3");
    let out = ws.authflow(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("AF075"), "{}", text(&out));
}
