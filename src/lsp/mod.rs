//! `authflow lsp`: a Language Server Protocol server over stdio for flows (YAML and the DSL),
//! action and module sources, and the workspace YAML files.
//!
//! The core is synchronous (lsp-server, as rust-analyzer uses): one thread reads messages,
//! applies edits to the open documents at once, and answers requests from a fresh analysis.
//! Diagnostics are debounced on both edges: the first change after a quiet spell (no publish
//! for the debounce window) is checked at once, together with whatever else has already
//! arrived; changes that follow within the window are coalesced until the buffers are quiet
//! for the window. They are published for every file of the workspace that has any (and
//! cleared where they went away).
//!
//! The pieces: `position` converts byte spans to LSP positions (UTF-16, or UTF-8 when the
//! client offers it); `analysis` loads and checks a workspace with the editor's buffers in
//! place of the disk through the same calls as `authflow check`; `diagnostics` converts the
//! result; `cursor` tells where in a file's structure a position is, from the text alone
//! (so it works on text that does not parse yet); `complete`, `hover`, `definition` and
//! `symbols` answer the requests. This module owns the protocol and the documents; it must
//! not decide anything about flows itself.

pub mod analysis;
mod complete;
mod cursor;
mod definition;
pub mod diagnostics;
mod hover;
mod place;
pub mod position;
mod symbols;

use analysis::{Analysis, FileKind};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    InitializeParams, PositionEncodingKind, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind, Url,
};
use position::{Encoding, LineIndex};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How the server behaves; the client can set these in `initializationOptions`.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The debounce window: a change within this long of the last publish waits until the
    /// buffers have been quiet this long; a change after a quiet spell is checked at once.
    pub debounce: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            debounce: Duration::from_millis(DEFAULT_DEBOUNCE_MS),
        }
    }
}

/// A burst of keystrokes arrives a few milliseconds apart; a pause this long ends it.
pub const DEFAULT_DEBOUNCE_MS: u64 = 15;

/// Workspaces are looked for this many directories below each workspace folder.
const ROOT_SEARCH_DEPTH: usize = 4;
/// At most this many authflow workspaces are analysed from the workspace folders.
const MAX_ROOTS: usize = 64;

/// Serves over standard input and output until the client says `exit`.
pub fn run_stdio(options: Options) -> Result<(), String> {
    let (connection, io_threads) = Connection::stdio();
    serve(connection, options)?;
    io_threads.join().map_err(|e| format!("lsp transport: {e}"))
}

/// Serves over `connection`: the initialize handshake, then the main loop. Tests and the
/// benchmark call this with an in-memory connection.
pub fn serve(connection: Connection, options: Options) -> Result<(), String> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| format!("lsp initialize: {e}"))?;
    let params: InitializeParams =
        serde_json::from_value(params).map_err(|e| format!("lsp initialize params: {e}"))?;
    let mut options = options;
    if let Some(ms) = params
        .initialization_options
        .as_ref()
        .and_then(|o| o.get("debounceMs"))
        .and_then(|v| v.as_u64())
    {
        options.debounce = Duration::from_millis(ms.min(10_000));
    }
    let offers_utf8 = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let encoding = if offers_utf8 {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let result = serde_json::json!({
        "capabilities": capabilities(encoding),
        "serverInfo": { "name": "authflow", "version": env!("CARGO_PKG_VERSION") },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| format!("lsp initialize: {e}"))?;
    let mut server = Server::new(connection, &params, encoding, options);
    server.discover_roots(&params);
    server.publish_all();
    server.run()
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    use lsp_types::{CompletionOptions, HoverProviderCapability, OneOf};
    ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            lsp_types::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(lsp_types::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(
                [".", ":", " ", "{", "=", "-"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            ..Default::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..Default::default()
    }
}

/// An open document: the client's URI and the text as edited so far.
struct Document {
    uri: Url,
    version: i32,
    text: String,
}

/// What one analysis covers: an authflow workspace, or a flow file outside any.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Root(PathBuf),
    Lone(PathBuf),
}

#[derive(Default)]
struct Unit {
    analysis: Option<Rc<Analysis>>,
    /// The buffers or the disk changed since `analysis` was made.
    stale: bool,
    /// Diagnostics are due for publishing.
    unpublished: bool,
    /// URIs that currently show diagnostics from this unit.
    published: BTreeSet<Url>,
    /// For each flow file, the latest analysis in which it parsed: completion in a buffer
    /// that does not parse yet still knows the flow's blocks and dataflow.
    parsed: BTreeMap<PathBuf, Rc<Analysis>>,
}

struct Server {
    connection: Connection,
    encoding: Encoding,
    style: diagnostics::Style,
    options: Options,
    docs: BTreeMap<PathBuf, Document>,
    units: BTreeMap<Key, Unit>,
    /// When diagnostics are due (a change is pending), if one is.
    due: Option<Instant>,
    /// When diagnostics were last published.
    last_publish: Option<Instant>,
    next_request: i32,
    watch_files: bool,
}

impl Server {
    fn new(
        connection: Connection,
        params: &InitializeParams,
        encoding: Encoding,
        options: Options,
    ) -> Server {
        let text_document = params.capabilities.text_document.as_ref();
        let related_information = text_document
            .and_then(|t| t.publish_diagnostics.as_ref())
            .and_then(|p| p.related_information)
            .unwrap_or(false);
        let watch_files = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|w| w.dynamic_registration)
            .unwrap_or(false);
        Server {
            connection,
            encoding,
            style: diagnostics::Style {
                encoding,
                related_information,
            },
            options,
            docs: BTreeMap::new(),
            units: BTreeMap::new(),
            due: None,
            last_publish: None,
            next_request: 0,
            watch_files,
        }
    }

    /// Finds the authflow workspaces in the client's workspace folders (a folder that is one,
    /// or holds some a few levels down, as a repository of examples does).
    fn discover_roots(&mut self, params: &InitializeParams) {
        #[allow(deprecated)] // `root_uri` is what older clients send instead of folders.
        let mut folders: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().ok())
            .chain(params.root_uri.as_ref().and_then(|u| u.to_file_path().ok()))
            .collect();
        folders.dedup();
        let mut roots = BTreeSet::new();
        for folder in folders {
            if let Some(root) = crate::workspace::discover(&folder) {
                roots.insert(root);
            }
            find_roots(&folder, ROOT_SEARCH_DEPTH, &mut roots);
        }
        for root in roots.into_iter().take(MAX_ROOTS) {
            self.units.insert(
                Key::Root(root),
                Unit {
                    stale: true,
                    unpublished: true,
                    ..Unit::default()
                },
            );
        }
        if self.watch_files {
            self.register_file_watcher();
        }
    }

    fn register_file_watcher(&mut self) {
        use lsp_types::{
            DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, Registration,
            RegistrationParams,
        };
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: ["**/*.yaml", "**/*.yml", "**/*.flow", "**/*.js"]
                .iter()
                .map(|glob| FileSystemWatcher {
                    glob_pattern: GlobPattern::String(glob.to_string()),
                    kind: None,
                })
                .collect(),
        };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: "authflow-files".into(),
                method: lsp_types::notification::DidChangeWatchedFiles::METHOD.into(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        self.next_request += 1;
        let request = Request::new(
            RequestId::from(self.next_request),
            lsp_types::request::RegisterCapability::METHOD.into(),
            params,
        );
        self.send(request.into());
    }

    fn run(mut self) -> Result<(), String> {
        loop {
            let message = match self.due {
                Some(due) => {
                    // Messages already waiting are taken first (an elapsed deadline waits for
                    // nothing), so a burst that arrived together is checked once.
                    let wait = due.saturating_duration_since(Instant::now());
                    match self.connection.receiver.recv_timeout(wait) {
                        Ok(message) => message,
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                            self.due = None;
                            self.publish_all();
                            self.last_publish = Some(Instant::now());
                            continue;
                        }
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
                    }
                }
                None => match self.connection.receiver.recv() {
                    Ok(message) => message,
                    Err(_) => return Ok(()),
                },
            };
            match message {
                Message::Request(request) => {
                    if self
                        .connection
                        .handle_shutdown(&request)
                        .map_err(|e| format!("lsp shutdown: {e}"))?
                    {
                        return Ok(());
                    }
                    self.on_request(request);
                }
                Message::Notification(notification) => {
                    if notification.method == lsp_types::notification::Exit::METHOD {
                        return Ok(());
                    }
                    self.on_notification(notification);
                }
                Message::Response(_) => {}
            }
        }
    }

    fn send(&self, message: Message) {
        // A client that went away is noticed by the receiving side, which then ends the loop.
        let _ = self.connection.sender.send(message);
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        self.send(Notification::new(N::METHOD.into(), params).into());
    }

    fn show_error(&self, message: String) {
        self.notify::<lsp_types::notification::ShowMessage>(lsp_types::ShowMessageParams {
            typ: lsp_types::MessageType::ERROR,
            message,
        });
    }

    // ---- documents ----

    fn on_notification(&mut self, notification: Notification) {
        use lsp_types::notification::*;
        use lsp_types::{
            DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
        };
        let method = notification.method.clone();
        let result = match method.as_str() {
            DidOpenTextDocument::METHOD => {
                parse::<DidOpenTextDocumentParams>(notification).map(|p| self.open(p.text_document))
            }
            DidChangeTextDocument::METHOD => {
                parse::<DidChangeTextDocumentParams>(notification).map(|p| self.change(p))
            }
            DidCloseTextDocument::METHOD => parse::<DidCloseTextDocumentParams>(notification)
                .map(|p| self.close(&p.text_document.uri)),
            DidSaveTextDocument::METHOD | DidChangeWatchedFiles::METHOD => {
                self.all_changed();
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.show_error(format!("authflow lsp: bad `{method}` notification: {e}"));
        }
    }

    fn open(&mut self, item: lsp_types::TextDocumentItem) {
        let Some(path) = file_path(&item.uri) else {
            return;
        };
        self.docs.insert(
            path.clone(),
            Document {
                uri: item.uri,
                version: item.version,
                text: item.text,
            },
        );
        self.changed(&path);
    }

    fn change(&mut self, params: lsp_types::DidChangeTextDocumentParams) {
        let Some(path) = file_path(&params.text_document.uri) else {
            return;
        };
        let Some(doc) = self.docs.get_mut(&path) else {
            return;
        };
        for change in params.content_changes {
            match change.range {
                Some(range) => {
                    let span = LineIndex::new(&doc.text, self.encoding).span(range);
                    doc.text.replace_range(span.range(), &change.text);
                }
                None => doc.text = change.text,
            }
        }
        doc.version = params.text_document.version;
        self.changed(&path);
    }

    fn close(&mut self, uri: &Url) {
        let Some(path) = file_path(uri) else { return };
        self.docs.remove(&path);
        let lone = Key::Lone(path.clone());
        if let Some(unit) = self.units.remove(&lone) {
            for uri in unit.published {
                self.publish(uri, None, Vec::new());
            }
        }
        self.changed(&path);
    }

    /// A buffer changed: its unit's analysis is stale and diagnostics are due.
    fn changed(&mut self, path: &Path) {
        if let Some(key) = self.key_of(path) {
            let unit = self.units.entry(key).or_default();
            unit.stale = true;
            unit.unpublished = true;
            self.schedule();
        }
    }

    /// Sets when diagnostics are due after a change: at once after a quiet spell (or when
    /// already due: the publish about to run takes this change too), else once the buffers
    /// have been quiet for the debounce window.
    fn schedule(&mut self) {
        let now = Instant::now();
        let window = self.options.debounce;
        let quiet = self
            .last_publish
            .is_none_or(|at| now.duration_since(at) >= window);
        self.due = Some(match self.due {
            Some(due) if due <= now => due,
            None if quiet => now,
            _ => now + window,
        });
    }

    /// Files changed on disk: every analysis is stale.
    fn all_changed(&mut self) {
        for unit in self.units.values_mut() {
            unit.stale = true;
            unit.unpublished = true;
        }
        self.schedule();
    }

    /// Which analysis a file belongs to: its workspace, else (for a flow) its own.
    fn key_of(&self, path: &Path) -> Option<Key> {
        let dir = path.parent()?;
        if let Some(root) = crate::workspace::discover(dir) {
            return Some(Key::Root(root));
        }
        let text = self.docs.get(path).map_or("", |d| d.text.as_str());
        matches!(FileKind::of(path, None, text), Some(FileKind::Flow(_)))
            .then(|| Key::Lone(path.to_path_buf()))
    }

    // ---- analysis and diagnostics ----

    /// The unit's analysis, recomputed when stale.
    fn analysis(&mut self, key: &Key) -> Option<Rc<Analysis>> {
        let unit = self.units.get(key)?;
        if !unit.stale {
            return unit.analysis.clone();
        }
        let (root, lone) = match key {
            Key::Root(root) => (Some(root.as_path()), None),
            Key::Lone(path) => (None, Some(path)),
        };
        let overlay: BTreeMap<PathBuf, String> = self
            .docs
            .iter()
            .filter(|(path, _)| match key {
                Key::Root(root) => path.starts_with(root),
                Key::Lone(lone) => *path == lone,
            })
            .map(|(path, doc)| (path.clone(), doc.text.clone()))
            .collect();
        let extra_flows: Vec<PathBuf> = overlay
            .iter()
            .filter(|(path, text)| {
                lone.is_some() || matches!(FileKind::of(path, root, text), Some(FileKind::Flow(_)))
            })
            .map(|(path, _)| path.clone())
            .collect();
        match Analysis::load(root, &extra_flows, &overlay) {
            Ok(analysis) => {
                let analysis = Rc::new(analysis);
                let unit = self.units.get_mut(key)?;
                for (file, _) in analysis.flows() {
                    unit.parsed
                        .insert(analysis.path(file).to_path_buf(), analysis.clone());
                }
                unit.analysis = Some(analysis);
                unit.stale = false;
            }
            Err(e) => {
                self.show_error(format!("authflow lsp: {e}"));
                let unit = self.units.get_mut(key)?;
                unit.stale = false;
            }
        }
        self.units.get(key)?.analysis.clone()
    }

    fn publish_all(&mut self) {
        let keys: Vec<Key> = self
            .units
            .iter()
            .filter(|(_, u)| u.unpublished)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.publish_unit(&key);
        }
    }

    fn publish_unit(&mut self, key: &Key) {
        let Some(analysis) = self.analysis(key) else {
            return;
        };
        let uri_of = |file| self.uri(analysis.path(file));
        let by_file = diagnostics::by_file(&analysis, self.style, &uri_of);
        let mut now = BTreeSet::new();
        let mut batches = Vec::new();
        for (file, list) in by_file {
            let path = analysis.path(file);
            let Some(uri) = self.uri(path) else { continue };
            let version = self.docs.get(path).map(|d| d.version);
            now.insert(uri.clone());
            batches.push((uri, version, list));
        }
        // Open documents get their (possibly empty) list for every new version, so the
        // editor knows the diagnostics it shows are current.
        for (path, doc) in &self.docs {
            if analysis.file(path).is_some() && !now.contains(&doc.uri) {
                now.insert(doc.uri.clone());
                batches.push((doc.uri.clone(), Some(doc.version), Vec::new()));
            }
        }
        let Some(unit) = self.units.get_mut(key) else {
            return;
        };
        let cleared: Vec<Url> = unit.published.difference(&now).cloned().collect();
        unit.published = now;
        unit.unpublished = false;
        for uri in cleared {
            self.publish(uri, None, Vec::new());
        }
        for (uri, version, list) in batches {
            self.publish(uri, version, list);
        }
    }

    fn publish(&self, uri: Url, version: Option<i32>, diagnostics: Vec<lsp_types::Diagnostic>) {
        self.notify::<lsp_types::notification::PublishDiagnostics>(
            lsp_types::PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            },
        );
    }

    /// The URI of a file: the client's own for an open document.
    fn uri(&self, path: &Path) -> Option<Url> {
        match self.docs.get(path) {
            Some(doc) => Some(doc.uri.clone()),
            None => Url::from_file_path(path).ok(),
        }
    }

    // ---- requests ----

    fn on_request(&mut self, request: Request) {
        let Some((_, handler)) = HANDLERS.iter().find(|(m, _)| *m == request.method) else {
            let message = format!("authflow lsp does not implement `{}`", request.method);
            let response = Response::new_err(request.id, ErrorCode::MethodNotFound as i32, message);
            self.send(response.into());
            return;
        };
        let id = request.id.clone();
        let response = match parse::<DocumentRequest>(request) {
            Ok(p) => {
                let position = p.position.unwrap_or_default();
                Response::new_ok(id, self.with_file(&p.text_document.uri, position, *handler))
            }
            Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e),
        };
        self.send(response.into());
    }

    /// Runs a request handler on an open document with a fresh analysis of its workspace.
    fn with_file(
        &mut self,
        uri: &Url,
        position: lsp_types::Position,
        handler: Handler,
    ) -> serde_json::Value {
        let Some(path) = file_path(uri) else {
            return serde_json::Value::Null;
        };
        let key = self.key_of(&path);
        let analysis = key.as_ref().and_then(|k| self.analysis(k));
        let parsed = key
            .as_ref()
            .and_then(|k| self.units.get(k))
            .and_then(|u| u.parsed.get(&path).cloned());
        let Some(doc) = self.docs.get(&path) else {
            return serde_json::Value::Null;
        };
        let root = match &key {
            Some(Key::Root(root)) => Some(root.as_path()),
            _ => None,
        };
        let Some(kind) = FileKind::of(&path, root, &doc.text) else {
            return serde_json::Value::Null;
        };
        let index = LineIndex::new(&doc.text, self.encoding);
        let at = At {
            path: &path,
            text: &doc.text,
            offset: index.offset(position),
            index,
            kind,
            analysis: analysis.as_deref(),
            parsed: parsed.as_deref(),
            encoding: self.encoding,
            docs: &self.docs,
        };
        handler(&at)
    }
}

/// The requests the server answers, each about one document (and a position in it).
const HANDLERS: &[(&str, Handler)] = {
    use lsp_types::request::*;
    &[
        (Completion::METHOD, complete::complete),
        (HoverRequest::METHOD, hover::hover),
        (GotoDefinition::METHOD, definition::definition),
        (Formatting::METHOD, symbols::format),
        (DocumentSymbolRequest::METHOD, symbols::document_symbols),
    ]
};

/// Answers one request from where it points.
type Handler = fn(&At) -> serde_json::Value;

/// What every handled request's params share.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentRequest {
    text_document: lsp_types::TextDocumentIdentifier,
    position: Option<lsp_types::Position>,
}

/// Where a request points, with everything a handler may read.
pub(crate) struct At<'a> {
    path: &'a Path,
    /// The document's current text.
    text: &'a str,
    /// The request's position as a byte offset into `text`.
    offset: usize,
    index: LineIndex<'a>,
    kind: FileKind,
    /// The workspace's analysis, made from the current buffers.
    analysis: Option<&'a Analysis>,
    /// For a flow, the latest analysis in which this file parsed (the current one when the
    /// buffer parses now).
    parsed: Option<&'a Analysis>,
    encoding: Encoding,
    docs: &'a BTreeMap<PathBuf, Document>,
}

impl At<'_> {
    /// The analysis' id of this file, when the current analysis read it.
    fn file(&self) -> Option<crate::diagnostic::FileId> {
        self.analysis?.file(self.path)
    }

    /// A location in another file of the analysis, in that file's own line index.
    fn location(
        &self,
        analysis: &Analysis,
        file: crate::diagnostic::FileId,
        span: crate::span::Span,
    ) -> Option<lsp_types::Location> {
        let path = analysis.path(file);
        let uri = match self.docs.get(path) {
            Some(doc) => doc.uri.clone(),
            None => Url::from_file_path(path).ok()?,
        };
        let index = LineIndex::new(analysis.text(file), self.encoding);
        Some(lsp_types::Location::new(uri, index.range(span)))
    }
}

fn parse<P: serde::de::DeserializeOwned>(message: impl Params) -> Result<P, String> {
    serde_json::from_value(message.params()).map_err(|e| e.to_string())
}

/// The params of a request or notification.
trait Params {
    fn params(self) -> serde_json::Value;
}

impl Params for Request {
    fn params(self) -> serde_json::Value {
        self.params
    }
}

impl Params for Notification {
    fn params(self) -> serde_json::Value {
        self.params
    }
}

/// The canonical path of a `file:` URI (a file not yet on disk keeps its path as written).
fn file_path(uri: &Url) -> Option<PathBuf> {
    let path = uri.to_file_path().ok()?;
    Some(std::fs::canonicalize(&path).unwrap_or(path))
}

/// Adds every directory below `dir` (to `depth` levels) that holds an `authflow.yaml`.
fn find_roots(dir: &Path, depth: usize, roots: &mut BTreeSet<PathBuf>) {
    if roots.len() >= MAX_ROOTS {
        return;
    }
    if dir.join(crate::workspace::SETTINGS_FILE).is_file()
        && let Ok(root) = std::fs::canonicalize(dir)
    {
        roots.insert(root);
    }
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && !matches!(n, "target" | "node_modules"))
        })
        .collect();
    dirs.sort();
    for sub in dirs {
        find_roots(&sub, depth - 1, roots);
    }
}
