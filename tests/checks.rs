//! The check fixture suite: every file or workspace under tests/fixtures/check/ is checked
//! and its rendered diagnostics compared with a snapshot. A fixture named `afNNN-...` must
//! produce code AFNNN; one named `afNNN-ok-...` must not.

use authflow::cli::{Format, check_report};
use authflow::diagnostic::Code;
use std::path::Path;

fn report(path: &Path, format: Format) -> (String, bool) {
    let relative = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path);
    check_report(Some(relative), None, format, false).expect("fixture loads")
}

#[test]
fn check_fixtures_match_snapshots() {
    insta::glob!("fixtures/check/*", |path| {
        let (text, _) = report(path, Format::Human);
        insta::assert_snapshot!(text);
    });
}

#[test]
fn every_code_has_a_failing_and_a_passing_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // Codes only test files produce have their fixtures in tests/suite.rs.
    for code in Code::ALL
        .iter()
        .filter(|c| !authflow::suite::CODES.contains(c))
    {
        let prefix = code.as_str().to_lowercase();
        let failing: Vec<&String> = names
            .iter()
            .filter(|n| {
                n.starts_with(&format!("{prefix}-")) && !n.starts_with(&format!("{prefix}-ok"))
            })
            .collect();
        let passing: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(&format!("{prefix}-ok")))
            .collect();
        assert!(!failing.is_empty(), "{code} has no failing fixture");
        assert!(!passing.is_empty(), "{code} has no passing fixture");
        for name in failing {
            let (json, _) = report(&dir.join(name), Format::Json);
            assert!(
                json.contains(&format!("\"code\": \"{}\"", code.as_str())),
                "{name} does not produce {code}:\n{json}"
            );
        }
        for name in passing {
            let (json, _) = report(&dir.join(name), Format::Json);
            assert!(
                !json.contains(&format!("\"code\": \"{}\"", code.as_str())),
                "{name} produces {code}:\n{json}"
            );
        }
    }
}

#[test]
fn ok_fixtures_have_no_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.contains("-ok-") {
            let (text, errors) = report(&dir.join(&name), Format::Human);
            assert!(!errors, "{name} has errors:\n{text}");
        }
    }
}

#[test]
fn json_report_has_the_documented_fields() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let (json, errors) = report(&dir.join("af035-string-vs-number.yaml"), Format::Json);
    assert!(errors);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = &value["diagnostics"][0];
    assert_eq!(first["code"], "AF035");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 13);
    assert_eq!(first["column"], 15);
    assert!(
        first["file"]
            .as_str()
            .unwrap()
            .ends_with("af035-string-vs-number.yaml")
    );
    assert!(first["message"].as_str().unwrap().contains("string"));
}

#[test]
fn sarif_report_is_sarif_2_1_0() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let (json, _) = report(&dir.join("af010-duplicate-id.yaml"), Format::Sarif);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["version"], "2.1.0");
    let result = &value["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "AF010");
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        11
    );
}

#[test]
fn every_rule_documents_a_failing_fixture_of_its_code() {
    // The docs page shows each rule's example from its fixture and snapshot; here the fixture
    // must really fail with the rule's code, so the documentation cannot show a passing case.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    for rule in authflow::check::rules::RULES {
        let example = &rule.doc.example;
        let prefix = format!("{}-", rule.code.as_str().to_lowercase());
        assert!(
            example.fixture.starts_with(&prefix) && !example.fixture.contains("-ok-"),
            "{}: its example {} is not one of its failing fixtures",
            rule.code,
            example.fixture
        );
        for file in example.files {
            let on_disk =
                std::fs::read_to_string(dir.join(format!("{}{}", example.fixture, file.path)))
                    .unwrap();
            assert_eq!(on_disk, file.text, "{}{}", example.fixture, file.path);
        }
        let (json, errors) = report(&dir.join(example.fixture), Format::Json);
        assert!(
            json.contains(&format!("\"code\": \"{}\"", rule.code.as_str())),
            "{} does not produce {}:\n{json}",
            example.fixture,
            rule.code
        );
        let (human, _) = report(&dir.join(example.fixture), Format::Human);
        assert_eq!(
            human.trim_end(),
            example.output().trim_end(),
            "{}",
            example.fixture
        );
        assert!(errors || rule.code.info().severity != authflow::diagnostic::Severity::Error);
    }
}

#[test]
fn a_syntax_error_in_a_pinned_module_version_stops_compile() {
    // `check` reports it (the fixture's snapshot); `compile` must refuse the flow too, since
    // every run of the action would fail loading the module.
    let flow = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check/af046-pinned-module-syntax/flows/login.yaml");
    match authflow::cli::simulate::compile_flow(&flow, None, false) {
        Ok(_) => panic!("a flow whose pinned module does not parse compiled"),
        Err(authflow::cli::CliError::Diagnostics(text)) => {
            assert!(text.contains("AF046"), "{text}");
            assert!(text.contains("modules/logger/v1.js"), "{text}");
        }
        Err(other) => panic!("expected diagnostics, got {other:?}"),
    }
}
