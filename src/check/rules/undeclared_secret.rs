//! AF043: secrets read but not declared, declared but not in authflow.yaml, or read through
//! the wrong object.

use crate::check::{Sink, WorkspaceContext};
use crate::diagnostic::{Code, Diagnostic};
use crate::jsfacts::SecretSource;

pub fn run(cx: &WorkspaceContext, sink: &mut Sink) {
    for source in &cx.sources {
        for read in &source.facts.secret_reads {
            if read.via != source.secret_source {
                let (wrong, right) = match source.secret_source {
                    SecretSource::EventSecrets => ("actions.secrets", "event.secrets"),
                    SecretSource::ActionsSecrets => ("event.secrets", "actions.secrets"),
                };
                sink.report(
                    Diagnostic::new(
                        Code::UndeclaredSecret,
                        source.file,
                        read.span,
                        format!("`{wrong}` is not available here"),
                    )
                    .help(format!("read secrets here as `{right}.{}`", read.name)),
                );
            } else if !source.secrets.contains(&read.name) {
                sink.report(
                    Diagnostic::new(
                        Code::UndeclaredSecret,
                        source.file,
                        read.span,
                        format!("secret `{}` is read but not declared", read.name),
                    )
                    .help(format!(
                        "add `{}` to `secrets:` in the metadata file beside this one",
                        read.name
                    )),
                );
            }
        }
    }
    for (_, _, action) in cx.actions() {
        let Some(meta_file) = action.meta_file else {
            continue;
        };
        for secret in &action.meta.secrets {
            if !cx.ws.settings.secrets.contains(secret) {
                sink.report(
                    Diagnostic::new(
                        Code::UndeclaredSecret,
                        meta_file,
                        cx.ws.yaml_span(meta_file, &["secrets", secret]),
                        format!("secret `{secret}` is not declared in authflow.yaml"),
                    )
                    .help(format!("add `{secret}` to `secrets:` in authflow.yaml")),
                );
            }
        }
    }
}
