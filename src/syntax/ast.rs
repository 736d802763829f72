//! The spanned flow AST that both front ends (YAML and the DSL) produce.
//!
//! The AST records what the author wrote and where; it resolves nothing. Block types, block
//! references, conditions and templates stay text here and are interpreted by `graph` and
//! `check`, so that every mistake in them becomes a diagnostic instead of a parse failure.

use crate::span::Span;
use serde::Serialize;

/// A value together with the bytes of the source it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spanned<T> {
    pub value: T,
    #[serde(skip)]
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl Spanned<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// One flow file: a named flow made of ordered stages.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flow {
    pub name: Spanned<String>,
    pub description: Option<Spanned<String>>,
    pub stages: Vec<Stage>,
}

/// A stage: an ordered group of blocks. Stages run in file order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stage {
    pub name: Spanned<String>,
    pub blocks: Vec<Block>,
    #[serde(skip)]
    pub span: Span,
}

/// A block: one step of the flow, of a type from the block catalogue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    /// Unique within the flow; branches and diagnostics name blocks by it.
    pub id: Spanned<String>,
    /// The block type as written (`identity_lookup`, `run_action`, ...).
    pub kind: Spanned<String>,
    /// A guard: the block runs only when this condition holds (for `branch`, when to jump).
    pub when: Option<Condition>,
    /// What the flow does when the block fails (`deny` or `continue`).
    pub on_error: Option<Spanned<String>>,
    /// Type-specific settings, in source order.
    pub config: Vec<ConfigEntry>,
    #[serde(skip)]
    pub span: Span,
}

/// Condition source text. `span` covers exactly the expression text inside the file, so an
/// expression parsed on its own maps back with `Span::offset(span.start)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Condition {
    pub text: String,
    #[serde(skip)]
    pub span: Span,
}

/// `key: value` inside a block's config.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfigEntry {
    pub key: Spanned<String>,
    pub value: ConfigValue,
}

/// A config value: JSON-like scalars and lists. Strings may hold `{{ ... }}` templates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfigValue {
    pub kind: ConfigValueKind,
    /// For strings, exactly the string's content (without quotes) when the source allows it.
    #[serde(skip)]
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ConfigValueKind {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<ConfigValue>),
}

impl ConfigValue {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ConfigValueKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.kind {
            ConfigValueKind::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The value as JSON, for plans and traces.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.kind {
            ConfigValueKind::Null => serde_json::Value::Null,
            ConfigValueKind::Bool(b) => (*b).into(),
            ConfigValueKind::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            ConfigValueKind::String(s) => s.clone().into(),
            ConfigValueKind::List(items) => items.iter().map(ConfigValue::to_json).collect(),
        }
    }
}

impl Block {
    /// The config value under `key`, if the author wrote one.
    pub fn config(&self, key: &str) -> Option<&ConfigValue> {
        self.config
            .iter()
            .find(|e| e.key.value == key)
            .map(|e| &e.value)
    }
}

impl Flow {
    pub fn blocks(&self) -> impl Iterator<Item = (&Stage, &Block)> {
        self.stages
            .iter()
            .flat_map(|s| s.blocks.iter().map(move |b| (s, b)))
    }

    /// The same flow with every span zeroed: two front ends agree when these are equal.
    pub fn without_spans(&self) -> Flow {
        let mut flow = self.clone();
        flow.visit_spans(&mut |s| *s = Span::default());
        flow
    }

    fn visit_spans(&mut self, f: &mut impl FnMut(&mut Span)) {
        f(&mut self.name.span);
        if let Some(d) = &mut self.description {
            f(&mut d.span);
        }
        for stage in &mut self.stages {
            f(&mut stage.span);
            f(&mut stage.name.span);
            for block in &mut stage.blocks {
                f(&mut block.span);
                f(&mut block.id.span);
                f(&mut block.kind.span);
                if let Some(w) = &mut block.when {
                    f(&mut w.span);
                }
                if let Some(o) = &mut block.on_error {
                    f(&mut o.span);
                }
                for entry in &mut block.config {
                    f(&mut entry.key.span);
                    visit_value_spans(&mut entry.value, f);
                }
            }
        }
    }
}

fn visit_value_spans(value: &mut ConfigValue, f: &mut impl FnMut(&mut Span)) {
    f(&mut value.span);
    if let ConfigValueKind::List(items) = &mut value.kind {
        for item in items {
            visit_value_spans(item, f);
        }
    }
}
