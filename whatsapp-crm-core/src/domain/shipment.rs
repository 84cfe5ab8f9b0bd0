//! Shipments of an order, and the reports that move them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{BusinessId, MessageId, OrderId, OrderNotice, ShipmentId, ValidationError};
use crate::commerce::ShipmentStatus;

/// Longest carrier name or tracking number.
pub const TRACKING_FIELD_MAX_CHARS: usize = 100;
/// Longest tracking URL.
pub const TRACKING_URL_MAX_CHARS: usize = 2_000;
/// Longest partner event id kept for deduplication.
pub const EVENT_KEY_MAX_CHARS: usize = 200;

/// One parcel of an order on its way to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shipment {
    /// Shipment id.
    pub id: ShipmentId,
    /// Owning business.
    pub business_id: BusinessId,
    /// The order it carries (part of).
    pub order_id: OrderId,
    /// Who carries it (`Sendy`, `G4S`, a rider's name).
    pub carrier: Option<String>,
    /// The carrier's tracking number, unique within the business.
    pub tracking_number: Option<String>,
    /// Where the customer can follow it.
    pub tracking_url: Option<String>,
    /// Where it is, in AfterShip's vocabulary plus `cancelled`.
    pub status: ShipmentStatus,
    /// When the report that set the status happened.
    pub status_at: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A shipment as staff create it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    /// Who carries it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub carrier: Option<String>,
    /// The carrier's tracking number (the partner webhook finds the
    /// shipment by it).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub tracking_number: Option<String>,
    /// An `https://` page where the customer can follow it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub tracking_url: Option<String>,
}

fn optional(
    v: &mut ValidationError,
    field: &str,
    value: Option<String>,
    max: usize,
) -> Option<String> {
    let value = value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())?;
    v.check(field, clean_text(&value, max))
}

impl NewShipment {
    /// Checks every field and builds the shipment, in transit from `now`
    /// (a shipment is made when the parcel leaves the shop).
    pub fn validate(
        self,
        business_id: BusinessId,
        order_id: OrderId,
        now: DateTime<Utc>,
    ) -> Result<Shipment, ValidationError> {
        let mut v = ValidationError::default();
        let carrier = optional(&mut v, "carrier", self.carrier, TRACKING_FIELD_MAX_CHARS);
        let tracking_number =
            optional(&mut v, "tracking_number", self.tracking_number, TRACKING_FIELD_MAX_CHARS);
        let tracking_url =
            optional(&mut v, "tracking_url", self.tracking_url, TRACKING_URL_MAX_CHARS);
        if let Some(u) = &tracking_url
            && (!u.starts_with("https://")
                || u.len() <= "https://".len()
                || u.contains(char::is_whitespace))
        {
            v.push("tracking_url", "must be an https:// URL with no spaces");
        }
        v.into_result(|| Shipment {
            id: ShipmentId::new(),
            business_id,
            order_id,
            carrier,
            tracking_number,
            tracking_url,
            status: ShipmentStatus::InTransit,
            status_at: now,
            created_at: now,
        })
    }
}

/// One status report about a shipment, from the partner or from staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentEvent {
    /// The shipment.
    pub shipment_id: ShipmentId,
    /// What makes it unique: the partner's event id, or the status and
    /// time when it sends none. A report whose key was seen is not stored
    /// again.
    pub key: String,
    /// The status reported.
    pub status: ShipmentStatus,
    /// When it happened, as reported.
    pub at: DateTime<Utc>,
    /// Who reported it: `partner` or `staff`.
    pub source: String,
    /// Whether it moved the shipment.
    pub applied: bool,
}

impl ShipmentEvent {
    /// The key of a report that came without an event id.
    pub fn derived_key(status: ShipmentStatus, at: DateTime<Utc>) -> String {
        format!("{}@{}", status.aftership_tag(), at.timestamp_micros())
    }
}

/// What the order's customer was told, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderNotification {
    /// The order.
    pub order_id: OrderId,
    /// Which moment.
    pub notice: OrderNotice,
    /// The message queued, when one was.
    pub message_id: Option<MessageId>,
    /// Why nothing was sent, when nothing was.
    pub skipped: Option<String>,
    /// When it was decided.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipments_need_an_https_tracking_page() {
        let bad = NewShipment {
            carrier: Some("x".repeat(101)),
            tracking_url: Some("http://track.example/KE1".into()),
            ..NewShipment::default()
        };
        let e = bad.validate(BusinessId::new(), OrderId::new(), Utc::now()).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["carrier", "tracking_url"]);
        let s = NewShipment {
            tracking_number: Some(" KE123 ".into()),
            tracking_url: Some("https://track.example/KE123".into()),
            ..NewShipment::default()
        }
        .validate(BusinessId::new(), OrderId::new(), Utc::now())
        .unwrap();
        assert_eq!(
            (s.tracking_number.as_deref(), s.status),
            (Some("KE123"), ShipmentStatus::InTransit)
        );
    }
}
