//! AF047: `api.log` with a level the api does not have.

use crate::catalog::api;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for source in &cx.sources {
        for (level, span) in &source.facts.log_levels {
            if api::LOG_LEVELS.contains(&level.as_str()) {
                continue;
            }
            let d = Diagnostic::new(
                Code::UnknownLogLevel,
                source.file,
                *span,
                format!("`{level}` is not a log level"),
            );
            sink.report(
                match crate::catalog::closest(level, api::LOG_LEVELS.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("use debug, info, warn or error"),
                },
            );
        }
    }
}
