//! `authflow lsp` latency: from a `didChange` of a 200-block flow to the `publishDiagnostics`
//! of its new version, through the server's real main loop over an in-memory connection
//! (the transport is the only difference from stdio), with the default debounce and with
//! none. The baseline in the same run is `authflow check` of the same workspace in-process
//! (load, parse, check, render), which is what the server does on every change.

use authflow::cli::Format;
use criterion::{Criterion, criterion_group, criterion_main};
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{Url, VersionedTextDocumentIdentifier};
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "support/generated.rs"]
mod generated;

/// A workspace with the 200-block flow and the log-user example's action run in it.
fn workspace(dir: &Path) -> std::path::PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/log-user");
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::create_dir_all(dir.join("actions")).unwrap();
    for file in [
        "authflow.yaml",
        "actions/log-user.js",
        "actions/log-user.yaml",
    ] {
        std::fs::copy(example.join(file), dir.join(file)).unwrap();
    }
    let flow = generated::generated_flow(200).replace(
        "      - id: risk\n        type: risk_evaluate\n",
        "      - id: risk\n        type: risk_evaluate\n      - id: log-user\n        type: run_action\n        config:\n          action: log-user\n",
    );
    // One block fewer elsewhere keeps the count at 200.
    let flow = flow.replacen(
        "      - id: b4\n        type: deny\n        when: event.request.asn.is_vpn && !event.user.email_verified\n        config:\n          reason: vpn-unverified\n",
        "",
        1,
    );
    let path = dir.join("flows/login.yaml");
    std::fs::write(&path, flow).unwrap();
    std::fs::canonicalize(path).unwrap()
}

/// A client on one end of an in-memory connection, the server on a thread at the other.
struct Client {
    connection: Connection,
    uri: Url,
    text: String,
    version: i32,
    server: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Client {
    fn start(flow: &Path, debounce_ms: u64) -> Client {
        let (server, connection) = Connection::memory();
        let handle = std::thread::spawn(move || {
            authflow::lsp::serve(server, authflow::lsp::Options::default())
        });
        let root = Url::from_file_path(flow.parent().unwrap().parent().unwrap()).unwrap();
        #[allow(deprecated)]
        let params = lsp_types::InitializeParams {
            root_uri: Some(root),
            initialization_options: Some(serde_json::json!({ "debounceMs": debounce_ms })),
            ..Default::default()
        };
        let request = Request::new(
            RequestId::from(1),
            lsp_types::request::Initialize::METHOD.into(),
            params,
        );
        connection.sender.send(request.into()).unwrap();
        loop {
            if let Message::Response(_) = connection.receiver.recv().unwrap() {
                break;
            }
        }
        connection
            .sender
            .send(Notification::new("initialized".into(), serde_json::json!({})).into())
            .unwrap();
        let uri = Url::from_file_path(flow).unwrap();
        let text = std::fs::read_to_string(flow).unwrap();
        let open = lsp_types::DidOpenTextDocumentParams {
            text_document: lsp_types::TextDocumentItem::new(
                uri.clone(),
                "yaml".into(),
                1,
                text.clone(),
            ),
        };
        let client = Client {
            connection,
            uri,
            text,
            version: 1,
            server: Some(handle),
        };
        client.notify(lsp_types::notification::DidOpenTextDocument::METHOD, open);
        client.wait_for_version(1);
        client
    }

    fn notify(&self, method: &str, params: impl serde::Serialize) {
        let n = Notification::new(method.into(), params);
        self.connection.sender.send(n.into()).unwrap();
    }

    /// Waits for the flow's diagnostics of `version`; returns how many there are.
    fn wait_for_version(&self, version: i32) -> usize {
        loop {
            let Message::Notification(n) = self.connection.receiver.recv().unwrap() else {
                continue;
            };
            if n.method != lsp_types::notification::PublishDiagnostics::METHOD {
                continue;
            }
            let p: lsp_types::PublishDiagnosticsParams = serde_json::from_value(n.params).unwrap();
            if p.uri == self.uri && p.version == Some(version) {
                return p.diagnostics.len();
            }
        }
    }

    /// Types one edit (alternately breaking and mending a read of `event.user`) and waits
    /// for its diagnostics; returns the time from sending to receiving.
    fn edit(&mut self) -> (Duration, usize) {
        let (from, to) = if self.version % 2 == 1 {
            ("event.user.email_verified", "event.user.email_verifed")
        } else {
            ("event.user.email_verifed", "event.user.email_verified")
        };
        let at = self.text.find(from).unwrap();
        let line = self.text[..at].matches('\n').count() as u32;
        let column = (at - self.text[..at].rfind('\n').map_or(0, |i| i + 1)) as u32;
        let range = lsp_types::Range::new(
            lsp_types::Position::new(line, column),
            lsp_types::Position::new(line, column + from.len() as u32),
        );
        self.text.replace_range(at..at + from.len(), to);
        self.version += 1;
        let change = lsp_types::DidChangeTextDocumentParams {
            text_document: VersionedTextDocumentIdentifier::new(self.uri.clone(), self.version),
            content_changes: vec![lsp_types::TextDocumentContentChangeEvent {
                range: Some(range),
                range_length: None,
                text: to.into(),
            }],
        };
        let started = Instant::now();
        self.notify(
            lsp_types::notification::DidChangeTextDocument::METHOD,
            change,
        );
        let count = self.wait_for_version(self.version);
        (started.elapsed(), count)
    }

    fn stop(mut self) {
        let shutdown = Request::new(
            RequestId::from(2),
            "shutdown".into(),
            serde_json::Value::Null,
        );
        self.connection.sender.send(shutdown.into()).unwrap();
        loop {
            if let Ok(Message::Response(_)) = self.connection.receiver.recv() {
                break;
            }
        }
        self.notify("exit", serde_json::Value::Null);
        if let Some(handle) = self.server.take() {
            handle.join().unwrap().unwrap();
        }
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let flow = workspace(dir.path());
    let (report, errors) =
        authflow::cli::check_report(Some(&flow), None, Format::Json, false).unwrap();
    assert!(!errors, "the generated flow must be clean: {report}");

    let mut group = c.benchmark_group("lsp-200-blocks");
    group.sample_size(30);
    group.bench_function("baseline-check-in-process", |b| {
        b.iter(|| authflow::cli::check_report(Some(&flow), None, Format::Json, false).unwrap())
    });
    let window = Duration::from_millis(authflow::lsp::DEFAULT_DEBOUNCE_MS);
    // (name, debounce, pause before each edit): an edit after a pause in typing (longer than
    // the window: checked at once), an edit right after the previous publish (as in fast
    // typing: it waits for the window), and no debounce at all.
    for (name, debounce, pause) in [
        (
            "change-to-diagnostics-after-a-pause",
            authflow::lsp::DEFAULT_DEBOUNCE_MS,
            window * 2,
        ),
        (
            "change-to-diagnostics-while-typing",
            authflow::lsp::DEFAULT_DEBOUNCE_MS,
            Duration::ZERO,
        ),
        ("change-to-diagnostics-no-debounce", 0, Duration::ZERO),
    ] {
        let mut client = Client::start(&flow, debounce);
        // Each edit really changes the diagnostics: one error appears, then goes away.
        let (_, first) = client.edit();
        let (_, second) = client.edit();
        assert!(
            first >= 1 && second == 0,
            "edits must toggle an error ({first}, {second})"
        );
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| {
                        std::thread::sleep(pause);
                        client.edit().0
                    })
                    .sum()
            })
        });
        client.stop();
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
