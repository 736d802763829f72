//! The `authflow` binary: everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    authflow::cli::main()
}
