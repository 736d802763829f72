//! Hostile inputs and careless use, one test per class of issue 10 (the parts outside the
//! sandbox): workspace files that are links, FIFOs, devices or huge; hostile argon2 costs;
//! inputs that used to panic; concurrent runs; control characters reaching a terminal;
//! fallbacks that used to be silent; report paths and column conventions.
//!
//! Every test drives the `authflow` binary as a user would, in a scratch copy of an example.

mod support;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::copy_tree;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch copy of `examples/<example>`.
fn workspace(example: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root().join("examples").join(example), dir.path());
    dir
}

fn command(args: &[&str], dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authflow"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("AUTHFLOW_SECRET_") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs `authflow`; a command that has not finished after a minute is killed and the test
/// fails (the hang guard for FIFOs and devices, not a timing assertion).
fn authflow_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = command(args, dir);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("authflow {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "authflow {args:?} panicked:\n{stderr}"
    );
    output
}

fn authflow(args: &[&str], dir: &Path) -> Output {
    authflow_env(args, dir, &[])
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn workspace_files_never_leave_the_workspace_block_or_flood_memory() {
    let ws = workspace("log-user");
    let dir = ws.path();
    std::os::unix::fs::symlink("/proc/self/environ", dir.join("actions/env.js")).unwrap();
    std::fs::write(dir.join("actions/env.yaml"), "name: env\nenabled: true\n").unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("actions/zero.js")).unwrap();
    mkfifo(&dir.join("flows/pipe.yaml"));
    mkfifo(&dir.join("actions/pipe.js"));
    std::fs::write(dir.join("actions/huge.js"), vec![b'/'; 4 * 1024 * 1024 + 1]).unwrap();
    let marker = "authflow-hardening-marker-3f9c";
    let out = authflow_env(&["check"], dir, &[("HARDENING_MARKER", marker)]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        !report.contains(marker),
        "the environment leaked:\n{report}"
    );
    assert!(report.contains("actions/env.js` was not read: it resolves to /proc/"));
    assert!(report.contains("actions/zero.js` was not read: it resolves to /dev/zero"));
    assert!(report.contains("flows/pipe.yaml` was not read: it is a FIFO"));
    assert!(report.contains("actions/pipe.js` was not read: it is a FIFO"));
    assert!(
        report.contains("larger than 4194304 bytes, the limit for workspace files"),
        "{report}"
    );
    assert_eq!(report.matches("AF051").count(), 5, "{report}");
    // A flow named on the command line: a link leaving the workspace, a FIFO, a device.
    std::os::unix::fs::symlink("/etc/hostname", dir.join("flows/out.yaml")).unwrap();
    for (flow, why) in [
        ("flows/out.yaml", "outside the workspace"),
        ("flows/pipe.yaml", "FIFO"),
        ("/dev/zero", "a character device"),
    ] {
        let out = authflow(&["run", flow, "--event", "unauthenticated"], dir);
        assert_eq!(out.status.code(), Some(2), "{flow}: {}", text(&out));
        assert!(text(&out).contains(why), "{flow}: {}", text(&out));
    }
    // Event files and users.yaml go through the same reader.
    std::fs::remove_file(dir.join("flows/pipe.yaml")).unwrap();
    std::fs::remove_file(dir.join("flows/out.yaml")).unwrap();
    for name in ["env.js", "env.yaml", "zero.js", "pipe.js", "huge.js"] {
        std::fs::remove_file(dir.join("actions").join(name)).unwrap();
    }
    mkfifo(&dir.join("event.json"));
    let out = authflow(&["run", "flows/login.yaml", "--event", "event.json"], dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("event.json: it is a FIFO"),
        "{}",
        text(&out)
    );
    std::os::unix::fs::symlink("/etc/passwd", dir.join("users.yaml")).unwrap();
    let out = authflow(&["check"], dir);
    assert!(
        text(&out).contains("users.yaml` was not read: it resolves to /etc/passwd"),
        "{}",
        text(&out)
    );
    // A link that stays inside the workspace is followed.
    std::fs::remove_file(dir.join("users.yaml")).unwrap();
    std::fs::create_dir(dir.join("shared")).unwrap();
    std::fs::rename(
        dir.join("actions/log-user.js"),
        dir.join("shared/log-user.js"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../shared/log-user.js", dir.join("actions/log-user.js")).unwrap();
    let out = authflow(&["check"], dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

const HUGE_T: &str = "$argon2id$v=19$m=4096,t=4294967295,p=1$c2FsdHNhbHRzYWx0MTIzNA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const HUGE_M: &str = "$argon2id$v=19$m=1048576,t=1,p=1$c2FsdHNhbHRzYWx0MTIzNA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[test]
fn hostile_argon2_costs_are_diagnostics_and_clean_failures() {
    let ws = workspace("log-user");
    let dir = ws.path();
    std::fs::write(
        dir.join("users.yaml"),
        format!(
            "users:\n  - id: usr_ada\n    email: ada@example.com\n    password_hash: \"{HUGE_T}\"\n"
        ),
    )
    .unwrap();
    let out = authflow(&["check", "--format", "json"], dir);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diagnostic = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "AF052")
        .expect("an invalid-user diagnostic");
    assert_eq!(diagnostic["file"], "users.yaml");
    assert_eq!(diagnostic["line"], 4);
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("t=4294967295")
    );
    // A run refuses the workspace with the same diagnostic instead of hashing for days.
    let out = authflow(
        &["run", "flows/login.yaml", "--event", "logged-in-us-user"],
        dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("AF052"));
    // An event's own directory: refused with its JSON path, before any hashing.
    std::fs::remove_file(dir.join("users.yaml")).unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(authflow::run::presets::find("logged-in-us-user").unwrap()).unwrap();
    event["directory"][0]["password_hash"] = HUGE_M.into();
    std::fs::write(dir.join("event.json"), event.to_string()).unwrap();
    let out = authflow(&["run", "flows/login.yaml", "--event", "event.json"], dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("directory[0].password_hash: the password hash's argon2 `m=1048576`"),
        "{}",
        text(&out)
    );
}

#[test]
fn diagnostics_past_column_65535_render_in_every_format() {
    let ws = workspace("log-user");
    let dir = ws.path();
    let minified = format!(
        "exports.handler = async (event, api) => {{{} }} }}}} (",
        "var a=1;".repeat(10_000)
    );
    std::fs::write(dir.join("actions/log-user.js"), &minified).unwrap();
    for format in ["human", "json", "sarif"] {
        let out = authflow(&["check", "--format", format], dir);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", text(&out));
        assert!(text(&out).contains("AF046"), "{format}");
    }
    let human = text(&authflow(&["check"], dir));
    let longest = human.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 400, "an excerpt line of {longest} characters");
    // The header's column counts code points, as JSON does.
    let json: serde_json::Value =
        serde_json::from_slice(&authflow(&["check", "--format", "json"], dir).stdout).unwrap();
    let column = json["diagnostics"][0]["column"].as_u64().unwrap();
    assert!(column > 65535);
    assert!(
        human.contains(&format!("actions/log-user.js:1:{column}]")),
        "{human}"
    );
    // A span that covers thousands of lines shows a few of them.
    let many = format!("flow: login\nstages: {}\n", "\n".repeat(5000) + "- [");
    std::fs::write(dir.join("flows/login.yaml"), many).unwrap();
    let out = authflow(&["check", "flows/login.yaml"], dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).lines().count() < 60, "{}", text(&out));
}

#[test]
fn columns_count_code_points_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let flow = "flow: login\nstages:\n  - name: é\n    blocks:\n      - id: ü-b\n        type: deny\n        config: { reason: \"öö {{ event.nö }}\" }\n";
    std::fs::write(dir.path().join("f.yaml"), flow).unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &authflow(&["check", "--format", "json", "f.yaml"], dir.path()).stdout,
    )
    .unwrap();
    let d = &json["diagnostics"][0];
    assert_eq!(d["line"], 7);
    // `{{` follows 30 code points (33 bytes) on its line.
    assert_eq!(d["column"], 31, "{d}");
    assert_eq!(json["column_kind"], "unicode_code_points");
    let human = text(&authflow(&["check", "f.yaml"], dir.path()));
    assert!(human.contains("f.yaml:7:31]"), "{human}");
    let sarif: serde_json::Value = serde_json::from_slice(
        &authflow(&["check", "--format", "sarif", "f.yaml"], dir.path()).stdout,
    )
    .unwrap();
    let region = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], 31);
}

#[test]
fn concurrent_runs_are_all_stored_with_their_input_event() {
    let ws = workspace("log-user");
    let dir = ws.path();
    std::fs::write(
        dir.join("authflow.yaml"),
        std::fs::read_to_string(dir.join("authflow.yaml")).unwrap() + "secrets: [PEPPER]\n",
    )
    .unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(authflow::run::presets::find("logged-in-us-user").unwrap()).unwrap();
    event["description"] = "pepper is hunter2-pepper-value".into();
    std::fs::write(dir.join("event.json"), event.to_string()).unwrap();
    let runs = 36;
    let children: Vec<_> = (0..runs)
        .map(|_| {
            command(
                &[
                    "run",
                    "flows/login.yaml",
                    "--event",
                    "event.json",
                    "--format",
                    "json",
                ],
                dir,
            )
            .env("AUTHFLOW_SECRET_PEPPER", "hunter2-pepper-value")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = authflow(
        &["runs", "list", "--limit", "1000", "--format", "json"],
        dir,
    );
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed.len(), runs);
    let mut ids: Vec<&str> = listed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), runs, "ids are unique");
    // The store holds the event as given, with the secret's value redacted.
    let store = authflow::store::Store::open_existing(dir).unwrap().unwrap();
    let run = store.run("latest").unwrap().unwrap();
    assert_eq!(run.input_event["request"], event["request"]);
    assert_eq!(
        run.input_event["description"],
        "pepper is [redacted:PEPPER]"
    );
    assert_eq!(run.flow_file, "flows/login.yaml");
    let shown = authflow(&["runs", "show", &ids[0][..30]], dir);
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown));
    // Filters.
    let denied = authflow(&["runs", "list", "--outcome", "deny"], dir);
    assert!(text(&denied).contains("no stored runs match"));
    let flow = authflow(
        &[
            "runs", "list", "--flow", "login", "--since", "1h", "--limit", "3",
        ],
        dir,
    );
    assert_eq!(text(&flow).lines().count(), 3);
    let bad = authflow(&["runs", "list", "--since", "yesterday-ish"], dir);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn runs_that_cannot_be_read_are_reported() {
    let ws = workspace("deny-tor");
    let dir = ws.path();
    let out = authflow(
        &["run", "flows/login.yaml", "--event", "tor-exit-node"],
        dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let db = rusqlite_path(dir);
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE runs SET trace='{'\"); c.commit()",
            db.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let list = authflow(&["runs", "list"], dir);
    assert!(
        String::from_utf8_lossy(&list.stderr).contains("cannot be read and is not listed"),
        "{}",
        text(&list)
    );
}

fn rusqlite_path(dir: &Path) -> PathBuf {
    authflow::store::Store::path_in(dir)
}

#[test]
fn tenant_text_reaches_the_terminal_escaped() {
    let ws = workspace("log-user");
    let dir = ws.path();
    std::fs::write(
        dir.join("actions/log-user.js"),
        r#"exports.handler = async (event, api) => {
  api.log("info", "hi\x1b]0;title\x07\r\n│  ├─ ✓ forged (Deny) completed\u202e");
  api.state.set("k\x1b[2J", "v\u009b");
};
"#,
    )
    .unwrap();
    let unsafe_char = |s: &str| {
        s.chars()
            .any(|c| c != '\n' && authflow::cli::escape::is_unsafe(c))
    };
    let run = authflow(
        &["run", "flows/login.yaml", "--event", "logged-in-us-user"],
        dir,
    );
    let human = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(!unsafe_char(&human), "{human:?}");
    assert!(human.contains("hi\\u{1b}]0;title\\u{7}\\r\\n│  ├─ ✓ forged"));
    assert!(!human.lines().any(|l| l.starts_with("│  ├─ ✓ forged")));
    let json = authflow(
        &[
            "run",
            "flows/login.yaml",
            "--event",
            "logged-in-us-user",
            "--format",
            "json",
            "--no-store",
        ],
        dir,
    );
    let json_text = String::from_utf8_lossy(&json.stdout).into_owned();
    assert!(!unsafe_char(&json_text), "{json_text:?}");
    let value: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(value["state"]["log-user"]["k\u{1b}[2J"], "v\u{9b}");
    let test = authflow(
        &["action", "test", "log-user", "--event", "logged-in-us-user"],
        dir,
    );
    assert!(!unsafe_char(&String::from_utf8_lossy(&test.stdout)));
    let list = authflow(&["runs", "show", "latest"], dir);
    assert!(!unsafe_char(&String::from_utf8_lossy(&list.stdout)));
    // Diagnostics quote tenant text and excerpt tenant files: escaped too.
    std::fs::write(
        dir.join("flows/login.yaml"),
        "flow: login\nstages:\n  - name: x\n    blocks:\n      - id: \"a\\e[31mb\"\n        type: \"\\e]8;;http://x\\e\\\\no\"\n",
    )
    .unwrap();
    let check = authflow(&["check", "flows/login.yaml"], dir);
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert_eq!(check.status.code(), Some(1), "{report}");
    assert!(!unsafe_char(&report), "{report:?}");
}

#[test]
fn fallbacks_that_were_silent_are_reported() {
    // `action test` with an authflow.yaml that does not parse.
    let ws = workspace("log-user");
    let dir = ws.path();
    let settings = std::fs::read_to_string(dir.join("authflow.yaml")).unwrap();
    std::fs::write(
        dir.join("authflow.yaml"),
        format!("{settings}\nlimits: {{ cpu_ms: lots }}\n"),
    )
    .unwrap();
    let out = authflow(
        &["action", "test", "log-user", "--event", "logged-in-us-user"],
        dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("authflow.yaml"));
    std::fs::write(dir.join("authflow.yaml"), &settings).unwrap();

    // A malformed .authflow/secrets.yaml is a diagnostic that shows no value.
    std::fs::create_dir_all(dir.join(".authflow")).unwrap();
    std::fs::write(
        dir.join(".authflow/secrets.yaml"),
        "IPINFO_TOKEN: tok_live_abcdef\nOTHER: [unclosed tok_live_ghijkl\n",
    )
    .unwrap();
    let out = authflow(&["check"], dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(".authflow/secrets.yaml"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("tok_live"), "{}", text(&out));
    std::fs::remove_file(dir.join(".authflow/secrets.yaml")).unwrap();

    // A declared secret with no value stops the run instead of becoming "".
    let ws = workspace("event-stream");
    let forward = [
        "action",
        "test",
        "forward-logins",
        "--event",
        "events/message-login-succeeded.json",
    ];
    let url = ("AUTHFLOW_SECRET_URL", "https://hooks.acme.example/logins");
    let out = authflow_env(&forward, ws.path(), &[url]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`API_KEY`, which has no value"),
        "{}",
        text(&out)
    );
    let out = authflow_env(
        &forward,
        ws.path(),
        &[url, ("AUTHFLOW_SECRET_API_KEY", "x")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // session.signing_secret: undeclared (check), unset (warning), too short (refused).
    let ws = workspace("log-user");
    let dir = ws.path();
    std::fs::write(
        dir.join("authflow.yaml"),
        format!("{settings}\nsession:\n  signing_secret: SESSION_KEY\n"),
    )
    .unwrap();
    let out = authflow(&["check", "--format", "json"], dir);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "AF043" && d["file"] == "authflow.yaml"),
        "{report}"
    );
    let declared = if settings.contains("secrets:") {
        settings.replace("secrets: [", "secrets: [SESSION_KEY, ")
    } else {
        format!("{settings}\nsecrets: [SESSION_KEY]\n")
    };
    std::fs::write(
        dir.join("authflow.yaml"),
        format!("{declared}\nsession:\n  signing_secret: SESSION_KEY\n"),
    )
    .unwrap();
    assert_eq!(authflow(&["check"], dir).status.code(), Some(0));
    let run = [
        "run",
        "flows/login.yaml",
        "--event",
        "logged-in-us-user",
        "--no-store",
    ];
    let out = authflow(&run, dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("tokens are signed with the public simulation key"),
        "{}",
        text(&out)
    );
    let out = authflow_env(&run, dir, &[("AUTHFLOW_SECRET_SESSION_KEY", "short")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("at least 32 bytes"));
    let out = authflow_env(
        &run,
        dir,
        &[(
            "AUTHFLOW_SECRET_SESSION_KEY",
            "a-session-key-of-thirty-two-bytes!!",
        )],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", text(&out));

    // users.yaml errors are diagnostics with their place.
    std::fs::write(
        dir.join("users.yaml"),
        "users:\n  - id: usr_1\n    emial: x@example.com\n",
    )
    .unwrap();
    let out = authflow(&["check"], dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("users.yaml:3:"), "{}", text(&out));
}

#[test]
fn a_bare_file_name_belongs_to_its_workspace() {
    let ws = workspace("log-user");
    let dir = ws.path();
    std::fs::copy(dir.join("flows/login.yaml"), dir.join("l.yaml")).unwrap();
    let bare = authflow(&["check", "l.yaml"], dir);
    let dotted = authflow(&["check", "./l.yaml"], dir);
    assert_eq!(bare.status.code(), Some(0), "{}", text(&bare));
    assert_eq!(text(&bare), text(&dotted));
    // Outside a workspace the same flow cannot find its action.
    let alone = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("l.yaml"), alone.path().join("l.yaml")).unwrap();
    assert_eq!(
        authflow(&["check", "l.yaml"], alone.path()).status.code(),
        Some(1)
    );
}

#[test]
fn reports_name_files_from_the_repository_root() {
    let repo = tempfile::tempdir().unwrap();
    let status = Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(status.success());
    let ws = repo.path().join("tenants/acme co");
    copy_tree(
        &root().join("tests/fixtures/check/af040-unknown-action"),
        &ws,
    );
    let cwd = ws.join("flows");
    let sarif: serde_json::Value = serde_json::from_slice(
        &authflow(&["check", "--format", "sarif", "login.yaml"], &cwd).stdout,
    )
    .unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let base = run["originalUriBaseIds"]["SRCROOT"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    let location = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uri"], "tenants/acme%20co/flows/login.yaml");
    assert_eq!(location["uriBaseId"], "SRCROOT");
    let json: serde_json::Value = serde_json::from_slice(
        &authflow(&["check", "--format", "json", "login.yaml"], &cwd).stdout,
    )
    .unwrap();
    assert_eq!(
        json["diagnostics"][0]["file"],
        "tenants/acme co/flows/login.yaml"
    );
    // The same from the repository root.
    let again: serde_json::Value = serde_json::from_slice(
        &authflow(
            &["check", "--format", "json", "tenants/acme co"],
            repo.path(),
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(
        again["diagnostics"][0]["file"],
        json["diagnostics"][0]["file"]
    );
}

#[test]
fn fmt_reads_through_the_same_reader() {
    let ws = workspace("log-user");
    let dir = ws.path();
    std::os::unix::fs::symlink("/etc/hostname", dir.join("flows/out.yaml")).unwrap();
    mkfifo(&dir.join("flows/pipe.yaml"));
    for (file, why) in [
        ("flows/out.yaml", "outside the workspace"),
        ("flows/pipe.yaml", "FIFO"),
    ] {
        let out = authflow(&["fmt", "--check", file], dir);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", text(&out));
        assert!(text(&out).contains(why), "{file}: {}", text(&out));
    }
}

/// The diagnostics of `authflow check --format json` in `dir`, as (code, file, line, message).
fn json_diagnostics(dir: &Path) -> Vec<(String, String, u64, String)> {
    let out = authflow(&["check", "--format", "json"], dir);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or_default(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_loader_refuses_what_the_json_schema_refuses() {
    // serde-saphyr reads a quoted scalar into a boolean or a number; the JSON Schema does
    // not. Each kind of workspace file is held to its schema, with the diagnostic on the
    // value's line: (example, file, text, replacement, the replaced value).
    let cases = [
        (
            "log-user",
            "actions/log-user.yaml",
            "enabled: true",
            "enabled: \"false\"",
            "\"false\"",
        ),
        (
            "log-user",
            "authflow.yaml",
            "tenant:",
            "limits: { cpu_ms: '50' }\ntenant:",
            "'50'",
        ),
        (
            "geo-policy",
            "users.yaml",
            "email_verified: true",
            "email_verified: \"true\"",
            "\"true\"",
        ),
        (
            "action-modules",
            "actions/audit-login.yaml",
            "logger: 2",
            "logger: \"2\"",
            "\"2\"",
        ),
    ];
    for (example, file, from, to, value) in cases {
        let ws = workspace(example);
        let path = ws.path().join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        assert!(original.contains(from), "{example}/{file} has no `{from}`");
        let changed = original.replacen(from, to, 1);
        std::fs::write(&path, &changed).unwrap();
        let out = authflow(&["check"], ws.path());
        assert_eq!(
            out.status.code(),
            Some(1),
            "{example}/{file}: {}",
            text(&out)
        );
        let line = changed.lines().position(|l| l.contains(value)).unwrap() as u64 + 1;
        let found = json_diagnostics(ws.path());
        assert!(
            found.iter().any(|(code, f, at, message)| code == "AF004"
                && f.ends_with(file)
                && *at == line
                && message.contains("is not of type")),
            "{example}/{file}: {found:?}"
        );
    }
}

#[test]
fn metadata_diagnostics_point_at_the_entry_not_at_a_substring() {
    // An undeclared secret whose name is a prefix of a declared one, mentioned first.
    let ws = workspace("log-user");
    let dir = ws.path();
    let meta = dir.join("actions/log-user.yaml");
    let text_before = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(
        &meta,
        format!(
            "# uses API_KEY_LONG_NAME and API\n{text_before}secrets: [API_KEY_LONG_NAME, API]\n"
        ),
    )
    .unwrap();
    let settings = dir.join("authflow.yaml");
    let s = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{s}secrets: [API_KEY_LONG_NAME]\n")).unwrap();
    let found = json_diagnostics(dir);
    let undeclared: Vec<_> = found.iter().filter(|d| d.0 == "AF043").collect();
    assert_eq!(undeclared.len(), 1, "{found:?}");
    let last_line = std::fs::read_to_string(&meta).unwrap().lines().count() as u64;
    assert_eq!(undeclared[0].2, last_line, "{found:?}");

    // Two users with one id: the second one is the duplicate.
    let ws = workspace("geo-policy");
    let users = ws.path().join("users.yaml");
    let text_before = std::fs::read_to_string(&users).unwrap();
    std::fs::write(&users, text_before.replace("id: usr_bo", "id: usr_ada")).unwrap();
    let found = json_diagnostics(ws.path());
    let duplicate: Vec<_> = found.iter().filter(|d| d.0 == "AF052").collect();
    assert_eq!(duplicate.len(), 1, "{found:?}");
    let second = text_before
        .lines()
        .position(|l| l.contains("id: usr_bo"))
        .unwrap() as u64
        + 1;
    assert_eq!(duplicate[0].2, second, "{found:?}");
}

#[test]
fn a_lock_that_is_not_a_regular_file_says_so() {
    let ws = workspace("log-user");
    mkfifo(&ws.path().join("authflow.lock"));
    let out = authflow(&["check"], ws.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("AF072"), "{}", text(&out));
    assert!(text(&out).contains("FIFO"), "{}", text(&out));
    assert!(!text(&out).contains("EOF while parsing"), "{}", text(&out));
}
