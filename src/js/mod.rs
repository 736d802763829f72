//! Custom actions in JavaScript: the sandboxed engine that runs a tenant's action code.
//!
//! [`Engine`] owns one dedicated thread per cached runtime (a deno_core `JsRuntime`), keyed by
//! tenant, the whole action source (code, modules, secrets; compared, never hashed per call),
//! and the heap budget.
//! A run hands the event and the recorded fetch responses to that thread, the thread calls the
//! action's handler through the `api.*` surface of `prelude.js`, and the calling thread acts as
//! the watchdog. This module must not know about flows or plans: its inputs are plain JSON and
//! its output is an [`ActionOutcome`].
//!
//! **Invariant:** a runtime serves exactly one (tenant, action source); runtimes of
//! different tenants never share a heap, a global object or a thread.
//!
//! **Invariant:** a runtime that was terminated (time limit) or reached its heap limit is
//! discarded before the next run.
//!
//! **Invariant:** the engine keeps a small pool of generic runtimes (sandbox prelude loaded, no
//! tenant code) so a first run only evaluates the action's code; a pooled runtime is bound to
//! one action by its first run, refuses any other binding, and never returns to the pool.
//!
//! Sandbox decisions, each checked by `tests/js_sandbox.rs`:
//! - `Deno`, `__bootstrap`, `eval`, `WebAssembly`, `ShadowRealm`, `SharedArrayBuffer`,
//!   `Atomics`, `performance`, `Temporal.Now`, `gc`, `FinalizationRegistry`, `WeakRef` and the
//!   engine's own `__v8x*` helpers are removed before user code runs; the `Function` constructors (plain, async, generator, async
//!   generator) are replaced by stubs that throw, so `Function('return this')()` fails.
//! - There is no ambient clock: `Date.now()` and `new Date()` return the run's simulated clock
//!   ([`ActionInput::clock_ms`]). There are no timers (`setTimeout` does not exist).
//! - `require` resolves only `actions:<module>` to the module sources attached to the action.
//! - Globals an action sets persist across runs of the same runtime (the platform reuses warm
//!   containers the same way); they never reach another action or tenant.
//! - `Math.random` is seeded per run from the run's event and clock (`ops.rs`), so the same
//!   inputs draw the same numbers in any runtime, warm or cold.
//! - `fetch` and `console` are read-only globals, and modules get them as bindings of their
//!   own besides; fetch reads only own properties of its arguments and answers with
//!   prototype-less objects, so an action cannot watch a module's requests (`actions.secrets`
//!   is frozen and reachable only by the module).
//! - Secret values of the action and its modules are replaced by `[redacted:NAME]` in every
//!   output string, in their escaped forms and any ASCII case, before anything shortens them
//!   (`redact.rs`). A script that transforms a secret (reverses it, encodes it) defeats this.
//! - Every budget is clamped into its documented range (`limits.rs`); the heap budget caps
//!   native built-ins too (`heap.rs`); everything handed back is bounded.
//! - Native built-ins that do long work in one call (QuickJS's naive string search in
//!   `indexOf`, `lastIndexOf`, `includes`, `split`, `replace`, `replaceAll`; sorts without a
//!   comparator) are driven from script in short native steps past a size, so a termination
//!   stops them; results are the native ones. Other built-ins do work linear in their input,
//!   which the heap budget bounds.
//! - A run stopped for time keeps being terminated (deno_core cancels a termination while it
//!   converts an exception); if its thread still does not answer within the grace period (a
//!   queue of jobs that outlives termination), the runtime is abandoned and its thread parks
//!   for good at its next interrupt check: it never runs tenant code again. Its memory stays
//!   reserved until the process exits.

mod cpu_clock;
mod engine;
mod handoff;
mod heap;
mod limits;
mod ops;
mod redact;
mod worker;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use engine::{Engine, EngineConfig, EngineError, cores};
pub use limits::{
    FAILURE_MESSAGE_BYTES, FETCH_URL_MAX_BYTES, LimitKind, LimitRange, Limits, QUOTED_BYTES,
    RECORDED_URL_BYTES, STACK_BYTES,
};
pub use redact::redact_json;

/// Which trigger an action is bound to; it decides the exported entry point and the api
/// (an event-stream action's `api.deny` fails the run with [`FailureKind::Api`]). The one
/// definition is the catalogue's.
pub use crate::catalog::api::Trigger;

/// One action module version attached to an action, already resolved to the pinned version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleSource {
    /// The module's name: `require('actions:<name>')`.
    pub name: String,
    /// The pinned version, used only to name the module's file in stack traces.
    pub version: String,
    /// The module's file name, used in stack traces.
    pub file_name: String,
    /// CommonJS source that assigns `module.exports`.
    pub code: String,
    /// The module's own secrets, visible to it as `actions.secrets.NAME`.
    pub secrets: BTreeMap<String, String>,
    /// The files of its vendored npm packages (`release::npm`), each with its require table.
    #[serde(default)]
    pub packages: Vec<PackageFile>,
    /// The module's own bare requires: package name -> the id of the package's entry file.
    #[serde(default)]
    pub requires: BTreeMap<String, String>,
}

/// One file of a vendored npm package, as the module loader runs it: `require(spec)` inside
/// it resolves only through `requires` (specifier -> file id), computed in Rust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFile {
    /// Unique among the action's files: `npm:ms@2.1.3/index.js`.
    pub id: String,
    /// The name in stack traces.
    pub file_name: String,
    /// CommonJS source (a JSON file becomes `module.exports = <json>;`).
    pub code: String,
    pub requires: BTreeMap<String, String>,
}

/// The code of one custom action and everything it brings along.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSource {
    /// The action's slug (`log-user`).
    pub slug: String,
    /// The file name used in stack traces and failure locations (`log-user.js`).
    pub file_name: String,
    /// CommonJS source that assigns the trigger's entry point on `exports`.
    pub code: String,
    /// The trigger the action is bound to.
    pub trigger: Trigger,
    /// Modules the action may `require`.
    pub modules: Vec<ModuleSource>,
    /// The action's secrets, visible as `event.secrets.NAME`.
    pub secrets: BTreeMap<String, String>,
}

/// A recorded HTTP response served to `api.fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers; names are matched case-insensitively by `headers.get`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The response body as text.
    #[serde(default)]
    pub body: String,
}

/// Which URLs an action may fetch and what they answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPolicy {
    /// URL prefixes the action may fetch, matched by [`crate::catalog::allowlist`]: same
    /// scheme, host and port, and a path that continues the prefix's at a segment boundary, so
    /// `https://api.example.com` does not admit `https://api.example.com.evil.test`.
    pub allow_prefixes: Vec<String>,
    /// Responses by recording key: `"METHOD URL"` answers only that method, a bare `"URL"`
    /// answers any method; the method-specific key wins. See [`FetchPolicy::response`].
    pub responses: BTreeMap<String, RecordedResponse>,
}

impl FetchPolicy {
    /// The recorded response for a request: `"METHOD URL"` first, then the bare URL.
    pub fn response(&self, method: &str, url: &str) -> Option<&RecordedResponse> {
        self.responses
            .get(&format!("{method} {url}"))
            .or_else(|| self.responses.get(url))
    }

    /// Whether `url` falls under one of the allowlisted prefixes: the one matcher that
    /// `check` (AF044) uses too, [`crate::catalog::allowlist::allows`].
    pub fn allows(&self, url: &str) -> bool {
        crate::catalog::allowlist::allows(&self.allow_prefixes, url)
    }
}

/// The per-run input of an action.
#[derive(Debug, Clone, Copy)]
pub struct ActionInput<'a> {
    /// The event JSON; the engine replaces `secrets` with the action's secrets and deep-freezes
    /// the result before the handler sees it.
    pub event: &'a serde_json::Value,
    /// The run's budgets.
    pub limits: &'a Limits,
    /// The fetch allowlist and recorded responses.
    pub fetch: &'a FetchPolicy,
    /// The simulated clock in milliseconds since the Unix epoch, returned by `Date.now()`.
    pub clock_ms: i64,
}

/// Severity of a log line (the catalogue's one definition).
pub use crate::catalog::api::LogLevel;

/// One structured log line written by the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The line's severity.
    pub level: LogLevel,
    /// The message, with secrets redacted.
    pub message: String,
}

/// One `api.fetch` call and how it was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// The requested URL, with secrets redacted.
    pub url: String,
    /// The request method (`GET` unless the script gave one).
    pub method: String,
    /// The recorded status served, or `None` when the call was refused or had no recording.
    pub status: Option<u16>,
    /// Whether the URL was on the allowlist.
    pub allowed: bool,
    /// Whether the URL was allowed but no recording answered this method and URL.
    #[serde(default)]
    pub unmatched: bool,
    /// The request body as the script sent it (strings as is, anything else through
    /// `String(body)`), with secrets redacted; `None` when it sent none, or when the body was
    /// longer than [`RECORDED_BODY_BYTES`] (then only `body_bytes` says how long it was).
    #[serde(default)]
    pub body: Option<String>,
    /// The request body's length in UTF-8 bytes (0 without a body).
    #[serde(default)]
    pub body_bytes: usize,
}

/// The longest request body a [`FetchRecord`] keeps. Bodies are kept whole or not at all, so
/// redaction never meets a secret cut in half.
pub const RECORDED_BODY_BYTES: usize = 64 * 1024;

/// What kind of failure ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The action or one of its modules does not parse.
    Syntax,
    /// Code threw synchronously: the action's or a module's top level, or a handler that is not
    /// `async` and threw before returning.
    Threw,
    /// The handler's promise rejected (this includes `throw` inside an `async` handler).
    Rejected,
    /// A limit was breached; the run was stopped or the offending api call refused.
    Limit(LimitKind),
    /// The action misused the api (unknown log level, `deny` in an event-stream action,
    /// a missing entry point, ...). Api misuse fails the run even if the script caught the
    /// error the api threw.
    Api,
    /// The engine could not run the action at all (a runtime thread failed to start or died);
    /// nothing the script did explains it.
    Engine,
}

/// Why a run failed, located in the action's own file when the stack allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionFailure {
    /// The failure's kind.
    pub kind: FailureKind,
    /// A message naming the cause, with secrets redacted.
    pub message: String,
    /// The file of the innermost stack frame in the action's own file, or else the innermost
    /// frame in any of its modules.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<u32>,
    /// 1-based column in `file`.
    pub column: Option<u32>,
}

impl ActionFailure {
    /// A failure of `kind` with no location (yet).
    pub(crate) fn unlocated(kind: FailureKind, message: String) -> ActionFailure {
        ActionFailure {
            kind,
            message,
            file: None,
            line: None,
            column: None,
        }
    }
}

/// Everything one run of an action produced. Outputs written before a failure are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// Log lines in the order written.
    pub logs: Vec<LogLine>,
    /// `api.state.set` writes in order; a key may repeat (the last write wins downstream).
    pub state_writes: Vec<(String, serde_json::Value)>,
    /// The shallow-merged `api.user.setAppMetadata` patch; a `null` value deletes the key.
    pub metadata_patch: serde_json::Map<String, serde_json::Value>,
    /// `api.session.setCustomClaim` calls in order.
    pub claims: Vec<(String, serde_json::Value)>,
    /// The first `api.deny` reason, if any.
    pub denied: Option<String>,
    /// Why the run failed, if it did.
    pub failure: Option<ActionFailure>,
    /// Every fetch attempted.
    pub fetches: Vec<FetchRecord>,
    /// How long the run took on the action's thread.
    pub elapsed: Duration,
}

impl ActionOutcome {
    /// An outcome with no outputs that failed for `failure`.
    pub(crate) fn failed(failure: ActionFailure) -> ActionOutcome {
        ActionOutcome {
            logs: Vec::new(),
            state_writes: Vec::new(),
            metadata_patch: serde_json::Map::new(),
            claims: Vec::new(),
            denied: None,
            failure: Some(failure),
            fetches: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }
}
