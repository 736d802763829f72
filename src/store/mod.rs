//! The workspace's embedded store: stored runs and test results in one SQLite database,
//! `.authflow/store.db` (bundled SQLite, write-ahead log).
//!
//! Every row is written in its own transaction with a unique id (a UUIDv7: time-ordered and
//! unique across processes), so concurrent commands never lose or overwrite each other's
//! rows; readers never block writers. A run is stored with its input event as given (what
//! `replay` needs) and its trace, with every secret value of the workspace redacted first.
//! The schema carries a version (`PRAGMA user_version`): a store written by a newer authflow
//! is refused, never misread. This module must not decide what a run is; it keeps them.

use crate::run::trace::{Outcome, Trace};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The store's file, relative to the workspace root (or to the current directory when a
/// flow runs outside any workspace).
pub const STORE_FILE: &str = ".authflow/store.db";

/// The version of the tables below. Raise it with a migration in [`migrate`].
pub const SCHEMA_VERSION: i64 = 1;

/// How long a command waits for another one's write before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    recorded_at_ms INTEGER NOT NULL,
    flow TEXT NOT NULL,
    flow_file TEXT NOT NULL,
    event_name TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('allow', 'deny')),
    deny_reason TEXT,
    input_event TEXT NOT NULL,
    trace TEXT NOT NULL
);
CREATE INDEX runs_by_flow ON runs (flow, seq);
CREATE INDEX runs_by_time ON runs (recorded_at_ms);
CREATE TABLE test_results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    test_run TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    suite TEXT NOT NULL,
    case_name TEXT NOT NULL,
    status TEXT NOT NULL,
    elapsed_us INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX test_results_by_run ON test_results (test_run, seq);
";

/// Why the store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{}: the store has schema version {found}, newer than this authflow's {SCHEMA_VERSION}; use a newer authflow",
        path.display()
    )]
    NewerSchema { path: PathBuf, found: i64 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Data { path: PathBuf, message: String },
}

/// A run to store.
pub struct NewRun<'a> {
    pub flow_file: &'a str,
    /// The event as given: the preset's or the file's JSON, before completion.
    pub input_event: &'a Value,
    pub trace: &'a Trace,
    /// Values to redact from everything stored, by secret name.
    pub secrets: &'a [(String, String)],
}

/// A stored run as read back.
#[derive(Clone, Debug)]
pub struct StoredRun {
    pub id: String,
    pub recorded_at: jiff::Timestamp,
    pub flow: String,
    pub flow_file: String,
    pub event_name: String,
    pub outcome: Outcome,
    pub deny_reason: Option<String>,
    pub input_event: Value,
    pub trace: Trace,
}

/// Which runs to list: every field narrows.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub flow: Option<String>,
    pub outcome: Option<Outcome>,
    pub since: Option<jiff::Timestamp>,
    pub until: Option<jiff::Timestamp>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// Runs read back, and the rows that could not be (id, why): never dropped silently.
#[derive(Debug, Default)]
pub struct Listed {
    pub runs: Vec<StoredRun>,
    pub unreadable: Vec<(String, String)>,
}

/// One case's result in a test run (for `authflow test`).
#[derive(Clone, Debug, PartialEq)]
pub struct TestResult {
    pub suite: String,
    pub case_name: String,
    /// `passed`, `failed`, `error`, ...: the test runner's vocabulary.
    pub status: String,
    pub elapsed_us: u64,
    /// Whatever the runner keeps about the case (expected and actual values, messages).
    pub detail: Value,
}

/// The error of a failed SQLite call on the store at `path`.
fn sqlite_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// A write transaction on `conn`, taken at once (it waits up to the busy timeout for other
/// writers), and the error mapping for its calls.
fn write<'a>(
    conn: &'a mut Connection,
    path: &'a Path,
) -> Result<
    (
        rusqlite::Transaction<'a>,
        impl Fn(rusqlite::Error) -> StoreError + 'a,
    ),
    StoreError,
> {
    let sqlite = sqlite_error(path);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&sqlite)?;
    Ok((tx, sqlite))
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// The store's path under `base` (a workspace root, or the current directory).
    pub fn path_in(base: &Path) -> PathBuf {
        base.join(STORE_FILE)
    }

    /// Opens the store under `base`, creating `.authflow/` and the database when missing.
    pub fn open(base: &Path) -> Result<Store, StoreError> {
        let path = Store::path_in(base);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Store::open_path(&path)
    }

    /// Opens the store under `base` for reading; `None` when no run was ever stored there.
    pub fn open_existing(base: &Path) -> Result<Option<Store>, StoreError> {
        let path = Store::path_in(base);
        if path.symlink_metadata().is_err() {
            return Ok(None);
        }
        Store::open_path(&path).map(Some)
    }

    fn open_path(path: &Path) -> Result<Store, StoreError> {
        let sqlite = sqlite_error(path);
        let conn = Connection::open(path).map_err(&sqlite)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(&sqlite)?;
        // Switching to WAL takes a lock; the busy timeout covers it, and the mode persists in
        // the file, so later opens find it set.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(&sqlite)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Data {
                path: path.to_path_buf(),
                message: format!("the database refused write-ahead logging (journal mode {mode})"),
            });
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&sqlite)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        sqlite_error(&self.path)(source)
    }

    /// Creates the tables of a new store, or checks an existing store's version.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let (tx, sqlite) = write(&mut self.conn, &self.path)?;
        let path = &self.path;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(&sqlite)?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA).map_err(&sqlite)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(&sqlite)?;
            }
            SCHEMA_VERSION => {}
            found if found > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema {
                    path: path.clone(),
                    found,
                });
            }
            found => {
                return Err(StoreError::Data {
                    path: path.clone(),
                    message: format!("unknown schema version {found}"),
                });
            }
        }
        tx.commit().map_err(&sqlite)
    }

    /// Stores a run and returns its id. Secret values are redacted from the input event and
    /// the trace before anything is written.
    pub fn insert_run(&mut self, run: NewRun) -> Result<String, StoreError> {
        let mut input_event = run.input_event.clone();
        crate::js::redact_json(run.secrets, &mut input_event);
        let mut trace = serde_json::to_value(run.trace).map_err(|e| StoreError::Data {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        crate::js::redact_json(run.secrets, &mut trace);
        let deny_reason = trace["deny_reason"].as_str().map(str::to_string);
        let id = uuid::Uuid::now_v7().to_string();
        let outcome = match run.trace.outcome {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
        };
        self.conn
            .execute(
                "INSERT INTO runs (id, recorded_at_ms, flow, flow_file, event_name, outcome, deny_reason, input_event, trace)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    jiff::Timestamp::now().as_millisecond(),
                    run.trace.flow,
                    run.flow_file,
                    run.trace.event,
                    outcome,
                    deny_reason,
                    input_event.to_string(),
                    trace.to_string(),
                ],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(id)
    }

    /// Stored runs matching `filter`, newest first.
    pub fn runs(&self, filter: &RunFilter) -> Result<Listed, StoreError> {
        let mut sql = String::from(
            "SELECT id, recorded_at_ms, flow, flow_file, event_name, outcome, deny_reason, input_event, trace FROM runs WHERE 1 = 1",
        );
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(flow) = &filter.flow {
            sql.push_str(" AND flow = ?");
            values.push(flow.clone().into());
        }
        if let Some(outcome) = filter.outcome {
            sql.push_str(" AND outcome = ?");
            values.push(
                match outcome {
                    Outcome::Allow => "allow",
                    Outcome::Deny => "deny",
                }
                .to_string()
                .into(),
            );
        }
        if let Some(since) = filter.since {
            sql.push_str(" AND recorded_at_ms >= ?");
            values.push(since.as_millisecond().into());
        }
        if let Some(until) = filter.until {
            sql.push_str(" AND recorded_at_ms < ?");
            values.push(until.as_millisecond().into());
        }
        sql.push_str(" ORDER BY seq DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(" LIMIT ?");
            values.push((limit.min(i64::MAX as usize) as i64).into());
        }
        self.select(&sql, rusqlite::params_from_iter(values))
    }

    /// The run with this id, or the only one whose id starts with it (as git takes a short
    /// commit id); `latest` is the newest. An ambiguous prefix is an error naming the count.
    pub fn run(&self, id: &str) -> Result<Option<StoredRun>, StoreError> {
        let listed = if id == "latest" {
            self.runs(&RunFilter {
                limit: Some(1),
                ..RunFilter::default()
            })?
        } else {
            let escaped: String = id
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            self.select(
                "SELECT id, recorded_at_ms, flow, flow_file, event_name, outcome, deny_reason, input_event, trace FROM runs WHERE id LIKE ?1 ESCAPE '\\' ORDER BY seq DESC LIMIT 2",
                params![format!("{escaped}%")],
            )?
        };
        if let Some((id, why)) = listed.unreadable.first() {
            return Err(StoreError::Data {
                path: self.path.clone(),
                message: format!("run {id} cannot be read: {why}"),
            });
        }
        match listed.runs.len() {
            0 | 1 => Ok(listed.runs.into_iter().next()),
            _ => Err(StoreError::Data {
                path: self.path.clone(),
                message: format!(
                    "more than one stored run has an id starting with `{id}`; give more of it"
                ),
            }),
        }
    }

    fn select(&self, sql: &str, values: impl rusqlite::Params) -> Result<Listed, StoreError> {
        let mut statement = self.conn.prepare(sql).map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map(values, |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, String>(8)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut listed = Listed::default();
        for row in rows {
            let (id, at, flow, flow_file, event_name, outcome, deny_reason, input, trace) =
                row.map_err(|e| self.sqlite(e))?;
            let parsed = (|| -> Result<StoredRun, String> {
                Ok(StoredRun {
                    recorded_at: jiff::Timestamp::from_millisecond(at)
                        .map_err(|e| e.to_string())?,
                    outcome: match outcome.as_str() {
                        "allow" => Outcome::Allow,
                        "deny" => Outcome::Deny,
                        other => return Err(format!("unknown outcome `{other}`")),
                    },
                    input_event: serde_json::from_str(&input)
                        .map_err(|e| format!("its input event is not JSON: {e}"))?,
                    trace: serde_json::from_str(&trace)
                        .map_err(|e| format!("its trace does not read: {e}"))?,
                    id: id.clone(),
                    flow,
                    flow_file,
                    event_name,
                    deny_reason,
                })
            })();
            match parsed {
                Ok(run) => listed.runs.push(run),
                Err(why) => listed.unreadable.push((id, why)),
            }
        }
        Ok(listed)
    }

    /// Stores one test run's results under a new id, in one transaction, and returns the id.
    pub fn insert_test_results(&mut self, results: &[TestResult]) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let at = jiff::Timestamp::now().as_millisecond();
        let (tx, sqlite) = write(&mut self.conn, &self.path)?;
        for result in results {
            tx.execute(
                "INSERT INTO test_results (test_run, recorded_at_ms, suite, case_name, status, elapsed_us, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    at,
                    result.suite,
                    result.case_name,
                    result.status,
                    result.elapsed_us.min(i64::MAX as u64) as i64,
                    result.detail.to_string(),
                ],
            )
            .map_err(&sqlite)?;
        }
        tx.commit().map_err(&sqlite)?;
        Ok(id)
    }

    /// The results of one test run (`latest` for the newest), in the order they were stored.
    pub fn test_results(&self, test_run: &str) -> Result<Vec<TestResult>, StoreError> {
        let id: Option<String> = if test_run == "latest" {
            self.conn
                .query_row(
                    "SELECT test_run FROM test_results ORDER BY seq DESC LIMIT 1",
                    [],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| self.sqlite(e))?
        } else {
            Some(test_run.to_string())
        };
        let Some(id) = id else {
            return Ok(Vec::new());
        };
        let mut statement = self
            .conn
            .prepare("SELECT suite, case_name, status, elapsed_us, detail FROM test_results WHERE test_run = ?1 ORDER BY seq")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map(params![id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut results = Vec::new();
        for row in rows {
            let (suite, case_name, status, elapsed_us, detail) = row.map_err(|e| self.sqlite(e))?;
            results.push(TestResult {
                suite,
                case_name,
                status,
                elapsed_us: elapsed_us.max(0) as u64,
                detail: serde_json::from_str(&detail).map_err(|e| StoreError::Data {
                    path: self.path.clone(),
                    message: format!("a test result's detail is not JSON: {e}"),
                })?,
            });
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(flow: &str, outcome: Outcome) -> Trace {
        serde_json::from_value(serde_json::json!({
            "flow": flow, "event": "logged-in-us-user", "outcome": outcome,
            "deny_reason": if outcome == Outcome::Deny { Some("tor") } else { None },
            "blocks": [], "state": {}, "claims": {}, "app_metadata": {},
            "authentication": {}, "elapsed_us": 1,
        }))
        .unwrap()
    }

    #[test]
    fn stores_filters_and_reads_back_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let event =
            serde_json::json!({"request": {"ip": "203.0.113.9"}, "note": "key s3cr3t-value"});
        let secrets = vec![("API_KEY".to_string(), "s3cr3t-value".to_string())];
        let mut ids = Vec::new();
        for (flow, outcome) in [
            ("login", Outcome::Allow),
            ("login", Outcome::Deny),
            ("signup", Outcome::Allow),
        ] {
            ids.push(
                store
                    .insert_run(NewRun {
                        flow_file: "flows/login.yaml",
                        input_event: &event,
                        trace: &trace(flow, outcome),
                        secrets: &secrets,
                    })
                    .unwrap(),
            );
        }
        let all = store.runs(&RunFilter::default()).unwrap();
        assert_eq!(all.runs.len(), 3);
        assert_eq!(all.runs[0].id, ids[2], "newest first");
        assert_eq!(all.runs[2].input_event["note"], "key [redacted:API_KEY]");
        let denied = store
            .runs(&RunFilter {
                flow: Some("login".into()),
                outcome: Some(Outcome::Deny),
                ..RunFilter::default()
            })
            .unwrap();
        assert_eq!(denied.runs.len(), 1);
        assert_eq!(denied.runs[0].deny_reason.as_deref(), Some("tor"));
        let future = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
        let none = store
            .runs(&RunFilter {
                since: Some(future),
                ..RunFilter::default()
            })
            .unwrap();
        assert!(none.runs.is_empty());
        assert_eq!(store.run(&ids[1][..35]).unwrap().unwrap().id, ids[1]);
        assert_eq!(store.run("latest").unwrap().unwrap().id, ids[2]);
        assert!(store.run("ffffffff").unwrap().is_none());
        // Every id shares its first characters with the others: a short prefix is ambiguous.
        assert!(store.run(&ids[0][..4]).is_err());
    }

    #[test]
    fn unreadable_rows_are_reported_and_newer_schemas_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .insert_run(NewRun {
                flow_file: "f",
                input_event: &Value::Null,
                trace: &trace("login", Outcome::Allow),
                secrets: &[],
            })
            .unwrap();
        store
            .conn
            .execute("UPDATE runs SET trace = '{'", [])
            .unwrap();
        let listed = store.runs(&RunFilter::default()).unwrap();
        assert!(listed.runs.is_empty());
        assert_eq!(listed.unreadable.len(), 1);
        store.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(store);
        let error = Store::open(dir.path()).err().unwrap();
        assert!(
            matches!(error, StoreError::NewerSchema { found: 99, .. }),
            "{error}"
        );
    }

    #[test]
    fn test_results_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let results = vec![TestResult {
            suite: "login".into(),
            case_name: "tor is denied".into(),
            status: "passed".into(),
            elapsed_us: 12,
            detail: serde_json::json!({"outcome": "deny"}),
        }];
        let id = store.insert_test_results(&results).unwrap();
        assert_eq!(store.test_results(&id).unwrap(), results);
        assert_eq!(store.test_results("latest").unwrap(), results);
    }
}
