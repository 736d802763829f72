//! MFA: verifies a TOTP code against the user's enrolled secret.

use super::{
    BlockType, ConfigDefault, ConfigKind, Execution, Fact, Lowering, Native, Op, Step,
    directory_failure, optional,
};
use crate::run::crypto;
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "mfa",
    title: "MFA",
    doc: "Verifies credentials.otp as a TOTP code (RFC 6238, SHA-1, 6 digits, 30 s, one step of drift) against the user's enrolled secret. Adds \"totp\" to authentication.methods and raises aal to aal2; denies with `mfa-required` or `invalid-otp`. With `if_not_enrolled: skip`, users without a TOTP factor pass through unchanged.",
    summary: "verifies `credentials.otp` (TOTP, RFC 6238); denies `mfa-required` / `invalid-otp`; `if_not_enrolled: skip`",
    makes_available: "`methods += totp`, aal2",
    config: &[optional(
        "if_not_enrolled",
        ConfigKind::OneOf(&["deny", "skip"]),
        Some(ConfigDefault::Text("deny")),
        "What to do for a user with no TOTP factor (default deny).",
    )],
    requires: &[Fact::UserLoaded, Fact::FirstFactor],
    provides: &[Fact::SecondFactor],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Mfa {
    pub skip_if_not_enrolled: bool,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    Ok(Op::mfa(Mfa {
        skip_if_not_enrolled: cx.text("if_not_enrolled") == "skip",
    }))
}

impl Native for Mfa {
    fn run(&self, cx: &mut Execution) -> Step {
        let secret = cx.state.user.and_then(|u| u.totp_secret.as_deref());
        let Some(secret) = secret else {
            if self.skip_if_not_enrolled {
                cx.trace.reason = Some("the user has no TOTP factor; passed through".into());
                return Step::Continue;
            }
            return Step::Deny("mfa-required".into());
        };
        let Some(key) = crypto::base32_decode(secret) else {
            return Step::Fail(directory_failure("the user's TOTP secret is not base32"));
        };
        match cx.sim.credentials.otp.as_deref() {
            Some(code) if crypto::verify_totp(&key, code, cx.sim.now) => {
                cx.state.add_method("totp", "aal2");
                Step::Continue
            }
            Some(_) => Step::Deny("invalid-otp".into()),
            None => Step::Deny("mfa-required".into()),
        }
    }
}
