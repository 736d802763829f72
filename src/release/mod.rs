//! Releases: the lock file, content snapshots, signed bundles, and reading a release back
//! from git or from its bundle.
//!
//! `authflow publish` is the gate (every check, then the workspace's tests) in front of
//! `publish::prepare`, which versions every item whose content changed and records a release
//! in `authflow.lock`; `bundle` writes and verifies the signed file of a release; `published`
//! materialises a release as a workspace for `run --published`. This module never decides
//! whether a flow is correct (the checks do) and never runs one (the simulator does).
//!
//! **Invariant:** a release is recorded only for a workspace that passed every error-level
//! check, and only together with its signed bundle; on any error nothing is written.

pub mod bundle;
pub mod check;
pub mod keys;
pub mod lock;
pub mod npm;
pub mod pins;
pub mod publish;
pub mod published;
pub mod snapshot;

pub use lock::{ItemKey, ItemKind, LOCK_FILE, Lock};
pub use snapshot::Snapshot;
