//! A broadcast end to end through the real binary on SQLite with a local
//! Twilio stand-in: 1,000 customers (some opted out, some whose message
//! cannot be made), exact counts, status callbacks reflected in the
//! metrics, progress on the live event stream, and nobody messaged twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::twilio::{FakeTwilio, report};
use common::{Server, create_business, http};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use whatsapp_crm_core::ports::TemplateStore;
use whatsapp_crm_core::{
    BusinessId, MessageTemplate, TemplateCategory, TemplateContent, TemplateId, TemplateStatus,
};

const SENDER: &str = "+254700000077";
const CUSTOMERS: usize = 1_000;

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Stores an approved marketing template straight in the file, as the
/// approval flow (tested on its own) leaves it.
async fn approved_template(path: &std::path::Path, business: BusinessId) -> TemplateId {
    let s = whatsapp_crm_sqlite::SqliteStorage::open(path).await.unwrap();
    let content: TemplateContent = serde_json::from_value(json!({
        "body": "Habari {{name|rafiki}}! Use code {{code}} for 20% off at Duka this weekend.",
        "samples": {"name": "Wanjiku", "code": "AB12"}
    }))
    .unwrap();
    let now = chrono::Utc::now();
    let t = MessageTemplate {
        id: TemplateId::new(),
        business_id: business,
        name: "weekend_offer".into(),
        category: TemplateCategory::Marketing,
        language: "en".into(),
        version: 1,
        content,
        status: TemplateStatus::Approved,
        provider_id: Some("HX0123456789abcdef0123456789abcdef".into()),
        rejection_reason: None,
        approved_version: Some(1),
        approved_provider_id: Some("HX0123456789abcdef0123456789abcdef".into()),
        created_at: now,
        updated_at: now,
        archived_at: None,
    };
    s.insert_template(&t).await.unwrap();
    t.id
}

/// Reads a server-sent event stream to its end and returns its progress events.
async fn read_events(addr: String, key: String, path: String) -> Vec<Value> {
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_a_thousand_customers_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_business(dir.path(), "shop.db", SENDER).await;
    let fake = FakeTwilio::start(SENDER, Duration::from_millis(1)).await;
    let mut env = fake.env();
    env.push(("WCRM_MESSAGES_PER_SECOND", "1000".into()));
    env.push(("WCRM_BROADCAST_INTERVAL_MS", "100".into()));
    let args = ["--database", "shop.db"];
    let server = Server::start_with(dir.path(), &args, &env).await;
    let business: BusinessId =
        json_of(&http(&server.addr, "GET", "/v1/business", Some(&key), None).await.1)["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    let template = approved_template(&dir.path().join("shop.db"), business).await;

    // Every tenth opted out; every twentieth (of the rest) has no code, so its
    // message cannot be made.
    for i in 0..CUSTOMERS {
        let mut c = json!({
            "phone": format!("+2547160{i:05}"), "name": format!("Mteja {i}"), "tags": ["vip"],
            "marketing_opt_in": i % 10 != 0,
        });
        if i % 20 != 5 {
            c["attributes"] = json!({"code": format!("C{i}")});
        }
        let (status, body) =
            http(&server.addr, "POST", "/v1/customers", Some(&key), Some(&c.to_string())).await;
        assert_eq!(status, 201, "{body}");
    }
    let broadcast = json!({
        "name": "Weekend offer", "template_id": template,
        "variables": {"code": "attr.code"},
        "audience": {"type": "tags", "tags": ["vip"]}
    });
    let (status, created) =
        http(&server.addr, "POST", "/v1/broadcasts", Some(&key), Some(&broadcast.to_string()))
            .await;
    assert_eq!(status, 201, "{created}");
    let id = json_of(&created)["id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/broadcasts/{id}");
    let preview =
        json_of(&http(&server.addr, "GET", &format!("{uri}/preview"), Some(&key), None).await.1);
    assert_eq!(preview["will_send"], 850);
    assert_eq!(preview["skipped"], json!([["opted_out", 100], ["invalid", 50]]));

    let events =
        tokio::spawn(read_events(server.addr.clone(), key.clone(), format!("{uri}/events")));
    let (status, launched) =
        http(&server.addr, "POST", &format!("{uri}/launch"), Some(&key), None).await;
    assert_eq!(status, 200, "{launched}");

    // The stand-in receives every message once.
    let start = Instant::now();
    while fake.count() < 850 {
        assert!(start.elapsed() < Duration::from_secs(60), "only {} sent", fake.count());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = fake.accepted.lock().unwrap().clone();
    assert!(fake.malformed.lock().unwrap().is_empty());
    assert_eq!(accepted.len(), 850, "a customer got two messages");
    let recipients: HashSet<&str> = accepted.iter().map(|a| a.to.as_str()).collect();
    assert_eq!(recipients.len(), 850);
    let vars: Value = serde_json::from_str(&accepted[0].form["ContentVariables"]).unwrap();
    assert!(vars.as_object().unwrap().values().any(|v| v.as_str().unwrap().starts_with('C')));

    // Twilio reports: 800 delivered (200 of them read), 50 undelivered.
    let from = format!("whatsapp:{SENDER}");
    for (i, a) in accepted.iter().enumerate() {
        if i < 50 {
            assert_eq!(report(&server.addr, a, &from, "undelivered", Some(63_016)).await, 204);
        } else {
            assert_eq!(report(&server.addr, a, &from, "delivered", None).await, 204);
            if i < 250 {
                assert_eq!(report(&server.addr, a, &from, "read", None).await, 204);
            }
        }
    }
    let progress =
        json_of(&http(&server.addr, "GET", &format!("{uri}/progress"), Some(&key), None).await.1);
    assert_eq!(
        [
            &progress["queued"],
            &progress["pending"],
            &progress["sent"],
            &progress["delivered"],
            &progress["read"],
            &progress["failed"]
        ],
        [&json!(850), &json!(0), &json!(850), &json!(800), &json!(200), &json!(50)]
    );
    assert_eq!(progress["failed_by_code"], json!([[63016, 50]]));
    assert_eq!(progress["skipped"], json!([["opted_out", 100], ["invalid", 50]]));

    // Once every message is with the provider the worker completes it, and
    // the event stream ends with that.
    let events = tokio::time::timeout(Duration::from_secs(30), events).await.unwrap().unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (&last["broadcast"]["status"], &last["sent"]),
        (&json!("completed"), &json!(850)),
        "{last}"
    );
    assert_eq!(progress["broadcast"]["status"], "completed");
    let sent_counts: Vec<u64> = events.iter().map(|e| e["sent"].as_u64().unwrap_or(0)).collect();
    assert!(events.len() >= 3, "progress came in steps: {sent_counts:?}");
    assert!(
        sent_counts.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {sent_counts:?}"
    );
    server.stop().await;
}
