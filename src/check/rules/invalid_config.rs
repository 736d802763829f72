//! AF013: config that does not fit the block type, and `on_error` values that do not apply.

use crate::blocks::{ConfigKind, ON_ERROR_CHOICES};
use crate::check::{Context, Sink};
use crate::diagnostic::Code;
use crate::syntax::ast::ConfigValueKind;

pub fn run(cx: &Context, sink: &mut Sink) {
    for info in &cx.graph.blocks {
        let block = info.block;
        let Some(ty) = info.ty else { continue };
        for (i, entry) in block.config.iter().enumerate() {
            if let Some(first) = block.config[..i]
                .iter()
                .find(|e| e.key.value == entry.key.value)
            {
                sink.report(
                    cx.at(
                        Code::InvalidConfig,
                        entry.key.span,
                        format!(
                            "`{}` is set twice in block `{}`",
                            entry.key.value, block.id.value
                        ),
                    )
                    .help("keep one of the two values")
                    .related(cx.file, first.key.span, "first set here"),
                );
                continue;
            }
            let Some(key) = ty.key(&entry.key.value) else {
                let known: Vec<&str> = ty.config.iter().map(|k| k.name).collect();
                let d = cx.at(
                    Code::InvalidConfig,
                    entry.key.span,
                    format!(
                        "`{}` blocks have no config key `{}`",
                        ty.name, entry.key.value
                    ),
                );
                sink.report(
                    match crate::catalog::closest(&entry.key.value, known.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None if known.is_empty() => {
                            d.help(format!("`{}` takes no config", ty.name))
                        }
                        None => d.help(format!("its keys are: {}", known.join(", "))),
                    },
                );
                continue;
            };
            let ok = match (key.kind, &entry.value.kind) {
                (ConfigKind::Number, ConfigValueKind::Number(_)) => true,
                (ConfigKind::OneOf(choices), ConfigValueKind::String(s)) => {
                    if !choices.contains(&s.as_str()) {
                        sink.report(
                            cx.at(
                                Code::InvalidConfig,
                                entry.value.span,
                                format!("`{s}` is not a valid `{}`", key.name),
                            )
                            .help(format!("use one of: {}", choices.join(", "))),
                        );
                    }
                    true
                }
                (ConfigKind::Number, _) => false,
                (_, ConfigValueKind::String(s)) => {
                    !s.is_empty() || key.kind == ConfigKind::Template
                }
                _ => false,
            };
            if ok
                && let Some((message, help)) = key
                    .rule
                    .and_then(|rule| rule.problem(key.name, &entry.value.kind))
            {
                sink.report(
                    cx.at(Code::InvalidConfig, entry.value.span, message)
                        .help(help),
                );
            }
            if !ok {
                let expected = match key.kind {
                    ConfigKind::Number => "a number",
                    ConfigKind::BlockRef => "the id of a later block",
                    ConfigKind::ActionRef => "an action slug",
                    _ => "a string",
                };
                sink.report(
                    cx.at(
                        Code::InvalidConfig,
                        entry.value.span,
                        format!("`{}` must be {expected}", key.name),
                    )
                    .help(key.doc),
                );
            }
        }
        for key in ty.config.iter().filter(|k| k.required) {
            if block.config(key.name).is_none() {
                sink.report(
                    cx.at(
                        Code::InvalidConfig,
                        block.id.span,
                        format!(
                            "`{}` block `{}` is missing `config.{}`",
                            ty.name, block.id.value, key.name
                        ),
                    )
                    .help(format!("add `{}`: {}", key.name, key.doc)),
                );
            }
        }
        if let Some(on_error) = &block.on_error {
            if !ON_ERROR_CHOICES.contains(&on_error.as_str()) {
                sink.report(
                    cx.at(
                        Code::InvalidConfig,
                        on_error.span,
                        format!("`on_error: {}` is not a choice", on_error.value),
                    )
                    .help("use `deny` (fail closed, the default) or `continue`"),
                );
            } else if !ty.can_fail {
                sink.report(
                    cx.at(
                        Code::InvalidConfig,
                        on_error.span,
                        format!(
                            "`{}` blocks cannot fail, so `on_error` has no effect",
                            ty.name
                        ),
                    )
                    .severity(crate::diagnostic::Severity::Warning)
                    .help("remove `on_error`"),
                );
            }
        }
    }
}
