//! The JSON Schema of one stream event (a CloudEvents 1.0 envelope), generated from the
//! event-type catalogue and the login event catalogue it borrows groups from, so it says
//! exactly what `streams::message::validate` accepts (members may be left out of groups:
//! validation completes them).

use crate::catalog::event::{EVENT_FIELDS, FieldType};
use crate::catalog::stream_events::{ENVELOPE, EVENT_TYPES, EventType, SOURCE_PREFIX, Shape};
use serde_json::{Map, Value, json};

fn value_schema(ty: FieldType, doc: &str) -> Value {
    match ty {
        FieldType::String => json!({ "type": "string", "description": doc }),
        FieldType::Number => json!({ "type": "number", "description": doc }),
        FieldType::Boolean => json!({ "type": "boolean", "description": doc }),
        FieldType::List => json!({ "type": "array", "description": doc }),
        FieldType::Record | FieldType::Group => json!({ "type": "object", "description": doc }),
    }
}

/// An object with the login catalogue's members of `group`.
fn group_schema(group: &str, doc: &str) -> Value {
    let mut properties = Map::new();
    for (name, field) in crate::catalog::stream_events::group_members(group) {
        let schema = if field.ty == FieldType::Group {
            group_schema(field.path, field.doc)
        } else {
            value_schema(field.ty, field.doc)
        };
        properties.insert(name.to_string(), schema);
    }
    debug_assert!(EVENT_FIELDS.iter().any(|f| f.path == group));
    json!({ "type": "object", "description": doc, "properties": properties, "additionalProperties": false })
}

fn data_schema(ty: &EventType) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in ty.data {
        let schema = match field.shape {
            Shape::Value(t) => value_schema(t, field.doc),
            Shape::EventGroup(group) => group_schema(group, field.doc),
        };
        properties.insert(field.name.to_string(), schema);
        if field.required {
            required.push(field.name);
        }
    }
    json!({ "type": "object", "description": ty.doc, "properties": properties, "required": required, "additionalProperties": false })
}

/// The schema of one event: the envelope, and per type the shape of `data`.
pub fn event_schema() -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in ENVELOPE {
        let mut schema = value_schema(field.ty, field.doc);
        match field.name {
            "specversion" => schema["const"] = json!("1.0"),
            "source" => schema["pattern"] = json!(format!("^{SOURCE_PREFIX}")),
            "type" => schema["enum"] = json!(crate::catalog::stream_events::names()),
            "datacontenttype" => schema["const"] = json!("application/json"),
            "id" => {
                schema["minLength"] = json!(1);
                schema["maxLength"] = json!(super::message::MAX_ID_BYTES);
            }
            _ => {}
        }
        properties.insert(field.name.to_string(), schema);
        if field.required {
            required.push(field.name);
        }
    }
    let per_type: Vec<Value> = EVENT_TYPES
        .iter()
        .map(|ty| {
            json!({
                "if": { "properties": { "type": { "const": ty.name } } },
                "then": { "properties": { "data": data_schema(ty) } }
            })
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "authflow stream event",
        "description": "One event of an event stream: a CloudEvents 1.0 envelope whose data has the shape of its type.",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
        "allOf": per_type
    })
}
