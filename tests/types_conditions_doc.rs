//! docs/conditions.md cannot drift from the language: every `condition` line on the page must
//! parse and type check against the event catalogue, every `condition-eval` line must give
//! its stated value in the interpreter and in the JIT, and every `yaml` block must be a flow
//! that the checks accept.

use authflow::check::types::CatalogTypes;
use authflow::diagnostic::Severity;
use authflow::expr::{Condition, check, parse};

/// The one action the page's flows run (`step.risk-check.*`).
const STEP_SLUGS: &[&str] = &["risk-check"];

/// The fenced blocks of the page with the given info string, each with the line its body starts.
fn fenced(page: &str, info: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (number, line) in page.lines().enumerate() {
        match &mut open {
            None => {
                if let Some(rest) = line.strip_prefix("```") {
                    // Another kind of block is skipped to its end (start `usize::MAX`).
                    let start = if rest.trim() == info {
                        number + 2
                    } else {
                        usize::MAX
                    };
                    open = Some((start, String::new()));
                }
            }
            Some((start, body)) => {
                if line.starts_with("```") {
                    if *start != usize::MAX {
                        blocks.push((*start, std::mem::take(body)));
                    }
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "docs/conditions.md has an unclosed code block"
    );
    blocks
}

fn page() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/conditions.md"))
        .expect("docs/conditions.md is readable")
}

/// Lines of the page's blocks of one kind, each with its line number in the page.
fn lines(info: &str) -> Vec<(usize, String)> {
    let found: Vec<(usize, String)> = fenced(&page(), info)
        .into_iter()
        .flat_map(|(start, body)| {
            body.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(i, line)| (start + i, line.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !found.is_empty(),
        "docs/conditions.md has no `{info}` block"
    );
    found
}

fn compiled(number: usize, text: &str) -> (Condition, Condition) {
    let slugs: Vec<String> = STEP_SLUGS.iter().map(|s| s.to_string()).collect();
    let types = CatalogTypes { step_slugs: &slugs };
    let expr = parse(text).unwrap_or_else(|e| panic!("conditions.md:{number}: `{text}`: {e}"));
    let checked = check(&expr, &types).unwrap_or_else(|errors| {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("conditions.md:{number}: `{text}`: {}", errors.join("; "))
    });
    let jit = Condition::compile(&checked);
    assert!(
        jit.is_jit(),
        "conditions.md:{number}: `{text}` does not JIT-compile"
    );
    (jit, Condition::interpreted(&checked))
}

#[test]
fn every_condition_on_the_page_type_checks_against_the_catalogue() {
    for (number, text) in lines("condition") {
        compiled(number, &text);
    }
}

#[test]
fn every_evaluated_condition_on_the_page_gives_its_stated_value() {
    let preset = authflow::run::presets::find("unauthenticated").expect("the preset exists");
    let sim = authflow::run::event::parse(serde_json::from_str(preset).expect("preset JSON"))
        .expect("the preset is a valid event");
    let root = serde_json::json!({ "event": sim.event, "step": {} });
    for (number, line) in lines("condition-eval") {
        let (text, expected) = line
            .rsplit_once(" => ")
            .unwrap_or_else(|| panic!("conditions.md:{number}: `{line}` has no ` => value`"));
        let expected = match expected.trim() {
            "true" => true,
            "false" => false,
            other => panic!("conditions.md:{number}: `{other}` is neither true nor false"),
        };
        let (jit, interpreter) = compiled(number, text);
        assert_eq!(
            interpreter.eval_root(&root),
            expected,
            "conditions.md:{number}: `{text}` (interpreter)"
        );
        assert_eq!(
            jit.eval_root(&root),
            expected,
            "conditions.md:{number}: `{text}` (JIT)"
        );
    }
}

#[test]
fn every_flow_on_the_page_passes_the_checks() {
    let blocks = fenced(&page(), "yaml");
    assert!(!blocks.is_empty(), "docs/conditions.md has no `yaml` flow");
    for (number, source) in blocks {
        // The flow is a file of the workspace, as `authflow check` loads it.
        let mut ws = authflow::workspace::Workspace::empty();
        let file = ws.sources.add("docs/conditions.md".into(), source.clone());
        let flow = authflow::syntax::yaml::parse(&source, file)
            .unwrap_or_else(|d| panic!("conditions.md:{number}: the flow does not parse: {d:#?}"));
        let guarded = flow
            .blocks()
            .filter(|(_, block)| block.when.is_some())
            .count();
        assert!(
            guarded > 0,
            "conditions.md:{number}: the flow has no `when:` guard"
        );
        let actions = authflow::check::analyze_actions(&ws);
        let diagnostics = authflow::check::check_flow(&ws, file, &flow, &actions);
        let errors: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{:?} {}", d.code, d.message))
            .collect();
        assert!(errors.is_empty(), "conditions.md:{number}: {errors:#?}");
    }
}
