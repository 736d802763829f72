//! `authflow diff [FROM] [TO]`: what changed between two versions of the workspace, as a
//! semantic diff of flows, actions, modules and settings.
//!
//! Exit codes follow terraform's detailed exit code, not the other commands': 0 no change,
//! 2 changes, 1 error (so a CI step can tell "changed" from "broken").

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, load, render};
use crate::diff::revision::{self, Materialized, Revision};
use crate::diff::{self, Version};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
    /// For a pull-request comment.
    Markdown,
}

#[derive(clap::Args)]
pub struct Args {
    /// The old version: a git revision (`HEAD`, `main~1`, a tag), `@N` (release N), `@latest`
    /// (the last release) or `@worktree` [default: the last release; `HEAD` before the
    /// first publish]
    from: Option<String>,
    /// The new version, in the same forms [default: the working tree]
    to: Option<String>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    format: DiffFormat,
}

/// The detailed exit codes.
pub const EXIT_NO_CHANGES: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;

pub fn run(args: Args, globals: &Globals) -> CliResult {
    exit_with_report(diff_report(&args, globals))
}

/// Prints a report of what changed and exits with the detailed codes: 2 when something
/// changed, 0 when nothing did, 1 on an error.
pub fn exit_with_report(report: Result<(String, bool), CliError>) -> CliResult {
    match report {
        Ok((text, changed)) => {
            out!("{text}");
            Ok(ExitCode::from(if changed {
                EXIT_CHANGES
            } else {
                EXIT_NO_CHANGES
            }))
        }
        Err(error) => Ok(error_exit(error)),
    }
}

/// Prints an error the way every command does, but exits 1: in diff's detailed exit codes
/// 2 means "changes".
pub fn error_exit(error: CliError) -> ExitCode {
    match error {
        CliError::Usage(message) => eprintln!("error: {message}"),
        CliError::Diagnostics(text) => out!("{text}"),
    }
    ExitCode::from(EXIT_ERROR)
}

/// The rendered diff and whether anything changed. Tests go through this too.
///
/// With `--env A --env B` the diff shows what promoting A to B changes: B as it is (old) ->
/// A as it is (new), each version in its own environment. Each side is the working tree
/// unless FROM (B's side) or TO (A's side) names another version.
pub fn diff_report(args: &Args, globals: &Globals) -> Result<(String, bool), CliError> {
    let root = workspace_root(globals)?;
    let parse = |spec: &Option<String>| {
        spec.as_deref()
            .map(Revision::parse)
            .transpose()
            .map_err(CliError::Usage)
    };
    let (from, to) = (parse(&args.from)?, parse(&args.to)?);
    let (from, to, from_env, to_env) = match globals.envs.as_slice() {
        [] => (from.unwrap_or_else(|| default_from(&root)), to, None, None),
        [one] if one == crate::workspace::env::ALL => {
            return Err(CliError::Usage(
                "diff compares one environment (--env NAME) or two (--env FROM --env TO), not all"
                    .into(),
            ));
        }
        [one] => (
            from.unwrap_or_else(|| default_from(&root)),
            to,
            Some(one),
            Some(one),
        ),
        // Each side defaults to its environment's last release once it has one.
        [promoted, target] => (
            from.unwrap_or_else(|| released_or_worktree(&root, target)),
            Some(to.unwrap_or_else(|| released_or_worktree(&root, promoted))),
            Some(target),
            Some(promoted),
        ),
        _ => {
            return Err(CliError::Usage(
                "diff takes at most two environments: --env STAGING --env PROD shows what promoting STAGING to PROD changes".into(),
            ));
        }
    };
    let to = to.unwrap_or(Revision::WorkingTree);
    let old = materialize_in(&root, &from, from_env.map(String::as_str))?;
    let new = materialize_in(&root, &to, to_env.map(String::as_str))?;
    let old_version = version_of(&old, from_env.map(String::as_str))?;
    let new_version = version_of(&new, to_env.map(String::as_str))?;
    let label = |m: &Materialized, env: Option<&String>| match env {
        Some(env) => format!("{} in environment {env}", m.label),
        None => m.label.clone(),
    };
    let result = diff::diff(
        &old_version,
        &new_version,
        &label(&old, from_env),
        &label(&new, to_env),
    );
    let text = match args.format {
        DiffFormat::Human => diff::render::human(&result),
        DiffFormat::Json => diff::render::json(&result),
        DiffFormat::Markdown => diff::render::markdown(&result),
    };
    Ok((text, result.has_changes()))
}

/// The workspace the command works on: `--workspace`, else found upwards from here.
pub fn workspace_root(globals: &Globals) -> Result<PathBuf, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let root = match &globals.workspace {
        Some(dir) => dir.clone(),
        None => crate::workspace::discover(&cwd).ok_or_else(|| {
            CliError::Usage(
                "not in a workspace (no authflow.yaml here or above); give --workspace DIR".into(),
            )
        })?,
    };
    std::fs::canonicalize(&root).map_err(|e| CliError::Usage(format!("{}: {e}", root.display())))
}

/// Release `@N` (or the last release of `env`) read back from git or its bundle, as
/// `run --published` reads it; a bundle's signature is checked against `publish.public_key`
/// when the workspace has one.
fn from_release(
    root: &Path,
    revision: &Revision,
    env: Option<&str>,
) -> Result<Materialized, CliError> {
    let loaded = crate::load::load(None, Some(root), env)?;
    let lock = &loaded.lock;
    if lock.releases.is_empty() {
        return Err(CliError::Usage(
            "nothing is published yet (no release in authflow.lock): compare git revisions (`authflow diff HEAD`) or run `authflow publish`".into(),
        ));
    }
    let release = match revision {
        Revision::Release(n) => lock.release(*n).ok_or_else(|| {
            CliError::Usage(format!(
                "there is no release {n}: authflow.lock records releases 1 to {}",
                lock.releases.len()
            ))
        })?,
        _ => lock.last_release(env).ok_or_else(|| {
            CliError::Usage(match env {
                Some(env) => format!("nothing is published to `{env}` yet"),
                None => "nothing is published outside an environment yet".to_string(),
            })
        })?,
    };
    let key = match &loaded.ws.settings.publish.public_key {
        Some(text) => Some(super::verify::public_key(text)?),
        None => None,
    };
    let read = crate::release::published::materialize(root, lock, release, key.as_ref())
        .map_err(CliError::Usage)?;
    let (label, commit) = match &read.origin {
        crate::release::published::Origin::Git(commit) => (
            format!(
                "release {} ({})",
                release.release,
                &commit[..12.min(commit.len())]
            ),
            Some(commit.clone()),
        ),
        crate::release::published::Origin::Bundle { .. } => {
            (format!("release {} (bundle)", release.release), None)
        }
    };
    Ok(revision::in_temporary_dir(read.dir, label, commit))
}

/// FROM when the user gave none: the last release; before the first publish, `HEAD`.
pub fn default_from(root: &Path) -> Revision {
    if root.join("authflow.lock").is_file() {
        Revision::LastRelease
    } else {
        Revision::Git("HEAD".into())
    }
}

/// `@latest` of `env` when the lock has a release of it, else the working tree.
fn released_or_worktree(root: &Path, env: &str) -> Revision {
    let lock = crate::release::Lock::read(&root.join("authflow.lock"));
    match lock {
        Ok(lock) if lock.last_release(Some(env)).is_some() => Revision::LastRelease,
        _ => Revision::WorkingTree,
    }
}

/// A version as a directory the loader reads, `@latest` meaning the last release of the
/// environment `--env` selected.
pub fn materialize(root: &Path, revision: &Revision) -> Result<Materialized, CliError> {
    materialize_in(root, revision, crate::cli::selected_env())
}

/// [`materialize`] with `@latest` the last release of `env`.
pub fn materialize_in(
    root: &Path,
    revision: &Revision,
    env: Option<&str>,
) -> Result<Materialized, CliError> {
    let materialized = match revision {
        Revision::WorkingTree => revision::working_tree(root),
        Revision::Git(rev) => revision::from_git(root, rev).map_err(CliError::Usage)?,
        Revision::Release(_) | Revision::LastRelease => from_release(root, revision, env)?,
    };
    for skipped in &materialized.skipped {
        eprintln!(
            "warning: {skipped} at {} is not a regular file (a symbolic link or submodule) and is not compared",
            materialized.label
        );
    }
    Ok(materialized)
}

/// Loads one materialised version in environment `env` and reduces it for the diff.
fn version_of(version: &Materialized, env: Option<&str>) -> Result<Version, CliError> {
    let loaded = load::load_in(None, Some(&version.root), env)?;
    Version::of(
        &loaded.ws,
        &loaded.environment,
        &loaded.flows,
        &loaded.diagnostics,
    )
    .map_err(|errors| {
        CliError::Diagnostics(format!(
            "{} cannot be compared:\n{}",
            version.label,
            render::human(&loaded.ws.sources, &errors, crate::cli::stdout_color())
        ))
    })
}
