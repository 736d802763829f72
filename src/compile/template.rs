//! Config strings with `{{ ... }}` references, as plans store them: text and field paths,
//! resolved once at compile time and filled in at run time without re-parsing.

use crate::check::reads;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A config string with its `{{ ... }}` references resolved to field paths.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Text(String),
    /// A path including its root: `["event", "user", "email"]`.
    Field(Vec<String>),
}

impl Template {
    /// Splits a template into text and field references.
    pub fn parse(raw: &str) -> Template {
        let (found, _) = reads::parse_template(raw, 0);
        let mut parts = Vec::new();
        let mut cursor = 0;
        for part in found {
            if part.outer.start as usize > cursor {
                parts.push(TemplatePart::Text(
                    raw[cursor..part.outer.start as usize].to_string(),
                ));
            }
            parts.push(TemplatePart::Field(
                part.path.iter().map(|s| s.name.clone()).collect(),
            ));
            cursor = part.outer.end as usize;
        }
        if cursor < raw.len() {
            parts.push(TemplatePart::Text(raw[cursor..].to_string()));
        }
        Template { parts }
    }

    /// Fills the template from the run's `{event, step}` object: missing fields render as
    /// empty strings, strings as themselves, other values as JSON.
    pub fn render(&self, ctx: &Value) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                TemplatePart::Field(path) => {
                    let value = path.iter().try_fold(ctx, |v, segment| v.get(segment));
                    match value {
                        Some(Value::String(s)) => out.push_str(s),
                        Some(Value::Null) | None => {}
                        Some(other) => out.push_str(&other.to_string()),
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_text_and_fields() {
        let t = Template::parse("hi {{ event.user.email }}, from {{step.log-user.country}}!");
        assert_eq!(
            t.parts,
            vec![
                TemplatePart::Text("hi ".into()),
                TemplatePart::Field(vec!["event".into(), "user".into(), "email".into()]),
                TemplatePart::Text(", from ".into()),
                TemplatePart::Field(vec!["step".into(), "log-user".into(), "country".into()]),
                TemplatePart::Text("!".into()),
            ]
        );
    }
}
