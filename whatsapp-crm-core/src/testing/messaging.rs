//! Conformance cases for conversations and messages.

use std::collections::BTreeMap;

use crate::domain::{
    ConversationId, ConversationStatus, Direction, Interactive, ListRow, ListSection,
    MediaAttachment, MessageContent, MessageId, MessageStatus, ReplyButton,
};
use crate::ports::{ConversationQuery, MessageQuery, Storage, StorageError};

use super::is_not_found;
use super::{
    at, bare_customer, full_customer, insert, new_business, new_conversation, ok, set_status,
    text_message,
};
use futures_util::future::join_all;

/// A conversation reads back unchanged.
pub async fn conversation_round_trip(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Chatty");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    assert_eq!(ok(s.get_conversation(b.id, conv.id).await, "get"), conv);
    let err = s.get_conversation(b.id, ConversationId::new()).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { entity: "conversation" }), "{err:?}");
}

/// A conversation must name a customer of its own business.
pub async fn conversation_needs_customer_of_same_business(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let theirs = full_customer(b.id, "+254712000001", "Theirs");
    insert(s, &theirs).await;
    let mut conv = crate::domain::Conversation::new(a.id, theirs.id, at(0));
    assert!(is_not_found(s.insert_conversation(&conv).await));
    conv.customer_id = crate::domain::CustomerId::new();
    assert!(is_not_found(s.insert_conversation(&conv).await));
    assert!(is_not_found(s.get_conversation(a.id, conv.id).await));
}

/// The latest conversation is the newest one, resolved or not.
pub async fn conversation_latest(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Returning");
    insert(s, &c).await;
    assert_eq!(ok(s.latest_conversation(b.id, c.id).await, "none yet"), None);
    let old = new_conversation(s, &c).await;
    let old = set_status(s, &old, ConversationStatus::Resolved, None).await;
    assert_eq!(ok(s.latest_conversation(b.id, c.id).await, "resolved"), Some(old));
    let current = new_conversation(s, &c).await;
    let current = set_status(s, &current, ConversationStatus::Pending, None).await;
    assert_eq!(ok(s.latest_conversation(b.id, c.id).await, "newest"), Some(current));
}

/// Listing filters by customer and status, and pages in id order.
pub async fn conversation_list_filters_and_pages(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c1 = full_customer(b.id, "+254712000001", "One");
    let c2 = full_customer(b.id, "+254712000002", "Two");
    insert(s, &c1).await;
    insert(s, &c2).await;
    let mut all = Vec::new();
    for i in 0..5 {
        let mut conv = new_conversation(s, if i % 2 == 0 { &c1 } else { &c2 }).await;
        if i == 4 {
            conv = set_status(s, &conv, ConversationStatus::Resolved, None).await;
        }
        all.push(conv);
    }
    let q = ConversationQuery { limit: 2, ..Default::default() };
    let first = ok(s.list_conversations(b.id, &q).await, "page 1");
    assert_eq!(first.items, all[..2]);
    let after = first.next_cursor.map(|c| c.parse().unwrap());
    let q = ConversationQuery { limit: 10, after, ..Default::default() };
    let rest = ok(s.list_conversations(b.id, &q).await, "page 2");
    assert_eq!((rest.items.as_slice(), rest.next_cursor), (&all[2..], None));

    let q = ConversationQuery { customer: Some(c1.id), limit: 10, ..Default::default() };
    let ids: Vec<_> = ok(s.list_conversations(b.id, &q).await, "by customer")
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [all[0].id, all[2].id, all[4].id]);
    let q = ConversationQuery {
        customer: Some(c1.id),
        status: Some(ConversationStatus::Open),
        waiting: None,
        agent: None,
        limit: 10,
        after: None,
    };
    let ids: Vec<_> =
        ok(s.list_conversations(b.id, &q).await, "open").items.iter().map(|c| c.id).collect();
    assert_eq!(ids, [all[0].id, all[2].id]);
}

/// Message times change through an update; status and agent only through
/// the desk (an update never undoes an assignment made meanwhile); the
/// customer never.
pub async fn conversation_update_round_trip(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "One");
    let other = full_customer(b.id, "+254712000002", "Two");
    insert(s, &c).await;
    insert(s, &other).await;
    let stale = new_conversation(s, &c).await;
    let agent = crate::domain::AgentId::new();
    let mut conv = set_status(s, &stale, ConversationStatus::Pending, Some(agent)).await;
    assert_eq!(
        (conv.status, conv.assigned_agent, conv.desk.rev),
        (ConversationStatus::Pending, Some(agent), 1)
    );
    let mut update = stale.clone();
    update.last_inbound_at = Some(at(30));
    update.last_message_at = Some(at(31));
    update.updated_at = at(31);
    ok(s.update_conversation(&update).await, "update");
    conv.last_inbound_at = Some(at(30));
    conv.last_message_at = Some(at(31));
    conv.updated_at = at(31);
    assert_eq!(ok(s.get_conversation(b.id, conv.id).await, "get"), conv);
    let mut moved = conv.clone();
    moved.customer_id = other.id;
    assert!(is_not_found(s.update_conversation(&moved).await));
    assert_eq!(ok(s.get_conversation(b.id, conv.id).await, "unchanged"), conv);
}

/// Conversations of business A are invisible and immutable through business B.
pub async fn conversation_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let c = full_customer(a.id, "+254712000001", "Private");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    assert!(is_not_found(s.get_conversation(b.id, conv.id).await));
    assert_eq!(ok(s.latest_conversation(b.id, c.id).await, "active"), None);
    let q = ConversationQuery { limit: 50, ..Default::default() };
    assert!(ok(s.list_conversations(b.id, &q).await, "list").items.is_empty());
    let q = ConversationQuery { customer: Some(c.id), limit: 50, ..Default::default() };
    assert!(ok(s.list_conversations(b.id, &q).await, "list by customer").items.is_empty());
    let mut hijack = conv.clone();
    hijack.business_id = b.id;
    hijack.last_inbound_at = Some(at(99));
    assert!(is_not_found(s.update_conversation(&hijack).await));
    assert_eq!(ok(s.get_conversation(a.id, conv.id).await, "unchanged"), conv);
}

/// Every kind of content, direction, status and time reads back unchanged.
pub async fn message_round_trip_every_kind(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Kinds");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let contents = vec![
        MessageContent::text("Habari! Your order *#42* is ready 🎉\nPick up at 5pm"),
        MessageContent::Media {
            media: vec![
                MediaAttachment {
                    url: "https://example.com/a.jpg".into(),
                    content_type: Some("image/jpeg".into()),
                },
                MediaAttachment { url: "https://example.com/b.pdf".into(), content_type: None },
            ],
            caption: Some("Receipt".into()),
        },
        MessageContent::Template {
            name: "order_update".into(),
            content_sid: Some("HX0123456789abcdef0123456789abcdef".into()),
            variables: BTreeMap::from([("1".into(), "Wanjiku".into()), ("2".into(), "#42".into())]),
            rendered: Some("Hi Wanjiku, order #42 shipped".into()),
        },
        MessageContent::Interactive {
            interactive: Interactive::Buttons {
                body: "Confirm?".into(),
                buttons: vec![ReplyButton { id: "yes".into(), title: "Yes".into() }],
                footer: None,
            },
        },
        MessageContent::Interactive {
            interactive: Interactive::List {
                body: "Menu".into(),
                button_label: "Open".into(),
                sections: vec![ListSection {
                    title: Some("Fruit".into()),
                    rows: vec![ListRow {
                        id: "mango".into(),
                        title: "Mango".into(),
                        description: Some("Sweet".into()),
                    }],
                }],
                footer: Some("Prices in KES".into()),
            },
        },
        MessageContent::Interactive {
            interactive: Interactive::Reply { payload: Some("yes".into()), title: "Yes".into() },
        },
        MessageContent::Location {
            latitude: -1.2921,
            longitude: 36.8219,
            label: Some("CBD".into()),
            address: None,
        },
    ];
    for (i, content) in contents.into_iter().enumerate() {
        let mut m = text_message(&conv, "");
        m.content = content;
        if i % 2 == 1 {
            m.direction = Direction::Inbound;
            m.status = MessageStatus::Received;
            m.times.received_at = Some(at(i as i64));
            m.provider_id = Some(format!("SM{i:032}"));
        } else {
            m.status = MessageStatus::Undelivered;
            m.error_code = Some(63024);
            m.times.failed_at = Some(at(i as i64));
        }
        ok(s.insert_message(&m).await, "insert");
        assert_eq!(ok(s.get_message(b.id, m.id).await, "get"), m);
    }
    let err = s.get_message(b.id, MessageId::new()).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { entity: "message" }), "{err:?}");
}

/// A message must belong to a stored conversation of its own customer.
pub async fn message_needs_conversation_of_same_customer(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "One");
    let other = bare_customer(b.id, "+254712000002");
    insert(s, &c).await;
    insert(s, &other).await;
    let conv = new_conversation(s, &c).await;
    let mut wrong_customer = text_message(&conv, "x");
    wrong_customer.customer_id = other.id;
    assert!(is_not_found(s.insert_message(&wrong_customer).await));
    let mut no_conv = text_message(&conv, "x");
    no_conv.conversation_id = ConversationId::new();
    assert!(is_not_found(s.insert_message(&no_conv).await));
    assert!(is_not_found(s.get_message(b.id, no_conv.id).await));
}

/// A provider id is stored once per business: duplicate webhook deliveries
/// conflict, even when they race.
pub async fn message_provider_id_unique_per_business(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let ca = full_customer(a.id, "+254712000001", "A");
    let cb = full_customer(b.id, "+254712000001", "B");
    insert(s, &ca).await;
    insert(s, &cb).await;
    let conv_a = new_conversation(s, &ca).await;
    let conv_b = new_conversation(s, &cb).await;
    let sid = "SM11111111111111111111111111111111";
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let mut m = text_message(&conv_a, "dup");
            m.provider_id = Some(sid.into());
            m
        })
        .collect();
    let results = join_all(racers.iter().map(|m| s.insert_message(m))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(StorageError::Conflict { .. }))));
    let mut in_b = text_message(&conv_b, "same sid, other tenant");
    in_b.provider_id = Some(sid.into());
    ok(s.insert_message(&in_b).await, "other tenant may reuse");
    let page = ok(
        s.list_messages(a.id, conv_a.id, &MessageQuery { limit: 50, after: None }).await,
        "list",
    );
    assert_eq!(page.items.len(), 1);
}

/// A message is found by its provider id; unknown ids find nothing.
pub async fn message_find_by_provider_id(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "One");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let mut m = text_message(&conv, "x");
    m.provider_id = Some("SM22222222222222222222222222222222".into());
    ok(s.insert_message(&m).await, "insert");
    let found =
        ok(s.find_message_by_provider_id(b.id, "SM22222222222222222222222222222222").await, "find");
    assert_eq!(found, Some(m));
    assert_eq!(ok(s.find_message_by_provider_id(b.id, "SM0").await, "miss"), None);
}

/// Status, provider id, error code and times update; a provider id already
/// used by another message conflicts.
pub async fn message_update_status(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "One");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let mut m = text_message(&conv, "x");
    ok(s.insert_message(&m).await, "insert");
    m.provider_id = Some("SM33333333333333333333333333333333".into());
    assert!(m.apply_status(MessageStatus::Sent, at(10), None));
    ok(s.update_message(&m).await, "sent");
    assert!(m.apply_status(MessageStatus::Read, at(20), None));
    ok(s.update_message(&m).await, "read");
    assert_eq!(ok(s.get_message(b.id, m.id).await, "get"), m);
    let by_sid =
        ok(s.find_message_by_provider_id(b.id, "SM33333333333333333333333333333333").await, "find");
    assert_eq!(by_sid.map(|x| x.id), Some(m.id));

    let mut other = text_message(&conv, "y");
    ok(s.insert_message(&other).await, "insert other");
    other.provider_id = m.provider_id.clone();
    let err = s.update_message(&other).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
    assert_eq!(ok(s.get_message(b.id, other.id).await, "get other").provider_id, None);
    let ghost = text_message(&conv, "z");
    assert!(is_not_found(s.update_message(&ghost).await));
}

/// Messages list oldest first, one conversation at a time, page by page;
/// the latest read newest first.
pub async fn message_list_pages_in_order(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "One");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let noise = new_conversation(s, &c).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = text_message(&conv, &format!("m{i}"));
        ok(s.insert_message(&m).await, "insert");
        ok(s.insert_message(&text_message(&noise, "noise")).await, "insert noise");
        ids.push(m.id);
    }
    let p1 =
        ok(s.list_messages(b.id, conv.id, &MessageQuery { limit: 2, after: None }).await, "p1");
    let after = p1.next_cursor.as_deref().map(|c| c.parse().unwrap());
    let p2 = ok(s.list_messages(b.id, conv.id, &MessageQuery { limit: 3, after }).await, "p2");
    let got: Vec<_> = p1.items.iter().chain(&p2.items).map(|m| m.id).collect();
    assert_eq!(got, ids);
    assert_eq!(p2.next_cursor, None);

    // Newest first, from the end or before a message, never another
    // conversation's or another business's.
    let newest = |limit, before| s.latest_messages(b.id, conv.id, limit, before);
    let latest: Vec<_> = ok(newest(2, None).await, "latest").iter().map(|m| m.id).collect();
    assert_eq!(latest, [ids[4], ids[3]]);
    let older: Vec<_> = ok(newest(10, Some(ids[3])).await, "older").iter().map(|m| m.id).collect();
    assert_eq!(older, [ids[2], ids[1], ids[0]]);
    assert!(ok(newest(10, Some(ids[0])).await, "none older").is_empty());
    let other = new_business(s, "Other").await;
    assert!(ok(s.latest_messages(other.id, conv.id, 10, None).await, "other").is_empty());
}

/// Messages of business A are invisible and immutable through business B.
pub async fn message_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let c = full_customer(a.id, "+254712000001", "Private");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let mut m = text_message(&conv, "secret");
    m.provider_id = Some("SM44444444444444444444444444444444".into());
    ok(s.insert_message(&m).await, "insert");

    assert!(is_not_found(s.get_message(b.id, m.id).await));
    assert_eq!(
        ok(s.find_message_by_provider_id(b.id, "SM44444444444444444444444444444444").await, "find"),
        None
    );
    let q = MessageQuery { limit: 50, after: None };
    assert!(ok(s.list_messages(b.id, conv.id, &q).await, "list").items.is_empty());
    let mut hijack = m.clone();
    hijack.business_id = b.id;
    hijack.status = MessageStatus::Failed;
    assert!(is_not_found(s.update_message(&hijack).await));
    let mut planted = text_message(&conv, "planted");
    planted.business_id = b.id;
    assert!(is_not_found(s.insert_message(&planted).await));
    assert_eq!(ok(s.get_message(a.id, m.id).await, "unchanged"), m);
}
