//! Condition evaluation cost: interpreter vs cranelift JIT vs the same predicate written in
//! Rust by hand (the floor), per evaluation, plus compile time per condition.
//!
//! Field lookup in the event is the runtime's job and is done once outside the timed loop,
//! so every variant starts from the same `&[Option<&Value>]` inputs.

use authflow::expr::{
    CheckedExpr, Condition, FieldError, FieldPath, FieldTypes, Interpreter, ValueType, check, parse,
};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;

struct BenchCatalogue;

impl FieldTypes for BenchCatalogue {
    fn field_type(&self, path: &FieldPath) -> Result<ValueType, FieldError> {
        let dotted = path.names().collect::<Vec<_>>().join(".");
        Ok(match dotted.as_str() {
            "event.request.asn.is_tor" | "event.user.multifactor_enrolled" => ValueType::Bool,
            "event.authentication.risk_score" => ValueType::Number,
            "event.request.geo.country_code" | "event.user.email" => ValueType::String,
            _ if dotted.starts_with("step.") => ValueType::Any,
            _ => {
                return Err(FieldError {
                    message: format!("unknown field `{dotted}`"),
                    suggestion: None,
                    segment: 0,
                });
            }
        })
    }
}

type HandWritten = fn(&[Option<&Value>]) -> bool;

fn as_str(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

fn tor_deny(inputs: &[Option<&Value>]) -> bool {
    inputs[0].and_then(Value::as_bool) == Some(true)
}

fn country_in_list(inputs: &[Option<&Value>]) -> bool {
    as_str(inputs[0]).is_some_and(|country| ["KP", "IR", "SY", "CU", "RU"].contains(&country))
}

fn risky_without_mfa(inputs: &[Option<&Value>]) -> bool {
    inputs[0]
        .and_then(Value::as_f64)
        .is_some_and(|score| score > 70.0)
        && inputs[1].and_then(Value::as_bool) != Some(true)
}

fn admin_email(inputs: &[Option<&Value>]) -> bool {
    as_str(inputs[0]).is_some_and(|email| email.to_lowercase().starts_with("admin"))
}

fn step_verdict(inputs: &[Option<&Value>]) -> bool {
    as_str(inputs[0]) == Some("deny")
        || inputs[1]
            .and_then(Value::as_f64)
            .is_some_and(|score| score >= 50.0)
}

const CASES: &[(&str, &str, HandWritten)] = &[
    ("tor_deny", "event.request.asn.is_tor == true", tor_deny),
    (
        "country_in_list",
        r#"event.request.geo.country_code in ["KP", "IR", "SY", "CU", "RU"]"#,
        country_in_list,
    ),
    (
        "risk_no_mfa",
        "event.authentication.risk_score > 70 && !event.user.multifactor_enrolled",
        risky_without_mfa,
    ),
    (
        "admin_email",
        r#"starts_with(lower(event.user.email), "admin")"#,
        admin_email,
    ),
    (
        "step_verdict",
        r#"step.risk-check.verdict == "deny" || step.risk-check.score >= 50"#,
        step_verdict,
    ),
];

fn event() -> Value {
    json!({
        "event": {
            "request": { "asn": { "is_tor": false }, "geo": { "country_code": "RU" } },
            "authentication": { "risk_score": 82 },
            "user": { "email": "Admin.Ops@example.com", "multifactor_enrolled": false },
        },
        "step": { "risk-check": { "verdict": "allow", "score": 64 } },
    })
}

fn checked(text: &str) -> CheckedExpr {
    let expr = parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
    check(&expr, &BenchCatalogue).unwrap_or_else(|errors| panic!("{text}: {errors:?}"))
}

fn evaluation(c: &mut Criterion) {
    let root = event();
    for (name, text, hand_written) in CASES {
        let checked = checked(text);
        let jit = Condition::compile(&checked);
        assert!(jit.is_jit(), "{name}: {:?}", Condition::jit_error(&checked));
        let interpreter = Interpreter::new(&checked);
        let inputs: Vec<Option<&Value>> = jit
            .fields()
            .iter()
            .map(|path| path.lookup(&root, 0))
            .collect();
        let expected = hand_written(&inputs);
        assert_eq!(
            jit.eval(&inputs),
            expected,
            "{name}: JIT disagrees with the hand-written predicate"
        );
        assert_eq!(
            interpreter.eval(&inputs),
            expected,
            "{name}: interpreter disagrees with the hand-written predicate"
        );

        let mut group = c.benchmark_group(format!("eval/{name}"));
        group.bench_function("rust", |b| b.iter(|| hand_written(black_box(&inputs))));
        group.bench_function("jit", |b| b.iter(|| jit.eval(black_box(&inputs))));
        group.bench_function("interpreter", |b| {
            b.iter(|| interpreter.eval(black_box(&inputs)))
        });
        group.finish();
    }
}

fn compilation(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    for (name, text, _) in CASES {
        let checked = checked(text);
        group.bench_function(format!("{name}/parse_check"), |b| {
            b.iter(|| check(&parse(black_box(text)).ok()?, &BenchCatalogue).ok())
        });
        group.bench_function(format!("{name}/jit"), |b| {
            b.iter(|| Condition::compile(black_box(&checked)))
        });
    }
    group.finish();
}

criterion_group!(benches, evaluation, compilation);
criterion_main!(benches);
