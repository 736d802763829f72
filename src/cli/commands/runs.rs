//! `authflow runs list|show`: the stored runs (the console's Recent Runs), read from the
//! workspace's store.

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

#[derive(clap::Subcommand)]
pub enum Args {
    /// List stored runs, newest first.
    List {
        /// Only runs of this flow (its `flow:` name).
        #[arg(long)]
        flow: Option<String>,
        /// Only runs that ended so.
        #[arg(long, value_enum)]
        outcome: Option<OutcomeArg>,
        /// Only runs stored at or after this time: RFC 3339 (`2026-01-15T12:00:00Z`), a date
        /// (`2026-01-15`, UTC) or an age (`2h`, `3d`, `1w`).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only runs stored before this time (same forms as --since).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
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
        Args::List {
            flow,
            outcome,
            since,
            until,
            limit,
            format,
        } => {
            let filter = RunFilter {
                flow,
                outcome: outcome.map(|o| match o {
                    OutcomeArg::Allow => Outcome::Allow,
                    OutcomeArg::Deny => Outcome::Deny,
                }),
                since: since.as_deref().map(parse_time).transpose()?,
                until: until.as_deref().map(parse_time).transpose()?,
                limit: Some(limit),
            };
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
