//! The block catalogue: every built-in block type, its config keys, what it needs before it
//! and what it makes available after it.
//!
//! The graph builder, the checks, the compiler, the runtime docs and `authflow schema` read
//! this table; none of them hard-codes a block type's behaviour facts.

use serde::Serialize;

/// Something a block establishes for every block after it on the same path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    /// `event.user` is populated.
    UserLoaded,
    /// A first factor passed: `authentication.aal` is at least aal1.
    FirstFactor,
    /// A second factor passed: aal2.
    SecondFactor,
    /// `authentication.risk_score` holds a computed score.
    RiskEvaluated,
}

impl Fact {
    pub fn describe(self) -> &'static str {
        match self {
            Fact::UserLoaded => "an Identity Lookup block",
            Fact::FirstFactor => "a first factor (Password Check)",
            Fact::SecondFactor => "a second factor (MFA)",
            Fact::RiskEvaluated => "a Risk Evaluate block",
        }
    }
}

/// How a block ends a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Control continues with the next block.
    Continues,
    /// The run ends here, denied.
    Deny,
    /// The run ends here, allowed: a session is issued.
    Allow,
    /// Control jumps to the block named by `to` (or falls through when the guard is false).
    Jump,
}

/// What a config value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    /// A string that may hold `{{ event.* }}` / `{{ step.* }}` templates.
    Template,
    /// A plain string.
    String,
    /// A number.
    Number,
    /// The id of a block later in the flow.
    BlockRef,
    /// The slug of a custom action in the workspace.
    ActionRef,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
}

#[derive(Debug, Serialize)]
pub struct ConfigKey {
    pub name: &'static str,
    pub kind: ConfigKind,
    pub required: bool,
    pub doc: &'static str,
}

/// One block type.
#[derive(Debug, Serialize)]
pub struct BlockType {
    /// The name written in flow files.
    pub name: &'static str,
    /// The name the console shows.
    pub title: &'static str,
    pub doc: &'static str,
    pub config: &'static [ConfigKey],
    /// Facts that must hold on every path reaching the block.
    pub requires: &'static [Fact],
    /// Facts that hold after the block completes.
    pub provides: &'static [Fact],
    pub ending: Ending,
    /// Whether the block can fail (and so honours `on_error`).
    pub can_fail: bool,
}

const fn key(name: &'static str, kind: ConfigKind, required: bool, doc: &'static str) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        required,
        doc,
    }
}

use ConfigKind::*;
use Fact::*;

pub static BLOCK_TYPES: &[BlockType] = &[
    BlockType {
        name: "identity_lookup",
        title: "Identity Lookup",
        doc: "Finds the user named by the login identifier (credentials.identifier) in the user directory and fills event.user. Denies with `user-not-found` when there is none.",
        config: &[],
        requires: &[],
        provides: &[UserLoaded],
        ending: Ending::Continues,
        can_fail: false,
    },
    BlockType {
        name: "password_check",
        title: "Password Check",
        doc: "Verifies credentials.password against the user's password hash (argon2 PHC string). Adds \"password\" to authentication.methods and raises aal to aal1; denies with `invalid-credentials` otherwise.",
        config: &[],
        requires: &[UserLoaded],
        provides: &[FirstFactor],
        ending: Ending::Continues,
        can_fail: false,
    },
    BlockType {
        name: "mfa",
        title: "MFA",
        doc: "Verifies credentials.otp as a TOTP code (RFC 6238, SHA-1, 6 digits, 30 s, one step of drift) against the user's enrolled secret. Adds \"totp\" to authentication.methods and raises aal to aal2; denies with `mfa-required` or `invalid-otp`. With `if_not_enrolled: skip`, users without a TOTP factor pass through unchanged.",
        config: &[key(
            "if_not_enrolled",
            OneOf(&["deny", "skip"]),
            false,
            "What to do for a user with no TOTP factor (default deny).",
        )],
        requires: &[UserLoaded, FirstFactor],
        provides: &[SecondFactor],
        ending: Ending::Continues,
        can_fail: false,
    },
    BlockType {
        name: "risk_evaluate",
        title: "Risk Evaluate",
        doc: "Computes authentication.risk_score (0-100) from the request signals: Tor +60, VPN +25, datacenter +20, bot +30, bogon +15, low fingerprint confidence up to +15; capped at 100. With `deny_above`, denies with `risk-too-high` when the score is higher.",
        config: &[key(
            "deny_above",
            Number,
            false,
            "Deny when the score is strictly above this (0-100).",
        )],
        requires: &[],
        provides: &[RiskEvaluated],
        ending: Ending::Continues,
        can_fail: false,
    },
    BlockType {
        name: "run_action",
        title: "Run Custom Action",
        doc: "Runs a custom action's `exports.handler`. Its state writes become step.<slug>.<key>; it may deny, set app metadata and custom claims. A disabled action is skipped.",
        config: &[key(
            "action",
            ActionRef,
            true,
            "The action's slug (file name under actions/).",
        )],
        requires: &[],
        provides: &[],
        ending: Ending::Continues,
        can_fail: true,
    },
    BlockType {
        name: "set_claim",
        title: "Set Custom Claim",
        doc: "Adds a custom claim to the session that Issue Session will sign.",
        config: &[
            key("name", String, true, "The claim name."),
            key(
                "value",
                Template,
                true,
                "The claim value; templates are filled in.",
            ),
        ],
        requires: &[],
        provides: &[],
        ending: Ending::Continues,
        can_fail: false,
    },
    BlockType {
        name: "log",
        title: "Log",
        doc: "Writes a log line to the trace.",
        config: &[
            key(
                "level",
                OneOf(&["debug", "info", "warn", "error"]),
                false,
                "The level (default info).",
            ),
            key(
                "message",
                Template,
                true,
                "The message; templates are filled in.",
            ),
        ],
        requires: &[],
        provides: &[],
        ending: Ending::Continues,
        can_fail: false,
    },
    BlockType {
        name: "branch",
        title: "Branch",
        doc: "Jumps forward to the block named by `to` when its `when` condition holds (always, without one); otherwise control falls through to the next block.",
        config: &[key("to", BlockRef, true, "The id of a later block.")],
        requires: &[],
        provides: &[],
        ending: Ending::Jump,
        can_fail: false,
    },
    BlockType {
        name: "deny",
        title: "Deny",
        doc: "Ends the run, denied, with a reason. Guard it with `when` to deny only some logins.",
        config: &[key(
            "reason",
            Template,
            true,
            "The deny reason returned to the client; templates are filled in.",
        )],
        requires: &[],
        provides: &[],
        ending: Ending::Deny,
        can_fail: false,
    },
    BlockType {
        name: "issue_session",
        title: "Issue Session",
        doc: "Ends the run, allowed: issues a signed session JWT (HS256) carrying sub, aal, amr and the custom claims.",
        config: &[
            key(
                "ttl_seconds",
                Number,
                false,
                "Token lifetime (default 3600).",
            ),
            key(
                "audience",
                String,
                false,
                "The `aud` claim (default: event.client.id).",
            ),
        ],
        requires: &[UserLoaded, FirstFactor],
        provides: &[],
        ending: Ending::Allow,
        can_fail: false,
    },
];

/// The block type named `name`.
pub fn block_type(name: &str) -> Option<&'static BlockType> {
    BLOCK_TYPES.iter().find(|b| b.name == name)
}

/// The closest block type name to an unknown one, matching console titles too
/// (`Identity Lookup` -> `identity_lookup`).
pub fn suggest(name: &str) -> Option<&'static str> {
    let normalized = name.trim().to_lowercase().replace([' ', '-'], "_");
    if let Some(b) = block_type(&normalized) {
        return Some(b.name);
    }
    super::closest(&normalized, BLOCK_TYPES.iter().map(|b| b.name))
}

/// What a block does when it fails, unless it says otherwise.
pub const DEFAULT_ON_ERROR: &str = "deny";
pub const ON_ERROR_CHOICES: &[&str] = &["deny", "continue"];
