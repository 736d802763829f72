//! Fuzzes the YAML front end: any input must parse or give diagnostics without panicking,
//! every diagnostic must point inside the input, and whatever parses must survive the
//! canonical YAML printer (print, parse again, compare without spans) and the checks.

#![no_main]

use authflow::diagnostic::FileId;
use authflow::syntax::{print, yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match yaml::parse(source, FileId(0)) {
        Ok(flow) => {
            for (_, block) in flow.blocks() {
                assert!(source.get(block.id.span.range()).is_some());
            }
            let printed = print::to_yaml(&flow);
            let reparsed = yaml::parse(&printed, FileId(0))
                .unwrap_or_else(|d| panic!("canonical output does not parse:\n{printed}\n{d:#?}"));
            assert_eq!(reparsed.without_spans(), flow.without_spans());
            // Rules read the flow's text from the source table, as every command loads it.
            let mut ws = authflow::workspace::Workspace::empty();
            let file = ws.sources.add("flow.yaml".into(), source.to_string());
            let actions = authflow::check::analyze_actions(&ws);
            let _ = authflow::check::check_flow(&ws, file, &flow, &actions);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            for diagnostic in diagnostics {
                assert!(
                    source.get(diagnostic.span.range()).is_some(),
                    "span {:?} outside the input",
                    diagnostic.span
                );
            }
        }
    }
});
