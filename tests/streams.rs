//! Event streams as users run them: the reference's event-stream example through `stream run`
//! and through a flow run that emits its login event, retries with backoff and dead letters,
//! duplicates, per-user order under concurrency, bad input refused whole, stream checks, the
//! JSON Schemas (checked with Python's jsonschema), and `action test` with a message.

mod support;

use authflow::run::ActionResult;
use authflow::run::trace::Failure;
use authflow::streams::delivery::{self, Deliver, EventStatus, RunOptions};
use authflow::streams::{Message, Stream};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use support::copy_tree;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn authflow(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authflow"))
        .args(args)
        .current_dir(dir)
        .env("AUTHFLOW_SECRET_URL", "https://hooks.acme.example/logins")
        .env("AUTHFLOW_SECRET_API_KEY", "k3y-for-tests")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// A private copy of a workspace, so dead letters and stored runs land outside the repository.
fn workspace(source: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authflow-streams-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&root().join(source), &dir);
    dir
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn the_reference_example_forwards_each_message_through_the_allowlisted_fetch() {
    let dir = workspace("examples/event-stream", "reference");
    let args = [
        "stream",
        "run",
        "logins",
        "--events",
        "events/logins.jsonl",
        "--recordings",
        "events/recordings.json",
        "--simulated-clock",
        "--format",
        "json",
    ];
    let output = authflow(&args, &dir);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = json_of(&output);
    assert_eq!(
        report["summary"],
        json!({"events": 5, "delivered": 4, "retried": 0, "retries": 0, "dead_lettered": 0, "duplicates_skipped": 1})
    );
    let input: Vec<Value> = std::fs::read_to_string(dir.join("events/logins.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (event, sent) in report["events"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&input)
        .take(4)
    {
        assert_eq!(event["status"], "delivered");
        let delivery = &event["deliveries"][0];
        assert_eq!(delivery["action"], "forward-logins");
        let fetch = &delivery["fetches"][0];
        assert_eq!(fetch["method"], "POST");
        assert_eq!(fetch["status"], 202);
        assert_eq!(fetch["allowed"], true);
        // The body is the message itself: the envelope as sent, completed, with the stream id.
        let body: Value = serde_json::from_str(fetch["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["id"], sent["id"]);
        assert_eq!(body["type"], sent["type"]);
        assert_eq!(body["source"], "urn:authflow:tenant:ten_acme");
        assert_eq!(body["streamid"], "logins");
        assert_eq!(body["data"]["request"]["ip"], sent["data"]["request"]["ip"]);
        assert_eq!(body["data"]["request"]["asn"]["is_tor"], false);
    }
    assert_eq!(report["events"][4]["status"], "duplicate");
    assert_eq!(report["events"][4]["attempts"], 0);
    // Deterministic under the simulated clock: the same report again.
    let again = json_of(&authflow(&args, &dir));
    assert_eq!(report, again);
    assert!(!dir.join(".authflow/dead-letters/logins.jsonl").exists());
}

#[test]
fn a_flow_run_emits_its_login_event_to_the_subscribed_stream() {
    let dir = workspace("examples/event-stream", "flow-run");
    for (file, event_type, reason) in [
        ("events/login-success.json", "login.succeeded", None),
        (
            "events/login-wrong-password.json",
            "login.failed",
            Some("invalid-credentials"),
        ),
    ] {
        let output = authflow(
            &[
                "run",
                "flows/login.yaml",
                "--event",
                file,
                "--format",
                "json",
                "--no-store",
            ],
            &dir,
        );
        let trace = json_of(&output);
        // The blocks are the flow's own; the emitted event and its delivery sit beside them.
        assert!(
            trace["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|b| b["type"] != "forward-logins")
        );
        let events = trace["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{trace}");
        let message = &events[0]["message"];
        assert_eq!(message["type"], event_type);
        assert_eq!(message["specversion"], "1.0");
        assert_eq!(message["subject"], "usr_ada");
        assert_eq!(message["data"]["user"]["id"], "usr_ada");
        assert!(message["data"]["user"].get("password_hash").is_none());
        if let Some(reason) = reason {
            assert_eq!(message["data"]["reason"], reason);
        }
        assert_eq!(events[0]["streams"], json!(["logins"]));
        let delivery = &events[0]["deliveries"][0];
        assert_eq!(delivery["outcome"], "delivered");
        assert_eq!(delivery["attempt"], 1);
        let body: Value =
            serde_json::from_str(delivery["fetches"][0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["id"], message["id"]);
        assert_eq!(body["streamid"], "logins");
        // No secret value leaves the sandbox: the URL is redacted in the record.
        assert_eq!(delivery["fetches"][0]["url"], "[redacted:URL]");
    }
    let human = authflow(
        &[
            "run",
            "flows/login.yaml",
            "--event",
            "events/login-success.json",
            "--no-store",
        ],
        &dir,
    );
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("events emitted (delivered after the decision):"),
        "{text}"
    );
    assert!(
        text.contains("forward-logins attempt 1 · delivered"),
        "{text}"
    );
}

#[test]
fn metadata_changes_emit_user_updated_and_failures_retry_then_dead_letter() {
    let dir = workspace("tests/fixtures/streams/workspace", "retries");
    let trace = json_of(&authflow(
        &[
            "run",
            "flows/login.yaml",
            "--event",
            "events/ada-login.json",
            "--format",
            "json",
            "--no-store",
        ],
        &dir,
    ));
    let types: Vec<&str> = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["user.updated", "login.succeeded"]);
    let updated = &trace["events"][0];
    assert_eq!(
        updated["message"]["data"]["changed"],
        json!(["app_metadata"])
    );
    assert_eq!(
        updated["message"]["data"]["user"]["app_metadata"]["tier"],
        "gold"
    );
    assert_eq!(updated["deliveries"][0]["outcome"], "delivered");
    assert_eq!(trace["events"][1]["streams"], json!([]));

    let output = authflow(
        &[
            "stream",
            "run",
            "users",
            "--events",
            "events/users.jsonl",
            "--recordings",
            "events/recordings.json",
            "--simulated-clock",
            "--format",
            "json",
        ],
        &dir,
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "dead letters make the run fail"
    );
    let report = json_of(&output);
    assert_eq!(
        report["summary"],
        json!({"events": 6, "delivered": 4, "retried": 2, "retries": 3, "dead_lettered": 1, "duplicates_skipped": 1})
    );
    let flaky = &report["events"][1];
    assert_eq!(flaky["attempts"], 2);
    assert_eq!(flaky["deliveries"][0]["outcome"], "failed");
    assert_eq!(flaky["deliveries"][1]["outcome"], "delivered");
    let waited = flaky["deliveries"][1]["delay_ms"].as_u64().unwrap();
    assert!(
        (800..=1000).contains(&waited),
        "first retry waits 1000 ms less up to 20%: {waited}"
    );
    let broken = &report["events"][3];
    assert_eq!(broken["status"], "dead_lettered");
    let delays: Vec<u64> = broken["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["delay_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(delays[0], 0);
    assert!(
        (800..=1000).contains(&delays[1]) && (1600..=2000).contains(&delays[2]),
        "{delays:?}"
    );
    let letters = std::fs::read_to_string(dir.join(".authflow/dead/users.jsonl")).unwrap();
    let letters: Vec<Value> = letters
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["event"]["id"], "evt_04");
    assert_eq!(letters[0]["action"], "flaky");
    assert_eq!(letters[0]["attempts"], 3);
    assert_eq!(
        letters[0]["failure"]["message"],
        "Error: cannot deliver evt_04"
    );
    assert_eq!(letters[0]["failure"]["line"], 6);
    // A second run appends; nothing is overwritten.
    authflow(
        &[
            "stream",
            "run",
            "users",
            "--events",
            "events/users.jsonl",
            "--recordings",
            "events/recordings.json",
            "--simulated-clock",
        ],
        &dir,
    );
    let letters = std::fs::read_to_string(dir.join(".authflow/dead/users.jsonl")).unwrap();
    assert_eq!(letters.lines().count(), 2);
}

#[test]
fn bad_input_is_refused_whole_with_line_numbers() {
    let dir = workspace("examples/event-stream", "bad-input");
    let good = std::fs::read_to_string(dir.join("events/logins.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    let mut wrong: Value = serde_json::from_str(first).unwrap();
    wrong["type"] = json!("login.success");
    wrong["source"] = json!("urn:authflow:tenant:ten_other");
    let text = format!("{first}\nnot json\n{}\n", wrong);
    std::fs::write(dir.join("events/bad.jsonl"), text).unwrap();
    let output = authflow(
        &[
            "stream",
            "run",
            "logins",
            "--events",
            "events/bad.jsonl",
            "--simulated-clock",
        ],
        &dir,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2: $: not JSON"), "{stderr}");
    assert!(
        stderr.contains("line 3: message.source: the event belongs to tenant `ten_other`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `login.succeeded`?"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing was delivered");
    let fifo = authflow(&["stream", "run", "logins", "--events", "events"], &dir);
    assert_eq!(fifo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&fifo.stderr).contains("not a regular file"));
}

#[test]
fn stream_files_are_checked_before_anything_runs() {
    let dir = workspace("tests/fixtures/streams/workspace", "checks");
    std::fs::write(
        dir.join("streams/broken.yaml"),
        "events: [user.create, login.succeeded]\nactions: [tier, flaky, nope]\ndelivery: { attempts: 0 }\n",
    )
    .unwrap();
    let output = authflow(
        &["stream", "run", "broken", "--events", "events/users.jsonl"],
        &dir,
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("`attempts` is out of range"), "{text}");
    std::fs::write(
        dir.join("streams/broken.yaml"),
        "events: [user.create, login.succeeded]\nactions: [tier, flaky, nope]\n",
    )
    .unwrap();
    let output = authflow(
        &["stream", "run", "broken", "--events", "events/users.jsonl"],
        &dir,
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "AF090",
        "`user.create` is not an event type",
        "did you mean `user.created`?",
        "`tier` is a login action; streams run only event-stream actions",
        "`flaky` does not handle `login.succeeded` that stream `broken` delivers",
        "the workspace has no action `nope`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let unknown = authflow(
        &["stream", "run", "user", "--events", "events/users.jsonl"],
        &dir,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean `users`?"));
}

#[test]
fn action_test_runs_an_event_stream_action_on_a_message() {
    let dir = workspace("examples/event-stream", "action-test");
    let output = authflow(
        &[
            "action",
            "test",
            "forward-logins",
            "--event",
            "events/message-login-succeeded.json",
            "--format",
            "json",
        ],
        &dir,
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = json_of(&output);
    let text = report.to_string();
    assert!(
        text.contains("evt_0001"),
        "the message was forwarded: {text}"
    );
    std::fs::write(
        dir.join("events/login-event.json"),
        json!({"message": {"specversion": "1.0"}, "request": {}}).to_string(),
    )
    .unwrap();
    let refused = authflow(
        &[
            "action",
            "test",
            "forward-logins",
            "--event",
            "events/login-event.json",
        ],
        &dir,
    );
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("event.request: unknown field"), "{stderr}");
    assert!(
        stderr.contains("message.id: missing required attribute"),
        "{stderr}"
    );
}

/// Validates `instances` against a schema with Python's jsonschema (Draft 2020-12).
fn python_validate(schema: &Value, instances: &[Value]) -> Result<(), String> {
    let script = "import json,sys\nfrom jsonschema import Draft202012Validator as V\nd=json.load(sys.stdin)\nV.check_schema(d['schema'])\nv=V(d['schema'])\nbad=[(i,e.message) for i,x in enumerate(d['instances']) for e in v.iter_errors(x)]\nprint(json.dumps(bad))\nsys.exit(1 if bad else 0)\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with jsonschema (installed by .ci/setup)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            json!({"schema": schema, "instances": instances})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

#[test]
fn the_json_schemas_accept_what_authflow_reads_and_emits() {
    let dir = workspace("examples/event-stream", "schemas");
    let event_schema = json_of(&authflow(&["schema", "stream-event"], &dir));
    let mut instances: Vec<Value> = std::fs::read_to_string(dir.join("events/logins.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let trace = json_of(&authflow(
        &[
            "run",
            "flows/login.yaml",
            "--event",
            "events/login-success.json",
            "--format",
            "json",
            "--no-store",
        ],
        &dir,
    ));
    instances.push(trace["events"][0]["message"].clone());
    python_validate(&event_schema, &instances).unwrap();
    let mut wrong = instances[0].clone();
    wrong["data"]["reason"] = json!("login.succeeded has no reason");
    assert!(python_validate(&event_schema, &[wrong]).is_err());

    let stream_schema = json_of(&authflow(&["schema", "stream"], &dir));
    let stream = json!({"events": ["login.succeeded"], "actions": ["forward-logins"], "delivery": {"concurrency": 2, "backoff": {"jitter": 0.5}, "dead_letter": {"file": "dl.jsonl"}}});
    python_validate(&stream_schema, &[stream]).unwrap();
    assert!(
        python_validate(
            &stream_schema,
            &[json!({"events": [], "actions": [], "retries": 3})]
        )
        .is_err()
    );
}

/// A deliverer that records the order it saw each user's events in, fails the first attempt
/// of chosen events, and sleeps a little so workers interleave.
struct Recorder {
    seen: Mutex<Vec<(String, String)>>,
    fail_first: Vec<&'static str>,
    attempts: Mutex<std::collections::HashMap<String, u32>>,
}

impl Deliver for Recorder {
    fn deliver(
        &self,
        _worker: usize,
        message: &Message,
        _action: &str,
        _clock: i64,
    ) -> Option<ActionResult> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(message.id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        std::thread::sleep(std::time::Duration::from_millis(2));
        if attempt == 1 && self.fail_first.contains(&message.id.as_str()) {
            return Some(ActionResult {
                failure: Some(Failure {
                    kind: "rejected".into(),
                    message: "try again".into(),
                    file: None,
                    line: None,
                    column: None,
                }),
                ..ActionResult::default()
            });
        }
        let user = message.ordering_key.clone().unwrap_or_default();
        self.seen.lock().unwrap().push((user, message.id.clone()));
        Some(ActionResult::default())
    }
}

#[test]
fn each_users_events_are_delivered_in_order_under_concurrency() {
    let spec = authflow::syntax::yaml::from_str::<authflow::streams::StreamSpec>(
        "events: [user.updated]\nactions: [recorder]\ndelivery: { concurrency: 4, attempts: 3, backoff: { initial_ms: 5, max_ms: 20 } }\n",
        authflow::diagnostic::FileId(0),
    )
    .unwrap();
    let stream = Stream {
        name: "order".into(),
        file: authflow::diagnostic::FileId(0),
        spec,
    };
    let mut lines = String::new();
    for i in 0..60 {
        let user = format!("usr_{}", i % 5);
        lines.push_str(
            &json!({
                "specversion": "1.0", "id": format!("evt_{i:03}"), "source": "urn:authflow:tenant:ten_t",
                "type": "user.updated", "time": "2026-01-15T12:00:00Z", "tenantid": "ten_t",
                "data": { "user": { "id": user }, "changed": ["app_metadata"] }
            })
            .to_string(),
        );
        lines.push('\n');
    }
    let messages = authflow::streams::parse_events(&lines, "ten_t").unwrap();
    let recorder = Recorder {
        seen: Mutex::new(Vec::new()),
        fail_first: vec!["evt_000", "evt_012", "evt_031"],
        attempts: Mutex::new(Default::default()),
    };
    // Real clock: the retries wait their (short) backoff while other users go on.
    let options = RunOptions {
        simulated_clock: false,
        concurrency: 4,
    };
    let report = delivery::deliver_all(&stream, &messages, &recorder, &options, &|| {});
    assert_eq!(report.summary.delivered, 60);
    assert_eq!(report.summary.retried, 3);
    assert!(
        report
            .events
            .iter()
            .all(|e| e.status == EventStatus::Delivered)
    );
    let seen = recorder.seen.into_inner().unwrap();
    assert_eq!(seen.len(), 60, "each event delivered once");
    for user in 0..5 {
        let order: Vec<&str> = seen
            .iter()
            .filter(|(u, _)| *u == format!("usr_{user}"))
            .map(|(_, id)| id.as_str())
            .collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "usr_{user}'s events out of order");
    }
}

#[test]
fn event_stream_actions_cannot_reach_login_only_api_even_when_they_catch() {
    use authflow::js::{self, ActionInput, ActionSource, Engine, EngineConfig, FailureKind};
    let engine = Engine::new(EngineConfig::default()).unwrap();
    for call in [
        "api.state.set('k', 1)",
        "api.user.setAppMetadata({ tier: 'x' })",
        "api.session.setCustomClaim('c', 1)",
        "api.deny('no')",
    ] {
        let source = ActionSource {
            slug: "sneaky".into(),
            file_name: "sneaky.js".into(),
            code: format!(
                "exports.onExecuteEventStream = async (event, api) => {{ try {{ {call}; }} catch (e) {{}} api.log('info', 'after'); }};"
            ),
            trigger: js::Trigger::EventStream,
            modules: Vec::new(),
            secrets: Default::default(),
        };
        let outcome = engine.run(
            "ten_test",
            &source,
            ActionInput {
                event: &json!({ "message": {} }),
                limits: &js::Limits::default(),
                fetch: &js::FetchPolicy::default(),
                clock_ms: 0,
            },
        );
        let failure = outcome.failure.expect("api misuse fails the run");
        assert_eq!(failure.kind, FailureKind::Api, "{call}: {failure:?}");
        assert!(
            failure.message.contains("event-stream actions"),
            "{call}: {}",
            failure.message
        );
        assert!(outcome.state_writes.is_empty() && outcome.claims.is_empty());
        assert!(outcome.metadata_patch.is_empty());
    }
}
