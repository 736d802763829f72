//! The host of custom actions, where a workspace meets the JavaScript engine: builds the
//! engine's `ActionSource`s from a workspace (resolving module pins and secret values) and
//! adapts the engine to the simulator's `ActionRunner`. Every command and library caller that
//! runs actions (`run`, `action test`, the test runner) composes them here; neither `run` nor
//! `js` knows the other.

use crate::compile::Plan;
use crate::js::{self, ActionSource, Engine, EngineConfig, FetchPolicy, ModuleSource};
use crate::run::trace::{Failure, LogEntry};
use crate::run::{ActionRequest, ActionResult, ActionRunner, NoActions};
use crate::workspace::{Action, Workspace};
use std::collections::BTreeMap;

/// Why a workspace's actions cannot run.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Engine(#[from] js::EngineError),
    /// A declared secret has no value: the platform never runs an action with an unset
    /// secret, and `""` would hide the mistake.
    #[error(
        "{owner} declares the secret `{name}`, which has no value: set AUTHFLOW_SECRET_{name}, or add `{name}: <value>` to {}",
        crate::workspace::SECRETS_FILE
    )]
    MissingSecret { owner: String, name: String },
}

/// Runs a workspace's actions in the engine.
pub struct JsActions {
    engine: Engine,
    tenant: String,
    sources: BTreeMap<String, ActionSource>,
    limits: js::Limits,
    allowlist: Vec<String>,
}

/// The runner for a compiled plan's custom actions, for many logins; shareable across
/// threads (replay runs logins in parallel).
pub fn runner_for(
    ws: &Workspace,
    plan: &Plan,
) -> Result<Box<dyn ActionRunner + Send + Sync>, HostError> {
    runner_with(ws, plan, EngineConfig::default())
}

/// How many runtimes a single login keeps: it runs each action about once, so a runtime it
/// will not run again is torn down (its memory returned) instead of cached.
const ONE_LOGIN_RUNTIMES: usize = 4;

/// The runner for one login through a compiled plan (`authflow run`): the first runtimes of
/// its actions are built in parallel, one per core, and no more are built than it has actions;
/// only the last few runtimes stay, so a flow with many actions does not hold them all.
pub fn runner_for_one_login(
    ws: &Workspace,
    plan: &Plan,
) -> Result<Box<dyn ActionRunner + Send + Sync>, HostError> {
    let config = EngineConfig {
        max_runtimes: ONE_LOGIN_RUNTIMES,
        warm_runtimes: plan.actions.len().clamp(1, js::cores()),
        ..EngineConfig::default()
    };
    runner_with(ws, plan, config)
}

fn runner_with(
    ws: &Workspace,
    plan: &Plan,
    config: EngineConfig,
) -> Result<Box<dyn ActionRunner + Send + Sync>, HostError> {
    if plan.actions.is_empty() {
        // No JavaScript runs: do not pay for a runtime (the engine warms one as it starts).
        return Ok(Box::new(NoActions(
            "this flow runs no custom actions".into(),
        )));
    }
    let slugs: Vec<&str> = plan.actions.keys().map(String::as_str).collect();
    let actions = JsActions::with_config(ws, slugs, config)?;
    actions.engine.expect_first_runs(plan.actions.len());
    Ok(Box::new(actions))
}

impl JsActions {
    /// An engine and the sources of the named actions.
    pub fn new<'a>(
        ws: &Workspace,
        slugs: impl IntoIterator<Item = &'a str>,
    ) -> Result<JsActions, HostError> {
        JsActions::with_config(ws, slugs, EngineConfig::default())
    }

    fn with_config<'a>(
        ws: &Workspace,
        slugs: impl IntoIterator<Item = &'a str>,
        config: EngineConfig,
    ) -> Result<JsActions, HostError> {
        let slugs: Vec<&str> = slugs.into_iter().collect();
        for action in slugs.iter().filter_map(|slug| ws.actions.get(*slug)) {
            require_secret_values(ws, action)?;
        }
        let engine = Engine::new(config)?;
        let sources = slugs
            .into_iter()
            .filter_map(|slug| {
                ws.actions
                    .get(slug)
                    .map(|a| (slug.to_string(), action_source(ws, a)))
            })
            .collect();
        Ok(JsActions {
            engine,
            tenant: ws.settings.tenant.id.clone(),
            sources,
            limits: ws.settings.limits,
            allowlist: ws.settings.fetch_allowlist.clone(),
        })
    }
}

/// Refuses to run an action when a secret it or one of its pinned modules declares has no
/// value.
pub fn require_secret_values(ws: &Workspace, action: &Action) -> Result<(), HostError> {
    let modules = action
        .meta
        .modules
        .keys()
        .filter_map(|name| ws.modules.get(name))
        .map(|m| (format!("module `{}`", m.name), &m.meta.secrets));
    let owners =
        std::iter::once((format!("action `{}`", action.slug), &action.meta.secrets)).chain(modules);
    for (owner, names) in owners {
        if let Some(name) = names.iter().find(|n| ws.secret_value(n).is_none()) {
            return Err(HostError::MissingSecret {
                owner,
                name: name.clone(),
            });
        }
    }
    Ok(())
}

/// An action's code, its pinned modules' code and every secret value it may read.
pub fn action_source(ws: &Workspace, action: &Action) -> ActionSource {
    let secrets = |names: &[String]| {
        names
            .iter()
            .map(|n| (n.clone(), ws.secret_value(n).unwrap_or_default()))
            .collect::<BTreeMap<_, _>>()
    };
    let modules = action
        .meta
        .modules
        .iter()
        .filter_map(|(name, version)| {
            let module = ws.modules.get(name)?;
            let file = *module.versions.get(version)?;
            // Only packages that resolved (release::npm); a refused one is a check error and
            // its `require` throws at run time.
            let packages = ws
                .npm
                .get(name)
                .map(|n| n.packages.as_slice())
                .unwrap_or_default();
            Some(ModuleSource {
                name: name.clone(),
                version: version.to_string(),
                file_name: ws.sources.path(file).display().to_string(),
                code: ws.sources.text(file).to_string(),
                secrets: secrets(&module.meta.secrets),
                packages: packages.iter().flat_map(|p| p.files.clone()).collect(),
                requires: packages
                    .iter()
                    .map(|p| (p.name.clone(), p.entry.clone()))
                    .collect(),
            })
        })
        .collect();
    ActionSource {
        slug: action.slug.clone(),
        file_name: ws.sources.path(action.code_file).display().to_string(),
        code: ws.sources.text(action.code_file).to_string(),
        trigger: action.meta.trigger,
        modules,
        secrets: secrets(&action.meta.secrets),
    }
}

impl ActionRunner for JsActions {
    fn run_action(&self, request: ActionRequest) -> ActionResult {
        match self.sources.get(request.slug) {
            Some(source) => run_on(
                &self.engine,
                &self.tenant,
                source,
                &request,
                &self.limits,
                &self.allowlist,
            ),
            None => unknown_action(request.slug),
        }
    }
}

/// Runs one action on `engine` for `tenant`, serving the request's recorded responses under
/// the tenant's allowlist. The test runner shares this with `JsActions`.
pub fn run_on(
    engine: &Engine,
    tenant: &str,
    source: &ActionSource,
    request: &ActionRequest,
    limits: &js::Limits,
    allowlist: &[String],
) -> ActionResult {
    let clock_ms = request.now.saturating_mul(1000);
    run_on_at(engine, tenant, source, request, limits, allowlist, clock_ms)
}

/// [`run_on`] with the clock in milliseconds (stream deliveries advance it by backoff delays
/// finer than the request's seconds).
pub fn run_on_at(
    engine: &Engine,
    tenant: &str,
    source: &ActionSource,
    request: &ActionRequest,
    limits: &js::Limits,
    allowlist: &[String],
    clock_ms: i64,
) -> ActionResult {
    let fetch = FetchPolicy {
        allow_prefixes: allowlist.to_vec(),
        responses: request
            .fetch
            .iter()
            .map(|(key, r)| {
                let body = match &r.body {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (
                    key.clone(),
                    js::RecordedResponse {
                        status: r.status,
                        headers: r.headers.clone(),
                        body,
                    },
                )
            })
            .collect(),
    };
    let input = js::ActionInput {
        event: request.event,
        limits,
        fetch: &fetch,
        clock_ms,
    };
    convert(engine.run(tenant, source, input))
}

/// The result of naming an action the workspace does not have.
pub fn unknown_action(slug: &str) -> ActionResult {
    ActionResult {
        failure: Some(Failure {
            kind: "unknown".into(),
            message: format!("no action `{slug}` in the workspace"),
            file: None,
            line: None,
            column: None,
        }),
        ..ActionResult::default()
    }
}

/// The engine's outcome in the simulator's terms.
pub fn convert(outcome: js::ActionOutcome) -> ActionResult {
    ActionResult {
        logs: outcome
            .logs
            .into_iter()
            .map(|l| LogEntry {
                level: serde_json::to_value(l.level)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                message: l.message,
            })
            .collect(),
        state_writes: outcome.state_writes,
        metadata_patch: outcome.metadata_patch,
        claims: outcome.claims,
        denied: outcome.denied,
        failure: outcome.failure.map(|f| Failure {
            kind: match f.kind {
                js::FailureKind::Limit(limit) => format!("limit: {}", limit.describe()),
                other => serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "failure".into()),
            },
            message: f.message,
            file: f.file,
            line: f.line,
            column: f.column,
        }),
        fetches: outcome
            .fetches
            .iter()
            .filter_map(|f| serde_json::to_value(f).ok())
            .collect(),
    }
}
