//! Password Check: verifies the login password against the user's argon2 hash.

use super::{BlockType, Execution, Fact, Lowering, Native, Op, Step, directory_failure};
use crate::run::crypto;
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "password_check",
    title: "Password Check",
    doc: "Verifies credentials.password against the user's password hash (argon2 PHC string). Adds \"password\" to authentication.methods and raises aal to aal1; denies with `invalid-credentials` otherwise.",
    summary: "verifies `credentials.password` (argon2 PHC); denies `invalid-credentials`",
    makes_available: "`methods += password`, aal1",
    requires: &[Fact::UserLoaded],
    provides: &[Fact::FirstFactor],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PasswordCheck {}

fn lower(_: &Lowering) -> Result<Op, String> {
    Ok(Op::password_check(PasswordCheck {}))
}

impl Native for PasswordCheck {
    fn run(&self, cx: &mut Execution) -> Step {
        let (Some(user), Some(password)) = (cx.state.user, cx.sim.credentials.password.as_deref())
        else {
            return Step::Deny("invalid-credentials".into());
        };
        let Some(hash) = user.password_hash.as_deref() else {
            return Step::Deny("invalid-credentials".into());
        };
        let verified = match cx.passwords {
            Some(memo) => memo.verify(password, hash),
            None => crypto::verify_password(password, hash),
        };
        match verified {
            Ok(true) => {
                cx.state.add_method("password", "aal1");
                Step::Continue
            }
            Ok(false) => Step::Deny("invalid-credentials".into()),
            Err(message) => Step::Fail(directory_failure(message)),
        }
    }
}
