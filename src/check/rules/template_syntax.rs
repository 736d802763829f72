//! AF036: malformed `{{ ... }}` templates in config strings.

use crate::check::{Context, Sink, reads, template_strings};
use crate::diagnostic::Code;

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
