//! Repository hygiene: every Rust file opens with a `//!` header, docs/checks.md is the
//! generated page, and no snapshot is left without its fixture.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "fuzz/fuzz_targets"] {
        if root.join(dir).is_dir() {
            rust_files(&root.join(dir), &mut files);
        }
    }
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` header: {missing:?}"
    );
}

#[test]
fn checks_page_is_generated_from_the_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let on_disk = std::fs::read_to_string(root.join("docs/checks.md")).unwrap();
    assert!(
        on_disk == authflow::check::rules::docs_markdown(),
        "docs/checks.md is stale: run `authflow explain --all > docs/checks.md`"
    );
}

#[test]
fn no_snapshot_without_its_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let fixtures = root.join("fixtures");
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(root.join("snapshots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        // insta names glob snapshots `<test>@<fixture file>.snap`.
        let Some((test, fixture)) = name.strip_suffix(".snap").and_then(|n| n.split_once('@'))
        else {
            continue;
        };
        let suite = if test.starts_with("checks__") {
            "check"
        } else if test.starts_with("runs__") {
            "run"
        } else {
            continue;
        };
        if !fixtures.join(suite).join(fixture).exists() {
            orphans.push(name);
        }
    }
    assert!(
        orphans.is_empty(),
        "snapshots whose fixture is gone: {orphans:?}"
    );
}
