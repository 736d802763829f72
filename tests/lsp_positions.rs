//! Every request at every position: completion, hover and definition at each character of
//! each file of a workspace with non-ASCII text and mistakes in it, through the server's main
//! loop over an in-memory connection. The server must answer each one (no error, no panic)
//! and still be alive at the end.

mod support;
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::Url;
use serde_json::json;
use std::path::Path;
use support::copy_tree;

#[test]
fn every_request_at_every_position_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    copy_tree(&examples.join("action-modules"), &root);
    std::fs::write(
        root.join("flows/odd.yaml"),
        "flow: odd\ndescription: \"é🔒\"\nstages:\n  - name: é\n    blocks:\n      - id: x🔒\n        type: identity_lokup\n        when: event.user.é == \"🔒\" && step.\n        config: { to: , action: audit-login }\n      - id: b\n        type: branch\n        config:\n          to: [\n      - id: d\n        type:\n",
    )
    .unwrap();
    std::fs::write(
        root.join("flows/odd.flow"),
        "flow odd \"é\"\nstage s {\n  a: log when (event.user.email == \"🔒\" {\n    message = \"{{ event.\n  b: run_action on_error { action = [ }\n}\n}}\n",
    )
    .unwrap();
    let root = std::fs::canonicalize(&root).unwrap();

    let (server, client) = Connection::memory();
    let handle =
        std::thread::spawn(move || authflow::lsp::serve(server, authflow::lsp::Options::default()));
    let send = |m: Message| client.sender.send(m).unwrap();
    let mut next_id = 0;
    let mut request = |method: &str, params: serde_json::Value| {
        next_id += 1;
        send(Request::new(RequestId::from(next_id), method.into(), params).into());
        loop {
            match client.receiver.recv().unwrap() {
                Message::Response(r) if r.id == RequestId::from(next_id) => return r,
                _ => continue,
            }
        }
    };
    let root_uri = Url::from_file_path(&root).unwrap();
    let init = request(
        "initialize",
        json!({ "rootUri": root_uri, "capabilities": {} }),
    );
    assert!(init.response_result.is_ok());
    send(Notification::new("initialized".into(), json!({})).into());

    let files = [
        "flows/login.yaml",
        "flows/odd.yaml",
        "flows/odd.flow",
        "actions/audit-login.yaml",
        "actions/audit-login.js",
        "modules/logger/module.yaml",
        "authflow.yaml",
    ];
    let mut answered = 0;
    for file in files {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let uri = Url::from_file_path(&path).unwrap();
        send(
            Notification::new(
                "textDocument/didOpen".into(),
                json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }),
            )
            .into(),
        );
        for (line, content) in text.split('\n').enumerate() {
            let units = content.encode_utf16().count();
            for character in 0..=units + 1 {
                let position = json!({ "line": line, "character": character });
                let at = json!({ "textDocument": { "uri": uri }, "position": position });
                for method in [
                    "textDocument/completion",
                    "textDocument/hover",
                    "textDocument/definition",
                ] {
                    let response = request(method, at.clone());
                    assert!(
                        response.response_result.is_ok(),
                        "{method} at {file}:{line}:{character}: {:?}",
                        response.response_result.as_ref().err()
                    );
                    answered += 1;
                }
            }
        }
        for method in ["textDocument/formatting", "textDocument/documentSymbol"] {
            let params = json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } });
            assert!(
                request(method, params).response_result.is_ok(),
                "{method} on {file}"
            );
        }
    }
    assert!(answered > 3000, "only {answered} requests were made");
    request("shutdown", serde_json::Value::Null);
    send(Notification::new("exit".into(), serde_json::Value::Null).into());
    handle.join().expect("the server did not panic").unwrap();
}
