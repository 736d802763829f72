//! The DSL front end: a flow written in the text DSL (grammar/flow.pest) -> the spanned AST.
//!
//! pest checks the grammar; `Lower` then walks the parse tree into `ast`, decoding string
//! escapes and numbers and giving every node the byte span it came from. Conditions stay raw
//! text (the `expr` module parses them). Syntax errors become one `AF002` diagnostic at the
//! failing position, worded in terms of the language rather than grammar rule names (that
//! wording lives in `errors.rs`, apart from the parser). Nothing here panics, whatever the
//! input.

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

mod errors;

use errors::syntax_error;
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
