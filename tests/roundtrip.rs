//! Round-trip properties of the two flow front ends and the canonical printers.
//!
//! A generator builds arbitrary flows (names that need quoting, conditions full of quotes,
//! parentheses and unicode, config values of every kind, floats at the edges, strings that
//! YAML would misread if left plain). Each flow is printed, parsed back and compared with
//! `Flow::without_spans`; the DSL printer must also be a fixed point. Numbers compare with
//! `f64`'s `==`, so `-0.0` equals `0.0` (YAML reads `-0` as the integer 0); the printers
//! still write `-0.0` to keep the sign where the reader can.

use authflow::diagnostic::FileId;
use authflow::span::Span;
use authflow::syntax::ast::{
    Block, Condition, ConfigEntry, ConfigValue, ConfigValueKind, Flow, Spanned, Stage,
};
use authflow::syntax::{dsl, print, yaml};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn spanned(text: String) -> Spanned<String> {
    Spanned::new(text, Span::default())
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_-]{0,10}"
}

/// Strings that a careless printer would quote wrongly in one format or the other.
fn tricky_string() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "true",
        "False",
        "null",
        "NULL",
        "~",
        "yes",
        "No",
        "on",
        "off",
        "y",
        "1",
        "-1",
        "0.1",
        "1e3",
        ".inf",
        "-.inf",
        ".nan",
        "0x1F",
        "0o17",
        "1_000",
        "12:30",
        "2024-01-01",
        "a: b",
        "a:",
        "a:b",
        "#x",
        "a #b",
        "a#b",
        "- x",
        "-",
        "-x",
        "? x",
        ":x",
        "[x]",
        "{x}",
        "x, y",
        "*a",
        "&a",
        "!tag",
        "|",
        "> x",
        "%x",
        "@x",
        "`x",
        "'q'",
        "\"q\"",
        "O'Brien",
        " lead",
        "trail ",
        "tab\there",
        "line\nbreak",
        "cr\rlf",
        "nul\u{0}",
        "bell\u{7}",
        "del\u{7f}",
        "nel\u{85}",
        "nbsp\u{a0}",
        "ls\u{2028}",
        "bom\u{feff}",
        "\u{feff}",
        "Café ☕",
        "日本語",
        "😀",
        "back\\slash",
        "{{ event.user.email }}",
        "when",
        "stage",
        "flow",
        "on_error",
        "---",
        "...",
        "<<",
        "=",
        "a  b",
        "\\u0041",
        "\"",
        "'",
        "\\",
    ])
    .prop_map(String::from)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ident(),
        3 => tricky_string(),
        2 => "(?s).{0,12}",
        1 => "[ -~]{0,12}",
    ]
}

/// Condition text: mostly what the DSL holds in parentheses (balanced outside string
/// literals, no layout whitespace at either end), sometimes what only its string form can.
fn condition_text() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,5}(\\.[a-z_][a-z0-9_?-]{0,5}){0,3}",
        2 => prop::sample::select(vec![
            "==", "!=", "&&", "||", "!", "in", "<", ">=", "[", "]", ",", "1.5", "-2", "null",
            "#", ":", "- ", "{{", "é", "日本", "😀", "\n", "\t", "\"", "'",
        ])
        .prop_map(|s| match s {
            // A lone quote would open a literal; keep the atom but make it a literal.
            "\"" => "\"\\\"\"".to_string(),
            "'" => "'\\''".to_string(),
            other => other.to_string(),
        }),
        2 => r#""([^"\\]|\\[^\n]){0,8}""#,
        1 => r#"'([^'\\]|\\[^\n]){0,8}'"#,
    ];
    let leaf = vec(atom, 1..4).prop_map(|atoms| atoms.join(" "));
    let nested = leaf.prop_recursive(3, 24, 3, |inner| {
        vec(
            prop_oneof![inner.clone(), inner.prop_map(|t| format!("({t})"))],
            1..3,
        )
        .prop_map(|parts| parts.join(" "))
    });
    let verbatim = prop_oneof![
        20 => nested,
        1 => Just(String::new()),
    ]
    .prop_map(|t| t.trim_matches([' ', '\t', '\r', '\n']).to_string());
    // Conditions YAML can hold but parentheses cannot: the DSL writes them as strings.
    let awkward = prop_oneof![
        "[ ()\"'a-z.=\\\n\t]{0,12}",
        Just("  leading and trailing  ".to_string()),
        Just("unbalanced ) (".to_string()),
    ];
    prop_oneof![8 => verbatim, 1 => awkward]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => prop::sample::select(vec![
            0.0, -0.0, 0.1, 0.2, 1.0, -1.5, 1e21, 1e-7, 1e16, 9_999_999_999_999_998.0, 1e15,
            123_456.789, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324, 2f64.powi(53) + 2.0,
        ]),
        2 => (-1000i32..1000).prop_map(f64::from),
        2 => any::<f64>().prop_filter("finite", |n| n.is_finite()),
    ]
}

fn value() -> impl Strategy<Value = ConfigValue> {
    let leaf = prop_oneof![
        1 => Just(ConfigValueKind::Null),
        1 => any::<bool>().prop_map(ConfigValueKind::Bool),
        3 => number().prop_map(ConfigValueKind::Number),
        4 => text().prop_map(ConfigValueKind::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        vec(
            inner.prop_map(|kind| ConfigValue {
                kind,
                span: Span::default(),
            }),
            0..4,
        )
        .prop_map(ConfigValueKind::List)
    })
    .prop_map(|kind| ConfigValue {
        kind,
        span: Span::default(),
    })
}

fn block() -> impl Strategy<Value = Block> {
    let kind = prop_oneof![4 => ident(), 1 => text()];
    let on_error = prop_oneof![
        2 => Just("deny".to_string()),
        2 => Just("continue".to_string()),
        1 => text(),
    ];
    (
        text(),
        kind,
        option::of(condition_text()),
        option::of(on_error),
        vec((text(), value()), 0..4),
    )
        .prop_map(|(id, kind, when, on_error, entries)| {
            let mut config: Vec<ConfigEntry> = Vec::new();
            for (key, value) in entries {
                // YAML mappings cannot repeat a key.
                if config.iter().all(|e| e.key.value != key) {
                    config.push(ConfigEntry {
                        key: spanned(key),
                        value,
                    });
                }
            }
            Block {
                id: spanned(id),
                kind: spanned(kind),
                when: when.map(|text| Condition {
                    text,
                    span: Span::default(),
                }),
                on_error: on_error.map(spanned),
                config,
                span: Span::default(),
            }
        })
}

fn flow() -> impl Strategy<Value = Flow> {
    let stage = (text(), vec(block(), 0..4)).prop_map(|(name, blocks)| Stage {
        name: spanned(name),
        blocks,
        span: Span::default(),
    });
    (text(), option::of(text()), vec(stage, 0..4)).prop_map(|(name, description, stages)| Flow {
        name: spanned(name),
        description: description.map(spanned),
        stages,
    })
}

fn parse_dsl(source: &str) -> Result<Flow, TestCaseError> {
    dsl::parse(source, FileId(0))
        .map_err(|d| TestCaseError::fail(format!("DSL did not parse:\n{source}\n{d:#?}")))
}

fn parse_yaml(source: &str) -> Result<Flow, TestCaseError> {
    yaml::parse(source, FileId(0))
        .map_err(|d| TestCaseError::fail(format!("YAML did not parse:\n{source}\n{d:#?}")))
}

/// Every span of a parsed DSL flow covers the text it claims to: names and strings without
/// escapes verbatim, conditions always verbatim.
fn check_spans(source: &str, flow: &Flow) -> Result<(), TestCaseError> {
    let at = |span: Span| source.get(span.range()).unwrap_or("<out of range>");
    let name_ok = |name: &Spanned<String>| {
        let shown = at(name.span);
        shown == name.value || shown.contains('\\')
    };
    prop_assert!(name_ok(&flow.name), "flow name span {:?}", flow.name);
    for stage in &flow.stages {
        prop_assert!(
            at(stage.span).starts_with("stage"),
            "stage span {:?}",
            at(stage.span)
        );
        prop_assert!(at(stage.span).ends_with('}'), "stage span {:?}", stage.span);
        prop_assert!(name_ok(&stage.name), "stage name span {:?}", stage.name);
        for block in &stage.blocks {
            prop_assert!(name_ok(&block.id) && name_ok(&block.kind));
            prop_assert!(block.span.start < block.id.span.end);
            if let Some(when) = &block.when {
                // Verbatim in parentheses; string-form conditions may hold escapes.
                prop_assert!(
                    at(when.span) == when.text || at(when.span).contains('\\'),
                    "condition span {:?}",
                    when
                );
            }
            for entry in &block.config {
                prop_assert!(name_ok(&entry.key));
                if let Some(s) = entry.value.as_str() {
                    prop_assert!(at(entry.value.span) == s || at(entry.value.span).contains('\\'));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn dsl_round_trip_is_exact_and_a_fixed_point(flow in flow()) {
        let printed = print::to_dsl(&flow);
        let parsed = parse_dsl(&printed)?;
        prop_assert_eq!(&parsed.without_spans(), &flow, "printed:\n{}", printed);
        prop_assert_eq!(print::to_dsl(&parsed), printed);
        check_spans(&print::to_dsl(&parsed), &parsed)?;
    }

    #[test]
    fn yaml_round_trip_is_exact(flow in flow()) {
        let printed = print::to_yaml(&flow);
        let parsed = parse_yaml(&printed)?;
        prop_assert_eq!(&parsed.without_spans(), &flow, "printed:\n{}", printed);
        prop_assert_eq!(print::to_yaml(&parsed), printed);
    }

    #[test]
    fn yaml_and_dsl_describe_the_same_flow(flow in flow()) {
        let from_yaml = parse_yaml(&print::to_yaml(&flow))?;
        let from_dsl = parse_dsl(&print::to_dsl(&from_yaml))?;
        prop_assert_eq!(print::to_yaml(&from_dsl), print::to_yaml(&flow));
    }

    #[test]
    fn dsl_parser_never_panics(source in "(?s).{0,200}") {
        let _ = dsl::parse(&source, FileId(0));
    }

    #[test]
    fn dsl_parser_never_panics_on_near_misses(flow in flow(), cut in any::<prop::sample::Index>(), insert in "[{}()\\[\\]\"'#:=,\\\\ \n]{1,3}") {
        let mut printed = print::to_dsl(&flow);
        let mut at = cut.index(printed.len() + 1);
        while !printed.is_char_boundary(at) {
            at -= 1;
        }
        printed.insert_str(at, &insert);
        match dsl::parse(&printed, FileId(0)) {
            // Whatever parses must survive the canonical printer (the fuzz target's oracle).
            Ok(parsed) => {
                let canonical = print::to_dsl(&parsed);
                prop_assert_eq!(parse_dsl(&canonical)?.without_spans(), parsed.without_spans());
            }
            Err(diagnostics) => for d in diagnostics {
                prop_assert!(d.span.end as usize <= printed.len());
                prop_assert!(printed.is_char_boundary(d.span.start as usize));
                prop_assert!(printed.is_char_boundary(d.span.end as usize));
            },
        }
    }
}
