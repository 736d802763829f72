//! `authflow replay FLOW --from RUNS [--against REV]`: recorded logins run through two
//! versions of a flow (default: the last release, or `HEAD` before the first publish, against
//! the working tree), and every decision that changed.
//!
//! Exit codes as `diff`'s (terraform's detailed exit code): 0 no decision changed, 2 some
//! changed, 1 error.

use super::diff::{exit_with_report, materialize, workspace_root};
use crate::cli::error::CliError;
use crate::cli::{Globals, TraceFormat, load, simulate};
use crate::diff::revision::{Materialized, Revision};
use crate::replay::{self, Login, Side, records};
use crate::run::{ActionRunner, Simulator};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The flow file, in the working tree; its older version is the flow of the same name.
    flow: PathBuf,
    /// The recorded logins: `@store` (the workspace's stored runs), a JSONL file from
    /// `authflow runs export` (`-` for standard input), or test cases: a directory of
    /// `*.test.yaml` files or one such file (the cases that run this flow).
    #[arg(long, value_name = "RUNS")]
    from: String,
    /// With `--from @store`: only runs stored at or after this time (RFC 3339, a date or an
    /// age such as `24h`, as `runs list --since`).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// With `--from @store`: only runs stored before this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// The old version: a git revision, `@N`, `@latest` or `@worktree` [default: the last
    /// release; `HEAD` before the first publish]
    #[arg(long, value_name = "REV")]
    against: Option<String>,
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    format: TraceFormat,
    /// How many changed logins to show in full.
    #[arg(long, default_value_t = 10, value_name = "N")]
    show: usize,
    /// Threads that replay logins [default: the number of cores]
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
}

pub fn run(args: Args, globals: &Globals) -> Result<ExitCode, CliError> {
    exit_with_report(replay_report(&args, globals))
}

/// The rendered report and whether any decision changed.
pub fn replay_report(args: &Args, globals: &Globals) -> Result<(String, bool), CliError> {
    let color = crate::cli::stdout_color();
    let root = match &globals.workspace {
        Some(_) => workspace_root(globals)?,
        None => crate::workspace::discover(&args.flow)
            .map(|r| std::fs::canonicalize(&r).unwrap_or(r))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "{} is not in a workspace (no authflow.yaml above it)",
                    args.flow.display()
                ))
            })?,
    };
    let new = simulate::compile_flow(&args.flow, Some(&root), color)?;
    let flow_name = new.plan.flow.clone();
    let against = match &args.against {
        Some(spec) => Revision::parse(spec).map_err(CliError::Usage)?,
        None => super::diff::default_from(&root),
    };
    let old_version = materialize(&root, &against)?;
    let old = compile_named(&old_version, &flow_name, color)?;
    let logins = read_logins(&root, args, &flow_name)?;
    // Users are inputs of a login, like its event: both versions look them up in the working
    // tree's directory, so only the flow's version differs.
    let directory = simulate::load_directory(&new.loaded.ws);
    let (old_session, old_warning) = simulate::session_config(&old.loaded.ws)?;
    let (new_session, new_warning) = simulate::session_config(&new.loaded.ws)?;
    for warning in [old_warning, new_warning].into_iter().flatten() {
        eprintln!("warning: {}", crate::cli::escape::escape_lines(&warning));
    }
    let old_sim =
        Simulator::new(&old.plan, directory.clone(), old_session).map_err(CliError::usage)?;
    let new_sim = Simulator::new(&new.plan, directory, new_session).map_err(CliError::usage)?;
    let old_actions =
        crate::host::runner_for(&old.loaded.ws, &old.plan).map_err(CliError::usage)?;
    let new_actions =
        crate::host::runner_for(&new.loaded.ws, &new.plan).map_err(CliError::usage)?;
    let jobs = args.jobs.unwrap_or_else(crate::js::cores);
    let report = replay::replay(
        &flow_name,
        &side(&old_version.label, &old_sim, old_actions.as_ref()),
        &side("working tree", &new_sim, new_actions.as_ref()),
        &logins,
        jobs,
    );
    let text = match args.format {
        TraceFormat::Human => replay::render::human(&report, args.show),
        TraceFormat::Json => replay::render::json(&report, args.show),
    };
    Ok((text, report.has_changes()))
}

fn side<'a>(
    label: &str,
    simulator: &'a Simulator<'a>,
    actions: &'a (dyn ActionRunner + Send + Sync),
) -> Side<'a> {
    Side {
        label: label.to_string(),
        simulator,
        actions,
    }
}

/// The flow named `name` in a materialised version, compiled.
fn compile_named(
    version: &Materialized,
    name: &str,
    color: bool,
) -> Result<simulate::Compiled, CliError> {
    let loaded = load::load(None, Some(&version.root))?;
    let file = loaded
        .flows
        .iter()
        .find(|(_, flow)| flow.as_ref().is_some_and(|f| f.name.value == name))
        .map(|(file, _)| loaded.ws.sources.path(*file).to_path_buf())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{} has no flow `{name}` to replay against (`authflow diff` shows what changed)",
                version.label
            ))
        })?;
    simulate::compile_flow(&file, Some(&version.root), color).map_err(|e| match e {
        CliError::Diagnostics(text) => CliError::Diagnostics(format!(
            "flow `{name}` at {} does not compile:\n{text}",
            version.label
        )),
        other => other,
    })
}

/// The recorded logins of `from` that belong to flow `flow`: a JSONL export's lines for the
/// flow (lines without a flow belong to every flow), or a test suite's cases that run it.
fn read_logins(root: &Path, args: &Args, flow: &str) -> Result<Vec<Login>, CliError> {
    let from = args.from.as_str();
    if from == STORE {
        return store_logins(root, args, flow);
    }
    if args.since.is_some() || args.until.is_some() {
        return Err(CliError::usage(
            "--since and --until select stored runs: give them with `--from @store`",
        ));
    }
    let is_suite =
        Path::new(from).is_dir() || from.ends_with(".test.yaml") || from.ends_with(".test.yml");
    let logins = if is_suite {
        suite_logins(root, Path::new(from), flow)?
    } else {
        jsonl_logins(from, flow)?
    };
    if logins.is_empty() {
        return Err(CliError::Usage(format!(
            "{from} holds no recorded login of flow `{flow}`"
        )));
    }
    Ok(logins)
}

/// The cases of the workspace's test files under `path` that run flow `flow`, each as the login
/// it simulates (event, credentials, directory entries, recorded fetches and clock).
fn suite_logins(root: &Path, path: &Path, flow: &str) -> Result<Vec<Login>, CliError> {
    let suite = crate::suite::load(root, &[path.to_path_buf()], crate::cli::selected_env())
        .map_err(CliError::usage)?;
    if suite
        .diagnostics
        .iter()
        .any(crate::diagnostic::Diagnostic::is_error)
    {
        return Err(CliError::Diagnostics(crate::cli::render::human(
            &suite.loaded.ws.sources,
            &suite.diagnostics,
            crate::cli::stdout_color(),
        )));
    }
    Ok(suite
        .cases
        .iter()
        .filter(|case| {
            matches!(case.target, crate::suite::Target::Flow(i) if suite.flows[i].name == flow)
        })
        .map(|case| Login {
            id: format!("{}: {}", suite.files[case.file].display, case.name),
            name: case.event_name.clone(),
            event: case.sim.clone(),
        })
        .collect())
}

/// `--from @store`: the workspace's stored runs.
const STORE: &str = "@store";

/// The stored runs of flow `flow` in the workspace's store, as `runs export` writes them.
fn store_logins(root: &Path, args: &Args, flow: &str) -> Result<Vec<Login>, CliError> {
    let filters = super::runs::Filters {
        flow: Some(flow.to_string()),
        since: args.since.clone(),
        until: args.until.clone(),
        ..Default::default()
    };
    let base = simulate::store_base(Some(root));
    let records = super::runs::recorded_logins(&base, &filters.to_filter(None)?, Some(root))?;
    logins_of(&records, STORE, flow)
}

/// The lines of a JSONL export for flow `flow`.
fn jsonl_logins(from: &str, flow: &str) -> Result<Vec<Login>, CliError> {
    let records = if from == "-" {
        records::read_jsonl(std::io::stdin().lock(), "standard input")
    } else {
        let path = Path::new(from);
        let meta = std::fs::metadata(path).map_err(|e| CliError::Usage(format!("{from}: {e}")))?;
        if !meta.is_file() {
            return Err(CliError::Usage(format!(
                "{from} is not a regular file: give a JSONL export (`authflow runs export > runs.jsonl`) or `-`"
            )));
        }
        let file = std::fs::File::open(path).map_err(|e| CliError::Usage(format!("{from}: {e}")))?;
        records::read_jsonl(std::io::BufReader::new(file), from)
    }
    .map_err(|errors| {
        CliError::Usage(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    logins_of(&records, from, flow)
}

/// The recorded logins of flow `flow` (lines without a flow belong to every flow), each
/// checked against the event reference; `from` names the source in errors.
fn logins_of(
    records: &[records::RecordedLogin],
    from: &str,
    flow: &str,
) -> Result<Vec<Login>, CliError> {
    let mut logins = Vec::new();
    let mut problems = Vec::new();
    for record in records
        .iter()
        .filter(|r| r.flow.as_deref().is_none_or(|f| f == flow))
    {
        match record.to_login() {
            Ok(login) => logins.push(login),
            Err(e) => problems.push(format!("{from}: recorded login `{}`: {e}", record.id)),
        }
    }
    if !problems.is_empty() {
        return Err(CliError::Usage(problems.join("\n")));
    }
    if logins.is_empty() {
        return Err(CliError::Usage(format!(
            "{from} holds no recorded login of flow `{flow}`"
        )));
    }
    Ok(logins)
}
