//! `authflow explain`: the documentation of a diagnostic code, or of every check.

use crate::check;
use crate::cli::error::{CliError, CliResult};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    code: Option<String>,
    #[arg(long)]
    all: bool,
}

pub fn run(args: Args) -> CliResult {
    let Some(code) = args.code.filter(|_| !args.all) else {
        out!("{}", check::rules::docs_markdown());
        return Ok(ExitCode::SUCCESS);
    };
    let wanted = code.to_uppercase();
    let Some(code) = crate::diagnostic::Code::ALL
        .iter()
        .find(|c| c.as_str() == wanted || c.info().name.eq_ignore_ascii_case(&wanted))
    else {
        return Err(CliError::Usage(format!(
            "no diagnostic code `{wanted}`; `authflow explain --all` lists them"
        )));
    };
    let info = code.info();
    outln!(
        "{} ({}), {:?} by default: {}",
        code.as_str(),
        info.name,
        info.severity,
        info.summary
    );
    if let Some(rule) = check::rules::rule(*code) {
        outln!(
            "\nWhat it does. {}\n\nWhy it matters. {}\n\nExample:\n{}",
            rule.doc.what,
            rule.doc.why,
            rule.doc.example
        );
    }
    Ok(ExitCode::SUCCESS)
}
