//! Inbound messages and delivery reports through `Inbox`, on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use chrono::{Duration, Utc};
use support::{TestApp, on};
use whatsapp_crm_core::policy::KeywordAction;
use whatsapp_crm_core::ports::MessageQuery;
use whatsapp_crm_core::{
    Actor, Change, ConsentSource, ConsentStatus, ConversationStatus, Direction, InboundMessage,
    MessageContent, MessageId, MessageStatus, PhoneNumber, ServiceError, StatusTimes, StatusUpdate,
};

on_every_backend!(
    first_contact_creates_the_customer_and_opens_the_window,
    repeated_deliveries_are_stored_once,
    keywords_change_consent,
    delivery_reports_only_move_forward,
);

fn inbound(sid: &str, body: &str, minutes: i64) -> InboundMessage {
    InboundMessage {
        provider_id: sid.into(),
        from: PhoneNumber::parse("+254712345678").unwrap(),
        to: PhoneNumber::parse("+254700000001").unwrap(),
        profile_name: Some("Wanjiku".into()),
        content: MessageContent::text(body),
        replied_to: None,
        forwarded: false,
        referral: None,
        received_at: Utc::now() - Duration::minutes(60 - minutes),
    }
}

async fn first_contact_creates_the_customer_and_opens_the_window(t: TestApp) {
    let inbox = t.crm.inbox();
    let r =
        inbox.receive(t.shop_a, inbound("SM01", "Habari, do you have mangoes?", 0)).await.unwrap();
    assert!(!r.duplicate);
    assert_eq!(r.customer.name.as_deref(), Some("Wanjiku"));
    assert_eq!(r.customer.last_inbound_at, Some(r.message.created_at));
    assert!(r.conversation.window_open(Utc::now()));
    assert_eq!(
        (r.message.direction, r.message.status),
        (Direction::Inbound, MessageStatus::Received)
    );

    let second = inbox.receive(t.shop_a, inbound("SM02", "and avocados?", 5)).await.unwrap();
    assert_eq!(second.conversation.id, r.conversation.id, "joins the open conversation");
    assert_eq!(second.customer.id, r.customer.id);

    let team = t.crm.team_inbox();
    let resolved = team.resolve(t.shop_a, Actor::Business, second.conversation.id).await.unwrap();
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    let third = inbox.receive(t.shop_a, inbound("SM03", "hello again", 10)).await.unwrap();
    assert_eq!(third.conversation.id, r.conversation.id, "the customer reopens it");
    assert_eq!(third.conversation.status, ConversationStatus::Open);
    let events = team.events(t.shop_a, Actor::Business, r.conversation.id, None, None).await;
    let changes: Vec<_> = events.unwrap().items.into_iter().map(|e| (e.actor, e.change)).collect();
    assert_eq!(
        changes,
        [
            (
                Actor::Business,
                Change::Status {
                    from: ConversationStatus::Open,
                    to: ConversationStatus::Resolved,
                    snoozed_until: None
                }
            ),
            (
                Actor::Customer,
                Change::Status {
                    from: ConversationStatus::Resolved,
                    to: ConversationStatus::Open,
                    snoozed_until: None
                }
            ),
        ]
    );

    // The same number writing to another business is another customer.
    let other = inbox.receive(t.shop_b, inbound("SM01", "Habari", 0)).await.unwrap();
    assert_ne!(other.customer.id, r.customer.id);
    assert!(!other.duplicate, "provider ids are per business");
}

async fn repeated_deliveries_are_stored_once(t: TestApp) {
    let inbox = t.crm.inbox();
    let first = inbox.receive(t.shop_a, inbound("SM10", "order 2 kg", 0)).await.unwrap();
    let again = inbox.receive(t.shop_a, inbound("SM10", "order 2 kg", 0)).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message.id, first.message.id);
    let stored = t
        .crm
        .storage()
        .list_messages(t.shop_a, first.conversation.id, &MessageQuery { limit: 50, after: None })
        .await
        .unwrap();
    assert_eq!(stored.items.len(), 1);
}

async fn keywords_change_consent(t: TestApp) {
    let inbox = t.crm.inbox();
    let stop = inbox.receive(t.shop_a, inbound("SM20", "STOP", 0)).await.unwrap();
    assert_eq!(stop.keyword, Some(KeywordAction::OptOut));
    assert_eq!(stop.customer.marketing.status, ConsentStatus::OptedOut);
    assert_eq!(stop.customer.marketing.source, Some(ConsentSource::Keyword));
    let start = inbox.receive(t.shop_a, inbound("SM21", "start", 1)).await.unwrap();
    assert_eq!(start.customer.marketing.status, ConsentStatus::OptedIn);
    let chat = inbox
        .receive(t.shop_a, inbound("SM22", "please don't stop the delivery", 2))
        .await
        .unwrap();
    assert_eq!((chat.keyword, chat.customer.marketing.status), (None, ConsentStatus::OptedIn));
}

async fn delivery_reports_only_move_forward(t: TestApp) {
    let inbox = t.crm.inbox();
    let r = inbox.receive(t.shop_a, inbound("SM30", "hi", 0)).await.unwrap();
    let mut outbound = r.message.clone();
    outbound.id = MessageId::new();
    outbound.direction = Direction::Outbound;
    outbound.status = MessageStatus::Queued;
    outbound.provider_id = None;
    outbound.times = StatusTimes { queued_at: Some(Utc::now()), ..StatusTimes::default() };
    t.crm.storage().insert_message(&outbound).await.unwrap();

    let report = |status, code: Option<u32>, id: Option<MessageId>| StatusUpdate {
        provider_id: "SM31".into(),
        message_id: id,
        status,
        error_code: code,
        error_message: None,
        reported_at: Utc::now(),
    };
    let delivered = inbox
        .apply_status(t.shop_a, report(MessageStatus::Delivered, None, Some(outbound.id)))
        .await
        .unwrap();
    assert!(delivered.changed);
    assert_eq!(
        delivered.message.provider_id.as_deref(),
        Some("SM31"),
        "matched by our id, provider id learned"
    );
    let late = inbox.apply_status(t.shop_a, report(MessageStatus::Sent, None, None)).await.unwrap();
    assert!(!late.changed);
    assert_eq!(late.message.status, MessageStatus::Delivered);
    let again =
        inbox.apply_status(t.shop_a, report(MessageStatus::Delivered, None, None)).await.unwrap();
    assert!(!again.changed);
    let read = inbox.apply_status(t.shop_a, report(MessageStatus::Read, None, None)).await.unwrap();
    assert_eq!(read.message.status, MessageStatus::Read);
    assert_eq!(
        t.crm.storage().get_message(t.shop_a, outbound.id).await.unwrap().status,
        MessageStatus::Read
    );

    // A report the provider marks as an opt-out stops marketing.
    let mut second = outbound.clone();
    second.id = MessageId::new();
    second.status = MessageStatus::Queued;
    second.provider_id = Some("SM32".into());
    t.crm.storage().insert_message(&second).await.unwrap();
    let failed = StatusUpdate {
        provider_id: "SM32".into(),
        ..report(MessageStatus::Undelivered, Some(131_050), None)
    };
    let applied = inbox.apply_status(t.shop_a, failed).await.unwrap();
    assert!(applied.opted_out);
    assert_eq!(applied.message.error_code, Some(131_050));
    let customer = t.crm.customers().get(t.shop_a, r.customer.id).await.unwrap();
    assert_eq!(
        (customer.marketing.status, customer.marketing.source),
        (ConsentStatus::OptedOut, Some(ConsentSource::Provider))
    );

    // Unknown messages and other tenants' messages are not found.
    let unknown =
        StatusUpdate { provider_id: "SM99".into(), ..report(MessageStatus::Read, None, None) };
    assert!(matches!(
        inbox.apply_status(t.shop_a, unknown).await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        inbox.apply_status(t.shop_b, report(MessageStatus::Read, None, Some(outbound.id))).await,
        Err(ServiceError::NotFound { .. })
    ));
}
