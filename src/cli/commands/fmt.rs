//! `authflow fmt`: canonical formatting of flow files, and conversion between YAML and the
//! DSL. Files are rewritten whole; with any parse error nothing is written.

use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::render;
use crate::syntax::{Syntax, print};
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SyntaxArg {
    Yaml,
    Dsl,
}

#[derive(clap::Args)]
pub struct Args {
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
}

/// One input file, formatted.
struct Formatted {
    path: PathBuf,
    file: crate::diagnostic::FileId,
    converted: bool,
    text: String,
}

pub fn run(args: Args) -> CliResult {
    if args.output.is_some() && args.files.len() != 1 {
        return Err(CliError::usage("--output takes exactly one input file"));
    }
    let mut sources = crate::workspace::source::Sources::default();
    let mut outputs = Vec::new();
    let mut diagnostics = Vec::new();
    for path in &args.files {
        // The same reader as every command: confined to the file's workspace, regular files
        // only, capped.
        let root = crate::workspace::discover(path);
        let within = crate::files::confinement(path, root.as_deref());
        let text = crate::files::read_text(path, within, crate::files::SOURCE_LIMIT)
            .map_err(CliError::usage)?;
        let file = sources.add(crate::workspace::display_path(path), text);
        let from = Syntax::of_path(path);
        let target = match args.to {
            Some(SyntaxArg::Dsl) => Syntax::Dsl,
            Some(SyntaxArg::Yaml) => Syntax::Yaml,
            None => from,
        };
        match canonical(sources.text(file), file, from, target) {
            Ok(text) => {
                outputs.push(Formatted {
                    path: path.clone(),
                    file,
                    converted: target != from,
                    text,
                });
            }
            Err(mut d) => diagnostics.append(&mut d),
        }
    }
    if !diagnostics.is_empty() {
        return Err(CliError::Diagnostics(render::human(
            &sources,
            &diagnostics,
            crate::cli::stdout_color(),
        )));
    }
    let mut changed = false;
    for formatted in outputs {
        let unchanged = !formatted.converted && formatted.text == sources.text(formatted.file);
        if args.check {
            if !unchanged {
                outln!("{} is not canonical", formatted.path.display());
                changed = true;
            }
            continue;
        }
        match (&args.output, formatted.converted || args.stdout) {
            (Some(out), _) => write(out, &formatted.text)?,
            (None, true) => out!("{}", formatted.text),
            (None, false) if !unchanged => write(&formatted.path, &formatted.text)?,
            (None, false) => {}
        }
    }
    Ok(exit_status(changed))
}

/// The canonical text of a flow source written in `from`, printed in `target`: what
/// `authflow fmt` writes and what `authflow lsp` formats a buffer to.
pub fn canonical(
    text: &str,
    file: crate::diagnostic::FileId,
    from: Syntax,
    target: Syntax,
) -> Result<String, Vec<crate::diagnostic::Diagnostic>> {
    let flow = crate::syntax::parse(text, file, from)?;
    // Both syntaxes comment with `#`: keep the file's header comment, which usually says
    // what the flow is for. Comments inside the flow are not kept.
    let header = header_comment(text);
    Ok(match target {
        Syntax::Dsl => header + &print::to_dsl(&flow),
        Syntax::Yaml => header + &print::to_yaml(&flow),
    })
}

fn write(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    crate::files::write_whole(path, text.as_bytes()).map_err(CliError::usage)
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
