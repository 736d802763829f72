//! The JSON Schema of YAML flow files, generated from the block catalogue so that editors
//! autocomplete block types and each type's config keys.

use crate::blocks::{BLOCKS, ConfigKind, ON_ERROR_CHOICES, ValueRule};
use serde_json::{Value, json};

pub fn flow_schema() -> Value {
    let types: Vec<&str> = BLOCKS.iter().map(|b| b.name).collect();
    let per_type: Vec<Value> = BLOCKS
        .iter()
        .map(|b| {
            let props: serde_json::Map<String, Value> = b
                .config
                .iter()
                .map(|k| {
                    let mut schema = match k.kind {
                        ConfigKind::Number => json!({ "type": "number", "description": k.doc }),
                        ConfigKind::OneOf(choices) => json!({ "enum": choices, "description": k.doc }),
                        _ => json!({ "type": "string", "description": k.doc }),
                    };
                    if let Some(default) = k.default {
                        schema["default"] = json!(default);
                    }
                    match k.rule {
                        Some(ValueRule::Integer { min, max }) => {
                            schema["type"] = json!("integer");
                            schema["minimum"] = json!(min);
                            schema["maximum"] = json!(max);
                        }
                        Some(ValueRule::NoneOf(reserved)) => schema["not"] = json!({ "enum": reserved }),
                        None => {}
                    }
                    (k.name.to_string(), schema)
                })
                .collect();
            let required: Vec<&str> = b.config.iter().filter(|k| k.required).map(|k| k.name).collect();
            let config = json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false });
            let mut then = json!({ "properties": { "config": config } });
            if !required.is_empty() {
                then["required"] = json!(["config"]);
            }
            json!({ "if": { "properties": { "type": { "const": b.name } } }, "then": then })
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "authflow flow",
        "description": "A login flow: ordered stages of ordered blocks.",
        "type": "object",
        "required": ["flow", "stages"],
        "additionalProperties": false,
        "properties": {
            "flow": { "type": "string", "description": "The flow's name, e.g. login." },
            "description": { "type": "string" },
            "stages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": false,
                    "properties": {
                        "name": { "type": "string" },
                        "blocks": { "type": "array", "items": { "$ref": "#/$defs/block" } }
                    }
                }
            }
        },
        "$defs": {
            "block": {
                "type": "object",
                "required": ["id", "type"],
                "additionalProperties": false,
                "properties": {
                    "id": { "type": "string", "description": "Unique within the flow." },
                    "type": { "enum": types },
                    "when": { "type": "string", "description": "A condition (docs/conditions.md); the block runs only when it holds." },
                    "on_error": { "enum": ON_ERROR_CHOICES, "description": "What the flow does when the block fails (default deny)." },
                    "config": { "type": "object" }
                },
                "allOf": per_type
            }
        }
    })
}
