//! AF092: what an event-stream action reads from `event` that its event types do not carry.

use crate::catalog::api::Trigger;
use crate::catalog::stream_events;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for (source, slug, action) in cx.actions() {
        if action.meta.trigger != Trigger::EventStream {
            continue;
        }
        let facts = source.facts;
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
                        sink.report(
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
                    sink.report(
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
                        sink.report(
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
                    sink.report(
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
