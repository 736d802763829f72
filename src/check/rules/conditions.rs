//! AF033, AF034, AF035, AF036: conditions that do not parse or do not type-check against the
//! field catalogue, and malformed `{{ ... }}` templates.

use super::RuleDoc;
use crate::check::types::CatalogTypes;
use crate::check::{Context, at, reads, template_strings};
use crate::diagnostic::Code;
use crate::expr::{self, ExprErrorKind};

pub const DOC: RuleDoc = RuleDoc {
    what: "Parses every `when` condition with grammar/expr.pest and type-checks it against the event field catalogue and the flow's actions: unknown fields (with the closest name), comparisons of a string field with a number, boolean operators on non-booleans, unknown functions. Also checks that `{{ ... }}` templates in config strings hold a field path.",
    why: "A condition that cannot evaluate decides logins by accident: the platform would skip the guarded block or fail the run. Type errors are caught here, with the exact position inside the YAML scalar.",
    example: "- id: review\n  type: branch\n  when: event.request.geo.country == 49    # AF035: a string compared with a number\n  config: { to: regional-review }",
};

pub fn run(cx: &mut Context) {
    let mut found = Vec::new();
    let types = CatalogTypes {
        step_slugs: &cx.flow_actions,
    };
    for (info, parsed) in cx.graph.blocks.iter().zip(&cx.conditions) {
        if let (Some(when), Some(parsed)) = (&info.block.when, parsed) {
            let base = when.span.start as usize;
            let errors = match parsed {
                Ok(parsed) => expr::check(parsed, &types).err().unwrap_or_default(),
                Err(e) => vec![e.clone()],
            };
            for e in errors {
                let code = match e.kind {
                    ExprErrorKind::Syntax | ExprErrorKind::TooDeep => Code::ConditionSyntax,
                    ExprErrorKind::UnknownField => Code::UnknownField,
                    _ => Code::ConditionType,
                };
                let mut d = at(cx, code, e.span.offset(base), e.message);
                if let Some(help) = e.help {
                    d = d.help(help);
                }
                found.push(d);
            }
        }
        for (text, start) in template_strings(info) {
            let (_, errors) = reads::parse_template(text, start);
            for e in errors {
                found.push(
                    at(cx, Code::TemplateSyntax, e.span, e.message)
                        .help("write `{{ event.<field> }}` or `{{ step.<action-slug>.<key> }}`"),
                );
            }
        }
    }
    for d in found {
        cx.report(d);
    }
}
