//! Checked flow -> `Plan`: a versioned, serde-serialisable execution plan in which blocks are
//! native ops, guards are conditions to compile, templates are precomputed lookups and
//! custom actions are references to a content-hashed source version.
//!
//! **Invariant:** a plan is built only from a flow whose check produced no error.

use crate::check::reads;
use crate::diagnostic::{Diagnostic, FileId};
use crate::graph::FlowGraph;
use crate::syntax::ast::Flow;
use crate::workspace::Workspace;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;

/// The plan format's version; bumped on any incompatible change.
pub const PLAN_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub plan_version: u32,
    pub flow: String,
    /// The flow file, as given on the command line.
    pub source: String,
    /// sha256 of the flow file's text.
    pub source_sha256: String,
    pub blocks: Vec<PlanBlock>,
    /// Every action a block runs, by slug.
    pub actions: BTreeMap<String, PlannedAction>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlanBlock {
    pub id: String,
    pub stage: String,
    /// The catalogue name of the block type.
    #[serde(rename = "type")]
    pub kind: String,
    pub op: Op,
    /// The guard's source; compiled to native code when the plan is loaded.
    pub guard: Option<String>,
    /// What happens when the op fails: deny (fail closed) or continue.
    pub on_error: OnError,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    Deny,
    Continue,
}

/// A block resolved to what the runtime does.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    IdentityLookup,
    PasswordCheck,
    Mfa {
        skip_if_not_enrolled: bool,
    },
    RiskEvaluate {
        deny_above: Option<f64>,
    },
    RunAction {
        action: String,
    },
    SetClaim {
        name: String,
        value: Template,
    },
    Log {
        level: String,
        message: Template,
    },
    /// Jump to block index `to` when the guard holds (always without one).
    Branch {
        to: usize,
    },
    Deny {
        reason: Template,
    },
    IssueSession {
        ttl_seconds: u64,
        audience: Option<String>,
    },
}

/// A config string with its `{{ ... }}` references resolved to field paths.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Text(String),
    /// A path including its root: `["event", "user", "email"]`.
    Field(Vec<String>),
}

/// A custom action as the plan pins it: which source, at which content hash.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlannedAction {
    pub file: String,
    pub sha256: String,
    pub enabled: bool,
    /// Pinned modules: name -> (version, file, sha256).
    pub modules: BTreeMap<String, PlannedModule>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlannedModule {
    pub version: u32,
    pub file: String,
    pub sha256: String,
}

/// Compiles a flow. Fails with the error diagnostics if the check finds any.
pub fn compile(ws: &Workspace, file: FileId, flow: &Flow) -> Result<Plan, Vec<Diagnostic>> {
    let facts = crate::check::analyze_actions(ws);
    let mut diagnostics = crate::check::check_flow(ws, file, flow, &facts);
    // Only the actions this flow runs can stop it from compiling.
    let used: Vec<FileId> = flow
        .blocks()
        .filter_map(|(_, b)| b.config("action").and_then(|v| v.as_str()))
        .filter_map(|slug| ws.actions.get(slug))
        .flat_map(|a| [Some(a.code_file), a.meta_file].into_iter().flatten())
        .collect();
    diagnostics.extend(
        crate::check::check_workspace(ws, &facts)
            .into_iter()
            .filter(|d| used.contains(&d.file)),
    );
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    lower(ws, file, flow).map_err(|d| vec![d])
}

/// Lowers a checked flow. The errors are unreachable for flows that passed the checks; they
/// exist so that a gap in the checks surfaces as a diagnostic, never as a panic.
fn lower(ws: &Workspace, file: FileId, flow: &Flow) -> Result<Plan, Diagnostic> {
    let graph = FlowGraph::build(flow);
    let mut actions = BTreeMap::new();
    let blocks = graph
        .blocks
        .iter()
        .map(|info| {
            let block = info.block;
            let internal = |what: &str| {
                Diagnostic::new(
                    crate::diagnostic::Code::InvalidConfig,
                    file,
                    block.id.span,
                    format!("block `{}` cannot be compiled: {what}", block.id.value),
                )
                .help("this is a gap in authflow's checks; please report it with the flow file")
            };
            let ty = info
                .ty
                .ok_or_else(|| internal("its type is not in the block catalogue"))?;
            let text = |key: &str| {
                block
                    .config(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let template = |key: &str| {
                let value = block.config(key);
                let raw = value.and_then(|v| v.as_str()).unwrap_or_default();
                template(raw)
            };
            let op = match ty.name {
                "identity_lookup" => Op::IdentityLookup,
                "password_check" => Op::PasswordCheck,
                "mfa" => Op::Mfa {
                    skip_if_not_enrolled: text("if_not_enrolled") == "skip",
                },
                "risk_evaluate" => Op::RiskEvaluate {
                    deny_above: block.config("deny_above").and_then(|v| v.as_f64()),
                },
                "run_action" => {
                    let slug = text("action");
                    if let Some(action) = ws.actions.get(&slug) {
                        actions.insert(slug.clone(), planned_action(ws, action));
                    }
                    Op::RunAction { action: slug }
                }
                "set_claim" => Op::SetClaim {
                    name: text("name"),
                    value: template("value"),
                },
                "log" => Op::Log {
                    level: block
                        .config("level")
                        .and_then(|v| v.as_str())
                        .unwrap_or("info")
                        .to_string(),
                    message: template("message"),
                },
                "branch" => Op::Branch {
                    to: info
                        .jump_to
                        .ok_or_else(|| internal("the branch has no forward target"))?,
                },
                "deny" => Op::Deny {
                    reason: template("reason"),
                },
                "issue_session" => Op::IssueSession {
                    ttl_seconds: block
                        .config("ttl_seconds")
                        .and_then(|v| v.as_f64())
                        .map_or(3600, |n| n.max(0.0) as u64),
                    audience: block
                        .config("audience")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                },
                other => return Err(internal(&format!("block type `{other}` has no op"))),
            };
            let on_error = match block.on_error.as_ref().map(|o| o.as_str()) {
                Some("continue") => OnError::Continue,
                _ => OnError::Deny,
            };
            Ok(PlanBlock {
                id: block.id.value.clone(),
                stage: info.stage.name.value.clone(),
                kind: ty.name.to_string(),
                op,
                guard: block.when.as_ref().map(|w| w.text.clone()),
                on_error,
            })
        })
        .collect::<Result<Vec<_>, Diagnostic>>()?;
    Ok(Plan {
        plan_version: PLAN_VERSION,
        flow: flow.name.value.clone(),
        source: ws.sources.path(file).display().to_string(),
        source_sha256: sha256(ws.sources.text(file)),
        blocks,
        actions,
    })
}

fn planned_action(ws: &Workspace, action: &crate::workspace::Action) -> PlannedAction {
    let modules = action
        .meta
        .modules
        .iter()
        .filter_map(|(name, version)| {
            let file = *ws.modules.get(name)?.versions.get(version)?;
            Some((
                name.clone(),
                PlannedModule {
                    version: *version,
                    file: ws.sources.path(file).display().to_string(),
                    sha256: sha256(ws.sources.text(file)),
                },
            ))
        })
        .collect();
    PlannedAction {
        file: ws.sources.path(action.code_file).display().to_string(),
        sha256: sha256(ws.sources.text(action.code_file)),
        enabled: action.meta.enabled,
        modules,
    }
}

/// Splits a template into text and field references.
pub fn template(raw: &str) -> Template {
    let (found, _) = reads::parse_template(raw, 0);
    let mut parts = Vec::new();
    let mut cursor = 0;
    for part in found {
        if part.outer.start as usize > cursor {
            parts.push(TemplatePart::Text(
                raw[cursor..part.outer.start as usize].to_string(),
            ));
        }
        parts.push(TemplatePart::Field(
            part.path.iter().map(|s| s.name.clone()).collect(),
        ));
        cursor = part.outer.end as usize;
    }
    if cursor < raw.len() {
        parts.push(TemplatePart::Text(raw[cursor..].to_string()));
    }
    Template { parts }
}

pub fn sha256(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_text_and_fields() {
        let t = template("hi {{ event.user.email }}, from {{step.log-user.country}}!");
        assert_eq!(
            t.parts,
            vec![
                TemplatePart::Text("hi ".into()),
                TemplatePart::Field(vec!["event".into(), "user".into(), "email".into()]),
                TemplatePart::Text(", from ".into()),
                TemplatePart::Field(vec!["step".into(), "log-user".into(), "country".into()]),
                TemplatePart::Text("!".into()),
            ]
        );
    }
}
