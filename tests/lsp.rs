//! `authflow lsp` driven over stdio by a real LSP client that nobody here wrote: pytest-lsp
//! (on pygls, from PyPI), running the scenarios in `tests/lsp/*.py` with the capabilities VS
//! Code sends. `.ci/setup` installs the client; without it this test fails, loudly, rather
//! than passing without having run anything.

use std::path::Path;
use std::process::Command;

#[test]
fn a_real_lsp_client_drives_the_server_over_stdio() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import pytest_lsp, pytest_asyncio"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "the LSP client is not installed: run `bash .ci/setup` \
         (or `{python} -m pip install -r tests/lsp/requirements.txt`)"
    );
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/lsp"])
        .current_dir(root)
        .env("AUTHFLOW_BIN", env!("CARGO_BIN_EXE_authflow"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the LSP client's scenarios failed:\n{stdout}\n{stderr}"
    );
    // The run must have executed the scenarios, none skipped.
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed"))
        .unwrap_or("");
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        passed >= 6 && !summary.contains("skipped"),
        "expected every scenario to run and pass, got: {summary:?}\n{stdout}"
    );
}

/// The VS Code package starts `authflow lsp` and needs no build step: its manifest's entry
/// point is a plain JavaScript file that exists.
#[test]
fn the_vscode_package_starts_the_server_without_a_build_step() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/vscode");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap())
            .expect("package.json is JSON");
    let main = manifest["main"].as_str().expect("a main entry");
    let entry = std::fs::read_to_string(dir.join(main)).expect("the entry point exists");
    assert!(
        entry.contains("args: ['lsp']"),
        "the extension runs `authflow lsp`"
    );
    assert!(
        manifest
            .get("scripts")
            .is_none_or(|s| s.get("compile").is_none())
    );
    let languages = manifest["contributes"]["languages"].as_array().unwrap();
    assert!(languages.iter().any(|l| l["extensions"][0] == ".flow"));
}
