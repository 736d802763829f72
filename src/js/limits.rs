//! Resource limits for one custom-action run and the names of the limits a run can breach.
//!
//! This file only describes limits; enforcement lives where the resource is spent: the api ops
//! count log, state, claim, metadata and fetch bytes (`ops.rs`), the watchdog in `engine.rs`
//! enforces time (with `cpu_clock.rs`), and the isolate's heap limit plus the near-heap-limit
//! callback enforce memory (`heap.rs`).
//!
//! Every budget has a documented range ([`Limits::RANGES`]): reading `authflow.yaml` rejects a
//! value outside it (so `authflow check` reports it at the value's span), the JSON Schema
//! states it, and the engine clamps to it, so no budget can make the engine abort.

use serde::{Deserialize, Deserializer, Serialize};

/// Budgets for one run of a custom action.
///
/// Every byte budget counts UTF-8 bytes of the JSON text the script handed to the api, so a
/// script cannot dodge a budget by choosing a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(transform = ranges_in_schema)]
pub struct Limits {
    /// CPU time of the action's thread in milliseconds, read from the thread's CPU clock by the
    /// watchdog (on platforms without one, elapsed time stands in for it).
    #[serde(deserialize_with = "in_range::<_, _, 0>")]
    pub cpu_ms: u64,
    /// Elapsed time of one run in milliseconds, including the first evaluation of the action
    /// and its modules.
    #[serde(deserialize_with = "in_range::<_, _, 1>")]
    pub wall_ms: u64,
    /// Maximum JavaScript heap of the action's runtime in bytes. It is fixed when the runtime
    /// is created, so runtimes are cached per heap budget too.
    #[serde(deserialize_with = "in_range::<_, _, 2>")]
    pub heap_bytes: usize,
    /// Maximum number of `api.log` / `console.*` lines in one run.
    #[serde(deserialize_with = "in_range::<_, _, 3>")]
    pub log_lines: usize,
    /// Maximum total bytes of log messages in one run.
    #[serde(deserialize_with = "in_range::<_, _, 4>")]
    pub log_bytes: usize,
    /// Maximum total bytes of `api.state.set` keys and JSON values in one run.
    #[serde(deserialize_with = "in_range::<_, _, 5>")]
    pub state_bytes: usize,
    /// Maximum bytes of the merged `api.user.setAppMetadata` patch as JSON.
    #[serde(deserialize_with = "in_range::<_, _, 6>")]
    pub metadata_bytes: usize,
    /// Maximum total bytes of custom claim names and JSON values in one run.
    #[serde(deserialize_with = "in_range::<_, _, 7>")]
    pub claims_bytes: usize,
    /// Maximum number of `api.fetch` calls in one run.
    #[serde(deserialize_with = "in_range::<_, _, 8>")]
    pub fetch_count: usize,
    /// Maximum body size of one recorded response handed to the script.
    #[serde(deserialize_with = "in_range::<_, _, 9>")]
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

/// The documented range of one budget, inclusive at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitRange {
    /// The field of [`Limits`] (and key under `limits:` in `authflow.yaml`).
    pub field: &'static str,
    /// The smallest accepted value.
    pub min: u64,
    /// The largest accepted value.
    pub max: u64,
}

const MIB: u64 = 1024 * 1024;

impl Limits {
    /// The range of every budget, in field order. Below its minimum a runtime could not start
    /// (the heap) or a run could never succeed (times); above its maximum one run could hold
    /// a machine (times) or its trace grow without a useful bound (sizes).
    pub const RANGES: [LimitRange; 10] = [
        LimitRange {
            field: "cpu_ms",
            min: 1,
            max: 60_000,
        },
        LimitRange {
            field: "wall_ms",
            min: 1,
            max: 300_000,
        },
        LimitRange {
            field: "heap_bytes",
            min: 8 * MIB,
            max: 4096 * MIB,
        },
        LimitRange {
            field: "log_lines",
            min: 0,
            max: 10_000,
        },
        LimitRange {
            field: "log_bytes",
            min: 0,
            max: 16 * MIB,
        },
        LimitRange {
            field: "state_bytes",
            min: 0,
            max: 16 * MIB,
        },
        LimitRange {
            field: "metadata_bytes",
            min: 0,
            max: 16 * MIB,
        },
        LimitRange {
            field: "claims_bytes",
            min: 0,
            max: 16 * MIB,
        },
        LimitRange {
            field: "fetch_count",
            min: 0,
            max: 1_000,
        },
        LimitRange {
            field: "fetch_response_bytes",
            min: 0,
            max: 64 * MIB,
        },
    ];

    /// How far the peak memory of a run may exceed [`Limits::heap_bytes`]: the headroom the
    /// engine gets to unwind a script that reached its budget (16 MiB, granted once) plus the
    /// runtime's own memory outside the heap's accounting (its thread, the engine's tables
    /// and the bytes crossing into the api, at most 16 MiB). `tests/js_resources.rs` measures
    /// it for native bulk operations, alone and four in one flow.
    pub const HEAP_OVERHEAD_BYTES: usize = super::heap::UNWIND_HEADROOM + 16 * 1024 * 1024;

    /// These budgets with every field clamped into its range ([`Limits::RANGES`]). The engine
    /// runs with the clamped budgets; settings files never get here with a value out of range.
    pub fn clamped(&self) -> Limits {
        Limits {
            cpu_ms: clamp(0, self.cpu_ms),
            wall_ms: clamp(1, self.wall_ms),
            heap_bytes: Limits::clamp_heap_bytes(self.heap_bytes),
            log_lines: clamp_usize(3, self.log_lines),
            log_bytes: clamp_usize(4, self.log_bytes),
            state_bytes: clamp_usize(5, self.state_bytes),
            metadata_bytes: clamp_usize(6, self.metadata_bytes),
            claims_bytes: clamp_usize(7, self.claims_bytes),
            fetch_count: clamp_usize(8, self.fetch_count),
            fetch_response_bytes: clamp_usize(9, self.fetch_response_bytes),
        }
    }

    /// A heap budget clamped into its range.
    pub(crate) fn clamp_heap_bytes(heap_bytes: usize) -> usize {
        clamp_usize(2, heap_bytes)
    }
}

/// `value` clamped into range number `index` of [`Limits::RANGES`].
fn clamp(index: usize, value: u64) -> u64 {
    let range = Limits::RANGES[index];
    value.clamp(range.min, range.max)
}

fn clamp_usize(index: usize, value: usize) -> usize {
    let clamped = clamp(index, u64::try_from(value).unwrap_or(u64::MAX));
    usize::try_from(clamped).unwrap_or(usize::MAX)
}

/// Deserialises budget number `INDEX` of [`Limits::RANGES`], refusing values outside its range.
fn in_range<'de, D, T, const INDEX: usize>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::{Error, Unexpected};
    let range = Limits::RANGES[INDEX];
    let value = u64::deserialize(deserializer)?;
    let expected = format!("`{}` between {} and {}", range.field, range.min, range.max);
    if value < range.min || value > range.max {
        return Err(D::Error::invalid_value(
            Unexpected::Unsigned(value),
            &expected.as_str(),
        ));
    }
    T::try_from(value)
        .map_err(|_| D::Error::invalid_value(Unexpected::Unsigned(value), &expected.as_str()))
}

/// Writes [`Limits::RANGES`] into the settings schema as `minimum` / `maximum`.
fn ranges_in_schema(schema: &mut schemars::Schema) {
    let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for range in Limits::RANGES {
        if let Some(serde_json::Value::Object(property)) = properties.get_mut(range.field) {
            property.insert("minimum".to_owned(), range.min.into());
            property.insert("maximum".to_owned(), range.max.into());
        }
    }
}

/// The longest URL `api.fetch` accepts, in bytes; a longer one is refused as off the
/// allowlist (and only its first [`RECORDED_URL_BYTES`] are recorded).
pub const FETCH_URL_MAX_BYTES: usize = 16 * 1024;
/// The most of a fetch URL a fetch record keeps, in bytes (after redaction).
pub const RECORDED_URL_BYTES: usize = 2 * 1024;
/// The most of a tenant value quoted inside a message (a log level, a URL) or kept as a fetch
/// method, in bytes (after redaction).
pub const QUOTED_BYTES: usize = 200;
/// The longest failure message a run reports, in bytes (after redaction).
pub const FAILURE_MESSAGE_BYTES: usize = 4 * 1024;
/// The most of an error's stack the engine reads to locate a failure, in bytes. The stack is
/// never written to a trace.
pub const STACK_BYTES: usize = 16 * 1024;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_table_names_every_field_in_order() {
        let defaults = serde_json::to_value(Limits::default()).unwrap_or_default();
        let fields: Vec<&str> = defaults
            .as_object()
            .map(|map| map.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut names: Vec<&str> = Limits::RANGES.iter().map(|range| range.field).collect();
        names.sort_unstable();
        let mut sorted = fields.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        // Each range is at its own index, as the per-field deserialisers assume, and holds the
        // default.
        for (index, range) in Limits::RANGES.iter().enumerate() {
            let mut probe = serde_json::Map::new();
            probe.insert(range.field.to_owned(), (range.max + 1).into());
            let refused = serde_json::from_value::<Limits>(serde_json::Value::Object(probe));
            let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(range.field), "range {index}: {message}");
            let default = defaults[range.field].as_u64().unwrap_or(u64::MAX);
            assert!(
                (range.min..=range.max).contains(&default),
                "{}",
                range.field
            );
        }
    }

    #[test]
    fn clamping_moves_every_field_into_its_range() {
        let wild = Limits {
            cpu_ms: 0,
            wall_ms: u64::MAX,
            heap_bytes: 1,
            log_lines: usize::MAX,
            log_bytes: usize::MAX,
            state_bytes: usize::MAX,
            metadata_bytes: usize::MAX,
            claims_bytes: usize::MAX,
            fetch_count: usize::MAX,
            fetch_response_bytes: usize::MAX,
        };
        let clamped = serde_json::to_value(wild.clamped()).unwrap_or_default();
        for range in Limits::RANGES {
            let value = clamped[range.field].as_u64().unwrap_or(u64::MAX);
            assert!((range.min..=range.max).contains(&value), "{}", range.field);
        }
        assert_eq!(Limits::default().clamped(), Limits::default());
    }
}
