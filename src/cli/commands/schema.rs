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
        SchemaKind::Settings => schema_of::<crate::workspace::Settings>(),
        SchemaKind::Action => schema_of::<crate::workspace::ActionMeta>(),
        SchemaKind::Test => crate::suite::format::schema(),
        SchemaKind::Lock => schema_of::<crate::release::Lock>(),
        SchemaKind::Environment => schema_of::<crate::workspace::env::Overlay>(),
        SchemaKind::Module => schema_of::<crate::workspace::ModuleMeta>(),
        SchemaKind::Stream => schema_of::<crate::streams::StreamSpec>(),
        SchemaKind::StreamEvent => crate::streams::schema::event_schema(),
    }
}

/// The JSON Schema schemars derives for `T`.
fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
}
