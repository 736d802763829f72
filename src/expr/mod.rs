//! The condition language: parse (`parse`), type check against the field catalogue
//! (`check`), and evaluate over JSON inputs with a cranelift JIT (`Condition`) or the
//! reference tree-walking `Interpreter`.
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

/// A checked condition ready to run: JIT-compiled when possible, interpreted otherwise.
pub struct Condition {
    // Declared before `interpreter` so the machine code is released before the constants it
    // points into; nothing runs during drop, so this order is belt and braces.
    jit: Option<jit::JitCondition>,
    interpreter: Interpreter,
    fields: Vec<FieldPath>,
}

impl Condition {
    /// Compiles `checked` with the JIT, falling back to the interpreter if that fails.
    pub fn compile(checked: &CheckedExpr) -> Condition {
        let jit = jit::JitCondition::compile(checked).ok();
        Condition {
            jit,
            interpreter: Interpreter::new(checked),
            fields: checked.fields().to_vec(),
        }
    }

    /// A condition that always uses the interpreter (for tests and comparison).
    pub fn interpreted(checked: &CheckedExpr) -> Condition {
        Condition {
            jit: None,
            interpreter: Interpreter::new(checked),
            fields: checked.fields().to_vec(),
        }
    }

    /// Parses, checks and compiles `text` in one step.
    pub fn from_source(
        text: &str,
        catalogue: &dyn FieldTypes,
    ) -> Result<Condition, Vec<ExprError>> {
        let expr = parse(text).map_err(|error| vec![error])?;
        let checked = check(&expr, catalogue)?;
        Ok(Condition::compile(&checked))
    }

    /// The JIT error message if compiling `checked` fails (diagnostics for the fallback).
    pub fn jit_error(checked: &CheckedExpr) -> Option<String> {
        jit::JitCondition::compile(checked).err()
    }

    /// The fields to pass to `eval`, in order; each is read once however often it appears.
    pub fn fields(&self) -> &[FieldPath] {
        &self.fields
    }

    /// True when evaluation runs native code rather than the interpreter.
    pub fn is_jit(&self) -> bool {
        self.jit.is_some()
    }

    /// Evaluates with `inputs[i]` the value of `fields()[i]` (None or too short = missing).
    ///
    /// Allocates nothing for up to 16 fields; `eval_root` never allocates.
    #[inline]
    pub fn eval(&self, inputs: &[Option<&serde_json::Value>]) -> bool {
        match &self.jit {
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
        match &self.jit {
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
