//! AF031: `event.authentication.risk_score` read before Risk Evaluate on some path.

use super::RuleDoc;
use crate::blocks::Fact;
use crate::check::{Context, Sink};
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports reads of `event.authentication.risk_score`, in conditions, templates and custom action source, that some path reaches before a Risk Evaluate block: there the score reads 0.",
    why: "A risk rule placed before Risk Evaluate silently never fires.",
    example: example!("af031-risk-before-evaluate.yaml"),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for (read, fact) in cx.reads_before_their_fact() {
        if fact != Fact::RiskEvaluated {
            continue;
        }
        let block = &cx.graph.blocks[read.block].block.id.value;
        let d = Diagnostic::new(
            Code::RiskScoreBeforeEvaluate,
            read.file,
            read.span,
            format!(
                "`{}` is read before Risk Evaluate on some path to block `{block}`: it reads 0",
                read.dotted()
            ),
        )
        .help("put a `risk_evaluate` block on every path before this one");
        sink.report(cx.from_block(read, d));
    }
}
