//! Replaces secret values with `[redacted:NAME]` in everything a run hands back.
//!
//! Redaction is textual: it finds each secret's exact value in strings (and JSON object keys)
//! and cannot see secrets a script transformed. It must not drop or reorder outputs.

use serde_json::Value;

use super::{ActionOutcome, ActionSource};

/// The secrets of one action and its modules, longest value first so a secret that contains
/// another is replaced whole.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<(String, String)>,
}

/// Redacts every string and object key of `value` with the given (name, value) secrets, by
/// the same rules as action outputs: for what leaves authflow otherwise (stored runs).
pub fn redact_json(secrets: &[(String, String)], value: &mut Value) {
    let mut secrets: Vec<(String, String)> = secrets
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .cloned()
        .collect();
    secrets.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    secrets.dedup_by(|a, b| a.1 == b.1);
    Redactor { secrets }.json(value);
}

impl Redactor {
    /// Collects the non-empty secrets of `action` and of every module it carries.
    pub fn for_action(action: &ActionSource) -> Redactor {
        let mut secrets: Vec<(String, String)> = action
            .secrets
            .iter()
            .chain(
                action
                    .modules
                    .iter()
                    .flat_map(|module| module.secrets.iter()),
            )
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        secrets.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        secrets.dedup_by(|a, b| a.1 == b.1);
        Redactor { secrets }
    }

    /// Returns `text` with every secret value replaced.
    pub fn text(&self, text: &str) -> String {
        let mut result = text.to_owned();
        for (name, value) in &self.secrets {
            if result.contains(value.as_str()) {
                result = result.replace(value.as_str(), &format!("[redacted:{name}]"));
            }
        }
        result
    }

    /// Redacts every string and object key inside `value`.
    pub fn json(&self, value: &mut Value) {
        if self.secrets.is_empty() {
            return;
        }
        let mut pending = vec![value];
        while let Some(current) = pending.pop() {
            match current {
                Value::String(text) => *text = self.text(text),
                Value::Array(items) => pending.extend(items.iter_mut()),
                Value::Object(map) => {
                    let entries = std::mem::take(map);
                    for (key, item) in entries {
                        map.insert(self.text(&key), item);
                    }
                    pending.extend(map.values_mut());
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
    }

    /// Redacts every output of `outcome` in place.
    pub fn outcome(&self, outcome: &mut ActionOutcome) {
        if self.secrets.is_empty() {
            return;
        }
        for line in &mut outcome.logs {
            line.message = self.text(&line.message);
        }
        for (key, value) in outcome
            .state_writes
            .iter_mut()
            .chain(outcome.claims.iter_mut())
        {
            *key = self.text(key);
            self.json(value);
        }
        let mut metadata = Value::Object(std::mem::take(&mut outcome.metadata_patch));
        self.json(&mut metadata);
        if let Value::Object(map) = metadata {
            outcome.metadata_patch = map;
        }
        if let Some(reason) = &mut outcome.denied {
            *reason = self.text(reason);
        }
        if let Some(failure) = &mut outcome.failure {
            failure.message = self.text(&failure.message);
        }
        for fetch in &mut outcome.fetches {
            fetch.url = self.text(&fetch.url);
            if let Some(body) = &mut fetch.body {
                *body = self.text(body);
            }
        }
    }
}
