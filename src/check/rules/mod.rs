//! The rules, one file each and one code each, and the table that runs and documents them.
//!
//! A row holds a rule's code, its documentation (what it does, why it matters, and its
//! example, which is the rule's failing fixture under tests/fixtures/check/ together with the
//! output snapshot authflow prints for it) and its passes: over a flow (`Context`) and over
//! the workspace's actions and modules (`WorkspaceContext`). A rule's file is named after its
//! code's name (`duplicate-block-id` -> `duplicate_block_id.rs`) and emits that code only; a
//! tidy test checks both. `docs/checks.md` is generated from this table.

/// A rule's example: its failing fixture, included at build time so that the documentation
/// shows exactly what the tests check, and the output authflow prints for it (the fixture's
/// insta snapshot).
macro_rules! example {
    ($fixture:literal) => {
        example!($fixture, [""])
    };
    ($fixture:literal, [$($file:literal),+ $(,)?]) => {
        $crate::check::rules::Example {
            fixture: $fixture,
            files: &[$($crate::check::rules::ExampleFile {
                path: $file,
                text: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/check/",
                    $fixture,
                    $file
                )),
            }),+],
            snapshot: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/snapshots/checks__check_fixtures_match_snapshots@",
                $fixture,
                ".snap"
            )),
        }
    };
}

pub mod action_syntax;
pub mod api_not_allowed_in_trigger;
pub mod block_order;
pub mod condition_syntax;
pub mod condition_type;
pub mod cycle;
pub mod disabled_action;
pub mod duplicate_block_id;
pub mod event_field_not_carried;
pub mod fetch_not_allowed;
pub mod field_not_available;
pub mod invalid_config;
pub mod missing_module_pin;
pub mod npm_dependency;
pub mod path_without_end;
pub mod risk_score_before_evaluate;
pub mod step_output_not_written;
pub mod stream_binding;
pub mod template_syntax;
pub mod undeclared_secret;
pub mod unknown_action;
pub mod unknown_action_version;
pub mod unknown_block_type;
pub mod unknown_branch_target;
pub mod unknown_event_type;
pub mod unknown_field;
pub mod unknown_log_level;
pub mod unpinned_draft_action;
pub mod unreachable_block;

use super::{Context, Sink, WorkspaceContext};
use crate::diagnostic::Code;

/// A rule's documentation.
pub struct RuleDoc {
    pub what: &'static str,
    pub why: &'static str,
    pub example: Example,
}

/// A failing fixture: a flow file, or a workspace directory of which `files` are shown.
pub struct Example {
    /// The fixture's name under tests/fixtures/check/.
    pub fixture: &'static str,
    /// The files shown, by path inside the fixture (empty for a single-file fixture).
    pub files: &'static [ExampleFile],
    /// The fixture's insta snapshot: a header, then what `authflow check` prints.
    pub snapshot: &'static str,
}

pub struct ExampleFile {
    pub path: &'static str,
    pub text: &'static str,
}

impl Example {
    /// What `authflow check` prints for the fixture (the snapshot without its header).
    pub fn output(&self) -> &'static str {
        self.snapshot
            .splitn(3, "---\n")
            .nth(2)
            .unwrap_or(self.snapshot)
    }

    /// The example as Markdown: each file in a fenced block, then the output.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for file in self.files {
            let language = match file.path.rsplit_once('.').map(|(_, ext)| ext) {
                Some("js") => "js",
                Some("flow") => "text",
                _ if self.fixture.ends_with(".flow") => "text",
                _ => "yaml",
            };
            out.push_str(&format!(
                "`tests/fixtures/check/{}{}`:\n\n```{language}\n{}\n```\n\n",
                self.fixture,
                file.path,
                file.text.trim_end()
            ));
        }
        out.push_str(&format!(
            "`authflow check` reports:\n\n```text\n{}\n```\n",
            self.output().trim_end()
        ));
        out
    }
}

impl std::fmt::Display for Example {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for file in self.files {
            writeln!(f, "# tests/fixtures/check/{}{}", self.fixture, file.path)?;
            writeln!(f, "{}\n", file.text.trim_end())?;
        }
        write!(f, "authflow check reports:\n\n{}", self.output().trim_end())
    }
}

/// A pass over one flow.
pub type FlowPass = fn(&Context, &mut Sink);
/// A pass over the workspace's actions and modules.
pub type WorkspacePass = fn(&WorkspaceContext, &mut Sink);

/// One rule: one code, its documentation, and the passes that report it.
pub struct Rule {
    pub code: Code,
    pub doc: RuleDoc,
    pub flow: Option<FlowPass>,
    pub workspace: Option<WorkspacePass>,
}

impl Rule {
    /// The rule's name: its code's name (`duplicate-block-id`).
    pub fn name(&self) -> &'static str {
        self.code.info().name
    }
}

const fn flow(code: Code, doc: RuleDoc, pass: FlowPass) -> Rule {
    Rule {
        code,
        doc,
        flow: Some(pass),
        workspace: None,
    }
}

const fn workspace(code: Code, doc: RuleDoc, pass: WorkspacePass) -> Rule {
    Rule {
        code,
        doc,
        flow: None,
        workspace: Some(pass),
    }
}

pub static RULES: &[Rule] = &[
    flow(
        Code::DuplicateBlockId,
        duplicate_block_id::DOC,
        duplicate_block_id::run,
    ),
    flow(
        Code::UnknownBlockType,
        unknown_block_type::DOC,
        unknown_block_type::run,
    ),
    flow(
        Code::UnknownBranchTarget,
        unknown_branch_target::DOC,
        unknown_branch_target::run,
    ),
    flow(
        Code::InvalidConfig,
        invalid_config::DOC,
        invalid_config::run,
    ),
    flow(Code::Cycle, cycle::DOC, cycle::run),
    flow(
        Code::UnreachableBlock,
        unreachable_block::DOC,
        unreachable_block::run,
    ),
    flow(
        Code::PathWithoutEnd,
        path_without_end::DOC,
        path_without_end::run,
    ),
    flow(Code::BlockOrder, block_order::DOC, block_order::run),
    flow(
        Code::FieldNotAvailable,
        field_not_available::DOC,
        field_not_available::run,
    ),
    flow(
        Code::RiskScoreBeforeEvaluate,
        risk_score_before_evaluate::DOC,
        risk_score_before_evaluate::run,
    ),
    flow(
        Code::StepOutputNotWritten,
        step_output_not_written::DOC,
        step_output_not_written::run,
    ),
    flow(Code::UnknownField, unknown_field::DOC, unknown_field::run),
    flow(
        Code::ConditionSyntax,
        condition_syntax::DOC,
        condition_syntax::run,
    ),
    flow(
        Code::ConditionType,
        condition_type::DOC,
        condition_type::run,
    ),
    flow(
        Code::TemplateSyntax,
        template_syntax::DOC,
        template_syntax::run,
    ),
    flow(
        Code::UnknownAction,
        unknown_action::DOC,
        unknown_action::run,
    ),
    workspace(
        Code::NpmDependency,
        npm_dependency::DOC,
        npm_dependency::run,
    ),
    flow(
        Code::UnknownActionVersion,
        unknown_action_version::DOC,
        unknown_action_version::run,
    ),
    flow(
        Code::UnpinnedDraftAction,
        unpinned_draft_action::DOC,
        unpinned_draft_action::run,
    ),
    Rule {
        code: Code::DisabledAction,
        doc: disabled_action::DOC,
        flow: Some(disabled_action::run),
        workspace: Some(disabled_action::run_in_streams),
    },
    workspace(
        Code::MissingModulePin,
        missing_module_pin::DOC,
        missing_module_pin::run,
    ),
    workspace(
        Code::UndeclaredSecret,
        undeclared_secret::DOC,
        undeclared_secret::run,
    ),
    workspace(
        Code::FetchNotAllowed,
        fetch_not_allowed::DOC,
        fetch_not_allowed::run,
    ),
    Rule {
        code: Code::ApiNotAllowedInTrigger,
        doc: api_not_allowed_in_trigger::DOC,
        flow: Some(api_not_allowed_in_trigger::run_in_flow),
        workspace: Some(api_not_allowed_in_trigger::run),
    },
    workspace(Code::ActionSyntax, action_syntax::DOC, action_syntax::run),
    workspace(
        Code::UnknownLogLevel,
        unknown_log_level::DOC,
        unknown_log_level::run,
    ),
    workspace(
        Code::UnknownEventType,
        unknown_event_type::DOC,
        unknown_event_type::run,
    ),
    workspace(
        Code::StreamBinding,
        stream_binding::DOC,
        stream_binding::run,
    ),
    workspace(
        Code::EventFieldNotCarried,
        event_field_not_carried::DOC,
        event_field_not_carried::run,
    ),
];

/// The rule that reports `code`, if a rule does (parse and load errors have none).
pub fn rule(code: Code) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

/// The Markdown page of every check, generated from `RULES` and the code table.
pub fn docs_markdown() -> String {
    let mut out =
        String::from("# Checks\n\nGenerated by `authflow explain --all`; do not edit by hand.\n\n");
    out.push_str("| code | name | default severity | summary |\n|---|---|---|---|\n");
    for code in Code::ALL {
        let info = code.info();
        out.push_str(&format!(
            "| {} | {} | {:?} | {} |\n",
            code.as_str(),
            info.name,
            info.severity,
            info.summary
        ));
    }
    for rule in RULES {
        out.push_str(&format!(
            "\n## {} ({})\n\n**What it does.** {}\n\n**Why it matters.** {}\n\n**Example.** {}",
            rule.name(),
            rule.code.as_str(),
            rule.doc.what,
            rule.doc.why,
            rule.doc.example.markdown()
        ));
    }
    out
}
