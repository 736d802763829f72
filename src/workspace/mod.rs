//! A tenant workspace on disk: `authflow.yaml`, `flows/`, `actions/`, `modules/`, `users.yaml`.
//!
//! Loading reads and validates files into typed settings and keeps every text in `Sources`
//! for diagnostics. It decides nothing about flows; the checks do.

pub mod env;
pub mod source;

use crate::catalog::api::Trigger;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use crate::syntax::yaml;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use source::Sources;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const SETTINGS_FILE: &str = "authflow.yaml";

/// `authflow.yaml`: the tenant's settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The tenant the flows belong to; fills `event.tenant` in simulations.
    #[serde(default)]
    pub tenant: TenantSettings,
    /// URL prefixes that `api.fetch` may reach, e.g. `https://api.ipinfo.io/`.
    #[serde(default)]
    pub fetch_allowlist: Vec<String>,
    /// Secrets actions may declare, by name. Values never live in the workspace: they come
    /// from `AUTHFLOW_SECRET_<NAME>` or the untracked `.authflow/secrets.yaml`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Per-action-run limits (CPU and wall time, heap, log/state/metadata/claim sizes, fetches).
    #[serde(default)]
    pub limits: crate::js::Limits,
    /// The user directory used by simulations (default `users.yaml`).
    #[serde(default)]
    pub users: Option<String>,
    /// How Issue Session signs tokens in simulation.
    #[serde(default)]
    pub session: SessionSettings,
    /// How `authflow publish` signs release bundles.
    #[serde(default)]
    pub publish: PublishSettings,
    /// Named values for `${{ vars.NAME }}` references in flows and action metadata; each
    /// environment (`environments/<name>.yaml`) may override them.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishSettings {
    /// The declared secret holding the Ed25519 private key that signs release bundles
    /// (`authflow keygen` makes one).
    pub signing_key: Option<String>,
    /// The matching public key (`ed25519:<base64>`): publish checks the private key against
    /// it, and `verify` and `run --published` check bundles with it when no `--key` is given.
    pub public_key: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    pub id: String,
    pub name: String,
    pub slug: String,
}

impl Default for TenantSettings {
    fn default() -> TenantSettings {
        TenantSettings {
            id: "ten_local".into(),
            name: "Local tenant".into(),
            slug: "local".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// The `iss` claim.
    pub issuer: String,
    /// The secret (by name) whose value signs session tokens; a fixed simulation key when unset.
    pub signing_secret: Option<String>,
}

impl Default for SessionSettings {
    fn default() -> SessionSettings {
        SessionSettings {
            issuer: "https://authflow.local/".into(),
            signing_secret: None,
        }
    }
}

/// `actions/<slug>.yaml`: a custom action's metadata, beside its `actions/<slug>.js`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionMeta {
    /// Display name; the slug is the file name.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Disabled actions are skipped in flow runs (the Test pane still runs them).
    #[serde(default)]
    pub enabled: bool,
    /// The JavaScript runtime the platform runs it on.
    #[serde(default = "default_runtime")]
    pub runtime: String,
    /// `login` (exports.handler) or `event-stream` (exports.onExecuteEventStream).
    #[serde(default = "default_trigger")]
    pub trigger: Trigger,
    /// Event types an event-stream action subscribes to.
    #[serde(default)]
    pub events: Vec<String>,
    /// Secrets the action reads as `event.secrets.NAME`; each must be declared in authflow.yaml.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Action modules the action requires, pinned to a published version: `logger: 2`.
    #[serde(default)]
    pub modules: BTreeMap<String, u32>,
}

fn default_runtime() -> String {
    "node22".into()
}

fn default_trigger() -> Trigger {
    Trigger::Login
}

/// `modules/<name>/module.yaml`: an action module's metadata. Published versions are the
/// files `v<N>.js` beside it; `draft.js` is the unpublished draft.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleMeta {
    #[serde(default)]
    pub description: String,
    /// Secrets the module reads as `actions.secrets.NAME`; independent of actions' secrets.
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// A custom action as loaded.
pub struct Action {
    pub slug: String,
    pub meta: ActionMeta,
    pub meta_file: Option<FileId>,
    pub code_file: FileId,
}

/// An action module as loaded: its published versions and draft.
pub struct Module {
    pub name: String,
    pub meta: ModuleMeta,
    pub meta_file: Option<FileId>,
    pub versions: BTreeMap<u32, FileId>,
    pub draft: Option<FileId>,
}

/// A loaded workspace. Commands that take a single flow file outside any workspace get an
/// empty one (default settings, no actions).
#[derive(Default)]
pub struct Workspace {
    pub root: Option<PathBuf>,
    pub settings: Settings,
    pub settings_file: Option<FileId>,
    pub actions: BTreeMap<String, Action>,
    pub modules: BTreeMap<String, Module>,
    pub sources: Sources,
    /// The selected environment's secret names (`env::Environment::secret_names`): a declared
    /// secret's value is read under the name mapped here.
    pub secret_names: BTreeMap<String, String>,
}

/// An error that stops loading: a file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct LoadError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Finds the workspace root as git finds a repository: upwards from `start` to a directory
/// holding `authflow.yaml`.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = if start.is_file() {
        start.parent()?
    } else {
        start
    };
    let start = std::fs::canonicalize(start).ok()?;
    start
        .ancestors()
        .find(|dir| dir.join(SETTINGS_FILE).is_file())
        .map(Path::to_path_buf)
}

impl Workspace {
    /// A workspace with no settings file: defaults, no actions, no modules.
    pub fn empty() -> Workspace {
        Workspace::default()
    }

    /// Loads the workspace at `root`, collecting diagnostics for malformed files.
    pub fn load(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Result<Workspace, LoadError> {
        let mut ws = Workspace {
            root: Some(root.to_path_buf()),
            ..Workspace::default()
        };
        let settings_path = root.join(SETTINGS_FILE);
        let text = read(&settings_path)?;
        let file = ws.sources.add(display_path(&settings_path), text);
        ws.settings_file = Some(file);
        match yaml::from_str::<Settings>(ws.sources.text(file), file) {
            Ok(settings) => ws.settings = settings,
            Err(mut d) => diagnostics.append(&mut d),
        }
        ws.load_actions(root, diagnostics)?;
        ws.load_modules(root, diagnostics)?;
        Ok(ws)
    }

    fn load_actions(
        &mut self,
        root: &Path,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<(), LoadError> {
        let dir = root.join("actions");
        for path in sorted_entries(&dir)? {
            if path.extension().and_then(|e| e.to_str()) != Some("js") {
                continue;
            }
            let Some(slug) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let code_file = self.sources.add(display_path(&path), read(&path)?);
            let meta_path = path.with_extension("yaml");
            let (meta, meta_file) = if meta_path.is_file() {
                let file = self
                    .sources
                    .add(display_path(&meta_path), read(&meta_path)?);
                match yaml::from_str::<ActionMeta>(self.sources.text(file), file) {
                    Ok(meta) => (meta, Some(file)),
                    Err(mut d) => {
                        diagnostics.append(&mut d);
                        (default_meta(&slug), Some(file))
                    }
                }
            } else {
                diagnostics.push(
                    Diagnostic::new(Code::InvalidWorkspace, code_file, Span::default(), format!("action `{slug}` has no metadata file"))
                        .help(format!("create actions/{slug}.yaml with at least `name: {slug}` and `enabled: true`")),
                );
                (default_meta(&slug), None)
            };
            self.actions.insert(
                slug.clone(),
                Action {
                    slug,
                    meta,
                    meta_file,
                    code_file,
                },
            );
        }
        Ok(())
    }

    fn load_modules(
        &mut self,
        root: &Path,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<(), LoadError> {
        let dir = root.join("modules");
        for module_dir in sorted_entries(&dir)? {
            if !module_dir.is_dir() {
                continue;
            }
            let Some(name) = module_dir
                .file_name()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let meta_path = module_dir.join("module.yaml");
            let mut module = Module {
                name: name.clone(),
                meta: ModuleMeta {
                    description: String::new(),
                    secrets: Vec::new(),
                },
                meta_file: None,
                versions: BTreeMap::new(),
                draft: None,
            };
            if meta_path.is_file() {
                let file = self
                    .sources
                    .add(display_path(&meta_path), read(&meta_path)?);
                module.meta_file = Some(file);
                match yaml::from_str::<ModuleMeta>(self.sources.text(file), file) {
                    Ok(meta) => module.meta = meta,
                    Err(mut d) => diagnostics.append(&mut d),
                }
            }
            for path in sorted_entries(&module_dir)? {
                let Some(file_name) = path.file_name().and_then(|s| s.to_str()) else {
                    continue;
                };
                if file_name == "draft.js" {
                    module.draft = Some(self.sources.add(display_path(&path), read(&path)?));
                } else if let Some(version) = file_name
                    .strip_prefix('v')
                    .and_then(|s| s.strip_suffix(".js"))
                {
                    match version.parse::<u32>() {
                        Ok(n) => {
                            let file = self.sources.add(display_path(&path), read(&path)?);
                            module.versions.insert(n, file);
                        }
                        Err(_) => {
                            let file = self.sources.add(display_path(&path), String::new());
                            diagnostics.push(
                                Diagnostic::new(Code::InvalidWorkspace, file, Span::default(), format!("`{file_name}` is not a module version file"))
                                    .help("published versions are named v1.js, v2.js, ...; the draft is draft.js"),
                            );
                        }
                    }
                }
            }
            self.modules.insert(name, module);
        }
        Ok(())
    }

    /// Reads a flow file into the source table.
    pub fn read_flow(&mut self, path: &Path) -> Result<FileId, LoadError> {
        let text = read(path)?;
        Ok(self.sources.add(display_path(path), text))
    }

    /// The value of a secret for simulation: `AUTHFLOW_SECRET_<NAME>`, then
    /// `.authflow/secrets.yaml` in the workspace, else none.
    pub fn secret_value(&self, name: &str) -> Option<String> {
        let name = self.secret_names.get(name).map_or(name, String::as_str);
        if let Ok(v) = std::env::var(format!("AUTHFLOW_SECRET_{name}")) {
            return Some(v);
        }
        let path = self.root.as_ref()?.join(".authflow").join("secrets.yaml");
        let text = std::fs::read_to_string(path).ok()?;
        let map: BTreeMap<String, String> = serde_saphyr::from_str(&text).ok()?;
        map.get(name).cloned()
    }

    /// Spanned lookup of a key in a YAML file, for pointing diagnostics at metadata entries.
    pub fn find_in_file(&self, file: FileId, needle: &str) -> Span {
        let text = self.sources.text(file);
        match text.find(needle) {
            Some(i) => Span::new(i, i + needle.len()),
            None => Span::default(),
        }
    }
}

fn default_meta(slug: &str) -> ActionMeta {
    ActionMeta {
        name: slug.to_string(),
        description: String::new(),
        enabled: false,
        runtime: default_runtime(),
        trigger: Trigger::Login,
        events: Vec::new(),
        secrets: Vec::new(),
        modules: BTreeMap::new(),
    }
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError {
        path: path.to_path_buf(),
        source,
    })
}

/// The entries of a directory, sorted; none when it does not exist.
pub fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

/// A path relative to the current directory when it lies below it, for shorter messages.
pub fn display_path(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().ok();
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    match cwd
        .and_then(|c| std::fs::canonicalize(c).ok())
        .and_then(|c| absolute.strip_prefix(&c).ok().map(Path::to_path_buf))
    {
        Some(relative) => relative,
        None => path.to_path_buf(),
    }
}
