//! The built-in blocks: the block catalogue as one table whose rows live one per file.
//!
//! Each `blocks/<type>.rs` holds everything about one block type, as jaq's native filters
//! keep a name, an arity and an implementation in one entry: its catalogue row (`ROW`: config
//! keys with their types and defaults, facts required and provided, how it ends a path, its
//! docs), its lowering (`lower`, from a checked block to its op) and its execution (its op's
//! `run`). The graph, the checks, the compiler, the simulator, the flow schema, the README's
//! block table and `authflow explain` read this table; none of them names a block type.
//!
//! The `builtins!` list at the bottom is the table. Adding a block is one file and one line
//! there. This module must not know what any one block does; a `match` on block names
//! outside the block files means the row is missing a column.

use crate::compile::{PlannedAction, Template};
use crate::run::directory::{Directory, DirectoryUser};
use crate::run::event::SimEvent;
use crate::run::trace::{BlockTrace, Failure};
use crate::syntax::ast::{Block, ConfigValue, ConfigValueKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

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

    /// The short form the README's block table uses.
    pub fn title(self) -> &'static str {
        match self {
            Fact::UserLoaded => "Identity Lookup",
            Fact::FirstFactor => "a first factor",
            Fact::SecondFactor => "a second factor",
            Fact::RiskEvaluated => "Risk Evaluate",
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
    /// Control jumps to the block named by its block-reference key, or falls through when the
    /// guard is false. For such a block the guard decides the jump: the block always runs.
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

/// The value a config key takes when the block does not set it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ConfigDefault {
    Text(&'static str),
    Number(f64),
}

#[derive(Debug, Serialize)]
pub struct ConfigKey {
    pub name: &'static str,
    pub kind: ConfigKind,
    pub required: bool,
    /// What an unset optional key means to the lowering; `None` when unset is its own case
    /// (Issue Session's `audience` falls back to the client id at run time).
    pub default: Option<ConfigDefault>,
    /// What a value of the right kind must also satisfy (`None`: nothing more). The check
    /// (AF013), the JSON Schema and the docs read it.
    pub rule: Option<ValueRule>,
    pub doc: &'static str,
}

/// A constraint on a config value beyond its kind.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueRule {
    /// A whole number from `min` to `max`, inclusive.
    Integer { min: i64, max: i64 },
    /// Any name but these (reserved names, compared exactly).
    NoneOf(&'static [&'static str]),
}

impl ValueRule {
    /// Why `value` of key `key` breaks the rule, with a help line; `None` when it holds.
    pub fn problem(
        self,
        key: &str,
        value: &ConfigValueKind,
    ) -> Option<(std::string::String, std::string::String)> {
        match (self, value) {
            (ValueRule::Integer { min, max }, ConfigValueKind::Number(n)) => {
                let whole = n.fract() == 0.0 && *n >= min as f64 && *n <= max as f64;
                (!whole).then(|| {
                    (
                        format!("`{key}` must be a whole number from {min} to {max}"),
                        format!("use a whole number from {min} to {max}"),
                    )
                })
            }
            (ValueRule::NoneOf(reserved), ConfigValueKind::String(s)) => {
                reserved.contains(&s.as_str()).then(|| {
                    (
                        format!("`{key}` cannot be `{s}`: the name is reserved"),
                        format!("use a name other than {}", reserved.join(", ")),
                    )
                })
            }
            _ => None,
        }
    }

    /// The rule as the docs say it.
    pub fn describe(self) -> std::string::String {
        match self {
            ValueRule::Integer { min, max } => format!("whole, {min} to {max}"),
            ValueRule::NoneOf(reserved) => format!("not {}", reserved.join(", ")),
        }
    }
}

/// A required config key.
pub const fn required(name: &'static str, kind: ConfigKind, doc: &'static str) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        required: true,
        default: None,
        rule: None,
        doc,
    }
}

/// An optional config key.
pub const fn optional(
    name: &'static str,
    kind: ConfigKind,
    default: Option<ConfigDefault>,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        required: false,
        default,
        rule: None,
        doc,
    }
}

impl ConfigKey {
    /// The key with a constraint on its values.
    pub const fn with_rule(self, rule: ValueRule) -> ConfigKey {
        ConfigKey {
            rule: Some(rule),
            ..self
        }
    }
}

/// One block type: its catalogue row.
#[derive(Debug, Serialize)]
pub struct BlockType {
    /// The name written in flow files.
    pub name: &'static str,
    /// The name the console shows.
    pub title: &'static str,
    pub doc: &'static str,
    /// One line for the README's block table.
    pub summary: &'static str,
    /// What the block makes available after it, for the README's block table.
    pub makes_available: &'static str,
    pub config: &'static [ConfigKey],
    /// Facts that must hold on every path reaching the block.
    pub requires: &'static [Fact],
    /// Facts that hold after the block completes.
    pub provides: &'static [Fact],
    pub ending: Ending,
    /// Whether the block can fail (and so honours `on_error`).
    pub can_fail: bool,
    /// Lowers a checked block of this type to its op.
    #[serde(skip)]
    pub lower: fn(&Lowering) -> Result<Op, String>,
}

impl BlockType {
    /// A row of what rows leave unsaid: no config keys, no facts required or provided,
    /// nothing made available, continues with the next block, cannot fail. A row writes its
    /// names and docs and only the fields where it differs, then `..BlockType::lowered_by(lower)`
    /// (the table asserts at compile time that no row leaves its names or docs empty).
    pub const fn lowered_by(lower: fn(&Lowering) -> Result<Op, String>) -> BlockType {
        BlockType {
            name: "",
            title: "",
            doc: "",
            summary: "",
            makes_available: "",
            config: &[],
            requires: &[],
            provides: &[],
            ending: Ending::Continues,
            can_fail: false,
            lower,
        }
    }

    pub fn key(&self, name: &str) -> Option<&'static ConfigKey> {
        self.config.iter().find(|k| k.name == name)
    }

    /// The key that names a later block (a branch's `to`), if the type has one.
    pub fn block_ref(&self) -> Option<&'static str> {
        self.key_of_kind(ConfigKind::BlockRef)
    }

    /// The key that names a custom action (Run Custom Action's `action`), if the type has one.
    pub fn action_ref(&self) -> Option<&'static str> {
        self.key_of_kind(ConfigKind::ActionRef)
    }

    fn key_of_kind(&self, kind: ConfigKind) -> Option<&'static str> {
        let config: &'static [ConfigKey] = self.config;
        config.iter().find(|k| k.kind == kind).map(|k| k.name)
    }
}

/// The block type named `name`.
pub fn block_type(name: &str) -> Option<&'static BlockType> {
    BLOCKS.iter().copied().find(|b| b.name == name)
}

/// The closest block type name to an unknown one, matching console titles too
/// (`Identity Lookup` -> `identity_lookup`).
pub fn suggest(name: &str) -> Option<&'static str> {
    let normalized = name.trim().to_lowercase().replace([' ', '-'], "_");
    if let Some(b) = block_type(&normalized) {
        return Some(b.name);
    }
    crate::catalog::closest(&normalized, BLOCKS.iter().map(|b| b.name))
}

/// What a block does when it fails, unless it says otherwise.
pub const DEFAULT_ON_ERROR: &str = "deny";
pub const ON_ERROR_CHOICES: &[&str] = &["deny", "continue"];

/// What a block's lowering sees: the checked block, with its config read through its row so
/// that an unset key yields the row's default.
pub struct Lowering<'a> {
    pub ty: &'static BlockType,
    pub block: &'a Block,
    /// The index of the block a jump goes to, when the graph resolved one.
    pub jump_to: Option<usize>,
}

impl Lowering<'_> {
    fn value(&self, key: &str) -> Option<&ConfigValue> {
        self.block.config(key)
    }

    fn default(&self, key: &str) -> Option<ConfigDefault> {
        self.ty.key(key).and_then(|k| k.default)
    }

    /// A string key, or its default, or empty.
    pub fn text(&self, key: &str) -> String {
        match (
            self.value(key).and_then(ConfigValue::as_str),
            self.default(key),
        ) {
            (Some(s), _) => s.to_string(),
            (None, Some(ConfigDefault::Text(d))) => d.to_string(),
            (None, _) => String::new(),
        }
    }

    /// A string key the author set; `None` when unset and without a default.
    pub fn optional_text(&self, key: &str) -> Option<String> {
        match (
            self.value(key).and_then(ConfigValue::as_str),
            self.default(key),
        ) {
            (Some(s), _) => Some(s.to_string()),
            (None, Some(ConfigDefault::Text(d))) => Some(d.to_string()),
            (None, _) => None,
        }
    }

    /// A number key, or its default.
    pub fn number(&self, key: &str) -> Option<f64> {
        match (
            self.value(key).and_then(ConfigValue::as_f64),
            self.default(key),
        ) {
            (Some(n), _) => Some(n),
            (None, Some(ConfigDefault::Number(d))) => Some(d),
            (None, _) => None,
        }
    }

    /// A template key, its `{{ ... }}` references resolved.
    pub fn template(&self, key: &str) -> Template {
        Template::parse(&self.text(key))
    }
}

/// How a block's execution ends.
pub enum Step {
    Continue,
    Jump(usize),
    Deny(String),
    Allow,
    Fail(Failure),
}

/// Mutable state of one run, shared by the blocks in order.
pub struct RunState<'d> {
    /// `{"event": ..., "step": {...}}`: conditions and templates read paths from here.
    pub ctx: Value,
    /// The directory entry Identity Lookup found.
    pub user: Option<&'d DirectoryUser>,
    pub claims: Map<String, Value>,
    pub session_token: Option<String>,
}

impl RunState<'_> {
    /// Records a passed authentication factor: its method, and the level it raises to.
    pub fn add_method(&mut self, method: &str, aal: &str) {
        let auth = &mut self.ctx["event"]["authentication"];
        if let Some(methods) = auth["methods"].as_array_mut() {
            methods.push(json!(method));
        }
        auth["aal"] = json!(aal);
    }
}

/// What a block's execution sees: the simulated event, the directory, the session settings
/// and the plan's actions, read-only; the run's state and the block's trace, to change.
pub struct Execution<'r, 'd> {
    pub sim: &'d SimEvent,
    pub directory: &'d Directory,
    pub session: &'d issue_session::SessionConfig,
    pub actions: &'d BTreeMap<String, PlannedAction>,
    pub runner: &'r dyn run_action::ActionRunner,
    /// The run's memory of verified passwords, when its caller keeps one (the test runner).
    pub passwords: Option<&'d crate::run::crypto::VerifiedPasswords>,
    /// The block's guard, evaluated (`None` without one).
    pub guard: Option<bool>,
    pub state: &'r mut RunState<'d>,
    pub trace: &'r mut BlockTrace,
}

/// A block's op: what the plan stores for it, and what runs.
pub trait Native {
    /// Runs the op once.
    fn run(&self, cx: &mut Execution) -> Step;

    /// The custom action the op runs, for the trace (shown even when the block is skipped).
    fn action(&self) -> Option<&str> {
        None
    }

    /// The index of the block the op jumps to when its guard holds.
    fn jump(&self) -> Option<usize> {
        None
    }
}

/// A failure of the directory's data (a hash or a secret that cannot be read).
pub fn directory_failure(message: impl Into<String>) -> Failure {
    Failure {
        kind: "directory".into(),
        message: message.into(),
        file: None,
        line: None,
        column: None,
    }
}

/// Whether `a` and `b` are the same string, usable in constants.
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The table: each line names a block file and its op type. The op enum's variant is named
/// after the file, so that its serialised tag (`"op": "mfa"`) is the block type's name; a
/// compile-time assertion keeps each file's `ROW.name` equal to its file name.
macro_rules! builtins {
    ($($module:ident :: $op:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// A block resolved to what the runtime does: one variant per built-in.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
        #[serde(tag = "op")]
        pub enum Op {
            $($module($module::$op),)*
        }

        /// Every built-in block type, in catalogue order.
        pub static BLOCKS: &[&BlockType] = &[$(&$module::ROW),*];

        $(const _: () = assert!(
            same_name($module::ROW.name, stringify!($module)),
            concat!("blocks/", stringify!($module), ".rs: ROW.name must be the file's name"),
        );)*

        $(const _: () = assert!(
            !$module::ROW.title.is_empty()
                && !$module::ROW.doc.is_empty()
                && !$module::ROW.summary.is_empty(),
            concat!("blocks/", stringify!($module), ".rs: ROW needs a title, a doc and a summary"),
        );)*

        impl Op {
            /// The catalogue row of the op's block type.
            pub fn block_type(&self) -> &'static BlockType {
                match self {
                    $(Op::$module(_) => &$module::ROW,)*
                }
            }

            fn native(&self) -> &dyn Native {
                match self {
                    $(Op::$module(op) => op,)*
                }
            }
        }
    };
}

impl Op {
    /// Runs the op once.
    pub fn run(&self, cx: &mut Execution) -> Step {
        self.native().run(cx)
    }

    /// The custom action the op runs, if any.
    pub fn action(&self) -> Option<&str> {
        self.native().action()
    }

    /// The block the op jumps to when its guard holds, if it jumps.
    pub fn jump(&self) -> Option<usize> {
        self.native().jump()
    }
}

builtins! {
    identity_lookup::IdentityLookup,
    password_check::PasswordCheck,
    mfa::Mfa,
    risk_evaluate::RiskEvaluate,
    run_action::RunAction,
    set_claim::SetClaim,
    log::Log,
    branch::Branch,
    deny::Deny,
    issue_session::IssueSession,
    require_verified_email::RequireVerifiedEmail,
    one_time_code::OneTimeCode,
}

/// The README's block table, generated from the rows; a test keeps the README current.
pub fn readme_table() -> String {
    let mut out = String::from(
        "| type | what it does | needs before it | makes available |\n|---|---|---|---|\n",
    );
    for ty in BLOCKS {
        let needs: Vec<&str> = ty.requires.iter().map(|f| f.title()).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            ty.name,
            ty.summary,
            needs.join(", "),
            ty.makes_available
        ));
    }
    out
}

impl ConfigKind {
    /// What the value must be, as the docs say it.
    pub fn describe(self) -> std::string::String {
        match self {
            ConfigKind::Template => "string (template)".into(),
            ConfigKind::String => "string".into(),
            ConfigKind::Number => "number".into(),
            ConfigKind::BlockRef => "id of a later block".into(),
            ConfigKind::ActionRef => "action slug".into(),
            ConfigKind::OneOf(choices) => format!("one of {}", choices.join(", ")),
        }
    }
}

impl Ending {
    fn describe(self) -> &'static str {
        match self {
            Ending::Continues => "continues with the next block",
            Ending::Deny => {
                "ends the run, denied (a guarded one falls through when its guard is false)"
            }
            Ending::Allow => {
                "ends the run, allowed (a guarded one falls through when its guard is false)"
            }
            Ending::Jump => "jumps forward, or falls through when its guard is false",
        }
    }
}

/// The reference page of every built-in block (`docs/blocks.md`), generated from the rows; a
/// test keeps the page current.
pub fn docs_markdown() -> std::string::String {
    let mut out = std::string::String::from(
        "# Blocks\n\nGenerated from the block catalogue (`src/blocks/`); do not edit by hand.\n",
    );
    for ty in BLOCKS {
        out.push_str(&format!(
            "\n## {} (`{}`)\n\n{}\n\n",
            ty.title, ty.name, ty.doc
        ));
        let facts = |facts: &[Fact]| -> std::string::String {
            if facts.is_empty() {
                "nothing".into()
            } else {
                facts
                    .iter()
                    .map(|f| f.title())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        out.push_str(&format!("- Needs before it: {}.\n", facts(ty.requires)));
        let available = match ty.makes_available {
            "" => "nothing",
            text => text,
        };
        out.push_str(&format!("- Makes available: {available}.\n"));
        out.push_str(&format!("- Path: {}.\n", ty.ending.describe()));
        out.push_str(if ty.can_fail {
            "- Can fail: `on_error: deny` (the default) or `continue`.\n"
        } else {
            "- Cannot fail: `on_error` has no effect.\n"
        });
        if ty.config.is_empty() {
            out.push_str("\nNo config.\n");
            continue;
        }
        out.push_str("\n| key | type | required | default | meaning |\n|---|---|---|---|---|\n");
        for key in ty.config {
            let default = match key.default {
                Some(ConfigDefault::Text(t)) => format!("`{t}`"),
                Some(ConfigDefault::Number(n)) => format!("`{n}`"),
                None => std::string::String::new(),
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                key.name,
                match key.rule {
                    Some(rule) => format!("{} ({})", key.kind.describe(), rule.describe()),
                    None => key.kind.describe(),
                },
                if key.required { "yes" } else { "no" },
                default,
                key.doc
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_lowers_with_its_defaults() {
        use crate::syntax::ast::{ConfigEntry, ConfigValueKind, Spanned};
        // A block that sets only its required keys lowers for every type, and the op's tag
        // is the row's name.
        for ty in BLOCKS {
            let config = ty
                .config
                .iter()
                .filter(|k| k.required)
                .map(|k| ConfigEntry {
                    key: Spanned::new(k.name.into(), Default::default()),
                    value: ConfigValue {
                        kind: match k.kind {
                            ConfigKind::Number => ConfigValueKind::Number(1.0),
                            ConfigKind::OneOf(choices) => {
                                ConfigValueKind::String(choices[0].into())
                            }
                            _ => ConfigValueKind::String("x".into()),
                        },
                        span: Default::default(),
                    },
                })
                .collect();
            let block = Block {
                id: Spanned::new("b".into(), Default::default()),
                kind: Spanned::new(ty.name.into(), Default::default()),
                when: None,
                on_error: None,
                config,
                span: Default::default(),
            };
            let lowering = Lowering {
                ty,
                block: &block,
                jump_to: Some(0),
            };
            let op = (ty.lower)(&lowering).unwrap();
            assert_eq!(op.block_type().name, ty.name);
            assert_eq!(serde_json::to_value(&op).unwrap()["op"], ty.name);
        }
    }
}
