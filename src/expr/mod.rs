//! The condition language: parse (`parse`), type check against the field catalogue
//! (`check`), and evaluate over JSON inputs with the reference tree-walking `Interpreter` or a
//! cranelift JIT; a `Condition` is interpreted until it is hot, then compiled (tiering).
//!
//! This module owns the language and its semantics (docs/conditions.md); it does not know
//! where field types come from (the `FieldTypes` trait) nor how the runtime stores the event
//! (callers resolve each of `Condition::fields` to a JSON value and pass them in order).

mod ast;
mod check;
mod interp;
mod jit;
mod parse;

pub use ast::{BinaryOp, Expr, ExprKind, FieldPath, Literal, PathSegment};
pub use check::{CheckedExpr, FieldError, FieldTypes, Function, ValueType, check};
pub use interp::Interpreter;
pub use parse::{MAX_BRACKET_NESTING, MAX_DEPTH, parse};

use crate::span::Span;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// What went wrong in a condition, for choosing a diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExprErrorKind {
    /// The text does not match the grammar.
    Syntax,
    /// Nesting exceeds `MAX_DEPTH` or `MAX_BRACKET_NESTING`.
    TooDeep,
    /// The catalogue has no such field.
    UnknownField,
    /// No built-in function has this name.
    UnknownFunction,
    /// A function was called with the wrong number of arguments.
    Arity,
    /// An operator or function got operands of the wrong type.
    TypeMismatch,
    /// The whole condition does not produce a boolean.
    NotBoolean,
}

/// One diagnostic about a condition; `span` is relative to the condition text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// The category, for mapping to a stable diagnostic code.
    pub kind: ExprErrorKind,
    /// Where in the condition text (shift with `Span::offset` to place it in the file).
    pub span: Span,
    /// What is wrong, as one sentence without a trailing period.
    pub message: String,
    /// How to fix it, if there is something useful to say.
    pub help: Option<String>,
}

impl ExprError {
    /// Builds an error from its parts.
    pub fn new(
        kind: ExprErrorKind,
        span: Span,
        message: String,
        help: Option<String>,
    ) -> ExprError {
        ExprError {
            kind,
            span,
            message,
            help,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}..{}",
            self.message, self.span.start, self.span.end
        )?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

/// How many evaluations a tiered condition is interpreted for before it is compiled.
///
/// A cranelift compile costs about 0.5-0.8 ms per condition and an interpreted evaluation
/// about 0.2 µs, of which native code saves most; compiling pays for itself only after a few
/// thousand evaluations. A single `authflow run` evaluates each guard once, so it never
/// compiles; a test suite or replay that runs a flow thousands of times does, once.
pub const HOT_AFTER: u32 = 4096;

/// A checked condition ready to run: interpreted until it is hot, then native code.
///
/// **Invariant:** both tiers compute the same result for every input (the proptests in
/// `tests/expr_props.rs` check the interpreter, the JIT and a tiered condition across its
/// promotion), so when a condition is promoted changes only its speed.
pub struct Condition {
    // Declared before `interpreter` so the machine code is released before the constants it
    // points into; nothing runs during drop, so this order is belt and braces.
    /// Unset while the condition is interpreted; then the compiled code, or `None` when the
    /// JIT could not compile it (`Condition::jit_error` tells why) and it stays interpreted.
    jit: OnceLock<Option<jit::JitCondition>>,
    interpreter: Interpreter,
    fields: Vec<FieldPath>,
    /// What the JIT compiles when the condition gets hot; `None` once nothing is left to do.
    pending: Option<CheckedExpr>,
    /// Evaluations so far while interpreted, and the count that triggers the compile.
    evaluations: AtomicU32,
    hot_after: u32,
}

impl Condition {
    /// Compiles `checked` with the JIT now, falling back to the interpreter if that fails.
    pub fn compile(checked: &CheckedExpr) -> Condition {
        Condition::settled(checked, jit::JitCondition::compile(checked).ok())
    }

    /// A condition that is interpreted for its first [`HOT_AFTER`] evaluations and compiled
    /// by the one that makes it hot.
    pub fn tiered(checked: &CheckedExpr) -> Condition {
        Condition::tiered_after(checked, HOT_AFTER)
    }

    /// [`Condition::tiered`] with the threshold given: the `hot_after`-th evaluation compiles
    /// the condition and runs the native code (`0` compiles at once, as `compile` does).
    pub fn tiered_after(checked: &CheckedExpr, hot_after: u32) -> Condition {
        if hot_after == 0 {
            return Condition::compile(checked);
        }
        Condition {
            jit: OnceLock::new(),
            interpreter: Interpreter::new(checked),
            fields: checked.fields().to_vec(),
            pending: Some(checked.clone()),
            evaluations: AtomicU32::new(0),
            hot_after,
        }
    }

    /// A condition that always uses the interpreter (for tests and comparison).
    pub fn interpreted(checked: &CheckedExpr) -> Condition {
        Condition::settled(checked, None)
    }

    /// A condition whose tier is settled from the start: the compiled code, or (`None`) the
    /// interpreter for good.
    fn settled(checked: &CheckedExpr, compiled: Option<jit::JitCondition>) -> Condition {
        let jit = OnceLock::new();
        let _ = jit.set(compiled);
        Condition {
            jit,
            interpreter: Interpreter::new(checked),
            fields: checked.fields().to_vec(),
            pending: None,
            evaluations: AtomicU32::new(0),
            hot_after: 0,
        }
    }

    /// Parses and checks `text`, and returns it tiered ([`Condition::tiered`]).
    pub fn from_source(
        text: &str,
        catalogue: &dyn FieldTypes,
    ) -> Result<Condition, Vec<ExprError>> {
        let expr = parse(text).map_err(|error| vec![error])?;
        let checked = check(&expr, catalogue)?;
        Ok(Condition::tiered(&checked))
    }

    /// The JIT error message if compiling `checked` fails (diagnostics for the fallback).
    pub fn jit_error(checked: &CheckedExpr) -> Option<String> {
        jit::JitCondition::compile(checked).err()
    }

    /// The fields to pass to `eval`, in order; each is read once however often it appears.
    pub fn fields(&self) -> &[FieldPath] {
        &self.fields
    }

    /// True when evaluation runs native code rather than the interpreter (a tiered condition
    /// only once it got hot).
    pub fn is_jit(&self) -> bool {
        matches!(self.jit.get(), Some(Some(_)))
    }

    /// The native code once there is some; counts the evaluation while there is none, and
    /// compiles when this evaluation makes the condition hot.
    #[inline]
    fn native(&self) -> Option<&jit::JitCondition> {
        match self.jit.get() {
            Some(done) => done.as_ref(),
            None => self.warm_up(),
        }
    }

    #[cold]
    fn warm_up(&self) -> Option<&jit::JitCondition> {
        let seen = self.evaluations.fetch_add(1, Ordering::Relaxed);
        if seen.saturating_add(1) < self.hot_after {
            return None;
        }
        // Exactly one evaluation crosses the threshold and compiles; evaluations on other
        // threads meanwhile keep interpreting (the counter only grows past it).
        if seen.saturating_add(1) == self.hot_after
            && let Some(checked) = &self.pending
        {
            let _ = self.jit.set(jit::JitCondition::compile(checked).ok());
        }
        self.jit.get().and_then(Option::as_ref)
    }

    /// Evaluates with `inputs[i]` the value of `fields()[i]` (None or too short = missing).
    ///
    /// Allocates nothing for up to 16 fields; `eval_root` never allocates (the evaluation
    /// that makes a tiered condition hot compiles it, which does).
    #[inline]
    pub fn eval(&self, inputs: &[Option<&serde_json::Value>]) -> bool {
        match self.native() {
            Some(jit) => jit.eval(inputs),
            None => self.interpreter.eval(inputs),
        }
    }

    /// Evaluates reading every field from `root` by its whole path (first segment included,
    /// e.g. `root["event"]["request"]["ip"]`); the runtime passes `{"event": .., "step": ..}`.
    ///
    /// Equivalent to `eval` with `fields()` looked up in `root`, but allocates nothing for any
    /// number of fields, and a field read only in a short-circuited operand is never looked up.
    #[inline]
    pub fn eval_root(&self, root: &serde_json::Value) -> bool {
        match self.native() {
            Some(jit) => jit.eval_root(root),
            None => self.interpreter.eval_root(root),
        }
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("fields", &self.fields)
            .field("jit", &self.is_jit())
            .finish_non_exhaustive()
    }
}
