//! AF040-AF047: custom actions and action modules: unknown or disabled actions, module pins,
//! secrets, fetch allowlist, api calls the trigger does not offer, syntax, log levels.

use super::RuleDoc;
use crate::catalog::api::{self, Trigger};
use crate::check::{Context, at};
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::jsfacts::{ActionFacts, HandlerKind, SecretSource};
use crate::workspace::Workspace;
use std::collections::BTreeMap;

pub const DOC: RuleDoc = RuleDoc {
    what: "In flows: Run Custom Action blocks naming an action the workspace lacks (AF040), or a disabled one (AF041, skipped at run time). In every action and module: JavaScript that does not parse or exports no handler for its trigger (AF046), `require('actions:<name>')` without a pin to a published version (AF042), secrets read but not declared (AF043), `fetch` or `api.fetch` to a literal URL outside `fetch_allowlist` (AF044), api calls the trigger does not offer, such as `api.deny` in an event-stream action (AF045), and `api.log` levels other than debug/info/warn/error (AF047).",
    why: "Each of these is a console misconfiguration that only shows in production: a disabled action silently does nothing, an unpinned module upgrades under you, an undeclared secret reads undefined.",
    example: "# actions/tor-check.yaml\nname: tor-check\nenabled: true\nsecrets: []          # AF043 if tor-check.js reads event.secrets.IPINFO_TOKEN\nmodules: {}          # AF042 if it requires 'actions:logger'",
};

/// The flow-level part: what Run Custom Action blocks name.
pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    for (i, info) in cx.graph.blocks.iter().enumerate() {
        let Some(slug) = cx.action_of(i) else {
            continue;
        };
        let span = info.action().map_or(info.block.id.span, |v| v.span);
        match cx.ws.actions.get(slug) {
            None => {
                let mut d = at(
                    cx,
                    Code::UnknownAction,
                    span,
                    format!("the workspace has no action `{slug}`"),
                );
                d = match crate::catalog::closest(slug, cx.ws.actions.keys().map(String::as_str)) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("create actions/{slug}.js and actions/{slug}.yaml")),
                };
                found.push(d);
            }
            Some(action) if action.meta.trigger != Trigger::Login => {
                found.push(
                    at(
                        cx,
                        Code::ApiNotAllowedInTrigger,
                        span,
                        format!("`{slug}` is an event-stream action; flows run only login actions"),
                    )
                    .help("event-stream actions run on subscribed events, not inside a flow"),
                );
            }
            Some(action) if !action.meta.enabled => {
                let mut d = at(
                    cx,
                    Code::DisabledAction,
                    span,
                    format!("action `{slug}` is disabled: this block is skipped at run time"),
                )
                .help(format!("set `enabled: true` in actions/{slug}.yaml"));
                if let Some(file) = action.meta_file {
                    d = d.related(file, cx.ws.find_in_file(file, "enabled"), "disabled here");
                }
                found.push(d);
            }
            Some(_) => {}
        }
    }
    for d in found {
        cx.report(d);
    }
}

/// The workspace-level part: every action and module, whether or not a flow runs it.
pub fn check_all(
    ws: &Workspace,
    actions: &BTreeMap<String, ActionFacts>,
    out: &mut Vec<Diagnostic>,
) {
    for (slug, action) in &ws.actions {
        let Some(facts) = actions.get(slug) else {
            continue;
        };
        let file = action.code_file;
        check_source(
            ws,
            file,
            facts,
            &action.meta.secrets,
            action.meta.trigger,
            SecretSource::EventSecrets,
            out,
        );
        let expected = match action.meta.trigger {
            Trigger::Login => HandlerKind::Login,
            Trigger::EventStream => HandlerKind::EventStream,
        };
        if facts.syntax_errors.is_empty()
            && facts.handler.as_ref().map(|h| h.kind) != Some(expected)
        {
            out.push(
                Diagnostic::new(
                    Code::ActionSyntax,
                    file,
                    facts
                        .handler
                        .as_ref()
                        .map_or_else(Default::default, |h| h.span),
                    format!(
                        "`{slug}` does not export `exports.{}`",
                        action.meta.trigger.export_name()
                    ),
                )
                .help(format!(
                    "a {} action exports `exports.{} = async (event, api) => {{ ... }}`",
                    trigger_name(action.meta.trigger),
                    action.meta.trigger.export_name()
                )),
            );
        }
        for require in &facts.requires {
            let Some(spec) = &require.specifier else {
                out.push(
                    Diagnostic::new(
                        Code::MissingModulePin,
                        file,
                        require.span,
                        "`require` with a computed name cannot be resolved",
                    )
                    .help("write `require('actions:<module>')` with a string literal"),
                );
                continue;
            };
            let Some(name) = spec.strip_prefix("actions:") else {
                out.push(
                    Diagnostic::new(Code::MissingModulePin, file, require.span, format!("`{spec}` is not an action module"))
                        .help("actions can require only action modules (`require('actions:<name>')`); add npm dependencies to a module"),
                );
                continue;
            };
            let Some(module) = ws.modules.get(name) else {
                let mut d = Diagnostic::new(
                    Code::MissingModulePin,
                    file,
                    require.span,
                    format!("the workspace has no action module `{name}`"),
                );
                d = match crate::catalog::closest(name, ws.modules.keys().map(String::as_str)) {
                    Some(s) => d.help(format!("did you mean `actions:{s}`?")),
                    None => d.help(format!(
                        "create modules/{name}/module.yaml and modules/{name}/v1.js"
                    )),
                };
                out.push(d);
                continue;
            };
            match action.meta.modules.get(name) {
                None => out.push(
                    Diagnostic::new(
                        Code::MissingModulePin,
                        file,
                        require.span,
                        format!("`{slug}` requires `actions:{name}` but does not pin a version"),
                    )
                    .help(format!(
                        "add `modules: {{ {name}: {} }}` to actions/{slug}.yaml",
                        module.versions.keys().last().copied().unwrap_or(1)
                    )),
                ),
                Some(v) if !module.versions.contains_key(v) => {
                    let published: Vec<String> =
                        module.versions.keys().map(|v| v.to_string()).collect();
                    let span = action
                        .meta_file
                        .map_or(require.span, |f| ws.find_in_file(f, name));
                    out.push(
                        Diagnostic::new(
                            Code::MissingModulePin,
                            action.meta_file.unwrap_or(file),
                            span,
                            format!(
                                "`{slug}` pins `{name}` to version {v}, which is not published"
                            ),
                        )
                        .help(if published.is_empty() {
                            format!("publish modules/{name}/v1.js")
                        } else {
                            format!("published versions: {}", published.join(", "))
                        }),
                    );
                }
                Some(_) => {}
            }
        }
        if let Some(meta_file) = action.meta_file {
            for secret in &action.meta.secrets {
                if !ws.settings.secrets.contains(secret) {
                    out.push(
                        Diagnostic::new(
                            Code::UndeclaredSecret,
                            meta_file,
                            ws.find_in_file(meta_file, secret),
                            format!("secret `{secret}` is not declared in authflow.yaml"),
                        )
                        .help(format!("add `{secret}` to `secrets:` in authflow.yaml")),
                    );
                }
            }
        }
    }
    for module in ws.modules.values() {
        for file in module.versions.values().copied().chain(module.draft) {
            let facts = crate::jsfacts::analyze(ws.sources.text(file));
            check_source(
                ws,
                file,
                &facts,
                &module.meta.secrets,
                Trigger::Login,
                SecretSource::ActionsSecrets,
                out,
            );
        }
    }
}

fn trigger_name(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Login => "login",
        Trigger::EventStream => "event-stream",
    }
}

/// Checks shared by actions and modules: syntax, secrets, fetch, api calls, log levels.
fn check_source(
    ws: &Workspace,
    file: FileId,
    facts: &ActionFacts,
    secrets: &[String],
    trigger: Trigger,
    secret_source: SecretSource,
    out: &mut Vec<Diagnostic>,
) {
    for e in &facts.syntax_errors {
        let mut d = Diagnostic::new(
            Code::ActionSyntax,
            file,
            e.span,
            format!("JavaScript syntax error: {}", e.message),
        );
        d = d.help(
            e.help
                .clone()
                .unwrap_or_else(|| "fix the syntax; the action would fail on every run".into()),
        );
        out.push(d);
    }
    for read in &facts.secret_reads {
        if read.via != secret_source {
            let (wrong, right) = match secret_source {
                SecretSource::EventSecrets => ("actions.secrets", "event.secrets"),
                SecretSource::ActionsSecrets => ("event.secrets", "actions.secrets"),
            };
            out.push(
                Diagnostic::new(
                    Code::UndeclaredSecret,
                    file,
                    read.span,
                    format!("`{wrong}` is not available here"),
                )
                .help(format!("read secrets here as `{right}.{}`", read.name)),
            );
        } else if !secrets.contains(&read.name) {
            out.push(
                Diagnostic::new(
                    Code::UndeclaredSecret,
                    file,
                    read.span,
                    format!("secret `{}` is read but not declared", read.name),
                )
                .help(format!(
                    "add `{}` to `secrets:` in the metadata file beside this one",
                    read.name
                )),
            );
        }
    }
    for fetch in &facts.fetch_urls {
        // Global `fetch` and `api.fetch` are the same function under the same allowlist in
        // both triggers (the reference's examples use the global one), so both are checked
        // alike and neither is preferred.
        // A literal URL must start with an allowed prefix; a template's static prefix is
        // reported only when no allowed prefix can still match whatever follows it.
        let allowlist = &ws.settings.fetch_allowlist;
        let (url, allowed) = match (&fetch.url, &fetch.prefix) {
            (Some(url), _) => (url, allowlist.iter().any(|p| url.starts_with(p.as_str()))),
            (None, Some(prefix)) => (
                prefix,
                allowlist
                    .iter()
                    .any(|p| prefix.starts_with(p.as_str()) || p.starts_with(prefix.as_str())),
            ),
            (None, None) => continue,
        };
        if !allowed {
            out.push(
                Diagnostic::new(
                    Code::FetchNotAllowed,
                    file,
                    fetch.span,
                    format!("`{url}` is outside the tenant's fetch allowlist"),
                )
                .help(if ws.settings.fetch_allowlist.is_empty() {
                    "add a URL prefix to `fetch_allowlist:` in authflow.yaml".to_string()
                } else {
                    format!(
                        "allowed prefixes: {}",
                        ws.settings.fetch_allowlist.join(", ")
                    )
                }),
            );
        }
    }
    for call in &facts.api_calls {
        match api::method(&call.method) {
            None => out.push(
                Diagnostic::new(Code::ApiNotAllowedInTrigger, file, call.span, format!("`api.{}` does not exist", call.method)).help(format!(
                    "the api offers: {}",
                    api::API_METHODS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
                )),
            ),
            Some(m) if trigger == Trigger::EventStream && !m.event_stream => out.push(
                Diagnostic::new(Code::ApiNotAllowedInTrigger, file, call.span, format!("event-stream actions cannot call `api.{}`", m.name))
                    .help("event-stream actions run after the fact and cannot change the login; log or fetch instead"),
            ),
            Some(_) => {}
        }
    }
    for (level, span) in &facts.log_levels {
        if !api::LOG_LEVELS.contains(&level.as_str()) {
            let mut d = Diagnostic::new(
                Code::UnknownLogLevel,
                file,
                *span,
                format!("`{level}` is not a log level"),
            );
            d = match crate::catalog::closest(level, api::LOG_LEVELS.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("use debug, info, warn or error"),
            };
            out.push(d);
        }
    }
}
