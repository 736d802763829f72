//! Criterion benchmarks for `jsfacts::analyze`: the quickstart's log-user action and a
//! generated action of about 300 lines in the shape real risk-scoring actions take.

use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::hint::black_box;

/// The custom-action quickstart, as the log-user example workspace ships it.
const LOG_USER: &str = include_str!("../examples/log-user/actions/log-user.js");

/// One scoring rule: a helper that reads the event, calls out, and writes state.
fn rule(out: &mut String, index: usize) {
    let _ = write!(
        out,
        r#"
async function rule{index}(event, api, score) {{
  const {{ user, request }} = event;
  if (!user) {{
    api.log('debug', 'rule{index}: no user yet');
    return score;
  }}
  const country = request?.geo?.country ?? 'ZZ';
  const tier = user.app_metadata?.tier || 'free';
  if (event.request.asn && event.request.asn.is_tor) {{
    api.log('warn', `rule{index}: tor exit node for ${{user.email}}`);
    score += {index};
  }}
  try {{
    const response = await api.fetch(`https://risk.example.com/v1/rule{index}/${{user.id}}`, {{
      method: 'POST',
      headers: {{ 'X-API-Key': event.secrets.RISK_KEY }},
      body: JSON.stringify({{ country, tier, ip: event.request.ip }}),
    }});
    const body = await response.json();
    if (body.flagged === true) {{
      score += body.weight ?? 1;
      api.state.set('rule{index}_flagged', true);
    }}
  }} catch (err) {{
    api.log('error', `rule{index}: ${{err.message}}`);
  }}
  return score;
}}
"#
    );
}

/// About 300 lines: a module require, eleven rules and a handler that runs them.
pub fn large_action() -> String {
    let mut out = String::from("const logger = require('actions:logger');\n");
    for index in 0..11 {
        rule(&mut out, index);
    }
    out.push_str("\nexports.handler = async function score(event, api) {\n  let score = 0;\n");
    for index in 0..11 {
        let _ = writeln!(out, "  score = await rule{index}(event, api, score);");
    }
    out.push_str(
        "  if (score > 10) {\n    api.deny('risk-score-too-high');\n    return;\n  }\n  \
         api.user.setAppMetadata({ last_score: score });\n  \
         api.session.setCustomClaim('https://example.com/score', score);\n  \
         await logger.sendLog('scored', `${event.user?.email}: ${score}`);\n};\n",
    );
    out
}

fn bench(c: &mut Criterion) {
    let large = large_action();
    eprintln!(
        "large action: {} lines, {} bytes",
        large.lines().count(),
        large.len()
    );
    c.bench_function("analyze/log-user", |b| {
        b.iter(|| authflow::jsfacts::analyze(black_box(LOG_USER)))
    });
    c.bench_function("analyze/300-line", |b| {
        b.iter(|| authflow::jsfacts::analyze(black_box(&large)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
