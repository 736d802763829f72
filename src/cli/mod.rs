//! The `authflow` command line: the clap definition of every command and the dispatch to
//! `commands/<command>.rs`, one file per command.
//!
//! Each command parses its own `Args`, does its work through the library and the shared steps
//! here (`load`, `simulate`; actions run through `crate::host`), and hands results to a renderer (`render` for
//! diagnostics, `trace_view` for traces and reports). Every command returns a [`CliResult`]:
//! exit 0 when no errors, 1 when errors were found (or `--expect` did not hold), 2 for usage
//! and I/O errors. Commands write nothing half-way: output files are written whole
//! (`crate::files`) after every check passed.

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

pub mod commands;
pub mod error;
pub mod escape;
pub mod load;
pub mod published;
pub mod render;
pub mod simulate;
pub mod stream_view;
pub mod trace_view;

pub use commands::check::{check_loaded, check_report};
pub use error::{CliError, CliResult};

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
    /// The environment (`environments/NAME.yaml`) to load the workspace in; `publish` records
    /// it in the release and `run --published` runs its last release. `check --env all` checks
    /// every environment; `diff --env A --env B` shows what promoting A to B changes.
    #[arg(long = "env", global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    envs: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

/// Options every command sees.
pub struct Globals {
    pub workspace: Option<PathBuf>,
    /// Every `--env` given, in order (most commands take at most one).
    pub envs: Vec<String>,
}

/// The environment the command line selected, for every load of this process
/// (`cli::load::load`); set once by [`main`] from `--env`, never by library callers.
static SELECTED_ENV: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// The environment `--env` selected, if any.
pub fn selected_env() -> Option<&'static str> {
    SELECTED_ENV.get().and_then(|e| e.as_deref())
}

#[derive(Subcommand)]
enum Command {
    /// Check flows, actions and modules; exit 1 if any error is found.
    Check(commands::check::Args),
    /// Draw a flow's graph.
    Graph(commands::graph::Args),
    /// Print the JSON Schema of a workspace YAML file, for editors.
    Schema(commands::schema::Args),
    /// Rewrite flow files canonically, or convert between YAML and the DSL.
    Fmt(commands::fmt::Args),
    /// Compile a checked flow to an execution plan (JSON).
    Compile(commands::compile::Args),
    /// Simulate a login: run a flow against an event preset or event file and print the trace.
    Run(commands::run::Args),
    /// Work with one custom action on its own.
    Action {
        #[command(subcommand)]
        command: commands::action::Args,
    },
    /// Read back stored runs (the console's Recent Runs).
    Runs {
        #[command(subcommand)]
        command: commands::runs::Args,
    },
    /// Run the workspace's flow tests (tests/**/*.test.yaml): one process, in parallel,
    /// with JUnit, coverage and --update.
    Test(commands::test::Args),
    /// Event streams: deliver JSONL events to a stream's actions, or consume and publish
    /// them through NATS JetStream.
    Stream {
        #[command(subcommand)]
        command: commands::stream::Args,
    },
    /// List the built-in event presets.
    Presets(commands::presets::Args),
    /// Hash a password (read from standard input) as an argon2id PHC string for users.yaml.
    HashPassword(commands::hash_password::Args),
    /// Print a TypeScript declaration file of `event` and `api`, for editors.
    Types(commands::types::Args),
    /// Print the documentation of a diagnostic code, or of every check with --all.
    Explain(commands::explain::Args),
    /// What changed between two versions (git revisions, releases, the working tree):
    /// flows, actions, modules, settings. Exit 0 no change, 2 changes, 1 error.
    Diff(commands::diff::Args),
    /// The gate, then a release: every check; on success, new versions in authflow.lock and a
    /// signed bundle.
    Publish(commands::publish::Args),
    /// Check a release bundle's signature and every file's hash against the lock.
    Verify(commands::verify::Args),
    /// Make an Ed25519 key pair for signing releases; prints the public key.
    Keygen(commands::keygen::Args),
    /// Show drafts: what the next publish would version.
    Status(commands::status::Args),
    /// List an item's published versions.
    Versions(commands::versions::Args),
    /// Serve the Language Server Protocol over stdio, for editors.
    Lsp(commands::lsp::Args),
    /// Replay recorded logins through two versions of a flow and report every decision that
    /// changed. Exit 0 none changed, 2 some changed, 1 error.
    Replay(commands::replay::Args),
}

/// How diagnostics are printed.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

/// How traces and reports are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    Human,
    Json,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if !e.use_stderr() {
                ExitCode::SUCCESS
            } else if detailed_exit_codes(std::env::args_os().skip(1)) {
                // diff and replay exit 2 for "changes": a usage error there is 1.
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            };
        }
    };
    let globals = Globals {
        workspace: cli.workspace,
        envs: cli.envs,
    };
    // Commands that compare or check several environments read `globals.envs` themselves;
    // every other command loads the workspace in the one environment named.
    let multi = matches!(&cli.command, Command::Diff(_) | Command::Check(_));
    let usage_exit = if matches!(&cli.command, Command::Replay(_)) {
        1
    } else {
        2
    };
    match (multi, globals.envs.as_slice()) {
        (_, []) => {}
        (false, [one]) if one != crate::workspace::env::ALL => {
            let _ = SELECTED_ENV.set(Some(one.clone()));
        }
        (false, [_]) => {
            eprintln!("error: --env all is for `authflow check`; name one environment");
            return ExitCode::from(usage_exit);
        }
        (false, _) => {
            eprintln!("error: this command runs in one environment: give --env once");
            return ExitCode::from(usage_exit);
        }
        (true, _) => {}
    }
    match dispatch(cli.command, &globals) {
        Ok(code) => code,
        Err(CliError::Diagnostics(text)) => {
            out!("{text}");
            ExitCode::from(1)
        }
        Err(CliError::Usage(message)) => {
            // Messages quote file names, event paths and values from tenant files.
            eprintln!("error: {}", escape::escape_lines(&message));
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Command, globals: &Globals) -> CliResult {
    match command {
        Command::Check(args) => commands::check::run(args, globals),
        Command::Graph(args) => commands::graph::run(args, globals),
        Command::Schema(args) => commands::schema::run(args),
        Command::Fmt(args) => commands::fmt::run(args),
        Command::Compile(args) => commands::compile::run(args, globals),
        Command::Run(args) => commands::run::run(args, globals),
        Command::Action { command } => commands::action::run(command, globals),
        Command::Runs { command } => commands::runs::run(command, globals),
        Command::Test(args) => commands::test::run(args, globals),
        Command::Stream { command } => commands::stream::run(command, globals),
        Command::Presets(args) => commands::presets::run(args),
        Command::HashPassword(args) => commands::hash_password::run(args),
        Command::Types(args) => commands::types::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Diff(args) => commands::diff::run(args, globals),
        Command::Publish(args) => commands::publish::run(args, globals),
        Command::Verify(args) => commands::verify::run(args, globals),
        Command::Keygen(args) => commands::keygen::run(args, globals),
        Command::Status(args) => commands::status::run(args, globals),
        Command::Versions(args) => commands::versions::run(args, globals),
        Command::Lsp(args) => commands::lsp::run(args),
        Command::Replay(args) => commands::replay::run(args, globals),
    }
}

/// Whether the command line names a command whose exit code 2 means "changes" (`diff`,
/// `replay`), so that its usage errors exit 1. The command is the first argument that is not a
/// global option or its value.
fn detailed_exit_codes(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--workspace" || arg == "--env" {
            args.next();
        } else if !arg.starts_with('-') {
            return matches!(arg.as_ref(), "diff" | "replay");
        }
    }
    false
}

/// Whether standard output gets colours: a terminal, and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
pub fn stdout_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
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
