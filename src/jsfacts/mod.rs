//! Static facts about one custom action's JavaScript source, for the checks to judge.
//!
//! [`analyze`] parses an action (or action module) with oxc and reports what the code reads
//! from `event`, which `api.*` methods it calls, what it writes to step state, which URLs it
//! fetches, which modules it requires and which secrets it reads. It only observes: it never
//! runs the code, never decides whether a fact is an error (that belongs to `check`), and never
//! panics on any input; a source with syntax errors yields the errors plus whatever facts the
//! recovered tree still holds.
//!
//! All spans are byte offsets into the `source` given to [`analyze`].

mod collect;

use oxc_allocator::Allocator;
use oxc_parser::{ParseOptions, Parser};
use oxc_span::SourceType;

use crate::catalog::api::Trigger;
use crate::span::Span;

/// Sources longer than this are not parsed: actions are a few kilobytes, and the limit bounds
/// the stack a pathological nesting can demand (see [`STACK_BYTES_PER_SOURCE_BYTE`]).
pub const MAX_SOURCE_BYTES: usize = 256 << 10;

/// The parser (oxc has no depth limit) and the fact collector both recurse once per nesting
/// level, and a nesting level costs at least one byte of source, so the stack needed grows
/// linearly with the source's length. The worst pattern measured, `[[[[…` on an unoptimised
/// build, needs about 2.5 KiB per byte; this keeps a threefold margin.
const STACK_BYTES_PER_SOURCE_BYTE: usize = 8 << 10;

/// Stack for the analysis' fixed frames, on top of the per-byte share.
const STACK_BASE_BYTES: usize = 256 << 10;

/// Every fact [`analyze`] found in one action source, each list in source order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionFacts {
    /// Parse errors reported by oxc; the other lists hold what the recovered tree still shows.
    pub syntax_errors: Vec<JsSyntaxError>,
    /// The exported entry point, when the source assigns one at top level.
    pub handler: Option<Handler>,
    /// Reads of the `event` object, one per longest static member chain.
    pub event_reads: Vec<EventRead>,
    /// Calls of `api.state.set(key, value)`.
    pub state_writes: Vec<StateWrite>,
    /// Calls of any `api.<x>(…)` or `api.<x>.<y>(…)` method.
    pub api_calls: Vec<ApiCall>,
    /// The first argument of every `api.fetch(…)` and global `fetch(…)` call.
    pub fetch_urls: Vec<FetchUrl>,
    /// Every `require(…)` call.
    pub requires: Vec<Require>,
    /// Reads of `event.secrets.X` and `actions.secrets.X` with a static name.
    pub secret_reads: Vec<SecretRead>,
    /// String-literal first arguments of `api.log(…)` with the literal's span, so a check can
    /// flag levels other than debug/info/warn/error.
    pub log_levels: Vec<(String, Span)>,
}

impl ActionFacts {
    /// The literal keys of the action's `api.state.set` calls, each once, in source order:
    /// the `step.<slug>.<key>` outputs it can write.
    pub fn state_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for key in self.state_writes.iter().filter_map(|w| w.key.as_deref()) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }
}

/// One syntax error from the parser (or the size limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsSyntaxError {
    /// The parser's message, e.g. "Expected `}` but found `EOF`".
    pub message: String,
    /// The span of the parser's first label; empty at offset 0 when it gave none.
    pub span: Span,
    /// The parser's suggestion, when it has one.
    pub help: Option<String>,
}

/// The entry point the source exports: the first top-level assignment to `exports.handler`,
/// `exports.onExecuteEventStream` (also through `module.exports`), or an object literal
/// assigned to `module.exports` holding either key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// Which trigger the export serves.
    pub kind: Trigger,
    /// The export target, e.g. `exports.handler`, or the key in a `module.exports` literal.
    pub span: Span,
    /// The handler function itself, when the exported value is (or names) a function.
    pub function_span: Option<Span>,
    /// The name of the first parameter (`event`, `ev`, …) when it is a plain identifier.
    pub event_param: Option<String>,
    /// The name of the second parameter (`api`, …) when it is a plain identifier.
    pub api_param: Option<String>,
}

/// One read of the event object: `event.request.geo.country` gives
/// `path == ["request", "geo", "country"]`.
///
/// The chain is followed while members are static (`.name` or `["literal"]`) and stops at a
/// computed non-literal member or a call; for a method call the method's name is dropped, so
/// `event.user.email.toLowerCase()` reads `["user", "email"]`. Roots are the handler's first
/// parameter inside the handler, the identifier `event` everywhere, and local names bound by
/// destructuring or by `const x = event.…` (see [`EventRead::via_alias`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRead {
    /// The members after `event`, never empty.
    pub path: Vec<String>,
    /// From the root identifier to the last member in `path`.
    pub span: Span,
    /// True when the read cannot throw even if `event.<path[0]>` is undefined. That holds when
    /// the chain has one member (`event.user`), when the member after `path[0]` is optional
    /// (`event.user?.email`; `event?.user.email` is not), when an enclosing `if`, `&&`, `||`,
    /// `?:` test or an earlier early-exit `if (!…) return;` in the same block proves some
    /// `event.<path[0]>…` chain truthy (`if (event.user) { event.user.email }`), or, for a
    /// destructuring pattern, when the pattern reads straight from `event` or has a default.
    pub guarded: bool,
    /// True when the root is a local alias rather than `event` itself: `user.email` after
    /// `const { user } = event`. An alias of a leaf (`const email = event.user.email`) makes
    /// `email.length` report `["user", "email", "length"]`, so checks that match paths against
    /// the event catalogue should stop at the catalogue's leaf for such reads.
    pub via_alias: bool,
}

/// One `api.state.set(key, value)` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    /// The key when it is a string literal or a template literal without substitutions.
    pub key: Option<String>,
    /// The whole call.
    pub span: Span,
    /// The first argument, when there is one.
    pub key_span: Option<Span>,
}

/// One call of an `api` method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// The members after `api`, joined by dots: "deny", "state.set", "log",
    /// "user.setAppMetadata", "session.setCustomClaim", "fetch".
    pub method: String,
    /// The whole call.
    pub span: Span,
}

/// Which function a [`FetchUrl`] was passed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FetchCallee {
    /// `api.fetch(…)`, which the runtime checks against the tenant's allowlist.
    Api,
    /// The global `fetch(…)`, as action modules use it.
    Global,
}

/// The first argument of one fetch call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchUrl {
    /// The URL when it is a string literal or a template literal without substitutions.
    pub url: Option<String>,
    /// The static text before the first substitution of a template literal
    /// (`https://api.x.com/` in `` `https://api.x.com/${id}` ``), or the leading string literal
    /// of a `+` concatenation; `None` when that text is empty or there is none.
    pub prefix: Option<String>,
    /// The first argument, or the whole call when it has no arguments.
    pub span: Span,
    /// Whether the call went through `api.fetch` or the global `fetch`.
    pub callee: FetchCallee,
}

/// One `require(…)` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Require {
    /// The module specifier (`actions:logger`, `axios`) when it is a string literal or a
    /// template literal without substitutions; `None` for a computed specifier.
    pub specifier: Option<String>,
    /// The whole call.
    pub span: Span,
}

/// Where a secret was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretSource {
    /// `event.secrets.X` in an action.
    EventSecrets,
    /// `actions.secrets.X` in an action module.
    ActionsSecrets,
}

/// One read of a named secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRead {
    /// The secret's name, e.g. `API_KEY`.
    pub name: String,
    /// From the root identifier to the secret's name.
    pub span: Span,
    /// Which object held it.
    pub via: SecretSource,
}

/// Parses `source` as a CommonJS script and collects every [`ActionFacts`] list.
///
/// Never panics. Sources over [`MAX_SOURCE_BYTES`] yield a single syntax error. The analysis
/// runs on a stack sized from the source's length (the caller's own when it has room), so a
/// pathological nesting cannot overflow the caller's stack.
pub fn analyze(source: &str) -> ActionFacts {
    if source.len() > MAX_SOURCE_BYTES {
        return ActionFacts {
            syntax_errors: vec![JsSyntaxError {
                message: format!(
                    "the action source is {} bytes; the analyser reads at most {MAX_SOURCE_BYTES}",
                    source.len()
                ),
                span: Span::new(0, 0),
                help: Some("split the action into an action module and a smaller action".into()),
            }],
            ..ActionFacts::default()
        };
    }
    // When the caller's stack has room for the worst nesting this source could hold, the
    // analysis runs in place; otherwise stacker maps a fresh stack of that size (reserved
    // address space, committed only as the recursion touches it) and runs it there. A failed
    // mapping panics inside stacker; it is caught so that the caller still gets an answer.
    let needed = STACK_BASE_BYTES + source.len() * STACK_BYTES_PER_SOURCE_BYTE;
    let analysed = std::panic::catch_unwind(|| {
        stacker::maybe_grow(needed, needed, || analyze_in_place(source))
    });
    analysed.unwrap_or_else(|_| ActionFacts {
        syntax_errors: vec![JsSyntaxError {
            message: "the action source could not be analysed: no memory for its stack".into(),
            span: Span::new(0, 0),
            help: None,
        }],
        ..ActionFacts::default()
    })
}

fn analyze_in_place(source: &str) -> ActionFacts {
    let allocator = Allocator::default();
    // Actions run as CommonJS function bodies, so a top-level `return` is legal.
    let options = ParseOptions {
        allow_return_outside_function: true,
        ..ParseOptions::default()
    };
    let parsed = Parser::new(&allocator, source, SourceType::cjs())
        .with_options(options)
        .parse();
    let syntax_errors = parsed
        .diagnostics
        .iter()
        .map(|diagnostic| JsSyntaxError {
            message: diagnostic.message.to_string(),
            span: diagnostic
                .labels
                .first()
                .map(|label| {
                    let start = label.offset() as usize;
                    Span::new(start, start + label.len() as usize)
                })
                .unwrap_or_default(),
            help: diagnostic.help.as_ref().map(ToString::to_string),
        })
        .collect();
    let mut facts = collect::collect(&parsed.program);
    facts.syntax_errors = syntax_errors;
    facts
}
