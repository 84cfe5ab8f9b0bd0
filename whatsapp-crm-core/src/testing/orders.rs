//! Conformance cases for orders and the customer figures orders and messages keep.

use chrono::Duration;

use crate::domain::{
    BusinessId, Currency, CustomerId, CustomerStats, Direction, LineItem, MessageStatus, Money,
    Order, OrderId, OrderStatus,
};
use crate::ports::{OrderQuery, Storage};

use super::is_not_found;
use super::{at, bare_customer, insert, new_business, new_conversation, ok, t0, text_message};

/// An order of one line worth `minor`, created `seconds` after `t0`.
pub fn order(business: BusinessId, customer: CustomerId, minor: i64, seconds: i64) -> Order {
    let item = LineItem {
        product_id: None,
        sku: "MANGO-1KG".into(),
        name: "Mangoes, 1 kg".into(),
        quantity: 2,
        unit_price: Money::new(minor / 2, Currency::KES),
    };
    let mut o = Order::new(business, customer, Currency::KES, vec![item], at(seconds))
        .unwrap_or_else(|e| panic!("{e}"));
    o.total = Money::new(minor, Currency::KES);
    o
}

/// An order reads back unchanged; it needs a customer of its own business.
pub async fn order_round_trip(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let c = bare_customer(a.id, "+254712000001");
    insert(s, &c).await;
    let o = order(a.id, c.id, 50_000, 5);
    ok(s.insert_order(&o).await, "insert");
    assert_eq!(ok(s.get_order(a.id, o.id).await, "get"), o);
    assert!(is_not_found(s.get_order(a.id, OrderId::new()).await));
    assert!(
        is_not_found(s.insert_order(&order(b.id, c.id, 1, 1)).await),
        "customer of another business"
    );
    assert!(is_not_found(s.insert_order(&order(a.id, CustomerId::new(), 1, 1)).await));
}

/// Spend, order count and last order follow paid and fulfilled orders only.
pub async fn order_status_drives_customer_stats(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = bare_customer(b.id, "+254712000001");
    insert(s, &c).await;
    let stats = |st: CustomerStats| (st.total_spent, st.order_count, st.last_order_at);
    let first = order(b.id, c.id, 50_000, 10);
    ok(s.insert_order(&first).await, "draft");
    assert_eq!(stats(ok(s.get_customer(b.id, c.id).await, "get").stats), (0, 0, None));
    let paid = ok(s.update_order_status(b.id, first.id, OrderStatus::Paid, at(20)).await, "pay");
    assert_eq!((paid.status, paid.updated_at), (OrderStatus::Paid, at(20)));
    assert_eq!(stats(ok(s.get_customer(b.id, c.id).await, "get").stats), (50_000, 1, Some(at(10))));
    let mut second = order(b.id, c.id, 120_000, 30);
    second.status = OrderStatus::Paid;
    ok(s.insert_order(&second).await, "paid order");
    assert_eq!(
        stats(ok(s.get_customer(b.id, c.id).await, "get").stats),
        (170_000, 2, Some(at(30)))
    );
    ok(s.update_order_status(b.id, second.id, OrderStatus::Fulfilled, at(40)).await, "fulfil");
    ok(s.update_order_status(b.id, first.id, OrderStatus::Refunded, at(50)).await, "refund");
    assert_eq!(
        stats(ok(s.get_customer(b.id, c.id).await, "get").stats),
        (120_000, 1, Some(at(30)))
    );
    // An order whose payment window closed is stored as such and never counts.
    let unpaid = order(b.id, c.id, 9_000, 60);
    ok(s.insert_order(&unpaid).await, "unpaid");
    ok(s.update_order_status(b.id, unpaid.id, OrderStatus::Expired, at(70)).await, "expire");
    assert_eq!(ok(s.get_order(b.id, unpaid.id).await, "get").status, OrderStatus::Expired);
    assert_eq!(
        stats(ok(s.get_customer(b.id, c.id).await, "get").stats),
        (120_000, 1, Some(at(30)))
    );
}

/// Listing filters by customer and status, and pages in id order.
pub async fn order_list_filters_and_pages(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c1 = bare_customer(b.id, "+254712000001");
    let c2 = bare_customer(b.id, "+254712000002");
    insert(s, &c1).await;
    insert(s, &c2).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut o = order(b.id, if i % 2 == 0 { c1.id } else { c2.id }, 1000 * (i + 1), i);
        if i < 2 {
            o.status = OrderStatus::Paid;
        }
        ok(s.insert_order(&o).await, "insert");
        ids.push(o.id);
    }
    let list = |q: OrderQuery| async move {
        ok(s.list_orders(b.id, &q).await, "list")
            .items
            .into_iter()
            .map(|o| o.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(OrderQuery { customer: Some(c1.id), limit: 50, ..Default::default() }).await,
        [ids[0], ids[2], ids[4]]
    );
    assert_eq!(
        list(OrderQuery { status: Some(OrderStatus::Paid), limit: 50, ..Default::default() }).await,
        [ids[0], ids[1]]
    );
    let first = ok(s.list_orders(b.id, &OrderQuery { limit: 2, ..Default::default() }).await, "p1");
    let after = first.next_cursor.as_deref().map(|c| c.parse().unwrap_or_else(|e| panic!("{e}")));
    let rest =
        ok(s.list_orders(b.id, &OrderQuery { limit: 10, after, ..Default::default() }).await, "p2");
    let all: Vec<_> = first.items.iter().chain(&rest.items).map(|o| o.id).collect();
    assert_eq!(all, ids);
}

/// Orders of business A are invisible and unchangeable through business B.
pub async fn order_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let c = bare_customer(a.id, "+254712000001");
    insert(s, &c).await;
    let o = order(a.id, c.id, 9_000, 1);
    ok(s.insert_order(&o).await, "insert");
    assert!(is_not_found(s.get_order(b.id, o.id).await));
    assert!(is_not_found(s.update_order_status(b.id, o.id, OrderStatus::Paid, at(2)).await));
    assert!(
        ok(s.list_orders(b.id, &OrderQuery { limit: 50, ..Default::default() }).await, "list")
            .items
            .is_empty()
    );
    assert_eq!(ok(s.get_order(a.id, o.id).await, "unchanged"), o);
    assert_eq!(ok(s.get_customer(a.id, c.id).await, "customer").stats.order_count, 0);
}

/// Inbound messages move first/last seen and last inbound, and score engagement
/// over the window before the latest one; outbound messages change nothing.
pub async fn inbound_messages_update_customer_activity(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let c = bare_customer(b.id, "+254712000001");
    insert(s, &c).await;
    let conv = new_conversation(s, &c).await;
    let inbound = |days: i64| {
        let mut m = text_message(&conv, "habari");
        m.direction = Direction::Inbound;
        m.status = MessageStatus::Received;
        m.created_at = t0() + Duration::days(days);
        m.times.received_at = Some(m.created_at);
        m
    };
    let mut outbound = text_message(&conv, "karibu");
    outbound.created_at = t0() + Duration::days(90);
    ok(s.insert_message(&outbound).await, "outbound");
    let after_outbound = ok(s.get_customer(b.id, c.id).await, "get");
    assert_eq!((after_outbound.last_inbound_at, after_outbound.stats.engagement_score), (None, 0));

    for days in [0, 40, 45, 50] {
        ok(s.insert_message(&inbound(days)).await, "inbound");
    }
    // An old message arriving late counts for first seen, not for the window.
    ok(s.insert_message(&inbound(-10)).await, "late inbound");
    let got = ok(s.get_customer(b.id, c.id).await, "get");
    assert_eq!(got.first_seen_at, Some(t0() - Duration::days(10)));
    assert_eq!(got.last_seen_at, Some(t0() + Duration::days(50)));
    assert_eq!(got.last_inbound_at, Some(t0() + Duration::days(50)));
    assert_eq!(
        got.stats.engagement_score,
        CustomerStats::engagement_for(3),
        "days 40, 45 and 50 are within 30 days of the latest"
    );
}

/// A recommendation model is stored per business, newer over older; a
/// business is due for a build when a paid or fulfilled order changed after
/// its model was built, and not before `built_before` allows.
pub async fn recommenders_round_trip_and_fall_due_on_paid_orders(s: &dyn Storage) {
    use crate::ports::RecommenderInfo;
    let b = new_business(s, "Shop").await;
    let other = new_business(s, "Other").await;
    let c = bare_customer(b.id, "+254712000001");
    insert(s, &c).await;
    let due = |before| async move { ok(s.recommenders_due(before, 1000).await, "due") };
    assert_eq!(ok(s.recommender_info(b.id).await, "none"), None);
    let draft = order(b.id, c.id, 50_000, 10);
    ok(s.insert_order(&draft).await, "draft");
    assert!(!due(at(100)).await.contains(&b.id), "a draft is not a sale");
    ok(s.update_order_status(b.id, draft.id, OrderStatus::Paid, at(20)).await, "pay");
    assert!(due(at(100)).await.contains(&b.id), "no model yet");

    let info =
        |t| RecommenderInfo { built_at: at(t), orders: 1, lines: 1, products: 1, build_ms: 1.5 };
    assert!(ok(s.save_recommender(b.id, &info(30), &[1, 2, 3]).await, "save"));
    assert_eq!(ok(s.recommender_info(b.id).await, "info"), Some(info(30)));
    assert_eq!(ok(s.load_recommender(b.id).await, "load"), Some((info(30), vec![1, 2, 3])));
    assert!(!due(at(100)).await.contains(&b.id), "nothing changed since");
    // An older build never replaces a newer one.
    assert!(!ok(s.save_recommender(b.id, &info(25), &[9]).await, "older"));
    assert_eq!(ok(s.load_recommender(b.id).await, "kept"), Some((info(30), vec![1, 2, 3])));

    let second = order(b.id, c.id, 20_000, 40);
    ok(s.insert_order(&second).await, "second");
    ok(s.update_order_status(b.id, second.id, OrderStatus::Fulfilled, at(50)).await, "fulfil");
    assert!(!due(at(29)).await.contains(&b.id), "built too recently to build again");
    assert!(due(at(30)).await.contains(&b.id), "a sale after the build");
    assert!(ok(s.save_recommender(b.id, &info(60), &[4]).await, "rebuilt"));
    assert!(!due(at(100)).await.contains(&b.id));

    // Another business sees nothing and cannot store for a missing one.
    assert_eq!(ok(s.recommender_info(other.id).await, "other"), None);
    assert!(!due(at(100)).await.contains(&other.id));
    assert!(is_not_found(s.save_recommender(BusinessId::new(), &info(1), &[1]).await));
}
