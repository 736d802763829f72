//! A tenant workspace on disk: `authflow.yaml`, `flows/`, `actions/`, `modules/`, `users.yaml`.
//!
//! Loading reads and validates files into typed settings and keeps every text in `Sources`
//! for diagnostics. It decides nothing about flows; the checks do.

pub mod env;
pub mod source;

use crate::catalog::api::Trigger;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::run::directory::{DirectoryFile, DirectoryUser};
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
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The tenant the flows belong to; fills `event.tenant` in simulations.
    pub tenant: TenantSettings,
    /// URL prefixes that `api.fetch` may reach, e.g. `https://api.ipinfo.io/`.
    pub fetch_allowlist: Vec<String>,
    /// Secrets actions may declare, by name. Values never live in the workspace: they come
    /// from `AUTHFLOW_SECRET_<NAME>` or the untracked `.authflow/secrets.yaml`.
    pub secrets: Vec<String>,
    /// Per-action-run limits (CPU and wall time, heap, log/state/metadata/claim sizes, fetches).
    pub limits: crate::js::Limits,
    /// The user directory used by simulations (default `users.yaml`).
    pub users: Option<String>,
    /// How Issue Session signs tokens in simulation.
    pub session: SessionSettings,
    /// How `authflow publish` signs release bundles.
    pub publish: PublishSettings,
    /// Named values for `${{ vars.NAME }}` references in flows and action metadata; each
    /// environment (`environments/<name>.yaml`) may override them.
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
    /// npm packages the module requires, by exact version: `ms: 2.1.3`. Each is vendored as
    /// `vendor/npm/<name>-<version>.tgz` (what `npm pack <name>@<version>` writes) and
    /// recorded in authflow.lock with its integrity; nothing is downloaded.
    #[serde(default)]
    pub dependencies: BTreeMap<String, String>,
}

/// A custom action as loaded.
#[derive(Clone)]
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
    /// The workspace directory, with symbolic links resolved.
    pub root: Option<PathBuf>,
    pub settings: Settings,
    pub settings_file: Option<FileId>,
    pub actions: BTreeMap<String, Action>,
    pub modules: BTreeMap<String, Module>,
    /// The simulated user directory (`users.yaml`, or the file `users:` names).
    pub users: Vec<DirectoryUser>,
    pub users_file: Option<FileId>,
    /// Secret values from `.authflow/secrets.yaml` (the environment overrides them).
    secrets: BTreeMap<String, String>,
    pub sources: Sources,
    /// Texts that replace files on disk while loading, by absolute path: an editor's unsaved
    /// buffers (`authflow lsp`). Empty for every command.
    pub overlay: BTreeMap<PathBuf, String>,
    /// The selected environment's secret names (`env::Environment::secret_names`): a declared
    /// secret's value is read under the name mapped here.
    pub secret_names: BTreeMap<String, String>,
    /// What authflow.lock says about the actions flows run (`release::pins` fills it after
    /// loading; empty without a lock).
    pub published: PublishedActions,
    /// Each module's vendored npm packages, unpacked and resolved (`release::npm::load`).
    pub npm: BTreeMap<String, crate::release::npm::ModulePackages>,
}

/// The lock's view of the workspace's actions, for the checks: pinned references
/// (`log-user@3`) that could not be loaded, and actions whose draft differs from their last
/// published version. A pin that loaded is an entry of `Workspace::actions` under its
/// reference (`log-user@3`), so every rule reads it as it reads any action.
#[derive(Clone, Debug, Default)]
pub struct PublishedActions {
    /// Reference -> why it does not resolve.
    pub unresolved: BTreeMap<String, String>,
    /// Slug -> its last published version, for actions whose working tree differs from it.
    pub drafts: BTreeMap<String, u32>,
}

/// An error that stops loading: a file named on the command line that cannot be read.
pub type LoadError = crate::files::ReadError;

/// The file of local secret values, relative to the workspace root. Never committed.
pub const SECRETS_FILE: &str = ".authflow/secrets.yaml";

/// Finds the workspace root as git finds a repository: upwards from `start` to a directory
/// holding `authflow.yaml`. A file (`login.yaml`, `./login.yaml` or `flows/login.yaml`)
/// starts from its directory.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = if start.is_dir() {
        start
    } else {
        match start.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
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

    /// Loads the workspace at `root`, collecting diagnostics for malformed files. Every file
    /// is read through `files::read_text`, confined to the workspace: a file that cannot be
    /// read is an `unreadable-file` diagnostic, and loading goes on without it.
    pub fn load(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Result<Workspace, LoadError> {
        Workspace::load_overlaid(root, BTreeMap::new(), diagnostics)
    }

    /// Loads the workspace at `root`, reading each file from `overlay` when it holds the
    /// file's path and through `files::read_text` otherwise.
    pub fn load_overlaid(
        root: &Path,
        overlay: BTreeMap<PathBuf, String>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<Workspace, LoadError> {
        let root = std::fs::canonicalize(root)
            .map_err(|e| crate::files::ReadError::new(root, crate::files::ReadErrorKind::Io(e)))?;
        let mut ws = Workspace {
            root: Some(root.clone()),
            overlay,
            ..Workspace::default()
        };
        let settings_path = root.join(SETTINGS_FILE);
        if let Some(file) = ws.read_source(&settings_path, diagnostics) {
            ws.settings_file = Some(file);
            match crate::syntax::conform::from_str::<Settings>(ws.sources.text(file), file) {
                Ok(settings) => {
                    ws.settings = settings;
                    ws.check_settings(file, diagnostics);
                }
                Err(mut d) => diagnostics.append(&mut d),
            }
        }
        ws.load_actions(&root, diagnostics);
        ws.load_modules(&root, diagnostics);
        ws.load_users(&root, diagnostics);
        ws.load_secrets(&root, diagnostics);
        Ok(ws)
    }

    /// Reads a workspace file into the source table; a refusal becomes a diagnostic on the
    /// file (added with no text) and `None`.
    pub fn read_source(
        &mut self,
        path: &Path,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<FileId> {
        if let Some(text) = self.overlay.get(path) {
            let text = text.clone();
            return Some(self.sources.add(display_path(path), text));
        }
        match crate::files::read_text(path, self.root.as_deref(), crate::files::SOURCE_LIMIT) {
            Ok(text) => Some(self.sources.add(display_path(path), text)),
            Err(error) => {
                diagnostics.push(self.unreadable(path, &error));
                None
            }
        }
    }

    /// The `unreadable-file` diagnostic for a file or directory that was not read.
    fn unreadable(&mut self, path: &Path, error: &crate::files::ReadError) -> Diagnostic {
        use crate::files::ReadErrorKind;
        let file = self.sources.add(display_path(path), String::new());
        let help = match &error.kind {
            ReadErrorKind::OutsideWorkspace { .. } => {
                "replace the symbolic link with the file itself, or with a link that stays inside the workspace"
            }
            ReadErrorKind::NotRegular { .. } => "replace it with a regular file, or remove it",
            ReadErrorKind::TooLarge { .. } => "split the file, or remove what it does not need",
            ReadErrorKind::NotUtf8 { .. } => "save the file as UTF-8",
            ReadErrorKind::NotFound | ReadErrorKind::Io(_) => {
                "check that the file exists and is readable"
            }
        };
        Diagnostic::new(
            Code::UnreadableFile,
            file,
            Span::default(),
            format!(
                "`{}` was not read: {}",
                display_path(path).display(),
                error.kind
            ),
        )
        .help(help)
    }

    /// The sorted entries of a workspace directory; a directory that resolves outside the
    /// workspace is a diagnostic and lists nothing.
    fn entries(&mut self, dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
        match crate::files::list_dir(dir, self.root.as_deref()) {
            Ok(entries) => entries,
            Err(error) => {
                diagnostics.push(self.unreadable(dir, &error));
                Vec::new()
            }
        }
    }

    /// Settings that parse but do not hold together.
    fn check_settings(&self, file: FileId, diagnostics: &mut Vec<Diagnostic>) {
        if let Some(name) = &self.settings.session.signing_secret
            && !self.settings.secrets.contains(name)
        {
            let text = self.sources.text(file);
            let span = text
                .find("signing_secret")
                .and_then(|key| text[key..].find(name.as_str()).map(|i| key + i))
                .map_or_else(Span::default, |i| Span::new(i, i + name.len()));
            diagnostics.push(
                Diagnostic::new(
                    Code::UndeclaredSecret,
                    file,
                    span,
                    format!(
                        "`session.signing_secret` names `{name}`, which `secrets:` does not declare"
                    ),
                )
                .label("not declared in `secrets:`")
                .help(format!("add `{name}` to `secrets:` in authflow.yaml")),
            );
        }
    }

    fn load_actions(&mut self, root: &Path, diagnostics: &mut Vec<Diagnostic>) {
        let dir = root.join("actions");
        for path in self.entries(&dir, diagnostics) {
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
            let Some(code_file) = self.read_source(&path, diagnostics) else {
                continue;
            };
            if slug.contains('@') {
                // `@` separates a pinned version in flows (`log-user@3`).
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidWorkspace,
                        code_file,
                        Span::default(),
                        format!("action file name `{slug}` contains `@`"),
                    )
                    .help("`@` pins a published version in a flow (`action: log-user@3`): rename the file without it"),
                );
                continue;
            }
            let meta_path = path.with_extension("yaml");
            let (meta, meta_file) = if meta_path.symlink_metadata().is_ok() {
                match self.read_source(&meta_path, diagnostics) {
                    Some(file) => match crate::syntax::conform::from_str::<ActionMeta>(
                        self.sources.text(file),
                        file,
                    ) {
                        Ok(meta) => (meta, Some(file)),
                        Err(mut d) => {
                            diagnostics.append(&mut d);
                            (default_meta(&slug), Some(file))
                        }
                    },
                    None => (default_meta(&slug), None),
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
    }

    fn load_modules(&mut self, root: &Path, diagnostics: &mut Vec<Diagnostic>) {
        let dir = root.join("modules");
        for module_dir in self.entries(&dir, diagnostics) {
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
                    dependencies: BTreeMap::new(),
                },
                meta_file: None,
                versions: BTreeMap::new(),
                draft: None,
            };
            if meta_path.symlink_metadata().is_ok()
                && let Some(file) = self.read_source(&meta_path, diagnostics)
            {
                module.meta_file = Some(file);
                match crate::syntax::conform::from_str::<ModuleMeta>(self.sources.text(file), file)
                {
                    Ok(meta) => module.meta = meta,
                    Err(mut d) => diagnostics.append(&mut d),
                }
            }
            for path in self.entries(&module_dir, diagnostics) {
                let Some(file_name) = path.file_name().and_then(|s| s.to_str()) else {
                    continue;
                };
                if file_name == "draft.js" {
                    module.draft = self.read_source(&path, diagnostics);
                } else if let Some(version) = file_name
                    .strip_prefix('v')
                    .and_then(|s| s.strip_suffix(".js"))
                {
                    match version.parse::<u32>() {
                        Ok(n) => {
                            if let Some(file) = self.read_source(&path, diagnostics) {
                                module.versions.insert(n, file);
                            }
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
    }

    /// The user directory: `users.yaml` when present, or the file `users:` names (which must
    /// exist). Each user is validated (password hash costs, TOTP secret) with a span.
    fn load_users(&mut self, root: &Path, diagnostics: &mut Vec<Diagnostic>) {
        let named = self.settings.users.clone();
        let path = root.join(named.as_deref().unwrap_or("users.yaml"));
        if named.is_none() && path.symlink_metadata().is_err() {
            return;
        }
        let Some(file) = self.read_source(&path, diagnostics) else {
            return;
        };
        self.users_file = Some(file);
        match crate::syntax::conform::from_str::<DirectoryFile>(self.sources.text(file), file) {
            Ok(directory) => {
                diagnostics.extend(validate_users(&self.sources, file, &directory.users));
                self.users = directory.users;
            }
            Err(mut d) => diagnostics.append(&mut d),
        }
    }

    /// `.authflow/secrets.yaml`, when present: `NAME: value` lines. The file's text is kept
    /// with every value masked, so no diagnostic can show a secret value.
    fn load_secrets(&mut self, root: &Path, diagnostics: &mut Vec<Diagnostic>) {
        let path = root.join(SECRETS_FILE);
        if path.symlink_metadata().is_err() {
            return;
        }
        let text = match crate::files::read_text(&path, Some(root), crate::files::SOURCE_LIMIT) {
            Ok(text) => text,
            Err(error) => {
                diagnostics.push(self.unreadable(&path, &error));
                return;
            }
        };
        let file = self.sources.add(display_path(&path), mask_values(&text));
        match yaml::from_str::<BTreeMap<String, String>>(&text, file) {
            Ok(secrets) => self.secrets = secrets,
            Err(errors) => {
                // serde's messages may quote the value they could not read: say what is wrong
                // in general terms, at the place it is wrong.
                diagnostics.extend(errors.into_iter().take(1).map(|d| {
                    Diagnostic::new(
                        Code::YamlSyntax,
                        file,
                        d.span,
                        format!("`{SECRETS_FILE}` is not a map of secret names to string values"),
                    )
                    .label("cannot read this entry")
                    .help("write one `NAME: value` line per secret; quote values YAML would read as numbers, booleans or lists")
                }));
            }
        }
    }

    /// Reads a flow file named on the command line into the source table. A file inside the
    /// workspace must resolve inside it; any file must be a regular file within the size limit.
    pub fn read_flow(&mut self, path: &Path) -> Result<FileId, LoadError> {
        if let Some(text) = self.overlay.get(path) {
            let text = text.clone();
            return Ok(self.sources.add(display_path(path), text));
        }
        let within = crate::files::confinement(path, self.root.as_deref());
        let text = crate::files::read_text(path, within, crate::files::SOURCE_LIMIT)?;
        Ok(self.sources.add(display_path(path), text))
    }

    /// Reads a flow file found in the workspace's `flows/`; a refusal is a diagnostic.
    pub fn read_listed_flow(
        &mut self,
        path: &Path,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<FileId> {
        self.read_source(path, diagnostics)
    }

    /// The entries of a workspace directory (for `flows/`), sorted.
    pub fn list(&mut self, dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
        self.entries(dir, diagnostics)
    }

    /// The value of a secret for simulation: `AUTHFLOW_SECRET_<NAME>`, then
    /// `.authflow/secrets.yaml` in the workspace, else none.
    pub fn secret_value(&self, name: &str) -> Option<String> {
        let name = self.secret_names.get(name).map_or(name, String::as_str);
        if let Ok(v) = std::env::var(format!("AUTHFLOW_SECRET_{name}")) {
            return Some(v);
        }
        self.secrets.get(name).cloned()
    }

    /// Where `path` stands in a YAML file of the workspace (`["publish", "signing_key"]`, or
    /// `["secrets", "API_KEY"]` for an item of a list), found through the file's spanned
    /// tree (`syntax::tree`), for pointing diagnostics at metadata entries. The file's start
    /// when the path is not in it (or the file does not parse: that has its own diagnostic).
    pub fn yaml_span(&self, file: FileId, path: &[&str]) -> Span {
        let text = self.sources.text(file);
        crate::syntax::tree::parse(text, file)
            .ok()
            .and_then(|tree| tree.span_at(text, path))
            .unwrap_or_default()
    }
}

/// The `invalid-user` diagnostics of a directory's users: password hashes authflow will not
/// verify (not PHC, or argon2 costs above the caps), TOTP secrets that are not base32, and
/// ids used twice. Spans point at the value in `file`.
pub fn validate_users(sources: &Sources, file: FileId, users: &[DirectoryUser]) -> Vec<Diagnostic> {
    // The users as the file's spanned tree holds them, in the same order.
    let text = sources.text(file);
    let tree = crate::syntax::tree::parse(text, file).ok();
    let listed = tree
        .as_ref()
        .and_then(|t| t.get("users"))
        .map(|u| u.as_seq());
    let mut diagnostics = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (index, user) in users.iter().enumerate() {
        let at = |key: &str| {
            listed
                .and_then(|list| list.get(index))
                .and_then(|node| node.get(key))
                .map_or(Span::default(), |node| node.text_span(text))
        };
        if !seen.insert(user.id.as_str()) {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidUser,
                    file,
                    at("id"),
                    format!("two users have the id `{}`", user.id),
                )
                .help("give every user its own id"),
            );
        }
        if let Some(hash) = &user.password_hash
            && let Err(problem) = crate::run::crypto::check_password_hash(hash)
        {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidUser,
                    file,
                    at("password_hash"),
                    format!("user `{}`: {problem}", user.id),
                )
                .label("this password hash")
                .help(crate::run::crypto::PASSWORD_HASH_HELP),
            );
        }
        if let Some(secret) = &user.totp_secret
            && let Err(problem) = crate::run::crypto::check_totp_secret(secret)
        {
            diagnostics.push(
                Diagnostic::new(Code::InvalidUser, file, at("totp_secret"), format!("user `{}`: {problem}", user.id))
                    .label("this TOTP secret")
                    .help("a TOTP secret is base32 (A-Z, 2-7) of at least 128 bits, as authenticator apps show it"),
            );
        }
    }
    diagnostics
}

/// `text` with every value after a `key:` masked by `*` of the same byte length, so spans
/// into the original stay valid and no excerpt shows a value.
fn mask_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let keep = match body.find(':') {
            Some(colon) if !body.trim_start().starts_with('#') => colon + 1,
            _ if body.trim_start().starts_with('#') => body.len(),
            _ => 0,
        };
        out.push_str(&body[..keep]);
        for c in body[keep..].chars() {
            let mask = if c.is_whitespace() {
                c.to_string()
            } else {
                "*".repeat(c.len_utf8())
            };
            out.push_str(&mask);
        }
        out.push_str(end);
    }
    out
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

/// A path relative to the current directory when it lies below it, for shorter messages. A
/// symbolic link is shown by its own name, never by where it leads.
pub fn display_path(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().ok();
    let located = crate::files::located(path);
    match cwd
        .and_then(|c| std::fs::canonicalize(c).ok())
        .and_then(|c| located.strip_prefix(&c).ok().map(Path::to_path_buf))
    {
        Some(relative) => relative,
        None => path.to_path_buf(),
    }
}
