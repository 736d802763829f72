//! The command line as users run it: exit codes (0 clean, 1 errors, 2 usage or I/O), the JSON
//! trace's documented fields, stored runs, `fmt --check`, and nothing written on failure.

use std::path::Path;
use std::process::{Command, Output};

fn authflow(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authflow"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory, removed when the test ends (passing or failing).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("authflow-cli-{name}-"))
        .tempdir()
        .unwrap()
}

#[test]
fn check_exit_codes_are_0_1_2() {
    assert_eq!(
        authflow(&["check", "flows/login.yaml"], root())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        authflow(
            &["check", "tests/fixtures/check/af010-duplicate-id.yaml"],
            root()
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        authflow(&["check", "no/such/flow.yaml"], root())
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        authflow(&["check", "--format", "xml", "flows/login.yaml"], root())
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn run_prints_the_documented_json_and_stores_the_run() {
    // A copy of the quickstart workspace, so the stored run lands outside the repository.
    let scratch_dir = scratch("run");
    let dir = scratch_dir.path();
    for sub in ["flows", "actions"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for file in [
        "authflow.yaml",
        "flows/login.yaml",
        "actions/log-user.js",
        "actions/log-user.yaml",
    ] {
        std::fs::copy(root().join("examples/log-user").join(file), dir.join(file)).unwrap();
    }
    let flow = dir.join("flows/login.yaml");
    let out = authflow(
        &[
            "run",
            flow.to_str().unwrap(),
            "--event",
            "logged-in-us-user",
            "--format",
            "json",
            "--expect",
            "allow",
        ],
        dir,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "outcome",
        "deny_reason",
        "blocks",
        "state",
        "claims",
        "app_metadata",
    ] {
        assert!(trace.get(key).is_some(), "missing {key}");
    }
    let block = &trace["blocks"][2];
    for key in [
        "id",
        "stage",
        "type",
        "status",
        "elapsed_us",
        "logs",
        "state_writes",
    ] {
        assert!(block.get(key).is_some(), "block misses {key}");
    }
    assert_eq!(trace["state"]["log-user"]["country"], "US");
    // The run is stored in the workspace and reads back.
    let list = authflow(
        &[
            "runs",
            "list",
            "--workspace",
            flow.parent().unwrap().parent().unwrap().to_str().unwrap(),
        ],
        dir,
    );
    assert!(String::from_utf8_lossy(&list.stdout).contains("login  logged-in-us-user  allow"));
    let shown = authflow(
        &[
            "runs",
            "show",
            "latest",
            "--format",
            "json",
            "--workspace",
            flow.parent().unwrap().parent().unwrap().to_str().unwrap(),
        ],
        dir,
    );
    let stored: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(stored["outcome"], "allow");
}

#[test]
fn run_expectations_and_bad_events_set_the_exit_code() {
    let out = authflow(
        &[
            "run",
            "flows/login.yaml",
            "--event",
            "unauthenticated",
            "--expect",
            "allow",
            "--no-store",
        ],
        root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let scratch_dir = scratch("event");
    let dir = scratch_dir.path();
    std::fs::write(
        dir.join("bad.json"),
        r#"{"request": {"geo": {"contry": "US"}}}"#,
    )
    .unwrap();
    let flow = root().join("flows/login.yaml");
    let out = authflow(
        &[
            "run",
            flow.to_str().unwrap(),
            "--event",
            "bad.json",
            "--no-store",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "event.request.geo.contry: unknown field (did you mean `request.geo.country`?)"
        )
    );
}

#[test]
fn compile_refuses_flows_with_errors_and_writes_nothing() {
    let scratch_dir = scratch("compile");
    let dir = scratch_dir.path();
    let plan = dir.join("plan.json");
    let bad = root().join("tests/fixtures/check/af023-issue-before-password.yaml");
    let out = authflow(
        &[
            "compile",
            bad.to_str().unwrap(),
            "-o",
            plan.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!plan.exists());
    let good = root().join("flows/login.yaml");
    let out = authflow(
        &[
            "compile",
            good.to_str().unwrap(),
            "-o",
            plan.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(0));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(plan["plan_version"], 1);
    assert_eq!(plan["blocks"][1]["op"]["op"], "password_check");
}

#[test]
fn fmt_check_and_conversion() {
    assert_eq!(
        authflow(&["fmt", "--check", "flows/login.yaml"], root())
            .status
            .code(),
        Some(0)
    );
    let scratch_dir = scratch("fmt");
    let dir = scratch_dir.path();
    std::fs::write(dir.join("messy.yaml"), "flow: login\nstages:\n- name: s\n  blocks:\n  - {id: d, type: deny, config: {reason: r}}\n").unwrap();
    assert_eq!(
        authflow(&["fmt", "--check", "messy.yaml"], dir)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(authflow(&["fmt", "messy.yaml"], dir).status.code(), Some(0));
    assert_eq!(
        authflow(&["fmt", "--check", "messy.yaml"], dir)
            .status
            .code(),
        Some(0)
    );
    let dsl = authflow(&["fmt", "messy.yaml", "--to", "dsl"], dir);
    assert_eq!(
        String::from_utf8_lossy(&dsl.stdout),
        "flow login\n\nstage s {\n  d: deny {\n    reason = \"r\"\n  }\n}\n"
    );
    // A file that does not parse is reported and left untouched.
    std::fs::write(dir.join("broken.yaml"), "flow: [\n").unwrap();
    assert_eq!(
        authflow(&["fmt", "broken.yaml"], dir).status.code(),
        Some(1)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.yaml")).unwrap(),
        "flow: [\n"
    );
}

#[test]
fn commands_on_one_flow_refuse_a_directory() {
    for args in [
        &[
            "run",
            "examples/log-user/actions",
            "--event",
            "logged-in-us-user",
            "--no-store",
        ][..],
        &["graph", "examples"],
        &["compile", "flows"],
    ] {
        let out = authflow(args, root());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is a directory; give one flow file"),
            "{args:?}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn compile_output_leaves_other_files_alone() {
    // `plan.tmp` was once compile's own temporary file: a user's file of that name survives.
    let scratch_dir = scratch("compile-tmp");
    let dir = scratch_dir.path();
    std::fs::write(dir.join("plan.tmp"), "mine").unwrap();
    let flow = root().join("flows/login.yaml");
    let out = authflow(&["compile", flow.to_str().unwrap(), "-o", "plan.json"], dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("plan.tmp")).unwrap(),
        "mine"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["plan.json", "plan.tmp"]);
}

/// The JavaScript engine's facade would cache the bytecode of every script it compiles (tenant
/// code included) in the user's cache directory; authflow turns that off, so a run writes
/// nothing outside the workspace's store.
#[test]
fn a_run_writes_no_bytecode_cache_or_anything_else_in_home() {
    let home = scratch("home");
    let out = Command::new(env!("CARGO_BIN_EXE_authflow"))
        .args([
            "run",
            "examples/log-user/flows/login.yaml",
            "--event",
            "logged-in-us-user",
            "--no-store",
        ])
        .current_dir(root())
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .env_remove("V82JSC_NO_BC_CACHE")
        .output()
        .expect("the binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = walk(home.path());
    assert!(left.is_empty(), "the run wrote {left:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}
