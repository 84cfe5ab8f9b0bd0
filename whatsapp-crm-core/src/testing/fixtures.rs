//! Builders shared by the conformance cases.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    AttributeValue, Birthday, Business, BusinessId, ConsentSource, Conversation, Currency,
    Customer, CustomerId, CustomerStats, Direction, Location, MarketingConsent, Message,
    MessageContent, MessageId, MessageStatus, PhoneNumber, StatusTimes, Tag, TimeZone,
};
use crate::ports::Storage;

/// A fixed instant with sub-second digits, to prove microsecond round trips.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_254_400, 123_456_000).unwrap_or_default()
}

/// `t0` plus some seconds.
pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

/// Parses a phone number known to be valid.
pub fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap_or_else(|e| panic!("fixture phone: {e}"))
}

/// Parses a tag known to be valid.
pub fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap_or_else(|e| panic!("fixture tag: {e}"))
}

/// A sender number no other fixture business uses (numbers are unique).
pub fn unique_sender() -> PhoneNumber {
    let n = uuid::Uuid::now_v7().as_u128() % 100_000_000;
    phone(&format!("+25479{n:08}"))
}

/// True when `r` is `NotFound`.
pub fn is_not_found<T: std::fmt::Debug>(r: Result<T, crate::ports::StorageError>) -> bool {
    matches!(r, Err(crate::ports::StorageError::NotFound { .. }))
}

/// Stores a new business.
pub async fn new_business(s: &dyn Storage, name: &str) -> Business {
    let b = Business {
        id: BusinessId::new(),
        name: name.to_owned(),
        whatsapp_sender: unique_sender(),
        time_zone: TimeZone::parse("Africa/Nairobi").unwrap_or(TimeZone::UTC),
        currency: Currency::KES,
        keywords: Default::default(),
        commerce: Default::default(),
        assistant: Default::default(),
        created_at: t0(),
    };
    s.insert_business(&b).await.unwrap_or_else(|e| panic!("insert business: {e}"));
    b
}

/// A customer with every field set.
pub fn full_customer(business: BusinessId, number: &str, name: &str) -> Customer {
    Customer {
        id: CustomerId::new(),
        business_id: business,
        phone: phone(number),
        name: Some(name.to_owned()),
        tags: BTreeSet::from([tag("vip"), tag("nairobi:cbd")]),
        location: Location { country: Some("KE".into()), city: Some("Nairobi".into()) },
        birthday: Some(Birthday { month: 2, day: 29, year: Some(1992) }),
        marketing: MarketingConsent::set(true, ConsentSource::Form, at(1)),
        attributes: BTreeMap::from([
            ("shoe_size".to_owned(), AttributeValue::Integer(42)),
            ("ratio".to_owned(), AttributeValue::Number(0.25)),
            ("wholesale".to_owned(), AttributeValue::Bool(false)),
            ("note".to_owned(), AttributeValue::Text("likes 'quotes' -- and; ✓".into())),
        ]),
        first_seen_at: Some(at(2)),
        last_seen_at: Some(at(3)),
        last_inbound_at: Some(at(3)),
        stats: CustomerStats {
            total_spent: 1_250_050,
            order_count: 4,
            last_order_at: Some(at(2)),
            engagement_score: 30,
        },
        created_at: t0(),
        updated_at: at(4),
    }
}

/// A customer with only a phone number.
pub fn bare_customer(business: BusinessId, number: &str) -> Customer {
    Customer {
        id: CustomerId::new(),
        business_id: business,
        phone: phone(number),
        name: None,
        tags: BTreeSet::new(),
        location: Location::default(),
        birthday: None,
        marketing: MarketingConsent::default(),
        attributes: BTreeMap::new(),
        first_seen_at: None,
        last_seen_at: None,
        last_inbound_at: None,
        stats: CustomerStats::default(),
        created_at: t0(),
        updated_at: t0(),
    }
}

/// Stores a customer.
pub async fn insert(s: &dyn Storage, c: &Customer) {
    s.insert_customer(c).await.unwrap_or_else(|e| panic!("insert customer: {e}"));
}

/// Stores a conversation for `customer`.
pub async fn new_conversation(s: &dyn Storage, customer: &Customer) -> Conversation {
    let c = Conversation::new(customer.business_id, customer.id, t0());
    s.insert_conversation(&c).await.unwrap_or_else(|e| panic!("insert conversation: {e}"));
    c
}

/// Sets a conversation's status and agent through its desk, as the team
/// inbox does, and returns it as stored.
pub async fn set_status(
    s: &dyn Storage,
    conversation: &Conversation,
    status: crate::domain::ConversationStatus,
    agent: Option<crate::domain::AgentId>,
) -> Conversation {
    let c = s
        .get_conversation(conversation.business_id, conversation.id)
        .await
        .unwrap_or_else(|e| panic!("read conversation: {e}"));
    let commit = crate::ports::DeskCommit {
        business: c.business_id,
        conversation: c.id,
        from_rev: c.desk.rev,
        status,
        assigned_agent: agent,
        desk: c.desk.clone(),
        claim: None,
        events: Vec::new(),
        at: c.updated_at,
    };
    let outcome = s.commit_desk(&commit).await.unwrap_or_else(|e| panic!("commit desk: {e}"));
    assert_eq!(outcome, crate::ports::DeskOutcome::Written);
    s.get_conversation(c.business_id, c.id).await.unwrap_or_else(|e| panic!("read: {e}"))
}

/// An outbound text message in `conversation`.
pub fn text_message(conversation: &Conversation, body: &str) -> Message {
    Message {
        id: MessageId::new(),
        business_id: conversation.business_id,
        conversation_id: conversation.id,
        customer_id: conversation.customer_id,
        direction: Direction::Outbound,
        content: MessageContent::text(body),
        status: MessageStatus::Queued,
        provider_id: None,
        error_code: None,
        times: StatusTimes { queued_at: Some(t0()), ..StatusTimes::default() },
        created_at: t0(),
        author: crate::domain::Author::Staff,
        decision: None,
    }
}

/// Unwraps a storage result, naming the step that failed.
pub fn ok<T, E: std::fmt::Display>(r: Result<T, E>, step: &str) -> T {
    r.unwrap_or_else(|e| panic!("{step}: {e}"))
}
