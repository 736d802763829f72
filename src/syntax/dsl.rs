//! The DSL front end: a flow written in the text DSL (grammar/flow.pest) -> the spanned AST.
//!
//! pest checks the grammar; `Lower` then walks the parse tree into `ast`, decoding string
//! escapes and numbers and giving every node the byte span it came from. Conditions stay raw
//! text (the `expr` module parses them). Syntax errors become one `AF002` diagnostic at the
//! failing position, worded in terms of the language rather than grammar rule names. Nothing
//! here panics, whatever the input.

use super::ast::{
    Block, Condition, ConfigEntry, ConfigValue, ConfigValueKind, Flow, Spanned, Stage,
};
use crate::diagnostic::{Code, Diagnostic, FileId};
use crate::span::Span;
use pest::Parser;
use pest::iterators::Pair;

/// How deeply config lists may nest. Real flows use one or two levels; the limit keeps
/// lowering's recursion (and every later pass over values) shallow on hostile input.
pub const MAX_LIST_DEPTH: usize = 32;

/// The pest parser, in a module of its own so that its generated `Rule` enum stays private.
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar/flow.pest"]
    pub struct FlowParser;
}

use grammar::{FlowParser, Rule};

/// Parses a flow file written in the DSL.
pub fn parse(source: &str, file: FileId) -> Result<Flow, Vec<Diagnostic>> {
    let mut pairs = FlowParser::parse(Rule::flow_file, source)
        .map_err(|error| vec![syntax_error(source, file, &error)])?;
    let Some(flow_file) = pairs.next() else {
        return Err(vec![
            Diagnostic::new(Code::DslSyntax, file, Span::default(), "the file is empty")
                .help("start the file with `flow <name>`"),
        ]);
    };
    let mut lower = Lower {
        file,
        diagnostics: Vec::new(),
    };
    let flow = lower.flow(flow_file);
    match flow {
        Some(flow) if lower.diagnostics.is_empty() => Ok(flow),
        _ if lower.diagnostics.is_empty() => Err(vec![
            Diagnostic::new(
                Code::DslSyntax,
                file,
                Span::default(),
                "the file has no flow header",
            )
            .help("start the file with `flow <name>`"),
        ]),
        _ => Err(lower.diagnostics),
    }
}

/// Walks a successful parse into the AST, collecting the problems the grammar cannot see
/// (lone surrogate escapes, numbers beyond `f64`, lists nested too deeply).
struct Lower {
    file: FileId,
    diagnostics: Vec<Diagnostic>,
}

impl Lower {
    fn flow(&mut self, flow_file: Pair<'_, Rule>) -> Option<Flow> {
        let mut header = None;
        let mut stages = Vec::new();
        for pair in flow_file.into_inner() {
            match pair.as_rule() {
                Rule::flow_header => header = Some(self.header(pair)),
                Rule::stage => stages.push(self.stage(pair)),
                _ => {}
            }
        }
        let (name, description) = header?;
        Some(Flow {
            name,
            description,
            stages,
        })
    }

    fn header(&mut self, header: Pair<'_, Rule>) -> (Spanned<String>, Option<Spanned<String>>) {
        let mut name = empty_name(span_of(&header));
        let mut description = None;
        for pair in header.into_inner() {
            match pair.as_rule() {
                Rule::flow_name => name = self.name(pair),
                Rule::description => description = Some(self.name(pair)),
                _ => {}
            }
        }
        (name, description)
    }

    fn stage(&mut self, stage: Pair<'_, Rule>) -> Stage {
        let span = span_of(&stage);
        let mut name = empty_name(span);
        let mut blocks = Vec::new();
        for pair in stage.into_inner() {
            match pair.as_rule() {
                Rule::stage_name => name = self.name(pair),
                Rule::block => blocks.push(self.block(pair)),
                _ => {}
            }
        }
        Stage { name, blocks, span }
    }

    fn block(&mut self, block: Pair<'_, Rule>) -> Block {
        let span = span_of(&block);
        let mut result = Block {
            id: empty_name(span),
            kind: empty_name(span),
            when: None,
            on_error: None,
            config: Vec::new(),
            span,
        };
        for pair in block.into_inner() {
            match pair.as_rule() {
                Rule::block_id => result.id = self.name(pair),
                Rule::block_type => result.kind = self.name(pair),
                Rule::condition => {
                    let quoted = pair
                        .clone()
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::string);
                    result.when = match quoted {
                        Some(string) => {
                            let text = self.string(string);
                            Some(Condition {
                                text: text.value,
                                span: text.span,
                            })
                        }
                        None => condition(pair),
                    };
                }
                Rule::on_error => {
                    result.on_error = pair
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::on_error_action)
                        .map(|p| self.name(p));
                }
                Rule::config => {
                    for entry in pair.into_inner().filter(|p| p.as_rule() == Rule::entry) {
                        if let Some(entry) = self.entry(entry) {
                            result.config.push(entry);
                        }
                    }
                }
                _ => {}
            }
        }
        result
    }

    fn entry(&mut self, entry: Pair<'_, Rule>) -> Option<ConfigEntry> {
        let mut key = None;
        let mut value = None;
        for pair in entry.into_inner() {
            match pair.as_rule() {
                Rule::config_key => key = Some(self.name(pair)),
                Rule::value => value = Some(self.value(pair, 0)),
                _ => {}
            }
        }
        Some(ConfigEntry {
            key: key?,
            value: value?,
        })
    }

    /// A name: the single `ident` or `string` inside a `flow_name`, `block_id`, ... pair.
    fn name(&mut self, pair: Pair<'_, Rule>) -> Spanned<String> {
        let span = span_of(&pair);
        match pair.into_inner().next() {
            Some(inner) if inner.as_rule() == Rule::string => self.string(inner),
            Some(inner) => Spanned::new(inner.as_str().to_string(), span_of(&inner)),
            None => empty_name(span),
        }
    }

    /// A string literal: the decoded text, spanned over the content between the quotes.
    fn string(&mut self, string: Pair<'_, Rule>) -> Spanned<String> {
        let outer = span_of(&string);
        match string
            .into_inner()
            .find(|p| p.as_rule() == Rule::string_content)
        {
            Some(content) => {
                let span = span_of(&content);
                Spanned::new(self.unescape(content.as_str(), span.start as usize), span)
            }
            None => empty_name(Span::new(
                outer.start as usize + 1,
                outer.start as usize + 1,
            )),
        }
    }

    fn value(&mut self, value: Pair<'_, Rule>, depth: usize) -> ConfigValue {
        let outer = span_of(&value);
        let Some(inner) = value.into_inner().next() else {
            return ConfigValue {
                kind: ConfigValueKind::Null,
                span: outer,
            };
        };
        let span = span_of(&inner);
        let kind = match inner.as_rule() {
            Rule::string => {
                let text = self.string(inner);
                return ConfigValue {
                    kind: ConfigValueKind::String(text.value),
                    span: text.span,
                };
            }
            Rule::number => ConfigValueKind::Number(self.number(inner.as_str(), span)),
            Rule::literal_true => ConfigValueKind::Bool(true),
            Rule::literal_false => ConfigValueKind::Bool(false),
            Rule::list if depth >= MAX_LIST_DEPTH => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::DslSyntax,
                        self.file,
                        Span::new(span.start as usize, span.start as usize + 1),
                        format!("lists nest more than {MAX_LIST_DEPTH} levels deep here"),
                    )
                    .label("this list is too deep")
                    .help("flatten the value, or pass structured data as a JSON string"),
                );
                ConfigValueKind::Null
            }
            Rule::list => ConfigValueKind::List(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::value)
                    .map(|p| self.value(p, depth + 1))
                    .collect(),
            ),
            _ => ConfigValueKind::Null,
        };
        ConfigValue { kind, span }
    }

    fn number(&mut self, text: &str, span: Span) -> f64 {
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => n,
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::DslSyntax,
                        self.file,
                        span,
                        format!("the number `{text}` is too large"),
                    )
                    .label("beyond the range of a 64-bit float")
                    .help("config numbers must lie within ±1.7e308"),
                );
                0.0
            }
        }
    }

    /// Decodes the JSON escapes the grammar admitted. `base` is the content's byte offset in
    /// the file, so that a bad `\u` escape is reported where it is.
    fn unescape(&mut self, raw: &str, base: usize) -> String {
        if !raw.contains('\\') {
            return raw.to_string();
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(i) = rest.find('\\') {
            out.push_str(&rest[..i]);
            let escape_start = base + (raw.len() - rest.len()) + i;
            let after = &rest[i + 1..];
            let Some(letter) = after.chars().next() else {
                break;
            };
            rest = &after[letter.len_utf8()..];
            match letter {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let (c, used) = decode_unicode_escape(rest);
                    rest = &rest[used..];
                    match c {
                        Some(c) => out.push(c),
                        None => self.diagnostics.push(
                            Diagnostic::new(
                                Code::DslSyntax,
                                self.file,
                                Span::new(escape_start, escape_start + 2 + used),
                                "this `\\u` escape is half of a UTF-16 surrogate pair",
                            )
                            .help(
                                "write a character outside the Basic Multilingual Plane as a \
                                 high and a low surrogate (`\\ud83d\\ude00`), or write it directly",
                            ),
                        ),
                    }
                }
                other => out.push(other),
            }
        }
        out.push_str(rest);
        out
    }
}

/// Decodes the four hex digits after `\u` (and a following low surrogate escape, if the
/// first is a high surrogate). Returns the character, if valid, and the bytes consumed.
fn decode_unicode_escape(rest: &str) -> (Option<char>, usize) {
    let Some(first) = rest.get(..4).and_then(|h| u32::from_str_radix(h, 16).ok()) else {
        return (None, 0);
    };
    if (0xD800..0xDC00).contains(&first) {
        let low = rest
            .get(4..10)
            .filter(|s| s.starts_with("\\u"))
            .and_then(|s| u32::from_str_radix(&s[2..], 16).ok())
            .filter(|low| (0xDC00..0xE000).contains(low));
        return match low {
            Some(low) => (
                char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)),
                10,
            ),
            None => (None, 4),
        };
    }
    (char::from_u32(first), 4)
}

/// The condition's text, trimmed of the layout whitespace around it, with a span over
/// exactly the bytes kept.
fn condition(condition: Pair<'_, Rule>) -> Option<Condition> {
    let text = condition
        .into_inner()
        .find(|p| p.as_rule() == Rule::condition_text)?;
    let raw = text.as_str();
    let start = text.as_span().start();
    let is_layout = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let trimmed_front = raw.trim_start_matches(is_layout);
    let trimmed = trimmed_front.trim_end_matches(is_layout);
    let offset = start + (raw.len() - trimmed_front.len());
    Some(Condition {
        text: trimmed.to_string(),
        span: Span::new(offset, offset + trimmed.len()),
    })
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

fn empty_name(span: Span) -> Spanned<String> {
    Spanned::new(String::new(), span)
}

/// Turns a pest failure into a diagnostic that names what the language expected there.
fn syntax_error(source: &str, file: FileId, error: &pest::error::Error<Rule>) -> Diagnostic {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(source: &str) -> Flow {
        match parse(source, FileId(0)) {
            Ok(flow) => flow,
            Err(diagnostics) => panic!("{source}\n{diagnostics:#?}"),
        }
    }

    fn parse_err(source: &str) -> Diagnostic {
        match parse(source, FileId(0)) {
            Ok(flow) => panic!("parsed: {flow:#?}"),
            Err(mut diagnostics) => diagnostics.remove(0),
        }
    }

    fn text(source: &str, span: Span) -> &str {
        &source[span.range()]
    }

    const EXAMPLE: &str = r#"# comments start with '#'
flow login "Default login flow"          # description string optional

stage identify {
  lookup: identity_lookup
  password: password_check
}

stage "Post-Auth" {                      # stage names: bare identifier or quoted string
  tor: deny when (event.request.asn.is_tor) {
    reason = "tor-exit-node-blocked"
  }
  log-user: run_action on_error continue {
    action = "log-user"
  }
  review: branch when (step.log-user.country in ["CN", "RU"] && event.user?.email != "") {
    to = "regional-review"
  }
}
"#;

    #[test]
    fn parses_the_reference_example_with_spans() {
        let flow = parse_ok(EXAMPLE);
        assert_eq!(flow.name.value, "login");
        assert_eq!(text(EXAMPLE, flow.name.span), "login");
        let description = flow
            .description
            .as_ref()
            .map(|d| (d.as_str(), text(EXAMPLE, d.span)));
        assert_eq!(
            description,
            Some(("Default login flow", "Default login flow"))
        );
        assert_eq!(flow.stages.len(), 2);
        let post = &flow.stages[1];
        assert_eq!(post.name.value, "Post-Auth");
        assert_eq!(text(EXAMPLE, post.name.span), "Post-Auth");
        assert!(text(EXAMPLE, post.span).starts_with("stage \"Post-Auth\""));
        assert!(text(EXAMPLE, post.span).ends_with('}'));
        let tor = &post.blocks[0];
        assert_eq!((tor.id.as_str(), tor.kind.as_str()), ("tor", "deny"));
        assert!(text(EXAMPLE, tor.span).starts_with("tor: deny"));
        assert!(text(EXAMPLE, tor.span).ends_with('}'));
        let when = tor
            .when
            .as_ref()
            .map(|w| (w.text.as_str(), text(EXAMPLE, w.span)));
        assert_eq!(
            when,
            Some(("event.request.asn.is_tor", "event.request.asn.is_tor"))
        );
        let reason = &tor.config[0];
        assert_eq!(reason.key.as_str(), "reason");
        assert_eq!(text(EXAMPLE, reason.value.span), "tor-exit-node-blocked");
        let log = &post.blocks[1];
        assert_eq!(log.on_error.as_ref().map(Spanned::as_str), Some("continue"));
        let review = &post.blocks[2];
        let condition = review.when.as_ref().map(|w| w.text.as_str());
        assert_eq!(
            condition,
            Some(r#"step.log-user.country in ["CN", "RU"] && event.user?.email != """#)
        );
    }

    #[test]
    fn condition_text_skips_parentheses_in_literals_and_trims_layout() {
        let source = "flow f\nstage s {\n  b: branch when (  (a == \")\") || b == '(\\'' \n ) \n}";
        let flow = parse_ok(source);
        let when = &flow.stages[0].blocks[0].when;
        let when = when
            .as_ref()
            .map(|w| (w.text.as_str(), text(source, w.span)));
        let expected = "(a == \")\") || b == '(\\''";
        assert_eq!(when, Some((expected, expected)));
    }

    #[test]
    fn hash_inside_a_condition_is_text_and_a_bom_is_skipped() {
        let source = "\u{feff}flow f # c\nstage s { b: t when (# not a comment\n  x) # c\n}";
        let flow = parse_ok(source);
        let when = flow.stages[0].blocks[0]
            .when
            .as_ref()
            .map(|w| w.text.as_str());
        assert_eq!(when, Some("# not a comment\n  x"));
        assert_eq!(text(source, flow.name.span), "f");
    }

    #[test]
    fn decodes_values_of_every_kind() {
        let source = r#"flow f
stage s {
  b: t {
    s = "a\"b\\c\u00e9\ud83d\ude00\n"
    n = -12.5e-1, i = 0
    t = true f = false z = null
    l = [1, ["x", []], null,]
  }
}"#;
        let flow = parse_ok(source);
        let block = &flow.stages[0].blocks[0];
        assert_eq!(
            block.config("s").and_then(ConfigValue::as_str),
            Some("a\"b\\cé😀\n")
        );
        assert_eq!(block.config("n").and_then(ConfigValue::as_f64), Some(-1.25));
        assert_eq!(block.config("i").and_then(ConfigValue::as_f64), Some(0.0));
        assert_eq!(
            block.config("t").map(|v| &v.kind),
            Some(&ConfigValueKind::Bool(true))
        );
        assert_eq!(
            block.config("z").map(|v| &v.kind),
            Some(&ConfigValueKind::Null)
        );
        let list = block.config("l").map(ConfigValue::to_json);
        assert_eq!(list, Some(serde_json::json!([1.0, ["x", []], null])));
        let s = block.config("s").map(|v| text(source, v.span));
        assert_eq!(s, Some(r#"a\"b\\c\u00e9\ud83d\ude00\n"#));
    }

    #[test]
    fn quoted_names_and_keywords() {
        let source = "flow \"stage\" stage \"when\" { \"a b\": \"x y\" on_error \"continue\" }";
        let flow = parse_ok(source);
        assert_eq!(flow.name.value, "stage");
        assert_eq!(flow.description, None);
        assert_eq!(flow.stages[0].name.value, "when");
        let block = &flow.stages[0].blocks[0];
        assert_eq!((block.id.as_str(), block.kind.as_str()), ("a b", "x y"));
        assert_eq!(text(source, block.id.span), "a b");
    }

    #[test]
    fn keywords_need_a_word_boundary() {
        let flow = parse_ok("flow flowing stage stages { whence: when-x on_error on_errors }");
        assert_eq!(flow.name.value, "flowing");
        let block = &flow.stages[0].blocks[0];
        assert_eq!(
            (block.id.as_str(), block.kind.as_str()),
            ("whence", "when-x")
        );
        assert_eq!(
            block.on_error.as_ref().map(Spanned::as_str),
            Some("on_errors")
        );
    }

    #[test]
    fn errors_name_what_was_expected_in_plain_words() {
        let d = parse_err("flow f\nstage s {\n  lookup identity_lookup\n}\n");
        assert_eq!(d.code, Code::DslSyntax);
        assert_eq!(d.message, "expected `:`, found `identity_lookup`");
        assert_eq!(d.span, Span::new(26, 41));
        assert!(d.help.is_some_and(|h| h.contains("id: type")));

        let d = parse_err("flow f\nstage s {\n  b: t { k = }\n}");
        assert!(d.message.starts_with("expected a value"), "{}", d.message);

        let d = parse_err("stage s {}");
        assert_eq!(
            d.message,
            "expected `flow` and the flow's name, found `stage`"
        );
        assert_eq!(d.span, Span::new(0, 5));
    }

    #[test]
    fn errors_for_unclosed_strings_and_conditions() {
        let d = parse_err("flow f \"desc\nstage s {}");
        assert_eq!(d.message, "this string is not closed");
        assert_eq!(d.span, Span::new(12, 13));

        let source = "flow f\nstage s {\n  b: deny when (a == \"x\" && (b) \n}\n";
        let d = parse_err(source);
        assert_eq!(d.message, "this condition's parenthesis is never closed");
        assert_eq!(text(source, d.span), "(");
        assert_eq!(d.span.start as usize, source.find("(a").unwrap_or(0));

        let d = parse_err("flow f\nstage s { b: t { k = \"a\\q\" } }");
        assert_eq!(d.message, "unknown escape `\\q` in a string");
    }

    #[test]
    fn errors_for_keywords_and_clause_order() {
        let d = parse_err("flow f\nstage s { when: deny }");
        assert!(d.help.is_some_and(|h| h.contains("\"when\"")));
        let d = parse_err("flow f\nstage s { b: when (x) }");
        assert!(d.help.is_some_and(|h| h.contains("before `when`")));
        let d = parse_err("flow f\nstage s { b: deny on_error continue when (x) }");
        assert_eq!(d.message, "`when` must come before `on_error`");
    }

    #[test]
    fn lone_surrogates_and_huge_numbers_are_diagnosed() {
        let d = parse_err("flow f stage s { b: t { k = \"\\ud800x\" } }");
        assert!(d.message.contains("surrogate"), "{}", d.message);
        let d = parse_err("flow f stage s { b: t { k = 1e999 } }");
        assert!(d.message.contains("too large"), "{}", d.message);
    }

    #[test]
    fn deep_nesting_is_a_diagnostic_not_a_crash() {
        let deep_list = format!(
            "flow f stage s {{ b: t {{ k = {}{} }} }}",
            "[".repeat(40),
            "]".repeat(40)
        );
        let d = parse_err(&deep_list);
        assert!(d.message.contains("nest"), "{}", d.message);
        // Far deeper than any stack allows: pest's stack guard turns it into an error.
        for depth in [5_000, 200_000] {
            let lists = format!("flow f stage s {{ b: t {{ k = {} }} }}", "[".repeat(depth));
            assert!(parse(&lists, FileId(0)).is_err());
            let parens = format!("flow f stage s {{ b: t when ({}) }}", "(".repeat(depth));
            assert!(parse(&parens, FileId(0)).is_err());
        }
    }

    #[test]
    fn never_panics_on_truncations_of_the_example() {
        for end in (0..=EXAMPLE.len()).filter(|&i| EXAMPLE.is_char_boundary(i)) {
            let source = &EXAMPLE[..end];
            if let Err(diagnostics) = parse(source, FileId(0)) {
                for d in diagnostics {
                    assert!(d.span.end as usize <= source.len());
                    let expected = d.message.split(", found").next().unwrap_or_default();
                    for raw in ["ident", "_name", "_id", "kw_", "EOI", "string_", "config_"] {
                        assert!(!expected.contains(raw), "rule name leaked: {}", d.message);
                    }
                }
            }
        }
    }
}
