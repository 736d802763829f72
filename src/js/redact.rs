//! Everything a run hands back passes here on its way out of the sandbox: secret values are
//! replaced by `[redacted:NAME]`, then the text is bounded.
//!
//! Redaction happens where a string first leaves the script (each api op, the script's report
//! of how it ended, the engine's own errors), before anything shortens, quotes, upper-cases or
//! re-encodes it, and exactly once, so a later step never sees a secret half cut off. It finds
//! each secret's value in these forms, in any ASCII letter case:
//! - the exact value;
//! - the value JSON-escaped once and twice (a secret holding `"` or `\` inside an object that
//!   was logged, thrown or stringified, possibly inside another stringified object);
//! - the value percent-encoded as `encodeURIComponent` does (a secret in a URL's query).
//!
//! It cannot see what a script computed from a secret: reversed, split, sliced, re-encoded
//! (base64, hex, another escaping), hashed, or changed in non-ASCII letter case. This file must
//! not drop or reorder outputs.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_json::Value;

use super::ActionSource;

/// The secrets of one action and its modules, compiled into one automaton over every form of
/// every value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// `None` when there is nothing to redact.
    automaton: Option<AhoCorasick>,
    /// The replacement of pattern `i`.
    replacements: Vec<String>,
    /// The longest pattern in bytes (callers keep this much past any cut; see
    /// [`Redactor::reach`]).
    longest: usize,
}

/// Redacts every string and object key of `value` with the given (name, value) secrets, by
/// the same rules as action outputs: for what leaves authflow otherwise (stored runs).
pub fn redact_json(secrets: &[(String, String)], value: &mut Value) {
    Redactor::new(
        secrets
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    )
    .json(value);
}

impl Redactor {
    /// Collects the non-empty secrets of `action` and of every module it carries.
    pub fn for_action(action: &ActionSource) -> Redactor {
        let secrets = action.secrets.iter().chain(
            action
                .modules
                .iter()
                .flat_map(|module| module.secrets.iter()),
        );
        Redactor::new(secrets.map(|(name, value)| (name.as_str(), value.as_str())))
    }

    /// A redactor for `(name, value)` pairs; empty values are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = (&'a str, &'a str)>) -> Redactor {
        let mut patterns: Vec<String> = Vec::new();
        let mut replacements = Vec::new();
        for (name, value) in secrets {
            if value.is_empty() {
                continue;
            }
            let replacement = format!("[redacted:{}]", marker_name(name));
            let once = json_escaped(value);
            let twice = json_escaped(&once);
            for form in [value.to_owned(), once, twice, percent_encoded(value)] {
                if !patterns
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(&form))
                {
                    patterns.push(form);
                    replacements.push(replacement.clone());
                }
            }
        }
        let longest = patterns.iter().map(String::len).max().unwrap_or(0);
        let automaton = if patterns.is_empty() {
            None
        } else {
            // Leftmost-longest: where one secret contains another, the longer one is replaced
            // whole. Building only fails for patterns far beyond any secret's size; then every
            // text is withheld rather than risk a leak (see `text`).
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        let unbuildable = automaton.is_none() && !patterns.is_empty();
        Redactor {
            automaton,
            replacements: if unbuildable {
                Vec::new()
            } else {
                replacements
            },
            longest: if unbuildable { usize::MAX } else { longest },
        }
    }

    /// How far past a kept prefix a text must reach for redaction of that prefix to be exact:
    /// the longest form of any secret.
    pub fn reach(&self) -> usize {
        self.longest
    }

    /// Returns `text` with every form of every secret replaced.
    pub fn text(&self, text: String) -> String {
        match &self.automaton {
            Some(automaton) => {
                if automaton.is_match(&text) {
                    automaton.replace_all(&text, &self.replacements)
                } else {
                    text
                }
            }
            None if self.longest == usize::MAX => {
                "[withheld: secrets could not be redacted]".to_owned()
            }
            None => text,
        }
    }

    /// Whether there is nothing to redact.
    fn is_empty(&self) -> bool {
        self.automaton.is_none() && self.longest == 0
    }

    /// Redacts every string and object key inside `value`.
    pub fn json(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        let mut pending = vec![value];
        while let Some(current) = pending.pop() {
            match current {
                Value::String(text) => *text = self.text(std::mem::take(text)),
                Value::Array(items) => pending.extend(items.iter_mut()),
                Value::Object(map) => {
                    let entries = std::mem::take(map);
                    for (key, item) in entries {
                        map.insert(self.text(key), item);
                    }
                    pending.extend(map.values_mut());
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
    }
}

/// A secret's name as shown in its marker: names are identifiers in `authflow.yaml`, but the
/// marker must never carry text that could itself need escaping.
fn marker_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `value` as it appears inside a JSON string (without the quotes), as `JSON.stringify` and
/// serde_json write it.
fn json_escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_owned()
}

/// `value` percent-encoded as `encodeURIComponent` does.
fn percent_encoded(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `text` cut to at most `max` bytes on a character boundary, saying how long it was. Only
/// for text that was redacted already.
pub(crate) fn bounded(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes in all]", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new([("TOKEN", "s3cr\"et\\x"), ("KEY", "abcdef"), ("SUB", "cde")])
    }

    #[test]
    fn every_form_in_any_ascii_case_is_replaced() {
        let r = redactor();
        for text in [
            "s3cr\"et\\x",
            "S3CR\"ET\\X",
            "s3cr\\\"et\\\\x",
            "s3cr\\\\\\\"et\\\\\\\\x",
            "s3cr%22et%5Cx",
            "s3cr%22et%5cx",
        ] {
            assert_eq!(r.text(format!("<{text}>")), "<[redacted:TOKEN]>", "{text}");
        }
        assert_eq!(
            r.text("ABCDEF cde".to_owned()),
            "[redacted:KEY] [redacted:SUB]"
        );
    }

    #[test]
    fn a_secret_inside_another_is_replaced_with_the_longer_one() {
        assert_eq!(redactor().text("xabcdefx".to_owned()), "x[redacted:KEY]x");
    }

    #[test]
    fn bounded_text_keeps_characters_whole() {
        assert_eq!(bounded("ééé".to_owned(), 3), "é… [6 bytes in all]");
        assert_eq!(bounded("short".to_owned(), 10), "short");
    }
}
