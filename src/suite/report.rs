//! Reports of a suite run: the human lines (one per case, diffs for failures), the JSON
//! report, and JUnit XML (one testsuite per test file, one testcase per case, failures with
//! their diff), written with quick-junit, which escapes everything it writes.

use super::expect::Mismatch;
use super::load::WorkspaceSuite;
use super::runner::{CaseResult, Status};
use serde_json::{Value, json};

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub not_run: usize,
}

pub fn summary(results: &[CaseResult]) -> Summary {
    let mut s = Summary::default();
    for r in results {
        match r.status {
            Status::Passed => s.passed += 1,
            Status::Failed => s.failed += 1,
            Status::NotRun => s.not_run += 1,
        }
    }
    s
}

/// `file: name` of a case.
pub fn case_title(suites: &[WorkspaceSuite], result: &CaseResult) -> String {
    let suite = &suites[result.suite];
    let case = &suite.cases[result.case];
    format!("{}: {}", suite.files[case.file].display, case.name)
}

/// `path:line:column` of a span in a case's test file.
fn location(suites: &[WorkspaceSuite], result: &CaseResult, m: &Mismatch) -> String {
    let suite = &suites[result.suite];
    let file = &suite.files[suite.cases[result.case].file];
    let (line, column) = suite.loaded.ws.sources.line_column(file.file, m.span.start);
    format!("{}:{line}:{column}", file.display)
}

/// The diff of a failed case, one block per mismatch.
pub fn diff(suites: &[WorkspaceSuite], result: &CaseResult) -> String {
    let mut out = String::new();
    for m in &result.mismatches {
        out.push_str(&format!(
            "    {} ({})\n      expected: {}\n      actual:   {}\n",
            m.path,
            location(suites, result, m),
            escape(&m.expected),
            escape(&m.actual)
        ));
    }
    out
}

/// Control characters of tenant text shown as escapes, so a log line cannot drive the
/// terminal.
pub fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// One line for a finished case.
pub fn case_line(suites: &[WorkspaceSuite], result: &CaseResult) -> String {
    let mark = match result.status {
        Status::Passed => "ok  ",
        Status::Failed => "FAIL",
        Status::NotRun => "skip",
    };
    format!(
        "{mark} {} ({:.1} ms)",
        escape(&case_title(suites, result)),
        result.elapsed.as_secs_f64() * 1000.0
    )
}

/// The closing line: `N passed, N failed` (and what was not run).
pub fn summary_line(s: Summary) -> String {
    let mut line = format!("{} passed, {} failed", s.passed, s.failed);
    if s.not_run > 0 {
        line.push_str(&format!(", {} skipped", s.not_run));
    }
    line
}

/// The JSON report.
pub fn json(suites: &[WorkspaceSuite], results: &[CaseResult]) -> Value {
    let cases: Vec<Value> = results
        .iter()
        .map(|r| {
            let suite = &suites[r.suite];
            let case = &suite.cases[r.case];
            let (line, _) = suite
                .loaded
                .ws
                .sources
                .line_column(suite.files[case.file].file, case.span.start);
            json!({
                "file": suite.files[case.file].display,
                "line": line,
                "name": case.name,
                "status": r.status,
                "elapsed_ms": r.elapsed.as_secs_f64() * 1000.0,
                "outcome": r.trace.as_ref().map(|t| t.outcome),
                "deny_reason": r.trace.as_ref().and_then(|t| t.deny_reason.clone()),
                "mismatches": r.mismatches.iter().map(|m| json!({
                    "path": m.path,
                    "location": location(suites, r, m),
                    "expected": m.expected,
                    "actual": m.actual,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "cases": cases, "summary": summary(results) })
}

/// JUnit XML: one `<testsuite>` per test file (named by its path), one `<testcase>` per case,
/// `<failure>` with the diff as its text, `<skipped>` for cases `--fail-fast` did not run.
pub fn junit(suites: &[WorkspaceSuite], results: &[CaseResult]) -> Result<String, String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("authflow test");
    for (s, suite) in suites.iter().enumerate() {
        for (f, file) in suite.files.iter().enumerate() {
            let mut ts = TestSuite::new(file.display.as_str());
            let mut time = std::time::Duration::ZERO;
            for r in results
                .iter()
                .filter(|r| r.suite == s && suite.cases[r.case].file == f)
            {
                let case = &suite.cases[r.case];
                let status = match r.status {
                    Status::Passed => TestCaseStatus::success(),
                    Status::Failed => {
                        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        let first = r
                            .mismatches
                            .first()
                            .map(|m| {
                                format!("{}: expected {}, got {}", m.path, m.expected, m.actual)
                            })
                            .unwrap_or_default();
                        st.set_message(first);
                        st.set_type("expectation");
                        st.set_description(diff(suites, r));
                        st
                    }
                    Status::NotRun => {
                        let mut st = TestCaseStatus::skipped();
                        st.set_message("not run: --fail-fast stopped after a failure");
                        st
                    }
                };
                let mut tc = TestCase::new(case.name.as_str(), status);
                tc.set_classname(file.display.as_str());
                tc.set_time(r.elapsed);
                time += r.elapsed;
                ts.add_test_case(tc);
            }
            ts.set_time(time);
            report.add_test_suite(ts);
        }
    }
    report.to_string().map_err(|e| e.to_string())
}
