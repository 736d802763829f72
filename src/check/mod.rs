//! Passes over a flow's graph that find misconfigurations before publish.
//!
//! `check_flow` builds the graph, runs the dataflow once, gathers every field read once, then
//! runs each rule in `rules`. Rules only add diagnostics; they never change the flow.

pub mod reads;
pub mod rules;
pub mod types;

use crate::blocks::{ConfigKind, Fact};
use crate::catalog::api::Trigger;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::graph::{Available, FlowGraph};
use crate::jsfacts::{self, ActionFacts};
use crate::syntax::ast::{ConfigValueKind, Flow};
use crate::workspace::Workspace;
use reads::{FieldRead, ReadOrigin, Segment};
use std::collections::BTreeMap;

/// Everything a rule may look at, computed once per flow.
pub struct Context<'a> {
    pub ws: &'a Workspace,
    pub file: FileId,
    pub flow: &'a Flow,
    pub graph: FlowGraph<'a>,
    /// Must-availability at each block; `None` for blocks no path reaches.
    pub available: Vec<Option<Available>>,
    /// Static facts of every action in the workspace, by slug.
    pub actions: &'a BTreeMap<String, ActionFacts>,
    /// Every `event.*` / `step.*` read, by any block.
    pub reads: Vec<FieldRead>,
    /// Each block's parsed `when` condition, parsed once for every rule.
    pub conditions: Vec<Option<Result<crate::expr::Expr, crate::expr::ExprError>>>,
    /// Slugs of the actions that Run Custom Action blocks of this flow name.
    pub flow_actions: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Context<'_> {
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The action slug a Run Custom Action block names, if it names one.
    pub fn action_of(&self, block: usize) -> Option<&str> {
        self.graph.blocks[block].action().and_then(|v| v.as_str())
    }
}

/// Analyses every action and module of the workspace once; flows share the result.
pub fn analyze_actions(ws: &Workspace) -> BTreeMap<String, ActionFacts> {
    ws.actions
        .iter()
        .map(|(slug, a)| (slug.clone(), jsfacts::analyze(ws.sources.text(a.code_file))))
        .collect()
}

/// Checks one flow against its workspace.
pub fn check_flow(
    ws: &Workspace,
    file: FileId,
    flow: &Flow,
    actions: &BTreeMap<String, ActionFacts>,
) -> Vec<Diagnostic> {
    let graph = FlowGraph::build(flow);
    let available = availability(ws, &graph, actions);
    let flow_actions = graph
        .blocks
        .iter()
        .filter_map(|b| b.action().and_then(|v| v.as_str()).map(str::to_string))
        .collect();
    let conditions = graph
        .blocks
        .iter()
        .map(|b| b.block.when.as_ref().map(|w| crate::expr::parse(&w.text)))
        .collect();
    let mut cx = Context {
        ws,
        file,
        flow,
        graph,
        available,
        actions,
        reads: Vec::new(),
        conditions,
        flow_actions,
        diagnostics: Vec::new(),
    };
    gather_reads(&mut cx);
    for rule in rules::RULES {
        (rule.run)(&mut cx);
    }
    let mut diagnostics = cx.diagnostics;
    diagnostics.sort_by_key(|d| (d.file, d.span.start, d.code));
    diagnostics.dedup();
    diagnostics
}

/// Must-availability at each block of `graph` (`None` where no path reaches): the facts of
/// the catalogue and the step outputs of the workspace's enabled actions. The checks and the
/// language server's completion read the same dataflow.
pub fn availability(
    ws: &Workspace,
    graph: &FlowGraph,
    actions: &BTreeMap<String, ActionFacts>,
) -> Vec<Option<Available>> {
    graph.availability(|i| block_effects(ws, graph, actions, i))
}

/// Checks what belongs to the workspace rather than one flow: every action and module.
pub fn check_workspace(ws: &Workspace, actions: &BTreeMap<String, ActionFacts>) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    rules::actions::check_all(ws, actions, &mut diagnostics);
    diagnostics
}

/// What block `i` establishes when it completes: its catalogue facts, and for an enabled
/// custom action the step outputs its source writes with literal keys.
fn block_effects(
    ws: &Workspace,
    graph: &FlowGraph,
    actions: &BTreeMap<String, ActionFacts>,
    i: usize,
) -> Available {
    let info = &graph.blocks[i];
    let mut available = Available::default();
    let Some(ty) = info.ty else { return available };
    available.facts.extend(ty.provides.iter().copied());
    let slug = info.action().and_then(|v| v.as_str());
    let enabled = slug
        .and_then(|s| ws.actions.get(s))
        .is_some_and(|a| a.meta.enabled && a.meta.trigger == Trigger::Login);
    if let (Some(slug), true) = (slug, enabled)
        && let Some(facts) = actions.get(slug)
    {
        for write in &facts.state_writes {
            if let Some(key) = &write.key {
                available.steps.insert((slug.to_string(), key.clone()));
            }
        }
    }
    available
}

fn gather_reads(cx: &mut Context) {
    let mut reads = Vec::new();
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        if let Some(when) = &info.block.when
            && let Some(Ok(expr)) = &cx.conditions[i]
        {
            for path in expr.field_paths() {
                let segments: Vec<Segment> = path
                    .segments
                    .iter()
                    .map(|s| Segment {
                        name: s.name.clone(),
                        span: s.span.offset(when.span.start as usize),
                        optional: s.optional,
                    })
                    .collect();
                let guarded = reads::guarded(&segments);
                reads.push(FieldRead {
                    block: i,
                    origin: ReadOrigin::Condition,
                    file: cx.file,
                    segments,
                    span: path.span.offset(when.span.start as usize),
                    guarded,
                });
            }
        }
        for (text, start) in template_strings(info) {
            let (parts, _) = reads::parse_template(text, start);
            for part in parts {
                let guarded = reads::guarded(&part.path);
                reads.push(FieldRead {
                    block: i,
                    origin: ReadOrigin::Template,
                    file: cx.file,
                    segments: part.path,
                    span: part.span,
                    guarded,
                });
            }
        }
        if let Some(slug) = cx.action_of(i)
            && let (Some(action), Some(facts)) = (cx.ws.actions.get(slug), cx.actions.get(slug))
        {
            for read in &facts.event_reads {
                if read.path.first().is_some_and(|p| p == "secrets") {
                    continue;
                }
                let keep = leaf_prefix(&read.path);
                let mut segments = vec![Segment {
                    name: "event".into(),
                    span: read.span,
                    optional: false,
                }];
                segments.extend(read.path[..keep].iter().map(|name| Segment {
                    name: name.clone(),
                    span: read.span,
                    optional: false,
                }));
                reads.push(FieldRead {
                    block: i,
                    origin: ReadOrigin::Action,
                    file: action.code_file,
                    segments,
                    span: read.span,
                    guarded: read.guarded,
                });
            }
        }
    }
    cx.reads = reads;
}

/// How many leading segments of an action's read name an event field: past a catalogued leaf
/// a chain reads a property of the value (`email.length` through an alias), not a field.
fn leaf_prefix(path: &[String]) -> usize {
    use crate::catalog::event::{FieldLookup, FieldType, lookup};
    (1..=path.len())
        .find(|&n| matches!(lookup(&path[..n]), FieldLookup::Field(f) if !matches!(f.ty, FieldType::Group | FieldType::Record)))
        .unwrap_or(path.len())
}

/// A block's config strings that the catalogue marks as templates, with the byte offset of
/// each string's content in the flow file.
pub fn template_strings<'f>(
    info: &crate::graph::BlockInfo<'f>,
) -> impl Iterator<Item = (&'f str, usize)> {
    let ty = info.ty;
    info.block.config.iter().filter_map(move |entry| {
        let key = ty?.config.iter().find(|k| k.name == entry.key.value)?;
        match (&entry.value.kind, key.kind) {
            (ConfigValueKind::String(text), ConfigKind::Template) => {
                Some((text.as_str(), entry.value.span.start as usize))
            }
            _ => None,
        }
    })
}

/// The fact a field's availability depends on, if any.
pub fn fact_for(segments: &[&str]) -> Option<Fact> {
    use crate::catalog::event::{Availability, FieldLookup, lookup};
    let field = match lookup(&segments[1..]) {
        FieldLookup::Field(f) | FieldLookup::Dynamic(f) => f,
        FieldLookup::Unknown => return None,
    };
    match field.available {
        Availability::AfterIdentityLookup => Some(Fact::UserLoaded),
        Availability::AfterRiskEvaluate => Some(Fact::RiskEvaluated),
        Availability::FlowStart | Availability::AsFactorsPass => None,
    }
}

/// Shorthand used by rules for a diagnostic in the flow file.
pub fn at(
    cx: &Context,
    code: Code,
    span: crate::span::Span,
    message: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(code, cx.file, span, message)
}
