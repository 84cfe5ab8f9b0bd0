//! Conformance cases for commerce settings, order delivery, shipments with
//! their reports, and order notices.

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::commerce::{ReportOutcome, ShipmentStatus};
use crate::domain::{
    BusinessId, CommerceSettings, Currency, DeliveryMethod, DeliveryWebhook, LineItem, Money,
    Order, OrderNotice, OrderNotification, OutboxItem, Shipment, ShipmentId, TemplateId,
};
use crate::ports::{Reported, ShipmentReport, Storage, StorageError, TRACKING_TAKEN};

use super::{at, bare_customer, insert, new_business, new_conversation, ok, text_message};

/// A stored order of one line, delivered to an address.
async fn order(s: &dyn Storage, business: BusinessId, n: u32) -> Order {
    let c = bare_customer(business, &format!("+2547130{n:05}"));
    insert(s, &c).await;
    let line = LineItem {
        product_id: None,
        sku: "UNGA-2KG".into(),
        name: "Unga 2kg".into(),
        quantity: 2,
        unit_price: Money::new(21_000, Currency::KES),
    };
    let mut o = Order::new(business, c.id, Currency::KES, vec![line], at(10))
        .unwrap_or_else(|e| panic!("{e}"));
    o.delivery = Some(DeliveryMethod::Delivery { address: Some("Moi Avenue 12, Nairobi".into()) });
    ok(s.insert_order(&o).await, "insert order");
    o
}

fn shipment(o: &Order, tracking: Option<&str>) -> Shipment {
    Shipment {
        id: ShipmentId::new(),
        business_id: o.business_id,
        order_id: o.id,
        carrier: Some("Sendy".into()),
        tracking_number: tracking.map(str::to_owned),
        tracking_url: tracking.map(|t| format!("https://track.example/{t}")),
        status: ShipmentStatus::InTransit,
        status_at: at(20),
        created_at: at(20),
    }
}

fn report(key: &str, status: ShipmentStatus, seconds: i64) -> ShipmentReport {
    ShipmentReport { key: key.into(), status, at: at(seconds), source: "partner".into() }
}

/// Commerce settings and an order's delivery method read back unchanged.
pub async fn commerce_settings_and_delivery_round_trip(s: &dyn Storage) {
    let mut b = new_business(s, "Duka").await;
    b.commerce = CommerceSettings {
        enabled: true,
        meta_catalog_id: Some("1234567890".into()),
        payment_minutes: 90,
        abandon_after_minutes: 30,
        default_delivery: DeliveryMethod::Delivery { address: None },
        notice_templates: BTreeMap::from([(OrderNotice::Shipped, TemplateId::new())]),
        delivery_webhook: Some(DeliveryWebhook { token: "t0k3n".into(), secret: "s3cr3t".into() }),
        link_minutes: Some(120),
        reminder_after_minutes: 15,
        reminder_before_expiry_minutes: 0,
        link_key: Some("ab".repeat(32)),
        cart_suggestions: 2,
    };
    ok(s.update_business(&b).await, "update business");
    assert_eq!(ok(s.get_business(b.id).await, "get"), b);
    let o = order(s, b.id, 1).await;
    assert_eq!(ok(s.get_order(b.id, o.id).await, "get order").delivery, o.delivery);
}

/// Shipments belong to an order of their business, tracking numbers are
/// unique per business, and another business sees none of them.
pub async fn shipment_round_trip_tracking_and_isolation(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let o = order(s, b.id, 1).await;
    let first = shipment(&o, Some("KE123"));
    ok(s.insert_shipment(&first).await, "insert");
    let second = shipment(&o, None);
    ok(s.insert_shipment(&second).await, "insert without tracking");
    let third = shipment(&o, None);
    ok(s.insert_shipment(&third).await, "a second one without tracking");
    assert_eq!(ok(s.get_shipment(b.id, first.id).await, "get"), first);
    let all = ok(s.order_shipments(b.id, o.id).await, "list");
    assert_eq!(all.iter().map(|x| x.id).collect::<Vec<_>>(), [first.id, second.id, third.id]);
    let found = ok(s.find_shipment_by_tracking(b.id, "KE123").await, "find");
    assert_eq!(found.map(|x| x.id), Some(first.id));
    let dup = s.insert_shipment(&shipment(&o, Some("KE123"))).await.unwrap_err();
    assert!(
        matches!(&dup, StorageError::Conflict { constraint, .. } if constraint == TRACKING_TAKEN),
        "{dup:?}"
    );
    // Another business: its own tracking numbers, none of this one's rows.
    let theirs = order(s, other.id, 2).await;
    ok(s.insert_shipment(&shipment(&theirs, Some("KE123"))).await, "same number elsewhere");
    assert!(matches!(s.get_shipment(other.id, first.id).await, Err(StorageError::NotFound { .. })));
    assert!(ok(s.order_shipments(other.id, o.id).await, "list").is_empty());
    let mut forged = shipment(&o, Some("KE999"));
    forged.business_id = other.id;
    assert!(matches!(s.insert_shipment(&forged).await, Err(StorageError::NotFound { .. })));
    let r = report("e1", ShipmentStatus::Delivered, 30);
    let r = s.report_shipment(other.id, first.id, &r).await;
    assert!(matches!(r, Err(StorageError::NotFound { .. })));
    assert!(ok(s.shipment_events(b.id, first.id).await, "events").is_empty());
}

/// Reports are stored once per key, even when delivered at once; older and
/// backward ones are kept but move nothing.
pub async fn shipment_reports_are_stored_once_and_never_go_back(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let o = order(s, b.id, 1).await;
    let sh = shipment(&o, Some("KE123"));
    ok(s.insert_shipment(&sh).await, "insert");
    let out = report("evt-1", ShipmentStatus::OutForDelivery, 40);
    let results = join_all((0..8).map(|_| s.report_shipment(b.id, sh.id, &out))).await;
    let stored = results
        .into_iter()
        .map(|r| ok(r, "report"))
        .filter(|r| matches!(r, Reported::Stored { .. }))
        .count();
    assert_eq!(stored, 1, "one of eight concurrent deliveries is stored");
    assert_eq!(ok(s.get_shipment(b.id, sh.id).await, "get").status, ShipmentStatus::OutForDelivery);
    // An older in-transit report arrives late: kept, but nothing moves.
    let late = ok(
        s.report_shipment(b.id, sh.id, &report("evt-0", ShipmentStatus::InTransit, 30)).await,
        "late",
    );
    assert!(matches!(late, Reported::Stored { outcome: ReportOutcome::Stale, .. }), "{late:?}");
    let failed = report("evt-2", ShipmentStatus::AttemptFail, 50);
    ok(s.report_shipment(b.id, sh.id, &failed).await, "attempt failed");
    let again = report("evt-3", ShipmentStatus::OutForDelivery, 60);
    let moved = ok(s.report_shipment(b.id, sh.id, &again).await, "out again");
    assert!(matches!(moved, Reported::Stored { outcome: ReportOutcome::Moved { .. }, .. }));
    let delivered = report("evt-4", ShipmentStatus::Delivered, 70);
    let Reported::Stored { shipment, .. } =
        ok(s.report_shipment(b.id, sh.id, &delivered).await, "d")
    else {
        panic!("delivered is new");
    };
    assert_eq!((shipment.status, shipment.status_at), (ShipmentStatus::Delivered, at(70)));
    let events = ok(s.shipment_events(b.id, sh.id).await, "events");
    let keys: Vec<(&str, bool)> = events.iter().map(|e| (e.key.as_str(), e.applied)).collect();
    assert_eq!(
        keys,
        [("evt-1", true), ("evt-0", false), ("evt-2", true), ("evt-3", true), ("evt-4", true)]
    );
}

/// A notice is recorded once per order, with its message and outbox row in
/// the same step; racing recorders send it once.
pub async fn order_notices_are_recorded_once(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let o = order(s, b.id, 1).await;
    let customer = ok(s.get_customer(b.id, o.customer_id).await, "customer");
    let conversation = new_conversation(s, &customer).await;
    let rows: Vec<_> = (0..6)
        .map(|i| {
            let m = text_message(&conversation, &format!("Order shipped ({i})"));
            let item = OutboxItem::new(
                b.id,
                m.id,
                b.whatsapp_sender.clone(),
                customer.phone.clone(),
                at(30),
                at(30),
            );
            (m, item)
        })
        .collect();
    let notice = |message: Option<&crate::domain::Message>| OrderNotification {
        order_id: o.id,
        notice: OrderNotice::Shipped,
        message_id: message.map(|m| m.id),
        skipped: None,
        at: at(30),
    };
    let results = join_all(rows.iter().map(|r| {
        let n = notice(Some(&r.0));
        async move { s.record_notice(b.id, &n, Some(r)).await }
    }))
    .await;
    let won: Vec<usize> = results
        .into_iter()
        .enumerate()
        .filter(|(_, r)| *ok(r.as_ref(), "record"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(won.len(), 1, "exactly one recorder wins");
    let queued: Vec<_> = join_all(rows.iter().map(|r| s.get_outbox_item(b.id, r.0.id))).await;
    assert_eq!(queued.iter().filter(|q| q.is_ok()).count(), 1, "one message queued");
    assert!(queued[won[0]].is_ok(), "the winner's message");
    // A skipped notice keeps its reason; the timeline keeps the order.
    let skipped = OrderNotification {
        notice: OrderNotice::Delivered,
        message_id: None,
        skipped: Some("no template for delivered outside the 24-hour window".into()),
        at: at(40),
        ..notice(None)
    };
    assert!(ok(s.record_notice(b.id, &skipped, None).await, "skip"));
    assert!(!ok(s.record_notice(b.id, &skipped, None).await, "skip again"));
    let all = ok(s.order_notices(b.id, o.id).await, "notices");
    assert_eq!(
        all.iter().map(|n| n.notice).collect::<Vec<_>>(),
        [OrderNotice::Shipped, OrderNotice::Delivered]
    );
    assert_eq!(all[1], skipped);
    // Another business can neither read nor record them.
    let other = new_business(s, "Other").await;
    assert!(matches!(s.order_notices(other.id, o.id).await, Err(StorageError::NotFound { .. })));
    let theirs = OrderNotification { notice: OrderNotice::Paid, ..skipped.clone() };
    assert!(matches!(
        s.record_notice(other.id, &theirs, None).await,
        Err(StorageError::NotFound { .. })
    ));
}

/// Open carts left untouched expire, oldest first and at most `limit` a
/// round; checked-out carts, fresh ones and other states stay.
pub async fn idle_carts_expire(s: &dyn Storage) {
    use crate::domain::{Cart, CartStatus};
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let mut carts = Vec::new();
    for (i, (business, minutes)) in
        [(b.id, 0), (b.id, 10), (other.id, 20), (b.id, 100)].into_iter().enumerate()
    {
        let c = bare_customer(business, &format!("+2547140{i:05}"));
        insert(s, &c).await;
        let cart = Cart::new(business, c.id, Currency::KES, at(minutes * 60));
        ok(s.save_cart(&cart).await, "save cart");
        carts.push(cart);
    }
    let open = |c: &Cart| {
        let c = c.clone();
        async move { ok(s.get_cart(c.business_id, c.id).await, "get").status }
    };
    // Idle before minute 50: the first three, two this round.
    assert_eq!(ok(s.expire_carts(at(50 * 60), 2).await, "expire"), 2);
    assert_eq!(open(&carts[0]).await, CartStatus::Expired);
    assert_eq!(open(&carts[1]).await, CartStatus::Expired);
    assert_eq!(open(&carts[2]).await, CartStatus::Open);
    assert_eq!(ok(s.expire_carts(at(50 * 60), 2).await, "expire"), 1);
    assert_eq!(open(&carts[2]).await, CartStatus::Expired);
    assert_eq!(open(&carts[3]).await, CartStatus::Open, "touched since");
    assert_eq!(ok(s.expire_carts(at(50 * 60), 2).await, "expire"), 0);
    assert!(ok(s.open_cart(b.id, carts[0].customer_id).await, "open").is_none());
    // An expired cart is not saved over; the customer starts a new one.
    assert!(s.save_cart(&carts[0]).await.is_err());
    let fresh = Cart::new(b.id, carts[0].customer_id, Currency::KES, at(60 * 60));
    ok(s.save_cart(&fresh).await, "a new cart");
}
