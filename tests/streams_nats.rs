//! Event streams on a real NATS JetStream server: each test starts Debian's `nats-server -js`
//! on a free loopback port, publishes events with `authflow stream publish`, and runs
//! `authflow stream consume` processes as one consumer group. Checked: every event's effect is
//! recorded once across the group, failing events end in the dead-letter subject, a second
//! publish is dropped as duplicates, and a consumer killed mid-way loses nothing.

mod support;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{Server, copy_tree};

/// A copy of the stream test workspace with a stream `group` bound to `action`.
fn workspace(name: &str, action: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authflow-nats-ws-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/streams/workspace"),
        &dir,
    );
    std::fs::write(
        dir.join("streams/group.yaml"),
        format!(
            "events: [user.created, user.updated, user.deleted]\nactions: [{action}]\ndelivery:\n  concurrency: 4\n  attempts: 3\n  backoff: {{ initial_ms: 50, max_ms: 200 }}\n  timeout_ms: 1000\n"
        ),
    )
    .unwrap();
    dir
}

/// `count` user events, every `broken_every`-th one for `usr_broken` (the flaky action always
/// fails for that user).
fn write_events(dir: &Path, count: usize, broken_every: usize) -> Vec<String> {
    let mut text = String::new();
    let mut ids = Vec::new();
    for i in 0..count {
        let user = if broken_every > 0 && i % broken_every == broken_every - 1 {
            "usr_broken".to_string()
        } else {
            format!("usr_{}", i % 17)
        };
        let id = format!("evt_{i:05}");
        text.push_str(
            &json!({
                "specversion": "1.0", "id": id, "source": "urn:authflow:tenant:ten_test",
                "type": "user.created", "time": "2026-01-15T12:00:00Z", "subject": user,
                "tenantid": "ten_test",
                "data": { "user": { "id": user, "email": format!("{user}@example.com") } }
            })
            .to_string(),
        );
        text.push('\n');
        ids.push(id);
    }
    std::fs::write(dir.join("events/group.jsonl"), text).unwrap();
    ids
}

fn authflow(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authflow"));
    command.current_dir(dir).env("NO_COLOR", "1");
    command
}

fn publish(dir: &Path, url: &str) -> Output {
    authflow(dir)
        .args([
            "stream",
            "publish",
            "group",
            "--nats",
            url,
            "--events",
            "events/group.jsonl",
        ])
        .output()
        .unwrap()
}

fn consumer(dir: &Path, url: &str, idle_exit: u64) -> Child {
    authflow(dir)
        .args([
            "stream",
            "consume",
            "group",
            "--nats",
            url,
            "--recordings",
            "events/recordings.json",
            "--format",
            "json",
            "--idle-exit",
            &idle_exit.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn lines(output: &[u8]) -> Vec<Value> {
    output
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(l)))
        })
        .collect()
}

/// How many lines of each status each event id got, over every consumer's output.
fn statuses(outputs: &[Vec<Value>]) -> HashMap<String, HashMap<String, usize>> {
    let mut by_id: HashMap<String, HashMap<String, usize>> = HashMap::new();
    for line in outputs.iter().flatten() {
        *by_id
            .entry(line["id"].as_str().unwrap().to_string())
            .or_default()
            .entry(line["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    by_id
}

/// Every message stored on `subject`, read with a test-side ordered consumer.
fn stored_on(url: &str, stream: &str, subject: &str) -> Vec<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use futures_util::StreamExt;
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(stream).await.unwrap();
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
                filter_subject: subject.to_string(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let mut found = Vec::new();
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(500), messages.next()).await
        {
            found.push(serde_json::from_slice(&message.payload).unwrap());
        }
        found
    })
}

/// How many deliveries the durable consumer has not had acknowledged.
fn ack_pending(url: &str, stream: &str, durable: &str) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(stream).await.unwrap();
        let info = stream.consumer_info(durable).await.unwrap();
        info.num_ack_pending
    })
}

#[test]
fn two_consumers_share_the_work_and_record_each_event_once() {
    let server = Server::start("group");
    let dir = workspace("group", "flaky");
    let ids = write_events(&dir, 200, 25);
    let first = publish(&dir, &server.url);
    assert!(first.status.success(), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("published 200 of 200 events"));
    // Publishing again inside the server's duplicate window stores nothing new.
    let again = publish(&dir, &server.url);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("published 0 of 200 events to authflow.ten_test.events (200 duplicates"),
        "{again:?}"
    );
    let a = consumer(&dir, &server.url, 3);
    let b = consumer(&dir, &server.url, 3);
    let outputs: Vec<Vec<Value>> = [a, b]
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            lines(&out.stdout)
        })
        .collect();
    for (i, output) in outputs.iter().enumerate() {
        let delivered = output.iter().filter(|l| l["status"] == "delivered").count();
        assert!(
            delivered > 0,
            "consumer {i} delivered nothing: the group did not share the work"
        );
    }
    let by_id = statuses(&outputs);
    let mut dead = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let seen = &by_id[id];
        if n % 25 == 24 {
            assert_eq!(seen.get("dead_lettered"), Some(&1), "{id}: {seen:?}");
            assert_eq!(
                seen.get("retrying"),
                Some(&2),
                "{id} retried twice before the last attempt: {seen:?}"
            );
            assert!(!seen.contains_key("delivered"));
            dead.push(id.clone());
        } else {
            assert_eq!(seen.get("delivered"), Some(&1), "{id}: {seen:?}");
            assert_eq!(seen.values().sum::<usize>(), 1, "{id}: {seen:?}");
        }
    }
    let letters = stored_on(
        &server.url,
        "AUTHFLOW_TEN_TEST",
        "authflow.ten_test.dead-letter.group",
    );
    let mut lettered: Vec<String> = letters
        .iter()
        .map(|l| l["event"]["id"].as_str().unwrap().to_string())
        .collect();
    lettered.sort();
    assert_eq!(lettered, dead);
    for letter in &letters {
        assert_eq!(letter["attempts"], 3);
        assert_eq!(letter["action"], "flaky");
        assert!(
            letter["failure"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Error: cannot deliver")
        );
    }
}

#[test]
fn a_consumer_killed_mid_way_loses_no_event() {
    let server = Server::start("kill");
    let dir = workspace("kill", "slow");
    let ids = write_events(&dir, 120, 0);
    assert!(publish(&dir, &server.url).status.success());
    let mut victim = consumer(&dir, &server.url, 30);
    let stdout = victim.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut before_kill = Vec::new();
    while before_kill.len() < 20 {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the consumer stopped early"
        );
        before_kill.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    // Kill it while the server counts deliveries it has not acknowledged: events in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ack_pending(&server.url, "AUTHFLOW_TEN_TEST", "authflow-group") == 0 {
        assert!(
            Instant::now() < deadline,
            "the consumer never had an event in flight"
        );
    }
    victim.kill().unwrap();
    let _ = victim.wait();
    // Whatever the victim printed before it died (its buffer may hold one more line).
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    before_kill.extend(lines(rest.as_bytes()));
    // The survivor waits past the ack wait (1 s per action + 2 s) for the victim's in-flight
    // events to be redelivered.
    let survivor = consumer(&dir, &server.url, 6).wait_with_output().unwrap();
    assert!(survivor.status.success());
    let after = lines(&survivor.stdout);
    let redelivered = after
        .iter()
        .filter(|l| l["attempt"].as_u64() > Some(1))
        .count();
    assert!(
        redelivered > 0,
        "the events in flight at the kill were redelivered"
    );
    let by_id = statuses(&[before_kill.clone(), after]);
    for id in &ids {
        let seen = by_id.get(id).unwrap_or_else(|| panic!("{id} was lost"));
        assert_eq!(seen.get("delivered"), Some(&1), "{id}: {seen:?}");
    }
    assert!(
        before_kill.len() < ids.len(),
        "the victim was killed mid-way"
    );
}
