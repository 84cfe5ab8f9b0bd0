//! Conformance cases for customers.

use futures_util::future::join_all;

use crate::domain::{AttributeValue, CustomerId, Tag};
use crate::ports::{CustomerQuery, MessageQuery, Storage, StorageError};

use super::is_not_found;
use super::{
    at, bare_customer, full_customer, insert, new_business, new_conversation, ok, phone, tag,
    text_message,
};

/// Every field of a customer, including sub-second times, reads back unchanged.
pub async fn customer_round_trip_keeps_every_field(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let full = full_customer(b.id, "+254712000001", "Wanjiku Kamau");
    let bare = bare_customer(b.id, "+254712000002");
    insert(s, &full).await;
    insert(s, &bare).await;
    assert_eq!(ok(s.get_customer(b.id, full.id).await, "get full"), full);
    assert_eq!(ok(s.get_customer(b.id, bare.id).await, "get bare"), bare);
}

/// An unknown customer id is `NotFound`.
pub async fn customer_missing_is_not_found(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let err = s.get_customer(b.id, CustomerId::new()).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { entity: "customer" }), "{err:?}");
}

/// A phone number is unique within a business.
pub async fn customer_phone_unique_per_business(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let first = full_customer(b.id, "+254712000001", "First");
    insert(s, &first).await;
    let dup = full_customer(b.id, "+254712000001", "Second");
    let err = s.insert_customer(&dup).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { entity: "customer", .. }), "{err:?}");
    assert!(is_not_found(s.get_customer(b.id, dup.id).await));
    assert_eq!(ok(s.get_customer(b.id, first.id).await, "get"), first);
}

/// Two businesses may each have a customer with the same phone.
pub async fn customer_same_phone_in_two_businesses(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let ca = full_customer(a.id, "+254712000001", "In A");
    let cb = full_customer(b.id, "+254712000001", "In B");
    insert(s, &ca).await;
    insert(s, &cb).await;
    let p = phone("+254712000001");
    assert_eq!(ok(s.find_customer_by_phone(a.id, &p).await, "find a"), Some(ca));
    assert_eq!(ok(s.find_customer_by_phone(b.id, &p).await, "find b"), Some(cb));
}

/// A customer of a business that does not exist is refused.
pub async fn customer_needs_existing_business(s: &dyn Storage) {
    let c = bare_customer(crate::domain::BusinessId::new(), "+254712000001");
    let err = s.insert_customer(&c).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
}

/// Eight concurrent inserts of one phone: exactly one succeeds, the rest conflict.
pub async fn customer_concurrent_inserts_one_phone_one_winner(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let candidates: Vec<_> =
        (0..8).map(|i| full_customer(b.id, "+254712000009", &format!("Racer {i}"))).collect();
    let results = join_all(candidates.iter().map(|c| s.insert_customer(c))).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts =
        results.iter().filter(|r| matches!(r, Err(StorageError::Conflict { .. }))).count();
    assert_eq!((wins, conflicts), (1, 7), "{results:?}");
    let page = ok(
        s.list_customers(b.id, &CustomerQuery { limit: 50, ..Default::default() }).await,
        "list",
    );
    assert_eq!(page.items.len(), 1);
}

/// Every field can be changed and reads back changed.
pub async fn customer_update_round_trip(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut c = full_customer(b.id, "+254712000001", "Old Name");
    insert(s, &c).await;
    c.phone = phone("+254712000099");
    c.name = None;
    c.tags = [tag("wholesale")].into();
    c.location.city = Some("Mombasa".into());
    c.birthday = None;
    c.attributes.insert("tier".into(), AttributeValue::Text("gold".into()));
    c.attributes.remove("ratio");
    c.updated_at = at(100);
    ok(s.update_customer(&c).await, "update");
    assert_eq!(ok(s.get_customer(b.id, c.id).await, "get"), c);
    assert_eq!(ok(s.find_customer_by_phone(b.id, &phone("+254712000001")).await, "old"), None);
    assert_eq!(ok(s.find_customer_by_phone(b.id, &c.phone).await, "new"), Some(c));
}

/// Updates never touch the figures orders and messages maintain (stats, first
/// and last seen, last inbound), so a stale copy cannot undo them.
pub async fn customer_update_keeps_stats(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Counted");
    insert(s, &c).await;
    let mut stale = c.clone();
    stale.name = Some("Renamed".into());
    stale.stats.total_spent = 0;
    stale.stats.order_count = 0;
    stale.stats.engagement_score = 99;
    stale.last_inbound_at = None;
    stale.first_seen_at = Some(at(500));
    stale.last_seen_at = None;
    ok(s.update_customer(&stale).await, "update");
    let stored = ok(s.get_customer(b.id, c.id).await, "get");
    assert_eq!(stored.name.as_deref(), Some("Renamed"));
    assert_eq!(stored.stats, c.stats);
    assert_eq!(
        (stored.first_seen_at, stored.last_seen_at, stored.last_inbound_at),
        (c.first_seen_at, c.last_seen_at, c.last_inbound_at)
    );
}

/// Changing a phone to one already taken is a `Conflict` and changes nothing.
pub async fn customer_update_to_taken_phone_conflicts(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let one = full_customer(b.id, "+254712000001", "One");
    let two = full_customer(b.id, "+254712000002", "Two");
    insert(s, &one).await;
    insert(s, &two).await;
    let mut changed = two.clone();
    changed.phone = one.phone.clone();
    changed.name = Some("Changed".into());
    let err = s.update_customer(&changed).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
    assert_eq!(ok(s.get_customer(b.id, two.id).await, "get"), two);
}

/// Updating a customer that does not exist is `NotFound` and creates nothing.
pub async fn customer_update_missing_is_not_found(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let ghost = bare_customer(b.id, "+254712000001");
    assert!(is_not_found(s.update_customer(&ghost).await));
    assert!(is_not_found(s.get_customer(b.id, ghost.id).await));
}

/// Deleting a customer removes them, their conversations and messages, and
/// frees the phone number; deleting again is `NotFound`.
pub async fn customer_delete_removes_conversations_and_messages(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Leaving");
    let stays = full_customer(b.id, "+254712000002", "Staying");
    insert(s, &c).await;
    insert(s, &stays).await;
    let conv = new_conversation(s, &c).await;
    let mut m = text_message(&conv, "bye");
    m.provider_id = Some("SM00000000000000000000000000000001".into());
    ok(s.insert_message(&m).await, "insert message");
    let other_conv = new_conversation(s, &stays).await;
    ok(s.insert_message(&text_message(&other_conv, "hi")).await, "insert other message");

    ok(s.delete_customer(b.id, c.id).await, "delete");
    assert!(is_not_found(s.get_customer(b.id, c.id).await));
    assert!(is_not_found(s.get_conversation(b.id, conv.id).await));
    assert!(is_not_found(s.get_message(b.id, m.id).await));
    assert_eq!(
        ok(s.find_message_by_provider_id(b.id, "SM00000000000000000000000000000001").await, "find"),
        None
    );
    assert!(is_not_found(s.delete_customer(b.id, c.id).await));
    insert(s, &bare_customer(b.id, "+254712000001")).await;
    let kept = ok(
        s.list_messages(b.id, other_conv.id, &MessageQuery { limit: 10, after: None }).await,
        "list",
    );
    assert_eq!(kept.items.len(), 1);
}

/// Looking up by phone finds the customer; an unknown phone finds nothing.
pub async fn customer_find_by_phone(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Found");
    insert(s, &c).await;
    assert_eq!(ok(s.find_customer_by_phone(b.id, &c.phone).await, "find"), Some(c));
    assert_eq!(ok(s.find_customer_by_phone(b.id, &phone("+254712000002")).await, "miss"), None);
}

/// Adding tags is idempotent, removing absent tags is harmless, and both stamp `updated_at`.
pub async fn customer_tags_add_and_remove(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = full_customer(b.id, "+254712000001", "Tagged");
    insert(s, &c).await;
    let added = ok(
        s.add_customer_tags(b.id, c.id, &[tag("vip"), tag("new"), tag("new")], at(50)).await,
        "add",
    );
    let names: Vec<&str> = added.tags.iter().map(Tag::as_str).collect();
    assert_eq!(names, ["nairobi:cbd", "new", "vip"]);
    assert_eq!(added.updated_at, at(50));
    let removed = ok(
        s.remove_customer_tags(b.id, c.id, &[tag("vip"), tag("absent")], at(60)).await,
        "remove",
    );
    let names: Vec<&str> = removed.tags.iter().map(Tag::as_str).collect();
    assert_eq!(names, ["nairobi:cbd", "new"]);
    assert_eq!(ok(s.get_customer(b.id, c.id).await, "get"), removed);
    assert!(is_not_found(s.add_customer_tags(b.id, CustomerId::new(), &[tag("x")], at(1)).await));
}

/// Tags added concurrently from many tasks are all kept.
pub async fn customer_concurrent_tagging_loses_nothing(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = bare_customer(b.id, "+254712000001");
    insert(s, &c).await;
    let tags: Vec<Tag> = (0..16).map(|i| tag(&format!("t{i:02}"))).collect();
    let results = join_all(
        tags.iter().map(|t| s.add_customer_tags(b.id, c.id, std::slice::from_ref(t), at(1))),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(ok(s.get_customer(b.id, c.id).await, "get").tags.len(), 16);
}

/// Paging walks every customer once, in id order, and says when it is done.
pub async fn customer_list_pages_in_order(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let c = bare_customer(b.id, &format!("+2547120000{i:02}"));
        insert(s, &c).await;
        ids.push(c.id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = ok(
            s.list_customers(b.id, &CustomerQuery { limit: 3, after, ..Default::default() }).await,
            "list",
        );
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(cursor) => after = Some(cursor.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(pages, 3);
    let exact =
        ok(s.list_customers(b.id, &CustomerQuery { limit: 7, ..Default::default() }).await, "list");
    assert_eq!((exact.items.len(), exact.next_cursor), (7, None));
}

/// Search matches a case-insensitive substring of the name or the phone, and
/// treats SQL and pattern characters as plain text.
pub async fn customer_list_search_name_and_phone(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let wanjiku = full_customer(b.id, "+254712000001", "Wanjiku Kamau");
    let otieno = full_customer(b.id, "+254733000002", "Otieno O'Brien 100%");
    let zoe = full_customer(b.id, "+255744000003", "ZOË_Mwangi");
    for c in [&wanjiku, &otieno, &zoe] {
        insert(s, c).await;
    }
    let search = |q: &str| {
        let q = CustomerQuery { search: Some(q.to_owned()), limit: 50, ..Default::default() };
        async move {
            let page = ok(s.list_customers(b.id, &q).await, "search");
            page.items.into_iter().map(|c| c.name.unwrap_or_default()).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("KAMAU").await, ["Wanjiku Kamau"]);
    assert_eq!(search("2547").await, ["Wanjiku Kamau", "Otieno O'Brien 100%"]);
    assert_eq!(search("o'b").await, ["Otieno O'Brien 100%"]);
    assert_eq!(search("%").await, ["Otieno O'Brien 100%"]);
    assert_eq!(search("zoë_").await, ["ZOË_Mwangi"]);
    assert_eq!(search("_").await, ["ZOË_Mwangi"]);
    assert!(search("' OR 1=1 --").await.is_empty());
    assert_eq!(search("  ").await.len(), 3, "blank search matches everyone");
}

/// The tag filter keeps only customers with that tag, and combines with search.
pub async fn customer_list_filter_by_tag(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let vip = full_customer(b.id, "+254712000001", "Vip One");
    let plain = bare_customer(b.id, "+254712000002");
    let vip2 = full_customer(b.id, "+254712000003", "Vip Two");
    for c in [&vip, &plain, &vip2] {
        insert(s, c).await;
    }
    let q = CustomerQuery { tag: Some(tag("vip")), limit: 50, ..Default::default() };
    let ids: Vec<_> =
        ok(s.list_customers(b.id, &q).await, "by tag").items.iter().map(|c| c.id).collect();
    assert_eq!(ids, [vip.id, vip2.id]);
    let q = CustomerQuery {
        tag: Some(tag("vip")),
        search: Some("two".into()),
        limit: 50,
        ..Default::default()
    };
    let ids: Vec<_> =
        ok(s.list_customers(b.id, &q).await, "by tag").items.iter().map(|c| c.id).collect();
    assert_eq!(ids, [vip2.id]);
    let q = CustomerQuery { tag: Some(tag("nobody")), limit: 50, ..Default::default() };
    assert!(ok(s.list_customers(b.id, &q).await, "none").items.is_empty());
}

/// Nothing of business A can be read, changed or deleted through business B.
pub async fn customer_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let mine = full_customer(a.id, "+254712000001", "Private");
    insert(s, &mine).await;

    assert!(is_not_found(s.get_customer(b.id, mine.id).await));
    assert_eq!(ok(s.find_customer_by_phone(b.id, &mine.phone).await, "find"), None);
    let all = CustomerQuery { limit: 200, ..Default::default() };
    assert!(ok(s.list_customers(b.id, &all).await, "list").items.is_empty());
    let search = CustomerQuery { search: Some("private".into()), limit: 200, ..Default::default() };
    assert!(ok(s.list_customers(b.id, &search).await, "search").items.is_empty());

    let mut hijack = mine.clone();
    hijack.business_id = b.id;
    hijack.name = Some("Hijacked".into());
    assert!(is_not_found(s.update_customer(&hijack).await));
    assert!(is_not_found(s.delete_customer(b.id, mine.id).await));
    assert!(is_not_found(s.add_customer_tags(b.id, mine.id, &[tag("x")], at(9)).await));
    assert!(is_not_found(s.remove_customer_tags(b.id, mine.id, &[tag("vip")], at(9)).await));

    assert_eq!(ok(s.get_customer(a.id, mine.id).await, "unchanged"), mine);
}
