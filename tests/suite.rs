//! The flow test runner (`authflow test`, `authflow::suite`) against fixture workspaces in
//! tests/fixtures/suite/ and the examples: limit breaches that fail one case only, tenants that
//! cannot see each other, fetches without a recording, diagnostics, `--update` round trips,
//! JUnit read back by a real JUnit parser (Python's junitparser), coverage with a known
//! answer, and `authflow check` reporting test files through the same loader.

mod support;
use authflow::js::{Engine, EngineConfig};
use authflow::suite::{self, Options, Status, WorkspaceSuite, coverage};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::copy_tree;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/suite")
        .join(name)
}

fn load(root: &Path) -> WorkspaceSuite {
    let suite = suite::load(root, &[], None).expect("suite loads");
    assert!(
        suite.diagnostics.is_empty(),
        "unexpected diagnostics: {:?}",
        suite.diagnostics
    );
    suite
}

fn one_at_a_time() -> Options {
    Options {
        jobs: 1,
        ..Options::default()
    }
}

fn authflow(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_authflow"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("authflow runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn names_and_status(
    suites: &[WorkspaceSuite],
    results: &[suite::CaseResult],
) -> Vec<(String, Status)> {
    results
        .iter()
        .map(|r| (suites[r.suite].cases[r.case].name.clone(), r.status))
        .collect()
}

#[test]
fn a_limit_breach_fails_its_case_and_the_next_case_in_the_process_passes() {
    let suites = vec![load(&fixture("limits"))];
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let results = suite::run(&suites, &engine, &one_at_a_time(), &|_| {});
    assert_eq!(
        names_and_status(&suites, &results),
        vec![
            ("spin".to_string(), Status::Failed),
            ("after spin".to_string(), Status::Passed),
            ("bomb".to_string(), Status::Failed),
            ("after bomb".to_string(), Status::Passed),
            ("unrecorded fetch".to_string(), Status::Failed),
        ]
    );
    let failure = |i: usize| {
        results[i].trace.as_ref().unwrap().blocks[0]
            .failure
            .clone()
            .expect("the action failed")
    };
    assert_eq!(failure(0).kind, "limit: CPU time limit");
    assert!(failure(2).kind.starts_with("limit:"), "{:?}", failure(2));
    // The breach shows in the diff as the deny reason the case did not expect.
    assert!(
        results[0]
            .mismatches
            .iter()
            .any(|m| m.path == "reason" && m.actual.contains("block `work` failed")),
        "{:?}",
        results[0].mismatches
    );
}

#[test]
fn a_fetch_without_a_recording_fails_the_case_and_names_the_url() {
    let suites = vec![load(&fixture("limits"))];
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let options = Options {
        filter: Some("unrecorded".into()),
        ..one_at_a_time()
    };
    let results = suite::run(&suites, &engine, &options, &|_| {});
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result.status, Status::Failed);
    // The action caught the error and finished; the case fails anyway, on the fetch alone.
    assert_eq!(result.mismatches.len(), 1, "{:?}", result.mismatches);
    assert_eq!(result.mismatches[0].path, "fetch");
    assert!(
        result.mismatches[0]
            .actual
            .contains("POST https://svc.example/unrecorded"),
        "{}",
        result.mismatches[0].actual
    );
}

#[test]
fn two_tenants_in_one_process_never_see_each_others_globals_or_prototypes() {
    // Same tenant id, same action code, two workspaces: still two tenants to the engine.
    let suites = vec![load(&fixture("tenant-a")), load(&fixture("tenant-b"))];
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let results = suite::run(&suites, &engine, &one_at_a_time(), &|_| {});
    let statuses = names_and_status(&suites, &results);
    assert_eq!(
        statuses,
        vec![
            ("first run sees a clean runtime".to_string(), Status::Passed),
            (
                "second run sees its own tenant's global".to_string(),
                Status::Passed
            ),
            (
                "the other tenant's marks are invisible".to_string(),
                Status::Passed
            ),
        ],
        "{:?}",
        results.iter().map(|r| &r.mismatches).collect::<Vec<_>>()
    );
    // Tenant B's run really looked: it read both marks and found neither.
    let state = &results[2].trace.as_ref().unwrap().state["peek"];
    assert_eq!(state["global_before"], "none");
    assert_eq!(state["proto_before"], "none");
}

#[test]
fn coverage_of_a_partly_tested_flow_has_the_known_answer() {
    let suites = vec![load(&fixture("coverage"))];
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let results = suite::run(&suites, &engine, &Options::default(), &|_| {});
    assert!(results.iter().all(|r| r.status == Status::Passed));
    let flows = coverage::compute(&suites, &results);
    assert_eq!(flows.len(), 1);
    let flow = &flows[0];
    // Blocks ran 3/5 (block-tor skipped, note unreached); guard sides 1/4 (block-tor false
    // only); branch arms 1/2 (fast-lane jumped, never fell through); actions 1/1.
    assert_eq!((flow.covered, flow.total, flow.percent), (6, 12, 50.0));
    assert_eq!(
        coverage::gaps(flow),
        vec![
            "block `block-tor` (line 5) never ran",
            "guard of `block-tor` (line 7) was never true: event.request.asn.is_tor",
            "branch `fast-lane` (line 12) never fell through",
            "block `note` (line 16) was never reached",
            "guard of `note` (line 18) was never true: event.request.geo.country == \"RU\"",
            "guard of `note` (line 18) was never false: event.request.geo.country == \"RU\"",
        ]
    );
    let lcov = coverage::lcov(&flows);
    for line in [
        "FN:9,mark",
        "FNDA:1,mark",
        "BRDA:7,0,0,0",
        "BRDA:7,0,1,1",
        "BRDA:12,2,0,1",
        "BRDA:12,2,1,0",
        "BRDA:18,3,0,-",
        "DA:5,0",
        "DA:9,1",
        "DA:16,0",
        "DA:22,1",
        "LF:5",
        "LH:3",
        "BRF:6",
        "BRH:2",
        "end_of_record",
    ] {
        assert!(
            lcov.lines().any(|l| l == line),
            "missing `{line}` in:\n{lcov}"
        );
    }
}

#[test]
fn every_example_suite_passes_with_full_coverage() {
    let roots = example_workspaces();
    let suites: Vec<WorkspaceSuite> = roots.iter().map(|r| load(r)).collect();
    for (root, suite) in roots.iter().zip(&suites) {
        assert!(
            !suite.cases.is_empty(),
            "{} has no test cases",
            root.display()
        );
    }
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let results = suite::run(&suites, &engine, &Options::default(), &|_| {});
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.status != Status::Passed)
        .map(|r| (&suites[r.suite].cases[r.case].name, &r.mismatches))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    for flow in coverage::compute(&suites, &results) {
        assert_eq!(
            flow.percent,
            100.0,
            "{}: {:?}",
            flow.file,
            coverage::gaps(&flow)
        );
    }
}

/// Asserts that `out` holds every one of `needles`.
fn assert_all_in(out: &str, needles: &[&str]) {
    for needle in needles {
        assert!(out.contains(needle), "missing `{needle}` in:\n{out}");
    }
}

/// Every example workspace (`examples/*/authflow.yaml`), in order.
fn example_workspaces() -> Vec<PathBuf> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut roots: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("authflow.yaml").is_file())
        .collect();
    roots.sort();
    roots
}

/// A copy of a fixture workspace in a temporary directory, for commands that write.
fn scratch(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture(name), dir.path());
    dir
}

const STALE: &str = "\
# Expectations written before the flow changed; --update brings them up to date.
flow: login
tests:
  - name: US lane   # the lane for US users
    event: logged-in-us-user
    expect:
      outcome: allow        # was allow before the welcome block
      reason: welcome
      blocks:
        completed: [mark, note]
        not_reached:
          - fast-lane   # this comment stays
      state: { mark: { vip: false } }
      failures: { mark: { kind: threw } }
  - name: table
    event: logged-in-us-user
    expect: { outcome: deny }
    each:
      - { name: tor, event: { request: { asn: { is_tor: true } } }, expect: { reason: welcome } }
      - { name: plain, expect: { reason: welcome } }
";

#[test]
fn update_rewrites_only_failing_expectations_and_keeps_comments() {
    let dir = scratch("coverage");
    let file = dir.path().join("tests/partial.test.yaml");
    std::fs::write(&file, STALE).unwrap();
    let (code, out, _) = authflow(&["test", "--quiet"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 passed, 2 failed"), "{out}");
    let (code, out, _) = authflow(&["test", "--quiet", "--update"], dir.path());
    assert_eq!(
        code, 1,
        "the run that updates still reports the failures:\n{out}"
    );
    let updated = std::fs::read_to_string(&file).unwrap();
    let expected = STALE
        .replace("outcome: allow        #", "outcome: deny        #")
        .replace("completed: [mark, note]", "completed: [mark, fast-lane]")
        .replace("        not_reached:\n          - fast-lane   #", "        not_reached:\n          - note   #")
        .replace("{ mark: { vip: false } }", "{ mark: { vip: true } }")
        .replace("failures: { mark: { kind: threw } }", "failures: {}")
        .replace("{ name: tor, event: { request: { asn: { is_tor: true } } }, expect: { reason: welcome } }",
                 "{ name: tor, event: { request: { asn: { is_tor: true } } }, expect: { reason: tor } }");
    assert_eq!(updated, expected);
    let (code, out, _) = authflow(&["test"], dir.path());
    assert_eq!(code, 0, "after --update every case passes:\n{out}");
    assert!(out.contains("3 passed, 0 failed"), "{out}");
}

#[test]
fn update_refuses_a_file_that_does_not_parse() {
    let dir = scratch("coverage");
    let file = dir.path().join("tests/partial.test.yaml");
    let broken = "flow: login\ntests:\n  - name: x\n    expect: { outcome: allow\n";
    std::fs::write(&file, broken).unwrap();
    let (code, out, _) = authflow(&["test", "--update"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("AF001"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
}

#[test]
fn malformed_files_and_unknown_names_are_diagnostics_with_spans() {
    let dir = scratch("coverage");
    let file = dir.path().join("tests/partial.test.yaml");
    std::fs::write(
        &file,
        "flow: login\ntests:\n  - name: typos\n    event: logged-in-us-usr\n  - name: names\n    event: logged-in-us-user\n    expect:\n      blocks: { completed: [marc] }\n      state: { mark: { vipp: true } }\n",
    )
    .unwrap();
    let (code, out, _) = authflow(&["test"], dir.path());
    assert_eq!(code, 1);
    for needle in [
        "AF004(invalid-value)",
        "`logged-in-us-usr` is not an event preset",
        "did you mean the preset `logged-in-us-user`?",
        "AF060(unknown-test-target)",
        "the flow has no block `marc`",
        "did you mean `mark`?",
        "action `mark` never writes state key `vipp`",
        "tests/partial.test.yaml:4:12",
        "tests/partial.test.yaml:8:29",
        "3 errors",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in:\n{out}");
    }
    std::fs::write(&file, "flow: login\ntests:\n  - nme: x\n").unwrap();
    let (code, out, _) = authflow(&["test"], dir.path());
    assert_eq!(code, 1);
    assert!(
        out.contains("unknown key `nme`") && out.contains("did you mean `name`?"),
        "{out}"
    );
    // The same files, fixed, raise nothing: AF060 has a passing side too.
    std::fs::write(&file, "flow: login\ntests:\n  - name: ok\n    event: logged-in-us-user\n    expect: { blocks: { completed: [mark] }, state: { mark: { vip: true } } }\n").unwrap();
    let (code, out, _) = authflow(&["test"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("AF060"));
}

#[test]
fn exit_codes_are_0_1_and_2() {
    let (code, _, _) = authflow(&["test", "--quiet"], &fixture("tenant-a"));
    assert_eq!(code, 0);
    let (code, _, _) = authflow(&["test", "--quiet"], &fixture("limits"));
    assert_eq!(code, 1);
    let (code, _, err) = authflow(&["test", "no/such/path"], &fixture("limits"));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = authflow(&["test", "-j", "0"], &fixture("limits"));
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = authflow(
        &["test", "--quiet", "--min-coverage", "90"],
        &fixture("coverage"),
    );
    assert_eq!(code, 1, "coverage 50% is below 90:\n{out}");
}

#[test]
fn junit_reports_are_read_back_by_junitparser() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let (code, _, _) = authflow(
        &["test", "--quiet", "--junit", junit.to_str().unwrap()],
        &fixture("limits"),
    );
    assert_eq!(code, 1);
    let script = r#"
import sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    print("suite", suite.name, suite.tests, suite.failures)
    for case in suite:
        failed = [r for r in case.result if isinstance(r, Failure)]
        print("case", case.name, "failed" if failed else "passed")
        for f in failed:
            print("text", (f.text or "").replace("\n", " | "))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&junit)
        .output()
        .expect("python3 runs (installed by .ci/setup, with junitparser)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("text")).collect();
    assert_eq!(
        lines,
        vec![
            "suite tests/limits.test.yaml 5 3",
            "case spin failed",
            "case after spin passed",
            "case bomb failed",
            "case after bomb passed",
            "case unrecorded fetch failed",
        ]
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("text") && l.contains("reason (tests/limits.test.yaml:")),
        "failures carry the diff:\n{text}"
    );
}

#[test]
fn test_files_that_lead_out_of_the_workspace_or_are_not_files_are_refused() {
    let dir = scratch("coverage");
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "flow: login\ntests: []\n").unwrap();
    let link = dir.path().join("tests/outside.test.yaml");
    std::os::unix::fs::symlink(outside.path(), &link).unwrap();
    let (code, _, err) = authflow(&["test"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("outside the workspace"), "{err}");
    std::fs::remove_file(&link).unwrap();
    let fifo = dir.path().join("tests/fifo.test.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (code, _, err) = authflow(&["test"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn plain_lines_and_json_reports_follow_the_cases_order() {
    let (code, out, err) = authflow(&["test", "-j", "2"], &fixture("limits"));
    assert_eq!(code, 1);
    let names: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|rest| rest.rsplit_once(" (").map_or(rest, |(name, _)| name))
        .collect();
    assert_eq!(
        names,
        [
            "spin",
            "after spin",
            "bomb",
            "after bomb",
            "unrecorded fetch"
        ],
        "{err}"
    );
    assert!(out.ends_with("2 passed, 3 failed\n"), "{out}");
    let (_, out, _) = authflow(
        &["test", "-j", "2", "--format", "json", "--coverage"],
        &fixture("limits"),
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let statuses: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "passed", "failed", "passed", "failed"]);
    assert_eq!(report["summary"]["failed"], 3);
    assert_eq!(report["coverage"]["percent"], 100.0);
}

/// A copy of examples/event-stream (a login flow whose events the `logins` stream forwards to
/// a webhook) with `tests/extra.test.yaml` holding `tests`.
fn event_stream_with(tests: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/event-stream"),
        dir.path(),
    );
    std::fs::write(dir.path().join("tests/extra.test.yaml"), tests).unwrap();
    dir
}

const EMITTED: &str = "\
flow: login
defaults:
  event: logged-in-us-user
  secrets: { URL: https://hooks.acme.example/logins }
  fetch: [ { method: POST, url: https://hooks.acme.example/logins, status: 202 } ]
tests:
  - name: held
    expect:
      events:
        - type: login.succeeded
          subject: usr_ada
          data: { user: { email: ada@example.com }, authentication: { methods: [password] } }
          streams: [logins]
          deliveries: [ { stream: logins, action: forward-logins, attempt: 1, outcome: delivered } ]
  - name: wrong attempt
    expect: { events: [ { type: login.succeeded, deliveries: [ { attempt: 2 } ] } ] }
  - name: none expected
    expect: { events: [] }
  - name: wrong type
    expect: { events: [ { type: login.failed } ] }
  - name: wrong data
    expect: { events: [ { data: { user: { email: bob@example.com } } } ] }
  - name: denied, none emitted but login.failed
    credentials: { password: nope }
    expect: { outcome: deny, events: [ { type: login.failed, data: { reason: invalid-credentials } } ] }
  - name: unrecorded webhook
    secrets: { URL: https://hooks.acme.example/other }
    expect: { outcome: allow }
  - name: message delivered
    action: forward-logins
    message: events/message-login-succeeded.json
    expect: { outcome: failed }
";

#[test]
fn emitted_events_and_their_deliveries_are_expectations() {
    let dir = event_stream_with(EMITTED);
    let only = [dir.path().join("tests/extra.test.yaml")];
    let suite = suite::load(dir.path(), &only, None).unwrap();
    assert!(suite.diagnostics.is_empty(), "{:?}", suite.diagnostics);
    let suites = vec![suite];
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let results = suite::run(&suites, &engine, &Options::default(), &|_| {});
    let status: Vec<(String, Status, Vec<String>)> = results
        .iter()
        .map(|r| {
            (
                suites[0].cases[r.case].name.clone(),
                r.status,
                r.mismatches.iter().map(|m| m.path.clone()).collect(),
            )
        })
        .collect();
    let expected: Vec<(String, Status, Vec<String>)> = [
        ("held", Status::Passed, vec![]),
        ("wrong attempt", Status::Failed, vec!["events[0]"]),
        ("none expected", Status::Failed, vec!["events"]),
        ("wrong type", Status::Failed, vec!["events[0]"]),
        ("wrong data", Status::Failed, vec!["events[0]"]),
        (
            "denied, none emitted but login.failed",
            Status::Passed,
            vec![],
        ),
        // The delivery's fetch has no recording: the case fails even though the webhook's
        // failure never reaches the login.
        ("unrecorded webhook", Status::Failed, vec!["fetch"]),
        ("message delivered", Status::Failed, vec!["outcome"]),
    ]
    .into_iter()
    .map(|(n, s, p)| (n.to_string(), s, p.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(status, expected);
    let mismatch = |case: usize| &results[case].mismatches[0];
    assert_eq!(mismatch(2).expected, "no events");
    assert!(
        mismatch(2).actual.contains(r#""type":"login.succeeded""#)
            && mismatch(2).actual.contains(r#""outcome":"delivered""#),
        "{:?}",
        mismatch(2)
    );
    assert!(
        mismatch(6).actual.contains("logins/forward-logins")
            && mismatch(6).actual.contains("POST [redacted:URL]"),
        "the unrecorded fetch names the delivery and the (redacted) URL: {:?}",
        mismatch(6)
    );
    assert_eq!(mismatch(7).actual, r#""delivered""#);
    // The trace of a flow case carries the events and deliveries (JSON reports show them).
    let trace = results[0].trace.as_ref().unwrap();
    assert_eq!(trace.events.len(), 1);
    assert_eq!(trace.events[0].deliveries[0].fetches[0]["status"], 202);
}

#[test]
fn update_rewrites_an_events_expectation_from_what_was_emitted() {
    let tests = "flow: login\ntests:\n  - name: stale\n    event: logged-in-us-user\n    secrets: { URL: https://hooks.acme.example/logins }\n    fetch: [ { method: POST, url: https://hooks.acme.example/logins, status: 202 } ]\n    expect:\n      events: [ { type: login.failed } ]   # was a failed login\n";
    let dir = event_stream_with(tests);
    let (code, out, _) = authflow(&["test", "--quiet", "--update"], dir.path());
    assert_eq!(code, 1, "{out}");
    let updated = std::fs::read_to_string(dir.path().join("tests/extra.test.yaml")).unwrap();
    assert!(
        updated.contains("      events: [{ type: login.succeeded, subject: usr_ada, deliveries: [{ stream: logins, action: forward-logins, attempt: 1, outcome: delivered }] }]   # was a failed login\n"),
        "{updated}"
    );
    let (code, out, _) = authflow(&["test", "--quiet"], dir.path());
    assert_eq!(code, 0, "{out}");
}

#[test]
fn message_cases_and_event_expectations_that_do_not_fit_are_diagnostics() {
    let tests = "\
tests:
  - name: a flow given a message
    flow: login
    event: logged-in-us-user
    message: events/message-login-succeeded.json
  - name: a stream action given a login event
    action: forward-logins
    event: logged-in-us-user
    message: events/message-login-succeeded.json
  - name: no message
    action: forward-logins
  - name: login expectations on a message case
    action: forward-logins
    message: { from: events/message-login-succeeded.json, type: login.sucess }
    expect: { outcome: allow, state: { forward-logins: { x: 1 } } }
  - name: unknown names in events
    flow: login
    event: logged-in-us-user
    expect:
      outcome: delivered
      events: [ { type: login.success, streams: [login], deliveries: [ { action: forward } ] } ]
";
    let dir = event_stream_with(tests);
    let (code, out, _) = authflow(&["test"], dir.path());
    assert_eq!(code, 1, "{out}");
    for needle in [
        "only an event-stream action receives a `message:`",
        "tests/extra.test.yaml:5:14",
        "an event-stream action receives a stream message, not a login event",
        "tests/extra.test.yaml:8:12",
        "an event-stream action's test needs the message it receives",
        "a message case does not end `allow`",
        "a message case ends `delivered` or `failed`",
        "an event-stream action's run has no `state`",
        "the message does not follow the event-type catalogue: message.type",
        "a login run does not end `delivered`",
        "no event type `login.success`",
        "did you mean `login.succeeded`?",
        "no stream `login` in the workspace",
        "did you mean `logins`?",
        "no stream action `forward` in the workspace",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in:\n{out}");
    }
}

#[test]
fn a_stream_with_errors_stops_the_flow_cases_that_would_deliver_to_it() {
    let dir =
        event_stream_with("flow: login\ntests:\n  - { name: ok, event: logged-in-us-user }\n");
    std::fs::write(
        dir.path().join("streams/broken.yaml"),
        "events: [login.sucess]\nactions: [forward-logins]\n",
    )
    .unwrap();
    let (code, out, _) = authflow(&["test", "tests/extra.test.yaml"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("streams/broken.yaml") && out.contains("login.sucess"),
        "{out}"
    );
}

#[test]
fn every_example_suite_follows_the_published_test_schema() {
    let (code, schema, err) = authflow(&["schema", "test"], Path::new(env!("CARGO_MANIFEST_DIR")));
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let schema_file = dir.path().join("test.schema.json");
    std::fs::write(&schema_file, schema).unwrap();
    let script = "import glob, json, sys, jsonschema, yaml\n\
schema = json.load(open(sys.argv[1]))\n\
files = sorted(glob.glob('examples/*/tests/**/*.test.yaml', recursive=True))\n\
for f in files:\n    jsonschema.validate(yaml.safe_load(open(f)), schema)\n\
print(len(files))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&schema_file)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(count >= 8, "only {count} example suites checked");
}

#[test]
fn a_signing_secret_without_a_value_is_a_warning_and_a_short_one_fails_the_cases() {
    let dir = scratch("tenant-a");
    let settings = dir.path().join("authflow.yaml");
    let base = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{base}secrets: [SESSION_KEY]\nsession: {{ signing_secret: SESSION_KEY }}\n"),
    )
    .unwrap();
    let (code, out, err) = authflow(&["test", "--quiet"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("warning: session.signing_secret `SESSION_KEY` has no value"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_authflow"))
        .args(["test", "--quiet"])
        .current_dir(dir.path())
        .env("AUTHFLOW_SECRET_SESSION_KEY", "short")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("HS256 needs a key of at least"), "{stdout}");
}

/// The broken test file the `check` tests write: a block, a state key and a flow that do not
/// exist (lines 6, 7 and 9).
const BROKEN_TESTS: &str = "flow: login\ntests:\n  - name: names\n    event: logged-in-us-user\n    expect:\n      blocks: { completed: [marc] }\n      state: { mark: { vipp: true } }\n  - name: elsewhere\n    flow: lgin\n";

#[test]
fn check_reports_a_broken_test_file_with_the_workspace_and_exits_1() {
    let dir = scratch("coverage");
    let (code, out, _) = authflow(&["check"], dir.path());
    assert_eq!(code, 0, "the fixture checks clean:\n{out}");
    std::fs::write(dir.path().join("tests/partial.test.yaml"), BROKEN_TESTS).unwrap();
    let (code, out, err) = authflow(&["check"], dir.path());
    assert_eq!(code, 1, "{out}{err}");
    assert_all_in(
        &out,
        &[
            "AF060(unknown-test-target)",
            "the flow has no block `marc`",
            "[tests/partial.test.yaml:6:29]",
            "did you mean `mark`?",
            "action `mark` never writes state key `vipp`",
            "[tests/partial.test.yaml:7:24]",
            "did you mean `vip`?",
            "no flow `lgin` in the workspace",
            "[tests/partial.test.yaml:9:11]",
            "did you mean `login`?",
            "3 errors, 0 warnings",
        ],
    );
    // `authflow test` reports the same diagnostics: one loader.
    let (code, test_out, _) = authflow(&["test"], dir.path());
    assert_eq!(code, 1);
    assert!(
        test_out.contains("[tests/partial.test.yaml:9:11]"),
        "{test_out}"
    );
    // One flow file is checked alone: the workspace's tests are not.
    let (code, out, _) = authflow(&["check", "flows/login.yaml"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("AF060"), "{out}");
    // A directory of the workspace is the workspace, tests included.
    let (code, out, _) = authflow(&["check", "flows"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[tests/partial.test.yaml:6:29]"), "{out}");
}

#[test]
fn check_json_and_sarif_carry_test_file_diagnostics_with_their_places() {
    let dir = scratch("coverage");
    std::fs::write(dir.path().join("tests/partial.test.yaml"), BROKEN_TESTS).unwrap();
    let (code, out, _) = authflow(&["check", "--format", "json"], dir.path());
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(String, u64, u64, String, String)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
                d["help"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let file = "tests/partial.test.yaml".to_string();
    assert_eq!(
        found,
        vec![
            (
                file.clone(),
                6,
                29,
                "AF060".into(),
                "did you mean `mark`?".into()
            ),
            (
                file.clone(),
                7,
                24,
                "AF060".into(),
                "did you mean `vip`?".into()
            ),
            (
                file.clone(),
                9,
                11,
                "AF060".into(),
                "did you mean `login`?".into()
            ),
        ]
    );
    assert!(
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["severity"] == "error")
    );
    let (code, out, _) = authflow(&["check", "--format", "sarif"], dir.path());
    assert_eq!(code, 1, "{out}");
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{out}");
    let place = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(results[0]["ruleId"], "AF060");
    assert!(
        place["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("tests/partial.test.yaml"),
        "{place}"
    );
    assert_eq!(place["region"]["startLine"], 6);
    assert_eq!(place["region"]["startColumn"], 29);
}

#[test]
fn check_every_environment_loads_the_tests_in_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/geo-policy"),
        dir.path(),
    );
    let file = dir.path().join("tests/login.test.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("not_reached: [risk-lookup]"));
    std::fs::write(
        &file,
        text.replacen(
            "not_reached: [risk-lookup]",
            "not_reached: [risk-lookpu]",
            1,
        ),
    )
    .unwrap();
    let (code, out, _) = authflow(&["check", "--env", "all", "--format", "json"], dir.path());
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for env in ["prod", "staging"] {
        let typo = report["environments"][env]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "AF060")
            .unwrap_or_else(|| panic!("no AF060 in {env}:\n{out}"));
        assert_eq!(typo["file"], "tests/login.test.yaml");
        assert_eq!(typo["message"], "the flow has no block `risk-lookpu`");
    }
    let (code, out, _) = authflow(&["check", "--env", "staging"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the flow has no block `risk-lookpu`"), "{out}");
}

#[test]
fn check_reports_a_refused_test_file_as_unreadable_and_goes_on() {
    let dir = scratch("coverage");
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "flow: login\ntests: []\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("tests/outside.test.yaml")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(dir.path().join("tests/fifo.test.yaml"))
            .status()
            .unwrap()
            .success()
    );
    std::fs::write(dir.path().join("tests/partial.test.yaml"), BROKEN_TESTS).unwrap();
    let (code, out, err) = authflow(&["check"], dir.path());
    assert_eq!(code, 1, "{out}{err}");
    assert_all_in(
        &out,
        &[
            "`tests/outside.test.yaml` was not read: it resolves to",
            "outside the workspace",
            "`tests/fifo.test.yaml` was not read: it is a FIFO",
            // The readable test file is still checked.
            "[tests/partial.test.yaml:6:29]",
            "5 errors",
        ],
    );
    assert_eq!(out.matches("AF051(unreadable-file)").count(), 2, "{out}");
    // `authflow test` still refuses to run without one of its files.
    let (code, _, err) = authflow(&["test"], dir.path());
    assert_eq!(code, 2, "{err}");
}

#[test]
fn every_example_workspace_checks_clean_with_its_tests() {
    let roots = example_workspaces();
    assert!(roots.iter().all(|r| r.join("tests").is_dir()), "{roots:?}");
    for root in roots {
        let (code, out, err) = authflow(&["check", root.to_str().unwrap()], &root);
        assert_eq!(code, 0, "{}:\n{out}{err}", root.display());
        assert!(out.contains("0 errors"), "{}:\n{out}", root.display());
    }
}
