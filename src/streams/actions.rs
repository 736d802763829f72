//! The stream's actions in the JavaScript engine: one engine per delivery worker (an engine
//! runs one action's runs in turn, so parallel deliveries need their own runtimes), sources and
//! secrets composed through `crate::host`, and the per-delivery timeout applied as the run's
//! wall and CPU budget.

use super::delivery::Deliver;
use super::file::Stream;
use super::message::Message;
use crate::host;
use crate::js::{self, ActionSource, Engine, EngineConfig};
use crate::run::event::RecordedResponse;
use crate::run::{ActionRequest, ActionResult};
use crate::workspace::{TenantSettings, Workspace};
use std::collections::BTreeMap;

/// The actions of one stream, ready to deliver on `workers` workers.
pub struct StreamActions {
    engines: Vec<Engine>,
    stream: String,
    tenant: TenantSettings,
    /// Enabled actions by slug; a bound action missing here is disabled.
    sources: BTreeMap<String, ActionSource>,
    limits: js::Limits,
    allowlist: Vec<String>,
    recordings: BTreeMap<String, RecordedResponse>,
}

impl StreamActions {
    /// Engines and sources for `stream`'s actions. The stream must have passed its checks:
    /// an action that does not exist is treated as disabled here.
    pub fn new(
        ws: &Workspace,
        stream: &Stream,
        workers: usize,
        recordings: BTreeMap<String, RecordedResponse>,
    ) -> Result<StreamActions, js::EngineError> {
        let engines = (0..workers.max(1))
            .map(|_| Engine::new(EngineConfig::default()))
            .collect::<Result<Vec<_>, _>>()?;
        let sources = stream
            .spec
            .actions
            .iter()
            .filter_map(|slug| {
                let action = ws.actions.get(&slug.value)?;
                action
                    .meta
                    .enabled
                    .then(|| (slug.value.clone(), host::action_source(ws, action)))
            })
            .collect();
        Ok(StreamActions {
            engines,
            stream: stream.name.clone(),
            tenant: ws.settings.tenant.clone(),
            sources,
            limits: delivery_limits(ws.settings.limits, stream),
            allowlist: ws.settings.fetch_allowlist.clone(),
            recordings,
        })
    }

    /// How many workers the actions were built for.
    pub fn workers(&self) -> usize {
        self.engines.len()
    }
}

/// The limits of one delivery to `stream`'s actions: the workspace's, with wall and CPU time
/// within the stream's `delivery.timeout_ms`.
pub fn delivery_limits(mut limits: js::Limits, stream: &Stream) -> js::Limits {
    let timeout = stream.spec.delivery.timeout_ms.value;
    limits.wall_ms = limits.wall_ms.min(timeout);
    limits.cpu_ms = limits.cpu_ms.min(timeout);
    limits
}

impl Deliver for StreamActions {
    fn deliver(
        &self,
        worker: usize,
        message: &Message,
        action: &str,
        clock_ms: i64,
    ) -> Option<ActionResult> {
        let source = self.sources.get(action)?;
        let engine = &self.engines[worker % self.engines.len()];
        let event = message.action_event(&self.stream, &self.tenant);
        let request = ActionRequest {
            slug: action,
            event: &event,
            now: clock_ms.div_euclid(1000),
            fetch: &self.recordings,
        };
        Some(host::run_on_at(
            engine,
            &self.tenant.id,
            source,
            &request,
            &self.limits,
            &self.allowlist,
            clock_ms,
        ))
    }
}
