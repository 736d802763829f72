//! `authflow schema`: the JSON Schema of each workspace YAML file, for editors.

use crate::cli::error::CliResult;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SchemaKind {
    Flow,
    Settings,
    Action,
    Module,
    /// A test file, `tests/**/*.test.yaml`.
    Test,
    Lock,
    /// `streams/<name>.yaml`.
    Stream,
    /// One stream event (a JSONL line of `stream run`, a NATS message).
    StreamEvent,
    /// An environment overlay, `environments/<name>.yaml`.
    Environment,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum, default_value_t = SchemaKind::Flow)]
    kind: SchemaKind,
}

pub fn run(args: Args) -> CliResult {
    outln!(
        "{}",
        serde_json::to_string_pretty(&schema(args.kind)).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// The JSON Schema of one kind of workspace file (`authflow lsp` completes keys from it).
pub fn schema(kind: SchemaKind) -> serde_json::Value {
    match kind {
        SchemaKind::Flow => crate::syntax::schema::flow_schema(),
        SchemaKind::Settings => {
            serde_json::to_value(schemars::schema_for!(crate::workspace::Settings))
                .unwrap_or_default()
        }
        SchemaKind::Action => {
            serde_json::to_value(schemars::schema_for!(crate::workspace::ActionMeta))
                .unwrap_or_default()
        }
        SchemaKind::Test => crate::suite::format::schema(),
        SchemaKind::Lock => {
            serde_json::to_value(schemars::schema_for!(crate::release::Lock)).unwrap_or_default()
        }
        SchemaKind::Environment => {
            serde_json::to_value(schemars::schema_for!(crate::workspace::env::Overlay))
                .unwrap_or_default()
        }
        SchemaKind::Module => {
            serde_json::to_value(schemars::schema_for!(crate::workspace::ModuleMeta))
                .unwrap_or_default()
        }
        SchemaKind::Stream => {
            serde_json::to_value(schemars::schema_for!(crate::streams::StreamSpec))
                .unwrap_or_default()
        }
        SchemaKind::StreamEvent => crate::streams::schema::event_schema(),
    }
}
