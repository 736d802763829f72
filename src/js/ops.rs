//! The ops behind `api.*`: each records one side effect of the current run and enforces its
//! budget.
//!
//! Ops exchange strings only (JSON where a value is structured), so they do not depend on the
//! engine's value conversion. An op that refuses a call returns the error message and
//! `prelude.js` throws it as an `Error`; refusals caused by a limit or api misuse are also
//! recorded here, so the run fails even when the script catches the error. This file must not
//! touch the runtime or threads: it sees only the [`RunRecorder`] in the `OpState`.

use deno_core::{OpState, op2};
use serde::Deserialize;
use serde_json::Value;

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
}

impl RunRecorder {
    /// A recorder for a run that has not started yet.
    pub fn new(
        event_json: String,
        trigger: Trigger,
        clock_ms: i64,
        limits: Limits,
        fetch: FetchPolicy,
    ) -> RunRecorder {
        RunRecorder {
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

/// Hands the run's input to the prelude: `{event, trigger, clock_ms}` as JSON text.
#[op2]
#[string]
pub(crate) fn op_authflow_input(state: &mut OpState) -> String {
    let Some(recorder) = recorder(state) else {
        return String::new();
    };
    let trigger = match recorder.trigger {
        Trigger::Login => "login",
        Trigger::EventStream => "event_stream",
    };
    // The event is already JSON text; splicing it avoids re-parsing it in Rust.
    format!(
        "{{\"trigger\":\"{trigger}\",\"clock_ms\":{},\"event\":{}}}",
        recorder.clock_ms, recorder.event_json
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
        let shown: String = level.chars().take(40).collect();
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
    let value = match parse_json(&value_json) {
        Ok(value) => value,
        Err(message) => return recorder.misuse(format!("api.state.set: {message}")),
    };
    recorder.state_bytes += size;
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
    let patch = match parse_json(&patch_json) {
        Ok(Value::Object(patch)) => patch,
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
    let size = name.len().saturating_add(value_json.len());
    if recorder.claims_bytes.saturating_add(size) > recorder.limits.claims_bytes {
        let detail = format!("more than {} bytes of claims", recorder.limits.claims_bytes);
        return recorder.breach(LimitKind::ClaimsBytes, detail);
    }
    let value = match parse_json(&value_json) {
        Ok(value) => value,
        Err(message) => return recorder.misuse(format!("api.session.setCustomClaim: {message}")),
    };
    recorder.claims_bytes += size;
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
        recorder.denied = Some(reason);
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
}

/// `api.fetch(url, init)`: answers `{"status":..,"headers":{..},"body":".."}` from the
/// recordings, or `{"error":"..."}` when the call is refused or has no recording.
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
    let allowed = recorder.fetch.allows(&url);
    let body_bytes = init.body.as_ref().map_or(0, String::len);
    let mut record = FetchRecord {
        url: url.clone(),
        status: None,
        allowed,
        unmatched: false,
        body: init.body.filter(|body| body.len() <= RECORDED_BODY_BYTES),
        body_bytes,
        method,
    };
    if recorder.fetches.len() >= recorder.limits.fetch_count {
        recorder.fetches.push(record);
        let detail = format!("more than {} fetches", recorder.limits.fetch_count);
        return answer_error(recorder.breach(LimitKind::FetchCount, detail));
    }
    if !allowed {
        recorder.fetches.push(record);
        let shown: String = url.chars().take(200).collect();
        let detail = format!("'{shown}' is not on the fetch allowlist");
        return answer_error(recorder.breach(LimitKind::FetchNotAllowed, detail));
    }
    let Some(response) = recorder.fetch.response(&record.method, &url).cloned() else {
        let message = format!(
            "fetch failed: no recorded response for {} '{url}'",
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
        recorder.report = Some(ScriptReport {
            kind,
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
    ],
);
