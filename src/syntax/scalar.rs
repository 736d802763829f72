//! Positions inside a scalar whose value is not its source text: a quoted YAML string with
//! escapes (`'it''s'`, `"a\tb"`), or a folded or literal block (`when: >-`). A condition or a
//! template is parsed from the value; its spans are offsets into the value, and this maps them
//! back onto the characters of the file that produced them.
//!
//! It only reads text; it never decides what a scalar means (serde-saphyr did that).

use crate::span::Span;

/// The positions of one scalar's value in its file.
pub struct ScalarPositions {
    scalar: Span,
    /// For each byte of the value, the file range of the source that produced its character;
    /// `None` when the value is the source text verbatim (offsets add to the scalar's start).
    map: Option<Vec<(u32, u32)>>,
}

impl ScalarPositions {
    /// The positions of `value`, read by the YAML (or DSL) front end from `scalar`, the span
    /// its node was given in `source` (the quotes may be inside or outside it).
    pub fn new(source: &str, scalar: Span, value: &str) -> ScalarPositions {
        let verbatim = source.get(scalar.range()) == Some(value);
        let map = if verbatim {
            None
        } else {
            align(source, scalar, value)
        };
        ScalarPositions { scalar, map }
    }

    /// The file span of `relative`, a span of offsets into the value.
    pub fn span(&self, relative: Span) -> Span {
        let Some(map) = &self.map else {
            return relative.offset(self.scalar.start as usize);
        };
        let start = relative.start as usize;
        let end = relative.end as usize;
        let at = |i: usize| map.get(i).copied();
        let end_of_value = map.last().map_or(self.scalar.end, |&(_, e)| e);
        match (at(start), end.checked_sub(1).and_then(at)) {
            (Some((s, _)), Some((_, e))) if end > start => Span::new(s as usize, e as usize),
            (Some((s, _)), _) => Span::new(s as usize, s as usize),
            _ => Span::new(end_of_value as usize, end_of_value as usize),
        }
    }
}

/// Aligns `value` with the source of its scalar. Every character of the value is found in
/// order: as itself, as an escape sequence of a double-quoted scalar, as the doubled quote of
/// a single-quoted one, or as the line break and indentation that folding turned into a space
/// or a newline. Source characters that produce nothing (quotes, indentation, a block
/// header, a line continuation) are passed over. `None` when some character is not found,
/// and the caller falls back to plain offsets.
fn align(source: &str, scalar: Span, value: &str) -> Option<Vec<(u32, u32)>> {
    let (mut p, end, double_quoted) = region(source, scalar)?;
    let bytes = source.as_bytes();
    let mut map = Vec::with_capacity(value.len());
    for c in value.chars() {
        let found = loop {
            if p >= end {
                return None;
            }
            let here = source[p..end].chars().next()?;
            if double_quoted && here == '\\' {
                let (produced, len) = escape(&source[p..end]);
                match produced {
                    Some(d) if d == c => break (p, p + len),
                    _ => {
                        p += len;
                        continue;
                    }
                }
            }
            if here == c {
                break (p, p + here.len_utf8());
            }
            if (c == ' ' || c == '\n') && (here == '\n' || here == '\r') {
                // A folded line break: the break and the next line's indentation.
                let start = p;
                while p < end && matches!(bytes[p], b'\n' | b'\r') {
                    p += 1;
                }
                while p < end && matches!(bytes[p], b' ' | b'\t') {
                    p += 1;
                }
                break (start, p);
            }
            p += here.len_utf8();
        };
        p = found.1;
        for _ in 0..c.len_utf8() {
            map.push((found.0 as u32, found.1 as u32));
        }
    }
    Some(map)
}

/// The part of the file holding the scalar's characters, and whether it is double-quoted.
fn region(source: &str, scalar: Span) -> Option<(usize, usize, bool)> {
    let (mut start, mut end) = (scalar.start as usize, scalar.end as usize);
    let text = source.get(start..end)?;
    let before = source[..start].chars().next_back();
    let mut double_quoted = before == Some('"');
    if text.len() >= 2 && (text.starts_with('"') || text.starts_with('\'')) {
        double_quoted = text.starts_with('"');
        start += 1;
        end -= 1;
    } else if text.starts_with('|') || text.starts_with('>') {
        // A block scalar: its content starts on the line after the header.
        start += text.find('\n')? + 1;
    }
    Some((start, end, double_quoted))
}

/// What the escape sequence at the start of `text` (which starts with `\`) produces, and its
/// length; `None` for a line continuation (a backslash before a line break).
fn escape(text: &str) -> (Option<char>, usize) {
    let mut chars = text.chars();
    chars.next();
    let Some(kind) = chars.next() else {
        return (None, 1);
    };
    let hex = |digits: usize| -> (Option<char>, usize) {
        let code = text
            .get(2..2 + digits)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        (code, 2 + digits)
    };
    let simple = |c: char| (Some(c), 1 + kind.len_utf8());
    match kind {
        '0' => simple('\0'),
        'a' => simple('\u{7}'),
        'b' => simple('\u{8}'),
        't' | '\t' => simple('\t'),
        'n' => simple('\n'),
        'v' => simple('\u{b}'),
        'f' => simple('\u{c}'),
        'r' => simple('\r'),
        'e' => simple('\u{1b}'),
        ' ' => simple(' '),
        '"' => simple('"'),
        '/' => simple('/'),
        '\\' => simple('\\'),
        'N' => simple('\u{85}'),
        '_' => simple('\u{a0}'),
        'L' => simple('\u{2028}'),
        'P' => simple('\u{2029}'),
        'x' => hex(2),
        'u' => hex(4),
        'U' => hex(8),
        '\n' | '\r' => (None, 2),
        other => (None, 1 + other.len_utf8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file text a value span lands on.
    fn landed(source: &str, scalar: &str, value: &str, needle: &str) -> String {
        let start = source.find(scalar).unwrap();
        let span = Span::new(start, start + scalar.len());
        let positions = ScalarPositions::new(source, span, value);
        let at = value.find(needle).unwrap();
        let mapped = positions.span(Span::new(at, at + needle.len()));
        source[mapped.range()].to_string()
    }

    #[test]
    fn spans_land_on_the_characters_that_produced_them() {
        let single = "when: 'a == ''x'' and event.user.emial'\n";
        assert_eq!(
            landed(
                single,
                "'a == ''x'' and event.user.emial'",
                "a == 'x' and event.user.emial",
                "event.user.emial"
            ),
            "event.user.emial"
        );
        let double = "value: \"\\tHello {{ event.user.emial }}\"\n";
        assert_eq!(
            landed(
                double,
                "\"\\tHello {{ event.user.emial }}\"",
                "\tHello {{ event.user.emial }}",
                "event.user.emial"
            ),
            "event.user.emial"
        );
        let folded =
            "when: >-\n  event.user.email_verified\n  and event.user.emial == 'x'\nnext: 1\n";
        assert_eq!(
            landed(
                folded,
                ">-\n  event.user.email_verified\n  and event.user.emial == 'x'\n",
                "event.user.email_verified and event.user.emial == 'x'",
                "event.user.emial "
            ),
            "event.user.emial "
        );
        let verbatim = "when: event.user.emial\n";
        assert_eq!(
            landed(verbatim, "event.user.emial", "event.user.emial", "emial"),
            "emial"
        );
    }

    #[test]
    fn escapes_map_to_their_whole_sequence() {
        let source = "v: \"\\u00e9t\\x41\"\n";
        let start = source.find('"').unwrap();
        let span = Span::new(start, source.rfind('"').unwrap() + 1);
        let positions = ScalarPositions::new(source, span, "\u{e9}tA");
        let e = positions.span(Span::new(0, 2));
        assert_eq!(&source[e.range()], "\\u00e9");
        let a = positions.span(Span::new(3, 4));
        assert_eq!(&source[a.range()], "\\x41");
    }
}
