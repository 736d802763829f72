//! `authflow hash-password`: an argon2id PHC string for users.yaml, from standard input.

use crate::cli::error::{CliError, CliResult};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .map_err(CliError::usage)?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(CliError::usage("no password on standard input"));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(CliError::usage)?;
    outln!(
        "{}",
        crate::run::crypto::hash_password(password, &salt).map_err(CliError::Usage)?
    );
    Ok(ExitCode::SUCCESS)
}
