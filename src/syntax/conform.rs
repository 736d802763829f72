//! One truth for workspace YAML: a document the loader accepts must also satisfy the JSON
//! Schema `authflow schema` prints for its kind, because editors, CI validators and the
//! platform read that schema. serde-saphyr coerces a quoted scalar into a boolean or a number
//! (`enabled: "false"` loads as `false`), which the schema rejects; this pass holds every typed
//! document to its schema (generated from the same type with schemars) and reports each
//! disagreement as a diagnostic at the value, so such a file is refused rather than read.

use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::syntax::tree::Node;
use schemars::JsonSchema;
use serde::Deserialize;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// At most this many schema problems are reported per file.
const MAX_PROBLEMS: usize = 8;

/// Reads `source` into `T` (as [`super::yaml::from_str`] does), then holds it to `T`'s JSON
/// Schema: a document that deserializes but breaks the schema is refused with diagnostics.
pub fn from_str<'de, T: Deserialize<'de> + JsonSchema + 'static>(
    source: &'de str,
    file: FileId,
) -> Result<T, Vec<Diagnostic>> {
    let value = super::yaml::from_str::<T>(source, file)?;
    let problems = problems::<T>(source, file);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// The schema problems of a document that deserialized; none when the schema holds.
fn problems<T: JsonSchema + 'static>(source: &str, file: FileId) -> Vec<Diagnostic> {
    let Ok(tree) = super::tree::parse(source, file) else {
        return Vec::new();
    };
    let Some(validator) = validator::<T>() else {
        return Vec::new();
    };
    let document = tree.to_json();
    validator
        .iter_errors(&document)
        .take(MAX_PROBLEMS)
        .map(|error| {
            let pointer = error.instance_path().to_string();
            let node = at_pointer(&tree, &pointer);
            let found = node.kind();
            let mut diagnostic = Diagnostic::new(
                Code::InvalidValue,
                file,
                node.text_span(source),
                error.to_string(),
            )
            .label(format!("{found} here"));
            diagnostic = match (&node.value, error.kind()) {
                (
                    super::tree::NodeValue::Str(text),
                    jsonschema::error::ValidationErrorKind::Type { .. },
                ) => diagnostic.help(format!(
                    "a quoted value is a string: write `{}` without quotes if you mean a {}",
                    text,
                    if text == "true" || text == "false" {
                        "boolean"
                    } else {
                        "number"
                    }
                )),
                _ => diagnostic.help(format!(
                    "`authflow schema` prints the schema every {} file must satisfy",
                    schema_name::<T>()
                )),
            };
            diagnostic
        })
        .collect()
}

fn schema_name<T: JsonSchema>() -> String {
    T::schema_name().into_owned()
}

/// The node at a JSON Pointer into the document, or the deepest one on its way.
fn at_pointer<'t>(tree: &'t Node, pointer: &str) -> &'t Node {
    let mut node = tree;
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let next = match &node.value {
            super::tree::NodeValue::Seq(items) => {
                segment.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => node.get(&segment),
        };
        match next {
            Some(next) => node = next,
            None => break,
        }
    }
    node
}

/// `T`'s compiled schema, built once per type and process.
fn validator<T: JsonSchema + 'static>() -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Option<Arc<jsonschema::Validator>>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache
        .entry(TypeId::of::<T>())
        .or_insert_with(|| {
            let schema = serde_json::to_value(schemars::schema_for!(T)).ok()?;
            jsonschema::validator_for(&schema).ok().map(Arc::new)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema that does not compile would silently check nothing: every kind must compile.
    #[test]
    fn every_workspace_schema_compiles() {
        assert!(validator::<crate::workspace::Settings>().is_some());
        assert!(validator::<crate::workspace::ActionMeta>().is_some());
        assert!(validator::<crate::workspace::ModuleMeta>().is_some());
        assert!(validator::<crate::run::directory::DirectoryFile>().is_some());
        assert!(validator::<crate::workspace::env::Overlay>().is_some());
        assert!(validator::<crate::streams::StreamSpec>().is_some());
    }

    #[test]
    fn a_quoted_boolean_is_refused_at_its_value() {
        let source = "name: a\nenabled: \"true\"\n";
        let problems = from_str::<crate::workspace::ActionMeta>(source, FileId(0)).unwrap_err();
        assert_eq!(problems.len(), 1);
        let span = problems[0].span;
        assert_eq!(&source[span.start as usize..span.end as usize], "true");
        assert!(
            from_str::<crate::workspace::ActionMeta>("name: a\nenabled: true\n", FileId(0)).is_ok()
        );
    }
}
