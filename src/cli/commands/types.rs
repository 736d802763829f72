//! `authflow types`: print the TypeScript declarations of `event` and `api` for editors, or
//! (`--out DIR`) write the TypeScript project that type-checks a workspace's actions and
//! modules with `tsc -p DIR`. What the files hold is `catalog::types_dts`'s; this command only
//! loads the workspace and writes them.

use crate::cli::error::{CliError, CliResult};
use crate::cli::load;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The workspace whose actions and modules the project checks (default: the current one).
    /// Only with --out.
    #[arg(requires = "out")]
    workspace: Option<PathBuf>,
    /// Write the TypeScript project into this directory (created if needed; its generated
    /// files are replaced) instead of printing the declarations.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> CliResult {
    let Some(out) = args.out else {
        out!("{}", crate::catalog::types_dts::declarations());
        return Ok(ExitCode::SUCCESS);
    };
    let loaded = load::in_workspace(
        load::load(args.workspace.as_deref(), None)?,
        "`types --out` writes a project for a workspace (a directory with authflow.yaml)",
    )?;
    // A project without an action that failed to load would check less than it says.
    load::refuse_workspace_errors(&loaded)?;
    let files = crate::catalog::types_dts::project(&loaded.ws);
    for file in &files {
        let path = out.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
        }
        crate::files::write_whole(&path, file.text.as_bytes()).map_err(CliError::usage)?;
    }
    outln!(
        "wrote {} files to {}; check them with `tsc -p {}`",
        files.len(),
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
