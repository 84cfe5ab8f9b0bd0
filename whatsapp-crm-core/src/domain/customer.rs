//! Customers: the people a business talks to and sells to.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::validation::clean_text;
use super::{
    AttributeValue, Birthday, BusinessId, ConsentSource, ConsentStatus, CustomerId, Location,
    MarketingConsent, PhoneNumber, Tag, ValidationError,
};

/// Longest customer name accepted, in characters.
pub const CUSTOMER_NAME_MAX_CHARS: usize = 256;
/// Most tags one customer may carry.
pub const CUSTOMER_TAGS_MAX: usize = 100;
/// Most custom attributes one customer may carry.
pub const CUSTOMER_ATTRIBUTES_MAX: usize = 50;
/// Longest attribute key, in characters.
pub const ATTRIBUTE_KEY_MAX_CHARS: usize = 64;
/// Longest text attribute value, in characters.
pub const ATTRIBUTE_TEXT_MAX_CHARS: usize = 1024;

/// A customer of one business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    /// Customer id.
    pub id: CustomerId,
    /// Owning business.
    pub business_id: BusinessId,
    /// WhatsApp number, unique within the business.
    pub phone: PhoneNumber,
    /// Display name.
    pub name: Option<String>,
    /// Tags, normalised and sorted.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub tags: BTreeSet<Tag>,
    /// Country and city.
    pub location: Location,
    /// Birthday, only when the customer shared it.
    pub birthday: Option<Birthday>,
    /// Marketing consent.
    pub marketing: MarketingConsent,
    /// Business-defined attributes.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// First message received from the customer.
    pub first_seen_at: Option<DateTime<Utc>>,
    /// Latest message received from the customer.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Latest inbound message; opens the 24-hour customer-service window.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Purchase and engagement figures, kept by storage as orders and
    /// messages are stored; clients cannot set them.
    #[serde(default)]
    pub stats: CustomerStats,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
}

impl Customer {
    /// Lower-cased name and phone, the text that customer search matches against.
    /// Every storage backend searches this same string so results agree.
    pub fn search_text(&self) -> String {
        search_text(self.name.as_deref(), &self.phone)
    }
}

/// The customer-search haystack for a name and phone.
pub fn search_text(name: Option<&str>, phone: &PhoneNumber) -> String {
    match name {
        Some(n) => format!("{} {}", n.to_lowercase(), phone.as_str()),
        None => phone.as_str().to_owned(),
    }
}

/// Normalises a search needle the same way [`search_text`] normalises the haystack.
pub fn search_needle(query: &str) -> String {
    query.trim().to_lowercase()
}

/// Engagement points per inbound message in the window, up to 100.
pub const ENGAGEMENT_POINTS_PER_MESSAGE: u8 = 10;
/// The window engagement is measured over, in days.
pub const ENGAGEMENT_WINDOW_DAYS: i64 = 30;

/// Figures segments test, maintained by storage from orders and messages:
/// spend and order count cover paid and fulfilled orders; engagement is
/// [`ENGAGEMENT_POINTS_PER_MESSAGE`] per inbound message in the
/// [`ENGAGEMENT_WINDOW_DAYS`] before the latest one, at most 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerStats {
    /// Total of paid and fulfilled orders, in minor units of the business currency.
    pub total_spent: i64,
    /// Paid and fulfilled orders.
    pub order_count: u32,
    /// Creation time of the latest paid or fulfilled order.
    pub last_order_at: Option<DateTime<Utc>>,
    /// Engagement score, 0–100.
    pub engagement_score: u8,
}

impl CustomerStats {
    /// The engagement score for `messages` inbound messages in the window.
    pub fn engagement_for(messages: u64) -> u8 {
        messages.saturating_mul(u64::from(ENGAGEMENT_POINTS_PER_MESSAGE)).min(100) as u8
    }
}

/// The fields a caller supplies to create a customer.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// WhatsApp number in E.164 (`+254712345678`).
    #[cfg_attr(feature = "openapi", schema(value_type = PhoneNumber))]
    pub phone: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Tags to attach.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Tag>))]
    pub tags: Vec<String>,
    /// Country and city.
    #[serde(default)]
    pub location: Option<Location>,
    /// Birthday, if the customer shared it.
    #[serde(default)]
    pub birthday: Option<Birthday>,
    /// Explicit marketing consent given through the business's own channel.
    #[serde(default)]
    pub marketing_opt_in: Option<bool>,
    /// Custom attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
}

impl NewCustomer {
    /// A new customer with only a phone number.
    pub fn with_phone(phone: impl Into<String>) -> Self {
        Self { phone: phone.into(), ..Self::default() }
    }

    /// Validates every field (all problems reported together) and builds the record.
    pub fn validate(
        self,
        business_id: BusinessId,
        now: DateTime<Utc>,
    ) -> Result<Customer, ValidationError> {
        let mut v = ValidationError::default();
        let phone = v.check("phone", PhoneNumber::parse(&self.phone));
        let name = match self.name {
            Some(n) => v.check("name", clean_text(&n, CUSTOMER_NAME_MAX_CHARS)).map(Some),
            None => Some(None),
        };
        let tags = validate_tags(&self.tags, &mut v);
        let location = self.location.unwrap_or_default().validate(&mut v);
        let birthday = match self.birthday {
            Some(b) => v.check("birthday", b.validate()).map(Some),
            None => Some(None),
        };
        let attributes = validate_attributes(self.attributes, &mut v);
        let marketing = self
            .marketing_opt_in
            .map(|opt_in| MarketingConsent::set(opt_in, ConsentSource::Api, now))
            .unwrap_or_default();
        match (phone, name, tags, location, birthday, attributes) {
            (
                Some(phone),
                Some(name),
                Some(tags),
                Some(location),
                Some(birthday),
                Some(attributes),
            ) if v.is_empty() => Ok(Customer {
                id: CustomerId::new(),
                business_id,
                phone,
                name,
                tags,
                location,
                birthday,
                marketing,
                attributes,
                first_seen_at: None,
                last_seen_at: None,
                last_inbound_at: None,
                stats: CustomerStats::default(),
                created_at: now,
                updated_at: now,
            }),
            _ => Err(v),
        }
    }
}

/// A partial update. Absent fields stay as they are; `null` clears an optional field.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// New phone number.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<PhoneNumber>))]
    pub phone: Option<String>,
    /// New name, or `null` to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    /// Replaces the whole tag set.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Tag>>))]
    pub tags: Option<Vec<String>>,
    /// New location, or `null` to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Location>))]
    pub location: Option<Option<Location>>,
    /// New birthday, or `null` to forget it.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Birthday>))]
    pub birthday: Option<Option<Birthday>>,
    /// Records explicit consent (or its withdrawal) with source `api`.
    #[serde(default)]
    pub marketing_opt_in: Option<bool>,
    /// Merged into the attributes; a `null` value removes that key.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BTreeMap<String, AttributeValue>>))]
    pub attributes: Option<BTreeMap<String, Option<AttributeValue>>>,
}

impl CustomerPatch {
    /// Applies the patch to `current`, validating every changed field.
    pub fn apply(
        self,
        current: &Customer,
        now: DateTime<Utc>,
    ) -> Result<Customer, ValidationError> {
        let mut v = ValidationError::default();
        let mut next = current.clone();
        if let Some(p) = self.phone
            && let Some(phone) = v.check("phone", PhoneNumber::parse(&p))
        {
            next.phone = phone;
        }
        match self.name {
            Some(Some(n)) => {
                if let Some(n) = v.check("name", clean_text(&n, CUSTOMER_NAME_MAX_CHARS)) {
                    next.name = Some(n);
                }
            }
            Some(None) => next.name = None,
            None => {}
        }
        if let Some(tags) = self.tags
            && let Some(tags) = validate_tags(&tags, &mut v)
        {
            next.tags = tags;
        }
        match self.location {
            Some(Some(l)) => {
                if let Some(l) = l.validate(&mut v) {
                    next.location = l;
                }
            }
            Some(None) => next.location = Location::default(),
            None => {}
        }
        match self.birthday {
            Some(Some(b)) => {
                if let Some(b) = v.check("birthday", b.validate()) {
                    next.birthday = Some(b);
                }
            }
            Some(None) => next.birthday = None,
            None => {}
        }
        if let Some(opt_in) = self.marketing_opt_in {
            let wanted = if opt_in { ConsentStatus::OptedIn } else { ConsentStatus::OptedOut };
            if next.marketing.status != wanted {
                next.marketing = MarketingConsent::set(opt_in, ConsentSource::Api, now);
            }
        }
        if let Some(changes) = self.attributes {
            let mut merged = next.attributes.clone();
            for (k, value) in changes {
                match value {
                    Some(value) => {
                        merged.insert(k, value);
                    }
                    None => {
                        merged.remove(&k);
                    }
                }
            }
            if let Some(a) = validate_attributes(merged, &mut v) {
                next.attributes = a;
            }
        }
        next.updated_at = now;
        v.into_result(|| next)
    }
}

fn validate_tags(raw: &[String], v: &mut ValidationError) -> Option<BTreeSet<Tag>> {
    let before = v.errors.len();
    let mut tags = BTreeSet::new();
    for (i, t) in raw.iter().enumerate() {
        if let Some(tag) = v.check(&format!("tags[{i}]"), Tag::parse(t)) {
            tags.insert(tag);
        }
    }
    if tags.len() > CUSTOMER_TAGS_MAX {
        v.push("tags", format!("at most {CUSTOMER_TAGS_MAX} tags per customer"));
    }
    (v.errors.len() == before).then_some(tags)
}

/// Checks attribute keys and values against the limits above.
pub(crate) fn validate_attributes(
    attrs: BTreeMap<String, AttributeValue>,
    v: &mut ValidationError,
) -> Option<BTreeMap<String, AttributeValue>> {
    let before = v.errors.len();
    if attrs.len() > CUSTOMER_ATTRIBUTES_MAX {
        v.push("attributes", format!("at most {CUSTOMER_ATTRIBUTES_MAX} attributes per customer"));
    }
    for (k, value) in &attrs {
        let key_ok = !k.is_empty()
            && k.chars().count() <= ATTRIBUTE_KEY_MAX_CHARS
            && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            v.push(
                format!("attributes.{k}"),
                format!("key must be 1-{ATTRIBUTE_KEY_MAX_CHARS} characters of a-z, 0-9 and _"),
            );
        }
        match value {
            AttributeValue::Text(t) if t.chars().count() > ATTRIBUTE_TEXT_MAX_CHARS => v.push(
                format!("attributes.{k}"),
                format!("text must be at most {ATTRIBUTE_TEXT_MAX_CHARS} characters"),
            ),
            AttributeValue::Number(n) if !n.is_finite() => {
                v.push(format!("attributes.{k}"), "number must be finite")
            }
            _ => {}
        }
    }
    (v.errors.len() == before).then_some(attrs)
}

fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn new_customer_reports_every_field() {
        let input: NewCustomer = serde_json::from_value(serde_json::json!({
            "phone": "0712",
            "name": "",
            "tags": ["ok", "not ok"],
            "location": {"country": "Kenya"},
            "birthday": {"month": 2, "day": 30},
            "attributes": {"Bad Key": 1}
        }))
        .unwrap();
        let err = input.validate(BusinessId::new(), now()).unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["phone", "name", "tags[1]", "location.country", "birthday", "attributes.Bad Key"]
        );
    }

    #[test]
    fn new_customer_normalises() {
        let c = NewCustomer {
            phone: "+254 712 345 678".into(),
            name: Some(" Wanjiku ".into()),
            tags: vec!["VIP".into(), "vip".into()],
            location: Some(Location { country: Some("ke".into()), city: Some("Nairobi".into()) }),
            marketing_opt_in: Some(true),
            ..NewCustomer::default()
        }
        .validate(BusinessId::new(), now())
        .unwrap();
        assert_eq!(c.tags.len(), 1);
        assert_eq!(c.location.country.as_deref(), Some("KE"));
        assert!(c.marketing.allows_marketing());
        assert_eq!(c.marketing.source, Some(ConsentSource::Api));
        assert_eq!(c.search_text(), "wanjiku +254712345678");
    }

    #[test]
    fn patch_distinguishes_absent_from_null() {
        let c = NewCustomer {
            name: Some("Otieno".into()),
            attributes: BTreeMap::from([("shoe_size".into(), AttributeValue::Integer(42))]),
            ..NewCustomer::with_phone("+254712345678")
        }
        .validate(BusinessId::new(), now())
        .unwrap();
        let keep: CustomerPatch = serde_json::from_str(r#"{"tags": ["new"]}"#).unwrap();
        assert_eq!(keep.apply(&c, now()).unwrap().name.as_deref(), Some("Otieno"));
        let clear: CustomerPatch =
            serde_json::from_str(r#"{"name": null, "attributes": {"shoe_size": null}}"#).unwrap();
        let cleared = clear.apply(&c, now()).unwrap();
        assert_eq!(cleared.name, None);
        assert!(cleared.attributes.is_empty());
    }

    #[test]
    fn patch_refuses_bad_values_and_unknown_fields() {
        let c =
            NewCustomer::with_phone("+254712345678").validate(BusinessId::new(), now()).unwrap();
        let bad: CustomerPatch = serde_json::from_str(r#"{"phone": "12"}"#).unwrap();
        assert_eq!(bad.apply(&c, now()).unwrap_err().errors[0].field, "phone");
        assert!(serde_json::from_str::<CustomerPatch>(r#"{"status": "vip"}"#).is_err());
    }

    #[test]
    fn attribute_values_keep_their_type() {
        let v: BTreeMap<String, AttributeValue> =
            serde_json::from_str(r#"{"a": true, "b": 3, "c": 2.5, "d": "x"}"#).unwrap();
        assert_eq!(v["a"], AttributeValue::Bool(true));
        assert_eq!(v["b"], AttributeValue::Integer(3));
        assert_eq!(v["c"], AttributeValue::Number(2.5));
        assert_eq!(v["d"], AttributeValue::Text("x".into()));
    }
}
