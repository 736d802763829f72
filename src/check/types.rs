//! The field catalogue as the expression type checker sees it: `event.*` from the event
//! catalogue, `step.<slug>.<key>` as dynamic values of the actions the flow runs.

use crate::catalog::event::{self, FieldLookup, FieldType};
use crate::expr::{FieldError, FieldPath, FieldTypes, ValueType};

pub struct CatalogTypes<'a> {
    /// Slugs of the actions the flow runs: the only valid `step.<slug>`.
    pub step_slugs: &'a [String],
}

impl FieldTypes for CatalogTypes<'_> {
    fn field_type(&self, path: &FieldPath) -> Result<ValueType, FieldError> {
        let names: Vec<&str> = path.names().collect();
        match names.first().copied() {
            Some("event") => event_type(&names),
            Some("step") => self.step_type(&names),
            _ => Err(FieldError {
                message: format!(
                    "`{}` is not a field: paths start with `event.` or `step.`",
                    names.join(".")
                ),
                suggestion: None,
                segment: 0,
            }),
        }
    }
}

fn event_type(names: &[&str]) -> Result<ValueType, FieldError> {
    if names.len() < 2 {
        return Err(FieldError {
            message: "`event` itself is not a value: name one of its fields".into(),
            suggestion: None,
            segment: 0,
        });
    }
    match event::lookup(&names[1..]) {
        FieldLookup::Field(f) => Ok(match f.ty {
            FieldType::String => ValueType::String,
            FieldType::Number => ValueType::Number,
            FieldType::Boolean => ValueType::Bool,
            FieldType::List => ValueType::List,
            FieldType::Record | FieldType::Group => ValueType::Object,
        }),
        FieldLookup::Dynamic(_) => Ok(ValueType::Any),
        FieldLookup::Unknown => Err(unknown_event_field(names)),
    }
}

/// The error for an unknown `event.*` path: the first segment that leaves the catalogue,
/// and the closest catalogued path.
pub fn unknown_event_field(names: &[&str]) -> FieldError {
    let mut known = 1;
    while known < names.len() && !matches!(event::lookup(&names[1..=known]), FieldLookup::Unknown) {
        known += 1;
    }
    let parent = names[..known].join(".");
    let suggestion = event::suggest(&names[1..]).map(|p| format!("event.{p}"));
    FieldError {
        message: format!(
            "`{parent}` has no field `{}`",
            names.get(known).unwrap_or(&"")
        ),
        suggestion,
        segment: known.min(names.len() - 1),
    }
}

impl CatalogTypes<'_> {
    fn step_type(&self, names: &[&str]) -> Result<ValueType, FieldError> {
        let Some(slug) = names.get(1) else {
            return Err(FieldError {
                message: "`step` needs an action slug and a key: `step.<slug>.<key>`".into(),
                suggestion: None,
                segment: 0,
            });
        };
        if !self.step_slugs.iter().any(|s| s == slug) {
            let suggestion =
                crate::catalog::closest(slug, self.step_slugs.iter().map(String::as_str))
                    .map(|s| format!("step.{s}"));
            return Err(FieldError {
                message: format!("no Run Custom Action block of this flow runs an action `{slug}`"),
                suggestion,
                segment: 1,
            });
        }
        if names.len() < 3 {
            return Err(FieldError {
                message: format!("`step.{slug}` needs a key: `step.{slug}.<key>`"),
                suggestion: None,
                segment: 1,
            });
        }
        Ok(ValueType::Any)
    }
}
