//! Checked flow -> `Plan`: a versioned, serde-serialisable execution plan in which blocks are
//! native ops, guards are conditions to compile, templates are precomputed lookups and
//! custom actions are references to a content-hashed source version.
//!
//! **Invariant:** a plan is built only from a flow whose check produced no error.

pub mod template;

use crate::blocks::Lowering;
use crate::diagnostic::{Diagnostic, FileId};
use crate::graph::FlowGraph;
use crate::syntax::ast::Flow;
use crate::workspace::Workspace;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;

pub use crate::blocks::Op;
pub use template::{Template, TemplatePart};

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
    // Only the actions this flow runs, and the module versions they pin, can stop it from
    // compiling: a syntax error in a pinned version fails every run as surely as one in the
    // action.
    let graph = FlowGraph::build(flow);
    let used: Vec<FileId> = graph
        .blocks
        .iter()
        .filter_map(|b| b.action().and_then(|v| v.as_str()))
        .filter_map(|slug| ws.actions.get(slug))
        .flat_map(|a| {
            let pinned = a.meta.modules.iter().flat_map(|(name, version)| {
                let module = ws.modules.get(name);
                [
                    module.and_then(|m| m.versions.get(version).copied()),
                    module.and_then(|m| m.meta_file),
                ]
            });
            [Some(a.code_file), a.meta_file]
                .into_iter()
                .chain(pinned)
                .flatten()
        })
        .collect();
    diagnostics.extend(
        crate::check::check_workspace(ws, &facts, &[])
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
    lower(ws, file, &graph).map_err(|d| vec![d])
}

/// Lowers a checked flow. The errors are unreachable for flows that passed the checks; they
/// exist so that a gap in the checks surfaces as a diagnostic, never as a panic.
fn lower(ws: &Workspace, file: FileId, graph: &FlowGraph) -> Result<Plan, Diagnostic> {
    let flow = graph.flow;
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
            let op = (ty.lower)(&Lowering {
                ty,
                block,
                jump_to: info.jump_to,
            })
            .map_err(|e| internal(&e))?;
            if let Some(slug) = info.action().and_then(|v| v.as_str())
                && let Some(action) = ws.actions.get(slug)
            {
                actions.insert(slug.to_string(), planned_action(ws, action));
            }
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

pub fn sha256(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
