//! Environments: `environments/<name>.yaml` overlays that hold what differs between, say,
//! staging and production, and the `${{ vars.NAME }}` / `${{ clients.NAME }}` references that
//! flows and action metadata use to read them.
//!
//! An overlay adds fetch allowlist entries, overrides the session issuer, audience and
//! signing secret, names the tenant's client ids, overrides limits key by key, maps secret
//! names to the environment's own secrets, and sets `vars` (over the base values in
//! `authflow.yaml`'s `vars`). [`Environment::select`] reads one (or none: the base values
//! only) and applies it to a loaded workspace; [`Environment::apply_flow`] substitutes the
//! references in a parsed flow. A workspace without `environments/` and without references
//! behaves exactly as before.
//!
//! Substitution happens once, right after loading and parsing, so checks, compile, run,
//! diff and replay all see the environment's values and nothing downstream knows
//! environments exist. In a condition, a reference becomes a literal of the value's type
//! (`"RU"`, `70`, `["CN", "RU"]`), padded with spaces to the reference's length when it is
//! shorter, so that every span after it still points at the right bytes. In a config value,
//! a reference that is the whole value takes the value's type; one inside a longer string is
//! interpolated as text. In action metadata, a reference must be a whole YAML value.
//!
//! **Invariant:** a reference that no selected source defines is an `unknown-var` error that
//! names the environment; it never silently becomes an empty value that then runs.

use super::{ActionMeta, Workspace};
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use crate::syntax::ast::{ConfigValue, ConfigValueKind, Flow};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directory of environment overlays, relative to the workspace root.
pub const ENVIRONMENTS_DIR: &str = "environments";

/// The `--env` value that means "every environment" (`authflow check --env all`).
pub const ALL: &str = "all";

/// `environments/<name>.yaml`: what one environment changes over `authflow.yaml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Overlay {
    /// URL prefixes added to `authflow.yaml`'s `fetch_allowlist` in this environment.
    pub fetch_allowlist: Vec<String>,
    /// Overrides of `authflow.yaml`'s `session`, key by key.
    pub session: SessionOverlay,
    /// The tenant's client ids by name, read as `${{ clients.NAME }}` (for example in
    /// `event.client.id == ${{ clients.web }}`).
    pub clients: BTreeMap<String, String>,
    /// Overrides of `authflow.yaml`'s `limits`, key by key.
    #[schemars(with = "crate::js::Limits")]
    pub limits: serde_json::Map<String, Value>,
    /// Secret names: the name actions and modules declare -> the secret that holds its value
    /// in this environment (`IPINFO_TOKEN: IPINFO_TOKEN_PROD` reads
    /// `AUTHFLOW_SECRET_IPINFO_TOKEN_PROD`).
    pub secrets: BTreeMap<String, String>,
    /// Named values read as `${{ vars.NAME }}`, over `authflow.yaml`'s `vars`: strings,
    /// numbers, booleans, or lists of those.
    pub vars: BTreeMap<String, Value>,
}

/// Overrides of the session settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionOverlay {
    /// The `iss` claim.
    pub issuer: Option<String>,
    /// The `aud` claim of every Issue Session block that sets no `audience` of its own.
    pub audience: Option<String>,
    /// The secret (by name) that signs session tokens.
    pub signing_secret: Option<String>,
}

/// The environment a workspace was loaded in: its name (none: `authflow.yaml` alone) and
/// every value a reference can read.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub name: Option<String>,
    /// The overlay file, when an environment was selected.
    pub file: Option<FileId>,
    pub vars: BTreeMap<String, Value>,
    pub clients: BTreeMap<String, String>,
    /// The default audience of Issue Session blocks.
    pub audience: Option<String>,
    /// Secret name -> the name its value is read under in this environment.
    pub secret_names: BTreeMap<String, String>,
}

/// What a reference reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    Vars,
    Clients,
}

/// One `${{ namespace.NAME }}` in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// From `$` to the closing `}}`, relative to the text.
    pub span: Span,
    pub namespace: Namespace,
    pub name: String,
}

/// A `${{ ... }}` that is not a reference authflow knows, relative to the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadReference {
    pub span: Span,
    pub message: String,
}

/// Why an environment could not be selected at all.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SelectError(pub String);

/// Whether `name` can name an environment: lowercase letters, digits, `-` and `_`, at most 64
/// bytes, starting with a letter, and not the reserved `all`.
pub fn validate_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid {
        return Err(format!(
            "`{name}` is not an environment name (lowercase letters, digits, `-`, `_`; starting with a letter)"
        ));
    }
    if name == ALL {
        return Err("`all` is reserved: `--env all` means every environment".into());
    }
    Ok(())
}

/// The environments a workspace defines (`environments/*.yaml`), sorted.
pub fn names(root: &Path) -> Vec<String> {
    let Ok(paths) = crate::files::list_dir(&root.join(ENVIRONMENTS_DIR), Some(root)) else {
        return Vec::new();
    };
    paths
        .iter()
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .filter(|n| validate_name(n).is_ok())
        .collect()
}

/// The overlay file of environment `name`.
pub fn path(root: &Path, name: &str) -> PathBuf {
    root.join(ENVIRONMENTS_DIR).join(format!("{name}.yaml"))
}

/// Every `${{ ... }}` in `text`, as references or as what is wrong with them.
pub fn references(text: &str) -> Vec<Result<Reference, BadReference>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("${{") {
        let start = from + offset;
        let Some(close) = text[start..].find("}}") else {
            out.push(Err(BadReference {
                span: Span::new(start, start + 3),
                message: "`${{` without its closing `}}`".into(),
            }));
            break;
        };
        let end = start + close + 2;
        let inner = text[start + 3..start + close].trim();
        let span = Span::new(start, end);
        let parsed = match inner.split_once('.') {
            Some(("vars", name)) if is_name(name) => Ok((Namespace::Vars, name)),
            Some(("clients", name)) if is_name(name) => Ok((Namespace::Clients, name)),
            _ => Err(format!(
                "`${{{{ {inner} }}}}` is not a reference: write `${{{{ vars.NAME }}}}` or `${{{{ clients.NAME }}}}`"
            )),
        };
        out.push(match parsed {
            Ok((namespace, name)) => Ok(Reference {
                span,
                namespace,
                name: name.to_string(),
            }),
            Err(message) => Err(BadReference { span, message }),
        });
        from = end;
    }
    out
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether a var's value is one a reference can stand for: a scalar or a list of scalars.
fn valid_value(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().all(|v| !v.is_array() && !v.is_object()),
        Value::Object(_) => false,
        _ => true,
    }
}

impl Environment {
    /// Selects environment `name` (or none: `authflow.yaml`'s `vars` only) for a loaded
    /// workspace: reads the overlay, applies it to the settings, and substitutes references
    /// in every action's metadata. Problems inside the files are diagnostics; an environment
    /// that does not exist is an error.
    pub fn select(
        ws: &mut Workspace,
        name: Option<&str>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<Environment, SelectError> {
        let mut env = Environment {
            name: name.map(str::to_string),
            vars: ws.settings.vars.clone(),
            ..Environment::default()
        };
        if let (Some(file), Some(bad)) = (
            ws.settings_file,
            env.vars.iter().find(|(_, v)| !valid_value(v)),
        ) {
            diagnostics.push(invalid_var(ws, file, bad.0));
        }
        if let Some(name) = name {
            validate_name(name).map_err(SelectError)?;
            let Some(root) = ws.root.clone() else {
                return Err(SelectError(format!(
                    "--env {name}: not in a workspace, so there are no environments"
                )));
            };
            let path = path(&root, name);
            if !path.is_file() {
                let known = names(&root);
                return Err(SelectError(format!(
                    "no environment `{name}`: {} does not exist ({})",
                    Path::new(ENVIRONMENTS_DIR)
                        .join(format!("{name}.yaml"))
                        .display(),
                    if known.is_empty() {
                        "the workspace defines none".to_string()
                    } else {
                        format!("environments: {}", known.join(", "))
                    }
                )));
            }
            let file = ws
                .read_flow(&path)
                .map_err(|e| SelectError(e.to_string()))?;
            env.file = Some(file);
            match crate::syntax::conform::from_str::<Overlay>(ws.sources.text(file), file) {
                Ok(overlay) => env.apply_overlay(ws, file, overlay, diagnostics),
                Err(mut d) => diagnostics.append(&mut d),
            }
        }
        env.substitute_metadata(ws, diagnostics);
        Ok(env)
    }

    fn apply_overlay(
        &mut self,
        ws: &mut Workspace,
        file: FileId,
        overlay: Overlay,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let settings = &mut ws.settings;
        for entry in overlay.fetch_allowlist {
            if !settings.fetch_allowlist.contains(&entry) {
                settings.fetch_allowlist.push(entry);
            }
        }
        if let Some(issuer) = overlay.session.issuer {
            settings.session.issuer = issuer;
        }
        if let Some(secret) = overlay.session.signing_secret {
            settings.session.signing_secret = Some(secret);
        }
        self.audience = overlay.session.audience;
        if !overlay.limits.is_empty() {
            let mut limits = serde_json::to_value(settings.limits).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut limits {
                map.extend(overlay.limits);
            }
            match serde_json::from_value::<crate::js::Limits>(limits) {
                Ok(limits) => settings.limits = limits,
                Err(e) => diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        file,
                        ws.yaml_span(file, &["limits"]),
                        format!("the environment's limits do not apply: {e}"),
                    )
                    .help("limits take the keys of authflow.yaml's `limits`, each a whole number"),
                ),
            }
        }
        for (name, value) in overlay.vars {
            if !valid_value(&value) {
                diagnostics.push(invalid_var(ws, file, &name));
                continue;
            }
            self.vars.insert(name, value);
        }
        self.clients = overlay.clients;
        ws.secret_names = overlay.secrets.clone();
        self.secret_names = overlay.secrets;
    }

    /// How this environment is named in messages: `environment `prod``, or `authflow.yaml`.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("environment `{name}`"),
            None => "authflow.yaml (no environment selected)".into(),
        }
    }

    /// The value a reference reads here.
    pub fn lookup(&self, reference: &Reference) -> Option<Value> {
        match reference.namespace {
            Namespace::Vars => self.vars.get(&reference.name).cloned(),
            Namespace::Clients => self
                .clients
                .get(&reference.name)
                .map(|c| Value::String(c.clone())),
        }
    }

    /// The error for a reference this environment does not define.
    fn unknown(&self, reference: &Reference, file: FileId, span: Span) -> Diagnostic {
        let (what, help) = match reference.namespace {
            Namespace::Vars => (
                format!("vars.{}", reference.name),
                match &self.name {
                    Some(name) => format!(
                        "define `{}` under `vars:` in environments/{name}.yaml (or in authflow.yaml for every environment)",
                        reference.name
                    ),
                    None => format!(
                        "define `{}` under `vars:` in authflow.yaml, or select an environment that defines it with --env",
                        reference.name
                    ),
                },
            ),
            Namespace::Clients => (
                format!("clients.{}", reference.name),
                match &self.name {
                    Some(name) => {
                        format!("name the client under `clients:` in environments/{name}.yaml")
                    }
                    None => {
                        "client ids live in environments/<name>.yaml: select one with --env".into()
                    }
                },
            ),
        };
        Diagnostic::new(
            Code::UnknownVar,
            file,
            span,
            format!("`{what}` is not defined in {}", self.describe()),
        )
        .label("used here")
        .help(help)
    }

    /// Substitutes references in each action's metadata text and reads it again.
    fn substitute_metadata(&self, ws: &mut Workspace, diagnostics: &mut Vec<Diagnostic>) {
        let slugs: Vec<String> = ws.actions.keys().cloned().collect();
        for slug in slugs {
            let Some(file) = ws.actions[&slug].meta_file else {
                continue;
            };
            let text = ws.sources.text(file).to_string();
            let found = references(&text);
            if found.is_empty() {
                continue;
            }
            let mut substituted = text.clone();
            let mut errors = Vec::new();
            // From the last reference backwards, so earlier offsets stay valid.
            for found in found.iter().rev() {
                let reference = match found {
                    Ok(r) => r,
                    Err(bad) => {
                        errors.push(
                            Diagnostic::new(Code::UnknownVar, file, bad.span, bad.message.clone())
                                .help("references read `vars` and `clients` of the selected environment"),
                        );
                        continue;
                    }
                };
                let Some((start, end)) = whole_yaml_value(&text, reference.span) else {
                    errors.push(
                        Diagnostic::new(
                            Code::UnknownVar,
                            file,
                            reference.span,
                            "in action metadata a reference must be a whole value",
                        )
                        .help("write it as the entire value: `enabled: ${{ vars.log_enabled }}`"),
                    );
                    continue;
                };
                match self.lookup(reference) {
                    Some(value) => {
                        let literal = padded(&value.to_string(), end - start);
                        substituted.replace_range(start..end, &literal);
                    }
                    None => errors.push(self.unknown(reference, file, reference.span)),
                }
            }
            if !errors.is_empty() {
                diagnostics.extend(errors);
                continue;
            }
            // The loader parsed the text with the references in it; its verdict is replaced
            // by the substituted text's.
            diagnostics.retain(|d| d.file != file);
            match crate::syntax::conform::from_str::<ActionMeta>(&substituted, file) {
                Ok(meta) => {
                    if let Some(action) = ws.actions.get_mut(&slug) {
                        action.meta = meta;
                    }
                }
                Err(mut d) => diagnostics.append(&mut d),
            }
        }
    }

    /// Substitutes every reference in a parsed flow (conditions and config values), and gives
    /// Issue Session blocks the environment's audience when they set none.
    pub fn apply_flow(&self, flow: &mut Flow, file: FileId, diagnostics: &mut Vec<Diagnostic>) {
        for stage in &mut flow.stages {
            for block in &mut stage.blocks {
                if let Some(condition) = &mut block.when {
                    let base = condition.span.start as usize;
                    condition.text =
                        self.substitute_condition(&condition.text, base, file, diagnostics);
                }
                for entry in &mut block.config {
                    self.substitute_value(&mut entry.value, file, diagnostics);
                }
                if let Some(audience) = &self.audience
                    && block.kind.value == "issue_session"
                    && block.config("audience").is_none()
                {
                    block.config.push(crate::syntax::ast::ConfigEntry {
                        key: crate::syntax::ast::Spanned::new("audience".into(), block.kind.span),
                        value: ConfigValue {
                            kind: ConfigValueKind::String(audience.clone()),
                            span: block.kind.span,
                        },
                    });
                }
            }
        }
    }

    fn substitute_condition(
        &self,
        text: &str,
        base: usize,
        file: FileId,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> String {
        let mut out = text.to_string();
        for found in references(text).iter().rev() {
            let (span, literal) = match found {
                Err(bad) => {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::UnknownVar,
                            file,
                            bad.span.offset(base),
                            bad.message.clone(),
                        )
                        .help("references read `vars` and `clients` of the selected environment"),
                    );
                    (bad.span, "null".to_string())
                }
                Ok(reference) => match self.lookup(reference) {
                    Some(value) => (reference.span, condition_literal(&value)),
                    None => {
                        diagnostics.push(self.unknown(
                            reference,
                            file,
                            reference.span.offset(base),
                        ));
                        (reference.span, "null".to_string())
                    }
                },
            };
            let (start, end) = (span.start as usize, span.end as usize);
            out.replace_range(start..end, &padded(&literal, end - start));
        }
        out
    }

    fn substitute_value(
        &self,
        value: &mut ConfigValue,
        file: FileId,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        match &mut value.kind {
            ConfigValueKind::List(items) => {
                for item in items {
                    self.substitute_value(item, file, diagnostics);
                }
            }
            ConfigValueKind::String(text) => {
                let found = references(text);
                if found.is_empty() {
                    return;
                }
                let base = value.span;
                let whole = matches!(&found[..], [Ok(r)] if r.span.start == 0 && r.span.end as usize == text.len());
                let mut out = text.clone();
                let mut typed = None;
                for found in found.iter().rev() {
                    let replacement = match found {
                        Err(bad) => {
                            diagnostics.push(
                                Diagnostic::new(Code::UnknownVar, file, inside(base, bad.span), bad.message.clone())
                                    .help("references read `vars` and `clients` of the selected environment"),
                            );
                            (bad.span, String::new())
                        }
                        Ok(reference) => match self.lookup(reference) {
                            None => {
                                diagnostics.push(self.unknown(
                                    reference,
                                    file,
                                    inside(base, reference.span),
                                ));
                                (reference.span, String::new())
                            }
                            Some(v) if whole => {
                                typed = Some(v);
                                break;
                            }
                            Some(Value::String(s)) => (reference.span, s),
                            Some(v) => (reference.span, v.to_string()),
                        },
                    };
                    let (span, text) = replacement;
                    out.replace_range(span.start as usize..span.end as usize, &text);
                }
                value.kind = match typed {
                    Some(v) => config_kind(&v, value.span),
                    None => ConfigValueKind::String(out),
                };
            }
            _ => {}
        }
    }

    /// The secret name a declared secret's value is read under in this environment.
    pub fn secret_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.secret_names.get(name).map_or(name, String::as_str)
    }
}

/// Removes the condition errors that an unknown reference causes (its stand-in `null` rarely
/// has the type the condition needs), so a condition with an unknown reference reports that
/// reference alone.
pub fn drop_consequences(flows: &[(FileId, Option<Flow>)], diagnostics: &mut Vec<Diagnostic>) {
    let unknown: Vec<(FileId, Span)> = diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownVar)
        .map(|d| (d.file, d.span))
        .collect();
    if unknown.is_empty() {
        return;
    }
    let within = |outer: Span, inner: Span| outer.start <= inner.start && inner.end <= outer.end;
    let poisoned: Vec<(FileId, Span)> = flows
        .iter()
        .filter_map(|(file, flow)| Some((*file, flow.as_ref()?)))
        .flat_map(|(file, flow)| {
            flow.blocks()
                .filter_map(move |(_, b)| b.when.as_ref().map(|w| (file, w.span)))
        })
        .filter(|(file, span)| unknown.iter().any(|(f, u)| f == file && within(*span, *u)))
        .collect();
    diagnostics.retain(|d| {
        !(matches!(
            d.code,
            Code::ConditionType | Code::ConditionSyntax | Code::UnknownField
        ) && poisoned
            .iter()
            .any(|(f, s)| *f == d.file && within(*s, d.span)))
    });
}

fn invalid_var(ws: &Workspace, file: FileId, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidValue,
        file,
        ws.yaml_span(file, &["vars", name]),
        format!("var `{name}` must be a string, a number, a boolean, or a list of those"),
    )
    .help("a reference stands for one value in a condition or a config key")
}

/// A span relative to a config string's content, in the file; the whole value's span when the
/// string's content cannot be located exactly (an escaped YAML or DSL string).
fn inside(value: Span, relative: Span) -> Span {
    if value.end > value.start {
        let shifted = relative.offset(value.start as usize);
        if shifted.end <= value.end {
            return shifted;
        }
    }
    value
}

/// `literal` followed by spaces up to `width` bytes, when it is shorter.
fn padded(literal: &str, width: usize) -> String {
    format!("{literal:width$}")
}

/// A value written in the condition language (grammar/expr.pest): a double-quoted string with
/// the language's escapes, a number, a boolean, null, or a list literal of those.
fn condition_literal(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(condition_literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::String(text) => {
            let mut out = String::with_capacity(text.len() + 2);
            out.push('"');
            for ch in text.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        other => other.to_string(),
    }
}

fn config_kind(value: &Value, span: Span) -> ConfigValueKind {
    match value {
        Value::Null => ConfigValueKind::Null,
        Value::Bool(b) => ConfigValueKind::Bool(*b),
        Value::Number(n) => ConfigValueKind::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => ConfigValueKind::String(s.clone()),
        Value::Array(items) => ConfigValueKind::List(
            items
                .iter()
                .map(|v| ConfigValue {
                    kind: config_kind(v, span),
                    span,
                })
                .collect(),
        ),
        Value::Object(_) => ConfigValueKind::Null,
    }
}

/// When the reference at `span` is a whole YAML value (after `key:`, `-`, `[`, `,` or `{`,
/// and before the end of the line, a comment, `,`, `]` or `}`, optionally inside quotes),
/// the byte range to replace (quotes included).
fn whole_yaml_value(text: &str, span: Span) -> Option<(usize, usize)> {
    let (mut start, mut end) = (span.start as usize, span.end as usize);
    let before = &text[..start];
    let after = &text[end..];
    let quote = [('"', '"'), ('\'', '\'')]
        .into_iter()
        .find(|(open, close)| before.ends_with(*open) && after.starts_with(*close));
    if quote.is_some() {
        start -= 1;
        end += 1;
    }
    let before = text[..start].trim_end_matches([' ', '\t']);
    let after = text[end..].trim_start_matches([' ', '\t']);
    let opens = before.is_empty() || before.ends_with([':', '-', '[', ',', '{', '\n']);
    let closes = after.is_empty()
        || after.starts_with(['\n', '#', ',', ']', '}'])
        || after.starts_with("\r\n");
    (opens && closes).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_and_refuses_what_is_not_one() {
        let found = references("a == ${{ vars.country }} && ${{clients.web}} ${{ env.x }} ${{");
        assert_eq!(found.len(), 4);
        assert_eq!(
            found[0],
            Ok(Reference {
                span: Span::new(5, 24),
                namespace: Namespace::Vars,
                name: "country".into()
            })
        );
        assert!(matches!(&found[1], Ok(r) if r.namespace == Namespace::Clients && r.name == "web"));
        assert!(matches!(&found[2], Err(b) if b.message.contains("env.x")));
        assert!(matches!(&found[3], Err(b) if b.message.contains("closing")));
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("prod").is_ok());
        assert!(validate_name("eu-west_2").is_ok());
        for bad in ["", "Prod", "-x", "../x", "all", "a b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_whole_yaml_value_is_recognised() {
        let text = "enabled: ${{ vars.on }}\nsecrets: [${{ vars.s }}, B]\nname: \"${{ vars.n }}\"\ndescription: logs ${{ vars.d }} users\n";
        let spans: Vec<Span> = references(text)
            .into_iter()
            .map(|r| r.unwrap().span)
            .collect();
        assert!(whole_yaml_value(text, spans[0]).is_some());
        assert!(whole_yaml_value(text, spans[1]).is_some());
        let (start, end) = whole_yaml_value(text, spans[2]).unwrap();
        assert_eq!(&text[start..end], "\"${{ vars.n }}\"");
        assert!(whole_yaml_value(text, spans[3]).is_none());
    }

    #[test]
    fn literals_keep_the_reference_width() {
        assert_eq!(padded("\"RU\"", 8), "\"RU\"    ");
        assert_eq!(padded("\"a long value\"", 4), "\"a long value\"");
        assert_eq!(
            condition_literal(&serde_json::json!(["CN", "RU"])),
            "[\"CN\", \"RU\"]"
        );
        let tricky = condition_literal(&serde_json::json!("a\"b\\c\nd\u{8}"));
        assert_eq!(tricky, "\"a\\\"b\\\\c\\nd\\u0008\"");
        assert!(crate::expr::parse(&format!("event.x == {tricky}")).is_ok());
    }
}
