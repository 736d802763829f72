//! `authflow verify`: check a release bundle's signature and every file's hash against the
//! lock, failing closed with the first reason.

use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::{Globals, load};
use crate::release::bundle::Bundle;
use crate::release::keys::PublicKey;
use crate::release::published::read_bundle_file;
use crate::release::{LOCK_FILE, Lock};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The bundle file (`.authflow/releases/<N>.bundle`).
    bundle: PathBuf,
    /// The public key (`ed25519:...`) or a file holding it (default: `publish.public_key` of
    /// the workspace's authflow.yaml).
    #[arg(long, value_name = "KEY|FILE")]
    key: Option<String>,
    /// Also check the release against this lock (default: the workspace's authflow.lock, when
    /// there is one).
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
}

/// A public key given on the command line: the key itself, or a file holding it.
pub fn public_key(text: &str) -> Result<PublicKey, CliError> {
    let text = if text.starts_with("ed25519:") {
        text.to_string()
    } else {
        let path = Path::new(text);
        let meta = std::fs::metadata(path).map_err(|e| {
            CliError::Usage(format!(
                "--key {text}: neither a key (ed25519:...) nor a readable file: {e}"
            ))
        })?;
        if !meta.is_file() || meta.len() > 4096 {
            return Err(CliError::Usage(format!(
                "--key {text}: not a small regular file"
            )));
        }
        std::fs::read_to_string(path).map_err(|e| CliError::Usage(format!("{text}: {e}")))?
    };
    PublicKey::parse(&text).map_err(|e| CliError::Usage(format!("--key: {e}")))
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let loaded = load::load(None, globals.workspace.as_deref()).ok();
    let key_text = args
        .key
        .clone()
        .or_else(|| loaded.as_ref().and_then(|l| l.ws.settings.publish.public_key.clone()))
        .ok_or_else(|| {
            CliError::Usage("give --key PUB (the public key `authflow keygen` printed): a bundle is verified against a key you trust".into())
        })?;
    let key = public_key(&key_text)?;
    let (lock, lock_name) = match &args.lock {
        Some(path) => (
            Some(Lock::read(path).map_err(CliError::usage)?),
            Some(path.display().to_string()),
        ),
        None => match loaded.as_ref().and_then(|l| l.ws.root.clone()) {
            Some(root) if root.join(LOCK_FILE).is_file() => (
                Some(Lock::read(&root.join(LOCK_FILE)).map_err(CliError::usage)?),
                Some(LOCK_FILE.to_string()),
            ),
            _ => (None, None),
        },
    };
    let bytes = read_bundle_file(&args.bundle).map_err(CliError::Usage)?;
    match Bundle::read(&bytes).and_then(|b| b.verify(Some(&key), lock.as_ref())) {
        Ok(verified) => {
            let m = &verified.manifest;
            let commit = m.commit.as_deref().map_or("outside git".to_string(), |c| {
                format!(
                    "commit {}{}",
                    &c[..12.min(c.len())],
                    if m.dirty { " (dirty)" } else { "" }
                )
            });
            outln!(
                "verified: release {}{} ({commit}, {}), signed by {key}",
                m.release,
                m.env
                    .as_deref()
                    .map(|e| format!(" to {e}"))
                    .unwrap_or_default(),
                m.time
            );
            outln!(
                "  {} files match the manifest and the lock entries{}",
                m.files.len(),
                lock_name.map(|n| format!(" and {n}")).unwrap_or_default()
            );
            Ok(exit_status(false))
        }
        Err(e) => {
            outln!("refused: {}: {e}", args.bundle.display());
            Ok(exit_status(true))
        }
    }
}
