//! The ops behind `api.*`: each records one side effect of the current run and enforces its
//! budget.
//!
//! Ops exchange strings only (JSON where a value is structured), so they do not depend on the
//! engine's value conversion. An op that refuses a call returns the error message and
//! `prelude.js` throws it as an `Error`; refusals caused by a limit or api misuse are also
//! recorded here, so the run fails even when the script catches the error. This file must not
//! touch the runtime or threads: it sees only the [`RunRecorder`] in the `OpState`.
//!
//! Every string an op receives is redacted first (`redact.rs`), before any budget message
//! quotes it, any record shortens it or the method is upper-cased; and every string it keeps
//! is bounded, by a budget of [`Limits`] or by one of the fixed bounds in `limits.rs`. The
//! prelude hands an op at most [`text_cap`] characters of any string, so a script cannot make
//! the engine copy more than that out of its heap; a string that long is over every budget.

use std::sync::Arc;

use deno_core::{OpState, op2};
use serde::Deserialize;
use serde_json::Value;

use super::limits::{
    FAILURE_MESSAGE_BYTES, FETCH_URL_MAX_BYTES, QUOTED_BYTES, RECORDED_URL_BYTES, STACK_BYTES,
};
use super::redact::{Redactor, bounded};
use super::{
    FetchPolicy, FetchRecord, LimitKind, Limits, LogLevel, LogLine, RECORDED_BODY_BYTES, Trigger,
};

/// How the script side reported the end of a run through `op_authflow_finish`.
#[derive(Debug, Clone)]
pub(crate) struct ScriptReport {
    /// `ok`, `threw`, `rejected`, `missing_entry`, `stack` or `heap`.
    pub kind: String,
    /// The error's message (or the thrown value as a string).
    pub message: String,
    /// The error's stack, if the thrown value had one.
    pub stack: String,
}

/// Everything the current run has recorded so far, kept in the runtime's `OpState`.
#[derive(Debug)]
pub(crate) struct RunRecorder {
    pub event_json: String,
    pub trigger: Trigger,
    pub clock_ms: i64,
    pub limits: Limits,
    pub fetch: FetchPolicy,
    pub logs: Vec<LogLine>,
    pub log_bytes: usize,
    pub state_writes: Vec<(String, Value)>,
    pub state_bytes: usize,
    pub metadata_patch: serde_json::Map<String, Value>,
    pub claims: Vec<(String, Value)>,
    pub claims_bytes: usize,
    pub denied: Option<String>,
    pub fetches: Vec<FetchRecord>,
    /// The first limit breached during the run.
    pub breach: Option<(LimitKind, String)>,
    /// The first api misuse during the run.
    pub api_error: Option<String>,
    /// The script side's own report of how the handler ended.
    pub report: Option<ScriptReport>,
    /// The secrets of the action and its modules.
    pub redactor: Arc<Redactor>,
    /// The seed of this run's `Math.random`.
    pub seed: u64,
}

impl RunRecorder {
    /// A recorder for a run that has not started yet.
    pub fn new(
        event_json: String,
        trigger: Trigger,
        clock_ms: i64,
        limits: Limits,
        fetch: FetchPolicy,
        redactor: Arc<Redactor>,
    ) -> RunRecorder {
        let seed = random_seed(&event_json, clock_ms);
        RunRecorder {
            redactor,
            seed,
            event_json,
            trigger,
            clock_ms,
            limits,
            fetch,
            logs: Vec::new(),
            log_bytes: 0,
            state_writes: Vec::new(),
            state_bytes: 0,
            metadata_patch: serde_json::Map::new(),
            claims: Vec::new(),
            claims_bytes: 0,
            denied: None,
            fetches: Vec::new(),
            breach: None,
            api_error: None,
            report: None,
        }
    }

    /// `text` with every secret replaced; the first thing done to any string an op receives.
    fn clean(&self, text: String) -> String {
        self.redactor.text(text)
    }

    /// Records a limit breach (the first one wins) and returns the message to throw.
    fn breach(&mut self, kind: LimitKind, detail: String) -> String {
        let message = format!("{} exceeded: {detail}", kind.describe());
        if self.breach.is_none() {
            self.breach = Some((kind, message.clone()));
        }
        message
    }

    /// Records api misuse (the first one wins) and returns the message to throw.
    fn misuse(&mut self, message: String) -> String {
        if self.api_error.is_none() {
            self.api_error = Some(message.clone());
        }
        message
    }

    /// Refuses a login-only api method in an event-stream run: such a run happens after the
    /// login's decision, so it has no step state, session or user to change.
    fn login_only(&mut self, method: &str) -> Option<String> {
        (self.trigger == Trigger::EventStream).then(|| {
            self.misuse(format!(
                "api.{method} is not available to event-stream actions: they run after the login and cannot change it"
            ))
        })
    }
}

/// One module's secrets as JSON object text; in the `OpState` only while that module's own
/// script is being loaded.
#[derive(Debug, Clone)]
pub(crate) struct ModuleSecrets {
    pub name: String,
    pub json: String,
}

/// A module's secrets, asked for by `__authflow_define` as the module registers itself, so the
/// secrets never appear in a script's source (which the engine facade may keep). Answers once,
/// and only for the module whose script is running; `{}` otherwise.
#[op2]
#[string]
pub(crate) fn op_authflow_module_secrets(state: &mut OpState, #[string] name: String) -> String {
    let is_running = state
        .try_borrow::<ModuleSecrets>()
        .is_some_and(|secrets| secrets.name == name);
    match state.try_take::<ModuleSecrets>() {
        Some(secrets) if is_running => secrets.json,
        Some(other) => {
            state.put(other);
            "{}".to_owned()
        }
        None => "{}".to_owned(),
    }
}

/// Returns the recorder, or `None` when no run is in progress (a script that kept a reference
/// to the api and calls it from a later microtask after the run was collected).
fn recorder(state: &mut OpState) -> Option<&mut RunRecorder> {
    state.try_borrow_mut::<RunRecorder>()
}

const NO_RUN: &str = "the api was used outside of a run";

/// Parses JSON text produced by `JSON.stringify` in the prelude; `undefined` arrives as an
/// empty string and becomes `null`.
fn parse_json(text: &str) -> Result<Value, String> {
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|error| format!("value is not JSON-serialisable: {error}"))
}

/// The most characters of one string the prelude hands to an op. It exceeds every budget a
/// string is checked against (so a string cut to it always breaches), every fixed bound, and a
/// kept message prefix plus the longest form of any secret (so redacting the cut string is
/// exact over everything that is kept).
pub(crate) fn text_cap(limits: &Limits, redactor: &Redactor) -> usize {
    let budgets = [
        limits.log_bytes,
        limits.state_bytes,
        limits.metadata_bytes,
        limits.claims_bytes,
        RECORDED_BODY_BYTES,
        FETCH_URL_MAX_BYTES,
    ];
    let largest = budgets.into_iter().max().unwrap_or(0);
    largest
        .max(FAILURE_MESSAGE_BYTES)
        .saturating_add(redactor.reach().saturating_mul(2))
        .saturating_add(1)
}

/// The seed of a run's `Math.random`: FNV-1a (64-bit) over the event the run sees and its
/// clock, so the same inputs draw the same numbers in every runtime, warm or cold.
fn random_seed(event_json: &str, clock_ms: i64) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    event_json
        .as_bytes()
        .iter()
        .chain(clock_ms.to_le_bytes().iter())
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
        })
}

/// Hands the run's input to the prelude as JSON text: the `entry` export, `clock_ms`, `event`, the
/// `Math.random` seed as two 32-bit halves, and the `text_cap` for strings handed to ops.
#[op2]
#[string]
pub(crate) fn op_authflow_input(state: &mut OpState) -> String {
    let Some(recorder) = recorder(state) else {
        return String::new();
    };
    // The export to call comes from the one trigger table (`catalog::api::Trigger`).
    let entry = recorder.trigger.export_name();
    let cap = text_cap(&recorder.limits, &recorder.redactor);
    // The event is already JSON text; splicing it avoids re-parsing it in Rust.
    format!(
        "{{\"entry\":\"{entry}\",\"clock_ms\":{},\"seed\":[{},{}],\"text_cap\":{cap},\"event\":{}}}",
        recorder.clock_ms,
        recorder.seed >> 32,
        recorder.seed & 0xffff_ffff,
        recorder.event_json
    )
}

/// `api.log(level, message)`.
#[op2]
#[string]
pub(crate) fn op_authflow_log(
    state: &mut OpState,
    #[string] level: String,
    #[string] message: String,
) -> String {
    let Some(recorder) = recorder(state) else {
        return NO_RUN.to_owned();
    };
    let Some(level) = LogLevel::parse(&level) else {
        let shown = bounded(recorder.clean(level), QUOTED_BYTES);
        return recorder.misuse(format!(
            "api.log: unknown level '{shown}'; use 'debug', 'info', 'warn' or 'error'"
        ));
    };
    if recorder.logs.len() >= recorder.limits.log_lines {
        let detail = format!("more than {} log lines", recorder.limits.log_lines);
        return recorder.breach(LimitKind::LogLines, detail);
    }
    if recorder.log_bytes.saturating_add(message.len()) > recorder.limits.log_bytes {
        let detail = format!(
            "more than {} bytes of log messages",
            recorder.limits.log_bytes
        );
        return recorder.breach(LimitKind::LogBytes, detail);
    }
    recorder.log_bytes += message.len();
    let message = recorder.clean(message);
    recorder.logs.push(LogLine { level, message });
    String::new()
}

/// `api.state.set(key, value)`; `value_json` is `JSON.stringify(value)`.
#[op2]
#[string]
pub(crate) fn op_authflow_state_set(
    state: &mut OpState,
    #[string] key: String,
    #[string] value_json: String,
) -> String {
    let Some(recorder) = recorder(state) else {
        return NO_RUN.to_owned();
    };
    if let Some(refused) = recorder.login_only("state.set") {
        return refused;
    }
    if key.is_empty() {
        return recorder.misuse("api.state.set: the key must be a non-empty string".to_owned());
    }
    let size = key.len().saturating_add(value_json.len());
    if recorder.state_bytes.saturating_add(size) > recorder.limits.state_bytes {
        let detail = format!("more than {} bytes of state", recorder.limits.state_bytes);
        return recorder.breach(LimitKind::StateBytes, detail);
    }
    let mut value = match parse_json(&value_json) {
        Ok(value) => value,
        Err(message) => return recorder.misuse(format!("api.state.set: {message}")),
    };
    recorder.state_bytes += size;
    recorder.redactor.json(&mut value);
    let key = recorder.clean(key);
    recorder.state_writes.push((key, value));
    String::new()
}

/// `api.user.setAppMetadata(patch)`; `patch_json` is a JSON object merged shallowly.
#[op2]
#[string]
pub(crate) fn op_authflow_set_app_metadata(
    state: &mut OpState,
    #[string] patch_json: String,
) -> String {
    let Some(recorder) = recorder(state) else {
        return NO_RUN.to_owned();
    };
    if let Some(refused) = recorder.login_only("user.setAppMetadata") {
        return refused;
    }
    if patch_json.len() > recorder.limits.metadata_bytes {
        let detail = format!("patch larger than {} bytes", recorder.limits.metadata_bytes);
        return recorder.breach(LimitKind::MetadataBytes, detail);
    }
    let patch = match parse_json(&patch_json) {
        Ok(Value::Object(mut patch)) => {
            for value in patch.values_mut() {
                recorder.redactor.json(value);
            }
            patch
                .into_iter()
                .map(|(key, value)| (recorder.clean(key), value))
                .collect::<serde_json::Map<String, Value>>()
        }
        Ok(_) => {
            return recorder
                .misuse("api.user.setAppMetadata: the patch must be a plain object".to_owned());
        }
        Err(message) => return recorder.misuse(format!("api.user.setAppMetadata: {message}")),
    };
    let mut merged = recorder.metadata_patch.clone();
    merged.extend(patch);
    let size = serde_json::to_string(&merged).map_or(usize::MAX, |text| text.len());
    if size > recorder.limits.metadata_bytes {
        let detail = format!("patch larger than {} bytes", recorder.limits.metadata_bytes);
        return recorder.breach(LimitKind::MetadataBytes, detail);
    }
    recorder.metadata_patch = merged;
    String::new()
}

/// `api.session.setCustomClaim(name, value)`.
#[op2]
#[string]
pub(crate) fn op_authflow_set_claim(
    state: &mut OpState,
    #[string] name: String,
    #[string] value_json: String,
) -> String {
    let Some(recorder) = recorder(state) else {
        return NO_RUN.to_owned();
    };
    if let Some(refused) = recorder.login_only("session.setCustomClaim") {
        return refused;
    }
    if name.is_empty() {
        return recorder
            .misuse("api.session.setCustomClaim: the name must be a non-empty string".to_owned());
    }
    // The token's own claims are not the action's to set: the trace would show a value the
    // token does not carry. The name is one of the fixed reserved names, so it is safe to quote.
    if crate::blocks::issue_session::is_reserved_claim(&name) {
        return recorder.misuse(format!(
            "api.session.setCustomClaim: `{name}` is a reserved claim (the token sets it, or JWT and OpenID Connect give it a meaning); use another name"
        ));
    }
    let size = name.len().saturating_add(value_json.len());
    if recorder.claims_bytes.saturating_add(size) > recorder.limits.claims_bytes {
        let detail = format!("more than {} bytes of claims", recorder.limits.claims_bytes);
        return recorder.breach(LimitKind::ClaimsBytes, detail);
    }
    let mut value = match parse_json(&value_json) {
        Ok(value) => value,
        Err(message) => return recorder.misuse(format!("api.session.setCustomClaim: {message}")),
    };
    recorder.claims_bytes += size;
    recorder.redactor.json(&mut value);
    let name = recorder.clean(name);
    recorder.claims.push((name, value));
    String::new()
}

/// `api.deny(reason)`; refused for event-stream actions.
#[op2]
#[string]
pub(crate) fn op_authflow_deny(state: &mut OpState, #[string] reason: String) -> String {
    let Some(recorder) = recorder(state) else {
        return NO_RUN.to_owned();
    };
    if recorder.trigger == Trigger::EventStream {
        return recorder.misuse(
            "api.deny is not available to event-stream actions: they cannot stop a flow".to_owned(),
        );
    }
    if reason.len() > recorder.limits.log_bytes {
        let detail = format!(
            "deny reason longer than {} bytes",
            recorder.limits.log_bytes
        );
        return recorder.breach(LimitKind::LogBytes, detail);
    }
    if recorder.denied.is_none() {
        recorder.denied = Some(recorder.clean(reason));
    }
    String::new()
}

/// The part of `fetch(url, init)` the op needs.
#[derive(Debug, Default, Deserialize)]
struct FetchInit {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    body: Option<String>,
    /// The body's full length in UTF-8 bytes when the prelude handed over only its first
    /// [`text_cap`] characters.
    #[serde(default)]
    body_bytes: Option<usize>,
}

/// `api.fetch(url, init)`: answers `{"status":..,"headers":{..},"body":".."}` from the
/// recordings, or `{"error":"..."}` when the call is refused or has no recording. A run keeps
/// at most `fetch_count + 1` records (the last one is the first call past the count).
#[op2]
#[string]
pub(crate) fn op_authflow_fetch(
    state: &mut OpState,
    #[string] url: String,
    #[string] init_json: String,
) -> String {
    let answer_error = |message: String| serde_json::json!({ "error": message }).to_string();
    let Some(recorder) = recorder(state) else {
        return answer_error(NO_RUN.to_owned());
    };
    let init: FetchInit = serde_json::from_str(&init_json).unwrap_or_default();
    let method = init
        .method
        .unwrap_or_else(|| "GET".to_owned())
        .to_ascii_uppercase();
    let too_long = url.len() > FETCH_URL_MAX_BYTES;
    let allowed = !too_long && recorder.fetch.allows(&url);
    let body_bytes = init
        .body_bytes
        .unwrap_or_else(|| init.body.as_ref().map_or(0, String::len));
    // The record holds redacted text only: the method is redacted after upper-casing (the
    // redactor ignores ASCII case), the URL before it is shortened.
    let shown_url = recorder.clean(url.clone());
    let mut record = FetchRecord {
        url: bounded(shown_url.clone(), RECORDED_URL_BYTES),
        status: None,
        allowed,
        unmatched: false,
        body: init
            .body
            .filter(|_| body_bytes <= RECORDED_BODY_BYTES)
            .map(|body| recorder.clean(body)),
        body_bytes,
        method: bounded(recorder.clean(method.clone()), QUOTED_BYTES),
    };
    let quoted_url = bounded(shown_url, QUOTED_BYTES);
    if recorder.fetches.len() >= recorder.limits.fetch_count {
        if recorder.fetches.len() == recorder.limits.fetch_count {
            recorder.fetches.push(record);
        }
        let detail = format!("more than {} fetches", recorder.limits.fetch_count);
        return answer_error(recorder.breach(LimitKind::FetchCount, detail));
    }
    if !allowed {
        recorder.fetches.push(record);
        let detail = if too_long {
            format!(
                "a URL of {} bytes is never on the fetch allowlist (at most {FETCH_URL_MAX_BYTES})",
                url.len()
            )
        } else {
            format!("'{quoted_url}' is not on the fetch allowlist")
        };
        return answer_error(recorder.breach(LimitKind::FetchNotAllowed, detail));
    }
    let Some(response) = recorder.fetch.response(&method, &url).cloned() else {
        let message = format!(
            "fetch failed: no recorded response for {} '{quoted_url}'",
            record.method
        );
        record.unmatched = true;
        recorder.fetches.push(record);
        return answer_error(message);
    };
    if response.body.len() > recorder.limits.fetch_response_bytes {
        recorder.fetches.push(record);
        let detail = format!(
            "response body of {} bytes (limit {})",
            response.body.len(),
            recorder.limits.fetch_response_bytes
        );
        return answer_error(recorder.breach(LimitKind::FetchResponseBytes, detail));
    }
    record.status = Some(response.status);
    recorder.fetches.push(record);
    serde_json::json!({
        "status": response.status,
        "headers": response.headers,
        "body": response.body,
    })
    .to_string()
}

/// The prelude's report of how the handler ended: its kind, message and stack as separate
/// strings, so the common `ok` report costs no JSON on either side.
#[op2]
#[string]
pub(crate) fn op_authflow_finish(
    state: &mut OpState,
    #[string] kind: String,
    #[string] message: String,
    #[string] stack: String,
) -> String {
    let Some(recorder) = recorder(state) else {
        return NO_RUN.to_owned();
    };
    if recorder.report.is_none() {
        let message = bounded(recorder.clean(message), FAILURE_MESSAGE_BYTES);
        let stack = bounded(recorder.clean(stack), STACK_BYTES);
        recorder.report = Some(ScriptReport {
            kind: bounded(kind, QUOTED_BYTES),
            message,
            stack,
        });
    }
    String::new()
}

deno_core::extension!(
    authflow_actions,
    ops = [
        op_authflow_input,
        op_authflow_log,
        op_authflow_state_set,
        op_authflow_set_app_metadata,
        op_authflow_set_claim,
        op_authflow_deny,
        op_authflow_fetch,
        op_authflow_finish,
        op_authflow_module_secrets,
    ],
);
