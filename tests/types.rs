//! `authflow types` against the real TypeScript compiler (the pinned `typescript` from the npm
//! registry that `.ci/setup` installs into `target/typescript`): the project it writes for
//! every example type-checks, JSDoc included, and a misspelled event field, a wrong api call,
//! an unpinned module and a wrong module export each make tsc fail with its message.

mod common;

use common::{authflow, copy_tree};
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The pinned compiler; its absence fails the test (no silent skip).
fn tsc() -> PathBuf {
    let tsc = repo().join("target/typescript/node_modules/.bin/tsc");
    assert!(
        tsc.is_file(),
        "{} is missing: run `.ci/setup`, which installs the pinned TypeScript with npm",
        tsc.display()
    );
    tsc
}

/// Writes the project of `workspace` into a new directory.
fn project(workspace: &Path) -> TempDir {
    let out = TempDir::new().expect("a temporary directory");
    let dir = out.path().to_str().expect("a UTF-8 path");
    let run = authflow(&["types", ".", "--out", dir], workspace);
    assert!(
        run.status.success(),
        "authflow types --out failed in {}:\n{}",
        workspace.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// Runs tsc on one of the project's configurations: (success, diagnostics).
fn check(project: &Path, config: &str) -> (bool, String) {
    let run = Command::new(tsc())
        .args(["-p", config, "--pretty", "false"])
        .current_dir(project)
        .output()
        .expect("tsc runs");
    let text =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    (run.status.success(), text)
}

fn examples() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.join("authflow.yaml").is_file())
        .collect();
    found.sort();
    found
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The files a project's configuration lists.
fn listed(project: &Path, config: &str) -> Vec<String> {
    let text = std::fs::read_to_string(project.join(config)).expect("the configuration");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the configuration is JSON");
    json["files"]
        .as_array()
        .expect("a file list")
        .iter()
        .map(|f| f.as_str().expect("a path").to_string())
        .collect()
}

#[test]
fn every_example_type_checks_with_typescript() {
    let mut actions = 0;
    let mut modules = 0;
    for example in examples() {
        let out = project(&example);
        for config in ["tsconfig.json", "tsconfig.editor.json"] {
            let (ok, text) = check(out.path(), config);
            assert!(ok, "tsc -p {config} for {}:\n{text}", example.display());
        }
        let files = listed(out.path(), "tsconfig.json");
        actions += files.iter().filter(|f| f.starts_with("actions/")).count();
        modules += files.iter().filter(|f| f.contains("/modules/")).count();
        // The editor configuration reads the action files themselves.
        let editor = listed(out.path(), "tsconfig.editor.json");
        assert!(
            editor.iter().filter(|f| f.ends_with(".js")).count()
                >= files.iter().filter(|f| f.starts_with("actions/")).count()
        );
    }
    // Every example action and every module version and draft was checked.
    let on_disk = |pattern: &dyn Fn(&Path) -> bool| {
        examples()
            .iter()
            .flat_map(|e| walk(e))
            .filter(|p| pattern(p))
            .count()
    };
    let action_files = on_disk(&|p| {
        p.parent().is_some_and(|d| d.ends_with("actions"))
            && p.extension().is_some_and(|x| x == "js")
    });
    let module_files = on_disk(&|p| {
        p.components().any(|c| c.as_os_str() == "modules")
            && p.extension().is_some_and(|x| x == "js")
    });
    assert!(
        action_files >= 9 && module_files >= 3,
        "{action_files} {module_files}"
    );
    assert_eq!(actions, action_files);
    assert_eq!(modules, module_files);
}

/// A copy of an example workspace, to break.
fn copy(example: &str) -> TempDir {
    let dir = TempDir::new().expect("a temporary directory");
    copy_tree(&repo().join("examples").join(example), dir.path());
    dir
}

fn assert_fails_with(project: &Path, config: &str, expected: &[&str]) {
    let (ok, text) = check(project, config);
    assert!(!ok, "tsc -p {config} accepted a broken workspace:\n{text}");
    for message in expected {
        assert!(
            text.contains(message),
            "tsc -p {config} did not say `{message}`:\n{text}"
        );
    }
}

#[test]
fn an_unannotated_handler_gets_its_types_so_mistakes_fail() {
    let ws = copy("deny-tor");
    // The example's own shape, unannotated: an async arrow function assigned to exports.
    std::fs::write(
        ws.path().join("actions/deny-tor.js"),
        "exports.handler = async (event, api) => {\n  if (event.request.asn.is_torr) {\n    api.denyy('tor')\n  }\n  api.state.set('seen', true)\n  return true\n}\n",
    )
    .expect("write the action");
    let out = project(ws.path());
    assert_fails_with(
        out.path(),
        "tsconfig.json",
        &[
            "actions/deny-tor.ts(2,25): error TS2551: Property 'is_torr' does not exist on type 'AuthflowEventRequestAsn'. Did you mean 'is_tor'?",
            "actions/deny-tor.ts(3,9): error TS2551: Property 'denyy' does not exist on type 'AuthflowApi'. Did you mean 'deny'?",
        ],
    );
    // Exactly those two: the async function returning a value is a valid handler.
    let (_, text) = check(out.path(), "tsconfig.json");
    assert_eq!(text.matches("error TS").count(), 2, "{text}");
}

#[test]
fn wrong_argument_types_and_stream_only_api_fail() {
    let ws = copy("event-stream");
    let source =
        std::fs::read_to_string(ws.path().join("actions/forward-logins.js")).expect("read");
    // An event-stream action cannot deny a login, and `event.message.type` is a closed union.
    let broken = source.replace(
        "const message = event.message;",
        "const message = event.message;\napi.deny('no');\nif (message.type === 'login.succeded') {}\napi.log('loud', 1);",
    );
    assert_ne!(broken, source, "the example changed: update this test");
    std::fs::write(ws.path().join("actions/forward-logins.js"), broken).expect("write");
    let out = project(ws.path());
    assert_fails_with(
        out.path(),
        "tsconfig.json",
        &[
            "error TS2339: Property 'deny' does not exist on type 'AuthflowStreamApi'.",
            "and '\"login.succeded\"' have no overlap.",
            "error TS2345: Argument of type '\"loud\"' is not assignable to parameter of type",
        ],
    );
}

#[test]
fn require_resolves_only_pinned_modules_and_modules_are_checked() {
    let ws = copy("action-modules");
    let action = ws.path().join("actions/audit-login.js");
    let source = std::fs::read_to_string(&action).expect("read");
    let broken = source.replace(
        "const logger = require('actions:logger');",
        "const logger = require('actions:logger');\nconst other = require('actions:metrics');\nconst receipt = logger.sendLog('code', 'message');\nconst n = receipt * 2;",
    );
    assert_ne!(broken, source, "the example changed: update this test");
    std::fs::write(&action, broken).expect("write");
    // The pinned version (2) is checked as JavaScript with the sandbox's globals.
    let module = ws.path().join("modules/logger/v2.js");
    let source = std::fs::read_to_string(&module).expect("read");
    let broken = source.replace("actions.secrets.API_KEY", "actions.secret.API_KEY");
    assert_ne!(broken, source, "the example changed: update this test");
    std::fs::write(&module, broken).expect("write");
    let out = project(ws.path());
    assert_fails_with(
        out.path(),
        "tsconfig.json",
        &[
            "actions/audit-login.ts(3,23): error TS2345: Argument of type '\"actions:metrics\"' is not assignable to parameter of type '\"actions:logger\"'.",
            // `require` is typed from v2's source: `sendLog` is async, so its result is a promise.
            "actions/audit-login.ts(5,11): error TS2362: The left-hand side of an arithmetic operation must be of type 'any', 'number', 'bigint' or an enum type.",
            "modules/logger/v2.js(8,41): error TS2551: Property 'secret' does not exist on type '{ readonly secrets: Readonly<Record<string, string>>; }'. Did you mean 'secrets'?",
        ],
    );
}

#[test]
fn the_reference_jsdoc_names_exist_and_are_checked() {
    let ws = copy("log-user");
    let path = ws.path().join("actions/log-user.js");
    let source = std::fs::read_to_string(&path).expect("read");
    let broken = source.replace("event.user?.email", "event.user?.emial");
    assert_ne!(broken, source, "the example changed: update this test");
    std::fs::write(&path, broken).expect("write");
    let out = project(ws.path());
    // The editor's view reads the file itself, so its `@param {IntelliAuthActionEvent}` types
    // the parameters.
    assert_fails_with(
        out.path(),
        "tsconfig.editor.json",
        &[
            "error TS2551: Property 'emial' does not exist on type 'AuthflowEventUser'. Did you mean 'email'?",
        ],
    );
}

#[test]
fn types_prints_the_declarations_and_refuses_a_directory_without_a_workspace() {
    let empty = TempDir::new().expect("a temporary directory");
    let printed = authflow(&["types"], empty.path());
    assert!(printed.status.success());
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(
        text.contains("type IntelliAuthActionEvent = AuthflowEvent;"),
        "{text}"
    );
    let out = empty.path().join("out");
    let refused = authflow(
        &["types", ".", "--out", out.to_str().expect("UTF-8")],
        empty.path(),
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("authflow.yaml"));
    assert!(!out.exists(), "nothing is written for a refused workspace");
}
