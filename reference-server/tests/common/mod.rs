//! Helpers for tests of the real binary: start it, talk HTTP to it, kill it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub mod twilio;

pub const BIN: &str = env!("CARGO_BIN_EXE_reference-server");

/// A running server and the address it reported.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Starts the server in `dir` with `args`, waiting for its "serving" log line.
    pub async fn start(dir: &Path, args: &[&str]) -> Server {
        Self::start_with::<&str, &str>(dir, args, &[]).await
    }

    /// Starts the server with extra environment variables.
    pub async fn start_with<K: AsRef<std::ffi::OsStr>, V: AsRef<std::ffi::OsStr>>(
        dir: &Path,
        args: &[&str],
        env: &[(K, V)],
    ) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env("WCRM_LISTEN", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("address=").nth(1) {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
            }
            panic!("server exited before serving")
        })
        .await
        .expect("server did not start");
        // Keep draining the log so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, addr }
    }

    /// Kills the process (SIGKILL): no shutdown, no flushing.
    pub async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// One HTTP/1.1 request over a fresh connection; returns status and body.
pub async fn http(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut headers = Vec::new();
    let auth = key.map(|k| format!("Bearer {k}"));
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    if body.is_some_and(|b| !b.is_empty()) {
        headers.push(("Content-Type", "application/json"));
    }
    request(addr, method, path, &headers, body.unwrap_or("")).await
}

/// One HTTP/1.1 request with any headers; returns status and body.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// Creates a business sending from `sender` with the CLI; returns its key.
pub async fn create_business(dir: &Path, db: &str, sender: &str) -> String {
    let out = Command::new(BIN)
        .args(["--database", db, "create-business", "--name", "Duka", "--sender", sender])
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("wcrm_"), "stdout must hold only the key: {key:?}");
    key
}

/// Waits (up to 30 s) until `f` holds.
pub async fn until<F: Fn() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, f: F) {
    let start = std::time::Instant::now();
    while !f().await {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
