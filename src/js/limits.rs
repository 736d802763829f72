//! Resource limits for one custom-action run and the names of the limits a run can breach.
//!
//! This file only describes limits; enforcement lives where the resource is spent: the api ops
//! count log, state, claim, metadata and fetch bytes (`ops.rs`), the watchdog in `engine.rs`
//! enforces time (with `cpu_clock.rs`), and the isolate's heap limit plus the near-heap-limit
//! callback enforce memory.

use serde::{Deserialize, Serialize};

/// Budgets for one run of a custom action.
///
/// Every byte budget counts UTF-8 bytes of the JSON text the script handed to the api, so a
/// script cannot dodge a budget by choosing a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// CPU time of the action's thread in milliseconds, read from the thread's CPU clock by the
    /// watchdog (on platforms without one, elapsed time stands in for it).
    pub cpu_ms: u64,
    /// Elapsed time of one run in milliseconds, including the first evaluation of the action
    /// and its modules.
    pub wall_ms: u64,
    /// Maximum JavaScript heap of the action's runtime in bytes. It is fixed when the runtime
    /// is created, so runtimes are cached per heap budget too.
    pub heap_bytes: usize,
    /// Maximum number of `api.log` / `console.*` lines in one run.
    pub log_lines: usize,
    /// Maximum total bytes of log messages in one run.
    pub log_bytes: usize,
    /// Maximum total bytes of `api.state.set` keys and JSON values in one run.
    pub state_bytes: usize,
    /// Maximum bytes of the merged `api.user.setAppMetadata` patch as JSON.
    pub metadata_bytes: usize,
    /// Maximum total bytes of custom claim names and JSON values in one run.
    pub claims_bytes: usize,
    /// Maximum number of `api.fetch` calls in one run.
    pub fetch_count: usize,
    /// Maximum body size of one recorded response handed to the script.
    pub fetch_response_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_ms: 1_000,
            wall_ms: 3_000,
            heap_bytes: 64 * 1024 * 1024,
            log_lines: 100,
            log_bytes: 64 * 1024,
            state_bytes: 64 * 1024,
            metadata_bytes: 16 * 1024,
            claims_bytes: 8 * 1024,
            fetch_count: 10,
            fetch_response_bytes: 1024 * 1024,
        }
    }
}

/// The limit a run breached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// The script kept its thread busy past `Limits::cpu_ms`.
    CpuTime,
    /// The run lasted past `Limits::wall_ms`, or its promise can never settle.
    WallTime,
    /// The runtime's heap reached `Limits::heap_bytes`.
    Heap,
    /// The script recursed past the engine's stack limit.
    Stack,
    /// Too many log lines (`Limits::log_lines`).
    LogLines,
    /// Too many log bytes (`Limits::log_bytes`).
    LogBytes,
    /// Too many state bytes (`Limits::state_bytes`).
    StateBytes,
    /// The app-metadata patch grew past `Limits::metadata_bytes`.
    MetadataBytes,
    /// Too many custom-claim bytes (`Limits::claims_bytes`).
    ClaimsBytes,
    /// Too many fetches (`Limits::fetch_count`).
    FetchCount,
    /// A recorded response body was larger than `Limits::fetch_response_bytes`.
    FetchResponseBytes,
    /// A fetch targeted a URL outside the allowlist.
    FetchNotAllowed,
}

impl LimitKind {
    /// A short human name used in failure messages.
    pub fn describe(self) -> &'static str {
        match self {
            LimitKind::CpuTime => "CPU time limit",
            LimitKind::WallTime => "wall time limit",
            LimitKind::Heap => "heap limit",
            LimitKind::Stack => "stack depth limit",
            LimitKind::LogLines => "log line limit",
            LimitKind::LogBytes => "log size limit",
            LimitKind::StateBytes => "state size limit",
            LimitKind::MetadataBytes => "app metadata size limit",
            LimitKind::ClaimsBytes => "custom claims size limit",
            LimitKind::FetchCount => "fetch count limit",
            LimitKind::FetchResponseBytes => "fetch response size limit",
            LimitKind::FetchNotAllowed => "fetch allowlist",
        }
    }
}
