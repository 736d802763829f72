//! The YAML front end: a flow file in YAML -> the spanned AST.
//!
//! serde-saphyr reads the document into `Raw*` mirror types whose every node is `Spanned`,
//! then `lower` turns them into `ast` with byte spans. Malformed YAML, unknown keys and
//! wrongly typed values come back as diagnostics; nothing here panics.

use super::ast::{
    Block, Condition, ConfigEntry, ConfigValue, ConfigValueKind, Flow, Spanned, Stage,
};
use super::tree::Raw;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned as Y;

/// Parses a YAML flow file.
pub fn parse(source: &str, file: FileId) -> Result<Flow, Vec<Diagnostic>> {
    let raw: RawFlow = from_str(source, file)?;
    if let Some(at) = first_mapping(&raw) {
        return Err(vec![
            Diagnostic::new(
                Code::YamlSyntax,
                file,
                location_span(source, at),
                "config values cannot be mappings; use a list or a string",
            )
            .help("fix the YAML syntax at this position"),
        ]);
    }
    let lower = Lower { source };
    Ok(lower.flow(raw))
}

/// Deserializes any YAML document with spans, mapping errors to diagnostics. The other YAML
/// files of a workspace (authflow.yaml, action metadata) go through here too.
pub fn from_str<'de, T: Deserialize<'de>>(
    source: &'de str,
    file: FileId,
) -> Result<T, Vec<Diagnostic>> {
    // Booleans are YAML 1.2's `true` / `false` only, as the JSON Schema reads them: YAML 1.1's
    // `yes`, `on`, `y` (quoted or not) would pass the loader and fail the schema.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
        },
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options(source, options)
        .map_err(|error| vec![error_to_diagnostic(source, file, &error)])
}

fn error_to_diagnostic(source: &str, file: FileId, error: &serde_saphyr::Error) -> Diagnostic {
    let error = error.without_snippet();
    let span = error
        .location()
        .map(|l| location_span(source, &l))
        .unwrap_or_default();
    let text = first_line(&error.to_string());
    match error {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let mut d = Diagnostic::new(
                Code::UnknownKey,
                file,
                span,
                format!("unknown key `{field}`"),
            )
            .label("not a key here");
            d = match crate::catalog::closest(field, expected.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "the keys allowed here are: {}",
                    expected.join(", ")
                )),
            };
            d
        }
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => {
            let key = key.as_deref().unwrap_or("this key");
            Diagnostic::new(
                Code::YamlSyntax,
                file,
                span,
                format!("`{key}` appears twice in this mapping"),
            )
            .label("second occurrence")
            .help("keep one of the two entries")
        }
        serde_saphyr::Error::SerdeMissingField { field, .. } => Diagnostic::new(
            Code::InvalidValue,
            file,
            span,
            format!("missing required key `{field}`"),
        )
        .help(format!("add `{field}:` to this mapping")),
        serde_saphyr::Error::InvalidBooleanStrict { .. } => Diagnostic::new(
            Code::InvalidValue,
            file,
            span,
            "expected `true` or `false`",
        )
        .label("not a boolean")
        .help("write `true` or `false`: YAML 1.1 spellings such as `yes` or `on` are strings to the JSON Schema"),
        serde_saphyr::Error::SerdeInvalidType { .. }
        | serde_saphyr::Error::SerdeInvalidValue { .. } => {
            Diagnostic::new(Code::InvalidValue, file, span, text)
                .help("see `authflow schema` for the expected shape")
        }
        _ => Diagnostic::new(Code::YamlSyntax, file, span, text)
            .help("fix the YAML syntax at this position"),
    }
}

/// The message without a trailing location sentence that serde-saphyr may append.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or(text);
    match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}

/// Byte span of a serde-saphyr location, clamped to the source.
pub fn location_span(source: &str, location: &serde_saphyr::Location) -> Span {
    let span = location.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(start), len) => {
            let start = (start as usize).min(source.len());
            let end = (start + len.unwrap_or(0) as usize).min(source.len());
            Span::new(start, end)
        }
        (None, _) => line_column_span(source, location.line(), location.column()),
    }
}

fn line_column_span(source: &str, line: u64, column: u64) -> Span {
    let mut offset = 0;
    for (i, text) in source.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let col = text
                .char_indices()
                .nth(column.saturating_sub(1) as usize)
                .map_or(text.len(), |(b, _)| b);
            return Span::new(offset + col, offset + col);
        }
        offset += text.len();
    }
    Span::new(source.len(), source.len())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    flow: Y<String>,
    #[serde(default)]
    description: Option<Y<String>>,
    stages: Vec<Y<RawStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    name: Y<String>,
    #[serde(default)]
    blocks: Vec<Y<RawBlock>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock {
    id: Y<String>,
    #[serde(rename = "type")]
    kind: Y<String>,
    #[serde(default)]
    when: Option<Y<String>>,
    #[serde(default)]
    on_error: Option<Y<String>>,
    #[serde(default)]
    config: Option<RawConfig>,
}

/// A config mapping, kept in source order with spanned keys.
struct RawConfig(Vec<(Y<String>, Y<Raw>)>);

impl<'de> Deserialize<'de> for RawConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawConfig, D::Error> {
        struct ConfigVisitor;
        impl<'de> Visitor<'de> for ConfigVisitor {
            type Value = RawConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of config keys to values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawConfig, E> {
                Ok(RawConfig(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawConfig, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Y<String>>()? {
                    let value = map.next_value::<Y<Raw>>()?;
                    entries.push((key, value));
                }
                Ok(RawConfig(entries))
            }
        }
        deserializer.deserialize_map(ConfigVisitor)
    }
}

/// Where the first block config value that is a mapping (at any depth of a list) starts.
fn first_mapping(raw: &RawFlow) -> Option<&serde_saphyr::Location> {
    fn within(value: &Y<Raw>) -> Option<&serde_saphyr::Location> {
        match &value.value {
            Raw::Map(_) => Some(&value.referenced),
            Raw::Seq(items) => items.iter().find_map(within),
            _ => None,
        }
    }
    raw.stages
        .iter()
        .flat_map(|stage| &stage.value.blocks)
        .filter_map(|block| block.value.config.as_ref())
        .flat_map(|config| &config.0)
        .find_map(|(_, value)| within(value))
}

struct Lower<'s> {
    source: &'s str,
}

impl Lower<'_> {
    fn flow(&self, raw: RawFlow) -> Flow {
        Flow {
            name: self.string(raw.flow),
            description: raw.description.map(|d| self.string(d)),
            stages: raw.stages.into_iter().map(|s| self.stage(s)).collect(),
        }
    }

    fn stage(&self, raw: Y<RawStage>) -> Stage {
        let start = self.start(&raw.referenced);
        let Y { value, .. } = raw;
        let name = self.string(value.name);
        let blocks: Vec<Block> = value.blocks.into_iter().map(|b| self.block(b)).collect();
        let end = blocks
            .last()
            .map_or(name.span.end as usize, |b| b.span.end as usize);
        Stage {
            span: Span::new(start.min(name.span.start as usize), end),
            name,
            blocks,
        }
    }

    fn block(&self, raw: Y<RawBlock>) -> Block {
        let start = self.start(&raw.referenced);
        let Y { value, .. } = raw;
        let id = self.string(value.id);
        let kind = self.string(value.kind);
        let when = value.when.map(|w| {
            let text = self.string(w);
            Condition {
                text: text.value,
                span: text.span,
            }
        });
        let on_error = value.on_error.map(|o| self.string(o));
        let config: Vec<ConfigEntry> = value
            .config
            .map(|c| c.0)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| ConfigEntry {
                key: self.string(k),
                value: self.value(v),
            })
            .collect();
        let mut end = id.span.end.max(kind.span.end);
        end = end
            .max(when.as_ref().map_or(0, |w| w.span.end))
            .max(on_error.as_ref().map_or(0, |o| o.span.end));
        end = end.max(config.last().map_or(0, |e| e.value.span.end));
        let start = start
            .min(id.span.start as usize)
            .min(kind.span.start as usize);
        Block {
            span: Span::new(start, end as usize),
            id,
            kind,
            when,
            on_error,
            config,
        }
    }

    fn value(&self, raw: Y<Raw>) -> ConfigValue {
        let span = location_span(self.source, &raw.referenced);
        let kind = match raw.value {
            // `parse` refused mappings before lowering.
            Raw::Null | Raw::Map(_) => ConfigValueKind::Null,
            Raw::Bool(b) => ConfigValueKind::Bool(b),
            Raw::Int(n) => ConfigValueKind::Number(n as f64),
            Raw::Float(n) => ConfigValueKind::Number(n),
            Raw::Str(s) => {
                let span = self.content_span(span, &s);
                return ConfigValue {
                    kind: ConfigValueKind::String(s),
                    span,
                };
            }
            Raw::Seq(items) => {
                ConfigValueKind::List(items.into_iter().map(|i| self.value(i)).collect())
            }
        };
        ConfigValue { kind, span }
    }

    fn string(&self, raw: Y<String>) -> Spanned<String> {
        let span = location_span(self.source, &raw.referenced);
        let span = self.content_span(span, &raw.value);
        Spanned::new(raw.value, span)
    }

    fn start(&self, location: &serde_saphyr::Location) -> usize {
        location_span(self.source, location).start as usize
    }

    /// The bytes holding the string's content: inside quotes, or where the content appears
    /// verbatim within the scalar (block scalars), else the whole scalar.
    fn content_span(&self, scalar: Span, value: &str) -> Span {
        let Some(text) = self.source.get(scalar.range()) else {
            return scalar;
        };
        if text == value {
            return scalar;
        }
        if let Some(i) = text.find(value).filter(|_| !value.is_empty()) {
            return Span::new(
                scalar.start as usize + i,
                scalar.start as usize + i + value.len(),
            );
        }
        let quoted = text.len() >= 2 && (text.starts_with('"') || text.starts_with('\''));
        if quoted {
            return Span::new(scalar.start as usize + 1, scalar.end as usize - 1);
        }
        if scalar.is_empty() {
            // Some scalars report only their start: extend over the plain text on that line.
            let rest = &self.source[scalar.start as usize..];
            if rest.starts_with(value) {
                return Span::new(scalar.start as usize, scalar.start as usize + value.len());
            }
        }
        scalar
    }
}
