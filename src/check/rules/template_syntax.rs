//! AF036: malformed `{{ ... }}` templates in config strings.

use super::RuleDoc;
use crate::check::{Context, Sink, reads, template_strings};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Checks that every `{{ ... }}` in a config string the block catalogue marks as a template is closed and holds a field path (`event.<field>` or `step.<slug>.<key>`).",
    why: "A malformed template renders literally: the deny reason or claim a user sees carries braces instead of a value.",
    example: example!("af036-template-syntax.yaml"),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for info in &cx.graph.blocks {
        for (text, span) in template_strings(info) {
            let (_, errors) = reads::parse_template_in(text, &cx.positions(span, text));
            for e in errors {
                sink.report(
                    cx.at(Code::TemplateSyntax, e.span, e.message)
                        .help("write `{{ event.<field> }}` or `{{ step.<action-slug>.<key> }}`"),
                );
            }
        }
    }
}
