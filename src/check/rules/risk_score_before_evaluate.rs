//! AF031: `event.authentication.risk_score` read before Risk Evaluate on some path.

use crate::blocks::Fact;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub fn run(cx: &Context, sink: &mut Sink) {
    for (read, block) in cx.reads_before(Fact::RiskEvaluated) {
        let message = format!(
            "`{}` is read before Risk Evaluate on some path to block `{block}`: it reads 0",
            read.dotted()
        );
        sink.report(
            cx.at_read(Code::RiskScoreBeforeEvaluate, read, message)
                .help("put a `risk_evaluate` block on every path before this one"),
        );
    }
}
