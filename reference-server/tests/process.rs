//! The real binary: starts with no configuration, keeps data across restarts,
//! and refuses a file that is not a database without panicking.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_reference-server");

/// A running server and the address it reported.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts the server in `dir` with `args`, waiting for its "serving" log line.
    async fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env("WCRM_LISTEN", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
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

    async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// One HTTP/1.1 request over a fresh connection; returns status and body.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
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

async fn create_business(dir: &Path, db: &str) -> String {
    let out = Command::new(BIN)
        .args(["--database", db, "create-business", "--name", "Duka", "--sender", "+254700000001"])
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

#[tokio::test]
async fn starts_with_no_configuration_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let (status, body) = http(&server.addr, "GET", "/health", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""storage":"sqlite""#), "{body}");
    assert!(dir.path().join("whatsapp-crm.db").exists(), "default database file not created");
    server.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_business(dir.path(), "shop.db").await;

    let server = Server::start(dir.path(), &["--database", "shop.db"]).await;
    let (status, created) = http(
        &server.addr,
        "POST",
        "/v1/customers",
        Some(&key),
        Some(r#"{"phone": "+254712345678", "name": "Wanjiku", "tags": ["vip"]}"#),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created.split(r#""id":""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    server.stop().await;

    let server = Server::start(dir.path(), &["--database", "shop.db"]).await;
    let (status, fetched) =
        http(&server.addr, "GET", &format!("/v1/customers/{id}"), Some(&key), None).await;
    assert_eq!(status, 200, "{fetched}");
    let before: serde_json::Value = serde_json::from_str(&created).unwrap();
    let after: serde_json::Value = serde_json::from_str(&fetched).unwrap();
    assert_eq!(before, after);
    server.stop().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_database_stops_startup_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("notes.db"),
        "shopping list: sukuma, unga, maziwa\n".repeat(200),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--database", "notes.db"])
        .current_dir(dir.path())
        .env("WCRM_LISTEN", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a SQLite database"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
