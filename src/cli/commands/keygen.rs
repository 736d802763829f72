//! `authflow keygen`: a new Ed25519 key pair for signing release bundles.
//!
//! The private key goes into the workspace's untracked `.authflow/secrets.yaml` under the
//! signing-key secret's name (or into `--output FILE`), never to standard output; the public
//! key is printed.

use crate::cli::error::{CliError, CliResult};
use crate::cli::{Globals, load};
use crate::release::keys::PrivateKey;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The secret name used when authflow.yaml names none yet.
pub const DEFAULT_SECRET: &str = "RELEASE_SIGNING_KEY";

#[derive(clap::Args)]
pub struct Args {
    /// The secret to store the private key as (default: `publish.signing_key` of
    /// authflow.yaml, else RELEASE_SIGNING_KEY).
    #[arg(long, value_name = "NAME")]
    secret: Option<String>,
    /// Write the private key to this new file (mode 0600) instead of the secrets file.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace an existing key of that name.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let key = PrivateKey::generate().map_err(CliError::usage)?;
    let public = key.public();
    if let Some(path) = &args.output {
        write_private(path, &format!("{}\n", key.to_text()), args.force)?;
        eprintln!("private key written to {}", path.display());
    } else {
        let loaded = load::load(None, globals.workspace.as_deref())?;
        let Some(root) = loaded.ws.root.clone() else {
            return Err(CliError::Usage(
                "not in a workspace: give --output FILE for the private key, or run inside a workspace".into(),
            ));
        };
        let name = args
            .secret
            .or_else(|| loaded.ws.settings.publish.signing_key.clone())
            .unwrap_or_else(|| DEFAULT_SECRET.to_string());
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(CliError::Usage(format!(
                "`{name}` is not a secret name (letters, digits, `_`)"
            )));
        }
        let path = store_secret(&root, &name, &key.to_text(), args.force)?;
        eprintln!("private key stored as secret {name} in {}", path.display());
        if loaded.ws.settings.publish.signing_key.as_deref() != Some(name.as_str()) {
            eprintln!(
                "add to authflow.yaml:\n  secrets: [{name}]\n  publish:\n    signing_key: {name}\n    public_key: {public}"
            );
        }
    }
    outln!("{public}");
    Ok(ExitCode::SUCCESS)
}

/// Writes a private key to a new file only the owner can read.
fn write_private(path: &Path, text: &str, force: bool) -> Result<(), CliError> {
    if force {
        let _ = std::fs::remove_file(path);
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            CliError::Usage(format!(
                "{}: {e}{}",
                path.display(),
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    " (--force replaces it)"
                } else {
                    ""
                }
            ))
        })?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// Adds `name: value` to `.authflow/secrets.yaml`, keeping every other line as it was.
fn store_secret(root: &Path, name: &str, value: &str, force: bool) -> Result<PathBuf, CliError> {
    let dir = root.join(".authflow");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
    // Keep the directory out of git (`git add -A` must never pick up the private key), unless
    // the workspace already decided what to ignore there.
    let ignore = dir.join(".gitignore");
    if std::fs::symlink_metadata(&ignore).is_err() {
        crate::files::write_whole(
            &ignore,
            b"# Local to this machine: secrets, releases' bundles, stored runs.\n*\n",
        )
        .map_err(CliError::usage)?;
    }
    let path = dir.join("secrets.yaml");
    let existing = match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => std::fs::read_to_string(&path)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?,
        Ok(_) => {
            return Err(CliError::Usage(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        Err(_) => {
            // Created private before anything is written to it; write_whole keeps the mode.
            write_private(&path, "", false)?;
            String::new()
        }
    };
    let map: BTreeMap<String, String> = if existing.trim().is_empty() {
        BTreeMap::new()
    } else {
        serde_saphyr::from_str(&existing).map_err(|e| {
            CliError::Usage(format!(
                "{}: not a `NAME: value` file: {}",
                path.display(),
                e.without_snippet()
            ))
        })?
    };
    let mut text: String = if map.contains_key(name) {
        if !force {
            return Err(CliError::Usage(format!(
                "{} already holds a secret {name} (--force replaces it)",
                path.display()
            )));
        }
        existing
            .lines()
            .filter(|line| !line.trim_start().starts_with(&format!("{name}:")))
            .map(|line| format!("{line}\n"))
            .collect()
    } else {
        existing
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{name}: \"{value}\"\n"));
    crate::files::write_whole(&path, text.as_bytes()).map_err(CliError::usage)?;
    Ok(path)
}
