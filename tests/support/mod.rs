//! Helpers the integration tests share: copying a workspace and starting Debian's
//! `nats-server -js` on a free loopback port (stopped, and its store removed, when dropped).

#![allow(dead_code)]

#[path = "../../benches/support.rs"]
mod shared;

pub use shared::copy_tree;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A JetStream server on a free loopback port, stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    store: PathBuf,
}

impl Server {
    /// Starts a server; panics with a clear message when nats-server is not installed.
    pub fn start(name: &str) -> Server {
        let binary = [
            "nats-server",
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
        ]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("nats-server is installed (.ci/setup installs Debian's package)");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store =
            std::env::temp_dir().join(format!("authflow-nats-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&store);
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            store,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}
