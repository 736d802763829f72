//! Condition text -> spanned `Expr`, through the pest grammar in grammar/expr.pest.
//!
//! Parsing never panics and never recurses without bound: bracket nesting is measured before
//! pest runs, and the tree depth is limited while the tree is built. This module resolves no
//! names and assigns no types.

use super::ast::{BinaryOp, Expr, ExprKind, FieldPath, Literal, PathSegment};
use super::{ExprError, ExprErrorKind};
use crate::span::Span;
use pest::Parser;
use pest::iterators::Pair;

/// The deepest expression tree a condition may have (operators nested in operators).
pub const MAX_DEPTH: u32 = 64;

/// The deepest nesting of `(` and `[` a condition may have.
pub const MAX_BRACKET_NESTING: u32 = 32;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/expr.pest"]
struct ConditionParser;

/// Parses one condition; spans are byte offsets into `text`.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    check_bracket_nesting(text)?;
    let mut pairs = ConditionParser::parse(Rule::condition, text).map_err(syntax_error)?;
    let Some(condition) = pairs.next() else {
        return Err(internal_shape_error(Span::new(0, text.len())));
    };
    let span = pair_span(&condition);
    let Some(or_expr) = condition.into_inner().next() else {
        return Err(internal_shape_error(span));
    };
    build(or_expr).map(|built| built.expr)
}

/// A node together with the depth of the tree below it, so depth is checked while building.
struct Built {
    expr: Expr,
    depth: u32,
}

fn build(pair: Pair<'_, Rule>) -> Result<Built, ExprError> {
    match pair.as_rule() {
        Rule::or_expr | Rule::and_expr | Rule::eq_expr | Rule::rel_expr => build_binary_chain(pair),
        Rule::unary => build_unary(pair),
        Rule::paren => {
            let span = pair_span(&pair);
            let inner = pair
                .into_inner()
                .next()
                .ok_or_else(|| internal_shape_error(span))?;
            let mut built = build(inner)?;
            // The parentheses belong to the node's extent so a label covers what was written.
            built.expr.span = span;
            Ok(built)
        }
        Rule::list => build_list(pair),
        Rule::string | Rule::number | Rule::boolean | Rule::null => {
            let span = pair_span(&pair);
            Ok(Built {
                expr: Expr {
                    kind: ExprKind::Literal(build_literal(pair)?),
                    span,
                },
                depth: 1,
            })
        }
        Rule::call => build_call(pair),
        Rule::field_path => Ok(Built {
            expr: Expr {
                span: pair_span(&pair),
                kind: ExprKind::Field(build_path(pair)),
            },
            depth: 1,
        }),
        _ => Err(internal_shape_error(pair_span(&pair))),
    }
}

/// Folds `a op b op c` left-associatively, as JavaScript does for every binary level here.
fn build_binary_chain(pair: Pair<'_, Rule>) -> Result<Built, ExprError> {
    let span = pair_span(&pair);
    let mut inner = pair.into_inner();
    let first = inner.next().ok_or_else(|| internal_shape_error(span))?;
    let mut acc = build(first)?;
    while let Some(op_pair) = inner.next() {
        let op_span = pair_span(&op_pair);
        let op = match op_pair.as_str().trim() {
            "||" => BinaryOp::Or,
            "&&" => BinaryOp::And,
            "==" => BinaryOp::Eq,
            "!=" => BinaryOp::Ne,
            "<" => BinaryOp::Lt,
            "<=" => BinaryOp::Le,
            ">" => BinaryOp::Gt,
            ">=" => BinaryOp::Ge,
            "in" => BinaryOp::In,
            _ => return Err(internal_shape_error(op_span)),
        };
        let rhs_pair = inner.next().ok_or_else(|| internal_shape_error(op_span))?;
        let rhs = build(rhs_pair)?;
        let depth = acc.depth.max(rhs.depth) + 1;
        let node_span = acc.expr.span.cover(rhs.expr.span);
        let kind = ExprKind::Binary {
            op,
            op_span,
            lhs: Box::new(acc.expr),
            rhs: Box::new(rhs.expr),
        };
        acc = node(kind, node_span, depth)?;
    }
    Ok(acc)
}

fn build_unary(pair: Pair<'_, Rule>) -> Result<Built, ExprError> {
    let span = pair_span(&pair);
    let mut not_spans = Vec::new();
    let mut operand = None;
    for child in pair.into_inner() {
        if child.as_rule() == Rule::not_op {
            not_spans.push(pair_span(&child));
        } else {
            operand = Some(build(child)?);
        }
    }
    let mut acc = operand.ok_or_else(|| internal_shape_error(span))?;
    // The innermost `!` is the last one written, so wrap from the right.
    for not_span in not_spans.into_iter().rev() {
        let depth = acc.depth + 1;
        let node_span = not_span.cover(acc.expr.span);
        acc = node(ExprKind::Not(Box::new(acc.expr)), node_span, depth)?;
    }
    Ok(acc)
}

fn build_list(pair: Pair<'_, Rule>) -> Result<Built, ExprError> {
    let span = pair_span(&pair);
    let mut items = Vec::new();
    for item in pair.into_inner() {
        let item_span = pair_span(&item);
        items.push((build_literal(item)?, item_span));
    }
    Ok(Built {
        expr: Expr {
            kind: ExprKind::List(items),
            span,
        },
        depth: 1,
    })
}

fn build_call(pair: Pair<'_, Rule>) -> Result<Built, ExprError> {
    let span = pair_span(&pair);
    let mut inner = pair.into_inner();
    let name_pair = inner.next().ok_or_else(|| internal_shape_error(span))?;
    let name_span = pair_span(&name_pair);
    let name = name_pair.as_str().to_owned();
    let mut args = Vec::new();
    let mut depth = 1;
    for arg in inner {
        let built = build(arg)?;
        depth = depth.max(built.depth + 1);
        args.push(built.expr);
    }
    let kind = ExprKind::Call {
        name,
        name_span,
        args,
    };
    node(kind, span, depth)
}

fn build_path(pair: Pair<'_, Rule>) -> FieldPath {
    let span = pair_span(&pair);
    let mut segments: Vec<PathSegment> = Vec::new();
    for child in pair.into_inner() {
        match child.as_rule() {
            Rule::segment => segments.push(PathSegment {
                name: child.as_str().to_owned(),
                span: pair_span(&child),
                optional: false,
            }),
            Rule::chain if child.as_str() == "?." => {
                if let Some(last) = segments.last_mut() {
                    last.optional = true;
                }
            }
            _ => {}
        }
    }
    FieldPath { segments, span }
}

fn build_literal(pair: Pair<'_, Rule>) -> Result<Literal, ExprError> {
    let span = pair_span(&pair);
    match pair.as_rule() {
        Rule::boolean => Ok(Literal::Bool(pair.as_str() == "true")),
        Rule::null => Ok(Literal::Null),
        Rule::number => match pair.as_str().parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Literal::Number(value)),
            _ => Err(ExprError::new(
                ExprErrorKind::Syntax,
                span,
                format!("number `{}` is out of range", pair.as_str()),
                Some("numbers are 64-bit floats; use a value below 1.7e308".to_owned()),
            )),
        },
        Rule::string => {
            let body = pair
                .into_inner()
                .next()
                .ok_or_else(|| internal_shape_error(span))?;
            decode_string(body.as_str(), pair_span(&body).start as usize).map(Literal::String)
        }
        _ => Err(internal_shape_error(span)),
    }
}

/// Decodes the escapes the grammar admits; `base` is the body's offset for error spans.
fn decode_string(body: &str, base: usize) -> Result<String, ExprError> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, 'u')) => {
                let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                let decoded = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                match decoded {
                    Some(ch) => out.push(ch),
                    None => {
                        return Err(ExprError::new(
                            ExprErrorKind::Syntax,
                            Span::new(base + index, base + index + 6),
                            format!("`\\u{hex}` is not a Unicode scalar value"),
                            Some("surrogate halves cannot be written on their own; write the character itself".to_owned()),
                        ));
                    }
                }
            }
            Some((_, other)) => out.push(other),
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// An operator's or a call's node, `depth` levels deep with its operands; refused past
/// `MAX_DEPTH`.
fn node(kind: ExprKind, span: Span, depth: u32) -> Result<Built, ExprError> {
    check_depth(depth, span)?;
    Ok(Built {
        expr: Expr { kind, span },
        depth,
    })
}

fn check_depth(depth: u32, span: Span) -> Result<(), ExprError> {
    if depth > MAX_DEPTH {
        return Err(ExprError::new(
            ExprErrorKind::TooDeep,
            span,
            format!("condition is nested more than {MAX_DEPTH} levels deep"),
            Some(
                "split it into several steps, or use `x in [..]` instead of a long `||` chain"
                    .to_owned(),
            ),
        ));
    }
    Ok(())
}

/// Measures `(`/`[` nesting outside string literals so pest's recursion stays bounded.
fn check_bracket_nesting(text: &str) -> Result<(), ExprError> {
    let mut depth = 0u32;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (index, byte) in text.bytes().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == q {
                quote = None;
            }
            continue;
        }
        match byte {
            b'"' | b'\'' => quote = Some(byte),
            b'(' | b'[' => {
                depth += 1;
                if depth > MAX_BRACKET_NESTING {
                    return Err(ExprError::new(
                        ExprErrorKind::TooDeep,
                        Span::new(index, index + 1),
                        format!("brackets are nested more than {MAX_BRACKET_NESTING} levels deep"),
                        Some("remove redundant parentheses or split the condition into several steps".to_owned()),
                    ));
                }
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn syntax_error(error: pest::error::Error<Rule>) -> ExprError {
    let span = match error.location {
        pest::error::InputLocation::Pos(pos) => Span::new(pos, pos),
        pest::error::InputLocation::Span((start, end)) => Span::new(start, end),
    };
    let renamed = error.renamed_rules(|rule| describe_rule(*rule).to_owned());
    ExprError::new(
        ExprErrorKind::Syntax,
        span,
        format!("invalid condition: {}", renamed.variant.message()),
        Some(
            "conditions look like `event.request.asn.is_tor == true && step.risk.score > 70`"
                .to_owned(),
        ),
    )
}

fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of condition",
        Rule::or_op => "`||`",
        Rule::and_op => "`&&`",
        Rule::eq_op => "`==` or `!=`",
        Rule::rel_op | Rule::in_op => "a comparison (`<`, `<=`, `>`, `>=`, `in`)",
        Rule::not_op => "`!`",
        Rule::string | Rule::string_body | Rule::sq_body | Rule::escape => "a string",
        Rule::number => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::null => "`null`",
        Rule::list => "a list `[..]`",
        Rule::call | Rule::ident => "a function call",
        Rule::field_path | Rule::segment => "a field path",
        Rule::chain => "`.` or `?.`",
        Rule::paren => "`(`",
        _ => "an expression",
    }
}

fn pair_span(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

/// The grammar guarantees every shape this module expects; reaching this means the grammar
/// and the builder disagree, which is reported rather than panicking.
fn internal_shape_error(span: Span) -> ExprError {
    ExprError::new(
        ExprErrorKind::Syntax,
        span,
        "internal error: unexpected parse tree shape".to_owned(),
        Some("please report this condition to the authflow maintainers".to_owned()),
    )
}
