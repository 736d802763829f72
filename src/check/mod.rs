//! Passes over a flow's graph, and over the workspace's actions and modules, that find
//! misconfigurations before publish.
//!
//! `check_flow` builds the graph, runs the dataflow once, gathers every field read and
//! type-checks every condition once, then runs the flow pass of each rule in `rules::RULES`;
//! `check_workspace` analyses every action and module once and runs the workspace passes over
//! them and the stream files (`check_stream`: the same passes over one stream file). A
//! rule sees a read-only context (`Context`, `WorkspaceContext`) and reports into a `Sink`
//! that takes only its own code; rules never change the flow or see each other's findings.

pub mod reads;
pub mod rules;
pub mod types;

use crate::blocks::run_action::ActionPin;
use crate::blocks::{ConfigKind, Fact};
use crate::catalog::api::Trigger;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::expr::{Expr, ExprError};
use crate::graph::{Available, FlowGraph};
use crate::jsfacts::{self, ActionFacts, SecretSource};
use crate::span::Span;
use crate::streams::Stream;
use crate::syntax::ast::{ConfigValueKind, Flow};
use crate::syntax::scalar::ScalarPositions;
use crate::workspace::{Action, Workspace};
use reads::{FieldRead, ReadOrigin, Segment};
use std::collections::BTreeMap;

/// Everything a flow rule may look at, computed once per flow. Rules only read it.
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
    pub conditions: Vec<Option<Result<Expr, ExprError>>>,
    /// Each block's condition problems (its parse error, or its type errors), with spans
    /// relative to the condition text; empty without a condition or when it is sound.
    pub condition_errors: Vec<Vec<ExprError>>,
    /// Slugs of the actions that Run Custom Action blocks of this flow name.
    pub flow_actions: Vec<String>,
}

impl Context<'_> {
    /// The action slug a Run Custom Action block names, if it names one.
    pub fn action_of(&self, block: usize) -> Option<&str> {
        self.graph.blocks[block].action().and_then(|v| v.as_str())
    }

    /// The action slug of every Run Custom Action block that names one, as written (pin
    /// included), with the span of its `action` value.
    pub fn named_actions(&self) -> impl Iterator<Item = (&str, Span)> {
        self.graph.blocks.iter().filter_map(|info| {
            let value = info.action()?;
            Some((value.as_str()?, value.span))
        })
    }

    /// A diagnostic in the flow file.
    pub fn at(&self, code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, self.file, span, message)
    }

    /// Every condition problem, with its span in the flow file.
    pub fn condition_problems(&self) -> impl Iterator<Item = (&ExprError, Span)> {
        self.graph
            .blocks
            .iter()
            .zip(&self.condition_errors)
            .flat_map(|(info, errors)| {
                let positions = info
                    .block
                    .when
                    .as_ref()
                    .map(|w| self.positions(w.span, &w.text));
                errors.iter().map(move |e| {
                    let span = positions.as_ref().map_or(e.span, |p| p.span(e.span));
                    (e, span)
                })
            })
    }

    /// Where the characters of a string value (a condition, a template) read from `span` of
    /// this flow's file are, so that offsets into the value land on the right characters
    /// through quotes, escapes and folding.
    pub fn positions(&self, span: Span, value: &str) -> ScalarPositions {
        ScalarPositions::new(self.ws.sources.text(self.file), span, value)
    }

    /// A condition problem as a diagnostic of `code`, with the checker's help.
    pub fn condition_diagnostic(&self, code: Code, error: &ExprError, span: Span) -> Diagnostic {
        let d = self.at(code, span, error.message.clone());
        match &error.help {
            Some(help) => d.help(help.clone()),
            None => d,
        }
    }

    /// Reads of catalogued event fields that need `fact` and that a path reaches before the
    /// block establishing it, each with the id of the reading block.
    pub fn reads_before(&self, fact: Fact) -> impl Iterator<Item = (&FieldRead, &str)> {
        self.reads
            .iter()
            .filter(move |read| {
                let names = read.names();
                if read.root() != "event" || names.len() < 2 || is_unknown_event_field(&names) {
                    return false;
                }
                let missing = |available: &Available| !available.has(fact);
                fact_for(&names) == Some(fact)
                    && self.available[read.block].as_ref().is_some_and(missing)
            })
            .map(|read| (read, self.graph.blocks[read.block].block.id.as_str()))
    }

    /// A diagnostic at a field read; one in an action's file also points at the block that
    /// runs it.
    pub fn at_read(&self, code: Code, read: &FieldRead, message: String) -> Diagnostic {
        let diagnostic = Diagnostic::new(code, read.file, read.span, message);
        if read.file == self.file {
            return diagnostic;
        }
        let block = self.graph.blocks[read.block].block;
        diagnostic.related(self.file, block.id.span, "the action runs here")
    }
}

/// Whether `event.<names[1..]>` is missing from the event catalogue.
pub fn is_unknown_event_field(names: &[&str]) -> bool {
    matches!(
        crate::catalog::event::lookup(&names[1..]),
        crate::catalog::event::FieldLookup::Unknown
    )
}

/// One unit of JavaScript the workspace pass checks: an action's code, or a module's
/// published version or draft.
pub struct JsSource<'a> {
    pub file: FileId,
    pub facts: &'a ActionFacts,
    /// The secrets its metadata declares.
    pub secrets: &'a [String],
    pub trigger: Trigger,
    /// Where this kind of source reads its secrets from.
    pub secret_source: SecretSource,
    /// For an action's code, its slug and the action; `None` for a module's file.
    pub action: Option<(&'a str, &'a Action)>,
}

/// Everything a workspace rule may look at: the workspace and each JavaScript source in it,
/// analysed once. Rules only read it.
pub struct WorkspaceContext<'a> {
    pub ws: &'a Workspace,
    /// The actions in slug order, then each module's versions and draft.
    pub sources: Vec<JsSource<'a>>,
    /// The workspace's stream files (`streams/*.yaml`) that loaded.
    pub streams: &'a [Stream],
}

impl WorkspaceContext<'_> {
    /// The sources that are actions' code, with their slug and action.
    pub fn actions(&self) -> impl Iterator<Item = (&JsSource<'_>, &str, &Action)> {
        self.sources
            .iter()
            .filter_map(|s| s.action.map(|(slug, action)| (s, slug, action)))
    }
}

/// Where rules report. While a rule runs, the sink takes diagnostics of that rule's code
/// only (the tidy test checks the same of the rule files).
pub struct Sink {
    code: Code,
    diagnostics: Vec<Diagnostic>,
}

impl Sink {
    fn new() -> Sink {
        Sink {
            code: Code::ALL[0],
            diagnostics: Vec::new(),
        }
    }

    /// Reports one finding of the running rule.
    pub fn report(&mut self, diagnostic: Diagnostic) {
        debug_assert_eq!(
            diagnostic.code, self.code,
            "a rule reports only the code of its row in rules::RULES"
        );
        self.diagnostics.push(diagnostic);
    }

    /// The findings in file, position and code order, without repeats.
    fn finish(mut self) -> Vec<Diagnostic> {
        self.diagnostics
            .sort_by_key(|d| (d.file, d.span.start, d.code));
        self.diagnostics.dedup();
        self.diagnostics
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
    let flow_actions: Vec<String> = graph
        .blocks
        .iter()
        .filter_map(|b| b.action().and_then(|v| v.as_str()))
        .map(|reference| ActionPin::parse(reference).slug.to_string())
        .collect();
    let conditions: Vec<_> = graph
        .blocks
        .iter()
        .map(|b| b.block.when.as_ref().map(|w| crate::expr::parse(&w.text)))
        .collect();
    let types = types::CatalogTypes {
        step_slugs: &flow_actions,
    };
    let condition_errors = conditions
        .iter()
        .map(|parsed| match parsed {
            None => Vec::new(),
            Some(Ok(expr)) => crate::expr::check(expr, &types).err().unwrap_or_default(),
            Some(Err(e)) => vec![e.clone()],
        })
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
        condition_errors,
        flow_actions,
    };
    cx.reads = gather_reads(&cx);
    let mut sink = Sink::new();
    for rule in rules::RULES {
        if let Some(run) = rule.flow {
            sink.code = rule.code;
            run(&cx, &mut sink);
        }
    }
    sink.finish()
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

/// Checks what belongs to the workspace rather than one flow: every action, module and
/// stream file.
pub fn check_workspace(
    ws: &Workspace,
    actions: &BTreeMap<String, ActionFacts>,
    streams: &[Stream],
) -> Vec<Diagnostic> {
    let modules: Vec<(FileId, &[String], ActionFacts)> = ws
        .modules
        .values()
        .flat_map(|module| {
            let secrets = module.meta.secrets.as_slice();
            module
                .versions
                .values()
                .copied()
                .chain(module.draft)
                .map(move |file| (file, secrets))
        })
        .map(|(file, secrets)| (file, secrets, jsfacts::analyze(ws.sources.text(file))))
        .collect();
    let action_sources = ws.actions.iter().filter_map(|(slug, action)| {
        Some(JsSource {
            file: action.code_file,
            facts: actions.get(slug)?,
            secrets: &action.meta.secrets,
            trigger: action.meta.trigger,
            secret_source: SecretSource::EventSecrets,
            action: Some((slug.as_str(), action)),
        })
    });
    let module_sources = modules.iter().map(|(file, secrets, facts)| JsSource {
        file: *file,
        facts,
        secrets,
        trigger: Trigger::Login,
        secret_source: SecretSource::ActionsSecrets,
        action: None,
    });
    run_workspace_passes(&WorkspaceContext {
        ws,
        sources: action_sources.chain(module_sources).collect(),
        streams,
    })
}

/// The diagnostics of one stream file: the workspace passes over that stream alone, keeping
/// what they report in its file (`stream run` and a flow run's deliveries refuse a stream
/// with errors).
pub fn check_stream(ws: &Workspace, stream: &Stream) -> Vec<Diagnostic> {
    let mut diagnostics = run_workspace_passes(&WorkspaceContext {
        ws,
        sources: Vec::new(),
        streams: std::slice::from_ref(stream),
    });
    diagnostics.retain(|d| d.file == stream.file);
    diagnostics
}

fn run_workspace_passes(cx: &WorkspaceContext) -> Vec<Diagnostic> {
    let mut sink = Sink::new();
    for rule in rules::RULES {
        if let Some(run) = rule.workspace {
            sink.code = rule.code;
            run(cx, &mut sink);
        }
    }
    sink.finish()
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
                available
                    .steps
                    .insert((ActionPin::parse(slug).slug.to_string(), key.clone()));
            }
        }
    }
    available
}

fn gather_reads(cx: &Context) -> Vec<FieldRead> {
    let mut reads = Vec::new();
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        if let Some(when) = &info.block.when
            && let Some(Ok(expr)) = &cx.conditions[i]
        {
            let positions = cx.positions(when.span, &when.text);
            for path in expr.field_paths() {
                let segments: Vec<Segment> = path
                    .segments
                    .iter()
                    .map(|s| Segment {
                        name: s.name.clone(),
                        span: positions.span(s.span),
                        optional: s.optional,
                    })
                    .collect();
                let guarded = reads::guarded(&segments);
                reads.push(FieldRead {
                    block: i,
                    origin: ReadOrigin::Condition,
                    file: cx.file,
                    segments,
                    span: positions.span(path.span),
                    guarded,
                });
            }
        }
        for (text, span) in template_strings(info) {
            let (parts, _) = reads::parse_template_in(text, &cx.positions(span, text));
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
    reads
}

/// How many leading segments of an action's read name an event field: past a catalogued leaf
/// a chain reads a property of the value (`email.length` through an alias), not a field.
fn leaf_prefix(path: &[String]) -> usize {
    use crate::catalog::event::{FieldLookup, FieldType, lookup};
    (1..=path.len())
        .find(|&n| matches!(lookup(&path[..n]), FieldLookup::Field(f) if !matches!(f.ty, FieldType::Group | FieldType::Record)))
        .unwrap_or(path.len())
}

/// A block's config strings that the catalogue marks as templates, with the span of each
/// string's scalar in the flow file.
pub fn template_strings<'f>(
    info: &crate::graph::BlockInfo<'f>,
) -> impl Iterator<Item = (&'f str, Span)> {
    let ty = info.ty;
    info.block.config.iter().filter_map(move |entry| {
        let key = ty?.config.iter().find(|k| k.name == entry.key.value)?;
        match (&entry.value.kind, key.kind) {
            (ConfigValueKind::String(text), ConfigKind::Template) => {
                Some((text.as_str(), entry.value.span))
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
