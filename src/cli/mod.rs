//! The `authflow` command line: argument parsing (clap) and one function per command.
//!
//! Exit codes: 0 when no errors, 1 when errors were found (or a run was denied with
//! `--expect allow`), 2 for usage and I/O errors. Commands write nothing half-way: output
//! files are written whole after every check passed.

pub mod load;
pub mod render;

use crate::check;
use crate::diagnostic::Diagnostic;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "authflow",
    version,
    about = "Login flows as code: check, format, compile and simulate identity-platform flows"
)]
pub struct Cli {
    /// The workspace directory (default: found upwards from the current directory or the
    /// flow file, as git finds a repository, by its authflow.yaml).
    #[arg(long, global = true, value_name = "DIR")]
    workspace: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check flows, actions and modules; exit 1 if any error is found.
    Check {
        /// A flow file or a workspace directory (default: every flow of the workspace).
        path: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Draw a flow's graph.
    Graph {
        flow: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Print the JSON Schema of a workspace YAML file, for editors.
    Schema {
        #[arg(value_enum, default_value_t = SchemaKind::Flow)]
        kind: SchemaKind,
    },
    /// Print the documentation of a diagnostic code, or of every check with --all.
    Explain {
        code: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Flow,
    Settings,
    Action,
    Module,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let workspace = cli.workspace.as_deref();
    match cli.command {
        Command::Check { path, format } => cmd_check(path, workspace, format),
        Command::Graph { flow, format } => cmd_graph(flow, workspace, format),
        Command::Schema { kind } => {
            println!("{}", schema(kind));
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { code, all } => cmd_explain(code, all),
    }
}

fn cmd_check(
    path: Option<PathBuf>,
    workspace: Option<&std::path::Path>,
    format: Format,
) -> Result<ExitCode, String> {
    let loaded = load::load(path.as_deref(), workspace).map_err(|e| e.to_string())?;
    if loaded.flows.is_empty() && loaded.ws.root.is_none() {
        return Err("nothing to check: give a flow file, or run inside a workspace (a directory with authflow.yaml)".into());
    }
    let diagnostics = check_loaded(&loaded);
    emit(&loaded.ws.sources, &diagnostics, format);
    Ok(if diagnostics.iter().any(Diagnostic::is_error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Every diagnostic for what was loaded: loading, each flow, and the workspace's actions.
pub fn check_loaded(loaded: &load::Loaded) -> Vec<Diagnostic> {
    let mut diagnostics = loaded.diagnostics.clone();
    let actions = check::analyze_actions(&loaded.ws);
    for (file, flow) in &loaded.flows {
        if let Some(flow) = flow {
            diagnostics.extend(check::check_flow(&loaded.ws, *file, flow, &actions));
        }
    }
    diagnostics.extend(check::check_workspace(&loaded.ws, &actions));
    diagnostics.sort_by_key(|d| (d.file, d.span.start, d.code));
    diagnostics.dedup();
    diagnostics
}

fn emit(sources: &crate::workspace::source::Sources, diagnostics: &[Diagnostic], format: Format) {
    match format {
        Format::Human => {
            let color = std::io::stderr().is_terminal();
            print!("{}", render::human(sources, diagnostics, color));
        }
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(sources, diagnostics)).unwrap_or_default()
        ),
        Format::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&render::sarif(sources, diagnostics)).unwrap_or_default()
        ),
    }
}

fn cmd_graph(
    flow: PathBuf,
    workspace: Option<&std::path::Path>,
    format: GraphFormat,
) -> Result<ExitCode, String> {
    let loaded = load::load(Some(&flow), workspace).map_err(|e| e.to_string())?;
    let Some((_, Some(parsed))) = loaded.flows.first() else {
        emit(&loaded.ws.sources, &loaded.diagnostics, Format::Human);
        return Ok(ExitCode::from(1));
    };
    let graph = crate::graph::FlowGraph::build(parsed);
    print!(
        "{}",
        match format {
            GraphFormat::Dot => crate::graph::draw::dot(&graph),
            GraphFormat::Mermaid => crate::graph::draw::mermaid(&graph),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_explain(code: Option<String>, all: bool) -> Result<ExitCode, String> {
    if all || code.is_none() {
        print!("{}", check::rules::docs_markdown());
        return Ok(ExitCode::SUCCESS);
    }
    let wanted = code.unwrap_or_default().to_uppercase();
    let Some(code) = crate::diagnostic::Code::ALL
        .iter()
        .find(|c| c.as_str() == wanted || c.info().name.eq_ignore_ascii_case(&wanted))
    else {
        return Err(format!(
            "no diagnostic code `{wanted}`; `authflow explain --all` lists them"
        ));
    };
    let info = code.info();
    println!(
        "{} ({}), {:?} by default: {}",
        code.as_str(),
        info.name,
        info.severity,
        info.summary
    );
    if let Some(rule) = check::rules::RULES.iter().find(|r| r.codes.contains(code)) {
        println!(
            "\nWhat it does. {}\n\nWhy it matters. {}\n\nExample:\n{}",
            rule.doc.what, rule.doc.why, rule.doc.example
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn schema(kind: SchemaKind) -> String {
    let schema = match kind {
        SchemaKind::Flow => crate::syntax::schema::flow_schema(),
        SchemaKind::Settings => {
            serde_json::to_value(schemars::schema_for!(crate::workspace::Settings))
                .unwrap_or_default()
        }
        SchemaKind::Action => {
            serde_json::to_value(schemars::schema_for!(crate::workspace::ActionMeta))
                .unwrap_or_default()
        }
        SchemaKind::Module => {
            serde_json::to_value(schemars::schema_for!(crate::workspace::ModuleMeta))
                .unwrap_or_default()
        }
    };
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
