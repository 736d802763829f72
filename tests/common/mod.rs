//! Helpers shared by the command-line test suites that need a git repository (`diff`,
//! `replay`): the binary run in a directory, and git with a fixed identity and clock so commit
//! ids, which the commands print, are the same on every machine.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

#[path = "../../benches/support.rs"]
mod support;

pub use support::copy_tree;

/// Runs `authflow` in `dir`, without colours.
pub fn authflow(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authflow"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// Runs git in `dir` with a fixed identity and clock and no user configuration.
pub fn git(args: &[&str], dir: &Path) {
    let out = Command::new("git")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "authflow tests")
        .env("GIT_AUTHOR_EMAIL", "tests@authflow.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_NAME", "authflow tests")
        .env("GIT_COMMITTER_EMAIL", "tests@authflow.invalid")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `git init`, add everything, commit.
pub fn commit_all(dir: &Path, message: &str) {
    if !dir.join(".git").exists() {
        git(&["init", "-q"], dir);
    }
    git(&["add", "-A"], dir);
    git(&["commit", "-q", "-m", message], dir);
}
