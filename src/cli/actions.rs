//! Choosing the `ActionRunner` for a run: the JavaScript engine when this build has one.

use super::simulate::{CommandError, Compiled};
use crate::run::{ActionRunner, NoActions};

/// The runner for a compiled flow's custom actions.
pub fn runner_for(_compiled: &Compiled) -> Result<Box<dyn ActionRunner>, CommandError> {
    Ok(Box::new(NoActions(
        "the JavaScript engine is not part of this build yet".into(),
    )))
}
