//! `authflow runs list|show|export`: the stored runs (the console's Recent Runs), read from
//! the workspace's store; `export` writes them as the recorded logins `replay --from` reads.

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, TraceFormat, simulate, trace_view};
use crate::run::trace::Outcome;
use crate::store::{RunFilter, Store};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutcomeArg {
    Allow,
    Deny,
}

/// Which stored runs a command reads.
#[derive(clap::Args, Clone, Default)]
pub struct Filters {
    /// Only runs of this flow (its `flow:` name).
    #[arg(long)]
    pub flow: Option<String>,
    /// Only runs that ended so.
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// Only runs stored at or after this time: RFC 3339 (`2026-01-15T12:00:00Z`), a date
    /// (`2026-01-15`, UTC) or an age (`2h`, `3d`, `1w`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only runs stored before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

impl Filters {
    /// The store's filter, with at most `limit` runs.
    pub fn to_filter(&self, limit: Option<usize>) -> Result<RunFilter, CliError> {
        Ok(RunFilter {
            flow: self.flow.clone(),
            outcome: self.outcome.map(|o| match o {
                OutcomeArg::Allow => Outcome::Allow,
                OutcomeArg::Deny => Outcome::Deny,
            }),
            since: self.since.as_deref().map(parse_time).transpose()?,
            until: self.until.as_deref().map(parse_time).transpose()?,
            limit,
        })
    }
}

#[derive(clap::Subcommand)]
pub enum Args {
    /// List stored runs, newest first.
    List {
        #[command(flatten)]
        filters: Filters,
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
    /// Write stored runs as recorded logins, one JSON line each, oldest first: the format
    /// `authflow replay --from` reads. Secret values are never written.
    Export {
        #[command(flatten)]
        filters: Filters,
        /// At most this many runs (the newest).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one stored run by id (or a unique prefix of it, or `latest`).
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = globals
        .workspace
        .clone()
        .or_else(|| crate::workspace::discover(&cwd));
    let base = simulate::store_base(root.as_deref());
    let store = Store::open_existing(&base).map_err(CliError::usage)?;
    let path = Store::path_in(&base);
    match args {
        Args::Export { filters, limit } => {
            let records = recorded_logins(&base, &filters.to_filter(limit)?, root.as_deref())?;
            let mut text = String::new();
            for record in &records {
                let line = serde_json::to_string(record).map_err(CliError::usage)?;
                text.push_str(&line);
                text.push('\n');
            }
            out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Args::List {
            filters,
            limit,
            format,
        } => {
            let filter = filters.to_filter(Some(limit))?;
            let listed = match &store {
                Some(store) => store.runs(&filter).map_err(CliError::usage)?,
                None => crate::store::Listed::default(),
            };
            for (id, why) in &listed.unreadable {
                eprintln!(
                    "warning: stored run {id} cannot be read and is not listed: {}",
                    crate::cli::escape::escape_lines(why)
                );
            }
            out!("{}", trace_view::run_list(&path, &listed.runs, format));
            Ok(ExitCode::SUCCESS)
        }
        Args::Show { id, format } => {
            let found = match &store {
                Some(store) => store.run(&id).map_err(CliError::usage)?,
                None => None,
            };
            let Some(run) = found else {
                return Err(CliError::Usage(format!(
                    "no stored run `{id}` in {} (`authflow runs list` lists them)",
                    path.display()
                )));
            };
            out!("{}", trace_view::trace(&run.trace, format));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The stored runs under `base` that match `filter`, oldest first, as recorded logins with the
/// secret values of the workspace at `root` redacted. A run that cannot be read is an error
/// naming it: an export that left logins out would replay a different sample.
pub fn recorded_logins(
    base: &std::path::Path,
    filter: &RunFilter,
    root: Option<&std::path::Path>,
) -> Result<Vec<crate::replay::records::RecordedLogin>, CliError> {
    let Some(store) = Store::open_existing(base).map_err(CliError::usage)? else {
        return Err(CliError::Usage(format!(
            "no stored runs: {} does not exist (`authflow run` stores each run)",
            Store::path_in(base).display()
        )));
    };
    let listed = store.runs(filter).map_err(CliError::usage)?;
    if !listed.unreadable.is_empty() {
        let lines: Vec<String> = listed
            .unreadable
            .iter()
            .map(|(id, why)| format!("  {id}: {}", crate::cli::escape::escape_lines(why)))
            .collect();
        return Err(CliError::Usage(format!(
            "{} stored runs cannot be read (leave them out with --since/--until):\n{}",
            lines.len(),
            lines.join("\n")
        )));
    }
    let secrets = match root {
        Some(root) => {
            let loaded = crate::load::load(None, Some(root), crate::cli::selected_env())?;
            simulate::secret_values(&loaded.ws)
        }
        None => Vec::new(),
    };
    Ok(listed
        .runs
        .iter()
        .rev()
        .map(|run| crate::replay::records::RecordedLogin::from_stored(run, &secrets))
        .collect())
}

/// A time for --since / --until: RFC 3339, a UTC date, or an age before now.
fn parse_time(text: &str) -> Result<jiff::Timestamp, CliError> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && let Ok(at) = date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(at.timestamp());
    }
    let age = text
        .parse::<jiff::Span>()
        .ok()
        .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).ok())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "`{text}` is not a time: give RFC 3339 (2026-01-15T12:00:00Z), a date (2026-01-15) or an age (2h, 3d)"
            ))
        })?;
    jiff::Timestamp::now()
        .checked_sub(age.abs())
        .map_err(|e| CliError::Usage(format!("`{text}`: {e}")))
}
