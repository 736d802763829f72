//! The spanned syntax tree of one condition, exactly as written.
//!
//! This module only describes what the parser saw; it resolves no names and assigns no types
//! (that is `check`), and it never evaluates anything.

use crate::span::Span;
use std::fmt;

/// One parsed condition expression with its span (byte offsets into the expression text).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind of expression this is.
    pub kind: ExprKind,
    /// The bytes of the expression text this node covers.
    pub span: Span,
}

/// The shapes a condition expression can take.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A string, number, boolean or null literal.
    Literal(Literal),
    /// A list literal `[..]`; its items are literals with their own spans.
    List(Vec<(Literal, Span)>),
    /// A field read such as `event.request.ip`.
    Field(FieldPath),
    /// Logical negation `!operand`.
    Not(Box<Expr>),
    /// A binary operator application.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The span of the operator token alone.
        op_span: Span,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// A function call such as `starts_with(s, "x")`; the name is resolved by `check`.
    Call {
        /// The function name as written.
        name: String,
        /// The span of the name alone.
        name_span: Span,
        /// The arguments in order.
        args: Vec<Expr>,
    },
}

/// A literal value written in the condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A string literal with escapes already decoded.
    String(String),
    /// A number literal; always finite.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// The binary operators, loosest-binding first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
}

impl BinaryOp {
    /// The operator as written in source.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
        }
    }
}

/// A dotted field path such as `event.user?.app_metadata.tier`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// The segments in order; never empty for a parsed path.
    pub segments: Vec<PathSegment>,
    /// The span of the whole path.
    pub span: Span,
}

/// One segment of a field path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathSegment {
    /// The segment name, e.g. `user` or `log-user`.
    pub name: String,
    /// The span of the name.
    pub span: Span,
    /// True when the segment is followed by `?.`: the author expects it may be absent.
    pub optional: bool,
}

impl FieldPath {
    /// Builds a path from dotted text without spans or optional marks (for catalogues/tests).
    pub fn from_dotted(text: &str) -> FieldPath {
        let segments = text
            .split('.')
            .map(|name| PathSegment {
                name: name.to_owned(),
                span: Span::default(),
                optional: false,
            })
            .collect();
        FieldPath {
            segments,
            span: Span::default(),
        }
    }

    /// The segment names in order, e.g. `["event", "request", "ip"]`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|segment| segment.name.as_str())
    }

    /// True when both paths name the same field, ignoring spans and `?.` marks.
    pub fn same_field(&self, other: &FieldPath) -> bool {
        self.names().eq(other.names())
    }

    /// Walks `root` along the segments after the first `skip` ones; None when any is absent.
    ///
    /// The runtime calls this with `skip = 1` on the event object for `event.*` paths and with
    /// `skip = 2` on a step's outputs for `step.<slug>.*` paths.
    pub fn lookup<'v>(
        &self,
        root: &'v serde_json::Value,
        skip: usize,
    ) -> Option<&'v serde_json::Value> {
        let mut current = root;
        for segment in self.segments.iter().skip(skip) {
            current = current.as_object()?.get(&segment.name)?;
        }
        Some(current)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, segment) in self.segments.iter().enumerate() {
            if index > 0 {
                f.write_str(if self.segments[index - 1].optional {
                    "?."
                } else {
                    "."
                })?;
            }
            f.write_str(&segment.name)?;
        }
        Ok(())
    }
}

impl Expr {
    /// Every field path this expression reads, in source order, with spans and `?.` marks.
    pub fn field_paths(&self) -> Vec<&FieldPath> {
        let mut paths = Vec::new();
        collect_paths(self, &mut paths);
        paths
    }
}

fn collect_paths<'e>(expr: &'e Expr, paths: &mut Vec<&'e FieldPath>) {
    match &expr.kind {
        ExprKind::Literal(_) | ExprKind::List(_) => {}
        ExprKind::Field(path) => paths.push(path),
        ExprKind::Not(operand) => collect_paths(operand, paths),
        ExprKind::Binary { lhs, rhs, .. } => {
            collect_paths(lhs, paths);
            collect_paths(rhs, paths);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|arg| collect_paths(arg, paths)),
    }
}
