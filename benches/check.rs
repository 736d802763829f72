//! Parse + check of a generated 10,000-block flow, beside parsing the same file into an
//! untyped YAML value (serde_json::Value through serde-saphyr): the checks should cost no
//! more than the parse itself.

use authflow::diagnostic::FileId;
use authflow::syntax::yaml;
use authflow::workspace::Workspace;
use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;

/// 100 stages of 100 blocks: lookups and password first, then a mix of guarded denies,
/// logs with templates, claims, risk evaluation and forward branches, ending in Issue Session.
pub fn generated_flow(blocks: usize) -> String {
    let mut out = String::from(
        "flow: generated\nstages:\n  - name: identify\n    blocks:\n      - id: lookup\n        type: identity_lookup\n      - id: password\n        type: password_check\n      - id: risk\n        type: risk_evaluate\n",
    );
    let per_stage = 100;
    let mut n = 3;
    let mut stage = 0;
    while n < blocks - 1 {
        let _ = write!(out, "  - name: stage-{stage}\n    blocks:\n");
        for _ in 0..per_stage.min(blocks - 1 - n) {
            let block = match n % 5 {
                0 => format!(
                    "      - id: b{n}\n        type: deny\n        when: event.request.asn.is_tor && event.authentication.risk_score > {}\n        config:\n          reason: \"tor from {{{{ event.request.geo.country }}}}\"\n",
                    n % 100
                ),
                1 => format!(
                    "      - id: b{n}\n        type: log\n        config:\n          level: info\n          message: \"login for {{{{ event.user.email }}}} at step {n}\"\n"
                ),
                2 => format!(
                    "      - id: b{n}\n        type: set_claim\n        when: event.user.app_metadata.tier == \"pro\" || event.request.geo.country in [\"US\", \"CA\"]\n        config:\n          name: claim-{n}\n          value: \"{{{{ event.user.id }}}}\"\n"
                ),
                3 => {
                    let to = if n + 2 < blocks - 1 {
                        format!("b{}", n + 2)
                    } else {
                        "issue".to_string()
                    };
                    format!(
                        "      - id: b{n}\n        type: branch\n        when: starts_with(lower(event.user.email), \"admin\")\n        config:\n          to: {to}\n"
                    )
                }
                _ => format!(
                    "      - id: b{n}\n        type: deny\n        when: event.request.asn.is_vpn && !event.user.email_verified\n        config:\n          reason: vpn-unverified\n"
                ),
            };
            out.push_str(&block);
            n += 1;
        }
        stage += 1;
    }
    out.push_str("  - name: issue\n    blocks:\n      - id: issue\n        type: issue_session\n");
    out
}

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
