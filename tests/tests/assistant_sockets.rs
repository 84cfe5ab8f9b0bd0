//! Without Groq the assistant opens no socket: the process's socket
//! descriptors are counted while turns run on SQLite (a sampler thread
//! catches short-lived ones), and the same count rises once Groq is
//! configured, so the check can fail. One test in its own binary: nothing
//! else runs in the process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use whatsapp_crm_core::service::Received;
use whatsapp_crm_core::{
    AssistantSettings, BusinessId, ClassifierChoice, Crm, InboundMessage, MessageContent,
    NewBusiness, NewFaq, PhoneNumber,
};
use whatsapp_crm_groq::stand_in::{Answer, GroqStandIn};
use whatsapp_crm_groq::{Groq, GroqConfig};
use whatsapp_crm_sqlite::SqliteStorage;

/// The inodes of this process's open sockets.
fn sockets() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.starts_with("socket:"))
        .collect()
}

/// Runs `f` while a thread records every socket seen; returns the sockets
/// seen that were not open before.
async fn new_sockets<F: std::future::Future<Output = ()>>(f: F) -> BTreeSet<String> {
    let before = sockets();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                seen.extend(sockets());
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            seen.extend(sockets());
            seen
        })
    };
    f.await;
    stop.store(true, Ordering::Relaxed);
    let seen = sampler.join().unwrap();
    seen.difference(&before).cloned().collect()
}

async fn shop(crm: &Crm, classifier: ClassifierChoice) -> BusinessId {
    let b = crm
        .businesses()
        .create(NewBusiness {
            name: format!("Duka {classifier:?}"),
            whatsapp_sender: whatsapp_crm_core::testing::unique_sender().to_string(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await
        .unwrap();
    let assistant = crm.assistant();
    assistant
        .create_faq(
            b.id,
            NewFaq {
                question: "Do you deliver?".into(),
                paraphrases: vec!["mnaleta nyumbani".into(), "can you bring it".into()],
                answer: "Yes, across Nairobi.".into(),
                intent: None,
                active: true,
            },
        )
        .await
        .unwrap();
    let settings = AssistantSettings { enabled: true, classifier, ..AssistantSettings::default() };
    assistant.set_settings(b.id, settings).await.unwrap();
    assistant.run_due(Utc::now()).await.unwrap();
    b.id
}

async fn says(crm: &Crm, business: BusinessId, n: u32, body: &str) -> Received {
    let sender = crm.businesses().get(business).await.unwrap().whatsapp_sender;
    let m = InboundMessage {
        provider_id: format!("SM{n:032}"),
        from: PhoneNumber::parse("+254712000001").unwrap(),
        to: sender,
        profile_name: None,
        content: MessageContent::text(body),
        replied_to: None,
        forwarded: false,
        referral: None,
        received_at: Utc::now(),
    };
    crm.inbox().receive(business, m).await.unwrap()
}

#[tokio::test]
async fn the_assistant_opens_no_socket_without_groq() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path().join("crm.db")).await.unwrap();
    storage.migrate().await.unwrap();
    let storage = Arc::new(storage);
    let crm = Crm::new(storage.clone());
    let offline = shop(&crm, ClassifierChoice::Offline).await;
    let opened = new_sockets(async {
        for (n, text) in ["do you deliver?", "habari", "nataka kuongea na mtu"].iter().enumerate() {
            let r = says(&crm, offline, n as u32, text).await;
            assert!(r.assistant.is_some(), "{text}");
        }
        crm.assistant().classify(offline, "mnaleta nyumbani?").await.unwrap();
    })
    .await;
    assert!(opened.is_empty(), "the offline assistant opened {opened:?}");

    // The same count sees Groq's connection.
    let stand_in = GroqStandIn::start("gsk_test").await.unwrap();
    let groq = Groq::new(GroqConfig::new("gsk_test").with_base(&stand_in.url)).unwrap();
    let with_llm = Crm::new(storage).with_assistant_llm(Arc::new(groq));
    let online = shop(&with_llm, ClassifierChoice::Groq).await;
    stand_in.answer(Answer::verdict("none", 0.2));
    let opened = new_sockets(async {
        let r = says(&with_llm, online, 10, "do you deliver?").await;
        assert_eq!(r.assistant.unwrap().decision.classifier, "groq");
    })
    .await;
    assert!(!opened.is_empty(), "a Groq call opens a connection");
}
