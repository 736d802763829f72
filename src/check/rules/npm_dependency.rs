//! AF075: a module's npm dependency cannot be used as declared.

use super::RuleDoc;
use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub const DOC: RuleDoc = RuleDoc {
    what: "For every `dependencies:` entry of a module.yaml: the version must be exact, the package vendored as `vendor/npm/<name>-<version>.tgz` (what `npm pack` writes), its package.json must name that package and version, and none of its files may require a Node built-in (`fs`, `net`, `child_process`, ...), a package the module does not declare, or a computed name.",
    why: "A login must not depend on the network or on whatever version a registry serves today; and a package that needs Node's file system, network or processes would reach what the sandbox denies.",
    example: example!(
        "af075-npm-dependency",
        ["/modules/dates/module.yaml", "/modules/dates/v1.js"]
    ),
};

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
