//! Key-by-key comparison of settings and metadata values (as JSON, defaults filled in).
//!
//! Objects compare per key, recursively, so a change reads as `limits.cpu_ms: 1000 -> 500`.
//! A list of scalars is a set (an allowlist, declared secrets, subscribed events: their order
//! means nothing), compared as entries added and removed. Anything else compares whole.

use super::Change;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every change from `old` to `new` under the dotted key `prefix` (empty at the top).
pub fn changes(prefix: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    compare(prefix, Some(old), Some(new), &mut out);
    out
}

fn compare(key: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Change>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                compare(&join(key, k), a.get(k), b.get(k), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if scalars(a) && scalars(b) => {
            let added: Vec<Value> = b.iter().filter(|v| !a.contains(v)).cloned().collect();
            let removed: Vec<Value> = a.iter().filter(|v| !b.contains(v)).cloned().collect();
            if !added.is_empty() || !removed.is_empty() {
                out.push(Change::Entries {
                    key: key.to_string(),
                    added: dedup(added),
                    removed: dedup(removed),
                });
            }
        }
        // An object that appeared or disappeared reads best key by key too.
        (Some(Value::Object(a)), None) => {
            for (k, v) in a {
                compare(&join(key, k), Some(v), None, out);
            }
        }
        (None, Some(Value::Object(b))) => {
            for (k, v) in b {
                compare(&join(key, k), None, Some(v), out);
            }
        }
        (a, b) if a != b => out.push(Change::Value {
            key: key.to_string(),
            old: a.filter(|v| !v.is_null()).cloned(),
            new: b.filter(|v| !v.is_null()).cloned(),
        }),
        _ => {}
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn scalars(items: &[Value]) -> bool {
    items.iter().all(|v| !v.is_array() && !v.is_object())
}

fn dedup(mut items: Vec<Value>) -> Vec<Value> {
    let mut seen = Vec::new();
    items.retain(|v| {
        if seen.contains(v) {
            false
        } else {
            seen.push(v.clone());
            true
        }
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_of_scalars_are_sets_and_objects_compare_per_key() {
        let old = json!({"fetch_allowlist": ["https://a/", "https://b/"], "limits": {"cpu_ms": 1000, "wall_ms": 3000}});
        let new = json!({"fetch_allowlist": ["https://b/", "https://c/"], "limits": {"cpu_ms": 500, "wall_ms": 3000}});
        assert_eq!(
            changes("", &old, &new),
            vec![
                Change::Entries {
                    key: "fetch_allowlist".into(),
                    added: vec![json!("https://c/")],
                    removed: vec![json!("https://a/")],
                },
                Change::Value {
                    key: "limits.cpu_ms".into(),
                    old: Some(json!(1000)),
                    new: Some(json!(500)),
                },
            ]
        );
        let reordered = json!({"fetch_allowlist": ["https://b/", "https://a/"], "limits": {"wall_ms": 3000, "cpu_ms": 1000}});
        assert!(changes("", &old, &reordered).is_empty());
    }

    #[test]
    fn a_key_set_to_null_reads_as_unset() {
        let old = json!({"session": {"issuer": "https://a/", "signing_secret": null}});
        let new = json!({"session": {"issuer": "https://a/", "signing_secret": "KEY"}});
        assert_eq!(
            changes("", &old, &new),
            vec![Change::Value {
                key: "session.signing_secret".into(),
                old: None,
                new: Some(json!("KEY")),
            }]
        );
    }
}
