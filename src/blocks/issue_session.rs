//! Issue Session: ends the run, allowed, with a signed session JWT.

use super::{
    BlockType, ConfigDefault, ConfigKind, Ending, Execution, Fact, Lowering, Native, Op, Step,
    ValueRule, optional,
};
use crate::run::crypto;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub static ROW: BlockType = BlockType {
    name: "issue_session",
    title: "Issue Session",
    doc: "Ends the run, allowed: issues a signed session JWT (HS256) carrying iss, sub, aud, iat, exp, aal, amr and the custom claims. `amr` holds RFC 8176 values (password: `pwd`; totp, email_otp: `otp`; sms_otp: `otp`, `sms`; `mfa` at aal2) while the trace's authentication.methods keep the block names; custom claims may not use reserved names (iss, sub, aud, exp, nbf, iat, jti, aal, amr, acr, auth_time, azp, nonce, sid).",
    summary: "ends the run allowed with an HS256 JWT (`sub`, `aal`, `amr`, custom claims); `ttl_seconds`, `audience`",
    config: &[
        optional(
            "ttl_seconds",
            ConfigKind::Number,
            Some(ConfigDefault::Number(3600.0)),
            "Token lifetime in seconds (default 3600, at most one year).",
        )
        .with_rule(ValueRule::Integer {
            min: 1,
            max: MAX_TTL_SECONDS,
        }),
        optional(
            "audience",
            ConfigKind::String,
            None,
            "The `aud` claim (default: event.client.id).",
        ),
    ],
    requires: &[Fact::UserLoaded, Fact::FirstFactor],
    ending: Ending::Allow,
    ..BlockType::lowered_by(lower)
};

/// The longest token lifetime `ttl_seconds` may ask for: one year.
pub const MAX_TTL_SECONDS: i64 = 365 * 24 * 60 * 60;

/// The claims Issue Session sets itself, or that JWT (RFC 7519) and OpenID Connect give a
/// meaning: a custom claim (Set Custom Claim, `api.session.setCustomClaim`) may not use them.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "aal",
    "amr",
    "acr",
    "auth_time",
    "azp",
    "nonce",
    "sid",
];

/// Each authentication method the trace names (`event.authentication.methods`) and the
/// registered `amr` values (RFC 8176) the token carries for it. A method not listed here (one an
/// event file brings) is carried unchanged. `mfa` is added when the run reached aal2.
pub const AMR_VALUES: &[(&str, &[&str])] = &[
    ("password", &["pwd"]),
    ("totp", &["otp"]),
    ("email_otp", &["otp"]),
    ("sms_otp", &["otp", "sms"]),
];

/// The token's `amr`: the run's methods as RFC 8176 values, in order, without repeats.
pub fn amr(methods: &Value, aal: &Value) -> Value {
    let mut values: Vec<Value> = Vec::new();
    let mut push = |value: Value| {
        if !values.contains(&value) {
            values.push(value);
        }
    };
    for method in methods.as_array().into_iter().flatten() {
        match AMR_VALUES
            .iter()
            .find(|(name, _)| method.as_str() == Some(name))
        {
            Some((_, registered)) => registered.iter().for_each(|v| push(json!(v))),
            None => push(method.clone()),
        }
    }
    if aal.as_str() == Some("aal2") || aal.as_str() == Some("aal3") {
        push(json!("mfa"));
    }
    Value::Array(values)
}

/// Whether a custom claim may not be called `name`.
pub fn is_reserved_claim(name: &str) -> bool {
    RESERVED_CLAIMS.contains(&name)
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IssueSession {
    pub ttl_seconds: u64,
    pub audience: Option<String>,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::issue_session(IssueSession {
        // The check keeps the value a whole number in 1..=MAX_TTL_SECONDS; the clamp only
        // keeps a plan built around the check from producing a token that is already expired.
        ttl_seconds: cx
            .number("ttl_seconds")
            .unwrap_or_default()
            .clamp(1.0, MAX_TTL_SECONDS as f64) as u64,
        audience: cx.optional_text("audience"),
    }))
}

/// How Issue Session signs tokens and names itself.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub issuer: String,
    pub signing_key: Vec<u8>,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            issuer: "https://authflow.local/".into(),
            signing_key: crate::run::crypto::SIMULATION_SIGNING_KEY.to_vec(),
        }
    }
}

impl Native for IssueSession {
    fn run(&self, cx: &mut Execution) -> Step {
        let event = &cx.state.ctx["event"];
        let now = cx.sim.now;
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(cx.session.issuer));
        claims.insert("sub".into(), event["user"]["id"].clone());
        claims.insert(
            "aud".into(),
            self.audience
                .as_ref()
                .map_or_else(|| event["client"]["id"].clone(), |a| json!(a)),
        );
        claims.insert("iat".into(), json!(now));
        let ttl = i64::try_from(self.ttl_seconds).unwrap_or(MAX_TTL_SECONDS);
        claims.insert("exp".into(), json!(now.saturating_add(ttl)));
        claims.insert("aal".into(), event["authentication"]["aal"].clone());
        claims.insert(
            "amr".into(),
            amr(
                &event["authentication"]["methods"],
                &event["authentication"]["aal"],
            ),
        );
        for (k, v) in &cx.state.claims {
            claims.entry(k.clone()).or_insert_with(|| v.clone());
        }
        cx.state.session_token = Some(crypto::sign_jwt(
            &Value::Object(claims),
            &cx.session.signing_key,
        ));
        Step::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_uses_registered_values() {
        assert_eq!(
            amr(&json!(["password", "totp"]), &json!("aal2")),
            json!(["pwd", "otp", "mfa"])
        );
        assert_eq!(amr(&json!(["password"]), &json!("aal1")), json!(["pwd"]));
        assert_eq!(
            amr(&json!(["sms_otp"]), &json!("aal1")),
            json!(["otp", "sms"])
        );
        assert_eq!(
            amr(&json!(["federated"]), &json!("aal1")),
            json!(["federated"])
        );
        assert_eq!(amr(&json!(null), &json!(null)), json!([]));
    }

    #[test]
    fn reserved_claims_include_the_ones_the_token_sets() {
        for name in ["iss", "sub", "aud", "iat", "exp", "aal", "amr"] {
            assert!(is_reserved_claim(name), "{name}");
        }
        assert!(!is_reserved_claim("https://acme.example/tier"));
    }
}
