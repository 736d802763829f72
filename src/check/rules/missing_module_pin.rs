//! AF042: `require('actions:<name>')` without a pin to a published version.

use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    let ws = cx.ws;
    for (source, slug, action) in cx.actions() {
        let file = source.file;
        for require in &source.facts.requires {
            let Some(spec) = &require.specifier else {
                sink.report(
                    Diagnostic::new(
                        Code::MissingModulePin,
                        file,
                        require.span,
                        "`require` with a computed name cannot be resolved",
                    )
                    .help("write `require('actions:<module>')` with a string literal"),
                );
                continue;
            };
            let Some(name) = spec.strip_prefix("actions:") else {
                sink.report(
                    Diagnostic::new(Code::MissingModulePin, file, require.span, format!("`{spec}` is not an action module"))
                        .help("actions can require only action modules (`require('actions:<name>')`); add npm dependencies to a module"),
                );
                continue;
            };
            let Some(module) = ws.modules.get(name) else {
                let d = Diagnostic::new(
                    Code::MissingModulePin,
                    file,
                    require.span,
                    format!("the workspace has no action module `{name}`"),
                );
                sink.report(
                    match crate::catalog::closest(name, ws.modules.keys().map(String::as_str)) {
                        Some(s) => d.help(format!("did you mean `actions:{s}`?")),
                        None => d.help(format!(
                            "create modules/{name}/module.yaml and modules/{name}/v1.js"
                        )),
                    },
                );
                continue;
            };
            match action.meta.modules.get(name) {
                None => sink.report(
                    Diagnostic::new(
                        Code::MissingModulePin,
                        file,
                        require.span,
                        format!("`{slug}` requires `actions:{name}` but does not pin a version"),
                    )
                    .help(format!(
                        "add `modules: {{ {name}: {} }}` to actions/{slug}.yaml",
                        module.versions.keys().last().copied().unwrap_or(1)
                    )),
                ),
                Some(v) if !module.versions.contains_key(v) => {
                    let published: Vec<String> =
                        module.versions.keys().map(|v| v.to_string()).collect();
                    let span = action
                        .meta_file
                        .map_or(require.span, |f| ws.yaml_span(f, &["modules", name]));
                    sink.report(
                        Diagnostic::new(
                            Code::MissingModulePin,
                            action.meta_file.unwrap_or(file),
                            span,
                            format!(
                                "`{slug}` pins `{name}` to version {v}, which is not published"
                            ),
                        )
                        .help(if published.is_empty() {
                            format!("publish modules/{name}/v1.js")
                        } else {
                            format!("published versions: {}", published.join(", "))
                        }),
                    );
                }
                Some(_) => {}
            }
        }
    }
}
