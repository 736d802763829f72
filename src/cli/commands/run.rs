//! `authflow run`: simulate one login and print (and store) its trace. The working tree (the
//! draft) by default; `--published` runs the last release, `--bundle` a bundle on its own.

use crate::cli::error::{CliError, CliResult, exit_status};
use crate::cli::{Globals, TraceFormat, published, simulate, trace_view};
use crate::run::trace::Outcome;
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Expect {
    Allow,
    Deny,
}

#[derive(clap::Args)]
pub struct Args {
    /// The flow file; with --bundle, the flow's name (optional when the bundle has one flow).
    #[arg(required_unless_present = "bundle")]
    flow: Option<PathBuf>,
    /// A preset name (`authflow presets` lists them) or an event JSON file.
    #[arg(long, value_name = "PRESET|FILE")]
    event: String,
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    format: TraceFormat,
    /// Exit 1 unless the run ends with this outcome (for CI).
    #[arg(long, value_enum)]
    expect: Option<Expect>,
    /// Do not store the run in the workspace's store (.authflow/store.db).
    #[arg(long)]
    no_store: bool,
    /// Run the last published release of the flow instead of the working tree (the draft).
    #[arg(long, conflicts_with = "bundle")]
    published: bool,
    /// Run from a release bundle alone, without the workspace.
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// The public key a bundle must be signed with (`ed25519:...` or a file); for
    /// --published the default is `publish.public_key` of authflow.yaml.
    #[arg(long, value_name = "KEY|FILE")]
    key: Option<String>,
}

pub fn run(args: Args, globals: &Globals) -> CliResult {
    let color = crate::cli::stdout_color();
    // The release's files stay on disk (in a temporary directory) until the run is done.
    let (compiled, store_base, _release) = if let Some(bundle) = &args.bundle {
        let name = args.flow.as_ref().map(|f| f.to_string_lossy().into_owned());
        let from = published::bundle_flow(bundle, name.as_deref(), args.key.as_deref())?;
        eprintln!("{}", from.note);
        (from.compiled, from.store_base, Some(from.dir))
    } else {
        let flow = args
            .flow
            .as_ref()
            .ok_or_else(|| CliError::Usage("give a flow file".into()))?;
        if args.published {
            let from = published::published_flow(
                flow,
                globals.workspace.as_deref(),
                crate::cli::selected_env(),
                args.key.as_deref(),
                color,
            )?;
            eprintln!("{}", from.note);
            (from.compiled, from.store_base, Some(from.dir))
        } else {
            let compiled = simulate::compile_flow(flow, globals.workspace.as_deref(), color)?;
            let base = simulate::store_base(compiled.loaded.ws.root.as_deref());
            (compiled, base, None)
        }
    };
    let (name, input, sim) = simulate::load_event_input(&args.event)?;
    let engine = crate::host::runner_for_one_login(&compiled.loaded.ws, &compiled.plan)
        .map_err(CliError::usage)?;
    let mut trace = simulate::simulate(&compiled, &name, &sim, engine.as_ref())?;
    // Event streams receive the run's events after the decision, outside its elapsed time.
    crate::cli::stream_view::deliver_after_run(&compiled, &sim, &mut trace)?;
    out!("{}", trace_view::trace(&trace, args.format));
    if args.format == TraceFormat::Human {
        out!("{}", crate::cli::stream_view::emitted(&trace.events));
    }
    if !args.no_store {
        let flow_file = args
            .flow
            .clone()
            .unwrap_or_else(|| PathBuf::from(&trace.flow));
        match simulate::store_run(&store_base, &compiled, &flow_file, &input, &trace) {
            Ok(id) if args.format == TraceFormat::Human => {
                outln!("stored as run {id} (authflow runs show {id})")
            }
            Ok(_) => {}
            Err(e) => eprintln!("warning: the run was not stored: {e}"),
        }
    }
    let expected = match args.expect {
        None => true,
        Some(Expect::Allow) => trace.outcome == Outcome::Allow,
        Some(Expect::Deny) => trace.outcome == Outcome::Deny,
    };
    Ok(exit_status(!expected))
}
