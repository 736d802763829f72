//! Condition evaluation cost: interpreter vs cranelift JIT vs the same predicate written in
//! Rust by hand (the floor), per evaluation, plus compile time per condition and what a single
//! run pays for a guard (JIT compile then one evaluation, against a tiered condition's one
//! interpreted evaluation).
//!
//! Every variant of one condition starts from the same data and does the same work:
//!
//! - `inputs/<condition>/*` starts from `&[Option<&Value>]`, one entry per field, resolved
//!   once outside the timed loop. The hand-written predicate classifies each input it reads
//!   (`as_bool`, `as_f64`, `as_str`) and applies the language's semantics (missing, null and
//!   wrong-typed values make comparisons false); `Condition::eval` tags the inputs into its
//!   slot array and calls the native code; `Interpreter::eval` walks the tree.
//! - `root/<condition>/*` starts from the runtime's root object `{"event": .., "step": ..}`,
//!   as `run::eval` does. The hand-written predicate walks each path with `Value::get`, only
//!   when it needs the value (`||`/`&&` short-circuit), then applies the same predicate;
//!   `Condition::eval_root` runs native code that looks fields up through one helper call
//!   per path, also only when needed; `Interpreter::eval_root` looks up on demand as well.
//!
//! `lower(x)` followed by `starts_with`/`ends_with` is evaluated by all three without
//! building the lowered string when the compared window is ASCII (the JIT and interpreter
//! through `semantics::lower_affix`, the hand-written code through `lower_starts_with`), and
//! with Unicode lower-casing otherwise.

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

/// Walks `root` along `path`, as `FieldPath::lookup` does.
#[inline]
fn walk<'v>(root: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, name| value.get(name))
}

/// `starts_with(lower(s), prefix)` as a careful Rust programmer would write it: no allocation
/// when the prefix-sized window of `s` is ASCII, Unicode lower-casing otherwise.
#[inline]
fn lower_starts_with(s: &str, prefix: &str) -> bool {
    match s.as_bytes().get(..prefix.len()) {
        Some(window) if window.is_ascii() => window
            .iter()
            .zip(prefix.bytes())
            .all(|(have, want)| have.to_ascii_lowercase() == want),
        _ => s.to_lowercase().starts_with(prefix),
    }
}

/// Defines one hand-written predicate twice from one body: `inputs` reads pre-resolved
/// inputs, `root` walks the given paths in the root object when `$field(i)` is evaluated.
macro_rules! hand_written {
    ($name:ident, [$($path:expr),* $(,)?], |$field:ident| $body:expr) => {
        mod $name {
            use super::*;

            pub fn inputs(inputs: &[Option<&Value>]) -> bool {
                let $field = |index: usize| inputs[index];
                $body
            }

            pub fn root(root: &Value) -> bool {
                const PATHS: &[&[&str]] = &[$($path),*];
                let $field = |index: usize| walk(root, PATHS[index]);
                $body
            }
        }
    };
}

hand_written!(
    tor_deny,
    [&["event", "request", "asn", "is_tor"]],
    |field| field(0).and_then(Value::as_bool) == Some(true)
);

hand_written!(
    country_in_list,
    [&["event", "request", "geo", "country_code"]],
    |field| field(0)
        .and_then(Value::as_str)
        .is_some_and(|country| ["KP", "IR", "SY", "CU", "RU"].contains(&country))
);

hand_written!(
    risk_no_mfa,
    [
        &["event", "authentication", "risk_score"],
        &["event", "user", "multifactor_enrolled"],
    ],
    |field| field(0)
        .and_then(Value::as_f64)
        .is_some_and(|score| score > 70.0)
        && field(1).and_then(Value::as_bool) != Some(true)
);

hand_written!(admin_email, [&["event", "user", "email"]], |field| field(0)
    .and_then(Value::as_str)
    .is_some_and(|email| lower_starts_with(email, "admin")));

hand_written!(
    step_verdict,
    [
        &["step", "risk-check", "verdict"],
        &["step", "risk-check", "score"],
    ],
    |field| field(0).and_then(Value::as_str) == Some("deny")
        || field(1)
            .and_then(Value::as_f64)
            .is_some_and(|score| score >= 50.0)
);

struct Case {
    name: &'static str,
    text: &'static str,
    inputs: fn(&[Option<&Value>]) -> bool,
    root: fn(&Value) -> bool,
}

const CASES: &[Case] = &[
    Case {
        name: "tor_deny",
        text: "event.request.asn.is_tor == true",
        inputs: tor_deny::inputs,
        root: tor_deny::root,
    },
    Case {
        name: "country_in_list",
        text: r#"event.request.geo.country_code in ["KP", "IR", "SY", "CU", "RU"]"#,
        inputs: country_in_list::inputs,
        root: country_in_list::root,
    },
    Case {
        name: "risk_no_mfa",
        text: "event.authentication.risk_score > 70 && !event.user.multifactor_enrolled",
        inputs: risk_no_mfa::inputs,
        root: risk_no_mfa::root,
    },
    Case {
        name: "admin_email",
        text: r#"starts_with(lower(event.user.email), "admin")"#,
        inputs: admin_email::inputs,
        root: admin_email::root,
    },
    Case {
        name: "step_verdict",
        text: r#"step.risk-check.verdict == "deny" || step.risk-check.score >= 50"#,
        inputs: step_verdict::inputs,
        root: step_verdict::root,
    },
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
    for case in CASES {
        let name = case.name;
        let checked = checked(case.text);
        let jit = Condition::compile(&checked);
        assert!(jit.is_jit(), "{name}: {:?}", Condition::jit_error(&checked));
        let interpreter = Interpreter::new(&checked);
        let inputs: Vec<Option<&Value>> = jit
            .fields()
            .iter()
            .map(|path| path.lookup(&root, 0))
            .collect();
        let expected = (case.inputs)(&inputs);
        for (variant, got) in [
            ("rust root", (case.root)(&root)),
            ("jit", jit.eval(&inputs)),
            ("jit root", jit.eval_root(&root)),
            ("interpreter", interpreter.eval(&inputs)),
            ("interpreter root", interpreter.eval_root(&root)),
        ] {
            assert_eq!(
                got, expected,
                "{name}: {variant} disagrees with the hand-written"
            );
        }

        let mut group = c.benchmark_group(format!("inputs/{name}"));
        group.bench_function("rust", |b| b.iter(|| (case.inputs)(black_box(&inputs))));
        group.bench_function("jit", |b| b.iter(|| jit.eval(black_box(&inputs))));
        group.bench_function("interpreter", |b| {
            b.iter(|| interpreter.eval(black_box(&inputs)))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("root/{name}"));
        group.bench_function("rust", |b| b.iter(|| (case.root)(black_box(&root))));
        group.bench_function("jit", |b| b.iter(|| jit.eval_root(black_box(&root))));
        group.bench_function("interpreter", |b| {
            b.iter(|| interpreter.eval_root(black_box(&root)))
        });
        group.finish();
    }
}

fn compilation(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    for case in CASES {
        let checked = checked(case.text);
        group.bench_function(format!("{}/parse_check", case.name), |b| {
            b.iter(|| check(&parse(black_box(case.text)).ok()?, &BenchCatalogue).ok())
        });
        group.bench_function(format!("{}/jit", case.name), |b| {
            b.iter(|| Condition::compile(black_box(&checked)))
        });
    }
    group.finish();
}

/// What one flow run pays for a guard: building the condition and evaluating it once. The
/// baseline compiles it with the JIT first (what the simulator did before tiering); a tiered
/// condition is interpreted until it is hot, so a single run never compiles it.
fn single_run(c: &mut Criterion) {
    let root = event();
    let mut group = c.benchmark_group("single_run");
    for case in CASES {
        let checked = checked(case.text);
        group.bench_function(format!("{}/jit_then_eval", case.name), |b| {
            b.iter(|| Condition::compile(black_box(&checked)).eval_root(black_box(&root)))
        });
        group.bench_function(format!("{}/tiered_eval", case.name), |b| {
            b.iter(|| Condition::tiered(black_box(&checked)).eval_root(black_box(&root)))
        });
    }
    group.finish();
}

criterion_group!(benches, evaluation, compilation, single_run);
criterion_main!(benches);
