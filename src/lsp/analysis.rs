//! One analysed workspace as the language server sees it: the workspace loaded with the
//! editor's unsaved buffers in place of the files on disk, its flows parsed, its actions
//! analysed once, and every diagnostic `authflow check` would print for it.
//!
//! Loading and checking go through the same library calls as `authflow check`
//! (`Workspace::load_overlaid`, `cli::load::flow_files`, `cli::check_loaded_with`, and
//! `check::check_tests` for the test files), so the editor shows exactly the command's
//! diagnostics, test files' included. This module decides nothing about
//! positions or the protocol.

use crate::check;
use crate::cli::load::{self, Loaded};
use crate::diagnostic::{Diagnostic, FileId};
use crate::graph::{Available, FlowGraph};
use crate::jsfacts::ActionFacts;
use crate::syntax::{Syntax, ast::Flow};
use crate::workspace::{self, Workspace};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an open file is to authflow, from its place in the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Flow(Syntax),
    /// `authflow.yaml`.
    Settings,
    /// `actions/<slug>.yaml`.
    ActionMeta,
    /// `actions/<slug>.js`.
    ActionSource,
    /// `modules/<name>/module.yaml`.
    ModuleMeta,
    /// `modules/<name>/v<N>.js` or `draft.js`.
    ModuleSource,
    /// `streams/<name>.yaml`.
    Stream,
    /// `tests/**/*.test.yaml`: a test file, never a flow, though it opens with `flow:`.
    Test,
}

impl FileKind {
    /// The kind of `path` (absolute) in the workspace at `root`, sniffing `text` for YAML
    /// flows kept outside `flows/`; `None` for files authflow does not read.
    pub fn of(path: &Path, root: Option<&Path>, text: &str) -> Option<FileKind> {
        let extension = path.extension().and_then(|e| e.to_str());
        let relative = root.and_then(|r| path.strip_prefix(r).ok());
        let parts: Vec<&str> = relative
            .map(|r| r.iter().filter_map(|p| p.to_str()).collect())
            .unwrap_or_default();
        match (parts.as_slice(), extension) {
            (_, Some("flow")) => Some(FileKind::Flow(Syntax::Dsl)),
            ([workspace::SETTINGS_FILE], _) => Some(FileKind::Settings),
            (["actions", _], Some("js")) => Some(FileKind::ActionSource),
            (["actions", _], Some("yaml")) => Some(FileKind::ActionMeta),
            (["modules", _, "module.yaml"], _) => Some(FileKind::ModuleMeta),
            (["modules", _, _], Some("js")) => Some(FileKind::ModuleSource),
            ([crate::streams::file::STREAMS_DIR, _], Some("yaml" | "yml")) => {
                Some(FileKind::Stream)
            }
            (["flows", _], Some("yaml" | "yml")) => Some(FileKind::Flow(Syntax::Yaml)),
            (["tests", ..], _) if crate::suite::load::is_test_file(path) => Some(FileKind::Test),
            (_, Some("yaml" | "yml")) if looks_like_flow(text) => {
                Some(FileKind::Flow(Syntax::Yaml))
            }
            _ => None,
        }
    }
}

/// A YAML file outside `flows/` is a flow when a line opens with the `flow:` key.
fn looks_like_flow(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("flow:"))
}

/// A workspace (or a lone flow file), loaded and checked.
pub struct Analysis {
    pub loaded: Loaded,
    pub actions: BTreeMap<String, ActionFacts>,
    /// Every diagnostic, as `authflow check` reports them (test files' included).
    pub diagnostics: Vec<Diagnostic>,
    /// The absolute path of each file, by `FileId`.
    paths: Vec<PathBuf>,
}

impl Analysis {
    /// Loads the workspace at `root` (or, without one, only `extra_flows`), reading
    /// `overlay` texts instead of the disk, and checks it. `extra_flows` are flow files open
    /// in the editor that `flows/` does not list.
    pub fn load(
        root: Option<&Path>,
        extra_flows: &[PathBuf],
        overlay: &BTreeMap<PathBuf, String>,
    ) -> Result<Analysis, String> {
        let mut diagnostics = Vec::new();
        let mut ws = match root {
            Some(root) => Workspace::load_overlaid(root, overlay.clone(), &mut diagnostics)
                .map_err(|e| e.to_string())?,
            None => {
                let mut ws = Workspace::empty();
                ws.overlay = overlay.clone();
                ws
            }
        };
        let mut flow_paths = match root {
            Some(root) => load::flow_files(ws.list(&root.join("flows"), &mut diagnostics)),
            None => Vec::new(),
        };
        for path in extra_flows {
            if !flow_paths.contains(path) {
                flow_paths.push(path.clone());
            }
        }
        let (lock, mut lock_diagnostics) = crate::release::check::read_lock(&mut ws);
        diagnostics.append(&mut lock_diagnostics);
        let flows = load::parse_flows(&mut ws, &flow_paths, &mut diagnostics);
        crate::release::npm::load(&mut ws);
        // The editor shows the workspace as `authflow check` without `--env` sees it.
        let loaded =
            crate::load::finish(ws, flows, diagnostics, lock, None).map_err(|e| e.to_string())?;
        let actions = check::analyze_actions(&loaded.ws);
        let mut diagnostics = crate::cli::commands::check::check_loaded_with(&loaded, &actions);
        // Test files as `authflow check` reports them, read from their buffers when open.
        let loaded = match root {
            Some(_) => crate::cli::commands::check::check_tests(loaded, &mut diagnostics)?,
            None => loaded,
        };
        let cwd = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .unwrap_or_default();
        let sources = &loaded.ws.sources;
        let paths = (0..sources.len())
            .map(|i| cwd.join(sources.path(FileId(i as u32))))
            .collect();
        Ok(Analysis {
            loaded,
            actions,
            diagnostics,
            paths,
        })
    }

    pub fn ws(&self) -> &Workspace {
        &self.loaded.ws
    }

    pub fn text(&self, file: FileId) -> &str {
        self.loaded.ws.sources.text(file)
    }

    /// The absolute path of a file.
    pub fn path(&self, file: FileId) -> &Path {
        &self.paths[file.0 as usize]
    }

    /// The file read from `path` (absolute), if this analysis read it.
    pub fn file(&self, path: &Path) -> Option<FileId> {
        self.paths
            .iter()
            .position(|p| p == path)
            .map(|i| FileId(i as u32))
    }

    /// Every file this analysis read, with its absolute path.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &Path)> {
        self.paths
            .iter()
            .enumerate()
            .map(|(i, p)| (FileId(i as u32), p.as_path()))
    }

    /// The parsed flow of a flow file, when it parsed.
    pub fn flow(&self, file: FileId) -> Option<&Flow> {
        self.loaded
            .flows
            .iter()
            .find(|(f, _)| *f == file)
            .and_then(|(_, flow)| flow.as_ref())
    }

    /// The flow files and their parsed flows.
    pub fn flows(&self) -> impl Iterator<Item = (FileId, &Flow)> {
        self.loaded
            .flows
            .iter()
            .filter_map(|(f, flow)| flow.as_ref().map(|flow| (*f, flow)))
    }

    /// The graph of a flow and the must-availability at each of its blocks, the same
    /// dataflow the checks run.
    pub fn dataflow<'f>(&self, flow: &'f Flow) -> (FlowGraph<'f>, Vec<Option<Available>>) {
        let graph = FlowGraph::build(flow);
        let available = check::availability(self.ws(), &graph, &self.actions);
        (graph, available)
    }
}
