//! A YAML document as a tree of spanned nodes: every scalar, sequence and mapping knows the
//! byte range it occupies in its file, so diagnostics about workspace metadata and test files
//! point at the exact text, and `authflow test --update` can splice new expectation values in
//! place without touching anything else.
//!
//! serde-saphyr reports where a node starts; this module adds where it ends (the scalar's own
//! length, the matching bracket of a flow collection, the last child of a block collection).
//! It does not interpret the document: its readers (`suite::format`, `workspace`) give nodes
//! their meaning.

use crate::diagnostic::{Diagnostic, FileId};
use crate::span::Span;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned as Y;

/// One node of the document.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The bytes the node occupies: a scalar's text (quotes included), a flow collection from
    /// its bracket to the matching one, a block collection from its first to its last child.
    pub span: Span,
    pub value: NodeValue,
    /// The node was merged from several layers (defaults, test, row): it has no single place
    /// in the file, so `--update` never rewrites it whole.
    pub merged: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    /// The kind of the node, for messages ("expected a string, found a mapping").
    pub fn kind(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.value {
            NodeValue::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_map(&self) -> &[(Key, Node)] {
        match &self.value {
            NodeValue::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, node)| node)
    }

    /// The entry (key and value) under `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.as_map()
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// The node as JSON (mapping keys in document order).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// Where `path` stands in the document: each segment names a mapping key, a sequence's
    /// scalar item equal to it, or (last) the scalar value itself. The span is that of the
    /// last key, item or value matched; `None` when the document does not hold the path.
    pub fn span_at(&self, source: &str, path: &[&str]) -> Option<Span> {
        let (first, rest) = path.split_first()?;
        let (span, next) = match &self.value {
            NodeValue::Map(entries) => entries
                .iter()
                .find(|(key, _)| key.name == *first)
                .map(|(key, node)| (key.span, node))?,
            NodeValue::Seq(items) => items
                .iter()
                .find(|item| item.scalar_text().as_deref() == Some(*first))
                .map(|item| (item.text_span(source), item))?,
            _ => {
                return (rest.is_empty() && self.scalar_text().as_deref() == Some(*first))
                    .then_some(self.text_span(source));
            }
        };
        if rest.is_empty() {
            Some(span)
        } else {
            next.span_at(source, rest)
        }
    }

    /// The span of a scalar's text: inside the quotes of a quoted scalar, as diagnostics
    /// about values point (the whole node for anything else).
    pub fn text_span(&self, source: &str) -> Span {
        let quoted = matches!(
            source.as_bytes().get(self.span.start as usize),
            Some(b'"' | b'\'')
        );
        if quoted && self.span.end >= self.span.start + 2 {
            Span::new(self.span.start as usize + 1, self.span.end as usize - 1)
        } else {
            self.span
        }
    }

    /// A scalar as the text it stands for (`true`, `3`, `name`); none for a collection.
    fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::Null => Some("null".into()),
            NodeValue::Bool(b) => Some(b.to_string()),
            NodeValue::Int(i) => Some(i.to_string()),
            NodeValue::Float(f) => Some(f.to_string()),
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Seq(_) | NodeValue::Map(_) => None,
        }
    }

    /// The node at a dotted JSON path below this one (`request.geo.country`), as deep as the
    /// document goes: the deepest node on the way, so a diagnostic can point somewhere useful.
    pub fn deepest(&self, path: &[&str]) -> &Node {
        let mut node = self;
        for segment in path {
            match node.get(segment) {
                Some(next) => node = next,
                None => break,
            }
        }
        node
    }
}

/// Parses a YAML document into a spanned tree; malformed YAML is a diagnostic.
pub fn parse(source: &str, file: FileId) -> Result<Node, Vec<Diagnostic>> {
    let raw: Y<Raw> = crate::syntax::yaml::from_str(source, file)?;
    Ok(lower(source, raw))
}

/// What serde-saphyr hands over: values whose children carry start locations. The flow
/// reader (`syntax::yaml`) reads block config values as these too.
pub(crate) enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Y<Raw>>),
    Map(Vec<(Y<String>, Y<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
                Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Y<Raw>>()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Y<String>>()? {
                    let value = map.next_value::<Y<Raw>>()?;
                    entries.push((key, value));
                }
                Ok(Raw::Map(entries))
            }
        }
        deserializer.deserialize_any(RawVisitor)
    }
}

fn start_of(source: &str, raw: &serde_saphyr::Location) -> Span {
    crate::syntax::yaml::location_span(source, raw)
}

fn lower(source: &str, raw: Y<Raw>) -> Node {
    let start = start_of(source, &raw.referenced);
    let value = match raw.value {
        Raw::Null => NodeValue::Null,
        Raw::Bool(b) => NodeValue::Bool(b),
        Raw::Int(i) => NodeValue::Int(i),
        Raw::Float(f) => NodeValue::Float(f),
        Raw::Str(s) => NodeValue::Str(s),
        Raw::Seq(items) => NodeValue::Seq(items.into_iter().map(|i| lower(source, i)).collect()),
        Raw::Map(entries) => NodeValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = Key {
                        span: start_of(source, &k.referenced),
                        name: k.value,
                    };
                    (key, lower(source, v))
                })
                .collect(),
        ),
    };
    let span = match &value {
        NodeValue::Seq(_) | NodeValue::Map(_) => container_span(source, start, &value),
        _ => scalar_span(source, start),
    };
    Node {
        span,
        value,
        merged: false,
    }
}

/// A scalar's span as serde-saphyr gives it, or, when it gives only a position, the plain
/// scalar's text up to the end of the line or a comment.
fn scalar_span(source: &str, start: Span) -> Span {
    if start.end > start.start {
        return start;
    }
    let from = start.start as usize;
    let rest = source.get(from..).unwrap_or("");
    let line = rest.split('\n').next().unwrap_or("");
    let end = line.find(" #").unwrap_or(line.len());
    Span::new(from, from + line[..end].trim_end().len())
}

fn container_span(source: &str, start: Span, value: &NodeValue) -> Span {
    let from = start.start as usize;
    let opener = source.as_bytes().get(from).copied();
    if let Some(open @ (b'[' | b'{')) = opener
        && let Some(end) = matching_bracket(source, from, open)
    {
        return Span::new(from, end + 1);
    }
    let last_end = match value {
        NodeValue::Seq(items) => items.last().map(|n| n.span.end),
        NodeValue::Map(entries) => entries.last().map(|(_, n)| n.span.end),
        _ => None,
    };
    Span::new(from, last_end.map_or(from, |e| e as usize).max(from))
}

/// The byte offset of the bracket closing the flow collection opened at `from`, skipping
/// quoted strings.
fn matching_bracket(source: &str, from: usize, open: u8) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if q == b'"' && b == b'\\' {
                    i += 1;
                } else if b == q {
                    if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return (bytes[from] == open).then_some(i);
                    }
                }
                b'#' if i > 0 && matches!(bytes[i - 1], b' ' | b'\t') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>(source: &'a str, node: &Node) -> &'a str {
        &source[node.span.start as usize..node.span.end as usize]
    }

    #[test]
    fn nodes_know_their_extent() {
        let source = "name: hello # c\nexpect:\n  a: [x, \"y]\"]\n  b:\n    - z\n    - {k: 1}   # end\nq: 'it''s'\n";
        let root = parse(source, FileId(0)).unwrap();
        assert_eq!(text(source, root.get("name").unwrap()), "hello");
        let expect = root.get("expect").unwrap();
        assert_eq!(text(source, expect.get("a").unwrap()), "[x, \"y]\"]");
        assert_eq!(text(source, expect.get("b").unwrap()), "- z\n    - {k: 1}");
        assert!(text(source, expect).starts_with("a: [x"));
        assert!(text(source, expect).ends_with("{k: 1}"));
        assert_eq!(text(source, root.get("q").unwrap()), "'it''s'");
        assert_eq!(root.get("q").unwrap().as_str(), Some("it's"));
    }

    #[test]
    fn malformed_yaml_is_a_diagnostic() {
        let errors = parse("a: [1, 2\nb: c\n", FileId(0)).unwrap_err();
        assert_eq!(errors.len(), 1);
    }
}
