//! Recorded fetch responses as the test runner needs them: matched by method and URL, request
//! bodies kept (redacted) in the fetch records, and a fetch with no recording marked as such.

use std::collections::BTreeMap;

use authflow::js::{
    ActionInput, ActionSource, Engine, EngineConfig, FetchPolicy, Limits, RecordedResponse, Trigger,
};
use serde_json::{Value, json};

fn recorded(status: u16, body: &str) -> RecordedResponse {
    RecordedResponse {
        status,
        headers: BTreeMap::new(),
        body: body.to_owned(),
    }
}

#[test]
fn recordings_match_method_and_url_and_records_keep_bodies() {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let code = r#"exports.handler = async (event, api) => {
  const posted = await api.fetch('https://svc.example/v1', {
    method: 'POST', body: JSON.stringify({ code: 'login', key: event.secrets.KEY }),
  });
  api.state.set('post', await posted.text());
  const got = await api.fetch('https://svc.example/v1');
  api.state.set('get', await got.text());
  try {
    await api.fetch('https://svc.example/missing', { method: 'DELETE' });
  } catch (err) {
    api.state.set('missing', String(err.message));
  }
};"#;
    let action = ActionSource {
        slug: "fetcher".into(),
        file_name: "fetcher.js".into(),
        code: code.into(),
        trigger: Trigger::Login,
        modules: Vec::new(),
        secrets: BTreeMap::from([("KEY".to_owned(), "s3cr3t-value".to_owned())]),
    };
    let fetch = FetchPolicy {
        allow_prefixes: vec!["https://svc.example/".into()],
        responses: BTreeMap::from([
            (
                "POST https://svc.example/v1".to_owned(),
                recorded(201, "posted"),
            ),
            (
                "https://svc.example/v1".to_owned(),
                recorded(200, "any method"),
            ),
        ]),
    };
    let event = json!({ "request": { "ip": "203.0.113.9" } });
    let outcome = engine.run(
        "ten_a",
        &action,
        ActionInput {
            event: &event,
            limits: &Limits::default(),
            fetch: &fetch,
            clock_ms: 0,
        },
    );
    assert_eq!(outcome.failure, None);
    let state: BTreeMap<&str, &Value> = outcome
        .state_writes
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    assert_eq!(state["post"], &json!("posted"));
    assert_eq!(state["get"], &json!("any method"));
    assert_eq!(
        state["missing"],
        &json!("fetch failed: no recorded response for DELETE 'https://svc.example/missing'")
    );
    let fetches = &outcome.fetches;
    assert_eq!(fetches.len(), 3);
    assert_eq!(
        fetches[0].body.as_deref(),
        Some(r#"{"code":"login","key":"[redacted:KEY]"}"#)
    );
    assert_eq!(
        fetches[0].body_bytes,
        r#"{"code":"login","key":"s3cr3t-value"}"#.len()
    );
    assert_eq!(
        (fetches[0].status, fetches[0].unmatched),
        (Some(201), false)
    );
    assert_eq!(fetches[1].body, None);
    assert_eq!(fetches[1].method, "GET");
    assert_eq!((fetches[2].status, fetches[2].unmatched), (None, true));
}
