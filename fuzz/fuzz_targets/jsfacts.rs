//! Fuzz target for custom-action analysis: any UTF-8 input must yield facts (possibly just
//! syntax errors) without panicking, and every reported span must lie inside the input.

#![no_main]

use authflow::jsfacts::analyze;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(source) = std::str::from_utf8(data) {
        let facts = analyze(source);
        let inside = |span: authflow::span::Span| {
            span.start <= span.end && span.end as usize <= source.len()
        };
        assert!(
            facts
                .event_reads
                .iter()
                .all(|read| inside(read.span) && !read.path.is_empty())
        );
        assert!(facts.api_calls.iter().all(|call| inside(call.span)));
        assert!(facts.syntax_errors.iter().all(|error| inside(error.span)));
    }
});
