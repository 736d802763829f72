//! AF075: a module's npm dependency cannot be used as declared.

use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for (name, packages) in &cx.ws.npm {
        let Some(module) = cx.ws.modules.get(name) else {
            continue;
        };
        let Some(file) = module.meta_file else {
            continue;
        };
        for problem in &packages.problems {
            sink.report(
                Diagnostic::new(
                    Code::NpmDependency,
                    file,
                    cx.ws
                        .yaml_span(file, &["dependencies", &problem.dependency]),
                    format!(
                        "module `{name}`: dependency `{}`: {}",
                        problem.dependency, problem.message
                    ),
                )
                .help(problem.help.clone()),
            );
        }
    }
}
