//! Facts that `jsfacts::analyze` must find in the reference actions and in the shapes the
//! checks depend on: guarded and unguarded reads, api calls, fetch URLs, modules, secrets.

use authflow::catalog::api::Trigger;
use authflow::jsfacts::{ActionFacts, FetchCallee, SecretSource, analyze};

/// The quickstart's log-user action, verbatim.
/// The custom-action quickstart, as the log-user example workspace ships it.
const LOG_USER: &str = include_str!("../examples/log-user/actions/log-user.js");

/// Each event read as `(dotted path, guarded)`, in source order.
fn reads(facts: &ActionFacts) -> Vec<(String, bool)> {
    facts
        .event_reads
        .iter()
        .map(|read| (read.path.join("."), read.guarded))
        .collect()
}

fn methods(facts: &ActionFacts) -> Vec<&str> {
    facts
        .api_calls
        .iter()
        .map(|call| call.method.as_str())
        .collect()
}

fn text(source: &str, span: authflow::span::Span) -> &str {
    &source[span.range()]
}

fn read(path: &str, guarded: bool) -> (String, bool) {
    (path.to_string(), guarded)
}

#[test]
fn log_user_quickstart() {
    let facts = analyze(LOG_USER);
    assert!(facts.syntax_errors.is_empty(), "{:?}", facts.syntax_errors);
    let handler = facts.handler.as_ref().expect("handler");
    assert_eq!(handler.kind, Trigger::Login);
    assert_eq!(text(LOG_USER, handler.span), "exports.handler");
    assert_eq!(handler.event_param.as_deref(), Some("event"));
    assert_eq!(handler.api_param.as_deref(), Some("api"));
    assert_eq!(
        reads(&facts),
        [read("user.email", true), read("request.geo.country", true)]
    );
    assert_eq!(
        text(LOG_USER, facts.event_reads[0].span),
        "event.user?.email"
    );
    let keys: Vec<_> = facts
        .state_writes
        .iter()
        .map(|write| write.key.as_deref())
        .collect();
    assert_eq!(keys, [Some("seen_email"), Some("country")]);
    assert_eq!(methods(&facts), ["log", "log", "state.set", "state.set"]);
    let levels: Vec<_> = facts
        .log_levels
        .iter()
        .map(|(level, _)| level.as_str())
        .collect();
    assert_eq!(levels, ["warn", "info"]);
    assert_eq!(text(LOG_USER, facts.log_levels[0].1), "'warn'");
}

#[test]
fn tor_deny_snippet_reads_unguarded() {
    let source = "exports.handler = async (event, api) => {\n\
                  if (event.request.asn.is_tor) { api.deny('tor-exit-node-blocked'); return;}\n};";
    let facts = analyze(source);
    assert_eq!(reads(&facts), [read("request.asn.is_tor", false)]);
    assert_eq!(methods(&facts), ["deny"]);
    assert_eq!(
        text(source, facts.api_calls[0].span),
        "api.deny('tor-exit-node-blocked')"
    );
}

#[test]
fn country_example() {
    let source = "exports.handler = async function (event, api) {\n\
        const country = event.request.geo.country;\n\
        if (country === 'CN' || country === 'RU') { api.state.set('requires_additional_review', true); \
        api.log('warn', `Login from restricted region: ${country}`);}\n};";
    let facts = analyze(source);
    assert_eq!(reads(&facts), [read("request.geo.country", false)]);
    assert_eq!(
        facts.state_writes[0].key.as_deref(),
        Some("requires_additional_review")
    );
    assert_eq!(methods(&facts), ["state.set", "log"]);
}

#[test]
fn unguarded_user_email() {
    let facts =
        analyze("exports.handler = async (event, api) => { api.log('info', event.user.email); };");
    assert_eq!(reads(&facts), [read("user.email", false)]);
}

#[test]
fn optional_chain_only_guards_the_member_after_the_group() {
    let facts = analyze(
        "exports.handler = async (event) => { event?.user.email; event.user?.email; event.user; \
         event.user.email.toLowerCase(); event.user?.email.trim(); event['user']['email']; event.user[k].x; };",
    );
    assert_eq!(
        reads(&facts),
        [
            read("user.email", false),
            read("user.email", true),
            read("user", true),
            read("user.email", false),
            read("user.email", true),
            read("user.email", false),
            read("user", false),
        ]
    );
}

#[test]
fn truthiness_guards() {
    let facts = analyze(
        "exports.handler = async (event, api) => {\n\
         if (event.user) { event.user.email; } else { event.user.name; }\n\
         event.user && event.user.id;\n\
         event.user ? event.user.a : event.user.b;\n\
         if (event.request.asn && event.request.asn.is_tor) {}\n\
         if (!event.client) return;\n\
         event.client.id;\n};",
    );
    assert_eq!(
        reads(&facts),
        [
            read("user", true),
            read("user.email", true),
            read("user.name", false),
            read("user", true),
            read("user.id", true),
            read("user", true),
            read("user.a", true),
            read("user.b", false),
            read("request.asn", false),
            read("request.asn.is_tor", true),
            read("client", true),
            read("client.id", true),
        ]
    );
}

#[test]
fn handler_parameter_names_are_followed() {
    let facts = analyze(
        "exports.handler = async (ev, a) => { a.deny(ev.user.email); };\n\
         function helper(ev) { return ev.not_an_event_read; }",
    );
    assert_eq!(reads(&facts), [read("user.email", false)]);
    assert_eq!(methods(&facts), ["deny"]);
}

#[test]
fn handler_named_elsewhere() {
    let facts = analyze(
        "async function run(e, x) { x.state.set('k', e.user?.id); }\nexports.handler = run;",
    );
    assert_eq!(
        facts
            .handler
            .as_ref()
            .and_then(|h| h.event_param.as_deref()),
        Some("e")
    );
    assert_eq!(reads(&facts), [read("user.id", true)]);
    assert_eq!(facts.state_writes[0].key.as_deref(), Some("k"));
}

#[test]
fn template_literal_fetch_urls() {
    let source = "exports.handler = async (event, api) => {\n\
        await api.fetch(`https://api.x.com/users/${event.user?.id}`);\n\
        await api.fetch(`https://api.x.com/health`);\n\
        await api.fetch('https://a.b/' + id);\n\
        await api.fetch(event.secrets.URL);\n};";
    let facts = analyze(source);
    let urls: Vec<_> = facts
        .fetch_urls
        .iter()
        .map(|f| (f.url.as_deref(), f.prefix.as_deref(), f.callee))
        .collect();
    assert_eq!(
        urls,
        [
            (None, Some("https://api.x.com/users/"), FetchCallee::Api),
            (Some("https://api.x.com/health"), None, FetchCallee::Api),
            (None, Some("https://a.b/"), FetchCallee::Api),
            (None, None, FetchCallee::Api),
        ]
    );
    assert_eq!(
        text(source, facts.fetch_urls[1].span),
        "`https://api.x.com/health`"
    );
    assert_eq!(
        reads(&facts),
        [read("user.id", true), read("secrets.URL", false)]
    );
    assert_eq!(facts.secret_reads[0].name, "URL");
}

#[test]
fn module_with_require_and_actions_secrets() {
    let source = r#"const logger = require('actions:logger');
const dynamic = require(name);
module.exports = {
  sendLog: async (code, message) => {
    await fetch(actions.secrets.SERVICE_URL, {
      method: 'POST',
      headers: { 'X-API-Key': actions.secrets['API_KEY'] },
      body: JSON.stringify({ code, message }),
    });
  }
};"#;
    let facts = analyze(source);
    assert!(facts.syntax_errors.is_empty());
    assert!(facts.handler.is_none());
    let specifiers: Vec<_> = facts
        .requires
        .iter()
        .map(|r| r.specifier.as_deref())
        .collect();
    assert_eq!(specifiers, [Some("actions:logger"), None]);
    assert_eq!(
        text(source, facts.requires[0].span),
        "require('actions:logger')"
    );
    let secrets: Vec<_> = facts
        .secret_reads
        .iter()
        .map(|s| (s.name.as_str(), s.via))
        .collect();
    assert_eq!(
        secrets,
        [
            ("SERVICE_URL", SecretSource::ActionsSecrets),
            ("API_KEY", SecretSource::ActionsSecrets)
        ]
    );
    assert_eq!(
        text(source, facts.secret_reads[0].span),
        "actions.secrets.SERVICE_URL"
    );
    assert_eq!(facts.fetch_urls.len(), 1);
    assert_eq!(facts.fetch_urls[0].callee, FetchCallee::Global);
    assert!(facts.api_calls.is_empty());
}

#[test]
fn event_stream_handler() {
    let source = "exports.onExecuteEventStream = async (event, api) => {\n\
        const message = event.message;\n\
        await fetch(event.secrets.URL, { headers: { 'X-API-Key': event.secrets.API_KEY } });\n};";
    let facts = analyze(source);
    let handler = facts.handler.as_ref().expect("handler");
    assert_eq!(handler.kind, Trigger::EventStream);
    assert_eq!(text(source, handler.span), "exports.onExecuteEventStream");
    assert_eq!(
        reads(&facts),
        [
            read("message", true),
            read("secrets.URL", false),
            read("secrets.API_KEY", false)
        ]
    );
    let secrets: Vec<_> = facts
        .secret_reads
        .iter()
        .map(|s| (s.name.as_str(), s.via))
        .collect();
    assert_eq!(
        secrets,
        [
            ("URL", SecretSource::EventSecrets),
            ("API_KEY", SecretSource::EventSecrets)
        ]
    );
}

#[test]
fn module_exports_object_handler() {
    let facts = analyze("module.exports = { handler: async (event, api) => api.deny('no') };");
    assert_eq!(facts.handler.as_ref().map(|h| h.kind), Some(Trigger::Login));
    assert_eq!(methods(&facts), ["deny"]);
}

#[test]
fn syntax_error_has_span_and_partial_facts() {
    let source = "exports.handler = async (event, api) => {\n  api.deny(event.user.email;\n};";
    let facts = analyze(source);
    assert!(!facts.syntax_errors.is_empty());
    let error = &facts.syntax_errors[0];
    assert!(!error.message.is_empty());
    assert!(error.span.end as usize <= source.len());
    assert!(
        error.span.start >= source.find("api.deny").unwrap_or(0) as u32,
        "{error:?}"
    );
}

#[test]
fn destructuring() {
    let source = "exports.handler = async (event, api) => {\n\
        const { user, request: { geo } } = event;\n\
        api.log('info', user.email);\n\
        geo.country;\n\
        const { email } = event.user;\n\
        const { tier } = event.user?.app_metadata ?? {};\n};";
    let facts = analyze(source);
    assert_eq!(
        reads(&facts),
        [
            read("user", true),
            read("request", true),
            read("request.geo", false),
            read("user.email", false),
            read("request.geo.country", true),
            read("user", true),
            read("user.email", false),
            read("user.app_metadata", true),
            read("user.app_metadata.tier", true),
        ]
    );
    let via_alias: Vec<_> = facts.event_reads.iter().map(|r| r.via_alias).collect();
    assert_eq!(
        via_alias,
        [false, false, false, true, true, false, false, false, false]
    );
}

#[test]
fn destructured_handler_parameter() {
    let facts = analyze("exports.handler = async ({ user }, api) => { api.deny(user?.email); };");
    assert_eq!(
        reads(&facts),
        [read("user", true), read("user.email", true)]
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    let deep_parens = format!("{}x{}", "(".repeat(20_000), ")".repeat(20_000));
    let deep_not = format!("{}x", "!".repeat(50_000));
    let deep_arrows = "a=>".repeat(20_000);
    let deep_members = format!("event{}", ".a".repeat(50_000));
    // Each pathological nesting, at several sizes around the inline limit and far beyond it.
    let inline = [
        format!("{}x{}", "(".repeat(511), ")".repeat(512)),
        format!("{}x", "!".repeat(1023)),
        format!("{}x", "- ".repeat(511)),
        "[".repeat(1024),
        "{".repeat(1024),
        "`${".repeat(341),
        "x?".repeat(512),
        "a=>".repeat(341),
        "new ".repeat(256),
        format!("if(x){}", "if(x)".repeat(203)),
        "x=".repeat(512),
        "function f(){".repeat(78),
    ];
    for source in &inline {
        for len in [64, 128, 129, 1024] {
            let cut = (0..=len.min(source.len()))
                .rev()
                .find(|&at| source.is_char_boundary(at));
            let _ = analyze(&source[..cut.unwrap_or(0)]);
        }
    }
    let _ = analyze(&"[".repeat(authflow::jsfacts::MAX_SOURCE_BYTES));
    let _ = analyze(&"[".repeat(authflow::jsfacts::MAX_SOURCE_BYTES + 1));
    for source in [
        "",
        "exports.handler =",
        "\u{0}\u{ffff}",
        "api.state.set()",
        "require()",
        "`${",
        "exports.handler = 1",
    ]
    .into_iter()
    .map(String::from)
    .chain([deep_parens, deep_not, deep_arrows, deep_members])
    {
        let _ = analyze(&source);
    }
}
