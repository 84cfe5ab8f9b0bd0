//! Conformance cases for finding a business by its number, reading rows in
//! batches, and the sending limits' shared ledger.

use chrono::Duration;

use crate::domain::{BusinessId, PhoneNumber};
use crate::policy::{KeywordConfig, Penalty, RateLimits, SendSlot, TIER_WINDOW, Throttle};
use crate::ports::{SENDER_TAKEN, Storage, StorageError};

use super::{at, full_customer, insert, new_business, new_conversation, ok, phone, text_message};
use futures_util::future::join_all;

/// A webhook's number finds its business; a number belongs to one business;
/// an update keeps the number and creation time.
pub async fn business_found_by_sender_and_senders_are_unique(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    assert_eq!(ok(s.find_business_by_sender(&b.whatsapp_sender).await, "find"), Some(b.clone()));
    let unknown = phone("+254799999999");
    assert_eq!(ok(s.find_business_by_sender(&unknown).await, "unknown"), None);
    let mut twin = new_business(s, "Twin").await;
    twin.id = BusinessId::new();
    twin.whatsapp_sender = b.whatsapp_sender.clone();
    let r = s.insert_business(&twin).await;
    assert!(
        matches!(&r, Err(StorageError::Conflict { constraint, .. }) if constraint == SENDER_TAKEN),
        "{r:?}"
    );
    let mut changed = b.clone();
    changed.name = "Shop & Co".into();
    changed.keywords = KeywordConfig {
        opt_out: vec!["ondoa".into()],
        opt_out_reply: None,
        ..KeywordConfig::default()
    };
    changed.whatsapp_sender = unknown.clone();
    changed.created_at = at(99);
    ok(s.update_business(&changed).await, "update");
    let read = ok(s.get_business(b.id).await, "read");
    assert_eq!(read.name, "Shop & Co");
    assert_eq!(read.keywords, changed.keywords);
    assert_eq!((read.whatsapp_sender, read.created_at), (b.whatsapp_sender, b.created_at));
    let mut ghost = changed;
    ghost.id = BusinessId::new();
    assert!(matches!(s.update_business(&ghost).await, Err(StorageError::NotFound { .. })));
}

/// Batch reads return what the business has and nothing of another's.
pub async fn batch_reads_stay_in_their_business(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let mine = full_customer(a.id, "+254712000001", "Mine");
    let theirs = full_customer(b.id, "+254712000002", "Theirs");
    insert(s, &mine).await;
    insert(s, &theirs).await;
    let (c1, c2) = (new_conversation(s, &mine).await, new_conversation(s, &theirs).await);
    let (m1, m2) = (text_message(&c1, "one"), text_message(&c2, "two"));
    ok(s.insert_message(&m1).await, "insert");
    ok(s.insert_message(&m2).await, "insert");
    let customers = ok(
        s.get_customers(a.id, &[mine.id, theirs.id, crate::domain::CustomerId::new()]).await,
        "c",
    );
    assert_eq!(customers, vec![ok(s.get_customer(a.id, mine.id).await, "read")]);
    let conversations = ok(s.get_conversations(a.id, &[c2.id, c1.id]).await, "conversations");
    assert_eq!(conversations, vec![c1]);
    let messages = ok(s.get_messages(a.id, &[m1.id, m2.id]).await, "messages");
    assert_eq!(messages, vec![m1]);
    assert!(ok(s.get_messages(a.id, &[]).await, "none").is_empty());
}

fn slot(to: &PhoneNumber, business_initiated: bool) -> SendSlot {
    SendSlot { to: to.clone(), business_initiated }
}

/// Concurrent callers spend one budget: at 10 messages a second with no
/// burst, eight callers asking at once get one message through between them,
/// and over ten simulated seconds of two callers asking every 100 ms, 100 go.
pub async fn sender_ledger_is_shared_by_every_caller(s: &dyn Storage) {
    let sender = phone("+254700000077");
    let limits =
        RateLimits { messages_per_second: Some(10), burst: 1, pair_interval_ms: None, tier: None };
    let ask = |i: u32, n: u32, ms: i64| {
        let slots: Vec<SendSlot> =
            (0..n).map(|k| slot(&phone(&format!("+2547130{:05}", i * 100 + k)), false)).collect();
        let sender = sender.clone();
        async move {
            let verdicts = ok(
                s.admit_sends(&sender, &limits, &slots, at(0) + Duration::milliseconds(ms)).await,
                "admit",
            );
            verdicts.iter().filter(|v| v.is_ok()).count()
        }
    };
    let at_once: usize = join_all((0..8).map(|i| ask(i, 5, 0))).await.into_iter().sum();
    assert_eq!(at_once, 1, "callers at one instant share one slot");
    let mut total = at_once;
    for step in 1..100 {
        let ms = step * 100;
        let both = join_all([ask(200 + step as u32, 3, ms), ask(400 + step as u32, 3, ms)]).await;
        total += both.into_iter().sum::<usize>();
        assert!(total as i64 <= 1 + ms / 100, "{total} sent by {ms} ms");
    }
    assert_eq!(total, 100, "the budget is used, not lost");
    // A refused caller learns when to return, later for each one it waits behind.
    let late = ok(
        s.admit_sends(
            &sender,
            &limits,
            &[slot(&phone("+254713999991"), false), slot(&phone("+254713999992"), false)],
            at(10) - Duration::milliseconds(50),
        )
        .await,
        "late",
    );
    assert_eq!(
        late,
        vec![
            Err(Throttle::Sender { until: at(10) }),
            Err(Throttle::Sender { until: at(10) + Duration::milliseconds(100) })
        ]
    );
}

/// The pair limit, the tier and provider pauses are kept between calls, per
/// sender.
pub async fn sender_ledger_keeps_pairs_tier_and_pauses(s: &dyn Storage) {
    let sender = phone("+254700000088");
    let other = phone("+254700000089");
    let limits = RateLimits { messages_per_second: None, tier: Some(2), ..RateLimits::default() };
    let (x, y, z) = (phone("+254714000001"), phone("+254714000002"), phone("+254714000003"));
    let admit = |from: &PhoneNumber, slots: Vec<SendSlot>, secs: i64| {
        let from = from.clone();
        async move { ok(s.admit_sends(&from, &limits, &slots, at(secs)).await, "admit") }
    };
    assert_eq!(admit(&sender, vec![slot(&x, true)], 0).await, vec![Ok(())]);
    // The same recipient waits out the pair interval; a second pass is not new.
    let held = admit(&sender, vec![slot(&x, true), slot(&y, true)], 1).await;
    assert_eq!(held, vec![Err(Throttle::Pair { until: at(6) }), Ok(())]);
    assert_eq!(admit(&sender, vec![slot(&x, true)], 6).await, vec![Ok(())]);
    // Two recipients used the tier: a third new one waits for the first to leave.
    let full = admit(&sender, vec![slot(&z, true), slot(&z, false)], 10).await;
    assert_eq!(full, vec![Err(Throttle::Tier { until: at(1) + TIER_WINDOW }), Ok(())]);
    // Another sender has its own ledger.
    assert_eq!(admit(&other, vec![slot(&z, true)], 10).await, vec![Ok(())]);
    let leaves = (TIER_WINDOW + Duration::seconds(2)).num_seconds();
    assert_eq!(admit(&sender, vec![slot(&z, true)], leaves).await, vec![Ok(())]);
    // A rate-limit error pauses the sender for everyone; 131056 holds one pair.
    let pause = Penalty { code: Some(63018), to: x.clone(), retry_after: None };
    let until = ok(s.penalize_sender(&sender, &limits, &pause, at(100)).await, "pause");
    assert_eq!(until, Some(at(101)));
    let paused = admit(&sender, vec![slot(&y, false)], 100).await;
    assert_eq!(paused, vec![Err(Throttle::Paused { until: at(101) })]);
    let hold = Penalty { code: Some(131056), to: y.clone(), retry_after: None };
    assert_eq!(ok(s.penalize_sender(&sender, &limits, &hold, at(200)).await, "hold"), None);
    let after = admit(&sender, vec![slot(&y, false), slot(&x, false)], 201).await;
    assert_eq!(after, vec![Err(Throttle::Pair { until: at(206) }), Ok(())]);
}
