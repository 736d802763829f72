//! Replay: recorded logins run through two versions of a flow, and every decision that
//! changed.
//!
//! Each recorded login (`records.rs`: an exported JSONL of events, stored runs, or a test
//! suite's cases) is a complete simulation input: its event, credentials, recorded fetch
//! responses and recorded clock (`now`). [`replay`] runs it through the old and the new
//! [`Side`] in one process, on `jobs` threads, and compares the two traces' decisions
//! ([`compare`]): outcome, deny reason, aal, claims, step state, app_metadata and which blocks
//! ran with what status. Timings, logs and tokens are not decisions and are not compared.
//!
//! This module neither loads nor compiles anything (the caller hands it ready simulators and
//! action runners) and never writes; results come back in the order of the logins, whatever
//! the scheduling.
//!
//! **Invariant:** a login is replayed with exactly its recorded inputs on both sides, so a
//! difference in the result comes from the versions alone.

pub mod records;
pub mod render;

use crate::run::trace::{BlockStatus, Outcome, Trace};
use crate::run::{ActionRunner, Simulator, event::SimEvent};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One recorded login, ready to run.
pub struct Login {
    /// The stored run's id, the export line's id, or the test case's name.
    pub id: String,
    /// The event's name as recorded (a preset, a file, a case).
    pub name: String,
    pub event: SimEvent,
}

/// One version of the flow, ready to run logins.
pub struct Side<'a> {
    /// How the version is named (`HEAD (3f2a9c1d04b2)`, `working tree`).
    pub label: String,
    pub simulator: &'a Simulator<'a>,
    pub actions: &'a (dyn ActionRunner + Sync),
}

/// How a login's decision changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Unchanged,
    AllowToDeny,
    DenyToAllow,
    /// Same outcome, but something else the flow decides differs.
    Other,
}

/// One part of a decision that differs, by field (`outcome`, `deny_reason`, `aal`,
/// `claims.tier`, `state.geo.needs_review`, `app_metadata.plan`, `blocks.<id>`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// A login whose decision changed.
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub differences: Vec<Difference>,
}

/// Counts by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub unchanged: usize,
    pub allow_to_deny: usize,
    pub deny_to_allow: usize,
    pub other_changes: usize,
}

/// The result of a replay.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub flow: String,
    pub from: String,
    pub to: String,
    pub summary: Summary,
    /// Every changed login, in the order of the recorded logins.
    pub changed: Vec<Changed>,
}

impl Report {
    /// Whether any decision changed (exit code 2).
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }
}

/// Runs every login through both sides of flow `flow` on `jobs` threads (at least one) and
/// reports what changed, in the logins' order.
pub fn replay(flow: &str, old: &Side, new: &Side, logins: &[Login], jobs: usize) -> Report {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, logins.len().max(1));
    let mut results: Vec<(usize, Vec<Difference>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(login) = logins.get(index) else {
                            break;
                        };
                        let a = old.simulator.run(&login.event, &login.name, old.actions);
                        let b = new.simulator.run(&login.event, &login.name, new.actions);
                        mine.push((index, compare(&a, &b)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            // A worker panics only on a bug in the simulator: the panic goes on, rather than a
            // report that silently lacks that worker's logins.
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    let mut summary = Summary {
        total: results.len(),
        ..Summary::default()
    };
    let mut changed = Vec::new();
    for (index, differences) in results {
        let kind = kind_of(&differences);
        match kind {
            Kind::Unchanged => summary.unchanged += 1,
            Kind::AllowToDeny => summary.allow_to_deny += 1,
            Kind::DenyToAllow => summary.deny_to_allow += 1,
            Kind::Other => summary.other_changes += 1,
        }
        if kind != Kind::Unchanged {
            let login = &logins[index];
            changed.push(Changed {
                id: login.id.clone(),
                name: login.name.clone(),
                kind,
                differences,
            });
        }
    }
    Report {
        flow: flow.to_string(),
        from: old.label.clone(),
        to: new.label.clone(),
        summary,
        changed,
    }
}

fn kind_of(differences: &[Difference]) -> Kind {
    let outcome = differences.iter().find(|d| d.field == "outcome");
    match outcome.map(|d| (d.old.as_ref(), d.new.as_ref())) {
        None if differences.is_empty() => Kind::Unchanged,
        None => Kind::Other,
        Some((Some(a), Some(b))) if a == "allow" && b == "deny" => Kind::AllowToDeny,
        Some((Some(a), Some(b))) if a == "deny" && b == "allow" => Kind::DenyToAllow,
        Some(_) => Kind::Other,
    }
}

/// Every part of the decision that differs between two traces of one login.
pub fn compare(old: &Trace, new: &Trace) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut field = |name: &str, a: Option<Value>, b: Option<Value>| {
        if a != b {
            out.push(Difference {
                field: name.to_string(),
                old: a,
                new: b,
            });
        }
    };
    let outcome = |o: Outcome| {
        Value::String(match o {
            Outcome::Allow => "allow".into(),
            Outcome::Deny => "deny".into(),
        })
    };
    field(
        "outcome",
        Some(outcome(old.outcome)),
        Some(outcome(new.outcome)),
    );
    field(
        "deny_reason",
        old.deny_reason.clone().map(Value::String),
        new.deny_reason.clone().map(Value::String),
    );
    field(
        "aal",
        old.authentication.get("aal").cloned(),
        new.authentication.get("aal").cloned(),
    );
    field(
        "methods",
        old.authentication.get("methods").cloned(),
        new.authentication.get("methods").cloned(),
    );
    maps("claims", &old.claims, &new.claims, &mut out);
    maps("state", &old.state, &new.state, &mut out);
    maps(
        "app_metadata",
        &old.app_metadata,
        &new.app_metadata,
        &mut out,
    );
    blocks(old, new, &mut out);
    out
}

/// Key-by-key differences of two JSON objects, under `prefix`.
fn maps(
    prefix: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<Difference>,
) {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        let name = format!("{prefix}.{key}");
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => maps(&name, x, y, out),
            _ => out.push(Difference {
                field: name,
                old: a.cloned(),
                new: b.cloned(),
            }),
        }
    }
}

/// Which blocks ran, and how: `blocks.<id>` is the block's status (`completed`, `denied`,
/// `failed`), absent when the block did not run (skipped by its guard, or never reached), so
/// that adding a block whose guard is false changes no login.
fn blocks(old: &Trace, new: &Trace, out: &mut Vec<Difference>) {
    let status = |t: &Trace| -> Vec<(String, Value)> {
        t.blocks
            .iter()
            .filter(|b| b.status != BlockStatus::Skipped)
            .map(|b| {
                (
                    b.id.clone(),
                    serde_json::to_value(b.status).unwrap_or(Value::Null),
                )
            })
            .collect()
    };
    let (a, b) = (status(old), status(new));
    let mut ids: Vec<&String> = b.iter().map(|(id, _)| id).collect();
    for (id, _) in &a {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let find = |list: &[(String, Value)], id: &str| {
        list.iter().find(|(i, _)| i == id).map(|(_, s)| s.clone())
    };
    for id in ids {
        let (x, y) = (find(&a, id), find(&b, id));
        if x != y {
            out.push(Difference {
                field: format!("blocks.{id}"),
                old: x,
                new: y,
            });
        }
    }
}
