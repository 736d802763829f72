//! The trace of one run: per block what happened, and the run's outcome. Serialised as the
//! JSON that `authflow run --format json` prints and the store (`crate::store`) keeps.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockStatus {
    Completed,
    Skipped,
    Denied,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub level: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateWrite {
    pub key: String,
    pub value: Value,
}

/// Why a custom action failed, located in its own file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockTrace {
    pub id: String,
    pub stage: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// For Run Custom Action blocks, the action's slug (its state writes are `step.<slug>.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub status: BlockStatus,
    /// The value of the block's `when` guard; `None` for an unguarded block (coverage reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<bool>,
    /// Why it was skipped, denied or failed; where a branch jumped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub elapsed_us: u64,
    pub logs: Vec<LogEntry>,
    pub state_writes: Vec<StateWrite>,
    /// The app_metadata patch the block applied.
    pub metadata: Map<String, Value>,
    pub claims: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetches: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub flow: String,
    /// The event preset or file the run used.
    pub event: String,
    pub outcome: Outcome,
    pub deny_reason: Option<String>,
    pub blocks: Vec<BlockTrace>,
    /// Final `step` outputs: slug -> key -> value.
    pub state: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// The user's app_metadata at the end of the run (empty when no user was looked up).
    pub app_metadata: Map<String, Value>,
    /// The signed session token, when the run was allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    pub authentication: Value,
    pub elapsed_us: u64,
    /// The events the run emitted to event streams and their deliveries. Deliveries happen
    /// after the decision: `elapsed_us` above never includes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EmittedEvent>,
}

/// One event a flow run emitted (a CloudEvents 1.0 envelope), and where it went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmittedEvent {
    pub message: Value,
    /// The streams subscribed to its type.
    pub streams: Vec<String>,
    pub deliveries: Vec<DeliveryTrace>,
}

/// How one delivery attempt of an event to an event-stream action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    Delivered,
    Failed,
    /// The action is disabled: nothing ran.
    Skipped,
}

/// One attempt to deliver an event to one action of one stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryTrace {
    pub stream: String,
    pub action: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
    /// The backoff waited before this attempt (0 for the first).
    pub delay_ms: u64,
    /// The clock the action saw, RFC 3339.
    pub at: String,
    /// Measured run time; absent under a simulated clock, whose output is deterministic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_us: Option<u64>,
    pub logs: Vec<LogEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetches: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}
