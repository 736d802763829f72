//! Fuzzes config templates (`{{ event.user.email }}` in block config strings): finding the
//! references must never panic, every span must lie inside the text at the offset it was given
//! and cover exactly what it names, and the plan's `Template` must keep every byte of text
//! outside the references, render without panicking, and survive its serde round trip.

#![no_main]

use authflow::check::reads::parse_template;
use authflow::compile::template::{Template, TemplatePart};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((&shift, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // Templates sit inside larger files: spans are offsets from where the string starts.
    let base = usize::from(shift) * 97;
    let local = |span: authflow::span::Span| {
        let (start, end) = (span.start as usize, span.end as usize);
        assert!(
            base <= start && start <= end,
            "span {span:?} before base {base}"
        );
        text.get(start - base..end - base)
            .unwrap_or_else(|| panic!("span {span:?} outside the text or off a char boundary"))
    };
    let (parts, errors) = parse_template(text, base);
    let mut removed = String::new();
    let mut cursor = 0;
    for part in &parts {
        let outer = local(part.outer);
        assert!(
            outer.starts_with("{{") && outer.ends_with("}}"),
            "{outer:?}"
        );
        let inner = local(part.span);
        assert!(part.outer.start < part.span.start && part.span.end < part.outer.end);
        let written: Vec<String> = part
            .path
            .iter()
            .map(|s| format!("{}{}", local(s.span), if s.optional { "?" } else { "" }))
            .collect();
        assert_eq!(written.join("."), inner);
        assert!(part.path.iter().all(|s| local(s.span) == s.name));
        let start = part.outer.start as usize - base;
        assert!(start >= cursor, "references overlap");
        removed.push_str(&text[cursor..start]);
        cursor = part.outer.end as usize - base;
    }
    removed.push_str(&text[cursor..]);
    for error in &errors {
        let _ = local(error.span);
        assert!(!error.message.is_empty());
    }

    let template = Template::parse(text);
    let mut kept = String::new();
    for part in &template.parts {
        match part {
            TemplatePart::Text(t) => kept.push_str(t),
            TemplatePart::Field(path) => assert!(path.len() >= 2),
        }
    }
    assert_eq!(kept, removed);
    // With no fields at all a template renders as its text; with fields it must not panic.
    assert_eq!(template.render(&json!({})), kept);
    let ctx = json!({
        "event": {"user": {"email": "ada@example.com", "app_metadata": {"n": 1}}, "tenant": {"id": "t"}},
        "step": {"log-user": {"country": "US", "flag": true}},
    });
    let _ = template.render(&ctx);
    let stored = serde_json::to_string(&template).expect("a template serialises");
    let back: Template = serde_json::from_str(&stored).expect("a stored template reads back");
    assert_eq!(back, template);
});
