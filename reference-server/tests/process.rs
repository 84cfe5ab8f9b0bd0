//! The real binary: starts with no configuration, keeps data across restarts,
//! and refuses a file that is not a database without panicking.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{BIN, Server, create_business, http};
use tokio::process::Command;

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
    let key = create_business(dir.path(), "shop.db", "+254700000001").await;

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

#[tokio::test]
async fn logs_to_a_pipe_carry_no_colour_codes() {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt;

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env("WCRM_LISTEN", "127.0.0.1:0")
        .env_remove("NO_COLOR")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let served = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if line.contains("serving") {
                return true;
            }
        }
        false
    })
    .await
    .expect("server did not start");
    child.kill().await.unwrap();
    assert!(served, "server exited before serving:\n{log}");
    assert!(log.contains("INFO"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in a piped log:\n{log:?}");
}
