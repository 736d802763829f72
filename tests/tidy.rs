//! Repository hygiene: every Rust file opens with a `//!` header, docs/checks.md,
//! docs/blocks.md and the README's block table are generated from their tables, and no
//! snapshot is left without its fixture; the condition language keeps its `unsafe` in one file.

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
    assert_generated(
        "docs/checks.md",
        &on_disk,
        &authflow::check::rules::docs_markdown(),
        str::to_string,
    );
}

/// Compares a generated file with its source of truth; with `AUTHFLOW_BLESS=1` it rewrites
/// the file instead.
fn assert_generated(
    relative: &str,
    on_disk: &str,
    generated: &str,
    full: impl FnOnce(&str) -> String,
) {
    if on_disk == generated {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("AUTHFLOW_BLESS").is_some() {
        std::fs::write(root.join(relative), full(generated)).unwrap();
        return;
    }
    panic!(
        "{relative} is stale: run `AUTHFLOW_BLESS=1 cargo test --test tidy` to regenerate it (docs/checks.md is also `authflow explain --all`)"
    );
}

#[test]
fn blocks_page_is_generated_from_the_block_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let on_disk = std::fs::read_to_string(root.join("docs/blocks.md")).unwrap_or_default();
    assert_generated(
        "docs/blocks.md",
        &on_disk,
        &authflow::blocks::docs_markdown(),
        str::to_string,
    );
}

const TABLE_START: &str = "<!-- generated from src/blocks/ (tests/tidy.rs keeps it current) -->\n";
const TABLE_END: &str = "<!-- end of the generated block table -->\n";

#[test]
fn readme_block_table_is_generated_from_the_block_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let (before, rest) = readme
        .split_once(TABLE_START)
        .expect("README.md marks its block table");
    let (table, after) = rest
        .split_once(TABLE_END)
        .expect("README.md ends its block table");
    assert_generated(
        "README.md",
        table,
        &authflow::blocks::readme_table(),
        |generated| format!("{before}{TABLE_START}{generated}{TABLE_END}{after}"),
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
        } else if test.starts_with("diff__") {
            "diff"
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

/// `Code::Variant` names mentioned in a source text.
fn codes_mentioned(text: &str) -> std::collections::BTreeSet<String> {
    text.match_indices("Code::")
        .map(|(i, _)| {
            text[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        })
        .filter(|name| name.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .collect()
}

#[test]
fn each_rule_file_emits_the_code_of_its_row_and_no_other() {
    use authflow::check::rules::RULES;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/check/rules");
    let mut expected_files = std::collections::BTreeSet::new();
    for rule in RULES {
        let file = format!("{}.rs", rule.name().replace('-', "_"));
        let text = std::fs::read_to_string(dir.join(&file))
            .unwrap_or_else(|_| panic!("rule {} has no file src/check/rules/{file}", rule.code));
        let mentioned = codes_mentioned(&text);
        let own = format!("{:?}", rule.code);
        assert!(
            mentioned.len() == 1 && mentioned.contains(&own),
            "src/check/rules/{file} must emit exactly Code::{own} (its row's code); it names {mentioned:?}"
        );
        expected_files.insert(file);
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name != "mod.rs" {
            assert!(
                expected_files.contains(&name),
                "src/check/rules/{name} is not the file of any row in RULES"
            );
        }
    }
    let codes: std::collections::BTreeSet<_> = RULES.iter().map(|r| r.code).collect();
    assert_eq!(codes.len(), RULES.len(), "two rows of RULES share a code");
}

#[test]
fn no_other_file_emits_a_rule_code() {
    // The context and helpers beside the rules report nothing themselves, and no module outside
    // check/ (streams, workspace, compile, ...) emits a rule's code behind the table's back.
    // The exceptions say why they name a rule's code.
    const EXCEPTIONS: &[(&str, &str)] = &[
        // Loading authflow.yaml reports a `session.signing_secret` that `secrets:` does not
        // declare: the loader refuses the settings before any rule runs.
        ("src/workspace/mod.rs", "UndeclaredSecret"),
        // Environment overlays match on the condition codes to explain them; they emit none.
        ("src/workspace/env.rs", "ConditionSyntax"),
        ("src/workspace/env.rs", "ConditionType"),
        ("src/workspace/env.rs", "UnknownField"),
        // Lowering reports a gap in the checks as a config error instead of panicking.
        ("src/compile/mod.rs", "InvalidConfig"),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rule_codes: std::collections::BTreeSet<String> = authflow::check::rules::RULES
        .iter()
        .map(|r| format!("{:?}", r.code))
        .collect();
    let mut stack = vec![root.join("src")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("check/rules") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let stray: Vec<_> = codes_mentioned(&text)
                .into_iter()
                .filter(|c| rule_codes.contains(c))
                .filter(|c| !EXCEPTIONS.contains(&(relative.as_str(), c.as_str())))
                .collect();
            assert!(stray.is_empty(), "{relative} names rule codes {stray:?}");
            seen += 1;
        }
    }
    assert!(seen > 50, "only {seen} source files were read");
}

#[test]
fn the_condition_language_keeps_its_unsafe_in_the_jit_abi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/expr"), &mut files);
    let abi = root.join("src/expr/jit/abi.rs");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| **f != abi)
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|line| !line.trim_start().starts_with("//") && line.contains("unsafe"))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "`unsafe` outside src/expr/jit/abi.rs: {offenders:?}"
    );
    assert!(std::fs::read_to_string(&abi).unwrap().contains("unsafe "));
}
