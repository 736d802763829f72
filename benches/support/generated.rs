//! The generated flows the benchmarks share: a clean flow of any number of blocks.

use std::fmt::Write;

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
