//! Fuzzes event files: any input must be refused as JSON or validated against the event
//! catalogue without panicking. An accepted event is complete (every catalogued field but the
//! `user` group present, with its catalogued type), completing it again changes nothing, its
//! clock formats and parses back to itself, and its recordings and password hashes can be
//! judged; a refused one names at least one path.

#![no_main]

use authflow::catalog::event::{EVENT_FIELDS, FieldType};
use authflow::run::{crypto, event};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Both clock functions see the raw text too: event files are not their only callers.
    if let Some(secs) = event::parse_rfc3339(text) {
        assert_eq!(
            event::parse_rfc3339(&event::format_rfc3339(secs)),
            Some(secs)
        );
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    match event::parse(value) {
        Ok(sim) => {
            for field in EVENT_FIELDS {
                if field.path == "user" || field.path.starts_with("user.") {
                    continue;
                }
                let found = field
                    .path
                    .split('.')
                    .try_fold(&sim.event, |node, name| node.get(name))
                    .unwrap_or_else(|| panic!("`{}` missing after completion", field.path));
                let typed = match field.ty {
                    FieldType::String => found.is_string(),
                    FieldType::Number => found.is_number(),
                    FieldType::Boolean => found.is_boolean(),
                    FieldType::List => found.is_array(),
                    FieldType::Record | FieldType::Group => found.is_object(),
                };
                assert!(typed, "`{}` has the wrong type: {found}", field.path);
            }
            let mut again = sim.event.clone();
            event::complete(&mut again);
            assert_eq!(again, sim.event);
            let formatted = event::format_rfc3339(sim.now);
            assert_eq!(
                event::parse_rfc3339(&formatted),
                Some(sim.now),
                "{formatted}"
            );
            for key in sim.fetch.keys() {
                assert!(event::recording_key(key).is_ok());
            }
            for user in &sim.directory {
                if let Some(hash) = &user.password_hash {
                    let _ = crypto::check_password_hash(hash);
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            assert!(
                errors
                    .iter()
                    .all(|e| !e.path.is_empty() && !e.message.is_empty())
            );
        }
    }
});
