//! Type checking of a parsed condition against the field catalogue, and lowering to the
//! small evaluation tree (`Node`) that both the interpreter and the JIT consume.
//!
//! The catalogue is reached only through the `FieldTypes` trait so this module does not
//! depend on where field types come from. Nothing here evaluates a condition.

use super::ast::{BinaryOp, Expr, ExprKind, FieldPath, Literal};
use super::{ExprError, ExprErrorKind};
use crate::span::Span;
use std::fmt;

/// The static type of a field or sub-expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A string.
    String,
    /// A number (f64 at run time).
    Number,
    /// `true` or `false`.
    Bool,
    /// A list whose element type is not known statically.
    List,
    /// An object (only comparable with `null` or dynamic values).
    Object,
    /// The type of the `null` literal.
    Null,
    /// A value whose type is only known at run time (metadata, step outputs).
    Any,
}

impl ValueType {
    /// The noun used for this type in diagnostics, with its article.
    pub fn describe(self) -> &'static str {
        match self {
            ValueType::String => "a string",
            ValueType::Number => "a number",
            ValueType::Bool => "a boolean",
            ValueType::List => "a list",
            ValueType::Object => "an object",
            ValueType::Null => "null",
            ValueType::Any => "a dynamic value",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why the catalogue rejected a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// What is wrong, e.g. "event.request has no field `ipp`".
    pub message: String,
    /// A close valid name for "did you mean" help, if one exists.
    pub suggestion: Option<String>,
    /// The index of the offending segment in the path.
    pub segment: usize,
}

/// The field catalogue as the checker sees it: a type for every readable path.
pub trait FieldTypes {
    /// The type of the field at `path`, or why no such field exists.
    fn field_type(&self, path: &FieldPath) -> Result<ValueType, FieldError>;
}

/// The built-in functions a condition may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `starts_with(s, prefix)` -> bool.
    StartsWith,
    /// `ends_with(s, suffix)` -> bool.
    EndsWith,
    /// `contains(string_or_list, x)` -> bool.
    Contains,
    /// `lower(s)` -> string.
    Lower,
    /// `len(string_or_list)` -> number.
    Len,
}

impl Function {
    const ALL: [Function; 5] = [
        Function::StartsWith,
        Function::EndsWith,
        Function::Contains,
        Function::Lower,
        Function::Len,
    ];

    /// The function's name as written in conditions.
    pub fn name(self) -> &'static str {
        match self {
            Function::StartsWith => "starts_with",
            Function::EndsWith => "ends_with",
            Function::Contains => "contains",
            Function::Lower => "lower",
            Function::Len => "len",
        }
    }

    fn signature(self) -> &'static str {
        match self {
            Function::StartsWith => "starts_with(string, prefix)",
            Function::EndsWith => "ends_with(string, suffix)",
            Function::Contains => "contains(string_or_list, value)",
            Function::Lower => "lower(string)",
            Function::Len => "len(string_or_list)",
        }
    }

    fn arity(self) -> usize {
        match self {
            Function::StartsWith | Function::EndsWith | Function::Contains => 2,
            Function::Lower | Function::Len => 1,
        }
    }
}

/// A constant in the evaluation tree; list constants are JSON so evaluators can borrow them.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Const {
    Null,
    Bool(bool),
    Number(f64),
    String(Box<str>),
    /// Always a `serde_json::Value::Array` of scalars; boxed so its address is stable.
    List(Box<serde_json::Value>),
}

/// Comparison operators in the evaluation tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub(super) fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }
}

/// The evaluation tree: names resolved, fields replaced by input slot indices, spans gone.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Node {
    Const(Const),
    Slot(usize),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(CompareOp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    Call(Function, Vec<Node>),
}

impl Node {
    /// True when the node reads no input, so its value is fixed at compile time.
    pub(super) fn is_constant(&self) -> bool {
        match self {
            Node::Const(_) => true,
            Node::Slot(_) => false,
            Node::Not(a) => a.is_constant(),
            Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) | Node::In(a, b) => {
                a.is_constant() && b.is_constant()
            }
            Node::Call(_, args) => args.iter().all(Node::is_constant),
        }
    }
}

/// A condition that passed type checking, ready to be compiled into a `Condition`.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedExpr {
    pub(super) root: Node,
    fields: Vec<FieldPath>,
    reads: Vec<FieldPath>,
    result_type: ValueType,
}

impl CheckedExpr {
    /// The distinct fields the condition reads, in input-slot order (first occurrence wins).
    pub fn fields(&self) -> &[FieldPath] {
        &self.fields
    }

    /// Every field read as written, in source order, with spans and `?.` marks.
    pub fn reads(&self) -> &[FieldPath] {
        &self.reads
    }

    /// The static type of the whole condition: `Bool` or `Any`.
    pub fn result_type(&self) -> ValueType {
        self.result_type
    }
}

/// Type-checks `expr` against `catalogue`; every error found is returned, not just the first.
pub fn check(expr: &Expr, catalogue: &dyn FieldTypes) -> Result<CheckedExpr, Vec<ExprError>> {
    let mut checker = Checker {
        catalogue,
        errors: Vec::new(),
        fields: Vec::new(),
        reads: Vec::new(),
    };
    let (ty, root) = checker.check(expr);
    if !matches!(ty, ValueType::Bool | ValueType::Any) {
        checker.errors.push(ExprError::new(
            ExprErrorKind::NotBoolean,
            expr.span,
            format!("a condition must be a boolean, but this is {ty}"),
            Some(match ty {
                ValueType::String => {
                    "compare it, e.g. `... == \"value\"` or `... != \"\"`".to_owned()
                }
                ValueType::Number => "compare it, e.g. `... > 70`".to_owned(),
                _ => "compare it with `==`, or test membership with `in [..]`".to_owned(),
            }),
        ));
    }
    if checker.errors.is_empty() {
        Ok(CheckedExpr {
            root,
            fields: checker.fields,
            reads: checker.reads,
            result_type: ty,
        })
    } else {
        Err(checker.errors)
    }
}

struct Checker<'c> {
    catalogue: &'c dyn FieldTypes,
    errors: Vec<ExprError>,
    fields: Vec<FieldPath>,
    reads: Vec<FieldPath>,
}

impl Checker<'_> {
    /// Returns the node's type and lowered form. After an error the type is `Any`, which is
    /// compatible with everything, so one mistake is reported once rather than cascading.
    fn check(&mut self, expr: &Expr) -> (ValueType, Node) {
        match &expr.kind {
            ExprKind::Literal(literal) => {
                (literal_type(literal), Node::Const(literal_const(literal)))
            }
            ExprKind::List(items) => {
                let values = items
                    .iter()
                    .map(|(literal, _)| literal_json(literal))
                    .collect();
                (
                    ValueType::List,
                    Node::Const(Const::List(Box::new(serde_json::Value::Array(values)))),
                )
            }
            ExprKind::Field(path) => self.check_field(path),
            ExprKind::Not(operand) => {
                let (ty, node) = self.check(operand);
                self.expect_bool(ty, operand.span, "`!`");
                (ValueType::Bool, Node::Not(Box::new(node)))
            }
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.check_binary(*op, *op_span, lhs, rhs, expr.span),
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.check_call(name, *name_span, args, expr.span),
        }
    }

    fn check_field(&mut self, path: &FieldPath) -> (ValueType, Node) {
        self.reads.push(path.clone());
        let ty = match self.catalogue.field_type(path) {
            Ok(ty) => ty,
            Err(error) => {
                let span = path
                    .segments
                    .get(error.segment)
                    .map_or(path.span, |segment| segment.span);
                let help = error
                    .suggestion
                    .map(|suggestion| format!("did you mean `{suggestion}`?"));
                self.errors.push(ExprError::new(
                    ExprErrorKind::UnknownField,
                    span,
                    error.message,
                    help,
                ));
                ValueType::Any
            }
        };
        let slot = match self.fields.iter().position(|known| known.same_field(path)) {
            Some(slot) => slot,
            None => {
                self.fields.push(path.clone());
                self.fields.len() - 1
            }
        };
        (ty, Node::Slot(slot))
    }

    fn check_binary(
        &mut self,
        op: BinaryOp,
        op_span: Span,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
    ) -> (ValueType, Node) {
        let (lt, ln) = self.check(lhs);
        let (rt, rn) = self.check(rhs);
        let (l, r) = (Box::new(ln), Box::new(rn));
        let node = match op {
            BinaryOp::Or | BinaryOp::And => {
                let what = format!("`{}`", op.as_str());
                self.expect_bool(lt, lhs.span, &what);
                self.expect_bool(rt, rhs.span, &what);
                if op == BinaryOp::Or {
                    Node::Or(l, r)
                } else {
                    Node::And(l, r)
                }
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                if !equality_compatible(lt, rt) {
                    self.errors.push(ExprError::new(
                        ExprErrorKind::TypeMismatch,
                        span,
                        format!(
                            "`{}` compares {lt} with {rt}, which is never equal",
                            op.as_str()
                        ),
                        Some(format!(
                            "both sides of `{}` must have the same type",
                            op.as_str()
                        )),
                    ));
                }
                Node::Compare(
                    if op == BinaryOp::Eq {
                        CompareOp::Eq
                    } else {
                        CompareOp::Ne
                    },
                    l,
                    r,
                )
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let orderable =
                    |ty| matches!(ty, ValueType::Number | ValueType::String | ValueType::Any);
                let same = lt == rt || lt == ValueType::Any || rt == ValueType::Any;
                if !orderable(lt) || !orderable(rt) || !same {
                    let message = if !orderable(lt) || !orderable(rt) {
                        let bad = if orderable(lt) { rt } else { lt };
                        format!("`{}` cannot order {bad}", op.as_str())
                    } else {
                        format!("`{}` compares {lt} with {rt}", op.as_str())
                    };
                    self.errors.push(ExprError::new(
                        ExprErrorKind::TypeMismatch,
                        op_span.cover(span),
                        message,
                        Some(format!(
                            "`{}` orders two numbers or two strings",
                            op.as_str()
                        )),
                    ));
                }
                let cmp = match op {
                    BinaryOp::Lt => CompareOp::Lt,
                    BinaryOp::Le => CompareOp::Le,
                    BinaryOp::Gt => CompareOp::Gt,
                    _ => CompareOp::Ge,
                };
                Node::Compare(cmp, l, r)
            }
            BinaryOp::In => {
                if !matches!(rt, ValueType::List | ValueType::Any) {
                    self.errors.push(ExprError::new(
                        ExprErrorKind::TypeMismatch,
                        rhs.span,
                        format!("the right side of `in` must be a list, but this is {rt}"),
                        Some("write a list literal such as `[\"US\", \"CA\"]`; for substrings use `contains(s, x)`".to_owned()),
                    ));
                }
                if let ExprKind::List(items) = &rhs.kind {
                    for (literal, item_span) in items {
                        let item_ty = literal_type(literal);
                        if !equality_compatible(lt, item_ty) {
                            self.errors.push(ExprError::new(
                                ExprErrorKind::TypeMismatch,
                                *item_span,
                                format!("this list item is {item_ty}, but the value tested with `in` is {lt}"),
                                Some("every list item must have the type of the left side of `in`".to_owned()),
                            ));
                        }
                    }
                }
                Node::In(l, r)
            }
        };
        (ValueType::Bool, node)
    }

    fn check_call(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[Expr],
        span: Span,
    ) -> (ValueType, Node) {
        let checked: Vec<(ValueType, Node)> = args.iter().map(|arg| self.check(arg)).collect();
        let Some(function) = Function::ALL.iter().copied().find(|f| f.name() == name) else {
            let suggestion = crate::catalog::closest(name, Function::ALL.iter().map(|f| f.name()));
            self.errors.push(ExprError::new(
                ExprErrorKind::UnknownFunction,
                name_span,
                format!("unknown function `{name}`"),
                Some(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "available functions: starts_with, ends_with, contains, lower, len"
                        .to_owned(),
                }),
            ));
            return (ValueType::Any, Node::Const(Const::Null));
        };
        if args.len() != function.arity() {
            self.errors.push(ExprError::new(
                ExprErrorKind::Arity,
                span,
                format!(
                    "`{name}` takes {} argument{}, but {} were given",
                    function.arity(),
                    if function.arity() == 1 { "" } else { "s" },
                    args.len()
                ),
                Some(format!("call it as `{}`", function.signature())),
            ));
            return (ValueType::Any, Node::Const(Const::Null));
        }
        let types: Vec<ValueType> = checked.iter().map(|(ty, _)| *ty).collect();
        let is =
            |ty: ValueType, allowed: &[ValueType]| ty == ValueType::Any || allowed.contains(&ty);
        let result = match function {
            Function::StartsWith | Function::EndsWith => {
                for (index, ty) in types.iter().enumerate() {
                    if !is(*ty, &[ValueType::String]) {
                        self.argument_error(function, &args[index], *ty, "a string");
                    }
                }
                ValueType::Bool
            }
            Function::Contains => {
                if !is(types[0], &[ValueType::String, ValueType::List]) {
                    self.argument_error(function, &args[0], types[0], "a string or a list");
                } else if types[0] == ValueType::String && !is(types[1], &[ValueType::String]) {
                    self.argument_error(
                        function,
                        &args[1],
                        types[1],
                        "a string (the first argument is a string)",
                    );
                }
                ValueType::Bool
            }
            Function::Lower => {
                if !is(types[0], &[ValueType::String]) {
                    self.argument_error(function, &args[0], types[0], "a string");
                }
                ValueType::String
            }
            Function::Len => {
                if !is(types[0], &[ValueType::String, ValueType::List]) {
                    self.argument_error(function, &args[0], types[0], "a string or a list");
                }
                ValueType::Number
            }
        };
        (
            result,
            Node::Call(
                function,
                checked.into_iter().map(|(_, node)| node).collect(),
            ),
        )
    }

    fn argument_error(&mut self, function: Function, arg: &Expr, found: ValueType, expected: &str) {
        self.errors.push(ExprError::new(
            ExprErrorKind::TypeMismatch,
            arg.span,
            format!(
                "`{}` expects {expected} here, but this is {found}",
                function.name()
            ),
            Some(format!("call it as `{}`", function.signature())),
        ));
    }

    fn expect_bool(&mut self, ty: ValueType, span: Span, what: &str) {
        if !matches!(ty, ValueType::Bool | ValueType::Any) {
            self.errors.push(ExprError::new(
                ExprErrorKind::TypeMismatch,
                span,
                format!("{what} needs a boolean operand, but this is {ty}"),
                Some(match ty {
                    ValueType::String => "compare the string first, e.g. `x != \"\"`".to_owned(),
                    ValueType::Number => "compare the number first, e.g. `x > 0`".to_owned(),
                    _ => "compare the value first, e.g. `x != null`".to_owned(),
                }),
            ));
        }
    }
}

/// `==` is allowed between equal types, and when either side is dynamic or `null`.
fn equality_compatible(a: ValueType, b: ValueType) -> bool {
    a == b
        || matches!(a, ValueType::Any | ValueType::Null)
        || matches!(b, ValueType::Any | ValueType::Null)
}

fn literal_type(literal: &Literal) -> ValueType {
    match literal {
        Literal::String(_) => ValueType::String,
        Literal::Number(_) => ValueType::Number,
        Literal::Bool(_) => ValueType::Bool,
        Literal::Null => ValueType::Null,
    }
}

fn literal_const(literal: &Literal) -> Const {
    match literal {
        Literal::String(s) => Const::String(s.as_str().into()),
        Literal::Number(n) => Const::Number(*n),
        Literal::Bool(b) => Const::Bool(*b),
        Literal::Null => Const::Null,
    }
}

fn literal_json(literal: &Literal) -> serde_json::Value {
    match literal {
        Literal::String(s) => serde_json::Value::String(s.clone()),
        // Literals are finite by construction; a non-finite one could only become null.
        Literal::Number(n) => serde_json::Number::from_f64(*n)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Literal::Bool(b) => serde_json::Value::Bool(*b),
        Literal::Null => serde_json::Value::Null,
    }
}
