//! Escaping tenant text for a terminal: flow names, block ids, log lines, deny reasons, state
//! keys and values, file names and source excerpts all come from files a tenant wrote.
//!
//! A control character reaching a terminal can move the cursor, rewrite earlier lines, set
//! the window title or (OSC 8, OSC 52) plant links and clipboard contents; a newline or
//! carriage return forges trace lines; bidirectional overrides reorder what is shown. Every
//! such character is shown as a visible escape (`\n`, `\r`, `\t`, `\u{1b}`), as git quotes
//! unusual characters in path names. Renderers escape each piece of tenant text, never
//! their own layout.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as is: C0 and C1 controls, DEL, bidirectional
/// embeddings, overrides and isolates, line and paragraph separators, and the BOM.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        )
}

/// The visible form of one unsafe character.
pub fn escaped(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

/// `text` with every unsafe character escaped; borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&escaped(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `escape` for multi-line messages that authflow itself broke into lines: newlines stay,
/// every other unsafe character is escaped.
pub fn escape_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| escape(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON text (from serde_json, which escapes C0 controls already) with the remaining unsafe
/// characters (DEL, C1 controls, bidirectional controls) written as `\uXXXX` escapes: the
/// same JSON value, safe to print. Such characters only occur inside JSON strings.
pub fn escape_json(json: String) -> String {
    if !json.chars().any(is_unsafe_in_json) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe_in_json(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Unsafe characters other than the whitespace JSON's own layout uses.
fn is_unsafe_in_json(c: char) -> bool {
    is_unsafe(c) && !matches!(c, '\n' | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_keeps_plain_text() {
        assert!(matches!(escape("plain café ✓"), Cow::Borrowed(_)));
        assert_eq!(
            escape("a\x1b[2Jb\rc\nd\u{9b}e\u{202e}f\x07"),
            "a\\u{1b}[2Jb\\rc\\nd\\u{9b}e\\u{202e}f\\u{7}"
        );
        assert_eq!(
            escape_lines("one\ntwo\x1b]0;t\x07"),
            "one\ntwo\\u{1b}]0;t\\u{7}"
        );
    }

    #[test]
    fn json_escaping_keeps_the_value() {
        let value = serde_json::json!({"m": "x\u{9b}y\u{202e}\u{7f}\u{1b}"});
        let text = escape_json(serde_json::to_string_pretty(&value).unwrap());
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text:?}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }
}
