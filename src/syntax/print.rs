//! Canonical printers: the AST back to DSL text (`to_dsl`) or to YAML (`to_yaml`).
//!
//! Both ignore spans and comments and print one fixed layout, so that formatting a file
//! twice gives the same text and either output parses back to an equal AST
//! (`Flow::without_spans`). The printers never fail: names that are not identifiers are
//! quoted, and YAML scalars are quoted exactly when a plain scalar could be misread.
//! Non-finite numbers, which no front end produces, print as `null` in the DSL (as
//! `ConfigValue::to_json` does) and as `.inf`/`.nan` in YAML.

use super::ast::{Block, ConfigValue, ConfigValueKind, Flow};
use std::fmt::Write as _;

/// The flow in the DSL's canonical layout: two-space indentation, one block per line, one
/// config entry per line, a blank line before each stage.
pub fn to_dsl(flow: &Flow) -> String {
    let mut out = String::new();
    out.push_str("flow ");
    out.push_str(&dsl_name(&flow.name.value));
    if let Some(description) = &flow.description {
        out.push(' ');
        out.push_str(&dsl_string(&description.value));
    }
    out.push('\n');
    for stage in &flow.stages {
        out.push_str("\nstage ");
        out.push_str(&dsl_name(&stage.name.value));
        if stage.blocks.is_empty() {
            out.push_str(" {}\n");
            continue;
        }
        out.push_str(" {\n");
        for block in &stage.blocks {
            dsl_block(&mut out, block);
        }
        out.push_str("}\n");
    }
    out
}

fn dsl_block(out: &mut String, block: &Block) {
    out.push_str("  ");
    out.push_str(&dsl_name(&block.id.value));
    out.push_str(": ");
    out.push_str(&dsl_name(&block.kind.value));
    if let Some(when) = &block.when {
        out.push_str(" when ");
        out.push_str(&dsl_condition(&when.text));
    }
    if let Some(on_error) = &block.on_error {
        out.push_str(" on_error ");
        out.push_str(&dsl_name(&on_error.value));
    }
    if !block.config.is_empty() {
        out.push_str(" {\n");
        for entry in &block.config {
            out.push_str("    ");
            out.push_str(&dsl_name(&entry.key.value));
            out.push_str(" = ");
            dsl_value(out, &entry.value);
            out.push('\n');
        }
        out.push_str("  }");
    }
    out.push('\n');
}

fn dsl_value(out: &mut String, value: &ConfigValue) {
    match &value.kind {
        ConfigValueKind::Null => out.push_str("null"),
        ConfigValueKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ConfigValueKind::Number(n) if n.is_finite() => out.push_str(&number(*n)),
        ConfigValueKind::Number(_) => out.push_str("null"),
        ConfigValueKind::String(s) => out.push_str(&dsl_string(s)),
        ConfigValueKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dsl_value(out, item);
            }
            out.push(']');
        }
    }
}

/// A condition in parentheses when the DSL reads that back as the same text (balanced
/// parentheses outside string literals, no surrounding whitespace, not empty), else as a
/// string literal, so that any condition YAML can hold survives conversion.
fn dsl_condition(text: &str) -> String {
    let probe = format!("flow f\nstage s {{\n  b: t when ({text})\n}}\n");
    let verbatim = !text.is_empty()
        && text.trim_matches([' ', '\t', '\r', '\n']) == text
        && super::dsl::parse(&probe, crate::diagnostic::FileId(0))
            .ok()
            .and_then(|flow| flow.stages.first()?.blocks.first()?.when.clone())
            .is_some_and(|when| when.text == text);
    if verbatim {
        format!("({text})")
    } else {
        dsl_string(text)
    }
}

/// A name bare when the grammar reads it back as the same identifier, else quoted.
fn dsl_name(name: &str) -> String {
    if is_bare_name(name) {
        name.to_string()
    } else {
        dsl_string(name)
    }
}

/// Whether `name` matches the grammar's `ident` (and so is not a keyword).
pub fn is_bare_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(name, "flow" | "stage" | "when" | "on_error")
}

/// A double-quoted DSL string with JSON escapes. Characters that are invisible or break
/// lines in an editor are escaped too, so the printed file shows every character.
fn dsl_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        push_json_escaped(&mut out, c);
    }
    out.push('"');
    out
}

/// Pushes `c` as it appears inside a JSON (and YAML) double-quoted string.
fn push_json_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

/// Control characters, C1 controls, line and paragraph separators, the byte-order mark
/// and the noncharacters that YAML excludes from its printable set.
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}'
    )
}

/// A finite number in a form that both the DSL and YAML (1.1 and 1.2) read back as the same
/// `f64`: integers without a fraction, very large or small magnitudes as `1.0e+21`, the rest
/// in Rust's shortest round-trip decimal form. Negative zero keeps its sign as `-0.0`.
fn number(n: f64) -> String {
    if n == 0.0 {
        return if n.is_sign_negative() { "-0.0" } else { "0" }.to_string();
    }
    let magnitude = n.abs();
    if (1e-5..1e16).contains(&magnitude) {
        return n.to_string();
    }
    let scientific = format!("{n:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let dot = if mantissa.contains('.') { "" } else { ".0" };
    let sign = if exponent.starts_with('-') { "" } else { "+" };
    format!("{mantissa}{dot}e{sign}{exponent}")
}

/// The flow as YAML, in the key order `flow`, `description`, `stages`; `name`, `blocks`;
/// `id`, `type`, `when`, `on_error`, `config`. Lists in config use block style.
pub fn to_yaml(flow: &Flow) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flow: {}", yaml_string(&flow.name.value));
    if let Some(description) = &flow.description {
        let _ = writeln!(out, "description: {}", yaml_string(&description.value));
    }
    if flow.stages.is_empty() {
        out.push_str("stages: []\n");
        return out;
    }
    out.push_str("stages:\n");
    for stage in &flow.stages {
        let _ = writeln!(out, "  - name: {}", yaml_string(&stage.name.value));
        if stage.blocks.is_empty() {
            out.push_str("    blocks: []\n");
            continue;
        }
        out.push_str("    blocks:\n");
        for block in &stage.blocks {
            yaml_block(&mut out, block);
        }
    }
    out
}

fn yaml_block(out: &mut String, block: &Block) {
    let _ = writeln!(out, "      - id: {}", yaml_string(&block.id.value));
    let _ = writeln!(out, "        type: {}", yaml_string(&block.kind.value));
    if let Some(when) = &block.when {
        let _ = writeln!(out, "        when: {}", yaml_condition(&when.text));
    }
    if let Some(on_error) = &block.on_error {
        let _ = writeln!(out, "        on_error: {}", yaml_string(&on_error.value));
    }
    if block.config.is_empty() {
        return;
    }
    out.push_str("        config:\n");
    for entry in &block.config {
        let _ = write!(out, "          {}:", yaml_string(&entry.key.value));
        match &entry.value.kind {
            ConfigValueKind::List(items) if !items.is_empty() => {
                out.push('\n');
                yaml_list(out, items, 12, false);
            }
            _ => {
                out.push(' ');
                yaml_scalar(out, &entry.value);
                out.push('\n');
            }
        }
    }
}

/// A block-style sequence at `indent`. With `inline_first`, the first item continues the
/// current line (the `- ` of an enclosing sequence item was just written).
fn yaml_list(out: &mut String, items: &[ConfigValue], indent: usize, inline_first: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline_first {
            out.extend(std::iter::repeat_n(' ', indent));
        }
        out.push_str("- ");
        match &item.kind {
            ConfigValueKind::List(inner) if !inner.is_empty() => {
                yaml_list(out, inner, indent + 2, true);
            }
            _ => {
                yaml_scalar(out, item);
                out.push('\n');
            }
        }
    }
}

fn yaml_scalar(out: &mut String, value: &ConfigValue) {
    match &value.kind {
        ConfigValueKind::Null => out.push_str("null"),
        ConfigValueKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ConfigValueKind::Number(n) if n.is_nan() => out.push_str(".nan"),
        ConfigValueKind::Number(n) if n.is_infinite() => {
            out.push_str(if *n > 0.0 { ".inf" } else { "-.inf" });
        }
        ConfigValueKind::Number(n) => out.push_str(&number(*n)),
        ConfigValueKind::String(s) => out.push_str(&yaml_string(s)),
        ConfigValueKind::List(_) => out.push_str("[]"),
    }
}

/// A YAML string scalar: plain when that is unambiguous, else double-quoted.
fn yaml_string(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_string()
    } else {
        yaml_double_quoted(text)
    }
}

/// A condition: plain when safe; single-quoted when it holds `"` (so conditions full of
/// string literals stay readable) and nothing that needs an escape; else double-quoted.
fn yaml_condition(text: &str) -> String {
    if is_plain_safe(text) {
        return text.to_string();
    }
    if text.contains('"') && !text.chars().any(needs_escape) {
        return format!("'{}'", text.replace('\'', "''"));
    }
    yaml_double_quoted(text)
}

fn yaml_double_quoted(text: &str) -> String {
    // JSON's escapes are a subset of YAML's double-quoted escapes.
    dsl_string(text)
}

/// Whether `text` as a plain scalar in block context reads back as this same string under
/// both YAML 1.2 and 1.1 resolution. Deliberately conservative: anything that could be a
/// number, boolean, null, timestamp, indicator or comment is quoted.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if first.is_ascii_digit() || "-?:,[]{}#&*!|>'\"%@`+.~=<\\ ".contains(first) {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) {
        return false;
    }
    !(text.ends_with(' ')
        || text.ends_with(':')
        || text.contains(": ")
        || text.contains(" #")
        || text.chars().any(|c| needs_escape(c) || c == '\u{85}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::FileId;
    use crate::syntax::dsl;

    const EXAMPLE: &str = r#"# A comment that the printer drops.
flow login "Default login flow"
stage identify { lookup: identity_lookup
  password: password_check }
stage "Post-Auth" {
  tor: deny when ( event.request.asn.is_tor ) { reason = "tor-exit-node-blocked" }
  log-user: run_action on_error continue {
    action = "log-user", retries = 3, ratio = 0.1, tags = ["a", ["b"], []]
  }
  review: branch when (step.log-user.country in ["CN", "RU"] && event.user?.email != "") {
    to = "regional-review"
  }
  empty: noop {}
}
stage "empty stage" {}
"#;

    const CANONICAL_DSL: &str = r#"flow login "Default login flow"

stage identify {
  lookup: identity_lookup
  password: password_check
}

stage Post-Auth {
  tor: deny when (event.request.asn.is_tor) {
    reason = "tor-exit-node-blocked"
  }
  log-user: run_action on_error continue {
    action = "log-user"
    retries = 3
    ratio = 0.1
    tags = ["a", ["b"], []]
  }
  review: branch when (step.log-user.country in ["CN", "RU"] && event.user?.email != "") {
    to = "regional-review"
  }
  empty: noop
}

stage "empty stage" {}
"#;

    const CANONICAL_YAML: &str = r#"flow: login
description: Default login flow
stages:
  - name: identify
    blocks:
      - id: lookup
        type: identity_lookup
      - id: password
        type: password_check
  - name: Post-Auth
    blocks:
      - id: tor
        type: deny
        when: event.request.asn.is_tor
        config:
          reason: tor-exit-node-blocked
      - id: log-user
        type: run_action
        on_error: continue
        config:
          action: log-user
          retries: 3
          ratio: 0.1
          tags:
            - a
            - - b
            - []
      - id: review
        type: branch
        when: step.log-user.country in ["CN", "RU"] && event.user?.email != ""
        config:
          to: regional-review
      - id: empty
        type: noop
  - name: empty stage
    blocks: []
"#;

    fn parse(source: &str) -> Flow {
        match dsl::parse(source, FileId(0)) {
            Ok(flow) => flow,
            Err(diagnostics) => panic!("{source}\n{diagnostics:#?}"),
        }
    }

    #[test]
    fn dsl_output_is_canonical_and_a_fixed_point() {
        let printed = to_dsl(&parse(EXAMPLE));
        assert_eq!(printed, CANONICAL_DSL);
        assert_eq!(to_dsl(&parse(&printed)), printed);
        assert_eq!(
            parse(&printed).without_spans(),
            parse(EXAMPLE).without_spans()
        );
    }

    #[test]
    fn yaml_output_matches_the_documented_form() {
        assert_eq!(to_yaml(&parse(EXAMPLE)), CANONICAL_YAML);
    }

    #[test]
    fn numbers_read_back_exactly() {
        let cases = [
            (0.1, "0.1"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (1e21, "1.0e+21"),
            (1.5e-7, "1.5e-7"),
            (-0.0, "-0.0"),
            (0.0, "0"),
            (9007199254740992.0, "9007199254740992"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5.0e-324"),
        ];
        for (n, text) in cases {
            assert_eq!(number(n), text);
            assert_eq!(
                text.parse::<f64>().ok().map(f64::to_bits),
                Some(n.to_bits())
            );
        }
    }

    #[test]
    fn yaml_quotes_exactly_the_ambiguous_strings() {
        let quoted = [
            "",
            "true",
            "False",
            "yes",
            "N",
            "null",
            "~",
            "1",
            "1.0",
            "0x1f",
            ".inf",
            "-1",
            "- x",
            "a: b",
            "a:",
            "#x",
            "a #b",
            " lead",
            "trail ",
            "@x",
            "`x",
            "*x",
            "&x",
            "!x",
            "|",
            ">",
            "%x",
            "'x",
            "\"x",
            "[x",
            "{x",
            "?x",
            ":x",
            "2024-01-01",
            "a\nb",
            "\u{85}",
        ];
        for text in quoted {
            assert!(!is_plain_safe(text), "{text:?} must be quoted");
        }
        for text in [
            "login",
            "Post-Auth",
            "a:b",
            "a#b",
            "Café ☕",
            "x [y] {z}",
            "O'Brien",
        ] {
            assert!(is_plain_safe(text), "{text:?} can be plain");
        }
        assert_eq!(yaml_string("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(yaml_condition(r#""x" == a"#), r#"'"x" == a'"#);
        assert_eq!(yaml_condition("'it''s' == \"x\""), "'''it''''s'' == \"x\"'");
        assert_eq!(yaml_condition("!a"), r#""!a""#);
        assert_eq!(yaml_condition("\"a\"\n"), r#""\"a\"\n""#);
    }

    #[test]
    fn names_are_quoted_when_not_identifiers() {
        assert_eq!(dsl_name("log-user"), "log-user");
        assert_eq!(dsl_name("when"), "\"when\"");
        assert_eq!(dsl_name("when-x"), "when-x");
        assert_eq!(dsl_name("-x"), "\"-x\"");
        assert_eq!(dsl_name(""), "\"\"");
        assert_eq!(dsl_name("a\u{2028}\u{7}"), "\"a\\u2028\\u0007\"");
    }
}
