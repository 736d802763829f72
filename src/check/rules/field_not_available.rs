//! AF030: `event.user.*` read before Identity Lookup on some path.

use crate::blocks::Fact;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (read, block) in cx.reads_before(Fact::UserLoaded) {
        if read.guarded {
            continue;
        }
        let message = format!(
            "`{}` is read before Identity Lookup on some path to block `{block}`",
            read.dotted()
        );
        sink.report(
            cx.at_read(Code::FieldNotAvailable, read, message)
                .label("event.user is undefined here")
                .help("move the block after an unguarded `identity_lookup` block, or read it as `event.user?.…` and handle its absence"),
        );
    }
}
