//! AF011 and AF013: block types that are not in the catalogue, and config that does not fit
//! the block type.

use super::RuleDoc;
use crate::blocks::{self, ConfigKind, ON_ERROR_CHOICES};
use crate::check::{Context, at};
use crate::diagnostic::Code;
use crate::syntax::ast::ConfigValueKind;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports block types missing from the block catalogue (with the closest name), config keys a type does not define, required keys that are missing, values of the wrong type, and `on_error` values other than `deny` or `continue`.",
    why: "The console only offers valid blocks; in files a typo would otherwise surface as a failed login after publish.",
    example: "- id: lookup\n  type: identity_lookp     # AF011: did you mean `identity_lookup`?\n- id: block-tor\n  type: deny               # AF013: deny needs `config.reason`",
};

pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    for info in &cx.graph.blocks {
        let block = info.block;
        let Some(ty) = info.ty else {
            let mut d = at(
                cx,
                Code::UnknownBlockType,
                block.kind.span,
                format!("unknown block type `{}`", block.kind.value),
            )
            .label("not in the block catalogue");
            d = match blocks::suggest(&block.kind.value) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "block types are: {}",
                    blocks::BLOCKS
                        .iter()
                        .map(|b| b.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            found.push(d);
            continue;
        };
        for (i, entry) in block.config.iter().enumerate() {
            if let Some(first) = block.config[..i]
                .iter()
                .find(|e| e.key.value == entry.key.value)
            {
                found.push(
                    at(
                        cx,
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
            let Some(key) = ty.config.iter().find(|k| k.name == entry.key.value) else {
                let known: Vec<&str> = ty.config.iter().map(|k| k.name).collect();
                let mut d = at(
                    cx,
                    Code::InvalidConfig,
                    entry.key.span,
                    format!(
                        "`{}` blocks have no config key `{}`",
                        ty.name, entry.key.value
                    ),
                );
                d = match crate::catalog::closest(&entry.key.value, known.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None if known.is_empty() => d.help(format!("`{}` takes no config", ty.name)),
                    None => d.help(format!("its keys are: {}", known.join(", "))),
                };
                found.push(d);
                continue;
            };
            let ok = match (key.kind, &entry.value.kind) {
                (ConfigKind::Number, ConfigValueKind::Number(_)) => true,
                (ConfigKind::OneOf(choices), ConfigValueKind::String(s)) => {
                    if !choices.contains(&s.as_str()) {
                        found.push(
                            at(
                                cx,
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
            if !ok {
                let expected = match key.kind {
                    ConfigKind::Number => "a number",
                    ConfigKind::BlockRef => "the id of a later block",
                    ConfigKind::ActionRef => "an action slug",
                    _ => "a string",
                };
                found.push(
                    at(
                        cx,
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
                found.push(
                    at(
                        cx,
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
                found.push(
                    at(
                        cx,
                        Code::InvalidConfig,
                        on_error.span,
                        format!("`on_error: {}` is not a choice", on_error.value),
                    )
                    .help("use `deny` (fail closed, the default) or `continue`"),
                );
            } else if !ty.can_fail {
                found.push(
                    at(
                        cx,
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
    for d in found {
        cx.report(d);
    }
}
