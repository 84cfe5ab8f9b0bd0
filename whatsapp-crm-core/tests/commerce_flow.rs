//! A shop's commerce in chat end to end on the in-memory backend: cart
//! commands from text, a button and a native cart; checkout with stock
//! held; staff payment; a shipment reported by a signed partner webhook up
//! to fulfilment; one notice per moment; expiry that gives stock back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use whatsapp_crm_core::commerce::ShipmentStatus;
use whatsapp_crm_core::commerce::signature::sign;
use whatsapp_crm_core::ports::{ManualClock, MessageQuery};
use whatsapp_crm_core::service::{DeliveryWebhookError, OrderAction, OrderActionInput};
use whatsapp_crm_core::{
    BusinessId, CommerceSettingsInput, Crm, InMemoryStorage, InboundMessage, Interactive, Message,
    MessageContent, NewBusiness, NewShipment, OrderNotice, OrderStatus, OrderedItem, PhoneNumber,
};

const CUSTOMER: &str = "+254712345678";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
}

struct Shop {
    crm: Crm,
    clock: Arc<ManualClock>,
    id: BusinessId,
    sender: PhoneNumber,
    n: std::cell::Cell<u32>,
}

impl Shop {
    async fn open() -> Shop {
        let clock = Arc::new(ManualClock::new(t0()));
        let crm = Crm::new(Arc::new(InMemoryStorage::new())).with_clock(clock.clone());
        let b = crm
            .businesses()
            .create(NewBusiness {
                name: "Duka".into(),
                whatsapp_sender: "+254700000001".into(),
                time_zone: "Africa/Nairobi".into(),
                currency: "KES".into(),
            })
            .await
            .unwrap();
        let settings = CommerceSettingsInput { enabled: true, ..Default::default() };
        let s = crm.commerce().set(b.id, settings).await.unwrap();
        assert!(s.delivery_webhook.is_some(), "turning commerce on makes the webhook");
        let csv = "sku,name,category,price,on_hand\n\
                   UNGA-2KG,Unga wa Ngano 2kg,Flour,210.00,10\n\
                   SUGAR-1KG,Sugar 1kg,Baking,150.00,5\n\
                   MILK-500,Fresh Milk 500ml,Dairy,60.00,\n";
        crm.catalog().import_csv(b.id, csv.as_bytes()).await.unwrap();
        Shop { crm, clock, id: b.id, sender: b.whatsapp_sender, n: 0.into() }
    }

    async fn says(&self, content: MessageContent) -> whatsapp_crm_core::service::Received {
        self.n.set(self.n.get() + 1);
        let m = InboundMessage {
            provider_id: format!("SM{:032}", self.n.get()),
            from: PhoneNumber::parse(CUSTOMER).unwrap(),
            to: self.sender.clone(),
            profile_name: Some("Wanjiku".into()),
            content,
            replied_to: None,
            forwarded: false,
            referral: None,
            received_at: self.clock.now_utc(),
        };
        self.crm.inbox().receive(self.id, m).await.unwrap()
    }

    async fn text(&self, body: &str) -> whatsapp_crm_core::service::Received {
        self.says(MessageContent::text(body)).await
    }

    async fn outbound(&self) -> Vec<Message> {
        let s = self.crm.storage();
        let c = s
            .find_customer_by_phone(self.id, &PhoneNumber::parse(CUSTOMER).unwrap())
            .await
            .unwrap()
            .unwrap();
        let conv = s.latest_conversation(self.id, c.id).await.unwrap().unwrap();
        let page = s
            .list_messages(self.id, conv.id, &MessageQuery { limit: 200, after: None })
            .await
            .unwrap();
        page.items
            .into_iter()
            .filter(|m| m.direction == whatsapp_crm_core::Direction::Outbound)
            .collect()
    }

    async fn available(&self, sku: &str) -> Option<u32> {
        let p = self.crm.storage().products_by_sku(self.id, &[sku.into()]).await.unwrap();
        p[0].available()
    }
}

trait Now {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl Now for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        whatsapp_crm_core::ports::Clock::now(self)
    }
}

fn body(m: &Message) -> String {
    match &m.content {
        MessageContent::Text { body } => body.clone(),
        MessageContent::Interactive { interactive: Interactive::Buttons { body, .. } } => {
            body.clone()
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn a_cart_built_in_chat_is_checked_out_paid_shipped_and_fulfilled() {
    let shop = Shop::open().await;

    // Typed in Swahili.
    let r = shop.text("ongeza unga 2").await;
    let cart = r.cart.expect("a cart command");
    assert_eq!(cart.cart.lines.len(), 1);
    assert!(
        body(&cart.replies[0]).contains("2 × Unga wa Ngano 2kg — KES 420.00"),
        "{}",
        body(&cart.replies[0])
    );

    // A tap on a product card's Add to cart.
    let tap = Interactive::Reply {
        payload: Some("cart:add:SUGAR-1KG".into()),
        title: "Add to cart".into(),
    };
    let r = shop.says(MessageContent::Interactive { interactive: tap }).await;
    assert_eq!(r.cart.unwrap().cart.lines.len(), 2);

    // WhatsApp's own cart, its price quoted lower than ours: flagged, repriced.
    let native = MessageContent::Order {
        catalog_id: Some("1234567890".into()),
        text: None,
        items: vec![OrderedItem {
            sku: "MILK-500".into(),
            quantity: 2,
            item_price: Some(55.0),
            currency: Some("KES".into()),
        }],
        params: BTreeMap::new(),
    };
    let r = shop.says(native).await.cart.unwrap();
    assert_eq!(r.price_flags.len(), 1);
    assert_eq!(r.cart.subtotal().minor, 2 * 21_000 + 15_000 + 2 * 6_000);
    assert!(body(&r.replies[0]).contains("your app showed KES 55.00"), "{}", body(&r.replies[0]));

    // Not a command: on to the conversation.
    assert!(shop.text("habari, mnafungua saa ngapi?").await.cart.is_none());

    // Checkout: one order, stock held, one confirmation.
    let r = shop.text("lipa").await.cart.unwrap();
    let order = r.order.expect("an order");
    assert_eq!(order.status, OrderStatus::AwaitingPayment);
    assert_eq!(order.pay_by, Some(t0() + Duration::minutes(60)));
    assert_eq!(shop.available("UNGA-2KG").await, Some(8));
    assert_eq!(shop.available("SUGAR-1KG").await, Some(4));
    let confirmation = shop.outbound().await.pop().unwrap();
    assert!(body(&confirmation).contains(&format!("Order {} is confirmed", order.reference())));
    assert!(body(&confirmation).contains("Total: KES 690.00"), "{}", body(&confirmation));

    // Staff take the payment; a repeat changes nothing.
    let orders = shop.crm.orders();
    let paid = orders
        .act(shop.id, order.id, OrderAction::Pay, OrderActionInput::default(), "staff")
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    orders
        .act(shop.id, order.id, OrderAction::Pay, OrderActionInput::default(), "staff")
        .await
        .unwrap();
    let unga = shop.crm.storage().products_by_sku(shop.id, &["UNGA-2KG".into()]).await.unwrap();
    assert_eq!(unga[0].stock.map(|s| (s.on_hand, s.reserved)), Some((8, 0)), "allocated");

    // Shipped, then reported by the partner.
    let shipment = shop
        .crm
        .shipments()
        .create(
            shop.id,
            order.id,
            NewShipment {
                carrier: Some("Sendy".into()),
                tracking_number: Some("KE123".into()),
                tracking_url: Some("https://track.example/KE123".into()),
            },
        )
        .await
        .unwrap();
    let b = shop.crm.storage().get_business(shop.id).await.unwrap();
    let hook = b.commerce.delivery_webhook.unwrap();
    let post = |status: &str, id: &str| {
        let body =
            format!(r#"{{"event_id":"{id}","tracking_number":"KE123","status":"{status}"}}"#);
        let ts = shop.clock.now_utc().timestamp();
        (ts.to_string(), sign(hook.secret.as_bytes(), ts, body.as_bytes()), body)
    };
    let shipments = shop.crm.shipments();
    let (ts, sig, out) = post("OutForDelivery", "evt-1");
    let got = shipments.partner_report(&hook.token, &ts, &sig, out.as_bytes()).await.unwrap();
    assert!(got.moved);
    let again = shipments.partner_report(&hook.token, &ts, &sig, out.as_bytes()).await.unwrap();
    assert!(again.duplicate && !again.moved);

    // A forged report changes nothing.
    let (ts, _, delivered) = post("Delivered", "evt-2");
    let forged = sign(b"not the secret", ts.parse().unwrap(), delivered.as_bytes());
    let err = shipments
        .partner_report(&hook.token, &ts, &forged, delivered.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryWebhookError::Signature(_)), "{err:?}");
    // Differs from the real token in its last character, whatever that is.
    let last = if hook.token.ends_with('0') { '1' } else { '0' };
    let wrong_token = format!("{}{last}", &hook.token[..hook.token.len() - 1]);
    let (ts, sig, _) = post("Delivered", "evt-2");
    assert!(matches!(
        shipments.partner_report(&wrong_token, &ts, &sig, delivered.as_bytes()).await,
        Err(DeliveryWebhookError::UnknownToken)
    ));
    assert_eq!(shop.crm.orders().get(shop.id, order.id).await.unwrap().status, OrderStatus::Paid);

    let got = shipments.partner_report(&hook.token, &ts, &sig, delivered.as_bytes()).await.unwrap();
    assert_eq!(got.shipment.status, ShipmentStatus::Delivered);
    assert_eq!(got.shipment.id, shipment.id);
    let done = shop.crm.orders().get(shop.id, order.id).await.unwrap();
    assert_eq!(done.status, OrderStatus::Fulfilled);

    // One notice per moment, each sent once.
    let notices = shop.crm.orders().notices(shop.id, order.id).await.unwrap();
    let kinds: Vec<OrderNotice> = notices.iter().map(|n| n.notice).collect();
    assert_eq!(
        kinds,
        [
            OrderNotice::Confirmed,
            OrderNotice::Paid,
            OrderNotice::Shipped,
            OrderNotice::OutForDelivery,
            OrderNotice::Delivered
        ]
    );
    assert!(notices.iter().all(|n| n.message_id.is_some()));
    let events = shop.crm.orders().events(shop.id, order.id).await.unwrap();
    let moves: Vec<(Option<OrderStatus>, OrderStatus, &str)> =
        events.iter().map(|e| (e.from, e.to, e.actor.as_str())).collect();
    assert_eq!(
        moves,
        [
            (None, OrderStatus::AwaitingPayment, "customer"),
            (Some(OrderStatus::AwaitingPayment), OrderStatus::Paid, "staff"),
            (Some(OrderStatus::Paid), OrderStatus::Fulfilled, "system"),
        ]
    );
}

#[tokio::test]
async fn an_unpaid_order_expires_and_gives_its_stock_back() {
    let shop = Shop::open().await;
    shop.text("add 5 sugar").await;
    let order = shop.text("checkout").await.cart.unwrap().order.unwrap();
    assert_eq!(shop.available("SUGAR-1KG").await, Some(0));
    // Someone else's cart cannot take the last units meanwhile.
    shop.clock.advance(Duration::minutes(59));
    assert_eq!(shop.crm.orders().run_due(shop.clock.now_utc()).await.unwrap().expired, 0);
    shop.clock.advance(Duration::minutes(1));
    assert_eq!(shop.crm.orders().run_due(shop.clock.now_utc()).await.unwrap().expired, 1);
    assert_eq!(
        shop.crm.orders().get(shop.id, order.id).await.unwrap().status,
        OrderStatus::Expired
    );
    assert_eq!(shop.available("SUGAR-1KG").await, Some(5));
    let notices = shop.crm.orders().notices(shop.id, order.id).await.unwrap();
    assert_eq!(notices.last().map(|n| n.notice), Some(OrderNotice::Expired));
    // A second round finds nothing more to do.
    assert_eq!(shop.crm.orders().run_due(shop.clock.now_utc()).await.unwrap().expired, 0);
}

#[tokio::test]
async fn unknown_products_get_suggestions_and_a_closed_window_skips_notices() {
    let shop = Shop::open().await;
    let r = shop.text("add 2 suger").await.cart.unwrap();
    assert_eq!(r.cart.lines.len(), 1, "a close typo is taken: {:?}", body(&r.replies[0]));
    let r = shop.text("add 2 unga ngano mahindi sukari").await.cart.unwrap();
    assert!(matches!(
        &r.replies[0].content,
        MessageContent::Interactive { interactive: Interactive::Buttons { .. } }
            | MessageContent::Text { .. }
    ));
    let order = shop.text("lipa").await.cart.unwrap().order.unwrap();
    // A day later the window is closed and no template is set: skipped, reason kept.
    shop.clock.advance(Duration::hours(25));
    let cancelled = shop
        .crm
        .orders()
        .act(
            shop.id,
            order.id,
            OrderAction::Cancel,
            OrderActionInput { reason: Some("out of delivery range".into()) },
            "staff",
        )
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let n = shop.crm.orders().notices(shop.id, order.id).await.unwrap();
    let last = n.last().unwrap();
    assert_eq!((last.notice, last.message_id), (OrderNotice::Cancelled, None));
    assert_eq!(
        last.skipped.as_deref(),
        Some("no template for cancelled outside the 24-hour window")
    );
    assert_eq!(shop.available("SUGAR-1KG").await, Some(5), "released");
}

#[tokio::test]
async fn a_cart_left_for_a_week_expires_and_the_next_command_starts_afresh() {
    let shop = Shop::open().await;
    let first = shop.text("add 2 unga").await.cart.unwrap().cart;
    shop.clock.advance(Duration::days(6));
    assert_eq!(shop.crm.carts().run_due(shop.clock.now_utc()).await.unwrap(), 0);
    let carts = shop.crm.carts().get(shop.id, first.id).await.unwrap();
    assert!(carts.abandoned, "open, with lines, idle: abandoned but not expired");
    shop.clock.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(shop.crm.carts().run_due(shop.clock.now_utc()).await.unwrap(), 1);
    let expired = shop.crm.carts().get(shop.id, first.id).await.unwrap();
    assert_eq!(expired.cart.status, whatsapp_crm_core::CartStatus::Expired);
    assert!(!expired.abandoned);
    let next = shop.text("add 1 sugar").await.cart.unwrap().cart;
    assert_ne!(next.id, first.id);
    assert_eq!(next.lines.len(), 1, "the old lines are gone with the old cart");
}
