//! One-Time Code: passwordless login with a code the platform sent by email or SMS, checked
//! against the codes the directory records as sent.

use super::{
    BlockType, ConfigKind, Execution, Fact, Lowering, Native, Op, Step, directory_failure, required,
};
use crate::run::crypto;
use crate::run::directory::Channel;
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "one_time_code",
    title: "One-Time Code",
    doc: "Passwordless first factor: verifies credentials.code against the one-time codes the directory records as sent to the user over `channel` (email or sms), refusing expired ones. Adds \"email_otp\" or \"sms_otp\" to authentication.methods and raises aal to aal1; denies with `code-required`, `invalid-code`, `code-expired`, or `no-email` / `no-phone` when the user has no address on that channel.",
    summary: "verifies `credentials.code` against the codes sent by `channel: email|sms`; denies `code-required` / `invalid-code` / `code-expired`",
    makes_available: "`methods += email_otp` or `sms_otp`, aal1",
    config: &[required(
        "channel",
        ConfigKind::OneOf(Channel::NAMES),
        "Where the code was sent: `email` or `sms`.",
    )],
    requires: &[Fact::UserLoaded],
    provides: &[Fact::FirstFactor],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OneTimeCode {
    pub channel: Channel,
}

fn lower(cx: &Lowering) -> Result<Op, String> {
    let text = cx.text("channel");
    let channel = Channel::parse(&text).ok_or_else(|| format!("`{text}` is not a channel"))?;
    Ok(Op::one_time_code(OneTimeCode { channel }))
}

impl Native for OneTimeCode {
    fn run(&self, cx: &mut Execution) -> Step {
        let Some(user) = cx.state.user else {
            return Step::Deny("invalid-code".into());
        };
        let (address, missing, method) = match self.channel {
            Channel::Email => (&user.email, "no-email", "email_otp"),
            Channel::Sms => (&user.phone, "no-phone", "sms_otp"),
        };
        if address.is_empty() {
            return Step::Deny(missing.into());
        }
        let Some(given) = cx.sim.credentials.code.as_deref() else {
            return Step::Deny("code-required".into());
        };
        let given = given.trim().as_bytes();
        let mut expired = false;
        for sent in user.sent_codes.iter().filter(|c| c.channel == self.channel) {
            if !crypto::constant_time_eq(sent.code.as_bytes(), given) {
                continue;
            }
            let expires = match sent.expires_at.as_deref() {
                None => None,
                Some(text) => match crate::run::event::parse_rfc3339(text) {
                    Some(at) => Some(at),
                    None => {
                        return Step::Fail(directory_failure(format!(
                            "the user's one-time code expiry `{text}` is not an RFC 3339 timestamp"
                        )));
                    }
                },
            };
            if expires.is_some_and(|at| cx.sim.now >= at) {
                expired = true;
                continue;
            }
            cx.state.add_method(method, "aal1");
            return Step::Continue;
        }
        Step::Deny(
            if expired {
                "code-expired"
            } else {
                "invalid-code"
            }
            .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_choice_is_a_channel() {
        for name in Channel::NAMES {
            assert!(Channel::parse(name).is_some(), "{name}");
        }
    }
}
