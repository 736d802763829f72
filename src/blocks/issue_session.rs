//! Issue Session: ends the run, allowed, with a signed session JWT.

use super::{
    BlockType, ConfigDefault, ConfigKind, Ending, Execution, Fact, Lowering, Native, Op, Step,
    optional,
};
use crate::run::crypto;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub static ROW: BlockType = BlockType {
    name: "issue_session",
    title: "Issue Session",
    doc: "Ends the run, allowed: issues a signed session JWT (HS256) carrying sub, aal, amr and the custom claims.",
    summary: "ends the run allowed with an HS256 JWT (`sub`, `aal`, `amr`, custom claims); `ttl_seconds`, `audience`",
    makes_available: "",
    config: &[
        optional(
            "ttl_seconds",
            ConfigKind::Number,
            Some(ConfigDefault::Number(3600.0)),
            "Token lifetime (default 3600).",
        ),
        optional(
            "audience",
            ConfigKind::String,
            None,
            "The `aud` claim (default: event.client.id).",
        ),
    ],
    requires: &[Fact::UserLoaded, Fact::FirstFactor],
    provides: &[],
    ending: Ending::Allow,
    can_fail: false,
    lower,
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IssueSession {
    pub ttl_seconds: u64,
    pub audience: Option<String>,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::issue_session(IssueSession {
        ttl_seconds: cx.number("ttl_seconds").unwrap_or_default().max(0.0) as u64,
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
        claims.insert("exp".into(), json!(now + self.ttl_seconds as i64));
        claims.insert("aal".into(), event["authentication"]["aal"].clone());
        claims.insert("amr".into(), event["authentication"]["methods"].clone());
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
