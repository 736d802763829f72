//! Resource guarantees of the custom-action engine, measured from outside the engine.
//!
//! Memory: the peak resident set of a whole `authflow` process (read with `wait4`, as the
//! kernel accounts it) running native bulk operations under the default 64 MiB heap budget,
//! each alone and four in one flow, must stay within the peak of the same command running a
//! trivial action plus the heap budget plus `Limits::HEAP_OVERHEAD_BYTES`.
//!
//! CPU: after a run that was stopped for its CPU budget returns, the runtime's thread must
//! not run tenant code any more: its CPU clock (read from `/proc/self/task`) must stay still,
//! whether the script kept running in promise jobs, in getters the engine calls while it
//! reports an error, or in a job queue that outlives any termination.
//!
//! Tests assert resource use, never speed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use authflow::js::{
    ActionInput, ActionOutcome, ActionSource, Engine, EngineConfig, FailureKind, FetchPolicy,
    LimitKind, Limits, Trigger,
};
use serde_json::json;

// --- Memory -----------------------------------------------------------------------------------

/// Native bulk operations that each allocate far more than the 64 MiB heap budget, all inside
/// built-ins (no script loop sees a termination while they run).
const BULK: &[(&str, &str)] = &[
    ("fill", "Array(1e8).fill(0);"),
    ("split", "'ab,'.repeat(3e7).split(',');"),
    ("json-parse", "JSON.parse('[' + '1,'.repeat(3e7) + '1]');"),
    (
        "spread-args",
        "const a = new Array(5e6).fill(1); Math.max(...a); [...a, ...a, ...a];",
    ),
    ("spread-string", "[...'x'.repeat(3e7)];"),
    ("typed-array", "new Uint8Array(5e8).fill(1);"),
    ("array-from", "Array.from({ length: 1e8 });"),
    (
        "map",
        "new Map(Array.from({ length: 1e8 }, (_, i) => [i, i]));",
    ),
    ("repeat", "'x'.repeat(1e9);"),
    ("join", "Array(3e7).fill('ab').join(',');"),
];

/// Time budgets generous enough for a loaded machine: the memory tests must reach the heap
/// budget, never a time limit first.
const ROOMY_LIMITS: &str = "limits:\n  cpu_ms: 60000\n  wall_ms: 300000\n";

/// A workspace with `limits` (YAML under `limits:`), the given actions (slug, handler body)
/// and a flow running each of them in turn (`on_error: continue`), ending in a Deny.
fn workspace(dir: &Path, limits: &str, actions: &[(&str, &str)]) {
    let write = |path: &str, text: String| {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    write(
        "authflow.yaml",
        format!("tenant: {{ id: ten_mem, name: Memory, slug: memory }}\n{limits}"),
    );
    let mut blocks = String::new();
    for (slug, body) in actions {
        write(
            &format!("actions/{slug}.js"),
            format!("exports.handler = async (event, api) => {{\n{body}\n}};\n"),
        );
        write(
            &format!("actions/{slug}.yaml"),
            format!("name: {slug}\nenabled: true\ntrigger: login\n"),
        );
        blocks.push_str(&format!(
            "      - id: {slug}\n        type: run_action\n        on_error: continue\n        config:\n          action: {slug}\n"
        ));
    }
    write(
        "flows/login.yaml",
        format!(
            "flow: login\nstages:\n  - name: post-auth\n    blocks:\n{blocks}      - id: stop\n        type: deny\n        config:\n          reason: done\n"
        ),
    );
}

/// Runs `authflow` with `args` in `dir` under GNU time; returns its standard output and its
/// peak resident set in bytes. (The kernel carries a process's peak across `execve`, so a
/// child spawned straight from this large test process would report this process's peak;
/// `time` is a small process that forks and waits for the command itself.)
fn peak_rss(dir: &Path, args: &[&str]) -> (String, u64) {
    let report = dir.join("peak.txt");
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_authflow"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("/usr/bin/time (GNU time, `bash .ci/setup` installs it): {e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let kib: u64 = std::fs::read_to_string(&report)
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory reported for {args:?}"));
    (text, kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `authflow run` of a workspace's login flow, with the trace as JSON.
const RUN_LOGIN: [&str; 7] = [
    "run",
    "flows/login.yaml",
    "--event",
    "unauthenticated",
    "--no-store",
    "--format",
    "json",
];

fn memory_bound(baseline: u64) -> u64 {
    baseline + (Limits::default().heap_bytes + Limits::HEAP_OVERHEAD_BYTES) as u64
}

#[test]
fn peak_memory_of_native_bulk_operations_stays_within_the_heap_budget() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut actions: Vec<(&str, &str)> = vec![("trivial", "api.log('info', 'ok');")];
    actions.extend_from_slice(BULK);
    workspace(dir.path(), ROOMY_LIMITS, &actions);
    let (text, baseline) = peak_rss(
        dir.path(),
        &["action", "test", "trivial", "--event", "unauthenticated"],
    );
    assert!(
        text.contains("ok"),
        "the trivial action did not run: {text}"
    );
    let bound = memory_bound(baseline);
    let mut report = Vec::new();
    for (slug, _) in BULK {
        let (text, peak) = peak_rss(
            dir.path(),
            &["action", "test", slug, "--event", "unauthenticated"],
        );
        report.push(format!("{slug}: {:.1} MiB", mib(peak)));
        assert!(
            text.contains("heap limit"),
            "{slug} did not stop at the heap limit: {text}"
        );
        assert!(
            peak <= bound,
            "{slug}: peak {:.1} MiB, above the trivial action's {:.1} MiB plus the heap budget \
             and overhead ({:.1} MiB)",
            mib(peak),
            mib(baseline),
            mib(bound)
        );
    }
    println!(
        "baseline {:.1} MiB, bound {:.1} MiB; {}",
        mib(baseline),
        mib(bound),
        report.join(", ")
    );
}

/// A login through 50 distinct actions keeps only the last few runtimes: each runtime costs
/// about 3 MiB, so caching all of them (as an engine for many logins does) peaked about
/// 150 MiB above a login through one action; the bound is well under that and well over
/// what the few kept runtimes need.
#[test]
fn a_login_through_fifty_actions_does_not_keep_fifty_runtimes() {
    let args = RUN_LOGIN;
    let one = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    workspace(one.path(), "", &[("a0", "api.state.set('ran', true);")]);
    let (text, baseline) = peak_rss(one.path(), &args);
    assert!(text.contains("\"done\""), "the flow did not run: {text}");
    let slugs: Vec<String> = (0..50).map(|i| format!("a{i}")).collect();
    let actions: Vec<(&str, &str)> = slugs
        .iter()
        .map(|slug| (slug.as_str(), "api.state.set('ran', true);"))
        .collect();
    let fifty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    workspace(fifty.path(), "", &actions);
    let (text, peak) = peak_rss(fifty.path(), &args);
    let trace: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let ran = trace["state"].as_object().map_or(0, |state| {
        state.values().filter(|v| v["ran"] == true).count()
    });
    assert_eq!(ran, 50, "not every action ran: {text}");
    let extra = peak.saturating_sub(baseline);
    println!(
        "one action {:.1} MiB, fifty {:.1} MiB",
        mib(baseline),
        mib(peak)
    );
    assert!(
        extra <= 64 * 1024 * 1024,
        "fifty actions peaked {:.1} MiB above one ({:.1} MiB)",
        mib(extra),
        mib(baseline)
    );
}

#[test]
fn peak_memory_of_four_bulk_actions_in_one_flow_stays_within_one_heap_budget() {
    let trivial = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    workspace(
        trivial.path(),
        ROOMY_LIMITS,
        &[
            ("a", "api.log('info', 'ok');"),
            ("b", "api.log('info', 'ok');"),
            ("c", "api.log('info', 'ok');"),
            ("d", "api.log('info', 'ok');"),
        ],
    );
    let args = RUN_LOGIN;
    let (text, baseline) = peak_rss(trivial.path(), &args);
    assert!(text.contains("\"done\""), "the flow did not run: {text}");
    let bulk = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    workspace(bulk.path(), ROOMY_LIMITS, &BULK[..4]);
    let (text, peak) = peak_rss(bulk.path(), &args);
    let trace: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let stopped = trace["blocks"].as_array().map_or(0, |blocks| {
        blocks
            .iter()
            .filter(|block| {
                block["failure"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("heap limit"))
            })
            .count()
    });
    assert_eq!(
        stopped, 4,
        "every action must stop at the heap limit: {text}"
    );
    let bound = memory_bound(baseline);
    println!(
        "four bulk actions: peak {:.1} MiB; four trivial ones {:.1} MiB; bound {:.1} MiB",
        mib(peak),
        mib(baseline),
        mib(bound)
    );
    assert!(
        peak <= bound,
        "peak {:.1} MiB above {:.1} MiB",
        mib(peak),
        mib(bound)
    );
}

// --- CPU after a stopped run ------------------------------------------------------------------

/// An engine of its own whose runtimes are started on demand, so each action's thread carries
/// the action's slug in its name (`action-<slug>`).
fn engine() -> Engine {
    let config = EngineConfig {
        warm_runtimes: 0,
        terminate_grace: Duration::from_millis(500),
        ..EngineConfig::default()
    };
    Engine::new(config).unwrap_or_else(|e| panic!("engine: {e}"))
}

fn run(engine: &Engine, slug: &str, body: &str) -> ActionOutcome {
    let source = ActionSource {
        slug: slug.to_owned(),
        file_name: format!("{slug}.js"),
        code: format!("exports.handler = async (event, api) => {{\n{body}\n}};\n"),
        trigger: Trigger::Login,
        modules: Vec::new(),
        secrets: BTreeMap::new(),
    };
    let limits = Limits {
        cpu_ms: 300,
        wall_ms: 60_000,
        ..Limits::default()
    };
    let event = json!({});
    let fetch = FetchPolicy::default();
    engine.run(
        "tenant-cpu",
        &source,
        ActionInput {
            event: &event,
            limits: &limits,
            fetch: &fetch,
            clock_ms: 0,
        },
    )
}

/// Clock ticks (user + system) used so far by each live thread named `name`.
fn thread_ticks(name: &str) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return found;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th
        // fields of the whole line.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        found.push((
            task.file_name().to_string_lossy().into_owned(),
            tick(11) + tick(12),
        ));
    }
    found
}

/// The name the kernel shows for the thread of `slug`'s runtime (at most 15 bytes).
fn thread_name(slug: &str) -> String {
    format!("action-{slug}").chars().take(15).collect()
}

/// Asserts that every thread of `slug`'s runtime comes to rest after its run: within a few
/// seconds (a stopped runtime may still be freeing its heap for a moment, more so on a loaded
/// machine) there is a whole second in which none of them uses CPU. An abandoned runtime's
/// thread is still there, parked; a discarded one is gone; a thread that keeps running tenant
/// code never has such a second.
fn assert_thread_stays_still(slug: &str) {
    let name = thread_name(slug);
    let mut busiest = String::new();
    for _ in 0..5 {
        let before = thread_ticks(&name);
        std::thread::sleep(Duration::from_secs(1));
        let after = thread_ticks(&name);
        let busy: Vec<String> = after
            .iter()
            .filter_map(|(tid, ticks)| {
                let (_, earlier) = before.iter().find(|(t, _)| t == tid)?;
                let used = ticks.saturating_sub(*earlier);
                (used > 2).then(|| format!("thread {tid} used {used} clock ticks"))
            })
            .collect();
        if busy.is_empty() {
            return;
        }
        busiest = busy.join(", ");
    }
    panic!("{name} never came to rest: in the fifth second after its run {busiest}");
}

/// The run was stopped by a budget (CPU time, or the heap for scripts that also pile up
/// promises faster than the CPU budget runs out).
fn assert_stopped(slug: &str, outcome: &ActionOutcome) {
    let kind = outcome.failure.as_ref().map(|f| f.kind);
    assert!(
        matches!(
            kind,
            Some(FailureKind::Limit(LimitKind::CpuTime | LimitKind::Heap))
        ),
        "{slug}: {:?}",
        outcome.failure
    );
}

/// Scripts whose work continues outside the handler's own call: in promise jobs, in callbacks
/// the engine calls while it reports an error, in job queues that schedule themselves.
const OUTSIDE_THE_CALL: &[(&str, &str)] = &[
    (
        "chain",
        "const f = () => new Promise((r) => r()).then(() => { for (let i = 0; i < 1e4; i++); return f(); }); await f();",
    ),
    (
        "thenloop",
        "const f = () => Promise.resolve().then(() => f()); f(); for (;;) await null;",
    ),
    (
        "respawn",
        "const f = () => { Promise.resolve().then(f); for (;;) {} }; f();",
    ),
    ("getter", "throw { get message() { for (;;) {} } };"),
    (
        "rejget",
        "Promise.reject({ get stack() { for (;;) {} }, get message() { for (;;) {} } }); for (;;) {}",
    ),
    (
        "prepst",
        "Error.prepareStackTrace = () => { for (;;) {} }; throw new Error('x');",
    ),
    (
        "flood",
        "for (let i = 0; i < 5e4; i++) Promise.resolve().then(() => { for (;;) {} }); for (;;) {}",
    ),
    // Native built-ins that do long work in one call: naive string searches (time grows with
    // both lengths) and sorts without a comparator.
    ("indexof", "'a'.repeat(1e7).indexOf('a'.repeat(1e5) + 'b');"),
    ("split", "'a'.repeat(1e7).split('a'.repeat(1e5) + 'b');"),
    (
        "replall",
        "'a'.repeat(1e7).replaceAll('a'.repeat(1e5) + 'b', '');",
    ),
    (
        "tasort",
        "const a = new Float64Array(7e6).fill(1); for (;;) a.sort();",
    ),
];

#[test]
fn no_thread_keeps_running_after_a_cpu_limit_outside_the_handler_call() {
    let engine = engine();
    // The measurement sees a runtime's thread while it runs (so a still thread is a finding,
    // not a thread the measurement missed).
    std::thread::scope(|scope| {
        let running = scope.spawn(|| run(&engine, "spin", "for (;;) {}"));
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = thread_ticks(&thread_name("spin"));
            if !seen.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(seen.len(), 1, "the running action's thread was not found");
        let outcome = running
            .join()
            .unwrap_or_else(|_| panic!("the run panicked"));
        assert_stopped("spin", &outcome);
    });
    for (slug, body) in OUTSIDE_THE_CALL {
        let outcome = run(&engine, slug, body);
        assert_stopped(slug, &outcome);
        assert_thread_stays_still(slug);
    }
    // The engine still serves runs afterwards.
    let outcome = run(&engine, "after", "api.log('info', 'still here');");
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.logs.len(), 1);
}

#[test]
fn finalizers_and_weak_references_are_not_available() {
    let engine = engine();
    let outcome = run(
        &engine,
        "finalize",
        "const r = new FinalizationRegistry(() => { for (;;) {} });
for (let i = 0; i < 1e5; i++) r.register({}, i);
const junk = []; for (let i = 0; i < 1e5; i++) junk.push({ a: i });",
    );
    let failure = outcome
        .failure
        .unwrap_or_else(|| panic!("FinalizationRegistry ran"));
    assert_eq!(failure.kind, FailureKind::Rejected, "{failure:?}");
    assert!(
        failure.message.contains("FinalizationRegistry"),
        "{failure:?}"
    );
    assert_thread_stays_still("finalize");
    let outcome = run(
        &engine,
        "weakref",
        "api.state.set('types', [typeof FinalizationRegistry, typeof WeakRef]);",
    );
    assert_eq!(outcome.failure, None);
    assert_eq!(
        outcome.state_writes,
        vec![("types".to_owned(), json!(["undefined", "undefined"]))]
    );
}

// --- Budgets outside their range --------------------------------------------------------------

#[test]
fn check_rejects_budgets_outside_their_documented_range() {
    for (field, value) in [
        ("heap_bytes", "60000"),
        ("heap_bytes", "1099511627776"),
        ("cpu_ms", "0"),
        ("fetch_count", "100000"),
    ] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let limits = format!("limits:\n  {field}: {value}\n");
        workspace(dir.path(), &limits, &[("ok", "api.log('info', 'ok');")]);
        let output = Command::new(env!("CARGO_BIN_EXE_authflow"))
            .args(["check", "--format", "json"])
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{field}: {value} passed check"
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
        let diagnostic = &report["diagnostics"][0];
        assert_eq!(diagnostic["code"], "AF004", "{report}");
        let message = diagnostic["message"].as_str().unwrap_or_default();
        let range = Limits::RANGES
            .iter()
            .find(|range| range.field == field)
            .unwrap_or_else(|| panic!("no range for {field}"));
        assert!(
            message.contains(field) && message.contains(&range.max.to_string()),
            "{message}"
        );
        assert_eq!(diagnostic["line"], 3, "{diagnostic}");
    }
}
