//! The `authflow` binary: everything lives in the library's `cli` module.

/// The QuickJS facade under deno_core caches the bytecode of every script it compiles in the
/// user's cache directory (`~/.cache/v8x/quickjs-bytecode`) unless this variable is set: that
/// would write tenant code to disk, where other processes read it back, and let a run depend
/// on files outside the workspace. authflow turns the cache off; `.cargo/config.toml` does the
/// same for tests and benchmarks.
const NO_BYTECODE_CACHE: &str = "V82JSC_NO_BC_CACHE";

fn main() -> std::process::ExitCode {
    // SAFETY: the first thing the process does, before any thread exists, so nothing reads
    // the environment concurrently.
    unsafe { std::env::set_var(NO_BYTECODE_CACHE, "1") };
    authflow::cli::main()
}
