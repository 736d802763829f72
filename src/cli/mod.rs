//! The `authflow` command line: argument parsing (clap) and one function per command.
//!
//! Exit codes: 0 when no errors, 1 when errors were found (or a run was denied with
//! `--expect allow`), 2 for usage and I/O errors. Commands write nothing half-way: output
//! files are written whole after every check passed.

/// `print!` that ends the process quietly when standard output is closed (`| head`), instead
/// of panicking on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_stdout(&format!($($arg)*)) };
}

/// `println!` with `out!`'s broken-pipe handling.
macro_rules! outln {
    () => { $crate::cli::write_stdout("\n") };
    ($($arg:tt)*) => { $crate::cli::write_stdout(&format!("{}\n", format!($($arg)*))) };
}

pub mod actions;
pub mod load;
pub mod render;
pub mod simulate;
pub mod trace_view;

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
    /// Rewrite flow files canonically, or convert between YAML and the DSL.
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Convert to this syntax; the result goes to standard output, or to --output.
        #[arg(long, value_enum)]
        to: Option<SyntaxArg>,
        /// Write the converted flow here.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Write nothing; exit 1 if any file is not canonical.
        #[arg(long)]
        check: bool,
        /// Print the canonical form instead of rewriting the file.
        #[arg(long)]
        stdout: bool,
    },
    /// Compile a checked flow to an execution plan (JSON).
    Compile {
        flow: PathBuf,
        /// Write the plan here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Simulate a login: run a flow against an event preset or event file and print the trace.
    Run {
        flow: PathBuf,
        /// A preset name (`authflow presets` lists them) or an event JSON file.
        #[arg(long, value_name = "PRESET|FILE")]
        event: String,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
        /// Exit 1 unless the run ends with this outcome (for CI).
        #[arg(long, value_enum)]
        expect: Option<Expect>,
        /// Do not store the run under .authflow/runs/.
        #[arg(long)]
        no_store: bool,
    },
    /// Work with one custom action on its own.
    Action {
        #[command(subcommand)]
        command: ActionCommand,
    },
    /// Read back stored runs (the console's Recent Runs).
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// List the built-in event presets.
    Presets,
    /// Hash a password (read from standard input) as an argon2id PHC string for users.yaml.
    HashPassword,
    /// Print a TypeScript declaration file of `event` and `api`, for editors.
    Types,
    /// Print the documentation of a diagnostic code, or of every check with --all.
    Explain {
        code: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

/// How diagnostics are printed.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(Subcommand)]
enum RunsCommand {
    /// List stored runs, newest first.
    List,
    /// Show one stored run by id (or `latest`).
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
}

#[derive(Subcommand)]
enum ActionCommand {
    /// Run one action alone against an event, enabled or not (the console's Test pane):
    /// Logs, State writes, Metadata (elapsed time).
    Test {
        slug: String,
        #[arg(long, value_name = "PRESET|FILE")]
        event: String,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TraceFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Expect {
    Allow,
    Deny,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SyntaxArg {
    Yaml,
    Dsl,
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
            outln!("{}", schema(kind));
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { code, all } => cmd_explain(code, all),
        Command::Fmt {
            files,
            to,
            output,
            check,
            stdout,
        } => cmd_fmt(files, to, output, check, stdout),
        Command::Compile { flow, output } => cmd_compile(flow, workspace, output),
        Command::Run {
            flow,
            event,
            format,
            expect,
            no_store,
        } => cmd_run(flow, workspace, &event, format, expect, no_store),
        Command::Action {
            command:
                ActionCommand::Test {
                    slug,
                    event,
                    format,
                },
        } => cmd_action_test(workspace, &slug, &event, format),
        Command::Runs { command } => cmd_runs(workspace, command),
        Command::Presets => {
            for (name, description, _) in crate::run::presets::PRESETS {
                outln!("{name:<20} {description}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::HashPassword => cmd_hash_password(),
        Command::Types => {
            out!("{}", crate::catalog::types_dts::declarations());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn cmd_check(
    path: Option<PathBuf>,
    workspace: Option<&std::path::Path>,
    format: Format,
) -> Result<ExitCode, String> {
    let color = std::io::stdout().is_terminal();
    let (text, errors) = check_report(path.as_deref(), workspace, format, color)?;
    out!("{text}");
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Checks `path` (a flow file, a workspace, or the current workspace) and renders the
/// diagnostics; the flag says whether any is an error. Tests go through this too.
pub fn check_report(
    path: Option<&std::path::Path>,
    workspace: Option<&std::path::Path>,
    format: Format,
    color: bool,
) -> Result<(String, bool), String> {
    let loaded = load::load(path, workspace).map_err(|e| e.to_string())?;
    if loaded.flows.is_empty() && loaded.ws.root.is_none() {
        return Err("nothing to check: give a flow file, or run inside a workspace (a directory with authflow.yaml)".into());
    }
    let diagnostics = check_loaded(&loaded);
    let text = render(&loaded.ws.sources, &diagnostics, format, color);
    Ok((text, diagnostics.iter().any(Diagnostic::is_error)))
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

fn render(
    sources: &crate::workspace::source::Sources,
    diagnostics: &[Diagnostic],
    format: Format,
    color: bool,
) -> String {
    match format {
        Format::Human => render::human(sources, diagnostics, color),
        Format::Json => {
            serde_json::to_string_pretty(&render::json(sources, diagnostics)).unwrap_or_default()
                + "\n"
        }
        Format::Sarif => {
            serde_json::to_string_pretty(&render::sarif(sources, diagnostics)).unwrap_or_default()
                + "\n"
        }
    }
}

fn cmd_graph(
    flow: PathBuf,
    workspace: Option<&std::path::Path>,
    format: GraphFormat,
) -> Result<ExitCode, String> {
    let loaded = load::load(Some(&flow), workspace).map_err(|e| e.to_string())?;
    let Some((_, Some(parsed))) = loaded.flows.first() else {
        out!(
            "{}",
            render(
                &loaded.ws.sources,
                &loaded.diagnostics,
                Format::Human,
                std::io::stdout().is_terminal()
            )
        );
        return Ok(ExitCode::from(1));
    };
    let graph = crate::graph::FlowGraph::build(parsed);
    out!(
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
        out!("{}", check::rules::docs_markdown());
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
    outln!(
        "{} ({}), {:?} by default: {}",
        code.as_str(),
        info.name,
        info.severity,
        info.summary
    );
    if let Some(rule) = check::rules::RULES.iter().find(|r| r.codes.contains(code)) {
        outln!(
            "\nWhat it does. {}\n\nWhy it matters. {}\n\nExample:\n{}",
            rule.doc.what,
            rule.doc.why,
            rule.doc.example
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

fn finish(result: Result<ExitCode, simulate::CommandError>) -> Result<ExitCode, String> {
    match result {
        Ok(code) => Ok(code),
        Err(simulate::CommandError::Usage(message)) => Err(message),
        Err(simulate::CommandError::Diagnostics(text)) => {
            out!("{text}");
            Ok(ExitCode::from(1))
        }
    }
}

fn cmd_compile(
    flow: PathBuf,
    workspace: Option<&std::path::Path>,
    output: Option<PathBuf>,
) -> Result<ExitCode, String> {
    finish((|| {
        let compiled = simulate::compile_flow(&flow, workspace, std::io::stdout().is_terminal())?;
        let json = serde_json::to_string_pretty(&compiled.plan)
            .map_err(|e| simulate::CommandError::Usage(e.to_string()))?;
        match output {
            Some(path) => {
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, json + "\n")
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .map_err(|e| {
                        simulate::CommandError::Usage(format!("{}: {e}", path.display()))
                    })?;
            }
            None => outln!("{json}"),
        }
        Ok(ExitCode::SUCCESS)
    })())
}

fn cmd_run(
    flow: PathBuf,
    workspace: Option<&std::path::Path>,
    event: &str,
    format: TraceFormat,
    expect: Option<Expect>,
    no_store: bool,
) -> Result<ExitCode, String> {
    finish((|| {
        let compiled = simulate::compile_flow(&flow, workspace, std::io::stdout().is_terminal())?;
        let (name, sim) = simulate::load_event(event)?;
        let engine = actions::runner_for(&compiled)?;
        let trace = simulate::simulate(&compiled, &name, &sim, engine.as_ref())?;
        match format {
            TraceFormat::Human => out!("{}", trace_view::render(&trace)),
            TraceFormat::Json => outln!(
                "{}",
                serde_json::to_string_pretty(&trace).unwrap_or_default()
            ),
        }
        if !no_store {
            let dir = simulate::runs_dir(compiled.loaded.ws.root.as_deref());
            match simulate::store_run(&dir, &trace) {
                Ok(path) if format == TraceFormat::Human => {
                    outln!("stored as {}", path.display())
                }
                Ok(_) => {}
                Err(e) => eprintln!("warning: the run was not stored: {e}"),
            }
        }
        let expected = match expect {
            None => true,
            Some(Expect::Allow) => trace.outcome == crate::run::trace::Outcome::Allow,
            Some(Expect::Deny) => trace.outcome == crate::run::trace::Outcome::Deny,
        };
        Ok(if expected {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })())
}

fn cmd_runs(workspace: Option<&std::path::Path>, command: RunsCommand) -> Result<ExitCode, String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = workspace
        .map(std::path::Path::to_path_buf)
        .or_else(|| crate::workspace::discover(&cwd));
    let dir = simulate::runs_dir(root.as_deref());
    let runs = simulate::list_runs(&dir);
    match command {
        RunsCommand::List => {
            if runs.is_empty() {
                outln!("no runs stored in {}", dir.display());
            }
            for (id, trace) in &runs {
                let outcome = match trace.outcome {
                    crate::run::trace::Outcome::Allow => "allow".to_string(),
                    crate::run::trace::Outcome::Deny => {
                        format!("deny ({})", trace.deny_reason.as_deref().unwrap_or(""))
                    }
                };
                outln!(
                    "{id}  {}  {}  {}  {} blocks  {} µs",
                    trace.flow,
                    trace.event,
                    outcome,
                    trace.blocks.len(),
                    trace.elapsed_us
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Show { id, format } => {
            let found = if id == "latest" {
                runs.first()
            } else {
                runs.iter().find(|(i, _)| *i == id)
            };
            let Some((_, trace)) = found else {
                return Err(format!(
                    "no stored run `{id}` in {} (`authflow runs list` lists them)",
                    dir.display()
                ));
            };
            match format {
                TraceFormat::Human => out!("{}", trace_view::render(trace)),
                TraceFormat::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(trace).unwrap_or_default()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn cmd_hash_password() -> Result<ExitCode, String> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .map_err(|e| e.to_string())?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    outln!("{}", crate::run::crypto::hash_password(password, &salt)?);
    Ok(ExitCode::SUCCESS)
}

fn cmd_fmt(
    files: Vec<PathBuf>,
    to: Option<SyntaxArg>,
    output: Option<PathBuf>,
    check: bool,
    stdout: bool,
) -> Result<ExitCode, String> {
    use crate::syntax::{Syntax, print};
    if output.is_some() && files.len() != 1 {
        return Err("--output takes exactly one input file".into());
    }
    let mut sources = crate::workspace::source::Sources::default();
    let mut outputs = Vec::new();
    let mut diagnostics = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = sources.add(crate::workspace::display_path(path), text);
        let from = Syntax::of_path(path);
        match crate::syntax::parse(sources.text(file), file, from) {
            Ok(flow) => {
                let target = match to {
                    Some(SyntaxArg::Dsl) => Syntax::Dsl,
                    Some(SyntaxArg::Yaml) => Syntax::Yaml,
                    None => from,
                };
                // Both syntaxes comment with `#`: keep the file's header comment, which
                // usually says what the flow is for. Comments inside the flow are not kept.
                let header = header_comment(sources.text(file));
                let formatted = match target {
                    Syntax::Dsl => header + &print::to_dsl(&flow),
                    Syntax::Yaml => header + &print::to_yaml(&flow),
                };
                outputs.push((path.clone(), file, target != from, formatted));
            }
            Err(mut d) => diagnostics.append(&mut d),
        }
    }
    if !diagnostics.is_empty() {
        out!(
            "{}",
            render::human(&sources, &diagnostics, std::io::stdout().is_terminal())
        );
        return Ok(ExitCode::from(1));
    }
    let mut changed = false;
    for (path, file, converted, formatted) in outputs {
        if check {
            if converted || formatted != sources.text(file) {
                outln!("{} is not canonical", path.display());
                changed = true;
            }
            continue;
        }
        match (&output, converted || stdout) {
            (Some(out), _) => write_whole(out, &formatted)?,
            (None, true) => out!("{formatted}"),
            (None, false) => {
                if formatted != sources.text(file) {
                    write_whole(&path, &formatted)?;
                }
            }
        }
    }
    Ok(if changed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes a file whole: to a temporary sibling first, then renamed over the target.
fn write_whole(path: &std::path::Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("authflow-tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The comment lines (and blank lines between them) that open a file.
fn header_comment(text: &str) -> String {
    let mut header = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            header.push_str(line.trim_end());
            header.push('\n');
        } else if line.trim().is_empty() && !header.is_empty() {
            continue;
        } else {
            break;
        }
    }
    header
}

fn cmd_action_test(
    workspace: Option<&std::path::Path>,
    slug: &str,
    event: &str,
    format: TraceFormat,
) -> Result<ExitCode, String> {
    finish((|| {
        let loaded = load::load(None, workspace)
            .map_err(|e| simulate::CommandError::Usage(e.to_string()))?;
        if loaded.ws.root.is_none() {
            return Err(simulate::CommandError::Usage("`action test` runs inside a workspace (a directory with authflow.yaml), or give --workspace".into()));
        }
        let Some(action) = loaded.ws.actions.get(slug) else {
            let hint = crate::catalog::closest(slug, loaded.ws.actions.keys().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(simulate::CommandError::Usage(format!(
                "the workspace has no action `{slug}`{hint}"
            )));
        };
        let (name, sim) = simulate::load_event(event)?;
        let runner = actions::JsActions::new(&loaded.ws, [slug])?;
        let started = std::time::Instant::now();
        let result = crate::run::ActionRunner::run_action(
            &runner,
            crate::run::ActionRequest {
                slug,
                event: &sim.event,
                now: sim.now,
                fetch: &sim.fetch,
            },
        );
        let elapsed = started.elapsed();
        let report = serde_json::json!({
            "action": slug,
            "enabled": action.meta.enabled,
            "event": name,
            "logs": result.logs,
            "state_writes": result.state_writes.iter().map(|(k, v)| serde_json::json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "metadata": { "elapsed_ms": elapsed.as_secs_f64() * 1000.0, "app_metadata": result.metadata_patch, "claims": result.claims.iter().map(|(k, v)| serde_json::json!({"name": k, "value": v})).collect::<Vec<_>>() },
            "denied": result.denied,
            "failure": result.failure,
            "fetches": result.fetches,
        });
        match format {
            TraceFormat::Json => outln!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            ),
            TraceFormat::Human => {
                let state = if action.meta.enabled {
                    "enabled"
                } else {
                    "disabled: flows skip it, the Test pane runs it"
                };
                outln!("action {slug} ({state}) · event {name}");
                outln!("Logs");
                if result.logs.is_empty() {
                    outln!("  (none)");
                }
                for log in &result.logs {
                    outln!("  {:<5} {}", log.level, log.message);
                }
                outln!("State writes");
                if result.state_writes.is_empty() {
                    outln!("  (none)");
                }
                for (k, v) in &result.state_writes {
                    outln!("  step.{slug}.{k} = {v}");
                }
                outln!("Metadata");
                outln!("  elapsed: {:.2} ms", elapsed.as_secs_f64() * 1000.0);
                for (k, v) in &result.metadata_patch {
                    outln!("  app_metadata.{k} = {v}");
                }
                for (k, v) in &result.claims {
                    outln!("  claim {k} = {v}");
                }
                if let Some(reason) = &result.denied {
                    outln!("Denied: {reason}");
                }
                if let Some(f) = &result.failure {
                    let at = match (&f.file, f.line) {
                        (Some(file), Some(line)) => format!(" at {file}:{line}"),
                        _ => String::new(),
                    };
                    outln!("Failed ({}): {}{at}", f.kind, f.message);
                }
            }
        }
        Ok(if result.failure.is_some() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })())
}

/// Writes to standard output; a closed pipe ends the process with success, as `head` expects.
pub fn write_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}
