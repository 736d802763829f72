//! The reference evaluator: walks the checked tree over borrowed JSON inputs.
//!
//! The run-time semantics of the language (missing values, equality across types, ordering,
//! functions) are defined here once, in the `semantics` functions; the JIT calls the same
//! functions from its helpers, so the two evaluators cannot drift apart. Nothing here
//! allocates except `lower` on a string that actually changes.

use super::ast::FieldPath;
use super::check::{CheckedExpr, CompareOp, Const, Function, Node};
use serde_json::Value;
use std::borrow::Cow;

/// A run-time value: JSON borrowed from the caller or the condition, or a lowered string.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Val<'a> {
    /// JSON null, or a field that is missing.
    Null,
    Bool(bool),
    Number(f64),
    Str(Cow<'a, str>),
    List(&'a [Value]),
    Object(&'a serde_json::Map<String, Value>),
}

impl<'a> Val<'a> {
    /// Views one input; `None` (missing) and JSON `null` are the same value.
    pub(super) fn from_json(value: Option<&'a Value>) -> Val<'a> {
        match value {
            None | Some(Value::Null) => Val::Null,
            Some(Value::Bool(b)) => Val::Bool(*b),
            Some(Value::Number(n)) => Val::Number(n.as_f64().unwrap_or(f64::NAN)),
            Some(Value::String(s)) => Val::Str(Cow::Borrowed(s)),
            Some(Value::Array(items)) => Val::List(items),
            Some(Value::Object(map)) => Val::Object(map),
        }
    }

    fn from_const(constant: &'a Const) -> Val<'a> {
        match constant {
            Const::Null => Val::Null,
            Const::Bool(b) => Val::Bool(*b),
            Const::Number(n) => Val::Number(*n),
            Const::String(s) => Val::Str(Cow::Borrowed(s)),
            Const::List(list) => Val::from_json(Some(list)),
        }
    }
}

/// The run-time semantics shared by the interpreter and the JIT helpers.
pub(super) mod semantics {
    use super::super::check::CompareOp;
    use super::Val;
    use serde_json::Value;
    use std::borrow::Cow;

    /// In a boolean position only `true` is true; missing, null and non-booleans are false.
    pub(in crate::expr) fn truthy(value: &Val<'_>) -> bool {
        matches!(value, Val::Bool(true))
    }

    /// Strict equality: same run-time type and same value; null equals only null/missing.
    pub(in crate::expr) fn equal(a: &Val<'_>, b: &Val<'_>) -> bool {
        match (a, b) {
            (Val::Null, Val::Null) => true,
            (Val::Bool(x), Val::Bool(y)) => x == y,
            (Val::Number(x), Val::Number(y)) => x == y,
            (Val::Str(x), Val::Str(y)) => x == y,
            (Val::List(x), Val::List(y)) => {
                x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| json_equal(p, q))
            }
            (Val::Object(x), Val::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(key, p)| y.get(key).is_some_and(|q| json_equal(p, q)))
            }
            _ => false,
        }
    }

    /// `equal` on two JSON values (numbers compare as f64, so `1 == 1.0`).
    pub(in crate::expr) fn json_equal(a: &Value, b: &Value) -> bool {
        equal(&Val::from_json(Some(a)), &Val::from_json(Some(b)))
    }

    /// Ordering: two numbers numerically, two strings by code point; anything else is false.
    pub(in crate::expr) fn order(op: CompareOp, a: &Val<'_>, b: &Val<'_>) -> bool {
        let ordering = match (a, b) {
            (Val::Number(x), Val::Number(y)) => x.partial_cmp(y),
            (Val::Str(x), Val::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
            _ => None,
        };
        let Some(ordering) = ordering else {
            return false;
        };
        match op {
            CompareOp::Lt => ordering.is_lt(),
            CompareOp::Le => ordering.is_le(),
            CompareOp::Gt => ordering.is_gt(),
            CompareOp::Ge => ordering.is_ge(),
            CompareOp::Eq => ordering.is_eq(),
            CompareOp::Ne => ordering.is_ne(),
        }
    }

    /// `needle in list`: true when `list` is a list holding an element equal to `needle`.
    pub(in crate::expr) fn member(needle: &Val<'_>, list: &Val<'_>) -> bool {
        match list {
            Val::List(items) => items
                .iter()
                .any(|item| equal(&Val::from_json(Some(item)), needle)),
            _ => false,
        }
    }

    /// `contains(haystack, x)`: substring for two strings, membership for a list, else false.
    pub(in crate::expr) fn contains(haystack: &Val<'_>, needle: &Val<'_>) -> bool {
        match (haystack, needle) {
            (Val::Str(h), Val::Str(n)) => h.contains(n.as_ref()),
            (Val::List(_), _) => member(needle, haystack),
            _ => false,
        }
    }

    /// `starts_with(s, p)`: false unless both are strings.
    pub(in crate::expr) fn starts_with(s: &Val<'_>, prefix: &Val<'_>) -> bool {
        matches!((s, prefix), (Val::Str(s), Val::Str(p)) if s.starts_with(p.as_ref()))
    }

    /// `ends_with(s, p)`: false unless both are strings.
    pub(in crate::expr) fn ends_with(s: &Val<'_>, suffix: &Val<'_>) -> bool {
        matches!((s, suffix), (Val::Str(s), Val::Str(p)) if s.ends_with(p.as_ref()))
    }

    /// `starts_with(lower(s), affix)` (`at_start`) or `ends_with(lower(s), affix)`; false
    /// unless both are strings (`lower` of a non-string is null, which has no affix).
    pub(in crate::expr) fn lower_affix(s: &Val<'_>, affix: &Val<'_>, at_start: bool) -> bool {
        match (s, affix) {
            (Val::Str(s), Val::Str(affix)) => lower_affix_str(s, affix, at_start),
            _ => false,
        }
    }

    /// `lower_affix` on two strings, without building the lowered string when the part of `s`
    /// that can match is ASCII.
    ///
    /// Lower-casing maps every ASCII character to one ASCII character regardless of its
    /// neighbours (only `Σ` is context-sensitive), so when the `affix.len()` bytes at that end
    /// of `s` are ASCII, the lowered string ends there with exactly their ASCII lower case.
    #[inline]
    pub(in crate::expr) fn lower_affix_str(s: &str, affix: &str, at_start: bool) -> bool {
        let (text, wanted) = (s.as_bytes(), affix.as_bytes());
        if text.len() >= wanted.len() {
            let window = if at_start {
                &text[..wanted.len()]
            } else {
                &text[text.len() - wanted.len()..]
            };
            if window.is_ascii() {
                return window
                    .iter()
                    .zip(wanted)
                    .all(|(have, want)| have.to_ascii_lowercase() == *want);
            }
        }
        let lowered = lower_str(Cow::Borrowed(s));
        if at_start {
            lowered.starts_with(affix)
        } else {
            lowered.ends_with(affix)
        }
    }

    /// `lower(s)`: Unicode lower case; borrows when nothing changes; null for non-strings.
    pub(in crate::expr) fn lower<'a>(s: &Val<'a>) -> Val<'a> {
        match s {
            Val::Str(text) => Val::Str(lower_str(text.clone())),
            _ => Val::Null,
        }
    }

    /// Lower-cases without allocating when the text has no upper-case ASCII and is ASCII.
    pub(in crate::expr) fn lower_str(text: Cow<'_, str>) -> Cow<'_, str> {
        if text.is_ascii() {
            if text.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(text.to_ascii_lowercase())
            } else {
                text
            }
        } else {
            let lowered = text.to_lowercase();
            if lowered == text.as_ref() {
                text
            } else {
                Cow::Owned(lowered)
            }
        }
    }

    /// `len(x)`: characters of a string, items of a list, null otherwise.
    pub(in crate::expr) fn len<'a>(x: &Val<'a>) -> Val<'a> {
        match x {
            Val::Str(s) => Val::Number(s.chars().count() as f64),
            Val::List(items) => Val::Number(items.len() as f64),
            _ => Val::Null,
        }
    }
}

/// Where an evaluation reads its inputs: field `index` of `CheckedExpr::fields`.
pub(super) trait Inputs<'a> {
    /// The value of field `index`; None when it is missing.
    fn input(&self, index: usize) -> Option<&'a Value>;
}

impl<'a> Inputs<'a> for [Option<&'a Value>] {
    #[inline]
    fn input(&self, index: usize) -> Option<&'a Value> {
        self.get(index).copied().flatten()
    }
}

/// Inputs looked up in a root object on demand, so short-circuited fields are never read.
pub(super) struct RootInputs<'a, 'p> {
    pub(super) root: &'a Value,
    pub(super) fields: &'p [FieldPath],
}

impl<'a> Inputs<'a> for RootInputs<'a, '_> {
    #[inline]
    fn input(&self, index: usize) -> Option<&'a Value> {
        self.fields.get(index)?.lookup(self.root, 0)
    }
}

/// The tree-walking evaluator; the reference the JIT is tested against.
#[derive(Clone, Debug, PartialEq)]
pub struct Interpreter {
    root: Node,
    fields: Vec<FieldPath>,
}

impl Interpreter {
    /// Prepares `checked` for interpretation.
    pub fn new(checked: &CheckedExpr) -> Interpreter {
        Interpreter {
            root: checked.root.clone(),
            fields: checked.fields().to_vec(),
        }
    }

    /// Evaluates with one input per field in `CheckedExpr::fields` order; absent = missing.
    pub fn eval(&self, inputs: &[Option<&Value>]) -> bool {
        semantics::truthy(&eval_node(&self.root, inputs))
    }

    /// Evaluates reading each field from `root` (whole path, first segment included) when
    /// the evaluation first needs it; a field in a short-circuited operand is never looked up.
    pub fn eval_root(&self, root: &Value) -> bool {
        let inputs = RootInputs {
            root,
            fields: &self.fields,
        };
        semantics::truthy(&eval_node(&self.root, &inputs))
    }

    /// The number of inputs `eval` reads.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }
}

/// Recognises `starts_with(lower(x), affix)` and `ends_with(lower(x), affix)`, returning
/// `(x, affix, at_start)`: both evaluators run these through `semantics::lower_affix`.
pub(super) fn lower_affix_call(function: Function, args: &[Node]) -> Option<(&Node, &Node, bool)> {
    let at_start = match function {
        Function::StartsWith => true,
        Function::EndsWith => false,
        _ => return None,
    };
    match args {
        [Node::Call(Function::Lower, inner), affix] => match inner.as_slice() {
            [text] => Some((text, affix, at_start)),
            _ => None,
        },
        _ => None,
    }
}

/// Evaluates one node; exposed to the JIT so it can fold constant sub-trees the same way.
pub(super) fn eval_node<'a, I: Inputs<'a> + ?Sized>(node: &'a Node, inputs: &I) -> Val<'a> {
    use semantics as s;
    match node {
        Node::Const(constant) => Val::from_const(constant),
        Node::Slot(index) => Val::from_json(inputs.input(*index)),
        Node::Not(operand) => Val::Bool(!s::truthy(&eval_node(operand, inputs))),
        Node::And(a, b) => {
            Val::Bool(s::truthy(&eval_node(a, inputs)) && s::truthy(&eval_node(b, inputs)))
        }
        Node::Or(a, b) => {
            Val::Bool(s::truthy(&eval_node(a, inputs)) || s::truthy(&eval_node(b, inputs)))
        }
        Node::Compare(op, a, b) => {
            let (a, b) = (eval_node(a, inputs), eval_node(b, inputs));
            Val::Bool(match op {
                CompareOp::Eq => s::equal(&a, &b),
                CompareOp::Ne => !s::equal(&a, &b),
                _ => s::order(*op, &a, &b),
            })
        }
        Node::In(needle, list) => Val::Bool(s::member(
            &eval_node(needle, inputs),
            &eval_node(list, inputs),
        )),
        Node::Call(function, args) => {
            if let Some((text, affix, at_start)) = lower_affix_call(*function, args) {
                let (text, affix) = (eval_node(text, inputs), eval_node(affix, inputs));
                return Val::Bool(s::lower_affix(&text, &affix, at_start));
            }
            let mut values = args.iter().map(|arg| eval_node(arg, inputs));
            let first = values.next().unwrap_or(Val::Null);
            let second = values.next().unwrap_or(Val::Null);
            match function {
                Function::StartsWith => Val::Bool(s::starts_with(&first, &second)),
                Function::EndsWith => Val::Bool(s::ends_with(&first, &second)),
                Function::Contains => Val::Bool(s::contains(&first, &second)),
                Function::Lower => s::lower(&first),
                Function::Len => s::len(&first),
            }
        }
    }
}
