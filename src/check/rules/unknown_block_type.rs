//! AF011: block types that are not in the block catalogue.

use super::RuleDoc;
use crate::blocks;
use crate::check::{Context, Sink};
use crate::diagnostic::Code;

pub const DOC: RuleDoc = RuleDoc {
    what: "Reports block types missing from the block catalogue, with the closest name (console titles such as `Identity Lookup` are recognised).",
    why: "The console only offers valid blocks; in files a typo would otherwise surface as a failed login after publish.",
    example: example!("af011-unknown-block-type.yaml"),
};

pub fn run(cx: &Context, sink: &mut Sink) {
    for info in cx.graph.blocks.iter().filter(|b| b.ty.is_none()) {
        let kind = &info.block.kind;
        let d = cx
            .at(
                Code::UnknownBlockType,
                kind.span,
                format!("unknown block type `{}`", kind.value),
            )
            .label("not in the block catalogue");
        sink.report(match blocks::suggest(&kind.value) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!(
                "block types are: {}",
                blocks::BLOCKS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        });
    }
}
