//! The events a flow run emits, and their delivery to every subscribed stream after the
//! decision: `login.succeeded` or `login.failed`, and `user.updated` when the run changed the
//! user's app_metadata. Deliveries use the run's simulated clock and the event file's recorded
//! responses, so a run stays deterministic; they are added to the trace beside the blocks and
//! never to the flow's own elapsed time.

use super::actions::StreamActions;
use super::delivery::{self, Deliver, RunOptions};
use super::file::Stream;
use super::message::{self, Message};
use crate::catalog::stream_events;
use crate::run::directory::Directory;
use crate::run::event::SimEvent;
use crate::run::trace::{BlockStatus, EmittedEvent, Outcome, Trace};
use crate::workspace::Workspace;
use serde_json::{Map, Value, json};

/// A deterministic event id for one emitted event of one run.
fn event_id(tenant: &str, trace: &Trace, sim: &SimEvent, event_type: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(tenant.as_bytes())
        .chain_update([0])
        .chain_update(trace.flow.as_bytes())
        .chain_update([0])
        .chain_update(trace.event.as_bytes())
        .chain_update([0])
        .chain_update(sim.now.to_le_bytes())
        .chain_update(
            sim.event["transaction"]["id"]
                .as_str()
                .unwrap_or_default()
                .as_bytes(),
        )
        .chain_update([0])
        .chain_update(event_type.as_bytes())
        .finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("evt_{hex}")
}

/// The user the run looked up, as the run left it (app_metadata patched by its actions), and
/// as it was before the run.
fn run_user(sim: &SimEvent, directory: &Directory, trace: &Trace) -> Option<(Value, Value)> {
    let looked_up = trace
        .blocks
        .iter()
        .any(|b| b.kind == "identity_lookup" && b.status == BlockStatus::Completed);
    if !looked_up {
        return None;
    }
    let identifier = sim.credentials.identifier.as_deref()?;
    let user =
        Directory::find_in(&sim.directory, identifier).or_else(|| directory.find(identifier))?;
    let before = user.public();
    let mut after = before.clone();
    after["app_metadata"] = Value::Object(trace.app_metadata.clone());
    Some((before, after))
}

/// The messages a run emits, in the order they happened.
pub fn messages(
    ws: &Workspace,
    sim: &SimEvent,
    directory: &Directory,
    trace: &Trace,
) -> Vec<Message> {
    let tenant = ws.settings.tenant.id.as_str();
    let user = run_user(sim, directory, trace);
    let login = |name: &str| {
        let mut data = Map::new();
        for group in ["client", "connection", "request", "transaction"] {
            data.insert(group.into(), sim.event[group].clone());
        }
        data.insert("authentication".into(), trace.authentication.clone());
        if let Some((_, after)) = &user {
            data.insert("user".into(), after.clone());
        }
        if name == "login.failed" {
            data.insert(
                "reason".into(),
                json!(trace.deny_reason.clone().unwrap_or_default()),
            );
            data.insert(
                "identifier".into(),
                json!(sim.credentials.identifier.clone().unwrap_or_default()),
            );
        }
        Value::Object(data)
    };
    let mut emitted: Vec<(&str, Value)> = Vec::new();
    if let Some((before, after)) = &user
        && before["app_metadata"] != after["app_metadata"]
    {
        emitted.push((
            "user.updated",
            json!({ "user": after, "changed": ["app_metadata"] }),
        ));
    }
    match trace.outcome {
        // A login.succeeded without its user would break the type's contract; Issue Session
        // runs only after Identity Lookup (AF023), so this holds for every checked flow.
        Outcome::Allow if user.is_some() => {
            emitted.push(("login.succeeded", login("login.succeeded")))
        }
        Outcome::Allow => {}
        Outcome::Deny => emitted.push(("login.failed", login("login.failed"))),
    }
    emitted
        .into_iter()
        .filter_map(|(name, data)| {
            let ty = stream_events::event_type(name)?;
            let subject = user
                .as_ref()
                .and_then(|(_, u)| u["id"].as_str().map(str::to_string));
            let envelope = message::envelope(
                &event_id(tenant, trace, sim, name),
                ty,
                tenant,
                sim.now,
                subject.as_deref(),
                data,
            );
            message::validate(envelope, tenant).ok()
        })
        .collect()
}

/// Emits the run's events to every subscribed stream, delivers them, and records both in the
/// trace. Returns an error only when an engine cannot start.
pub fn emit_and_deliver(
    ws: &Workspace,
    streams: &[Stream],
    sim: &SimEvent,
    directory: &Directory,
    trace: &mut Trace,
) -> Result<(), crate::js::EngineError> {
    let deliverer = |stream: &Stream| -> Result<Box<dyn Deliver>, crate::js::EngineError> {
        Ok(Box::new(StreamActions::new(
            ws,
            stream,
            1,
            sim.fetch.clone(),
        )?))
    };
    emit_with(ws, streams, sim, directory, trace, &deliverer)
}

/// What builds the deliverer of one stream's batch.
pub type MakeDeliverer<'a> =
    dyn Fn(&Stream) -> Result<Box<dyn Deliver + 'a>, crate::js::EngineError> + 'a;

/// [`emit_and_deliver`] with the deliverer each stream gets from `deliverer` (the test runner
/// delivers on its shared engine, with the case's secrets).
pub fn emit_with(
    ws: &Workspace,
    streams: &[Stream],
    sim: &SimEvent,
    directory: &Directory,
    trace: &mut Trace,
    deliverer: &MakeDeliverer,
) -> Result<(), crate::js::EngineError> {
    let messages = messages(ws, sim, directory, trace);
    let mut events: Vec<EmittedEvent> = messages
        .iter()
        .map(|m| EmittedEvent {
            message: m.envelope.clone(),
            streams: streams
                .iter()
                .filter(|s| s.subscribes(m.ty.name))
                .map(|s| s.name.clone())
                .collect(),
            deliveries: Vec::new(),
        })
        .collect();
    for stream in streams {
        let batch: Vec<Message> = messages
            .iter()
            .filter(|m| stream.subscribes(m.ty.name))
            .cloned()
            .collect();
        if batch.is_empty() {
            continue;
        }
        let actions = deliverer(stream)?;
        let options = RunOptions {
            simulated_clock: true,
            concurrency: 1,
        };
        let report = delivery::deliver_all(stream, &batch, actions.as_ref(), &options, &|| {});
        for event in report.events {
            if let Some(emitted) = events
                .iter_mut()
                .find(|e| e.message["id"].as_str() == Some(event.id.as_str()))
            {
                emitted.deliveries.extend(event.deliveries);
            }
        }
    }
    trace.events = events;
    Ok(())
}
