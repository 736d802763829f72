//! AF030: `event.user.*` read before Identity Lookup on some path.

use super::RuleDoc;
use crate::blocks::Fact;
use crate::check::{Context, Sink};
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "For every read of an event field, in conditions, templates and custom action source, checks that the field is populated on every path reaching the reading block: `event.user.*` needs an Identity Lookup before it. A read that cannot throw (optional-chained, as `event.user?.email`) is not reported.",
    why: "This is the misconfiguration the console cannot show: an action moved before Identity Lookup throws on `event.user.email` for every login.",
    example: example!("af030-user-before-lookup.yaml"),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for (read, fact) in cx.reads_before_their_fact() {
        if fact != Fact::UserLoaded || read.guarded {
            continue;
        }
        let block = &cx.graph.blocks[read.block].block.id.value;
        let d = Diagnostic::new(
            Code::FieldNotAvailable,
            read.file,
            read.span,
            format!(
                "`{}` is read before Identity Lookup on some path to block `{block}`",
                read.dotted()
            ),
        )
        .label("event.user is undefined here")
        .help("move the block after an unguarded `identity_lookup` block, or read it as `event.user?.…` and handle its absence");
        sink.report(cx.from_block(read, d));
    }
}
