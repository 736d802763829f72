//! What stream files mean for the workspace: subscribed event types that the catalogue does
//! not know (with "did you mean"), bound actions that do not exist, are login actions, are
//! disabled, or do not handle every type the stream subscribes to; and the `events:` that
//! event-stream actions declare. Only diagnostics come out; nothing is changed.

use super::file::Stream;
use crate::catalog::api::Trigger;
use crate::catalog::stream_events;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use crate::workspace::Workspace;

/// The diagnostic for an unknown event type at `span` of `file`.
fn unknown_type(file: FileId, span: Span, name: &str) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownEventType,
        file,
        span,
        format!("`{name}` is not an event type"),
    );
    match stream_events::suggest(name) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
            "event types: {}",
            stream_events::names().join(", ")
        )),
    }
}

/// Checks one stream file against the workspace.
pub fn check_stream(ws: &Workspace, stream: &Stream, out: &mut Vec<Diagnostic>) {
    let file = stream.file;
    for event in &stream.spec.events {
        if stream_events::event_type(&event.value).is_none() {
            out.push(unknown_type(file, event.span, &event.value));
        }
    }
    if stream.spec.events.is_empty() {
        out.push(
            Diagnostic::new(
                Code::UnknownEventType,
                file,
                Span::default(),
                format!("stream `{}` subscribes to no event type", stream.name),
            )
            .help(format!(
                "list event types under `events:`: {}",
                stream_events::names().join(", ")
            )),
        );
    }
    for bound in &stream.spec.actions {
        let slug = bound.value.as_str();
        let Some(action) = ws.actions.get(slug) else {
            let d = Diagnostic::new(
                Code::StreamBinding,
                file,
                bound.span,
                format!("the workspace has no action `{slug}`"),
            );
            out.push(
                match crate::catalog::closest(slug, ws.actions.keys().map(String::as_str)) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!(
                        "create actions/{slug}.js with `exports.onExecuteEventStream` and actions/{slug}.yaml with `trigger: event-stream`"
                    )),
                },
            );
            continue;
        };
        if action.meta.trigger != Trigger::EventStream {
            let mut d = Diagnostic::new(
                Code::StreamBinding,
                file,
                bound.span,
                format!("`{slug}` is a login action; streams run only event-stream actions"),
            )
            .help(format!(
                "set `trigger: event-stream` in actions/{slug}.yaml and export `exports.onExecuteEventStream`, or bind another action"
            ));
            if let Some(meta) = action.meta_file {
                d = d.related(meta, ws.find_in_file(meta, "trigger"), "its trigger");
            }
            out.push(d);
            continue;
        }
        if !action.meta.enabled {
            let mut d = Diagnostic::new(
                Code::DisabledAction,
                file,
                bound.span,
                format!("action `{slug}` is disabled: the stream skips it"),
            )
            .help(format!("set `enabled: true` in actions/{slug}.yaml"));
            if let Some(meta) = action.meta_file {
                d = d.related(meta, ws.find_in_file(meta, "enabled"), "disabled here");
            }
            out.push(d);
        }
        let unhandled: Vec<&str> = stream
            .event_names()
            .filter(|t| stream_events::event_type(t).is_some())
            .filter(|t| !action.meta.events.iter().any(|e| e == t))
            .collect();
        if !unhandled.is_empty() {
            let mut d = Diagnostic::new(
                Code::StreamBinding,
                file,
                bound.span,
                format!(
                    "`{slug}` does not handle {} that stream `{}` delivers",
                    unhandled
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    stream.name
                ),
            )
            .help(format!(
                "add them to `events:` in actions/{slug}.yaml, or bind the action to a stream of the types it handles"
            ));
            if let Some(meta) = action.meta_file {
                d = d.related(
                    meta,
                    ws.find_in_file(meta, "events"),
                    "the types it handles",
                );
            }
            out.push(d);
        }
    }
}

/// Checks the `events:` of every event-stream action (each must be a catalogued type) and that
/// login actions declare none.
pub fn check_action_events(ws: &Workspace, out: &mut Vec<Diagnostic>) {
    for action in ws.actions.values() {
        let Some(meta) = action.meta_file else {
            continue;
        };
        if action.meta.trigger == Trigger::Login && !action.meta.events.is_empty() {
            out.push(
                Diagnostic::new(
                    Code::StreamBinding,
                    meta,
                    ws.find_in_file(meta, "events"),
                    format!(
                        "`{}` is a login action: `events:` has no effect",
                        action.slug
                    ),
                )
                .help("event types belong to event-stream actions (`trigger: event-stream`)"),
            );
            continue;
        }
        for name in &action.meta.events {
            if stream_events::event_type(name).is_none() {
                out.push(unknown_type(meta, ws.find_in_file(meta, name), name));
            }
        }
    }
}

/// Every stream check over the workspace's streams.
pub fn check_all(ws: &Workspace, streams: &[Stream]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for stream in streams {
        check_stream(ws, stream, &mut out);
    }
    check_action_events(ws, &mut out);
    out
}

/// Checks what each event-stream action reads from `event` against what its event types
/// carry: `event.message.*` against the envelope and each type's `data`, `event.tenant.*`
/// against the tenant group, `event.user` only where the types carry a user, and no login
/// groups (`event.request`, ...), which a stream action never receives.
pub fn check_action_reads(
    ws: &Workspace,
    facts: &std::collections::BTreeMap<String, crate::jsfacts::ActionFacts>,
    out: &mut Vec<Diagnostic>,
) {
    for (slug, action) in &ws.actions {
        if action.meta.trigger != Trigger::EventStream {
            continue;
        }
        let Some(facts) = facts.get(slug) else {
            continue;
        };
        let types: Vec<&stream_events::EventType> = action
            .meta
            .events
            .iter()
            .filter_map(|name| stream_events::event_type(name))
            .collect();
        let file = action.code_file;
        for read in &facts.event_reads {
            let path: Vec<&str> = read.path.iter().map(String::as_str).collect();
            let Some((first, rest)) = path.split_first() else {
                continue;
            };
            match *first {
                "message" => {
                    if types.is_empty() || rest.is_empty() {
                        continue;
                    }
                    if !message_path_known(&types, rest, read.via_alias) {
                        out.push(
                            Diagnostic::new(
                                Code::EventFieldNotCarried,
                                file,
                                read.span,
                                format!(
                                    "`event.{}` is not in the messages `{slug}` handles ({})",
                                    read.path.join("."),
                                    types.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                                ),
                            )
                            .help(suggest_message_path(&types, rest)),
                        );
                    }
                }
                "user" => {
                    let carrying = types.iter().filter(|t| t.carries_user()).count();
                    let all = carrying == types.len() && !types.is_empty();
                    if all || (read.guarded && carrying > 0) {
                        continue;
                    }
                    let without: Vec<&str> = types
                        .iter()
                        .filter(|t| !t.carries_user())
                        .map(|t| t.name)
                        .collect();
                    let message = if carrying == 0 {
                        format!(
                            "`event.user` is never set for `{slug}`: its event types carry no user"
                        )
                    } else {
                        format!(
                            "`event.{}` throws for {}: those events carry no user",
                            read.path.join("."),
                            without
                                .iter()
                                .map(|t| format!("`{t}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    out.push(
                        Diagnostic::new(Code::EventFieldNotCarried, file, read.span, message).help(
                            if carrying == 0 {
                                "read what the message carries, e.g. `event.message.data`"
                                    .to_string()
                            } else {
                                "guard it (`event.user?.id`), or read `event.message.data.user?.id`"
                                    .to_string()
                            },
                        ),
                    );
                }
                "tenant" => {
                    let mut segments = vec!["tenant"];
                    segments.extend_from_slice(rest);
                    if crate::catalog::event::lookup(&segments)
                        == crate::catalog::event::FieldLookup::Unknown
                        && !(read.via_alias && rest.len() > 1)
                    {
                        out.push(
                            Diagnostic::new(
                                Code::EventFieldNotCarried,
                                file,
                                read.span,
                                format!("`event.{}` does not exist", read.path.join(".")),
                            )
                            .help("event.tenant has id, name and slug"),
                        );
                    }
                }
                "secrets" => {}
                other => {
                    let carried = types.iter().any(|t| t.field(other).is_some());
                    out.push(
                        Diagnostic::new(
                            Code::EventFieldNotCarried,
                            file,
                            read.span,
                            format!("event-stream actions receive no `event.{other}`"),
                        )
                        .help(if carried {
                            format!("the message carries it: read `event.message.data.{other}`")
                        } else {
                            "an event-stream action receives event.message, event.secrets, event.tenant (and event.user for user events)".to_string()
                        }),
                    );
                }
            }
        }
    }
}

/// Whether a path below `event.message` exists for one of `types`; a read through an alias
/// of a leaf may go on past it (`text.length`).
fn message_path_known(types: &[&stream_events::EventType], path: &[&str], via_alias: bool) -> bool {
    if stream_events::message_path_type(types, path).is_some() {
        return true;
    }
    via_alias && (1..path.len()).any(|n| {
        matches!(
            stream_events::message_path_type(types, &path[..n]),
            Some(stream_events::PathType::Typed(t)) if t != crate::catalog::event::FieldType::Group
        )
    })
}

fn suggest_message_path(types: &[&stream_events::EventType], path: &[&str]) -> String {
    if path.first() == Some(&"data")
        && let Some(member) = path.get(1)
    {
        let members: Vec<&str> = types
            .iter()
            .flat_map(|t| t.data.iter().map(|f| f.name))
            .collect();
        if let Some(s) = crate::catalog::closest(member, members.iter().copied()) {
            return format!("did you mean `event.message.data.{s}`?");
        }
        let mut members = members;
        members.sort_unstable();
        members.dedup();
        return format!("these events' data has: {}", members.join(", "));
    }
    match path.first().and_then(|p| crate::catalog::closest(p, stream_events::ENVELOPE.iter().map(|f| f.name))) {
        Some(s) => format!("did you mean `event.message.{s}`?"),
        None => "the message has specversion, id, source, type, time, subject, datacontenttype, tenantid, streamid and data".to_string(),
    }
}
