//! The cranelift JIT: compiles one checked condition to a native function over a flat
//! `#[repr(C)]` slot array, one slot per field the condition reads.
//!
//! Each condition becomes two functions in one module: `from_slots` reads inputs the caller
//! already resolved and tagged, `from_root` receives the root JSON object and looks each
//! field up itself through `af_lookup` (at the point of use when the field is read once, so
//! short-circuited fields cost nothing; once on entry when it is read several times).
//!
//! Two rooms:
//! - `abi`: the contract between Rust and the generated code (the slot layout and its tags,
//!   the arena `lower` writes into, the `extern "C"` helpers the code calls, and
//!   `JitCondition`, which owns the code and calls it). Every `unsafe` of the condition
//!   language is there.
//! - `codegen`: safe code generation from the checked tree to cranelift IR, against that ABI.
//!
//! Inline code handles booleans, numbers, tag tests and comparisons with constants;
//! everything else (string contents, lists, `lower`, `len`) calls a helper that rebuilds an
//! interpreter value and runs the shared `semantics` functions, so the JIT never defines
//! behaviour of its own.

mod abi;
mod codegen;

pub(super) use abi::JitCondition;
