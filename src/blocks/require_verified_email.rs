//! Require Verified Email: denies users who have not verified their email address.

use super::{BlockType, Execution, Fact, Lowering, Native, Op, Step};
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "require_verified_email",
    title: "Require Verified Email",
    doc: "Denies with `email-not-verified` when the looked-up user has not verified their email address (event.user.email_verified is false), as identity platforms offer before a session is issued or an email is trusted.",
    summary: "denies `email-not-verified` unless `event.user.email_verified`",
    requires: &[Fact::UserLoaded],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RequireVerifiedEmail {}

fn lower(_: &Lowering) -> Result<Op, String> {
    Ok(Op::require_verified_email(RequireVerifiedEmail {}))
}

impl Native for RequireVerifiedEmail {
    fn run(&self, cx: &mut Execution) -> Step {
        match cx.state.user {
            Some(user) if user.email_verified => Step::Continue,
            _ => Step::Deny("email-not-verified".into()),
        }
    }
}
