//! Conformance cases for broadcasts, their recipients and the reads a launch
//! needs.

use std::collections::BTreeMap;

use chrono::Duration;

use crate::domain::{
    Audience, AutoPause, Broadcast, BroadcastId, BroadcastRecipient, BroadcastStatus, Business,
    BusinessId, Conversation, ConversationId, Customer, Direction, Interactive, MessageContent,
    MessageId, MessageStatus, OutboxItem, OutboxState, SkipReason, TemplateCategory,
};
use crate::ports::{
    BROADCAST_CHANGED, BroadcastCounts, LaunchBatch, LaunchMessage, OutboxOutcome, Storage,
    StorageError,
};
use crate::segment::{Rule, SegmentContext, TagTest};

use super::{
    at, bare_customer, full_customer, insert, new_business, new_conversation, ok, tag, template,
    text_message,
};

/// A stored draft broadcast of a stored template.
async fn draft(s: &dyn Storage, b: &Business) -> Broadcast {
    let t = template(b.id, &format!("offer_{}", BroadcastId::new().as_uuid().simple()));
    ok(s.insert_template(&t).await, "template");
    let bc = Broadcast {
        id: BroadcastId::new(),
        business_id: b.id,
        name: "Weekend offer".into(),
        template_id: t.id,
        variables: BTreeMap::from([("name".into(), "first_name|rafiki".into())]),
        audience: Audience::Tags { tags: vec![tag("vip")] },
        send_at: Some(at(3_600)),
        status: BroadcastStatus::Draft,
        pause_reason: None,
        auto_pause: AutoPause::default(),
        ab_test: None,
        recipients: 0,
        queued: 0,
        skipped: 0,
        launch_cursor: None,
        launch_complete: false,
        campaign_id: None,
        created_at: at(0),
        updated_at: at(0),
        launched_at: None,
        finished_at: None,
    };
    ok(s.insert_broadcast(&bc).await, "insert broadcast");
    bc
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StorageError>) -> bool {
    matches!(r, Err(StorageError::Conflict { constraint, .. }) if constraint == BROADCAST_CHANGED)
}

fn not_found<T: std::fmt::Debug>(r: Result<T, StorageError>) -> bool {
    matches!(r, Err(StorageError::NotFound { .. }))
}

async fn set_status(s: &dyn Storage, bc: &mut Broadcast, status: BroadcastStatus) {
    let was = bc.status;
    bc.status = status;
    ok(s.update_broadcast(bc, was).await, "status");
}

/// A queued broadcast message to `c` in `conv`, with its outbox row.
/// A template message for `c` in `conversation`, opened by the launch or not.
fn queued(
    c: &Customer,
    conversation: ConversationId,
    opens: bool,
    variant: Option<u8>,
) -> LaunchMessage {
    LaunchMessage {
        customer_id: c.id,
        phone: c.phone.clone(),
        conversation_id: conversation,
        opens_conversation: opens,
        message_id: MessageId::new(),
        content: MessageContent::Template {
            name: "offer".into(),
            content_sid: Some("HX00000000000000000000000000000000".into()),
            variables: BTreeMap::from([("1".to_owned(), "Wanjiku".to_owned())]),
            rendered: Some("Hello Wanjiku".into()),
        },
        category: Some(TemplateCategory::Marketing),
        variant,
    }
}

/// An empty batch of broadcast `bc` at minute 10.
fn batch_of(b: &Business, bc: BroadcastId) -> LaunchBatch {
    LaunchBatch {
        business: b.id,
        broadcast: bc,
        sender: b.whatsapp_sender.clone(),
        queued: Vec::new(),
        skipped: Vec::new(),
        cursor: None,
        last: false,
        at: at(10),
    }
}

/// A broadcast reads back as stored; updates need the status it had; lists
/// page; another business sees none of it.
pub async fn broadcast_round_trip_and_guarded_updates(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut bc = draft(s, &b).await;
    assert_eq!(ok(s.get_broadcast(b.id, bc.id).await, "get"), bc);
    bc.name = "Renamed".into();
    bc.pause_reason = Some("checking prices".into());
    bc.launch_cursor = Some(crate::domain::CustomerId::new());
    ok(s.update_broadcast(&bc, BroadcastStatus::Draft).await, "update");
    assert_eq!(ok(s.get_broadcast(b.id, bc.id).await, "get"), bc);
    // A stale writer expecting another status changes nothing.
    let mut stale = bc.clone();
    stale.status = BroadcastStatus::Cancelled;
    assert!(conflict(s.update_broadcast(&stale, BroadcastStatus::Scheduled).await));
    assert_eq!(ok(s.get_broadcast(b.id, bc.id).await, "get").status, BroadcastStatus::Draft);
    let second = draft(s, &b).await;
    let page = ok(s.list_broadcasts(b.id, 1, None).await, "page 1");
    assert_eq!(page.items.iter().map(|x| x.id).collect::<Vec<_>>(), vec![bc.id]);
    let after = page.next_cursor.unwrap().parse().ok();
    let rest = ok(s.list_broadcasts(b.id, 5, after).await, "page 2");
    assert_eq!(rest.items.iter().map(|x| x.id).collect::<Vec<_>>(), vec![second.id]);
    let other = new_business(s, "Other").await;
    assert!(not_found(s.get_broadcast(other.id, bc.id).await));
    assert!(ok(s.list_broadcasts(other.id, 5, None).await, "other").items.is_empty());
    let mut hijack = bc.clone();
    hijack.business_id = other.id;
    assert!(not_found(s.update_broadcast(&hijack, BroadcastStatus::Draft).await));
    assert!(not_found(s.broadcast_counts(other.id, bc.id, Some(Duration::hours(1)), None).await));
    assert!(not_found(s.list_broadcast_recipients(other.id, bc.id, 5, None).await));
}

/// A launch batch is stored whole, only while the broadcast is launching;
/// the last one makes it sending.
pub async fn broadcast_launch_batches_are_atomic(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut bc = draft(s, &b).await;
    let known = full_customer(b.id, "+254712000001", "Known");
    let fresh = bare_customer(b.id, "+254712000002");
    let skipped = bare_customer(b.id, "+254712000003");
    for c in [&known, &fresh, &skipped] {
        insert(s, c).await;
    }
    let conv = new_conversation(s, &known).await;
    let mut batch = batch_of(&b, bc.id);
    batch.queued = vec![
        queued(&known, conv.id, false, None),
        queued(&fresh, ConversationId::new(), true, None),
    ];
    batch.skipped = vec![BroadcastRecipient {
        broadcast_id: bc.id,
        customer_id: skipped.id,
        message_id: None,
        skipped: Some(SkipReason::NotOptedIn),
        variant: None,
    }];
    batch.cursor = Some(skipped.id);
    let (first, second) = (batch.queued[0].message_id, batch.queued[1].message_id);
    let opened = batch.queued[1].conversation_id;
    // A draft takes no batch, and nothing of it is stored.
    assert!(conflict(s.record_launch_batch(&batch).await));
    assert!(not_found(s.get_message(b.id, first).await));
    assert!(not_found(s.get_conversation(b.id, opened).await));
    set_status(s, &mut bc, BroadcastStatus::Launching).await;
    ok(s.record_launch_batch(&batch).await, "batch");
    // Every row is stored as the batch describes it.
    for (m, row) in batch.messages() {
        assert_eq!(ok(s.get_message(b.id, m.id).await, "message"), m);
        assert_eq!(ok(s.get_outbox_item(b.id, m.id).await, "row"), row);
    }
    let m = ok(s.get_message(b.id, second).await, "message");
    assert_eq!(
        (m.direction, m.status, m.times.queued_at, m.created_at, m.customer_id),
        (Direction::Outbound, MessageStatus::Queued, Some(at(10)), at(10), fresh.id)
    );
    assert_eq!(m.conversation_id, opened);
    let row = ok(s.get_outbox_item(b.id, second).await, "row");
    assert_eq!(
        (row.state, row.run_at, row.attempts, &row.sender, &row.recipient, row.category),
        (
            OutboxState::Pending,
            at(10),
            0,
            &b.whatsapp_sender,
            &fresh.phone,
            Some(TemplateCategory::Marketing)
        )
    );
    let conversation = ok(s.get_conversation(b.id, opened).await, "opened");
    assert_eq!(
        conversation,
        Conversation { id: opened, ..Conversation::new(b.id, fresh.id, at(10)) }
    );
    // An open conversation is joined, not opened again.
    assert_eq!(ok(s.get_message(b.id, first).await, "joined").conversation_id, conv.id);
    assert_eq!(ok(s.get_conversation(b.id, conv.id).await, "kept"), conv);
    let read = ok(s.get_broadcast(b.id, bc.id).await, "read");
    assert_eq!(
        (read.status, read.recipients, read.queued, read.skipped, read.launch_cursor),
        (BroadcastStatus::Launching, 3, 2, 1, Some(skipped.id))
    );
    let page = ok(s.list_broadcast_recipients(b.id, bc.id, 2, None).await, "recipients");
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].recipient.customer_id, known.id.min(fresh.id).min(skipped.id));
    let rest = ok(
        s.list_broadcast_recipients(b.id, bc.id, 5, page.next_cursor.unwrap().parse().ok()).await,
        "rest",
    );
    let all: Vec<_> = page.items.iter().chain(&rest.items).collect();
    assert_eq!(all.len(), 3);
    let skip = all.iter().find(|r| r.recipient.customer_id == skipped.id).unwrap();
    assert_eq!((skip.recipient.skipped, skip.status), (Some(SkipReason::NotOptedIn), None));
    let sent = all.iter().find(|r| r.recipient.customer_id == known.id).unwrap();
    assert_eq!(sent.status, Some(MessageStatus::Queued));
    assert_eq!(sent.recipient.message_id, Some(first));
    // The last (empty) batch ends the launch.
    batch.queued.clear();
    batch.skipped.clear();
    batch.cursor = None;
    batch.last = true;
    ok(s.record_launch_batch(&batch).await, "last");
    let read = ok(s.get_broadcast(b.id, bc.id).await, "read");
    assert_eq!(
        (read.status, read.launch_complete, read.launch_cursor),
        (BroadcastStatus::Sending, true, Some(skipped.id))
    );
}

/// Rows move as a pause, resume or cancel asks; held rows are never claimed;
/// counts add up statuses, codes, skips, replies and clicks.
pub async fn broadcast_rows_move_and_counts_add_up(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut bc = draft(s, &b).await;
    set_status(s, &mut bc, BroadcastStatus::Launching).await;
    let mut batch = batch_of(&b, bc.id);
    let mut customers = Vec::new();
    for i in 0..4_u8 {
        let c = bare_customer(b.id, &format!("+25471300000{i}"));
        insert(s, &c).await;
        let conv = new_conversation(s, &c).await;
        batch.queued.push(queued(&c, conv.id, false, Some(i % 2)));
        customers.push((c, conv));
    }
    let opted_out = bare_customer(b.id, "+254713000009");
    insert(s, &opted_out).await;
    batch.skipped.push(BroadcastRecipient {
        broadcast_id: bc.id,
        customer_id: opted_out.id,
        message_id: None,
        skipped: Some(SkipReason::OptedOut),
        variant: None,
    });
    batch.cursor = Some(opted_out.id);
    batch.last = true;
    ok(s.record_launch_batch(&batch).await, "batch");
    // Pause: held rows are not claimed; resume: they are.
    assert_eq!(
        ok(
            s.move_broadcast_rows(b.id, bc.id, OutboxState::Pending, OutboxState::Held, at(11))
                .await,
            "hold"
        ),
        4
    );
    assert!(ok(s.claim_due(at(20), 10, at(80)).await, "claim").is_empty());
    let other = new_business(s, "Other").await;
    assert_eq!(
        ok(
            s.move_broadcast_rows(other.id, bc.id, OutboxState::Held, OutboxState::Pending, at(12))
                .await,
            "other"
        ),
        0
    );
    assert_eq!(
        ok(
            s.move_broadcast_rows(b.id, bc.id, OutboxState::Held, OutboxState::Pending, at(12))
                .await,
            "release"
        ),
        4
    );
    let claimed = ok(s.claim_due(at(20), 3, at(80)).await, "claim");
    assert_eq!(claimed.len(), 3);
    // Two delivered (one read), one failed with a code; one still pending.
    let outcomes = [MessageStatus::Read, MessageStatus::Delivered, MessageStatus::Failed];
    for (row, status) in claimed.iter().zip(outcomes) {
        let mut m = ok(s.get_message(b.id, row.message_id).await, "message");
        let code = (status == MessageStatus::Failed).then_some(63_016);
        m.apply_status(MessageStatus::Sent, at(21), None);
        m.apply_status(status, at(22), code);
        ok(s.update_message(&m).await, "status");
        let outcome = if code.is_some() {
            OutboxOutcome::Failed { error: "failed".into(), code }
        } else {
            OutboxOutcome::Sent
        };
        ok(s.finish(b.id, row.message_id, &outcome, at(21)).await, "finish");
    }
    // The first two customers answer, one with a button; one answer is too late.
    let answer = |i: usize, content: MessageContent, minutes: i64| {
        let (c, conv) = &customers[i];
        let mut m = text_message(conv, "");
        m.direction = Direction::Inbound;
        m.status = MessageStatus::Received;
        m.content = content;
        m.created_at = batch.at + Duration::minutes(minutes);
        m.customer_id = c.id;
        m
    };
    let reply = |i, minutes| answer(i, MessageContent::text("asante"), minutes);
    let tap = answer(
        1,
        MessageContent::Interactive {
            interactive: Interactive::Reply { payload: Some("yes".into()), title: "Yes".into() },
        },
        5,
    );
    for m in [reply(0, 3), tap, reply(2, 60 * 24 * 10)] {
        ok(s.insert_message(&m).await, "answer");
    }
    let counts =
        ok(s.broadcast_counts(b.id, bc.id, Some(Duration::hours(72)), None).await, "counts");
    let status_count = |st| counts.by_status.iter().find(|(x, _)| *x == st).map_or(0, |(_, n)| *n);
    assert_eq!(
        [
            MessageStatus::Queued,
            MessageStatus::Delivered,
            MessageStatus::Read,
            MessageStatus::Failed
        ]
        .map(status_count),
        [1, 1, 1, 1]
    );
    assert_eq!(counts.failed_by_code, vec![(Some(63_016), 1)]);
    assert_eq!(counts.skipped, vec![(SkipReason::OptedOut, 1)]);
    assert_eq!(
        counts.by_outbox_state,
        vec![(OutboxState::Pending, 1), (OutboxState::Sent, 2), (OutboxState::Failed, 1)]
    );
    assert_eq!((counts.replies, counts.clicks), (2, 1));
    // Without a reply window, the same counts but no replies or clicks.
    let cheap = ok(s.broadcast_counts(b.id, bc.id, None, None).await, "no window");
    assert_eq!(cheap, BroadcastCounts { replies: 0, clicks: 0, ..counts.clone() });
    // Per A/B variant: customers 0 and 2 in the first, 1 and 3 in the second.
    let first = ok(s.broadcast_counts(b.id, bc.id, Some(Duration::hours(72)), Some(0)).await, "v0");
    assert_eq!(first.by_status, vec![(MessageStatus::Read, 1), (MessageStatus::Failed, 1)]);
    assert_eq!((first.replies, first.clicks, first.skipped.len()), (1, 0, 0));
    let second =
        ok(s.broadcast_counts(b.id, bc.id, Some(Duration::hours(72)), Some(1)).await, "v1");
    assert_eq!(second.by_status, vec![(MessageStatus::Queued, 1), (MessageStatus::Delivered, 1)]);
    assert_eq!((second.replies, second.clicks), (1, 1));
    // Cancel withdraws the pending row only.
    assert_eq!(
        ok(
            s.move_broadcast_rows(
                b.id,
                bc.id,
                OutboxState::Pending,
                OutboxState::Cancelled,
                at(30)
            )
            .await,
            "cancel"
        ),
        1
    );
    assert!(ok(s.claim_due(at(100), 10, at(160)).await, "claim").is_empty());
}

/// The worker finds scheduled broadcasts once due, and launching or sending
/// ones always, across businesses; paused and finished ones never.
pub async fn broadcast_active_ones_are_found(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let mut later = draft(s, &a).await;
    set_status(s, &mut later, BroadcastStatus::Scheduled).await;
    let mut launching = draft(s, &b).await;
    set_status(s, &mut launching, BroadcastStatus::Launching).await;
    let mut paused = draft(s, &a).await;
    set_status(s, &mut paused, BroadcastStatus::Paused).await;
    let _draft = draft(s, &a).await;
    let ids =
        |v: Vec<(BusinessId, BroadcastId)>| v.into_iter().map(|(_, id)| id).collect::<Vec<_>>();
    assert_eq!(ids(ok(s.active_broadcasts(at(3_599)).await, "early")), vec![launching.id]);
    assert_eq!(ids(ok(s.active_broadcasts(at(3_600)).await, "due")), vec![later.id, launching.id]);
}

/// Audience ids follow the rule and the snapshot time; open conversations
/// and marketing counts come back for many customers at once.
pub async fn broadcast_reads_for_a_launch(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let other = new_business(s, "Other").await;
    let mut vip = bare_customer(b.id, "+254714000001");
    vip.tags.insert(tag("vip"));
    let mut late = bare_customer(b.id, "+254714000002");
    late.tags.insert(tag("vip"));
    late.created_at = at(500);
    let plain = bare_customer(b.id, "+254714000003");
    let mut foreign = bare_customer(other.id, "+254714000004");
    foreign.tags.insert(tag("vip"));
    for c in [&vip, &late, &plain, &foreign] {
        insert(s, c).await;
    }
    let rule = Rule::Tag(TagTest::Any(vec![tag("vip")]));
    let ctx = SegmentContext { now: at(100), time_zone: b.time_zone };
    let ids = |customers: Vec<Customer>| customers.iter().map(|c| c.id).collect::<Vec<_>>();
    let snapshot = |by| s.segment_customers(b.id, &rule, &ctx, by, None, 10);
    assert_eq!(ids(ok(snapshot(at(100)).await, "ids")), vec![vip.id]);
    let mut both = vec![vip.id, late.id];
    both.sort();
    assert_eq!(ids(ok(snapshot(at(600)).await, "later")), both);
    // Whole customers, a page at a time, under the same snapshot.
    let page = |after, limit| s.segment_customers(b.id, &rule, &ctx, at(600), after, limit);
    let first = ok(page(None, 1).await, "first page");
    assert_eq!(first.len(), 1);
    let stored = if first[0].id == vip.id { &vip } else { &late };
    assert_eq!(&first[0], stored);
    let rest = ok(page(Some(first[0].id), 5).await, "rest");
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), vec![both[1]]);
    assert!(ok(page(Some(both[1]), 5).await, "past the end").is_empty());
    let early = ok(s.segment_customers(b.id, &rule, &ctx, at(100), None, 5).await, "snapshot");
    assert_eq!(early.iter().map(|c| c.id).collect::<Vec<_>>(), vec![vip.id]);
    assert!(
        ok(s.segment_customers(other.id, &rule, &ctx, at(100), Some(vip.id), 5).await, "other")
            .iter()
            .all(|c| c.business_id == other.id)
    );
    // The newest conversation of each customer asked about, resolved or not.
    let _old = new_conversation(s, &vip).await;
    let mut resolved = Conversation::new(b.id, vip.id, at(1));
    resolved.status = crate::domain::ConversationStatus::Resolved;
    ok(s.insert_conversation(&resolved).await, "resolved");
    let plain_conv = new_conversation(s, &plain).await;
    let mut found = ok(s.latest_conversations(b.id, &[vip.id, plain.id, late.id]).await, "open");
    found.sort_by_key(|c| c.id);
    let mut expected = vec![resolved, plain_conv];
    expected.sort_by_key(|c| c.id);
    assert_eq!(found, expected);
    assert!(ok(s.latest_conversations(other.id, &[vip.id]).await, "other").is_empty());
    // Sent marketing per recipient since a time.
    let conv = ok(s.latest_conversation(b.id, vip.id).await, "conv").unwrap();
    for (i, secs) in [(0, 50), (1, 200)] {
        let mut one = batch_of(&b, BroadcastId::new());
        one.queued.push(queued(&vip, conv.id, false, None));
        let (m, row) = one.messages().next().unwrap();
        let _ = i;
        ok(s.insert_message(&m).await, "message");
        ok(s.enqueue(&[OutboxItem { run_at: at(secs), ..row }]).await, "enqueue");
        let claimed = ok(s.claim_due(at(secs), 1, at(secs + 60)).await, "claim");
        ok(s.finish(b.id, claimed[0].message_id, &OutboxOutcome::Sent, at(secs)).await, "sent");
    }
    let counts = ok(s.marketing_counts_since(b.id, at(100)).await, "since");
    assert_eq!(counts, vec![(vip.phone.clone(), 1)]);
    assert_eq!(ok(s.marketing_counts_since(b.id, at(0)).await, "all"), vec![(vip.phone, 2)]);
    assert!(ok(s.marketing_counts_since(other.id, at(0)).await, "other").is_empty());
}
