//! The DSL's error wording: a pest failure at a position becomes one `AF002` diagnostic that
//! says, in the language's words, what was expected there and what was found, with a help line
//! (an unclosed condition, a keyword out of order, a missing brace). It reads the source text
//! and pest's expected rules; it never parses a flow itself.

use super::Rule;
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;

/// Turns a pest failure into a diagnostic that names what the language expected there.
pub(super) fn syntax_error(
    source: &str,
    file: FileId,
    error: &pest::error::Error<Rule>,
) -> Diagnostic {
    let pos = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((start, _)) => start,
    }
    .min(source.len());
    let span = token_span(source, pos);
    let positives: Vec<Rule> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { message } => {
            // pest's only custom errors are its resource guards (stack, call limit).
            return Diagnostic::new(
                Code::DslSyntax,
                file,
                span,
                format!("the flow nests too deeply to parse ({message})"),
            )
            .help("nest parentheses and lists less deeply");
        }
    };
    if let Some(diagnostic) = special_error(source, file, pos, &positives) {
        return diagnostic;
    }
    let found = describe_found(source, pos);
    let words = expected_list(&positives);
    let message = if words.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_alternatives(&words))
    };
    Diagnostic::new(Code::DslSyntax, file, span, message)
        .label("here")
        .help(help_for(source, pos, &positives))
}

/// Errors for which a better message than "expected X" exists: unclosed conditions and
/// strings, bad escapes, keywords used as names, clauses in the wrong order.
fn special_error(source: &str, file: FileId, pos: usize, positives: &[Rule]) -> Option<Diagnostic> {
    let rest = &source[pos..];
    if positives.contains(&Rule::string_end) {
        if rest.starts_with("\\u") {
            return Some(
                Diagnostic::new(
                    Code::DslSyntax,
                    file,
                    Span::new(pos, pos + 2),
                    "`\\u` must be followed by four hexadecimal digits",
                )
                .help("write a character by its code point as `\\u00e9`, or write it directly"),
            );
        }
        if rest.starts_with('\\') {
            let escape: String = rest.chars().take(2).collect();
            let end = pos + escape.len();
            return Some(
                Diagnostic::new(
                    Code::DslSyntax,
                    file,
                    Span::new(pos, end),
                    format!("unknown escape `{escape}` in a string"),
                )
                .help("strings take JSON's escapes: \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"),
            );
        }
        return Some(
            Diagnostic::new(
                Code::DslSyntax,
                file,
                char_span(source, pos),
                "this string is not closed",
            )
            .label("expected `\"` here")
            .help("close the string with `\"` on the same line; write a line break as `\\n`"),
        );
    }
    if positives.contains(&Rule::close_paren)
        && pos == source.len()
        && let Some(open) = unclosed_condition(source)
    {
        return Some(
            Diagnostic::new(
                Code::DslSyntax,
                file,
                Span::new(open, open + 1),
                "this condition's parenthesis is never closed",
            )
            .label("opened here")
            .help(
                "balance the parentheses inside `when ( ... )`, and close every string literal \
                 in the condition",
            ),
        );
    }
    let word = word_at(source, pos);
    let after_on_error =
        !positives.contains(&Rule::condition) && !positives.contains(&Rule::kw_when);
    let opens_condition = source[pos + word.len()..]
        .trim_start_matches([' ', '\t', '\r', '\n'])
        .starts_with('(');
    if word == "when"
        && after_on_error
        && opens_condition
        && (positives.contains(&Rule::config) || positives.contains(&Rule::open_brace))
    {
        return Some(
            Diagnostic::new(
                Code::DslSyntax,
                file,
                Span::new(pos, pos + word.len()),
                "`when` must come before `on_error`",
            )
            .help("write a block as `id: type when (...) on_error action { ... }`"),
        );
    }
    let expects_name = positives.iter().any(|r| {
        matches!(
            r,
            Rule::flow_name
                | Rule::stage_name
                | Rule::block_id
                | Rule::block_type
                | Rule::on_error_action
                | Rule::config_key
        )
    });
    if expects_name && matches!(word, "flow" | "stage" | "when" | "on_error") {
        let found = describe_found(source, pos);
        let words = expected_list(positives);
        let help = if positives.contains(&Rule::block_type) && word == "when" {
            "write the block's type before `when`, e.g. `tor: deny when (...)`".to_string()
        } else {
            format!("`{word}` is a keyword; write it in quotes (`\"{word}\"`) to use it as a name")
        };
        return Some(
            Diagnostic::new(
                Code::DslSyntax,
                file,
                Span::new(pos, pos + word.len()),
                format!("expected {}, found {found}", join_alternatives(&words)),
            )
            .label("a keyword")
            .help(help),
        );
    }
    None
}

/// The plain words for every rule pest expected, without repeats, in pest's order.
fn expected_list(positives: &[Rule]) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Vec::new();
    // "The end of the file" reads best as the last alternative.
    let (ends, others): (Vec<Rule>, Vec<Rule>) = positives.iter().partition(|r| **r == Rule::EOI);
    for rule in others.iter().chain(&ends) {
        if let Some(word) = expected_words(*rule)
            && !words.contains(&word)
        {
            words.push(word);
        }
    }
    words
}

/// Plain words for a rule that pest says it expected; `None` for rules a user never needs
/// to hear about.
fn expected_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::flow_header | Rule::kw_flow => "`flow` and the flow's name",
        Rule::flow_name => "the flow's name",
        Rule::description => "a description in double quotes",
        Rule::stage | Rule::kw_stage => "`stage`",
        Rule::stage_name => "a stage name",
        Rule::block | Rule::block_id => "a block id",
        Rule::block_type => "the block's type",
        Rule::condition | Rule::kw_when => "`when (...)`",
        Rule::on_error | Rule::kw_on_error => "`on_error`",
        Rule::on_error_action => "what to do on error (`deny` or `continue`)",
        Rule::config => "`{` opening the block's config",
        Rule::entry | Rule::config_key => "a config key",
        Rule::value => "a value (a string, number, true, false, null or a list)",
        Rule::string | Rule::string_start => "a string in double quotes",
        Rule::string_end => "`\"` closing the string",
        Rule::open_brace => "`{`",
        Rule::close_brace => "`}`",
        Rule::open_paren => "`(`",
        Rule::close_paren => "`)`",
        Rule::open_bracket => "`[`",
        Rule::close_bracket => "`]`",
        Rule::colon => "`:`",
        Rule::equals => "`=`",
        Rule::comma => "`,`",
        Rule::EOI => "the end of the file",
        _ => return None,
    })
}

fn help_for(source: &str, pos: usize, positives: &[Rule]) -> String {
    let has = |rule: Rule| positives.contains(&rule);
    let rest = &source[pos..];
    let word = word_at(source, pos);
    let help = if has(Rule::flow_header) || has(Rule::kw_flow) {
        "a flow file starts with `flow <name>`, optionally followed by a description string"
    } else if has(Rule::colon) {
        "write a block as `id: type`, e.g. `lookup: identity_lookup`"
    } else if has(Rule::block_type) {
        "write the block's type after the colon, e.g. `deny` or `run_action`"
    } else if has(Rule::equals) {
        "write config entries as `key = value`, one per line"
    } else if has(Rule::value)
        && rest.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
    {
        "write numbers as in JSON: `3`, `-0.5`, `1e-3`, without leading zeros or a trailing `.`"
    } else if has(Rule::value) && rest.starts_with('\'') {
        "strings take double quotes: `\"text\"`"
    } else if has(Rule::value) && !word.is_empty() {
        "strings take double quotes; the bare words allowed as values are true, false and null"
    } else if has(Rule::value) {
        "a value is a string in double quotes, a number such as `3` or `-0.5`, true, false, \
         null, or a list such as `[\"a\", \"b\"]`"
    } else if has(Rule::on_error_action) {
        "write `on_error deny` or `on_error continue`"
    } else if has(Rule::open_paren) {
        "write a condition in parentheses: `when (event.user.email_verified)`"
    } else if has(Rule::close_bracket) {
        "separate list items with commas and close the list with `]`"
    } else if has(Rule::flow_name) {
        "name the flow with an identifier or a quoted string: `flow login`"
    } else if positives == [Rule::open_brace] {
        "put the stage's blocks in braces: `stage <name> { ... }`"
    } else if has(Rule::stage_name) {
        "name the stage with an identifier or a quoted string: `stage \"Post-Auth\" { ... }`"
    } else if has(Rule::block_id) || has(Rule::config_key) {
        "names are identifiers (letters, digits, `_`, `-`) or strings in double quotes"
    } else if has(Rule::kw_stage) || has(Rule::stage) {
        "after the flow header come stages: `stage <name> { ... }`"
    } else if rest.starts_with('\'') {
        "strings take double quotes"
    } else {
        "see docs/dsl.md for the DSL's grammar"
    };
    help.to_string()
}

/// "`deny`", "a string", "the end of the file", ... for the text at `pos`.
fn describe_found(source: &str, pos: usize) -> String {
    let rest = &source[pos..];
    let word = word_at(source, pos);
    match rest.chars().next() {
        None => "the end of the file".to_string(),
        Some('\n' | '\r') => "the end of the line".to_string(),
        Some('"') => "a string".to_string(),
        Some(_) if !word.is_empty() => format!("`{word}`"),
        Some(c) if c.is_control() => format!("the control character U+{:04X}", c as u32),
        Some(c) => format!("`{c}`"),
    }
}

/// The identifier-like word starting at `pos` (possibly empty).
fn word_at(source: &str, pos: usize) -> &str {
    let rest = &source[pos..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    &rest[..end.min(64)]
}

/// The span of the word at `pos`, or else of the character there.
fn token_span(source: &str, pos: usize) -> Span {
    match word_at(source, pos).len() {
        0 => char_span(source, pos),
        len => Span::new(pos, pos + len),
    }
}

/// The span of the character at `pos`, or an empty span at the end of the file.
fn char_span(source: &str, pos: usize) -> Span {
    let len = source[pos..].chars().next().map_or(0, char::len_utf8);
    Span::new(pos, pos + len)
}

fn join_alternatives(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The offset of the `(` of the first `when (` whose condition never closes, found with the
/// same rules the grammar uses (comments and strings outside conditions are skipped).
fn unclosed_condition(source: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = source[i..].find('\n').map_or(bytes.len(), |n| i + n),
            b'"' => i = skip_string(bytes, i, b'"').unwrap_or(bytes.len()),
            b'w' if source[i..].starts_with("when")
                && (i == 0 || !is_ident_byte(bytes[i - 1]))
                && !bytes.get(i + 4).is_some_and(|b| is_ident_byte(*b)) =>
            {
                let mut j = i + 4;
                while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\r' | b'\n') {
                    j += 1;
                }
                if bytes.get(j) != Some(&b'(') {
                    i += 4;
                    continue;
                }
                match balance(bytes, j) {
                    Some(end) => i = end,
                    None => return Some(j),
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The offset just past the `)` that balances the `(` at `open`, or `None` if none does.
fn balance(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            quote @ (b'"' | b'\'') => {
                i = skip_string(bytes, i, quote)?;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset just past the string literal opened by `quote` at `start`.
fn skip_string(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
