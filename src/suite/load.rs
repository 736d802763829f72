//! Loading a workspace's test suite: finds `tests/**/*.test.yaml`, reads each file through
//! the hostile-file rules (no symlink out of the workspace, regular files only, bounded size),
//! validates it against `format`, resolves what it names (flows, actions, blocks, state keys,
//! presets, event files) and expands every test and `each:` row into a runnable [`Case`].
//!
//! Every problem is a `Diagnostic` against the test file's text in the workspace's source
//! table, so the `check` renderer shows it. Nothing here runs a flow: `authflow check` and the
//! language server load test files through [`from_loaded`] only for their diagnostics.

use super::format;
use crate::compile::Plan;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::load::Loaded;
use crate::run::directory::Directory;
use crate::run::event::SimEvent;
use crate::span::Span;
use crate::syntax::ast::Flow;
use crate::syntax::tree::{self, Key, Node, NodeValue};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The largest event or message file a test names (test files themselves are workspace
/// sources, bounded by `files::SOURCE_LIMIT`).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The deepest directory nesting searched under `tests/`.
const MAX_DEPTH: usize = 16;

/// One workspace with its tests, ready to run.
pub struct WorkspaceSuite {
    /// The workspace, its flows and every file read (test files included).
    pub loaded: Loaded,
    /// Identifies the tenant to the engine: the tenant id and the workspace root, so two
    /// workspaces never share a runtime even when they claim the same tenant id.
    pub tenant_key: String,
    pub directory: Directory,
    /// The flows the tests run, compiled.
    pub flows: Vec<SuiteFlow>,
    pub files: Vec<TestFile>,
    pub cases: Vec<Case>,
    /// Problems in test files (and in the flows they run); any error means nothing runs.
    pub diagnostics: Vec<Diagnostic>,
}

/// A flow some test runs.
pub struct SuiteFlow {
    pub name: String,
    pub file: FileId,
    /// The flow file as shown to the user.
    pub path: String,
    pub ast: Flow,
    pub plan: Plan,
}

/// One test file.
pub struct TestFile {
    pub file: FileId,
    /// Where it lives on disk (for `--update`).
    pub path: PathBuf,
    /// The path as shown (relative to the current directory when below it).
    pub display: String,
    /// The document, when it parsed as YAML.
    pub root: Option<Node>,
    /// Whether it parsed and validated without errors (`--update` writes only such files).
    pub valid: bool,
}

/// What a case runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A flow, by index into [`WorkspaceSuite::flows`].
    Flow(usize),
    /// One action alone, as the console's Test pane runs it.
    Action(String),
}

/// One runnable case: a test, or one row of a table-driven test.
pub struct Case {
    /// Index into [`WorkspaceSuite::files`].
    pub file: usize,
    /// The test's name, with the row's in brackets.
    pub name: String,
    pub target: Target,
    /// What the trace calls the event: the preset or file it started from.
    pub event_name: String,
    pub sim: SimEvent,
    /// Secret values that replace the environment's for this case.
    pub secrets: BTreeMap<String, String>,
    /// The merged expectations (defaults, test, row), every leaf with its span.
    pub expect: Option<Node>,
    /// For an event-stream action: the stream message it receives (its clock is the
    /// message's `time`; `sim` then holds only the case's recorded responses).
    pub message: Option<crate::streams::message::Message>,
    /// The test's (or row's) node, for line numbers.
    pub span: Span,
}

/// A message case's input: the name the trace shows, the message, and the recorded responses
/// its message file carried.
type MessageInput = (
    String,
    crate::streams::message::Message,
    BTreeMap<String, crate::run::event::RecordedResponse>,
);

/// Why a suite could not be loaded at all (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SuiteError(pub String);

/// Loads the workspace at `root` in environment `env` and its test files: every
/// `tests/**/*.test.yaml`, or only `only` (files or directories inside the workspace) when
/// given. A test file that cannot be read stops loading ([`Refused::Stop`]).
pub fn load(
    root: &Path,
    only: &[PathBuf],
    env: Option<&str>,
) -> Result<WorkspaceSuite, SuiteError> {
    let loaded = crate::load::load(None, Some(root), env).map_err(|e| SuiteError(e.to_string()))?;
    from_loaded(loaded, only, Refused::Stop)
}

/// What loading does with a test file it refuses to read (a link out of the workspace, not a
/// regular file, over the size limit, not UTF-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Loading stops with a [`SuiteError`]: a suite about to run (`authflow test`, publish,
    /// replay) never runs without one of its files.
    Stop,
    /// The file is an `unreadable-file` diagnostic and loading goes on, as for every other
    /// workspace file: `authflow check` and the language server report it with the rest.
    Report,
}

/// The test files of a workspace already loaded (in its environment): every
/// `tests/**/*.test.yaml`, or only `only`. Each file is read through the workspace
/// (`Workspace::read_source`: confined to the workspace, regular files, bounded, an editor's
/// unsaved buffer in place of the disk), so its text joins the workspace's source table.
/// Nothing runs: the flows the tests name are compiled, expectations resolved, and events
/// built, as [`runner::run`](super::runner::run) needs them.
pub fn from_loaded(
    loaded: Loaded,
    only: &[PathBuf],
    refused: Refused,
) -> Result<WorkspaceSuite, SuiteError> {
    let root = loaded.ws.root.clone().ok_or_else(|| {
        SuiteError("tests belong to a workspace (a directory with authflow.yaml)".into())
    })?;
    let directory = crate::load::directory(&loaded.ws);
    let mut paths = Vec::new();
    if only.is_empty() {
        find_test_files(&root.join("tests"), 0, &mut paths)?;
    } else {
        for path in only {
            let path = std::fs::canonicalize(path)
                .map_err(|e| SuiteError(format!("{}: {e}", path.display())))?;
            if !path.starts_with(&root) {
                return Err(SuiteError(format!(
                    "{} is outside the workspace {}",
                    path.display(),
                    root.display()
                )));
            }
            if path.is_dir() {
                find_test_files(&path, 0, &mut paths)?;
            } else {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths.dedup();
    let tenant_key = format!("{}@{}", loaded.ws.settings.tenant.id, root.display());
    let mut suite = WorkspaceSuite {
        loaded,
        tenant_key,
        directory,
        flows: Vec::new(),
        files: Vec::new(),
        cases: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut builder = Builder {
        root: root.clone(),
        facts: None,
        events: HashMap::new(),
        hashes: HashMap::new(),
    };
    for path in paths {
        let mut diagnostics = Vec::new();
        let Some(file) = suite.loaded.ws.read_source(&path, &mut diagnostics) else {
            match refused {
                Refused::Stop => {
                    let why = diagnostics.first().map(|d| d.message.clone());
                    return Err(SuiteError(
                        why.unwrap_or_else(|| format!("{} was not read", path.display())),
                    ));
                }
                Refused::Report => {
                    suite.diagnostics.append(&mut diagnostics);
                    continue;
                }
            }
        };
        let display = crate::workspace::display_path(&path);
        let root_node = match tree::parse(suite.loaded.ws.sources.text(file), file) {
            Ok(node) => {
                format::validate(&node, &format::FILE, file, &mut diagnostics);
                Some(node)
            }
            Err(mut d) => {
                diagnostics.append(&mut d);
                None
            }
        };
        let valid = root_node.is_some() && !diagnostics.iter().any(Diagnostic::is_error);
        suite.diagnostics.append(&mut diagnostics);
        suite.files.push(TestFile {
            file,
            path,
            display: display.display().to_string(),
            root: root_node,
            valid,
        });
    }
    for index in 0..suite.files.len() {
        if suite.files[index].valid {
            builder.file_cases(&mut suite, index);
        }
    }
    refuse_broken_streams(&mut suite);
    suite
        .diagnostics
        .sort_by_key(|d| (d.file, d.span.start, d.code));
    suite.diagnostics.dedup();
    Ok(suite)
}

/// A flow case delivers the events its run emits to the workspace's streams, so a stream
/// file that did not load or has errors would silently receive nothing: its errors stop the
/// suite, as a flow's do.
fn refuse_broken_streams(suite: &mut WorkspaceSuite) {
    if !suite
        .cases
        .iter()
        .any(|c| matches!(c.target, Target::Flow(_)))
    {
        return;
    }
    let sources = &suite.loaded.ws.sources;
    let in_streams_dir = |file: FileId| {
        let path = sources.path(file);
        path.parent().and_then(Path::file_name)
            == Some(std::ffi::OsStr::new(crate::streams::file::STREAMS_DIR))
    };
    let mut errors: Vec<Diagnostic> = suite
        .loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && in_streams_dir(d.file))
        .cloned()
        .collect();
    for stream in &suite.loaded.streams {
        let found = crate::check::check_stream(&suite.loaded.ws, stream);
        errors.extend(found.into_iter().filter(Diagnostic::is_error));
    }
    suite.diagnostics.append(&mut errors);
}

/// Walks `dir` for `*.test.yaml`, never following a symlinked directory.
fn find_test_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), SuiteError> {
    if depth > MAX_DEPTH || !dir.is_dir() {
        return Ok(());
    }
    let entries = crate::files::list_dir(dir, None).map_err(|e| SuiteError(e.to_string()))?;
    for path in entries {
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| SuiteError(format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            find_test_files(&path, depth + 1, out)?;
        } else if is_test_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether a file's name makes it a test file (`*.test.yaml`, `*.test.yml`).
pub fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
}

/// Reads a file the suite names: it must resolve inside the workspace (a symlink may not lead
/// out), be a regular file, and be at most [`MAX_FILE_BYTES`].
pub fn read_in_workspace(root: &Path, path: &Path) -> Result<String, SuiteError> {
    let limit = crate::files::Limit {
        bytes: MAX_FILE_BYTES,
        what: "test inputs",
    };
    crate::files::read_text(path, Some(root), limit).map_err(|e| SuiteError(e.to_string()))
}

/// The keys a defaults block, a test and a row may set, each layer over the one before.
#[derive(Default, Clone, Copy)]
struct Layer<'n> {
    node: Option<&'n Node>,
    event: Option<&'n Node>,
    message: Option<&'n Node>,
    now: Option<&'n Node>,
    directory: Option<&'n Node>,
    credentials: Option<&'n Node>,
    secrets: Option<&'n Node>,
    fetch: Option<&'n Node>,
    expect: Option<&'n Node>,
}

impl<'n> Layer<'n> {
    fn of(node: Option<&'n Node>) -> Layer<'n> {
        let get = |k| node.and_then(|n| n.get(k));
        Layer {
            node,
            event: get("event"),
            message: get("message"),
            now: get("now"),
            directory: get("directory"),
            credentials: get("credentials"),
            secrets: get("secrets"),
            fetch: get("fetch"),
            expect: get("expect"),
        }
    }
}

struct Builder {
    root: PathBuf,
    /// What the analysis knows of each action (its state keys), computed on first need.
    facts: Option<BTreeMap<String, crate::jsfacts::ActionFacts>>,
    /// Base events already read, by preset name or file path.
    events: HashMap<String, Result<Value, String>>,
    /// Hashes of directory passwords, by (user id, password).
    hashes: HashMap<(String, String), String>,
}

impl Builder {
    fn file_cases(&mut self, suite: &mut WorkspaceSuite, index: usize) {
        let file = suite.files[index].file;
        let Some(root) = suite.files[index].root.clone() else {
            return;
        };
        let defaults = Layer::of(root.get("defaults"));
        let file_target = (root.entry("flow"), root.entry("action"));
        if let (Some(_), Some((key, _))) = file_target {
            suite.diagnostics.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    key.span,
                    "a test file names both a flow and an action",
                )
                .help("a test runs a flow, or one action alone: keep one of the two"),
            );
            return;
        }
        for test in root.get("tests").map(Node::as_seq).unwrap_or_default() {
            let Some(name) = test.get("name").and_then(Node::as_str) else {
                continue;
            };
            let target = match (test.entry("flow"), test.entry("action")) {
                (Some(_), Some((key, _))) => {
                    suite.diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            file,
                            key.span,
                            "a test names both a flow and an action",
                        )
                        .help("a test runs a flow, or one action alone: keep one of the two"),
                    );
                    continue;
                }
                (Some((_, flow)), None) => Some((false, flow)),
                (None, Some((_, action))) => Some((true, action)),
                (None, None) => match file_target {
                    (Some((_, flow)), _) => Some((false, flow)),
                    (_, Some((_, action))) => Some((true, action)),
                    _ => None,
                },
            };
            let Some(target) = target else {
                suite.diagnostics.push(
                    Diagnostic::new(Code::InvalidValue, file, test.span, format!("test `{name}` runs neither a flow nor an action"))
                        .help("add `flow: <name or file>` (or `action: <slug>`) to the test or at the top of the file"),
                );
                continue;
            };
            let Some(target) = self.target(suite, file, target) else {
                continue;
            };
            let layer = Layer::of(Some(test));
            let rows = test.get("each").map(Node::as_seq).unwrap_or_default();
            if rows.is_empty() {
                self.case(
                    suite,
                    index,
                    name.to_string(),
                    &target,
                    &[defaults, layer],
                    test.span,
                );
            }
            for (i, row) in rows.iter().enumerate() {
                let row_name = row
                    .get("name")
                    .and_then(Node::as_str)
                    .map_or_else(|| format!("row {}", i + 1), str::to_string);
                let layers = [defaults, layer, Layer::of(Some(row))];
                self.case(
                    suite,
                    index,
                    format!("{name} [{row_name}]"),
                    &target,
                    &layers,
                    row.span,
                );
            }
        }
    }

    /// Resolves `flow: X` or `action: X`, compiling the flow on first use.
    fn target(
        &self,
        suite: &mut WorkspaceSuite,
        file: FileId,
        (action, node): (bool, &Node),
    ) -> Option<Target> {
        let wanted = node.as_str()?;
        if action {
            if suite.loaded.ws.actions.contains_key(wanted) {
                return Some(Target::Action(wanted.to_string()));
            }
            let names = suite.loaded.ws.actions.keys().map(String::as_str);
            suite
                .diagnostics
                .push(unknown(file, node.span, "action", wanted, names));
            return None;
        }
        if let Some(i) = suite
            .flows
            .iter()
            .position(|f| f.name == wanted || same_file(&self.root, &f.path, wanted))
        {
            return Some(Target::Flow(i));
        }
        let found = suite.loaded.flows.iter().find_map(|(id, flow)| {
            let flow = flow.as_ref()?;
            let path = suite.loaded.ws.sources.path(*id).display().to_string();
            (flow.name.value == wanted || same_file(&self.root, &path, wanted))
                .then(|| (*id, flow.clone(), path))
        });
        let Some((id, ast, path)) = found else {
            let names: Vec<String> = suite
                .loaded
                .flows
                .iter()
                .filter_map(|(_, f)| f.as_ref().map(|f| f.name.value.clone()))
                .collect();
            let mut d = unknown(
                file,
                node.span,
                "flow",
                wanted,
                names.iter().map(String::as_str),
            );
            if !suite.loaded.diagnostics.is_empty() {
                d = d.help("a flow file that does not parse is not listed: run `authflow check`");
                suite
                    .diagnostics
                    .extend(suite.loaded.diagnostics.iter().cloned());
            }
            suite.diagnostics.push(d);
            return None;
        };
        match crate::compile::compile(&suite.loaded.ws, id, &ast) {
            Ok(plan) => {
                suite.flows.push(SuiteFlow {
                    name: ast.name.value.clone(),
                    file: id,
                    path,
                    ast,
                    plan,
                });
                Some(Target::Flow(suite.flows.len() - 1))
            }
            Err(errors) => {
                suite.diagnostics.extend(errors);
                suite.diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        file,
                        node.span,
                        format!("flow `{wanted}` has errors and cannot run"),
                    )
                    .help("fix the errors reported for the flow (`authflow check`)"),
                );
                None
            }
        }
    }

    fn case(
        &mut self,
        suite: &mut WorkspaceSuite,
        index: usize,
        name: String,
        target: &Target,
        layers: &[Layer],
        span: Span,
    ) {
        let file = suite.files[index].file;
        let before = suite.diagnostics.len();
        let expect = layers
            .iter()
            .filter_map(|l| l.expect)
            .fold(None, |acc: Option<Node>, n| {
                Some(match acc {
                    Some(base) => merge(&base, n),
                    None => n.clone(),
                })
            });
        if let Some(expect) = &expect {
            let facts = self
                .facts
                .get_or_insert_with(|| crate::check::analyze_actions(&suite.loaded.ws));
            check_expect(suite, facts, file, target, expect);
        }
        let secrets: BTreeMap<String, String> = layers
            .iter()
            .filter_map(|l| l.secrets)
            .flat_map(|n| n.as_map().iter())
            .filter_map(|(k, v)| Some((k.name.clone(), v.as_str()?.to_string())))
            .collect();
        let stream_action = match target {
            Target::Action(slug) => suite
                .loaded
                .ws
                .actions
                .get(slug)
                .is_some_and(|a| a.meta.trigger == crate::catalog::api::Trigger::EventStream),
            Target::Flow(_) => false,
        };
        // `defaults:` apply to every test, so the keys that do not fit a test's target are
        // left out for it; a test or row that sets one is told so.
        let own = layers.get(1..).unwrap_or_default();
        let (misplaced, wrong, fix): (Vec<&Node>, _, _) = if stream_action {
            (
                own.iter()
                    .flat_map(|l| [l.event, l.credentials, l.directory])
                    .flatten()
                    .collect(),
                "an event-stream action receives a stream message, not a login event",
                "give `message:` (a message file or an inline envelope) instead of `event:`, `credentials:` and `directory:`",
            )
        } else {
            (
                own.iter().filter_map(|l| l.message).collect(),
                "only an event-stream action receives a `message:`",
                "a flow or a login action runs on `event:`; test an event-stream action (`action: <slug>`) with a message",
            )
        };
        for node in misplaced {
            suite
                .diagnostics
                .push(Diagnostic::new(Code::InvalidValue, file, node.span, wrong).help(fix));
        }
        let inputs: Vec<Layer> = layers
            .iter()
            .map(|l| {
                if stream_action {
                    Layer {
                        event: None,
                        credentials: None,
                        directory: None,
                        ..*l
                    }
                } else {
                    Layer {
                        message: None,
                        ..*l
                    }
                }
            })
            .collect();
        let message = if stream_action {
            self.message(suite, file, layers, span)
        } else {
            None
        };
        let event = self.event(suite, file, &inputs);
        if let Some(expect) = &expect {
            check_expect_kind(suite, file, target, stream_action, expect);
        }
        if suite.diagnostics[before..].iter().any(Diagnostic::is_error) {
            return;
        }
        let Some((mut event_name, mut sim)) = event else {
            return;
        };
        let message = match message {
            Some((name, message, fetch)) => {
                event_name = name;
                for (key, response) in fetch {
                    sim.fetch.entry(key).or_insert(response);
                }
                Some(message)
            }
            None if stream_action => return,
            None => None,
        };
        suite.cases.push(Case {
            file: index,
            name,
            target: target.clone(),
            event_name,
            sim,
            secrets,
            expect,
            message,
            span,
        });
    }

    /// Builds a message case's stream message: a base (a message file, or nothing for an
    /// inline envelope), attributes merged over it, the clock from `now:`, and the envelope's
    /// fixed attributes filled in. Also returns the name the trace shows. The recorded
    /// responses of a `{message, fetch}` file join the case's (the case's win).
    fn message(
        &mut self,
        suite: &mut WorkspaceSuite,
        file: FileId,
        layers: &[Layer],
        span: Span,
    ) -> Option<MessageInput> {
        let (base, patches) = base_and_patches(layers.iter().filter_map(|l| l.message));
        if base.is_none() && patches.is_empty() {
            suite.diagnostics.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    span,
                    "an event-stream action's test needs the message it receives",
                )
                .help("add `message:` (a message file such as events/message.json, or an inline envelope with `type`, `time` and `data`)"),
            );
            return None;
        }
        let tenant = suite.loaded.ws.settings.tenant.id.clone();
        let (name, mut wrapper) = match base {
            Some(node) => {
                let spec = node.as_str().unwrap_or_default();
                match self.base_message(spec) {
                    Ok(value) => (spec.to_string(), value),
                    Err(message) => {
                        suite.diagnostics.push(
                            Diagnostic::new(Code::InvalidValue, file, node.span, message).help(
                                "a message file is JSON: a CloudEvents envelope, or `{\"message\": ..., \"fetch\": ...}` as `authflow action test` reads it",
                            ),
                        );
                        return None;
                    }
                }
            }
            None => ("inline message".to_string(), json!({ "message": {} })),
        };
        merge_patches(&mut wrapper["message"], &patches);
        if let Value::Object(envelope) = &mut wrapper["message"] {
            let fixed = [
                (
                    "specversion",
                    json!(crate::catalog::stream_events::SPEC_VERSION),
                ),
                (
                    "source",
                    json!(crate::catalog::stream_events::tenant_urn(&tenant)),
                ),
                ("tenantid", json!(tenant)),
                ("id", json!("evt_test")),
            ];
            for (key, value) in fixed {
                envelope.entry(key).or_insert(value);
            }
            if let Some(now) = last_now(layers) {
                envelope.insert("time".into(), json!(now));
            }
        }
        match crate::streams::message::test_event(wrapper, &tenant) {
            Ok(test) => Some((name, test.message, test.fetch)),
            Err(errors) => {
                for error in errors {
                    let path = error.path.strip_prefix("message.").unwrap_or(&error.path);
                    let segments: Vec<&str> = path.split('.').collect();
                    let first = segments.first().copied().unwrap_or_default();
                    let node = patches
                        .iter()
                        .rev()
                        .find(|p| p.get(first).is_some())
                        .map(|p| p.deepest(&segments))
                        .or(base)
                        .or_else(|| patches.last().copied());
                    suite.diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            file,
                            node.map_or(span, |n| n.span),
                            format!("the message does not follow the event-type catalogue: {error}"),
                        )
                        .help("`authflow schema stream-event` prints the shape of every event type's message"),
                    );
                }
                None
            }
        }
    }

    /// A message file as `{message, fetch?, description?}`, cached by path.
    fn base_message(&mut self, spec: &str) -> Result<Value, String> {
        let key = format!("message:{spec}");
        if let Some(cached) = self.events.get(&key) {
            return cached.clone();
        }
        let path = self.root.join(spec);
        let loaded = read_in_workspace(&self.root, &path)
            .map_err(|e| e.0)
            .and_then(|text| {
                serde_json::from_str::<Value>(&text).map_err(|e| format!("{spec}: not JSON: {e}"))
            })
            .and_then(|value| match value {
                // A bare envelope, as `stream run` lines hold them.
                Value::Object(map) if !map.contains_key("message") => {
                    Ok(json!({ "message": Value::Object(map) }))
                }
                Value::Object(map) => Ok(Value::Object(map)),
                _ => Err(format!("{spec}: a message file holds a JSON object")),
            });
        self.events.insert(key, loaded.clone());
        loaded
    }

    /// Builds the case's event: base (preset or file), inline fields merged over it, then
    /// the clock, credentials, directory entries and recordings of every layer.
    fn event(
        &mut self,
        suite: &mut WorkspaceSuite,
        file: FileId,
        layers: &[Layer],
    ) -> Option<(String, SimEvent)> {
        let (base, patches) = base_and_patches(layers.iter().filter_map(|l| l.event));
        let (name, mut event) = match base {
            Some(node) => {
                let spec = node.as_str().unwrap_or_default();
                match self.base_event(spec) {
                    Ok(value) => (spec.to_string(), value),
                    Err(message) => {
                        let mut d = Diagnostic::new(Code::InvalidValue, file, node.span, message);
                        if crate::run::presets::find(spec).is_none() && !looks_like_path(spec) {
                            d = match crate::catalog::closest(spec, crate::run::presets::names()) {
                                Some(close) => d.help(format!("did you mean the preset `{close}`?")),
                                None => d.help(format!(
                                    "an event is a preset ({}) or an event file relative to the workspace",
                                    crate::run::presets::names().join(", ")
                                )),
                            };
                        }
                        suite.diagnostics.push(d);
                        return None;
                    }
                }
            }
            None => ("inline".to_string(), json!({})),
        };
        merge_patches(&mut event, &patches);
        let Value::Object(top) = &mut event else {
            return None;
        };
        if let Some(now) = last_now(layers) {
            top.insert("now".into(), json!(now));
        }
        let mut otp_spec: Option<&Node> = None;
        for credentials in layers.iter().filter_map(|l| l.credentials) {
            let target = top.entry("credentials").or_insert_with(|| json!({}));
            for (key, value) in credentials.as_map() {
                if key.name == "otp" && matches!(value.value, NodeValue::Map(_)) {
                    otp_spec = Some(value);
                    if let Value::Object(c) = target {
                        c.remove("otp");
                    }
                    continue;
                }
                if key.name == "otp" {
                    otp_spec = None;
                }
                target[&key.name] = value.to_json();
            }
        }
        for directory in layers.iter().filter_map(|l| l.directory) {
            for entry in directory.as_seq() {
                let user = self.directory_user(entry);
                match top.entry("directory").or_insert_with(|| json!([])) {
                    Value::Array(users) => users.push(user),
                    other => *other = json!([user]),
                }
            }
        }
        for fetch in layers.iter().filter_map(|l| l.fetch) {
            for recording in fetch.as_seq() {
                let (key, response) = recording_of(recording);
                match top.entry("fetch").or_insert_with(|| json!({})) {
                    Value::Object(map) => {
                        map.insert(key, response);
                    }
                    other => *other = json!({ key: response }),
                }
            }
        }
        let mut sim = match crate::run::event::parse(event) {
            Ok(sim) => sim,
            Err(errors) => {
                for error in errors {
                    let node = error_node(&error.path, base, &patches, layers);
                    let (file, span) = match node {
                        Some(n) => (file, n.span),
                        None => (
                            file,
                            layers
                                .iter()
                                .rev()
                                .find_map(|l| l.node)
                                .map_or_else(Span::default, |n| n.span),
                        ),
                    };
                    suite.diagnostics.push(
                        Diagnostic::new(Code::InvalidValue, file, span, format!("the event does not follow the event object reference: {error}"))
                            .help("event fields are those of the event object reference; `authflow presets show NAME` prints a whole event"),
                    );
                }
                return None;
            }
        };
        if let Some(spec) = otp_spec {
            match computed_otp(spec, &sim, &suite.directory) {
                Ok(code) => sim.credentials.otp = Some(code),
                Err(message) => {
                    suite.diagnostics.push(
                        Diagnostic::new(Code::InvalidValue, file, spec.span, message)
                            .help("a computed OTP needs `credentials.identifier` to name a user with a `totp_secret` (or give `secret:`)"),
                    );
                    return None;
                }
            }
        }
        Some((name, sim))
    }

    fn base_event(&mut self, spec: &str) -> Result<Value, String> {
        if let Some(cached) = self.events.get(spec) {
            return cached.clone();
        }
        let loaded = match crate::run::presets::find(spec) {
            Some(text) => serde_json::from_str(text).map_err(|e| format!("preset `{spec}`: {e}")),
            None if looks_like_path(spec) => {
                let path = self.root.join(spec);
                read_in_workspace(&self.root, &path)
                    .map_err(|e| e.0)
                    .and_then(|text| {
                        serde_json::from_str(&text).map_err(|e| format!("{spec}: not JSON: {e}"))
                    })
            }
            None => Err(format!("`{spec}` is not an event preset")),
        };
        self.events.insert(spec.to_string(), loaded.clone());
        loaded
    }

    /// A directory entry as users.yaml holds it; `password` becomes an argon2id hash.
    fn directory_user(&mut self, entry: &Node) -> Value {
        let mut user = entry.to_json();
        if let Value::Object(map) = &mut user
            && let Some(Value::String(password)) = map.remove("password")
        {
            let id = map
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let hash = self
                .hashes
                .entry((id.clone(), password.clone()))
                .or_insert_with(|| test_password_hash(&id, &password))
                .clone();
            map.insert("password_hash".into(), json!(hash));
        }
        user
    }
}

/// An argon2id hash with a fixed salt derived from the user id and light parameters
/// (m = 256 KiB, t = 1): test data must be deterministic and cheap to verify, so a case's
/// Password Check costs tens of microseconds rather than the milliseconds of real parameters.
fn test_password_hash(id: &str, password: &str) -> String {
    use argon2::PasswordHasher;
    use sha2::Digest;
    let salt = sha2::Sha256::digest(format!("authflow-test-salt:{id}").as_bytes());
    let Ok(params) = argon2::Params::new(256, 1, 1, None) else {
        return String::new();
    };
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    argon
        .hash_password_with_salt(password.as_bytes(), &salt[..16])
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// The base of a layered input (`event:` or `message:`): the last layer's name, or `from:` of
/// its mapping, and the mappings merged over that base, in order. A name or a `from:` starts
/// over; a mapping without `from:` patches what the layers before it built.
fn base_and_patches<'n>(
    nodes: impl Iterator<Item = &'n Node>,
) -> (Option<&'n Node>, Vec<&'n Node>) {
    let mut base: Option<&Node> = None;
    let mut patches: Vec<&Node> = Vec::new();
    for node in nodes {
        match &node.value {
            NodeValue::Str(_) => {
                base = Some(node);
                patches.clear();
            }
            NodeValue::Map(_) => {
                if let Some(from) = node.get("from") {
                    base = Some(from);
                    patches.clear();
                }
                patches.push(node);
            }
            _ => {}
        }
    }
    (base, patches)
}

/// Merges the patches of [`base_and_patches`] over `base`, in order, each without its `from:`.
fn merge_patches(base: &mut Value, patches: &[&Node]) {
    for patch in patches {
        let mut fields = patch.to_json();
        if let Value::Object(map) = &mut fields {
            map.remove("from");
        }
        merge_json(base, fields);
    }
}

fn looks_like_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".json")
}

fn same_file(root: &Path, shown: &str, wanted: &str) -> bool {
    match (
        std::fs::canonicalize(shown),
        std::fs::canonicalize(root.join(wanted)),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn unknown<'a>(
    file: FileId,
    span: Span,
    what: &str,
    name: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownTestTarget,
        file,
        span,
        format!("no {what} `{name}` in the workspace"),
    );
    match crate::catalog::closest(name, known.clone()) {
        Some(close) => d.help(format!("did you mean `{close}`?")),
        None => {
            let all: Vec<&str> = known.collect();
            if all.is_empty() {
                d.help(format!("the workspace has no {what}s"))
            } else {
                d.help(format!("the workspace's {what}s: {}", all.join(", ")))
            }
        }
    }
}

/// A recording entry as an event file's `fetch` key and value.
fn recording_of(node: &Node) -> (String, Value) {
    let url = node.get("url").and_then(Node::as_str).unwrap_or_default();
    let key = match node.get("method").and_then(Node::as_str) {
        Some(method) => format!("{} {url}", method.to_ascii_uppercase()),
        None => url.to_string(),
    };
    let mut response = Map::new();
    for field in ["status", "headers", "body"] {
        if let Some(v) = node.get(field) {
            response.insert(field.into(), v.to_json());
        }
    }
    (key, Value::Object(response))
}

/// The test-file node an event error's path points into.
fn error_node<'n>(
    path: &str,
    base: Option<&'n Node>,
    patches: &[&'n Node],
    layers: &[Layer<'n>],
) -> Option<&'n Node> {
    let path = path.strip_prefix("event.").unwrap_or(path);
    let segments: Vec<&str> = path.split('.').collect();
    let first = segments.first().copied().unwrap_or_default();
    let layer_node = |pick: fn(&Layer<'n>) -> Option<&'n Node>| layers.iter().rev().find_map(pick);
    match first {
        "credentials" => layer_node(|l| l.credentials),
        "directory" => layer_node(|l| l.directory),
        "fetch" => layer_node(|l| l.fetch),
        "now" => layer_node(|l| l.now),
        _ => None,
    }
    .or_else(|| {
        patches
            .iter()
            .rev()
            .find(|p| p.get(first).is_some())
            .map(|p| p.deepest(&segments))
    })
    .or(base)
}

fn computed_otp(spec: &Node, sim: &SimEvent, directory: &Directory) -> Result<String, String> {
    let offset = match spec.get("offset_seconds").map(|n| &n.value) {
        Some(NodeValue::Int(i)) => *i,
        _ => 0,
    };
    let secret = match spec.get("secret").and_then(Node::as_str) {
        Some(secret) => secret.to_string(),
        None => {
            let identifier = sim
                .credentials
                .identifier
                .as_deref()
                .ok_or("a computed OTP needs `credentials.identifier` to find the user")?;
            let user = Directory::find_in(&sim.directory, identifier)
                .or_else(|| directory.find(identifier))
                .ok_or_else(|| {
                    format!("no user `{identifier}` in the directory to compute an OTP for")
                })?;
            user.totp_secret.clone().ok_or_else(|| {
                format!(
                    "user `{}` has no `totp_secret` to compute an OTP from",
                    user.id
                )
            })?
        }
    };
    let key = crate::run::crypto::base32_decode(&secret).ok_or("the TOTP secret is not base32")?;
    Ok(crate::run::crypto::totp(
        &key,
        sim.now.saturating_add(offset),
    ))
}

/// `over` merged into `base`: mappings key by key (recursively), anything else replaced.
pub fn merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (NodeValue::Map(a), NodeValue::Map(b)) => {
            let mut entries: Vec<(Key, Node)> = a.clone();
            for (key, value) in b {
                match entries.iter_mut().find(|(k, _)| k.name == key.name) {
                    Some(slot) => *slot = (key.clone(), merge(&slot.1, value)),
                    None => entries.push((key.clone(), value.clone())),
                }
            }
            Node {
                span: over.span,
                value: NodeValue::Map(entries),
                merged: true,
            }
        }
        _ => over.clone(),
    }
}

/// JSON `over` merged into `base`: objects key by key, anything else replaced.
pub fn merge_json(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge_json(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

/// Checks that the expectations name blocks, actions and state keys the target has.
fn check_expect(
    suite: &mut WorkspaceSuite,
    facts: &BTreeMap<String, crate::jsfacts::ActionFacts>,
    file: FileId,
    target: &Target,
    expect: &Node,
) {
    let (blocks, actions): (Vec<String>, Vec<String>) = match target {
        Target::Flow(i) => {
            let plan = &suite.flows[*i].plan;
            (
                plan.blocks.iter().map(|b| b.id.clone()).collect(),
                plan.actions.keys().cloned().collect(),
            )
        }
        Target::Action(slug) => (vec![slug.clone()], vec![slug.clone()]),
    };
    let mut out = Vec::new();
    let block_ref = |node: &Node, out: &mut Vec<Diagnostic>| {
        if let Some(id) = node.as_str()
            && !blocks.iter().any(|b| b == id)
        {
            out.push(
                unknown(
                    file,
                    node.span,
                    "block",
                    id,
                    blocks.iter().map(String::as_str),
                )
                .message_for("block", id, target),
            );
        }
    };
    if let Some(lists) = expect.get("blocks") {
        for (_, list) in lists.as_map() {
            for id in list.as_seq() {
                block_ref(id, &mut out);
            }
        }
    }
    for list in ["logs", "fetches"] {
        for entry in expect.get(list).map(Node::as_seq).unwrap_or_default() {
            if let Some(block) = entry.get("block") {
                block_ref(block, &mut out);
            }
        }
    }
    for (key, _) in expect.get("failures").map(Node::as_map).unwrap_or_default() {
        block_ref(
            &Node {
                span: key.span,
                value: NodeValue::Str(key.name.clone()),
                merged: false,
            },
            &mut out,
        );
    }
    if let Some(state) = expect.get("state") {
        for (slug, keys) in state.as_map() {
            if !actions.contains(&slug.name) {
                out.push(
                    unknown(
                        file,
                        slug.span,
                        "action",
                        &slug.name,
                        actions.iter().map(String::as_str),
                    )
                    .message_for("action", &slug.name, target),
                );
                continue;
            }
            let Some(facts) = facts.get(&slug.name) else {
                continue;
            };
            // Only an action whose every write has a literal key has a known set of keys.
            let written: Option<BTreeSet<&str>> = facts
                .state_writes
                .iter()
                .map(|w| w.key.as_deref())
                .collect();
            let Some(written) = written else {
                continue;
            };
            for (key, _) in keys.as_map() {
                if !written.contains(key.name.as_str()) {
                    let d = Diagnostic::new(
                        Code::UnknownTestTarget,
                        file,
                        key.span,
                        format!(
                            "action `{}` never writes state key `{}`",
                            slug.name, key.name
                        ),
                    );
                    out.push(
                        match crate::catalog::closest(&key.name, written.iter().copied()) {
                            Some(close) => d.help(format!("did you mean `{close}`?")),
                            None => d.help(format!(
                                "its `api.state.set` keys: {}",
                                written.iter().copied().collect::<Vec<_>>().join(", ")
                            )),
                        },
                    );
                }
            }
        }
    }
    for regex in regex_nodes(expect) {
        if let Some(text) = regex.as_str()
            && let Err(e) = regex::Regex::new(text)
        {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    regex.span,
                    "not a valid regular expression",
                )
                .help(first_line(&e.to_string())),
            );
        }
    }
    suite.diagnostics.append(&mut out);
}

/// The expectation keys a message case can be held to: an event-stream action has no
/// decision, state, claims or session, and emits nothing.
const MESSAGE_EXPECT_KEYS: &[&str] = &["outcome", "blocks", "logs", "fetches", "failures"];

/// Checks that the expectations fit what the case runs: the outcomes of its kind, no login
/// results for a message case, emitted events only for a flow (with known event types,
/// streams and stream actions).
fn check_expect_kind(
    suite: &mut WorkspaceSuite,
    file: FileId,
    target: &Target,
    message_case: bool,
    expect: &Node,
) {
    let mut out = Vec::new();
    if let Some(outcome) = expect.get("outcome")
        && let Some(value) = outcome.as_str()
    {
        let (allowed, what) = if message_case {
            (format::MESSAGE_OUTCOMES, "a message case")
        } else {
            (format::LOGIN_OUTCOMES, "a login run")
        };
        if !allowed.contains(&value) {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    outcome.span,
                    format!("{what} does not end `{value}`"),
                )
                .help(format!(
                    "{what} ends {}",
                    allowed
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
            );
        }
    }
    for (key, node) in expect.as_map() {
        if message_case && !MESSAGE_EXPECT_KEYS.contains(&key.name.as_str()) {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    key.span,
                    format!("an event-stream action's run has no `{}`", key.name),
                )
                .help(format!(
                    "a message case can expect {}",
                    MESSAGE_EXPECT_KEYS.join(", ")
                )),
            );
        } else if key.name == "events" && !matches!(target, Target::Flow(_)) {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    file,
                    key.span,
                    "only a flow run emits events to streams",
                )
                .help("expect `events:` in a test that runs a flow"),
            );
        } else if key.name == "events" {
            check_emitted(suite, file, node, &mut out);
        }
    }
    suite.diagnostics.append(&mut out);
}

/// `events:` entries name known event types, streams and the streams' actions.
fn check_emitted(suite: &WorkspaceSuite, file: FileId, events: &Node, out: &mut Vec<Diagnostic>) {
    let streams = &suite.loaded.streams;
    for entry in events.as_seq() {
        if let Some(ty) = entry.get("type")
            && let Some(name) = ty.as_str()
            && crate::catalog::stream_events::event_type(name).is_none()
        {
            let d = Diagnostic::new(
                Code::UnknownTestTarget,
                file,
                ty.span,
                format!("no event type `{name}`"),
            );
            out.push(match crate::catalog::stream_events::suggest(name) {
                Some(close) => d.help(format!("did you mean `{close}`?")),
                None => d.help(format!(
                    "the event types: {}",
                    crate::catalog::stream_events::names().join(", ")
                )),
            });
        }
        let stream_names = streams.iter().map(|s| s.name.as_str());
        let named = entry
            .get("streams")
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .chain(
                entry
                    .get("deliveries")
                    .map(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|d| d.get("stream")),
            );
        for node in named {
            if let Some(name) = node.as_str()
                && !streams.iter().any(|s| s.name == name)
            {
                out.push(unknown(
                    file,
                    node.span,
                    "stream",
                    name,
                    stream_names.clone(),
                ));
            }
        }
        let bound: BTreeSet<&str> = streams
            .iter()
            .flat_map(|s| s.spec.actions.iter().map(|a| a.value.as_str()))
            .collect();
        for delivery in entry
            .get("deliveries")
            .map(Node::as_seq)
            .unwrap_or_default()
        {
            if let Some(action) = delivery.get("action")
                && let Some(slug) = action.as_str()
                && !bound.contains(slug)
            {
                out.push(unknown(
                    file,
                    action.span,
                    "stream action",
                    slug,
                    bound.iter().copied(),
                ));
            }
        }
    }
}

/// Every `regex:` value in the expectations.
fn regex_nodes(expect: &Node) -> Vec<&Node> {
    let mut found = Vec::new();
    if let Some(r) = expect.get("reason").and_then(|r| r.get("regex")) {
        found.push(r);
    }
    for entry in expect.get("logs").map(Node::as_seq).unwrap_or_default() {
        found.extend(entry.get("regex"));
    }
    for (_, failure) in expect.get("failures").map(Node::as_map).unwrap_or_default() {
        found.extend(failure.get("regex"));
    }
    for event in expect.get("events").map(Node::as_seq).unwrap_or_default() {
        for delivery in event
            .get("deliveries")
            .map(Node::as_seq)
            .unwrap_or_default()
        {
            for log in delivery.get("logs").map(Node::as_seq).unwrap_or_default() {
                found.extend(log.get("regex"));
            }
            found.extend(delivery.get("failure").and_then(|f| f.get("regex")));
        }
    }
    found
}

fn first_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_string()
}

trait ForTarget {
    fn message_for(self, what: &str, name: &str, target: &Target) -> Diagnostic;
}

impl ForTarget for Diagnostic {
    /// Words the message for the target: a flow has blocks, an action alone has only itself.
    fn message_for(mut self, what: &str, name: &str, target: &Target) -> Diagnostic {
        self.message = match target {
            Target::Flow(_) => format!("the flow has no {what} `{name}`"),
            Target::Action(slug) => format!("`{name}` is not the action under test (`{slug}`)"),
        };
        self
    }
}

/// The `now:` the innermost layer that sets one gives (rows override tests, tests defaults).
fn last_now<'n>(layers: &[Layer<'n>]) -> Option<&'n str> {
    layers
        .iter()
        .filter_map(|l| l.now)
        .next_back()
        .and_then(Node::as_str)
}
