//! Identity Lookup: finds the login identifier in the user directory and fills `event.user`.

use super::{BlockType, Execution, Fact, Lowering, Native, Op, Step};
use crate::run::directory::Directory;
use serde::{Deserialize, Serialize};

pub static ROW: BlockType = BlockType {
    name: "identity_lookup",
    title: "Identity Lookup",
    doc: "Finds the user named by the login identifier (credentials.identifier) in the user directory and fills event.user. Denies with `user-not-found` when there is none.",
    summary: "finds `credentials.identifier` in the directory; denies `user-not-found`",
    makes_available: "`event.user`",
    provides: &[Fact::UserLoaded],
    ..BlockType::lowered_by(lower)
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IdentityLookup {}

fn lower(_: &Lowering) -> Result<Op, String> {
    Ok(Op::identity_lookup(IdentityLookup {}))
}

impl Native for IdentityLookup {
    fn run(&self, cx: &mut Execution) -> Step {
        let Some(identifier) = cx.sim.credentials.identifier.as_deref() else {
            return Step::Deny("user-not-found".into());
        };
        // The event file's own users come first, then the workspace's directory.
        let found = Directory::find_in(&cx.sim.directory, identifier)
            .or_else(|| cx.directory.find(identifier));
        match found {
            Some(user) => {
                cx.state.user = Some(user);
                cx.state.ctx["event"]["user"] = user.public();
                Step::Continue
            }
            None => Step::Deny("user-not-found".into()),
        }
    }
}
