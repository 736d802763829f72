//! `authflow publish`: the gate before a release, then the release itself.
//!
//! Every check runs (flows, actions, modules, the lock), then the workspace's tests when it
//! has any (`authflow test`); on any error or failing case nothing is written.
//! Otherwise each item whose content changed gets its next version, the release is recorded in
//! `authflow.lock`, and its signed bundle is written to `.authflow/releases/<N>.bundle`.

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Format, Globals, load, render};
use crate::diagnostic::Diagnostic;
use crate::release::publish::{self, Outcome, PublishLock};
use crate::release::{ItemKey, Snapshot};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Also write the bundle to this file.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// How diagnostics are printed when publish refuses.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let color = crate::cli::stdout_color();
    let mut loaded = load::load(None, globals.workspace.as_deref())?;
    let Some(root) = loaded.ws.root.clone() else {
        return Err(CliError::Usage(
            "nothing to publish: run inside a workspace (a directory with authflow.yaml) or give --workspace DIR".into(),
        ));
    };
    // The environment published to (`--env`, recorded in the release) was checked when the
    // workspace loaded in it: each environment has its own last release, and item versions
    // are shared between environments.
    let env = crate::cli::selected_env();
    // Held until the lock is written: concurrent publishes queue instead of losing a release.
    let _hold = PublishLock::acquire(&root).map_err(CliError::Usage)?;
    // Read the lock again under the hold: another publish may have just written it.
    let (lock, lock_diagnostics) = crate::release::check::read_lock(&mut loaded.ws);
    loaded.lock = lock;
    let mut diagnostics = crate::cli::check_loaded(&loaded);
    diagnostics.extend(lock_diagnostics);
    let key = match publish::signing_key(&loaded.ws) {
        Ok(key) => Some(key),
        Err(d) => {
            diagnostics.push(d);
            None
        }
    };
    refuse_on_errors(&loaded, &diagnostics, args.format, color)?;
    run_tests(&root, color)?;
    let snap = Snapshot::take(&loaded.ws, &loaded.flows)
        .map_err(|errors| refusal(&loaded, &errors, args.format, color))?;
    // The gate refused above when the key was missing; this keeps it so without a panic.
    let key = key.ok_or_else(|| CliError::Usage("publish refused: no signing key".into()))?;
    let origin = publish::origin(&root, &snap);
    let time = publish::release_time().map_err(CliError::Usage)?;
    let outcome = publish::prepare(&snap, &loaded.lock, env, origin, time, &key)
        .map_err(|e| CliError::Usage(format!("publish refused, nothing was written: {e}")))?;
    match outcome {
        Outcome::Unchanged(last) => {
            match last {
                Some(n) => outln!("nothing to publish: the working tree is release {n}"),
                None => outln!("nothing to publish"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Published(publication) => {
            let path =
                publish::write(&root, &publication, args.output.as_deref()).map_err(|e| {
                    CliError::Usage(format!("publish failed, nothing was written: {e}"))
                })?;
            print_release(&publication, &path);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The second half of the gate: the workspace's tests (`tests/**/*.test.yaml`), when it has
/// any, all in this process as `authflow test` runs them; any failing case refuses.
fn run_tests(root: &Path, color: bool) -> Result<(), CliError> {
    use crate::suite::{self, report, runner};
    let suite = suite::load(root, &[], crate::cli::selected_env()).map_err(CliError::usage)?;
    if suite.files.is_empty() {
        return Ok(());
    }
    if suite.diagnostics.iter().any(Diagnostic::is_error) {
        let mut text = render::human(&suite.loaded.ws.sources, &suite.diagnostics, color);
        text.push_str("publish refused: the tests have errors; nothing was written\n");
        return Err(CliError::Diagnostics(text));
    }
    let options = runner::Options::default();
    let engine = runner::engine(&options).map_err(CliError::usage)?;
    let suites = [suite];
    let results = runner::run(&suites, &engine, &options, &|_| {});
    let summary = report::summary(&results);
    if summary.failed > 0 || summary.not_run > 0 {
        let mut text = String::new();
        for r in results
            .iter()
            .filter(|r| r.status == runner::Status::Failed)
        {
            text.push_str(&format!(
                "FAIL {}\n",
                report::escape(&report::case_title(&suites, r))
            ));
            text.push_str(&report::diff(&suites, r));
        }
        text.push_str(&format!(
            "{}\npublish refused: {} test case(s) failed; nothing was written\n",
            report::summary_line(summary),
            summary.failed
        ));
        return Err(CliError::Diagnostics(text));
    }
    eprintln!("tests: {}", report::summary_line(summary));
    Ok(())
}

fn refuse_on_errors(
    loaded: &load::Loaded,
    diagnostics: &[Diagnostic],
    format: Format,
    color: bool,
) -> Result<(), CliError> {
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(refusal(loaded, diagnostics, format, color));
    }
    if !diagnostics.is_empty() {
        eprint!("{}", render::human(&loaded.ws.sources, diagnostics, false));
    }
    Ok(())
}

fn refusal(
    loaded: &load::Loaded,
    diagnostics: &[Diagnostic],
    format: Format,
    color: bool,
) -> CliError {
    let mut text = render::diagnostics(&loaded.ws.sources, diagnostics, format, color);
    if matches!(format, Format::Human) {
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        text.push_str(&format!(
            "publish refused: {errors} error{}; nothing was written\n",
            if errors == 1 { "" } else { "s" }
        ));
    }
    CliError::Diagnostics(text)
}

fn print_release(publication: &publish::Publication, bundle: &Path) {
    let release = &publication.release;
    let env = release
        .env
        .as_deref()
        .map(|e| format!(" to {e}"))
        .unwrap_or_default();
    let commit = match &release.commit {
        Some(c) => format!(
            "at {}{}",
            &c[..12.min(c.len())],
            if release.dirty { " (dirty)" } else { "" }
        ),
        None => "outside git".to_string(),
    };
    outln!(
        "published release {}{env} {commit}, {}",
        release.release,
        release.time
    );
    for (key, version) in &release.items {
        let mark = ItemKey::parse(key)
            .and_then(|k| publication.bumped.get(&k))
            .map_or("  ", |_| "+ ");
        outln!("  {mark}{key} v{version}");
    }
    outln!("bundle: {}", bundle.display());
    outln!("commit authflow.lock to record the release in git");
}
