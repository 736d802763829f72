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
        RuleDoc {
            what: "Reports a block whose id an earlier block of the same flow already uses.",
            why: "Branches, traces and `step` outputs name blocks by id; with two blocks of one id a branch could land on either and a trace could not say which ran.",
            example: example!("af010-duplicate-id.yaml"),
        },
        duplicate_block_id::run,
    ),
    flow(
        Code::UnknownBlockType,
        RuleDoc {
            what: "Reports block types missing from the block catalogue, with the closest name (console titles such as `Identity Lookup` are recognised).",
            why: "The console only offers valid blocks; in files a typo would otherwise surface as a failed login after publish.",
            example: example!("af011-unknown-block-type.yaml"),
        },
        unknown_block_type::run,
    ),
    flow(
        Code::UnknownBranchTarget,
        RuleDoc {
            what: "Reports a branch whose `to` names no block of the flow, with the closest id among the later blocks.",
            why: "A jump to a missing block would fail every login that takes it.",
            example: example!("af012-unknown-branch-target.yaml"),
        },
        unknown_branch_target::run,
    ),
    flow(
        Code::InvalidConfig,
        RuleDoc {
            what: "Reports config keys a block type does not define (with the closest name), keys set twice, required keys that are missing, values of the wrong type, outside a key's choices or breaking its rule (Issue Session's `ttl_seconds` is a whole number of seconds up to a year; Set Custom Claim's `name` is not a reserved claim such as `sub` or `exp`), `on_error` values other than `deny` or `continue`, and `on_error` on a block that cannot fail.",
            why: "A block configured wrongly runs with defaults its author did not choose, or cannot run at all; the console's forms prevent both and files must too.",
            example: example!("af013-invalid-config.yaml"),
        },
        invalid_config::run,
    ),
    flow(
        Code::Cycle,
        RuleDoc {
            what: "Reports a branch whose target is not later in the flow (an earlier block, or itself), which would form a loop.",
            why: "A login flow must terminate: the platform runs its graph as a DAG.",
            example: example!("af020-backward-branch.yaml"),
        },
        cycle::run,
    ),
    flow(
        Code::UnreachableBlock,
        RuleDoc {
            what: "Reports blocks that no path from the start reaches: after an unconditional Deny, Issue Session or branch.",
            why: "An unreachable block is dead configuration that reviewers will wrongly trust.",
            example: example!("af021-unreachable.yaml"),
        },
        unreachable_block::run,
    ),
    flow(
        Code::PathWithoutEnd,
        RuleDoc {
            what: "Reports paths that run past the last block without reaching Issue Session or Deny, and flows without blocks.",
            why: "A path without an ending leaves the login undecided, which the platform treats as an error at run time.",
            example: example!("af022-path-without-end.yaml"),
        },
        path_without_end::run,
    ),
    flow(
        Code::BlockOrder,
        RuleDoc {
            what: "Reports a built-in block that can run before what its catalogue row requires, on some path that reaches it: Password Check and MFA need an Identity Lookup, MFA needs a first factor, Issue Session needs an identified user and a verified first factor. A guarded block counts only on the paths where its guard holds, so it never satisfies a later block.",
            why: "Issuing a session before the password was checked is an authentication bypass; the console forbids that order and files must too.",
            example: example!("af023-issue-before-password.yaml"),
        },
        block_order::run,
    ),
    flow(
        Code::FieldNotAvailable,
        RuleDoc {
            what: "For every read of an event field, in conditions, templates and custom action source, checks that the field is populated on every path reaching the reading block: `event.user.*` needs an Identity Lookup before it. A read that cannot throw (optional-chained, as `event.user?.email`) is not reported.",
            why: "This is the misconfiguration the console cannot show: an action moved before Identity Lookup throws on `event.user.email` for every login.",
            example: example!("af030-user-before-lookup.yaml"),
        },
        field_not_available::run,
    ),
    flow(
        Code::RiskScoreBeforeEvaluate,
        RuleDoc {
            what: "Reports reads of `event.authentication.risk_score`, in conditions, templates and custom action source, that some path reaches before a Risk Evaluate block: there the score reads 0.",
            why: "A risk rule placed before Risk Evaluate silently never fires.",
            example: example!("af031-risk-before-evaluate.yaml"),
        },
        risk_score_before_evaluate::run,
    ),
    flow(
        Code::StepOutputNotWritten,
        RuleDoc {
            what: "For every `step.<slug>.<key>` read in a condition or template, checks that an enabled action with that slug writes `<key>` with `api.state.set('<key>', ...)` (a string literal) in an unguarded Run Custom Action block on every path before the reading block.",
            why: "An unset step output reads as missing: a branch on it never fires and a template renders empty, so the flow silently does something else than its author meant.",
            example: example!(
                "af032-step-not-written",
                ["/flows/login.yaml", "/actions/log-user.js"]
            ),
        },
        step_output_not_written::run,
    ),
    flow(
        Code::UnknownField,
        RuleDoc {
            what: "Reports paths under `event` that the event catalogue does not have and `step.<slug>` paths whose slug no Run Custom Action block of the flow runs, with the closest name: in conditions (found by the type checker), templates, and custom action source (a warning there, since the source may guard the read).",
            why: "A misspelt field reads as missing: the condition never holds, the template renders empty, and nothing tells the author why.",
            example: example!("af033-unknown-field.yaml"),
        },
        unknown_field::run,
    ),
    flow(
        Code::ConditionSyntax,
        RuleDoc {
            what: "Parses every `when` condition with grammar/expr.pest and reports the ones that do not parse, or nest too deeply, at the exact position inside the YAML scalar or the DSL parentheses.",
            why: "A condition that cannot evaluate decides logins by accident: the platform would skip the guarded block or fail the run.",
            example: example!("af034-condition-syntax.yaml"),
        },
        condition_syntax::run,
    ),
    flow(
        Code::ConditionType,
        RuleDoc {
            what: "Type-checks every `when` condition against the event field catalogue and the flow's actions: comparisons of a string field with a number, boolean operators on non-booleans, unknown functions. (Unknown fields are AF033.)",
            why: "A condition that cannot evaluate decides logins by accident. Type errors are caught here, with the exact position inside the YAML scalar.",
            example: example!("af035-string-vs-number.yaml"),
        },
        condition_type::run,
    ),
    flow(
        Code::TemplateSyntax,
        RuleDoc {
            what: "Checks that every `{{ ... }}` in a config string the block catalogue marks as a template is closed and holds a field path (`event.<field>` or `step.<slug>.<key>`).",
            why: "A malformed template renders literally: the deny reason or claim a user sees carries braces instead of a value.",
            example: example!("af036-template-syntax.yaml"),
        },
        template_syntax::run,
    ),
    flow(
        Code::UnknownAction,
        RuleDoc {
            what: "Reports Run Custom Action blocks naming an action that the workspace has no `actions/<slug>.js` for, with the closest slug.",
            why: "The console cannot attach a missing action; a file that names one would fail every login at that block.",
            example: example!("af040-unknown-action", ["/flows/login.yaml"]),
        },
        unknown_action::run,
    ),
    workspace(
        Code::NpmDependency,
        RuleDoc {
            what: "For every `dependencies:` entry of a module.yaml: the version must be exact, the package vendored as `vendor/npm/<name>-<version>.tgz` (what `npm pack` writes), its package.json must name that package and version, and none of its files may require a Node built-in (`fs`, `net`, `child_process`, ...), a package the module does not declare, or a computed name.",
            why: "A login must not depend on the network or on whatever version a registry serves today; and a package that needs Node's file system, network or processes would reach what the sandbox denies.",
            example: example!(
                "af075-npm-dependency",
                ["/modules/dates/module.yaml", "/modules/dates/v1.js"]
            ),
        },
        npm_dependency::run,
    ),
    flow(
        Code::UnknownActionVersion,
        RuleDoc {
            what: "Reports `action: <slug>@<N>` pins whose version N authflow.lock does not record for that action, that are not a version number, or whose published files cannot be read back (from the release's git commit or its bundle).",
            why: "A pin says exactly which published source runs; a pin to nothing would leave the block without an action, and running the draft instead would defeat the pin.",
            example: example!(
                "af073-unknown-action-version",
                ["/flows/login.yaml", "/authflow.lock"]
            ),
        },
        unknown_action_version::run,
    ),
    flow(
        Code::UnpinnedDraftAction,
        RuleDoc {
            what: "Warns on `action: <slug>` (no `@N`) when authflow.lock has published the action and its files (or the module versions it pins) have changed since its last published version.",
            why: "The flow runs the draft, which no release has recorded: the next publish ships it, and a test run of the flow is not a test of what is live.",
            example: example!(
                "af074-unpinned-draft-action",
                ["/flows/login.yaml", "/actions/log-user.js"]
            ),
        },
        unpinned_draft_action::run,
    ),
    Rule {
        code: Code::DisabledAction,
        doc: RuleDoc {
            what: "Reports Run Custom Action blocks naming a login action whose metadata says `enabled: false` (the block is skipped at run time), and streams binding a disabled event-stream action (the stream skips it).",
            why: "A disabled action silently does nothing: the flow passes review with a check that never runs.",
            example: example!(
                "af041-disabled-action",
                ["/flows/login.yaml", "/actions/log-user.yaml"]
            ),
        },
        flow: Some(disabled_action::run),
        workspace: Some(disabled_action::run_in_streams),
    },
    workspace(
        Code::MissingModulePin,
        RuleDoc {
            what: "For every `require` in an action: a computed or non-module specifier, a module the workspace lacks, a module the action's metadata does not pin, or a pin to a version that is not published.",
            why: "An unpinned module upgrades under you: the console pins every module an action uses to one published version.",
            example: example!(
                "af042-missing-module-pin",
                [
                    "/actions/audit.js",
                    "/actions/audit.yaml",
                    "/actions/audit2.js",
                    "/actions/audit2.yaml"
                ]
            ),
        },
        missing_module_pin::run,
    ),
    workspace(
        Code::UndeclaredSecret,
        RuleDoc {
            what: "Reports secrets an action or module reads that its metadata does not declare, secrets read through the wrong object (`event.secrets` in actions, `actions.secrets` in modules), and secrets an action's metadata declares that authflow.yaml does not.",
            why: "An undeclared secret reads as undefined at run time: the action calls its API without a key, and the failure shows only in production.",
            example: example!(
                "af043-undeclared-secret",
                [
                    "/authflow.yaml",
                    "/actions/ipinfo.js",
                    "/actions/ipinfo.yaml"
                ]
            ),
        },
        undeclared_secret::run,
    ),
    workspace(
        Code::FetchNotAllowed,
        RuleDoc {
            what: "Reports `fetch` or `api.fetch` to a literal URL outside `fetch_allowlist` in authflow.yaml (for a template URL, when no allowed prefix can match whatever follows its static part), and allowlist entries that admit no URL. The matcher is the runtime's: same scheme, host and port, and a path continuing the entry's at a segment boundary, so `https://api.example.com` does not admit `https://api.example.com.evil.test`.",
            why: "The platform refuses fetches outside the allowlist at run time: the action fails on every login that reaches the fetch.",
            example: example!(
                "af044-fetch-not-allowed",
                ["/authflow.yaml", "/actions/fraud.js"]
            ),
        },
        fetch_not_allowed::run,
    ),
    Rule {
        code: Code::ApiNotAllowedInTrigger,
        doc: RuleDoc {
            what: "In every action and module: api calls the trigger does not offer, such as `api.deny` in an event-stream action, and `api.<name>` methods that do not exist. In flows: Run Custom Action blocks naming an event-stream action, which only subscribed events run.",
            why: "An event-stream action runs after the login is decided; a call that would change the login fails there, and such an action placed in a flow never runs as its author expects.",
            example: example!(
                "af045-deny-in-event-stream",
                ["/actions/forward.js", "/actions/forward.yaml"]
            ),
        },
        flow: Some(api_not_allowed_in_trigger::run_in_flow),
        workspace: Some(api_not_allowed_in_trigger::run),
    },
    workspace(
        Code::ActionSyntax,
        RuleDoc {
            what: "Parses every action and module version with oxc and reports syntax errors; reports an action that does not export the handler its trigger calls (`exports.handler` for login, `exports.onExecuteEventStream` for event-stream).",
            why: "An action that does not parse, or exports the wrong function, fails on every run; the console's editor would have flagged it.",
            example: example!(
                "af046-action-syntax",
                [
                    "/actions/broken.js",
                    "/actions/wrong-export.js",
                    "/actions/wrong-export.yaml"
                ]
            ),
        },
        action_syntax::run,
    ),
    workspace(
        Code::UnknownLogLevel,
        RuleDoc {
            what: "Reports `api.log` calls whose literal level is not one of debug, info, warn or error, with the closest level.",
            why: "The platform drops or re-labels log lines of an unknown level, so the line the author relies on when debugging is not where they look.",
            example: example!("af047-unknown-log-level", ["/actions/noisy.js"]),
        },
        unknown_log_level::run,
    ),
    workspace(
        Code::UnknownEventType,
        RuleDoc {
            what: "Reports event types under a stream file's `events:` or an event-stream action's `events:` that are not in the event-type catalogue (with the closest known type), and streams that subscribe to no type.",
            why: "A stream never receives an event of a type that does not exist: the action bound to it silently never runs.",
            example: example!(
                "af090-unknown-event-type",
                ["/streams/logins.yaml", "/actions/forward.yaml"]
            ),
        },
        unknown_event_type::run,
    ),
    workspace(
        Code::StreamBinding,
        RuleDoc {
            what: "Reports actions under a stream file's `actions:` that do not exist, are login actions, or do not list every event type the stream delivers in their `events:`; and login actions that declare `events:`.",
            why: "A binding that cannot run drops the stream's events without a trace: the action never sees them, or fails on types it was not written for.",
            example: example!(
                "af091-stream-binding",
                [
                    "/streams/logins.yaml",
                    "/actions/forward.yaml",
                    "/actions/log-user.yaml"
                ]
            ),
        },
        stream_binding::run,
    ),
    workspace(
        Code::EventFieldNotCarried,
        RuleDoc {
            what: "Checks what each event-stream action reads from `event` against what its event types carry: `event.message.*` against the envelope and each type's `data`, `event.tenant.*` against the tenant group, `event.user` only where the types carry a user, and no login groups (`event.request`, ...), which a stream action never receives.",
            why: "The read is `undefined` or throws on every delivery: the action fails or acts on nothing, and only in production, where the events arrive.",
            example: example!(
                "af092-event-field-not-carried",
                ["/actions/forward.yaml", "/actions/forward.js"]
            ),
        },
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
