//! Parse + check of a generated 10,000-block flow, beside parsing the same file into an
//! untyped YAML value (serde_json::Value through serde-saphyr): the checks should cost no
//! more than the parse itself.

use authflow::diagnostic::FileId;
use authflow::syntax::yaml;
use authflow::workspace::Workspace;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "support/generated.rs"]
mod generated;
use generated::generated_flow;

fn bench(c: &mut Criterion) {
    let text = generated_flow(10_000);
    let ws = Workspace::empty();
    let actions = authflow::check::analyze_actions(&ws);
    // The generated flow must be clean, or the benchmark would time error reporting.
    let flow = yaml::parse(&text, FileId(0)).expect("generated flow parses");
    assert_eq!(flow.blocks().count(), 10_000);
    let diagnostics = authflow::check::check_flow(&ws, FileId(0), &flow, &actions);
    assert!(
        diagnostics.is_empty(),
        "{:?}",
        &diagnostics[..diagnostics.len().min(3)]
    );

    let mut group = c.benchmark_group("flow-10k-blocks");
    group.sample_size(10);
    group.bench_function("untyped-yaml-value", |b| {
        b.iter(|| black_box(serde_saphyr::from_str::<serde_json::Value>(black_box(&text)).unwrap()))
    });
    group.bench_function("parse", |b| {
        b.iter(|| black_box(yaml::parse(black_box(&text), FileId(0)).unwrap()))
    });
    group.bench_function("check", |b| {
        b.iter(|| black_box(authflow::check::check_flow(&ws, FileId(0), &flow, &actions)))
    });
    group.bench_function("parse+check", |b| {
        b.iter(|| {
            let flow = yaml::parse(black_box(&text), FileId(0)).unwrap();
            black_box(authflow::check::check_flow(&ws, FileId(0), &flow, &actions))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
