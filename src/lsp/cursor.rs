//! Where a position is in a file's structure, read from the text alone.
//!
//! Completion runs on text the user is typing, which often does not parse (`type:` with no
//! value yet, an unclosed `when (` in the DSL). So this module reads the lines around the
//! cursor the way a person does, by indentation and brackets, and names the place as a
//! logical path that both syntaxes share: `stages - blocks - config action` is the value of
//! a block's `action` key whether the file is YAML (`config: { action: lo| }`) or the DSL
//! (`action = "lo|"`). The completion table matches these paths. Nothing here panics on any
//! text; it returns `None` where it cannot tell.

/// What is being typed at the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A new key of the mapping at `path`, or a new item when `path` ends in a list (`-`).
    Entry,
    /// The value of the key that ends `path`.
    Value,
}

/// The list-item segment of a path.
pub const ITEM: &str = "-";

/// The place of a cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Keys from the document's root, `-` for a list item.
    pub path: Vec<String>,
    pub role: Role,
    /// Where the value's text starts: conditions and templates are read from here.
    pub value_start: usize,
    /// In a flow: the enclosing block, as written.
    pub block: Option<BlockText>,
}

/// A block's id and type as the text has them, even when the file does not parse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockText {
    pub id: Option<String>,
    pub kind: Option<String>,
}

impl Cursor {
    /// Whether the path matches `pattern`, where `*` matches any one segment.
    pub fn matches(&self, pattern: &[&str]) -> bool {
        self.path.len() == pattern.len()
            && self
                .path
                .iter()
                .zip(pattern)
                .all(|(seg, want)| *want == "*" || seg == want)
    }
}

// ---------------------------------------------------------------- YAML

/// One structural token at the start of a YAML line.
#[derive(Clone, Debug)]
enum Token {
    /// `- ` at this column.
    Dash(usize),
    /// `key:` at this column; the value text starts at the byte offset (within the line).
    Key(usize, String, usize),
}

/// The structural tokens a YAML line opens with: dashes and at most one `key:`.
fn line_tokens(line: &str) -> Vec<Token> {
    let bytes = line.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'-' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            tokens.push(Token::Dash(i));
            i += 1;
            continue;
        }
        break;
    }
    let rest = &line[i..];
    if let Some((key, after)) = key_of(rest) {
        tokens.push(Token::Key(i, key, i + after));
    }
    tokens
}

/// `name: ...` -> the name and where the text after `: ` starts.
fn key_of(text: &str) -> Option<(String, usize)> {
    let (name, colon) = if let Some(quoted) = text.strip_prefix('"') {
        let end = quoted.find('"')?;
        (quoted[..end].to_string(), end + 2)
    } else {
        let end = text.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))?;
        (text[..end].to_string(), end)
    };
    let after = &text[colon..];
    if name.is_empty() || !after.starts_with(':') {
        return None;
    }
    if after.len() > 1 && !after[1..].starts_with([' ', '\t']) {
        return None;
    }
    let spaces = after[1..].len() - after[1..].trim_start().len();
    Some((name, colon + 1 + spaces))
}

/// A level of the YAML path: its column, segment and line.
struct Level {
    col: usize,
    segment: String,
    line: usize,
}

fn apply(stack: &mut Vec<Level>, token: &Token, line: usize) {
    match token {
        Token::Dash(col) => {
            stack.retain(|l| l.col < *col || (l.col == *col && l.segment != ITEM));
            stack.push(Level {
                col: *col,
                segment: ITEM.into(),
                line,
            });
        }
        Token::Key(col, name, _) => {
            stack.retain(|l| l.col < *col);
            stack.push(Level {
                col: *col,
                segment: name.clone(),
                line,
            });
        }
    }
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The place of `offset` in a YAML document.
pub fn yaml(text: &str, offset: usize) -> Option<Cursor> {
    let offset = floor_boundary(text, offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let lines: Vec<&str> = text[..line_start].lines().collect();
    let mut stack: Vec<Level> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if is_blank_or_comment(line) {
            continue;
        }
        for token in line_tokens(line) {
            apply(&mut stack, &token, n);
        }
    }
    let current = lines.len();
    let prefix = &text[line_start..offset];
    if has_comment(prefix) {
        return None;
    }
    let tokens = line_tokens(prefix);
    let (role, value_start, extra) = match tokens.last() {
        Some(Token::Key(_, _, value)) if *value <= prefix.len() && prefix.contains(':') => {
            for token in &tokens {
                apply(&mut stack, token, current);
            }
            let (role, extra) = flow_collection(&prefix[*value..]);
            (role, line_start + value, extra)
        }
        _ => {
            for token in tokens.iter().filter(|t| matches!(t, Token::Dash(_))) {
                apply(&mut stack, token, current);
            }
            let col = prefix.len() - prefix.trim_start_matches([' ', '-']).len();
            stack.retain(|l| l.col < col);
            (Role::Entry, offset, Vec::new())
        }
    };
    let block = block_of(text, &stack);
    let mut path: Vec<String> = stack.into_iter().map(|l| l.segment).collect();
    path.extend(extra);
    Some(Cursor {
        path,
        role,
        value_start,
        block,
    })
}

/// A `#` outside quotes that starts a comment.
fn has_comment(prefix: &str) -> bool {
    let mut quote = None;
    let mut previous = ' ';
    for c in prefix.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous == ' ' || previous == '\t' => return true,
            _ => {}
        }
        previous = c;
    }
    false
}

/// Inside a value, the flow collections (`{ to: x }`, `[a, b]`) open before the cursor:
/// the role at the cursor and the path segments they add.
fn flow_collection(value: &str) -> (Role, Vec<String>) {
    struct Frame {
        map: bool,
        key: Option<String>,
        entry_start: usize,
    }
    let mut frames: Vec<Frame> = Vec::new();
    let mut quote = None;
    let bytes = value.as_bytes();
    for (i, c) in value.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' | '[' => frames.push(Frame {
                map: c == '{',
                key: None,
                entry_start: i + 1,
            }),
            '}' | ']' => {
                frames.pop();
            }
            ',' => {
                if let Some(f) = frames.last_mut() {
                    f.key = None;
                    f.entry_start = i + 1;
                }
            }
            ':' if bytes.get(i + 1).is_none_or(|b| *b == b' ') => {
                if let Some(f) = frames.last_mut().filter(|f| f.map && f.key.is_none()) {
                    f.key = Some(value[f.entry_start..i].trim().trim_matches('"').to_string());
                }
            }
            _ => {}
        }
    }
    let Some(last) = frames.len().checked_sub(1) else {
        return (Role::Value, Vec::new());
    };
    let mut extra = Vec::new();
    let mut role = Role::Entry;
    for (n, frame) in frames.iter().enumerate() {
        match (&frame.key, frame.map) {
            (_, false) => extra.push(ITEM.to_string()),
            (Some(key), true) => {
                extra.push(key.clone());
                if n == last {
                    role = Role::Value;
                }
            }
            (None, true) => {}
        }
    }
    (role, extra)
}

/// The block whose list item (`blocks: - ...`) holds the cursor: its `id:` and `type:`.
fn block_of(text: &str, stack: &[Level]) -> Option<BlockText> {
    let at = stack
        .windows(2)
        .rposition(|w| w[0].segment == "blocks" && w[1].segment == ITEM)?;
    let dash = &stack[at + 1];
    let mut block = BlockText::default();
    for (n, line) in text.lines().enumerate().skip(dash.line) {
        if n > dash.line && !is_blank_or_comment(line) {
            let indent = line.len() - line.trim_start().len();
            if indent <= dash.col {
                break;
            }
        }
        for token in line_tokens(line) {
            if let Token::Key(col, key, value) = token
                && col > dash.col
            {
                let value = scalar(&line[value.min(line.len())..]);
                match key.as_str() {
                    "id" if block.id.is_none() => block.id = value,
                    "type" if block.kind.is_none() => block.kind = value,
                    _ => {}
                }
            }
        }
        // `- { id: x, type: y }` and `config: { ... }` lines are not followed further.
    }
    Some(block)
}

/// A plain or quoted one-line scalar, without a trailing comment.
fn scalar(text: &str) -> Option<String> {
    let text = text.trim();
    let value = if let Some(quoted) = text.strip_prefix('"').or_else(|| text.strip_prefix('\'')) {
        quoted.split(['"', '\'']).next().unwrap_or("")
    } else {
        text.split(" #").next().unwrap_or("").trim()
    };
    (!value.is_empty()).then(|| value.to_string())
}

// ---------------------------------------------------------------- DSL

/// The place of `offset` in a flow DSL file (`grammar/flow.pest`).
pub fn dsl(text: &str, offset: usize) -> Option<Cursor> {
    let offset = floor_boundary(text, offset);
    let mut scan = DslScan::default();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < offset {
        let c = bytes[i];
        match c {
            b'#' => match text[i..].find('\n') {
                Some(n) if i + n < offset => i += n,
                _ => return None,
            },
            b'"' => {
                let end = string_end(text, i + 1);
                match end {
                    Some(e) if e < offset => {
                        scan.word(text[i + 1..e].to_string(), i);
                        i = e;
                    }
                    _ => return scan.cursor(In::String(i + 1)),
                }
            }
            b'(' if scan.expects_condition() => match paren_end(text, i + 1) {
                Some(e) if e < offset => {
                    scan.condition();
                    i = e;
                }
                _ => return scan.cursor(In::Condition(i + 1)),
            },
            b'{' => scan.open(),
            b'}' => scan.close(),
            b'[' => scan.depth_list += 1,
            b']' => scan.depth_list = scan.depth_list.saturating_sub(1),
            b':' => scan.punct(':'),
            b'=' => scan.punct('='),
            b',' => scan.punct(','),
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' => {
                let end = text[i..]
                    .find(|ch: char| !(ch.is_ascii_alphanumeric() || "_-.".contains(ch)))
                    .map_or(text.len(), |n| i + n);
                if end >= offset {
                    break; // the word being typed
                }
                scan.word(text[i..end].to_string(), i);
                i = end - 1;
            }
            _ => {}
        }
        i += 1;
    }
    scan.cursor(In::Plain(offset))
}

/// The byte after a string's closing quote is at the returned index + 1.
fn string_end(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// The index of the parenthesis that closes one opened just before `from`, skipping quotes.
fn paren_end(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1;
    let mut i = from;
    let mut quote = None;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Where the cursor stopped in the DSL scan.
enum In {
    Plain(usize),
    /// Inside a string whose content starts here.
    String(usize),
    /// Inside a condition's parentheses, whose text starts here.
    Condition(usize),
}

#[derive(Default)]
struct DslScan {
    /// 0 top level, 1 inside a stage, 2 inside a block's config.
    depth: usize,
    depth_list: usize,
    /// The current block's header words and punctuation, since it started.
    header: Vec<String>,
    /// In a block's config: the current entry's key and whether `=` followed it.
    key: Option<String>,
    equals: bool,
    block: BlockText,
}

impl DslScan {
    fn expects_condition(&self) -> bool {
        self.depth == 1 && self.header.last().is_some_and(|w| w == "when")
    }

    fn word(&mut self, word: String, _at: usize) {
        match self.depth {
            1 => {
                self.header.push(word);
            }
            // A value ends the entry; the next word is the next entry's key.
            2 if self.depth_list == 0 && self.equals => {
                self.key = None;
                self.equals = false;
            }
            2 if self.depth_list == 0 && self.key.is_none() => self.key = Some(word),
            _ => {}
        }
    }

    fn punct(&mut self, p: char) {
        match (self.depth, p) {
            (1, ':') => {
                // `id :` starts a new block; the word before the colon is its id.
                let id = self.header.pop();
                self.header = vec![id.clone().unwrap_or_default(), ":".into()];
                self.block = BlockText { id, kind: None };
            }
            (2, '=') if self.key.is_some() => self.equals = true,
            (2, ',') if self.depth_list == 0 => {
                self.key = None;
                self.equals = false;
            }
            _ => {}
        }
        if self.depth == 1 && self.header.len() == 3 {
            self.block.kind = self.header.get(2).cloned();
        }
    }

    fn condition(&mut self) {
        if self.depth == 1 {
            self.header.push("(condition)".into());
        }
    }

    fn open(&mut self) {
        if self.depth == 1 {
            self.block.kind = self.header.get(2).cloned();
        }
        self.depth += 1;
        self.key = None;
        self.equals = false;
        if self.depth == 1 {
            self.header.clear();
        }
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 1 {
            self.header.clear();
        }
    }

    fn cursor(mut self, at: In) -> Option<Cursor> {
        if self.depth == 1 && self.header.len() >= 3 {
            self.block.kind = self.header.get(2).cloned();
        }
        let block_path = |tail: &[&str]| {
            let mut path: Vec<String> = ["stages", ITEM, "blocks", ITEM]
                .iter()
                .map(|s| s.to_string())
                .collect();
            path.extend(tail.iter().map(|s| s.to_string()));
            path
        };
        let (path, role, value_start) = match (self.depth, &at) {
            (1, In::Condition(start)) => (block_path(&["when"]), Role::Value, *start),
            (1, In::String(start)) if self.header.last().is_some_and(|w| w == "when") => {
                (block_path(&["when"]), Role::Value, *start)
            }
            (1, In::Plain(start)) => match self.header.as_slice() {
                [_, colon] if colon == ":" => (block_path(&["type"]), Role::Value, *start),
                [.., last] if last == "on_error" => {
                    (block_path(&["on_error"]), Role::Value, *start)
                }
                _ => return None,
            },
            (2, _) => {
                let start = match at {
                    In::Plain(s) | In::String(s) | In::Condition(s) => s,
                };
                match (&self.key, self.equals) {
                    (Some(key), true) if self.depth_list > 0 => {
                        (block_path(&["config", key, ITEM]), Role::Entry, start)
                    }
                    (Some(key), true) => (block_path(&["config", key]), Role::Value, start),
                    _ => (block_path(&["config"]), Role::Entry, start),
                }
            }
            _ => return None,
        };
        Some(Cursor {
            path,
            role,
            value_start,
            block: Some(self.block),
        })
    }
}

fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> (String, usize) {
        let offset = text.find('|').expect("a | marks the cursor");
        (text.replacen('|', "", 1), offset)
    }

    fn path(cursor: &Cursor) -> String {
        cursor.path.join(" ")
    }

    /// The path and role `yaml` finds at the `|` of `marked`.
    fn yaml_at(marked: &str) -> Option<(String, Role)> {
        let (text, offset) = at(marked);
        yaml(&text, offset).map(|c| (path(&c), c.role))
    }

    #[test]
    fn yaml_places() {
        let flow = "flow: login\nstages:\n  - name: identify\n    blocks:\n      - id: lookup\n        type: identity_lookup\n      - id: tor\n        type: deny\n        when: event.req|\n";
        let (text, offset) = at(flow);
        let c = yaml(&text, offset).unwrap();
        assert_eq!(path(&c), "stages - blocks - when");
        assert_eq!(c.role, Role::Value);
        let block = c.block.unwrap();
        assert_eq!(block.id.as_deref(), Some("tor"));
        assert_eq!(block.kind.as_deref(), Some("deny"));

        for (marked, place, role) in [
            (
                "stages:\n  - blocks:\n      - id: a\n        type: |\n",
                "stages - blocks - type",
                Role::Value,
            ),
            (
                "stages:\n  - blocks:\n      - id: a\n        type: branch\n        config: { to: |}\n",
                "stages - blocks - config to",
                Role::Value,
            ),
            (
                "stages:\n  - blocks:\n      - id: a\n        type: log\n        config:\n          mes|\n",
                "stages - blocks - config",
                Role::Entry,
            ),
            (
                "name: x\nevents: [login.success, |]\n",
                "events -",
                Role::Entry,
            ),
            (
                "name: x\nmodules:\n  logger: |\n",
                "modules logger",
                Role::Value,
            ),
        ] {
            assert_eq!(
                yaml_at(marked),
                Some((place.to_string(), role)),
                "{marked:?}"
            );
        }
        assert_eq!(yaml_at("name: x # a comment |\n"), None);
    }

    #[test]
    fn dsl_places() {
        let flow = "flow login\n\nstage identify {\n  lookup: identity_lookup\n  tor: deny when (event.request.asn.is_tor && event.req|";
        let (text, offset) = at(flow);
        let c = dsl(&text, offset).unwrap();
        assert_eq!(
            (path(&c), c.role),
            ("stages - blocks - when".into(), Role::Value)
        );
        let block = c.block.clone().unwrap();
        assert_eq!(block.id.as_deref(), Some("tor"));
        assert_eq!(block.kind.as_deref(), Some("deny"));
        assert_eq!(&text[c.value_start..c.value_start + 5], "event");

        let (text, offset) = at("flow f\nstage s {\n  a: identity_lookup\n  b: ide|\n}");
        let c = dsl(&text, offset).unwrap();
        assert_eq!(path(&c), "stages - blocks - type");
        assert_eq!(c.block.unwrap().id.as_deref(), Some("b"));

        let (text, offset) =
            at("flow f\nstage s {\n  b: log {\n    level = \"info\"\n    mes|\n  }\n}");
        let c = dsl(&text, offset).unwrap();
        assert_eq!(
            (path(&c), c.role),
            ("stages - blocks - config".into(), Role::Entry)
        );
        assert_eq!(c.block.unwrap().kind.as_deref(), Some("log"));

        let (text, offset) = at("flow f\nstage s {\n  b: log {\n    message = \"hi {{ event.|");
        let c = dsl(&text, offset).unwrap();
        assert_eq!(
            (path(&c), c.role),
            ("stages - blocks - config message".into(), Role::Value)
        );

        let (text, offset) = at("flow f\nstage s {\n  b: run_action on_error |");
        let c = dsl(&text, offset).unwrap();
        assert_eq!(path(&c), "stages - blocks - on_error");

        let (text, offset) = at("flow f # |");
        assert_eq!(dsl(&text, offset), None);
    }
}
