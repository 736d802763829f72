//! `authflow stream`: deliver events to a stream's actions from a JSONL file (`run`), consume
//! them from a NATS JetStream server as one member of a consumer group (`consume`), and
//! publish JSONL events to the stream's subject (`publish`).

use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::{Globals, TraceFormat, load, render, stream_view};
use crate::run::event::RecordedResponse;
use crate::streams::{self, Message, Stream, delivery, nats};
use crate::workspace::Workspace;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Args {
    /// Deliver the events of a JSONL file to a stream's actions: bounded concurrency, retries
    /// with backoff, dead letters, duplicate ids skipped, each user's events in order.
    Run {
        /// The stream's name (`streams/<name>.yaml`) or the path of its file.
        stream: String,
        /// A JSONL file of CloudEvents messages, one per line.
        #[arg(long, value_name = "FILE.jsonl")]
        events: PathBuf,
        /// Compute backoff without waiting for it; the report is deterministic.
        #[arg(long)]
        simulated_clock: bool,
        /// Recorded responses for the actions' fetches (a JSON object, as an event file's
        /// `fetch`: `{"POST https://...": {"status": 202, "body": ""}}`).
        #[arg(long, value_name = "FILE.json")]
        recordings: Option<PathBuf>,
        /// Deliveries at once (default: the stream's `delivery.concurrency`).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Append dead letters here instead of the stream's `delivery.dead_letter.file`.
        #[arg(long, value_name = "FILE.jsonl")]
        dead_letter: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
    /// Consume the stream's events from NATS JetStream as a durable pull consumer; processes
    /// started with the same stream share the work.
    Consume {
        stream: String,
        /// The NATS server, e.g. nats://127.0.0.1:4222 (several comma-separated for a cluster).
        #[arg(long, value_name = "URL")]
        nats: String,
        #[arg(long, value_name = "FILE.json")]
        recordings: Option<PathBuf>,
        /// Stop after this many events were finished (delivered, dead-lettered or skipped).
        #[arg(long)]
        max_events: Option<u64>,
        /// Stop once no event arrived for this many seconds.
        #[arg(long, value_name = "SECONDS")]
        idle_exit: Option<u64>,
        /// Deliveries at once (default: the stream's `delivery.concurrency`).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Write one JSON line per finished event to standard output.
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
    /// Publish the events of a JSONL file to the stream's subject (each event id once).
    Publish {
        stream: String,
        #[arg(long, value_name = "URL")]
        nats: String,
        #[arg(long, value_name = "FILE.jsonl")]
        events: PathBuf,
    },
}

/// The workspace, its streams, and the one asked for; refuses streams with errors.
fn load_stream(globals: &Globals, wanted: &str) -> Result<(Workspace, Stream), CliError> {
    let loaded = load::in_workspace(
        load::load(None, globals.workspace.as_deref())?,
        "`stream` commands run inside a workspace (a directory with authflow.yaml), or give --workspace",
    )?;
    let color = crate::cli::stdout_color();
    let mut diagnostics: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && is_stream_file(&loaded.ws, d.file))
        .cloned()
        .collect();
    let index = match streams::find(&loaded.streams, wanted) {
        Ok(stream) => loaded
            .streams
            .iter()
            .position(|s| std::ptr::eq(s, stream))
            .unwrap_or(0),
        Err(message) if diagnostics.is_empty() => return Err(CliError::Usage(message)),
        Err(_) => {
            return Err(CliError::Diagnostics(render::human(
                &loaded.ws.sources,
                &diagnostics,
                color,
            )));
        }
    };
    diagnostics = crate::check::check_stream(&loaded.ws, &loaded.streams[index]);
    diagnostics.retain(|d| d.is_error());
    if !diagnostics.is_empty() {
        return Err(CliError::Diagnostics(render::human(
            &loaded.ws.sources,
            &diagnostics,
            color,
        )));
    }
    let mut streams = loaded.streams;
    Ok((loaded.ws, streams.swap_remove(index)))
}

/// Whether `file` is one of the workspace's `streams/*.yaml`.
fn is_stream_file(ws: &Workspace, file: crate::diagnostic::FileId) -> bool {
    ws.sources
        .path(file)
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|name| name == streams::file::STREAMS_DIR)
}

/// Reads a recordings file: a JSON object of recorded responses by `URL` or `METHOD URL`.
pub fn read_recordings(
    path: Option<&Path>,
    root: Option<&Path>,
) -> Result<BTreeMap<String, RecordedResponse>, CliError> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let shown = path.display();
    let within = crate::files::confinement(path, root);
    let text = crate::files::read_text(path, within, crate::files::EVENT_LIMIT)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let recordings: BTreeMap<String, RecordedResponse> = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{shown}: not a recordings object: {e}")))?;
    for key in recordings.keys() {
        crate::run::event::recording_key(key)
            .map_err(|message| CliError::Usage(format!("{shown}: `{key}`: {message}")))?;
    }
    Ok(recordings)
}

/// The messages of a JSONL events file, validated for the workspace's tenant.
fn read_events(ws: &Workspace, path: &Path) -> Result<Vec<Message>, CliError> {
    let events = streams::read_events(path, ws.root.as_deref(), &ws.settings.tenant.id);
    events.map_err(|error| match error {
        streams::InputError::Io(message) => CliError::Usage(message),
        streams::InputError::Lines(lines) => {
            let shown: Vec<String> = lines.iter().take(50).map(|l| format!("  {l}")).collect();
            let more = lines.len().saturating_sub(50);
            CliError::Usage(format!(
                "{}: events do not follow the event-type catalogue:\n{}{}",
                path.display(),
                shown.join("\n"),
                if more > 0 {
                    format!("\n  ... and {more} more")
                } else {
                    String::new()
                }
            ))
        }
    })
}

/// Appends lines to a file in one write, creating its directory; concurrent runs appending to
/// the same file never interleave within a line.
fn append_lines(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    if text.is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    match args {
        Args::Run {
            stream,
            events,
            simulated_clock,
            recordings,
            concurrency,
            dead_letter,
            format,
        } => {
            let (ws, stream) = load_stream(globals, &stream)?;
            let messages = read_events(&ws, &events)?;
            let (workers, actions) = actions_for(&ws, &stream, concurrency, recordings.as_deref())?;
            let bar = progress_bar(messages.len() as u64);
            let options = delivery::RunOptions {
                simulated_clock,
                concurrency: workers,
            };
            let report = delivery::deliver_all(&stream, &messages, &actions, &options, &|| {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            });
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let root = ws.root.as_deref().unwrap_or(Path::new("."));
            let target = dead_letter.unwrap_or_else(|| stream.dead_letter_file(root));
            append_lines(&target, &report.dead_letter_lines())?;
            out!("{}", stream_view::report(&report, format));
            if !report.dead_letters.is_empty() && format == TraceFormat::Human {
                outln!(
                    "dead letters appended to {}",
                    crate::workspace::display_path(&target).display()
                );
            }
            Ok(exit_status(report.summary.dead_lettered > 0))
        }
        Args::Consume {
            stream,
            nats: url,
            recordings,
            max_events,
            idle_exit,
            concurrency,
            format,
        } => {
            let (ws, stream) = load_stream(globals, &stream)?;
            let (workers, actions) = actions_for(&ws, &stream, concurrency, recordings.as_deref())?;
            let options = nats::ConsumeOptions {
                url,
                workers,
                max_events,
                idle_exit: idle_exit.map(std::time::Duration::from_secs),
                stop: None,
            };
            let json = format == TraceFormat::Json;
            let summary = nats::consume(&ws, &stream, &actions, &options, &|finished| {
                if json {
                    outln!("{}", serde_json::to_string(finished).unwrap_or_default());
                } else {
                    outln!(
                        "{} {} · {:?} · attempt {}",
                        finished.id,
                        finished.event_type,
                        finished.status,
                        finished.attempt
                    );
                }
            })
            .map_err(CliError::Usage)?;
            if !json {
                outln!("stream {}: {}", stream.name, stream_view::summary(&summary));
            }
            Ok(ExitCode::SUCCESS)
        }
        Args::Publish {
            stream,
            nats: url,
            events,
        } => {
            let (ws, stream) = load_stream(globals, &stream)?;
            let messages = read_events(&ws, &events)?;
            let published =
                nats::publish(&ws, &stream, &url, &messages).map_err(CliError::Usage)?;
            outln!(
                "published {} of {} events to {} ({} duplicates dropped by the server)",
                published.stored,
                messages.len(),
                stream.subject(&ws.settings.tenant.id),
                published.duplicates
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The stream's actions on `concurrency` workers (default: the stream's own setting).
fn actions_for(
    ws: &Workspace,
    stream: &Stream,
    concurrency: Option<usize>,
    recordings: Option<&Path>,
) -> Result<(usize, streams::actions::StreamActions), CliError> {
    let recordings = read_recordings(recordings, ws.root.as_deref())?;
    let workers = concurrency
        .unwrap_or(stream.spec.delivery.concurrency.value as usize)
        .clamp(1, 64);
    let actions = streams::actions::StreamActions::new(ws, stream, workers, recordings)
        .map_err(CliError::usage)?;
    Ok((workers, actions))
}

/// A progress bar on standard error when it is a terminal.
fn progress_bar(len: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} events · {per_sec} · eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}
