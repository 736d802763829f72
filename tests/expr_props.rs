//! Tests of the condition language through its public API: diagnostics with exact spans and
//! messages, documented semantics, and a property test that the JIT agrees with the
//! interpreter on generated well-typed conditions and inputs.

use authflow::expr::{
    Condition, FieldError, FieldPath, FieldTypes, Interpreter, ValueType, check, parse,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A small stand-in for the event catalogue: fixed paths plus dynamic metadata and steps.
struct TestCatalogue;

const KNOWN: &[(&str, ValueType)] = &[
    ("event.request.ip", ValueType::String),
    ("event.request.asn.is_tor", ValueType::Bool),
    ("event.request.geo.country_code", ValueType::String),
    ("event.authentication.risk_score", ValueType::Number),
    ("event.authentication.methods", ValueType::List),
    ("event.user.email", ValueType::String),
    ("event.user.multifactor_enrolled", ValueType::Bool),
    ("event.user.app_metadata", ValueType::Object),
];

impl FieldTypes for TestCatalogue {
    fn field_type(&self, path: &FieldPath) -> Result<ValueType, FieldError> {
        let names: Vec<&str> = path.names().collect();
        let dotted = names.join(".");
        if let Some((_, ty)) = KNOWN.iter().find(|(known, _)| *known == dotted) {
            return Ok(*ty);
        }
        if dotted.starts_with("event.user.app_metadata.")
            || (names.first() == Some(&"step") && names.len() >= 3)
        {
            return Ok(ValueType::Any);
        }
        // Report the first segment that no known path continues with.
        let mut segment = 0;
        while segment < names.len()
            && KNOWN.iter().any(|(known, _)| {
                known
                    .split('.')
                    .take(segment + 1)
                    .eq(names[..=segment].iter().copied())
            })
        {
            segment += 1;
        }
        let prefix = names[..segment].join(".");
        let suggestion = KNOWN
            .iter()
            .filter_map(|(known, _)| {
                known
                    .split('.')
                    .nth(segment)
                    .filter(|_| known.starts_with(&prefix))
            })
            .find(|candidate| {
                names.get(segment).is_some_and(|name| {
                    candidate.len().abs_diff(name.len()) <= 2 && candidate[..1] == name[..1]
                })
            })
            .map(str::to_owned);
        Err(FieldError {
            message: format!("unknown field `{dotted}`"),
            suggestion,
            segment,
        })
    }
}

/// Renders every diagnostic for `text` as `kind start..end: message | help`.
fn diagnose(text: &str) -> String {
    let errors = match parse(text) {
        Err(error) => vec![error],
        Ok(expr) => match check(&expr, &TestCatalogue) {
            Ok(_) => return "ok".to_owned(),
            Err(errors) => errors,
        },
    };
    errors
        .iter()
        .map(|e| {
            format!(
                "{:?} {}..{}: {} | {}",
                e.kind,
                e.span.start,
                e.span.end,
                e.message,
                e.help.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compiles `text` both ways and evaluates with `event`-rooted JSON; asserts they agree.
fn eval(text: &str, event: &Value) -> bool {
    let checked = check(&parse(text).expect("parses"), &TestCatalogue).expect("checks");
    let jit = Condition::compile(&checked);
    assert!(
        jit.is_jit(),
        "JIT failed: {:?}",
        Condition::jit_error(&checked)
    );
    let inputs: Vec<Option<&Value>> = jit
        .fields()
        .iter()
        .map(|path| path.lookup(event, 1))
        .collect();
    let expected = Interpreter::new(&checked).eval(&inputs);
    assert_eq!(
        jit.eval(&inputs),
        expected,
        "JIT and interpreter disagree on `{text}`"
    );
    let root = json!({ "event": event });
    assert_eq!(jit.eval_root(&root), expected, "JIT eval_root on `{text}`");
    assert_eq!(
        Interpreter::new(&checked).eval_root(&root),
        expected,
        "interpreter eval_root on `{text}`"
    );
    expected
}

/// Sets `value` at the dotted `path` under `root`, creating objects on the way.
fn insert_path(root: &mut Value, path: &str, value: Value) {
    let mut current = root;
    for name in path.split('.') {
        current = current
            .as_object_mut()
            .expect("test paths never pass through a non-object")
            .entry(name)
            .or_insert_with(|| json!({}));
    }
    *current = value;
}

#[test]
fn parse_errors_point_inside_the_expression() {
    assert_eq!(
        diagnose("event.request.ip == "),
        "Syntax 20..20: invalid condition: expected an expression | conditions look like `event.request.asn.is_tor == true && step.risk.score > 70`"
    );
    assert!(
        diagnose("(event.request.asn.is_tor")
            .starts_with("Syntax 25..25: invalid condition: expected")
    );
    assert!(diagnose("event.request.asn.is_tor &&& true").starts_with("Syntax 27..27"));
    assert!(diagnose("'unterminated").starts_with("Syntax 0..0"));
}

#[test]
fn depth_is_limited_without_overflowing_the_stack() {
    let deep = format!("{}true{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(
        diagnose(&deep).starts_with("TooDeep 32..33: brackets are nested more than 32 levels deep")
    );
    let bangs = format!("{}true", "!".repeat(100_000));
    assert!(diagnose(&bangs).starts_with("TooDeep"));
    let chain = vec!["true"; 100_000].join(" || ");
    assert!(diagnose(&chain).starts_with("TooDeep"));
    let fine = vec!["true"; 60].join(" || ");
    assert_eq!(diagnose(&fine), "ok");
}

#[test]
fn type_errors_have_spans_messages_and_help() {
    assert_eq!(
        diagnose("event.request.geo.country_code == 3"),
        "TypeMismatch 0..35: `==` compares a string with a number, which is never equal | both sides of `==` must have the same type"
    );
    assert_eq!(
        diagnose("event.request.asn.is_tor < true"),
        "TypeMismatch 0..31: `<` cannot order a boolean | `<` orders two numbers or two strings"
    );
    assert_eq!(
        diagnose("event.user.email && true"),
        "TypeMismatch 0..16: `&&` needs a boolean operand, but this is a string | compare the string first, e.g. `x != \"\"`"
    );
    assert_eq!(
        diagnose("startswith(event.user.email, \"a\")"),
        "UnknownFunction 0..10: unknown function `startswith` | did you mean `starts_with`?"
    );
    assert_eq!(
        diagnose("lower(event.user.email, 1) == \"a\""),
        "Arity 0..26: `lower` takes 1 argument, but 2 were given | call it as `lower(string)`"
    );
    assert_eq!(
        diagnose("event.request.ipp == \"1\""),
        "UnknownField 14..17: unknown field `event.request.ipp` | did you mean `ip`?"
    );
    assert_eq!(
        diagnose("event.user.email"),
        "NotBoolean 0..16: a condition must be a boolean, but this is a string | compare it, e.g. `... == \"value\"` or `... != \"\"`"
    );
    assert_eq!(
        diagnose("event.request.geo.country_code in [\"US\", 1]"),
        "TypeMismatch 41..42: this list item is a number, but the value tested with `in` is a string | every list item must have the type of the left side of `in`"
    );
}

#[test]
fn field_paths_are_exposed_with_spans_and_optional_marks() {
    let expr = parse("event.user?.app_metadata.tier == \"gold\" && step.log-user.country != \"\"")
        .expect("parses");
    let paths = expr.field_paths();
    assert_eq!(paths.len(), 2);
    assert_eq!(paths[0].to_string(), "event.user?.app_metadata.tier");
    assert!(paths[0].segments[1].optional && !paths[0].segments[2].optional);
    assert_eq!(paths[1].segments[1].name, "log-user");
    assert_eq!((paths[1].span.start, paths[1].span.end), (43, 64));
    let checked = check(&expr, &TestCatalogue).expect("checks");
    assert_eq!(checked.fields().len(), 2);
}

#[test]
fn documented_semantics_hold() {
    let event = json!({
        "request": { "asn": { "is_tor": true }, "geo": { "country_code": "" }, "ip": "10.0.0.1" },
        "authentication": { "risk_score": 80, "methods": ["password"] },
    });
    assert!(eval("event.request.asn.is_tor", &event));
    assert!(eval(
        "event.request.asn.is_tor == true && event.authentication.risk_score > 70",
        &event
    ));
    // Missing values: equal to null, unequal to anything else, never ordered.
    assert!(eval("event.user.email == null", &event));
    assert!(eval("event.user.email != \"a\"", &event));
    assert!(!eval("event.user.email < \"z\"", &event));
    assert!(!eval("event.user.email >= \"\"", &event));
    assert!(!eval("event.user.multifactor_enrolled", &event));
    assert!(eval("!event.user.multifactor_enrolled", &event));
    // Empty geo strings are ordinary strings, not missing.
    assert!(eval("event.request.geo.country_code == \"\"", &event));
    assert!(!eval("event.request.geo.country_code == null", &event));
    // Dynamic values of different run-time types are never equal; numbers are f64.
    assert!(!eval(
        "event.user.app_metadata.tier == \"1\"",
        &json!({"user": {"app_metadata": {"tier": 1}}})
    ));
    assert!(eval(
        "event.user.app_metadata.tier == 1.0",
        &json!({"user": {"app_metadata": {"tier": 1}}})
    ));
    // Case-sensitive unless lower().
    let user = json!({"user": {"email": "Admin@Example.COM"}});
    assert!(!eval("starts_with(event.user.email, \"admin\")", &user));
    assert!(eval(
        "starts_with(lower(event.user.email), \"admin\")",
        &user
    ));
    assert!(eval(
        "ends_with(lower(event.user.email), \"@example.com\")",
        &user
    ));
    assert!(eval("len(event.user.email) == 17", &user));
    assert!(eval(
        "contains(event.authentication.methods, \"password\")",
        &event
    ));
    assert!(eval("\"password\" in event.authentication.methods", &event));
    assert!(eval("len(event.authentication.methods) == 1", &event));
    // A dynamic value in a boolean position is true only when it is `true`.
    assert!(!eval("step.risk.flag", &json!({})));
    assert!(eval("!step.risk.flag", &json!({})));
}

#[test]
fn missing_and_extra_inputs_are_tolerated() {
    let checked = check(
        &parse("event.request.ip == \"x\" || event.request.asn.is_tor").expect("parses"),
        &TestCatalogue,
    )
    .expect("checks");
    let condition = Condition::compile(&checked);
    assert!(!condition.eval(&[]));
    let tor = json!(true);
    assert!(condition.eval(&[None, Some(&tor), None, None]));
}

#[test]
fn more_fields_than_inline_slots_evaluate_alike() {
    // 24 distinct fields: beyond the 16 stack slots of `eval`; `eval_root` has no such limit.
    let text = (0..24)
        .map(|index| format!("step.wide.f{index} == {index}"))
        .collect::<Vec<_>>()
        .join(" || ");
    let checked = check(&parse(&text).expect("parses"), &TestCatalogue).expect("checks");
    let condition = Condition::compile(&checked);
    assert!(condition.is_jit());
    assert_eq!(condition.fields().len(), 24);
    for hit in [None, Some(0), Some(15), Some(16), Some(23)] {
        let mut root = json!({});
        for index in 0..24 {
            let value = if Some(index) == hit { index } else { 100 };
            insert_path(&mut root, &format!("step.wide.f{index}"), json!(value));
        }
        let inputs: Vec<Option<&Value>> = condition
            .fields()
            .iter()
            .map(|path| path.lookup(&root, 0))
            .collect();
        let expected = hit.is_some();
        assert_eq!(condition.eval(&inputs), expected, "eval, hit {hit:?}");
        assert_eq!(
            condition.eval_root(&root),
            expected,
            "eval_root, hit {hit:?}"
        );
        let interpreter = Interpreter::new(&checked);
        assert_eq!(interpreter.eval(&inputs), expected);
        assert_eq!(interpreter.eval_root(&root), expected);
    }
}

#[test]
fn fields_read_twice_are_looked_up_from_the_root() {
    let event = json!({ "request": { "ip": "b" }, "user": { "email": "X@Y" } });
    assert!(eval(
        r#"event.request.ip == "a" || event.request.ip == "b""#,
        &event
    ));
    assert!(eval(
        r#"ends_with(lower(event.user.email), "@y") && len(event.user.email) == 3"#,
        &event
    ));
    assert!(!eval(
        r#"event.request.ip == "a" || event.request.ip == "c""#,
        &event
    ));
}

#[test]
fn many_conditions_compile_and_drop() {
    for index in 0..200 {
        let text =
            format!("event.authentication.risk_score > {index} && event.request.ip != \"{index}\"");
        let checked = check(&parse(&text).expect("parses"), &TestCatalogue).expect("checks");
        let condition = Condition::compile(&checked);
        assert!(condition.is_jit());
        let score = json!(index + 1);
        assert!(condition.eval(&[Some(&score), None]));
    }
}

// ---- property test: JIT == interpreter ----

const BOOL_FIELDS: &[&str] = &[
    "event.request.asn.is_tor",
    "event.user.multifactor_enrolled",
];
const NUM_FIELDS: &[&str] = &["event.authentication.risk_score"];
const STR_FIELDS: &[&str] = &[
    "event.request.ip",
    "event.request.geo.country_code",
    "event.user.email",
];
const LIST_FIELDS: &[&str] = &["event.authentication.methods"];
const DYN_FIELDS: &[&str] = &[
    "event.user.app_metadata.tier",
    "step.log-user.country",
    "step.risk.score",
];
const STRINGS: &[&str] = &[
    "",
    "a",
    "A",
    "US",
    "us",
    "x.co",
    "admin",
    "abcdef",
    "abcdefg",
    "admin@x.com",
    "Admin@X.com",
    "ß",
    "İx",
    "password",
    "admin.ops@example.com",
];
const NUMBERS: &[f64] = &[0.0, 1.0, -1.0, 70.0, 70.5, 100.0, -0.0];

fn string_literal() -> impl Strategy<Value = String> {
    prop::sample::select(STRINGS).prop_map(|s| format!("{s:?}"))
}

fn number_literal() -> impl Strategy<Value = String> {
    prop::sample::select(NUMBERS).prop_map(|n| format!("{n:?}"))
}

fn pick(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(fields).prop_map(str::to_owned)
}

fn string_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![string_literal(), pick(STR_FIELDS), pick(DYN_FIELDS)];
    leaf.prop_recursive(2, 4, 1, |inner| inner.prop_map(|s| format!("lower({s})")))
}

fn number_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        number_literal(),
        pick(NUM_FIELDS),
        pick(DYN_FIELDS),
        string_expr().prop_map(|s| format!("len({s})")),
        pick(LIST_FIELDS).prop_map(|s| format!("len({s})")),
    ]
}

fn list_literal(item: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    prop::collection::vec(item, 0..4).prop_map(|items| format!("[{}]", items.join(", ")))
}

fn bool_leaf() -> impl Strategy<Value = String> {
    let ordering = prop::sample::select(&["<", "<=", ">", ">="][..]);
    let equality = prop::sample::select(&["==", "!="][..]);
    prop_oneof![
        prop::sample::select(&["true", "false"][..]).prop_map(str::to_owned),
        pick(BOOL_FIELDS),
        pick(DYN_FIELDS),
        (number_expr(), ordering.clone(), number_expr())
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (string_expr(), ordering, string_expr()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (number_expr(), equality.clone(), number_expr())
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (string_expr(), equality.clone(), string_expr())
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (
            pick(DYN_FIELDS),
            equality.clone(),
            prop_oneof![
                string_literal(),
                number_literal(),
                Just("null".to_owned()),
                pick(DYN_FIELDS)
            ]
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (
            pick(BOOL_FIELDS),
            equality,
            prop::sample::select(&["true", "false", "null"][..])
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (string_expr(), list_literal(string_literal().boxed()))
            .prop_map(|(a, l)| format!("{a} in {l}")),
        (number_expr(), list_literal(number_literal().boxed()))
            .prop_map(|(a, l)| format!("{a} in {l}")),
        (pick(DYN_FIELDS), pick(LIST_FIELDS)).prop_map(|(a, l)| format!("{a} in {l}")),
        (string_expr(), pick(LIST_FIELDS)).prop_map(|(a, l)| format!("{a} in {l}")),
        (
            prop::sample::select(&["starts_with", "ends_with", "contains"][..]),
            string_expr(),
            string_expr()
        )
            .prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
        (pick(LIST_FIELDS), string_expr()).prop_map(|(l, s)| format!("contains({l}, {s})")),
        (list_literal(string_literal().boxed()), string_expr())
            .prop_map(|(l, s)| format!("contains({l}, {s})")),
    ]
}

fn bool_expr() -> impl Strategy<Value = String> {
    bool_leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("!({e})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) && ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) == ({b})")),
        ]
    })
}

fn json_value() -> impl Strategy<Value = Option<Value>> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(NUMBERS).prop_map(|n| json!(n)),
        prop::sample::select(&[0i64, 1, 70, 100][..]).prop_map(|n| json!(n)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
    ];
    let value = prop_oneof![
        4 => scalar.clone(),
        1 => prop::collection::vec(scalar, 0..3).prop_map(Value::Array),
    ];
    prop::option::weighted(0.8, value)
}

fn all_fields() -> Vec<&'static str> {
    [BOOL_FIELDS, NUM_FIELDS, STR_FIELDS, LIST_FIELDS, DYN_FIELDS].concat()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn jit_agrees_with_interpreter(
        text in bool_expr(),
        values in prop::collection::vec(json_value(), 11),
    ) {
        let expr = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let checked = check(&expr, &TestCatalogue).map_err(|e| TestCaseError::fail(format!("{text}: {e:?}")))?;
        let condition = Condition::compile(&checked);
        prop_assert!(condition.is_jit(), "JIT failed for {}: {:?}", text, Condition::jit_error(&checked));
        let names = all_fields();
        let inputs: Vec<Option<&Value>> = condition
            .fields()
            .iter()
            .map(|path| {
                let dotted: Vec<&str> = path.names().collect();
                let dotted = dotted.join(".");
                names.iter().position(|name| *name == dotted).and_then(|index| values[index].as_ref())
            })
            .collect();
        let interpreter = Interpreter::new(&checked);
        let expected = interpreter.eval(&inputs);
        prop_assert_eq!(condition.eval(&inputs), expected, "condition: {}", text);
        // The same values placed in a root object: `eval_root` looks the fields up itself.
        let mut root = json!({});
        for (name, value) in names.iter().zip(&values) {
            if let Some(value) = value {
                insert_path(&mut root, name, value.clone());
            }
        }
        prop_assert_eq!(condition.eval_root(&root), expected, "eval_root: {}", text);
        prop_assert_eq!(interpreter.eval_root(&root), expected, "interpreter eval_root: {}", text);
        // A tiered condition agrees before its promotion (interpreted), on the evaluation that
        // compiles it, and after (native code), through both entry points.
        let tiered = Condition::tiered_after(&checked, 3);
        prop_assert_eq!(tiered.eval(&inputs), expected, "tiered, cold: {}", text);
        prop_assert!(!tiered.is_jit(), "tiered condition compiled before it was hot: {}", text);
        prop_assert_eq!(tiered.eval_root(&root), expected, "tiered, cold eval_root: {}", text);
        prop_assert!(!tiered.is_jit(), "tiered condition compiled before it was hot: {}", text);
        prop_assert_eq!(tiered.eval_root(&root), expected, "tiered, promoting: {}", text);
        prop_assert!(tiered.is_jit(), "tiered condition not compiled once hot: {}", text);
        prop_assert_eq!(tiered.eval(&inputs), expected, "tiered, hot: {}", text);
        prop_assert_eq!(tiered.eval_root(&root), expected, "tiered, hot eval_root: {}", text);
    }

    #[test]
    fn lower_then_affix_matches_std(
        text in prop_oneof![
            prop::sample::select(STRINGS).prop_map(str::to_owned),
            "[aAdDmMiInN@.İıKΣσςßẞ\u{307}]{0,8}",
        ],
        affix in prop::sample::select(&["", "a", "admin", "ADMIN", "i", "i\u{307}", "σ", "ς", "ss", "k", "n"][..]),
    ) {
        // `starts_with(lower(x), p)` is evaluated without building `lower(x)` when it can be;
        // the oracle is the standard library's Unicode lower-casing.
        let lowered = text.to_lowercase();
        let event = json!({ "user": { "email": text } });
        for (function, expected) in [
            ("starts_with", lowered.starts_with(affix)),
            ("ends_with", lowered.ends_with(affix)),
        ] {
            // The affixes hold no quote or backslash, so they can be written between quotes as is.
            let condition = format!("{function}(lower(event.user.email), \"{affix}\")");
            prop_assert_eq!(eval(&condition, &event), expected, "{} on {:?}", condition, text);
        }
    }

    #[test]
    fn parser_never_panics(text in "[a-z_.?!=<>&|()\\[\\],\"' 0-9-]{0,64}") {
        if let Ok(expr) = parse(&text) {
            let _ = check(&expr, &TestCatalogue);
        }
    }
}
