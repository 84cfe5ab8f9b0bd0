//! Conformance cases for the outbox.

use std::collections::HashSet;

use crate::domain::{BusinessId, Message, MessageId, OutboxItem, OutboxState, TemplateCategory};
use crate::ports::{
    ALREADY_QUEUED, NOT_CLAIMED, OutboxFinish, OutboxKey, OutboxOutcome, PROVIDER_ID_TAKEN,
    Storage, StorageError,
};

use super::{at, full_customer, insert, new_business, new_conversation, ok, phone, text_message};
use futures_util::future::join_all;

/// Stores `n` outbound messages for one customer of `business` and returns
/// a pending outbox row for each, due at `at(i)`.
async fn queued(s: &dyn Storage, business: BusinessId, number: &str, n: i64) -> Vec<OutboxItem> {
    let c = full_customer(business, number, "Buyer");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let mut out = Vec::new();
    for i in 0..n {
        let m: Message = text_message(&conv, &format!("hello {i}"));
        ok(s.insert_message(&m).await, "insert message");
        out.push(OutboxItem::new(
            business,
            m.id,
            phone("+254700000000"),
            c.phone.clone(),
            at(i),
            at(0),
        ));
    }
    out
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StorageError>, what: &str) -> bool {
    matches!(r, Err(StorageError::Conflict { constraint, .. }) if constraint == what)
}

/// Rows read back unchanged; a batch is all or nothing.
pub async fn outbox_enqueue_is_atomic(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 3).await;
    ok(s.enqueue(&items[..1]).await, "enqueue one");
    assert_eq!(ok(s.get_outbox_item(b.id, items[0].message_id).await, "get"), items[0]);
    // The second batch repeats the first row: nothing of it is stored.
    assert!(is_conflict(s.enqueue(&items).await, ALREADY_QUEUED));
    assert!(matches!(
        s.get_outbox_item(b.id, items[1].message_id).await,
        Err(StorageError::NotFound { .. })
    ));
    // A row for a message that does not exist is refused, and so is its batch.
    let mut ghost = items[2].clone();
    ghost.message_id = MessageId::new();
    let r = s.enqueue(&[items[1].clone(), ghost]).await;
    assert!(matches!(r, Err(StorageError::NotFound { .. })), "{r:?}");
    assert!(s.get_outbox_item(b.id, items[1].message_id).await.is_err());
    ok(s.enqueue(&items[1..]).await, "enqueue rest");
    assert_eq!(ok(s.get_outbox_item(b.id, items[2].message_id).await, "get"), items[2]);
}

/// Claims take due rows earliest first, count attempts, and skip claimed rows.
pub async fn outbox_claims_due_rows_in_order(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 4).await;
    ok(s.enqueue(&items).await, "enqueue");
    // At t=2 three rows are due; the limit takes the earliest two.
    let first = ok(s.claim_due(at(2), 2, at(62)).await, "claim");
    let ids: Vec<_> = first.iter().map(|o| o.message_id).collect();
    assert_eq!(ids, vec![items[0].message_id, items[1].message_id]);
    for o in &first {
        assert_eq!((o.state, o.attempts, o.claimed_until), (OutboxState::Claimed, 1, Some(at(62))));
    }
    let second = ok(s.claim_due(at(2), 10, at(62)).await, "claim again");
    assert_eq!(second.iter().map(|o| o.message_id).collect::<Vec<_>>(), vec![items[2].message_id]);
    assert!(ok(s.claim_due(at(2), 10, at(62)).await, "nothing due").is_empty());
    let later = ok(s.claim_due(at(100), 10, at(160)).await, "later");
    assert_eq!(later.iter().map(|o| o.message_id).collect::<Vec<_>>(), vec![items[3].message_id]);
}

/// Claimers racing for the same rows never get the same row twice.
pub async fn outbox_concurrent_claimers_never_share_a_row(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 24).await;
    ok(s.enqueue(&items).await, "enqueue");
    let results = join_all((0..6).map(|_| s.claim_due(at(100), 5, at(160)))).await;
    let mut seen = HashSet::new();
    for r in results {
        for o in ok(r, "claim") {
            assert!(seen.insert(o.message_id), "row handed out twice: {}", o.message_id);
            assert_eq!(o.attempts, 1);
        }
    }
    assert_eq!(seen.len(), 24);
}

/// Finishing records the outcome; a retry is pending again and counts on.
pub async fn outbox_finish_records_outcomes(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 3).await;
    ok(s.enqueue(&items).await, "enqueue");
    ok(s.claim_due(at(10), 10, at(70)).await, "claim");
    let [sent, failed, retried] = [0, 1, 2].map(|i| items[i].message_id);
    let done = ok(s.finish(b.id, sent, &OutboxOutcome::Sent, at(11)).await, "sent");
    assert_eq!(
        (done.state, done.claimed_until, done.updated_at),
        (OutboxState::Sent, None, at(11))
    );
    let refused =
        OutboxOutcome::Failed { error: "not a WhatsApp number".into(), code: Some(63024) };
    let done = ok(s.finish(b.id, failed, &refused, at(12)).await, "failed");
    assert_eq!(
        (done.state, done.last_error.as_deref(), done.error_code),
        (OutboxState::Failed, Some("not a WhatsApp number"), Some(63024))
    );
    let again =
        OutboxOutcome::Retry { run_at: at(40), error: "rate limited".into(), code: Some(20429) };
    let done = ok(s.finish(b.id, retried, &again, at(13)).await, "retry");
    assert_eq!(
        (done.state, done.run_at, done.error_code),
        (OutboxState::Pending, at(40), Some(20429))
    );
    assert_eq!(ok(s.get_outbox_item(b.id, retried).await, "get"), done);
    // Not due before its new time; claimed again after, with a second attempt.
    assert!(ok(s.claim_due(at(39), 10, at(99)).await, "early").is_empty());
    let again = ok(s.claim_due(at(40), 10, at(100)).await, "due");
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    // A later error replaces the earlier one with its own code, even none.
    let refused = OutboxOutcome::Failed { error: "opted_out".into(), code: None };
    let done = ok(s.finish(b.id, retried, &refused, at(41)).await, "refused");
    assert_eq!((done.last_error.as_deref(), done.error_code), (Some("opted_out"), None));
    // A finished row cannot be finished twice.
    assert!(is_conflict(s.finish(b.id, sent, &OutboxOutcome::Sent, at(50)).await, NOT_CLAIMED));
    let missing = s.finish(b.id, MessageId::new(), &OutboxOutcome::Sent, at(50)).await;
    assert!(matches!(missing, Err(StorageError::NotFound { .. })), "{missing:?}");
}

/// A lapsed claim never handed over is pending again with its attempt given
/// back; one lapsed mid-handover becomes unknown, is never handed out again,
/// and its late outcome is refused rather than recorded twice.
pub async fn outbox_lapsed_claims_become_pending_or_unknown(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 3).await;
    ok(s.enqueue(&items).await, "enqueue");
    let [idle, midway, live] = [0, 1, 2].map(|i| items[i].message_id);
    ok(s.claim_due(at(10), 2, at(20)).await, "claim short");
    ok(s.claim_due(at(10), 1, at(90)).await, "claim long");
    let key = |message| OutboxKey { business: b.id, message };
    let other = OutboxKey { business: BusinessId::new(), message: idle };
    let started = ok(s.start_sends(&[key(midway), other, key(live)], at(11)).await, "start");
    assert_eq!(started, [true, false, true], "another business's key starts nothing");
    assert_eq!(ok(s.get_outbox_item(b.id, live).await, "get").state, OutboxState::Sending);
    assert_eq!(ok(s.get_outbox_item(b.id, idle).await, "get").state, OutboxState::Claimed);
    let twice = ok(s.start_sends(&[key(live), key(MessageId::new())], at(12)).await, "again");
    assert_eq!(twice, [false, false], "started twice, or missing");
    assert_eq!(ok(s.expire_claims(at(20)).await, "not yet lapsed"), 0);
    assert_eq!(ok(s.expire_claims(at(21)).await, "lapsed"), 1);
    let back = ok(s.get_outbox_item(b.id, idle).await, "get");
    assert_eq!((back.state, back.attempts, back.claimed_until), (OutboxState::Pending, 0, None));
    let lost = ok(s.get_outbox_item(b.id, midway).await, "get");
    assert_eq!((lost.state, lost.claimed_until), (OutboxState::Unknown, None));
    assert_eq!(ok(s.get_outbox_item(b.id, live).await, "get").state, OutboxState::Sending);
    let again = ok(s.claim_due(at(1000), 10, at(1060)).await, "only the idle row");
    assert_eq!(again.iter().map(|o| o.message_id).collect::<Vec<_>>(), vec![idle]);
    let late = s.finish(b.id, midway, &OutboxOutcome::Sent, at(30)).await;
    assert!(is_conflict(late, NOT_CLAIMED));
    ok(s.finish(b.id, live, &OutboxOutcome::Sent, at(30)).await, "a live send finishes");
}

/// Cancelling touches only pending rows of the caller's business.
pub async fn outbox_cancel_pending_only(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 3).await;
    ok(s.enqueue(&items).await, "enqueue");
    ok(s.claim_due(at(0), 1, at(60)).await, "claim first");
    let ids: Vec<_> = items.iter().map(|o| o.message_id).collect();
    let other = new_business(s, "Other").await;
    assert_eq!(ok(s.cancel_pending(other.id, &ids, at(5)).await, "other business"), 0);
    assert_eq!(ok(s.cancel_pending(b.id, &ids, at(5)).await, "cancel"), 2);
    let states: Vec<_> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(ok(s.get_outbox_item(b.id, *id).await, "get").state);
        }
        v
    };
    assert_eq!(states, [OutboxState::Claimed, OutboxState::Cancelled, OutboxState::Cancelled]);
    assert!(ok(s.claim_due(at(100), 10, at(160)).await, "none left").is_empty());
}

/// Another business's rows are invisible by id; its messages cannot be queued
/// under a different business.
pub async fn outbox_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let theirs = queued(s, b.id, "+254712000001", 1).await;
    ok(s.enqueue(&theirs).await, "enqueue");
    let id = theirs[0].message_id;
    assert!(matches!(s.get_outbox_item(a.id, id).await, Err(StorageError::NotFound { .. })));
    let mut forged = theirs[0].clone();
    forged.business_id = a.id;
    assert!(matches!(s.enqueue(&[forged]).await, Err(StorageError::NotFound { .. })));
    ok(s.claim_due(at(0), 1, at(60)).await, "claim");
    let r = s.finish(a.id, id, &OutboxOutcome::Sent, at(1)).await;
    assert!(matches!(r, Err(StorageError::NotFound { .. })), "{r:?}");
    assert_eq!(ok(s.get_outbox_item(b.id, id).await, "still theirs").state, OutboxState::Claimed);
}

/// Deleting a customer removes their queued rows with their messages.
pub async fn outbox_rows_go_with_their_customer(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 2).await;
    ok(s.enqueue(&items).await, "enqueue");
    let customer = ok(s.find_customer_by_phone(b.id, &phone("+254712000001")).await, "find")
        .expect("customer");
    ok(s.delete_customer(b.id, customer.id).await, "delete");
    assert!(s.get_outbox_item(b.id, items[0].message_id).await.is_err());
    assert!(ok(s.claim_due(at(100), 10, at(160)).await, "none").is_empty());
}

/// The category is kept, and the cap sees only sent marketing rows to that
/// recipient in that business since the given time.
pub async fn outbox_recent_marketing_counts_sent_marketing(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut items = queued(s, b.id, "+254712000001", 4).await;
    for item in &mut items[..3] {
        item.category = Some(TemplateCategory::Marketing);
    }
    items[3].category = Some(TemplateCategory::Utility);
    let other = new_business(s, "Other").await;
    let mut theirs = queued(s, other.id, "+254712000001", 1).await;
    theirs[0].category = Some(TemplateCategory::Marketing);
    ok(s.enqueue(&items).await, "enqueue");
    ok(s.enqueue(&theirs).await, "enqueue theirs");
    assert_eq!(ok(s.get_outbox_item(b.id, items[0].message_id).await, "get"), items[0]);
    ok(s.claim_due(at(10), 10, at(70)).await, "claim");
    // Row 0 sent at 20, row 1 at 30, row 2 failed, row 3 (utility) sent.
    ok(s.finish(b.id, items[0].message_id, &OutboxOutcome::Sent, at(20)).await, "sent");
    ok(s.finish(b.id, items[1].message_id, &OutboxOutcome::Sent, at(30)).await, "sent");
    let refused = OutboxOutcome::Failed { error: "blocked".into(), code: Some(63014) };
    ok(s.finish(b.id, items[2].message_id, &refused, at(31)).await, "failed");
    ok(s.finish(b.id, items[3].message_id, &OutboxOutcome::Sent, at(32)).await, "sent");
    ok(s.finish(other.id, theirs[0].message_id, &OutboxOutcome::Sent, at(33)).await, "theirs");
    let to = phone("+254712000001");
    assert_eq!(ok(s.recent_marketing(b.id, &to, at(0)).await, "all"), vec![at(20), at(30)]);
    assert_eq!(ok(s.recent_marketing(b.id, &to, at(21)).await, "since"), vec![at(30)]);
    assert!(ok(s.recent_marketing(b.id, &phone("+254712000002"), at(0)).await, "other").is_empty());
}

/// A deferred row is pending again without spending an attempt; an unknown
/// outcome is final until someone settles it.
pub async fn outbox_defer_and_unknown_outcomes(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 2).await;
    ok(s.enqueue(&items).await, "enqueue");
    ok(s.claim_due(at(10), 10, at(70)).await, "claim");
    let wait = OutboxOutcome::Defer { run_at: at(16), reason: "recipient pair limit".into() };
    let done = ok(s.finish(b.id, items[0].message_id, &wait, at(11)).await, "defer");
    assert_eq!(
        (done.state, done.attempts, done.run_at, done.last_error.as_deref()),
        (OutboxState::Pending, 0, at(16), Some("recipient pair limit"))
    );
    let lost = OutboxOutcome::Unknown { error: "timed out after sending".into() };
    let done = ok(s.finish(b.id, items[1].message_id, &lost, at(12)).await, "unknown");
    assert_eq!((done.state, done.attempts), (OutboxState::Unknown, 1));
    // Only unknown rows settle, once.
    assert!(!ok(s.settle_unknown(b.id, items[0].message_id, true, at(13)).await, "pending"));
    assert!(ok(s.settle_unknown(b.id, items[1].message_id, true, at(14)).await, "settle"));
    assert!(!ok(s.settle_unknown(b.id, items[1].message_id, false, at(15)).await, "settled"));
    let settled = ok(s.get_outbox_item(b.id, items[1].message_id).await, "get");
    assert_eq!((settled.state, settled.updated_at), (OutboxState::Sent, at(14)));
    assert!(!ok(s.settle_unknown(b.id, MessageId::new(), true, at(15)).await, "missing"));
    let again = ok(s.claim_due(at(100), 10, at(160)).await, "only the deferred row");
    assert_eq!(
        again.iter().map(|o| (o.message_id, o.attempts)).collect::<Vec<_>>(),
        vec![(items[0].message_id, 1)]
    );
}

/// Messages and their rows are stored together or not at all.
pub async fn outbox_queue_messages_is_atomic(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Buyer");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let row = |m: &Message| {
        OutboxItem::new(b.id, m.id, b.whatsapp_sender.clone(), c.phone.clone(), at(0), at(0))
    };
    let first = text_message(&conv, "one");
    let mut taken = text_message(&conv, "two");
    taken.provider_id = Some("SM-taken".into());
    let mut stored = text_message(&conv, "stored");
    stored.provider_id = Some("SM-taken".into());
    ok(s.insert_message(&stored).await, "insert");
    // The second message's provider id is taken: the first is not kept either.
    let r = s.queue_messages(&[(first.clone(), row(&first)), (taken.clone(), row(&taken))]).await;
    assert!(is_conflict(r, PROVIDER_ID_TAKEN));
    assert!(matches!(s.get_message(b.id, first.id).await, Err(StorageError::NotFound { .. })));
    assert!(s.get_outbox_item(b.id, first.id).await.is_err());
    // Another business's conversation is not found, and nothing is stored.
    let other = new_business(s, "Other").await;
    let mut foreign = text_message(&conv, "foreign");
    foreign.business_id = other.id;
    let mut foreign_row = row(&foreign);
    foreign_row.business_id = other.id;
    let r = s.queue_messages(&[(foreign.clone(), foreign_row)]).await;
    assert!(matches!(r, Err(StorageError::NotFound { .. })), "{r:?}");
    ok(s.queue_messages(&[(first.clone(), row(&first))]).await, "queue");
    assert_eq!(ok(s.get_message(b.id, first.id).await, "read"), first);
    assert_eq!(ok(s.get_outbox_item(b.id, first.id).await, "row"), row(&first));
    let claimed = ok(s.claim_due(at(0), 10, at(60)).await, "claim");
    assert_eq!(claimed.iter().map(|o| o.message_id).collect::<Vec<_>>(), vec![first.id]);
}

/// Many outcomes land in one call, each with its message; rows no longer
/// claimed are reported and left alone, message included.
pub async fn outbox_finish_many_records_outcomes_and_messages(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let items = queued(s, b.id, "+254712000001", 3).await;
    ok(s.enqueue(&items).await, "enqueue");
    let [sent, retried, stray] = [0, 1, 2].map(|i| items[i].message_id);
    ok(s.claim_due(at(5), 2, at(60)).await, "claim two");
    let key = |message| OutboxKey { business: b.id, message };
    ok(s.start_sends(&[key(sent)], at(6)).await, "start");
    let mut message = ok(s.get_message(b.id, sent).await, "read");
    message.provider_id = Some("SM-sent-1".into());
    message.apply_status(crate::domain::MessageStatus::Sent, at(7), None);
    let mut untouched = ok(s.get_message(b.id, stray).await, "read");
    let before = untouched.clone();
    untouched.provider_id = Some("SM-stray".into());
    let rows = [
        OutboxFinish {
            key: key(sent),
            outcome: OutboxOutcome::Sent,
            message: Some(message.clone()),
        },
        OutboxFinish {
            key: key(retried),
            outcome: OutboxOutcome::Retry {
                run_at: at(30),
                error: "busy".into(),
                code: Some(20429),
            },
            message: None,
        },
        OutboxFinish { key: key(stray), outcome: OutboxOutcome::Sent, message: Some(untouched) },
    ];
    assert_eq!(ok(s.finish_many(&rows, at(8)).await, "finish"), [true, true, false]);
    assert_eq!(ok(s.get_message(b.id, sent).await, "read"), message);
    assert_eq!(ok(s.get_outbox_item(b.id, sent).await, "row").state, OutboxState::Sent);
    let r = ok(s.get_outbox_item(b.id, retried).await, "row");
    assert_eq!((r.state, r.run_at, r.error_code), (OutboxState::Pending, at(30), Some(20429)));
    assert_eq!(ok(s.get_message(b.id, stray).await, "read"), before);
    assert_eq!(ok(s.get_outbox_item(b.id, stray).await, "row").state, OutboxState::Pending);
    // Finishing again changes nothing.
    assert_eq!(ok(s.finish_many(&rows[..1], at(9)).await, "again"), [false]);
}
