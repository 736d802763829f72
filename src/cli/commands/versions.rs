//! `authflow versions`: one item's published history (version, hash, release, commit, date).

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, TraceFormat, load};
use crate::release::ItemKey;
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The item: a flow, action or module name (`log-user`), or `kind:name` when the name is
    /// ambiguous (`action:log-user`, `flow:login`, `module:logger`, `settings:authflow.yaml`).
    item: String,
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    format: TraceFormat,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let loaded = load::load(None, globals.workspace.as_deref())?;
    let lock = &loaded.lock;
    let matches: Vec<&String> = lock
        .items
        .keys()
        .filter(|key| {
            *key == &args.item || ItemKey::parse(key).is_some_and(|k| k.name == args.item)
        })
        .collect();
    let key = match matches.as_slice() {
        [one] => *one,
        [] => {
            return Err(CliError::Usage(format!(
                "`{}` has never been published (items in the lock: {})",
                args.item,
                if lock.items.is_empty() {
                    "none".to_string()
                } else {
                    lock.items.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )));
        }
        many => {
            return Err(CliError::Usage(format!(
                "`{}` names several items: {}; give one as kind:name",
                args.item,
                many.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let rows: Vec<_> = lock.items[key]
        .iter()
        .map(|v| {
            let release = lock.release(v.release);
            json!({
                "version": v.version,
                "sha256": v.sha256,
                "release": v.release,
                "env": release.and_then(|r| r.env.clone()),
                "commit": release.and_then(|r| r.commit.clone()),
                "dirty": release.map(|r| r.dirty),
                "time": release.map(|r| r.time.clone()),
            })
        })
        .collect();
    if args.format == TraceFormat::Json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"item": key, "versions": rows}))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{key}");
    outln!("  version  sha256        release  commit        date");
    for row in &rows {
        let commit = row["commit"].as_str().map_or("-".to_string(), |c| {
            format!(
                "{}{}",
                &c[..12.min(c.len())],
                if row["dirty"] == json!(true) { "+" } else { "" }
            )
        });
        // Padding applies to strings only (a JSON value's Display ignores the width).
        let sha = row["sha256"].as_str().unwrap_or("-");
        outln!(
            "  {:<8} {:<13} {:<8} {:<13} {}",
            format!("v{}", row["version"]),
            sha.get(..12).unwrap_or(sha),
            row["release"].to_string(),
            commit,
            row["time"].as_str().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}
