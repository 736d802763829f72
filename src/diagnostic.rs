//! Diagnostics: the one currency every phase reports problems in, and the table of codes.
//!
//! A phase produces `Diagnostic`s against a `FileId`; rendering (human, JSON, SARIF) lives in
//! `cli::render` and never changes what a diagnostic says.

use crate::span::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// Index of a file in `source::Sources`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FileId(pub u32);

/// One problem, at one place, with a fix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: FileId,
    pub span: Span,
    /// Text shown at the span; defaults to nothing beyond the message.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Other places that explain this one (the earlier duplicate, the block that writes...).
    pub related: Vec<Related>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Related {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at the code's default severity.
    pub fn new(code: Code, file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.info().severity,
            message: message.into(),
            file,
            span,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    pub fn related(mut self, file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        self.related.push(Related {
            file,
            span,
            message: message.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Static facts about one code: its stable name, default severity and one-line summary.
pub struct CodeInfo {
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $name:literal, $sev:ident, $summary:literal;)*) => {
        /// Stable diagnostic codes. A code is never reused for a different problem.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// `AF030`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            pub fn info(self) -> CodeInfo {
                match self {
                    $(Code::$variant => CodeInfo { name: $name, severity: Severity::$sev, summary: $summary }),*
                }
            }
        }
    };
}

codes! {
    YamlSyntax = "AF001", "yaml-syntax", Error, "The YAML file is not well-formed or does not have the expected shape.";
    DslSyntax = "AF002", "dsl-syntax", Error, "The flow DSL file does not follow grammar/flow.pest.";
    UnknownKey = "AF003", "unknown-key", Error, "A key that the file format does not define.";
    InvalidValue = "AF004", "invalid-value", Error, "A value of the wrong type, or a required key that is missing.";
    DuplicateBlockId = "AF010", "duplicate-block-id", Error, "Two blocks in one flow share an id.";
    UnknownBlockType = "AF011", "unknown-block-type", Error, "A block type that is not in the block catalogue.";
    UnknownBranchTarget = "AF012", "unknown-branch-target", Error, "A branch jumps to a block id that does not exist.";
    InvalidConfig = "AF013", "invalid-config", Error, "A block's config misses a required key, has an unknown key, or a value of the wrong type.";
    Cycle = "AF020", "cycle", Error, "Branches form a loop: a login flow must be acyclic.";
    UnreachableBlock = "AF021", "unreachable-block", Warning, "No path from the start of the flow reaches this block.";
    PathWithoutEnd = "AF022", "path-without-end", Error, "A path through the flow ends neither in Issue Session nor in Deny.";
    BlockOrder = "AF023", "block-order", Error, "A built-in block runs before a block it depends on, on some path.";
    FieldNotAvailable = "AF030", "field-not-available", Error, "An event field is read before the block that populates it, on some path.";
    RiskScoreBeforeEvaluate = "AF031", "risk-score-before-evaluate", Warning, "`event.authentication.risk_score` is read before Risk Evaluate ran; it reads 0.";
    StepOutputNotWritten = "AF032", "step-output-not-written", Error, "`step.<slug>.<key>` is read where no upstream action writes it on every path.";
    UnknownField = "AF033", "unknown-field", Error, "A path under `event` or `step` that does not exist.";
    ConditionSyntax = "AF034", "condition-syntax", Error, "A condition does not parse.";
    ConditionType = "AF035", "condition-type", Error, "A condition compares or combines values of incompatible types.";
    TemplateSyntax = "AF036", "template-syntax", Error, "A `{{ ... }}` template in a config value is malformed.";
    UnknownAction = "AF040", "unknown-action", Error, "A Run Custom Action block names an action the workspace does not have.";
    DisabledAction = "AF041", "disabled-action", Warning, "A Run Custom Action block names a disabled action: it is silently skipped at run time.";
    MissingModulePin = "AF042", "missing-module-pin", Error, "An action requires an action module it does not pin to a published version.";
    UndeclaredSecret = "AF043", "undeclared-secret", Error, "An action or module reads a secret its metadata does not declare.";
    FetchNotAllowed = "AF044", "fetch-not-allowed", Error, "`fetch` or `api.fetch` to a literal URL outside the tenant's allowlist.";
    ApiNotAllowedInTrigger = "AF045", "api-not-allowed-in-trigger", Error, "An api call that the action's trigger does not offer (event-stream actions cannot deny).";
    ActionSyntax = "AF046", "action-syntax", Error, "An action's JavaScript does not parse, or exports no handler for its trigger.";
    UnknownLogLevel = "AF047", "unknown-log-level", Warning, "`api.log` with a level other than debug, info, warn or error.";
    InvalidWorkspace = "AF050", "invalid-workspace", Error, "authflow.yaml, an action's metadata, or a module is inconsistent.";
    UnreadableFile = "AF051", "unreadable-file", Error, "A workspace file that authflow refuses to read: a symbolic link leaving the workspace, not a regular file, over the size limit, or not UTF-8.";
    InvalidUser = "AF052", "invalid-user", Error, "A user in the directory whose password hash or TOTP secret authflow cannot verify, or whose id is taken.";
    UnknownTestTarget = "AF060", "unknown-test-target", Error, "A test names a flow, action, block, state key or event preset that does not exist.";
    UnknownEventType = "AF090", "unknown-event-type", Error, "A stream or an event-stream action names an event type that is not in the event-type catalogue.";
    StreamBinding = "AF091", "stream-binding", Error, "A stream binds an action that does not exist, is a login action, or does not handle the stream's event types.";
    EventFieldNotCarried = "AF092", "event-field-not-carried", Error, "An event-stream action reads a field its event types do not carry (event.user without a user, event.request, an unknown message member).";
    DuplicateFlowName = "AF070", "duplicate-flow-name", Error, "Two flow files declare the same flow name; releases version flows by name.";
    PublishedModuleChanged = "AF071", "published-module-changed", Error, "A module version file changed after a release published it.";
    InvalidLock = "AF072", "invalid-lock", Error, "authflow.lock is malformed or inconsistent.";
    UnknownActionVersion = "AF073", "unknown-action-version", Error, "A flow pins an action version (`log-user@3`) that authflow.lock does not have or that cannot be read back.";
    UnpinnedDraftAction = "AF074", "unpinned-draft-action", Warning, "A flow runs an unpinned action whose working tree differs from its last published version.";
    NpmDependency = "AF075", "npm-dependency", Error, "A module's npm dependency is not an exact version, is not vendored under vendor/npm/, is not the package it claims, or requires a Node built-in or an undeclared package.";
    UnknownVar = "AF080", "unknown-var", Error, "A `${{ vars.NAME }}` or `${{ clients.NAME }}` reference that the selected environment (and authflow.yaml) does not define, or that is malformed.";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Code;
    use std::collections::BTreeMap;

    #[test]
    fn every_code_and_name_belongs_to_one_problem() {
        let mut codes = BTreeMap::new();
        let mut names = BTreeMap::new();
        for &code in Code::ALL {
            if let Some(other) = codes.insert(code.as_str(), code) {
                panic!("{} is both {other:?} and {code:?}", code.as_str());
            }
            if let Some(other) = names.insert(code.info().name, code) {
                panic!("`{}` names both {other:?} and {code:?}", code.info().name);
            }
        }
        assert!(codes.len() > 30, "the table lists {} codes", codes.len());
    }
}
