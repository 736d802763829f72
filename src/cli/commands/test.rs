//! `authflow test`: runs the workspace's flow tests (`tests/**/*.test.yaml`) in this one
//! process, in parallel, and reports them (human lines or a progress bar, JSON, JUnit),
//! with coverage (human, JSON, LCOV) and `--update` for failing expectations.
//!
//! Exit 0 when every case passed (and coverage met `--min-coverage`), 1 when a case failed,
//! a test file has errors or coverage fell short, 2 for usage and I/O errors.

use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::{Globals, TraceFormat, render};
use crate::suite::{self, coverage, report, runner};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(clap::Args)]
pub struct Args {
    /// Workspaces, test files or directories of test files (default: the current workspace).
    paths: Vec<PathBuf>,
    /// Run at most N cases at once (default: one per core).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Run only cases whose `file: name` contains PATTERN.
    #[arg(long, value_name = "PATTERN")]
    filter: Option<String>,
    /// Stop starting cases after the first failure.
    #[arg(long)]
    fail_fast: bool,
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    format: TraceFormat,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Rewrite the expectations of failing cases from what the runs did.
    #[arg(long)]
    update: bool,
    /// Report flow coverage (blocks, guard sides, branch arms, actions).
    #[arg(long)]
    coverage: bool,
    /// Also write coverage as LCOV here (implies --coverage).
    #[arg(long, value_name = "FILE")]
    lcov: Option<PathBuf>,
    /// Fail (exit 1) when total coverage is below N percent (implies --coverage).
    #[arg(long, value_name = "N")]
    min_coverage: Option<f64>,
    /// No progress bar and no line per passing case: failures and the summary only.
    #[arg(short, long)]
    quiet: bool,
    /// Test the last release (of `--env`) instead of the working tree: its flows, actions,
    /// modules and settings, with the working tree's tests.
    #[arg(long, conflicts_with = "update")]
    published: bool,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    if args.jobs == Some(0) {
        return Err(CliError::usage("-j takes at least 1"));
    }
    if let Some(n) = args.min_coverage
        && !(0.0..=100.0).contains(&n)
    {
        return Err(CliError::usage(
            "--min-coverage takes a percentage from 0 to 100",
        ));
    }
    let color = crate::cli::stdout_color();
    let options = runner::Options {
        jobs: args.jobs.unwrap_or_else(|| runner::Options::default().jobs),
        fail_fast: args.fail_fast,
        filter: args.filter.clone(),
    };
    // Before loading, so its runtimes are built while the test files are read.
    let engine = runner::engine(&options).map_err(CliError::usage)?;
    let mut suites = Vec::new();
    // With --published, each workspace's release in a temporary directory, kept while the
    // cases run.
    let mut releases = Vec::new();
    for (root, only) in workspaces(&args.paths, globals.workspace.as_deref())? {
        if args.published {
            let release = crate::cli::published::published_workspace(
                &root,
                crate::cli::selected_env(),
                None,
            )?;
            eprintln!("{}", release.note);
            // The named test files and directories, at their place in the release's copy.
            let only = only
                .iter()
                .map(|p| {
                    std::fs::canonicalize(p)
                        .ok()
                        .and_then(|p| Some(release.dir.path().join(p.strip_prefix(&root).ok()?)))
                        .ok_or_else(|| {
                            CliError::usage(format!(
                                "{} is not inside {}",
                                p.display(),
                                root.display()
                            ))
                        })
                })
                .collect::<Result<Vec<PathBuf>, CliError>>()?;
            let mut suite = suite::load(release.dir.path(), &only, crate::cli::selected_env())
                .map_err(CliError::usage)?;
            // Show each test file where it lives in the working tree, not in the copy.
            let cwd = std::env::current_dir().unwrap_or_default();
            for file in &mut suite.files {
                if let Ok(rel) = file.path.strip_prefix(release.dir.path()) {
                    let original = root.join(rel);
                    file.display = original
                        .strip_prefix(&cwd)
                        .unwrap_or(&original)
                        .display()
                        .to_string();
                }
            }
            suites.push(suite);
            releases.push(release);
            continue;
        }
        suites
            .push(suite::load(&root, &only, crate::cli::selected_env()).map_err(CliError::usage)?);
    }
    let diagnostics: usize = suites.iter().map(|s| s.diagnostics.len()).sum();
    if diagnostics > 0 {
        let mut text = String::new();
        for s in &suites {
            text.push_str(&render::human(&s.loaded.ws.sources, &s.diagnostics, color));
        }
        if suites.iter().any(|s| {
            s.diagnostics
                .iter()
                .any(crate::diagnostic::Diagnostic::is_error)
        }) {
            return Err(CliError::Diagnostics(text));
        }
        eprint!("{text}");
    }
    // A signing secret with no value signs the suite's tokens with the public simulation key,
    // as `run` does: say so once per workspace (a key HS256 cannot use fails the cases).
    for s in &suites {
        if let Ok((_, Some(warning))) = crate::load::session_config(&s.loaded.ws) {
            eprintln!("warning: {}", crate::cli::escape::escape_lines(&warning));
        }
    }
    let selected = runner::selected(&suites, options.filter.as_deref()).len();
    let human = args.format == TraceFormat::Human;
    let bar = (human && !args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(selected as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let suites_ref = &suites;
    let plain_lines = human && bar.is_none();
    let quiet = args.quiet;
    // Plain lines come out in the cases' order: a finished case waits for those before it.
    let pending: Mutex<(usize, BTreeMap<usize, Option<String>>)> = Mutex::new((0, BTreeMap::new()));
    let results = runner::run(&suites, &engine, &options, &|result| {
        let shown = !quiet || result.status == runner::Status::Failed;
        match &bar {
            Some(bar) => {
                if result.status == runner::Status::Failed {
                    bar.println(report::case_line(suites_ref, result));
                }
                bar.inc(1);
            }
            None if plain_lines => {
                let Ok(mut state) = pending.lock() else {
                    return;
                };
                let line = shown.then(|| report::case_line(suites_ref, result));
                state.1.insert(result.index, line);
                loop {
                    let next = state.0;
                    let Some(line) = state.1.remove(&next) else {
                        break;
                    };
                    if let Some(line) = line {
                        eprintln!("{line}");
                    }
                    state.0 += 1;
                }
            }
            None => {}
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = report::summary(&results);
    let want_coverage = args.coverage || args.lcov.is_some() || args.min_coverage.is_some();
    let flows = want_coverage.then(|| coverage::compute(&suites, &results));
    if let (Some(path), Some(flows)) = (&args.lcov, &flows) {
        crate::files::write_whole(path, coverage::lcov(flows).as_bytes())
            .map_err(CliError::usage)?;
    }
    if let Some(path) = &args.junit {
        let xml = report::junit(&suites, &results).map_err(CliError::usage)?;
        crate::files::write_whole(path, xml.as_bytes()).map_err(CliError::usage)?;
    }
    let updated = args
        .update
        .then(|| suite::update::update(&suites, &results));
    match args.format {
        TraceFormat::Json => {
            let mut value = report::json(&suites, &results);
            if let Some(flows) = &flows {
                value["coverage"] = coverage::json(flows);
            }
            if let Some(u) = &updated {
                value["update"] = serde_json::json!({
                    "written": u.written, "skipped": u.skipped, "refused": u.refused,
                });
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
        TraceFormat::Human => {
            for r in results
                .iter()
                .filter(|r| r.status == runner::Status::Failed)
            {
                outln!("FAIL {}", report::escape(&report::case_title(&suites, r)));
                out!("{}", report::diff(&suites, r));
            }
            if let Some(flows) = &flows {
                out!("{}", coverage::human(flows));
            }
            if let Some(u) = &updated {
                for (file, n) in &u.written {
                    outln!("updated {n} expectation(s) in {file}");
                }
                for note in u.skipped.iter().chain(&u.refused) {
                    outln!("not updated: {note}");
                }
            }
            outln!("{}", report::summary_line(summary));
        }
    }
    let below = match (&flows, args.min_coverage) {
        (Some(flows), Some(min)) => {
            let (_, _, percent) = coverage::totals(flows);
            if percent < min {
                eprintln!("coverage {percent:.1}% is below --min-coverage {min}");
            }
            percent < min
        }
        _ => false,
    };
    Ok(exit_status(summary.failed > 0 || below))
}

/// Groups the command's paths by workspace: each path is a workspace directory, or a test
/// file or directory inside one. No path means the current workspace.
fn workspaces(
    paths: &[PathBuf],
    workspace: Option<&Path>,
) -> Result<Vec<(PathBuf, Vec<PathBuf>)>, CliError> {
    let mut out: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let targets: Vec<PathBuf> = if paths.is_empty() {
        vec![workspace.map_or(cwd.clone(), Path::to_path_buf)]
    } else {
        paths.to_vec()
    };
    for path in targets {
        if !path.exists() {
            return Err(CliError::usage(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
        let root = match workspace {
            Some(ws) => std::fs::canonicalize(ws)
                .map_err(|e| CliError::usage(format!("{}: {e}", ws.display())))?,
            None => crate::workspace::discover(&path).ok_or_else(|| {
                CliError::usage(format!(
                    "{} is not inside a workspace (a directory with authflow.yaml)",
                    path.display()
                ))
            })?,
        };
        let is_root = std::fs::canonicalize(&path).is_ok_and(|p| p == root);
        let entry = match out.iter_mut().find(|(r, _)| *r == root) {
            Some(entry) => entry,
            None => {
                out.push((root.clone(), Vec::new()));
                out.last_mut()
                    .ok_or_else(|| CliError::usage("no workspace"))?
            }
        };
        if !is_root {
            entry.1.push(path);
        }
    }
    Ok(out)
}
