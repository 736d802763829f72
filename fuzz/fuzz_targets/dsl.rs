//! Fuzzes the DSL front end: any input must parse or give diagnostics without panicking,
//! every diagnostic must point inside the input, and whatever parses must survive the
//! canonical printer unchanged (print, parse again, compare without spans).

#![no_main]

use authflow::diagnostic::FileId;
use authflow::syntax::{dsl, print};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match dsl::parse(source, FileId(0)) {
        Ok(flow) => {
            let printed = print::to_dsl(&flow);
            let reparsed = dsl::parse(&printed, FileId(0))
                .unwrap_or_else(|d| panic!("canonical output does not parse:\n{printed}\n{d:#?}"));
            assert_eq!(reparsed.without_spans(), flow.without_spans());
            assert_eq!(print::to_dsl(&reparsed), printed);
            let _ = print::to_yaml(&flow);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            for diagnostic in diagnostics {
                assert!(source.get(diagnostic.span.range()).is_some());
            }
        }
    }
});
