//! The server process is killed (SIGKILL) in the middle of a large send and
//! started again: no customer gets a message twice, none is lost, and the
//! sends that were in flight are settled by Twilio's status callbacks.
//!
//! Twilio is a local stand-in on 127.0.0.1 that checks each request's shape
//! (platform-rules 5.1: Basic auth, `whatsapp:` numbers, a body, and a status
//! callback carrying our message id) and answers like Twilio, slowly enough
//! for the kill to land mid-send.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::twilio::{FakeTwilio, PUBLIC_URL, TOKEN, report, webhook};
use common::{Server, create_business, http};
use serde_json::{Value, json};

const SENDER: &str = "+254700000042";
const MESSAGES: usize = 240;

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Waits until `done` holds, failing after `limit`.
async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_send_sends_nothing_twice_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_business(dir.path(), "shop.db", SENDER).await;
    let args = ["--database", "shop.db"];
    let webhooks = [("TWILIO_AUTH_TOKEN", TOKEN), ("WCRM_PUBLIC_URL", PUBLIC_URL)];

    // Customers write in (opening their windows) and an order update is
    // queued for each, while no Twilio account is configured: nothing goes yet.
    let server = Server::start_with(dir.path(), &args, &webhooks).await;
    let to = format!("whatsapp:{SENDER}");
    for i in 0..MESSAGES {
        let from = format!("whatsapp:+2547130{i:05}");
        let sid = format!("SM{i:032}");
        let form = [("MessageSid", sid.as_str()), ("From", &from), ("To", &to), ("Body", "hi")];
        assert_eq!(webhook(&server.addr, "/webhooks/twilio/inbound", &form).await, 200);
    }
    let mut customers = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/v1/conversations?limit=200{cursor}");
        let page = json_of(&http(&server.addr, "GET", &path, Some(&key), None).await.1);
        for c in page["items"].as_array().unwrap() {
            customers.push(c["customer_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(customers.len(), MESSAGES);
    let mut queued = HashSet::new();
    for (n, c) in customers.iter().enumerate() {
        let body = json!({"customer_id": c, "content": {"type": "text", "body": format!("Order {n} is ready")}});
        let (status, reply) =
            http(&server.addr, "POST", "/v1/messages", Some(&key), Some(&body.to_string())).await;
        assert_eq!(status, 202, "{reply}");
        queued.insert(json_of(&reply)["id"].as_str().unwrap().to_owned());
    }
    server.stop().await;

    // With Twilio configured the dispatcher starts sending; the process is
    // killed once about a third has gone.
    // Slow enough that a kill lands while messages are in flight.
    let fake = FakeTwilio::start(SENDER, Duration::from_millis(25)).await;
    let mut twilio = fake.env();
    twilio.push(("WCRM_MESSAGES_PER_SECOND", "100".into()));
    let server = Server::start_with(dir.path(), &args, &twilio).await;
    let count = || fake.count();
    wait_for("the first sends", Duration::from_secs(30), || count() >= MESSAGES / 3).await;
    server.stop().await;
    let at_kill = count();
    assert!(at_kill < MESSAGES, "the kill came after the whole send ({at_kill})");

    // Started again, it sends the rest once its dead claims lapse.
    let server = Server::start_with(dir.path(), &args, &twilio).await;
    wait_for("every message", Duration::from_secs(60), || count() >= MESSAGES).await;
    // Give a stray duplicate the chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let accepted = fake.accepted.lock().unwrap().clone();
    assert!(fake.malformed.lock().unwrap().is_empty(), "{:?}", fake.malformed.lock().unwrap());
    let mut times: HashMap<&str, usize> = HashMap::new();
    for a in &accepted {
        *times.entry(a.message_id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    let recipients: HashSet<&str> = accepted.iter().map(|a| a.to.as_str()).collect();
    assert_eq!(recipients.len(), MESSAGES, "one message per customer");
    assert_eq!(times.keys().map(|k| (*k).to_owned()).collect::<HashSet<_>>(), queued, "none lost");

    // The sends cut off by the kill are shown as unknown: at most one group
    // in flight.
    let state = |id: String| {
        let (addr, key) = (server.addr.clone(), key.clone());
        async move {
            json_of(&http(&addr, "GET", &format!("/v1/messages/{id}"), Some(&key), None).await.1)
        }
    };
    let mut unknown = 0;
    for id in &queued {
        let view = state(id.clone()).await;
        match view["outbox"]["state"].as_str() {
            Some("sent") => {}
            Some("unknown") => unknown += 1,
            other => panic!("{id} left {other:?}: {view}"),
        }
    }
    assert!(unknown <= 32, "{unknown} unknown: more than one group was in flight");
    eprintln!("killed after {at_kill} of {MESSAGES} sends; {unknown} were in flight");

    // Twilio reports each delivery, which settles the unknown ones too.
    for a in &accepted {
        assert_eq!(report(&server.addr, a, &to, "delivered", None).await, 204);
    }
    for id in &queued {
        let view = state(id.clone()).await;
        assert_eq!(view["message"]["status"], "delivered", "{view}");
        assert_eq!(view["outbox"]["state"], "sent", "{view}");
    }
    server.stop().await;
}
