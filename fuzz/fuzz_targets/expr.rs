//! Fuzz target for the condition language: any UTF-8 input must parse or fail with a
//! diagnostic, and type checking any parsed tree must finish, all without panicking.

#![no_main]

use authflow::expr::{FieldError, FieldPath, FieldTypes, ValueType, check, parse};
use libfuzzer_sys::fuzz_target;

/// A catalogue that types a few paths and treats every `step.*` output as dynamic.
struct FuzzCatalogue;

impl FieldTypes for FuzzCatalogue {
    fn field_type(&self, path: &FieldPath) -> Result<ValueType, FieldError> {
        match path.names().next() {
            Some("step") => Ok(ValueType::Any),
            Some("event") => Ok(match path.names().last() {
                Some(name) if name.starts_with("is_") => ValueType::Bool,
                Some("risk_score") => ValueType::Number,
                Some("methods") => ValueType::List,
                _ => ValueType::String,
            }),
            _ => Err(FieldError {
                message: "unknown root".to_owned(),
                suggestion: Some("event".to_owned()),
                segment: 0,
            }),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(expr) = parse(text)
    {
        let _ = expr.field_paths();
        let _ = check(&expr, &FuzzCatalogue);
    }
});
