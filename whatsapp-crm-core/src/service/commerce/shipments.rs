//! Shipments: staff hand an order's parcels to a carrier, and the carrier
//! (or staff) reports their progress. Reports are stored once per event and
//! never move a parcel back; the customer hears when a parcel leaves, goes
//! out for delivery and arrives, and the order is fulfilled when every
//! parcel has arrived.
//!
//! A delivery partner posts to `/webhooks/delivery/{token}` a JSON body
//! signed as [`commerce::signature`](crate::commerce::signature) says:
//!
//! ```json
//! {"event_id": "evt_1042", "tracking_number": "KE123", "status": "OutForDelivery",
//!  "occurred_at": "2026-12-07T09:30:00Z"}
//! ```
//!
//! `status` is an AfterShip tag or subtag (`OutForDelivery`, `Delivered_004`)
//! or the SDK's own name (`out_for_delivery`, `cancelled`); `event_id` and
//! `occurred_at` are optional (without an id, the status and time make the
//! event's key).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::commerce::signature::{SignatureError, verify};
use crate::commerce::{ReportOutcome, ShipmentStatus};
use crate::domain::{
    BusinessId, EVENT_KEY_MAX_CHARS, NewShipment, OrderId, OrderNotice, OrderStatus, Shipment,
    ShipmentEvent, ShipmentId,
};
use crate::ports::{Clock, Reported, ShipmentReport, Storage, to_storage_precision};
use crate::service::ServiceError;

use super::notices::{NoticeDetail, Notifier};
use super::orders::Orders;
use super::settings::CommerceSetup;

/// Largest delivery webhook body read.
pub const DELIVERY_BODY_MAX_BYTES: usize = 16 * 1024;

/// A status report staff make.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StaffReport {
    /// Where the parcel is now.
    pub status: ShipmentStatus,
    /// When it got there (default now).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// A delivery partner's report, as posted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PartnerReport {
    /// The partner's id for the event, unique per shipment.
    #[serde(default)]
    pub event_id: Option<String>,
    /// The shipment's tracking number.
    pub tracking_number: String,
    /// AfterShip tag or subtag, or the SDK's status name.
    pub status: String,
    /// When it happened (default when received).
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// What a partner's report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerReceipt {
    /// The shipment after the report.
    pub shipment: Shipment,
    /// The report was a repeat of one already stored.
    pub duplicate: bool,
    /// The report moved the shipment.
    pub moved: bool,
}

/// Why a partner's report was refused; nothing was stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryWebhookError {
    /// No business has this token (or commerce is off there).
    #[error("unknown delivery webhook")]
    UnknownToken,
    /// The signature headers are missing, stale or wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body is not a report.
    #[error("{0}")]
    Body(String),
    /// No shipment of the business has the tracking number.
    #[error("no shipment has this tracking number")]
    UnknownShipment,
    /// Anything else.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Reads a status name in AfterShip's vocabulary or the SDK's.
pub fn parse_status(s: &str) -> Option<ShipmentStatus> {
    ShipmentStatus::from_aftership(s.trim()).or_else(|| {
        serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase())).ok()
    })
}

/// Shipments of orders.
#[derive(Clone)]
pub struct Shipments {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Shipments {
    pub(crate) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Hands a paid order's parcel to a carrier: the shipment is in transit
    /// and the customer is told, with the tracking link.
    pub async fn create(
        &self,
        business: BusinessId,
        order: OrderId,
        input: NewShipment,
    ) -> Result<Shipment, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let o = self.storage.get_order(business, order).await?;
        if o.status != OrderStatus::Paid {
            return Err(ServiceError::InvalidState {
                message: format!(
                    "only a paid order is shipped; this one is {}",
                    crate::ports::enum_to_text(&o.status).unwrap_or_default()
                ),
            });
        }
        let now = to_storage_precision(self.clock.now());
        let shipment = input.validate(business, order, now)?;
        self.storage.insert_shipment(&shipment).await?;
        let detail = NoticeDetail { shipment: Some(&shipment), ..NoticeDetail::default() };
        self.notifier().notify(&b, &o, OrderNotice::Shipped, detail).await?;
        Ok(shipment)
    }

    /// An order's shipments, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<Shipment>, ServiceError> {
        self.storage.get_order(business, order).await?;
        Ok(self.storage.order_shipments(business, order).await?)
    }

    /// A shipment's reports in arrival order.
    pub async fn events(
        &self,
        business: BusinessId,
        order: OrderId,
        id: ShipmentId,
    ) -> Result<Vec<ShipmentEvent>, ServiceError> {
        self.of_order(business, order, id).await?;
        Ok(self.storage.shipment_events(business, id).await?)
    }

    /// A status report from staff.
    pub async fn report(
        &self,
        business: BusinessId,
        order: OrderId,
        id: ShipmentId,
        input: StaffReport,
    ) -> Result<Shipment, ServiceError> {
        self.of_order(business, order, id).await?;
        let at = to_storage_precision(input.at.unwrap_or_else(|| self.clock.now()));
        let report = ShipmentReport {
            key: ShipmentEvent::derived_key(input.status, at),
            status: input.status,
            at,
            source: "staff".into(),
        };
        Ok(self.apply(business, id, &report).await?.0)
    }

    /// A delivery partner's signed report: checked against the business's
    /// secret before anything is read, stored once, applied.
    pub async fn partner_report(
        &self,
        token: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<PartnerReceipt, DeliveryWebhookError> {
        let setup = CommerceSetup::new(Arc::clone(&self.storage));
        let b = setup
            .business_for_delivery_token(token)
            .await?
            .ok_or(DeliveryWebhookError::UnknownToken)?;
        let secret =
            b.commerce.delivery_webhook.as_ref().map(|w| w.secret.clone()).unwrap_or_default();
        verify(secret.as_bytes(), timestamp, signature, body, self.clock.now())?;
        let report: PartnerReport = serde_json::from_slice(body)
            .map_err(|e| DeliveryWebhookError::Body(format!("not a delivery report: {e}")))?;
        let status = parse_status(&report.status).ok_or_else(|| {
            DeliveryWebhookError::Body(format!("unknown status {:?}", report.status))
        })?;
        let at = to_storage_precision(report.occurred_at.unwrap_or_else(|| self.clock.now()));
        let key = match report.event_id.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()) {
            Some(k) if k.chars().count() > EVENT_KEY_MAX_CHARS => {
                return Err(DeliveryWebhookError::Body(format!(
                    "event_id is over {EVENT_KEY_MAX_CHARS} characters"
                )));
            }
            Some(k) => k,
            None => ShipmentEvent::derived_key(status, at),
        };
        let shipment = self
            .storage
            .find_shipment_by_tracking(b.id, report.tracking_number.trim())
            .await
            .map_err(ServiceError::from)?
            .ok_or(DeliveryWebhookError::UnknownShipment)?;
        let r = ShipmentReport { key, status, at, source: "partner".into() };
        let (shipment, duplicate, moved) = self.apply(b.id, shipment.id, &r).await?;
        Ok(PartnerReceipt { shipment, duplicate, moved })
    }

    /// Stores a report and carries out what it means for the order: the
    /// customer's notices, and fulfilment when every parcel has arrived. A
    /// repeat carries them out again, so a crash between the two is made
    /// good by the partner's retry; notices go out once regardless.
    async fn apply(
        &self,
        business: BusinessId,
        id: ShipmentId,
        report: &ShipmentReport,
    ) -> Result<(Shipment, bool, bool), ServiceError> {
        let (shipment, duplicate, moved) =
            match self.storage.report_shipment(business, id, report).await? {
                Reported::Duplicate(s) => (s, true, false),
                Reported::Stored { shipment, outcome } => {
                    (shipment, false, matches!(outcome, ReportOutcome::Moved { .. }))
                }
            };
        let b = self.storage.get_business(business).await?;
        let order = self.storage.get_order(business, shipment.order_id).await?;
        let notice = match shipment.status {
            ShipmentStatus::OutForDelivery => Some(OrderNotice::OutForDelivery),
            ShipmentStatus::Delivered => Some(OrderNotice::Delivered),
            _ => None,
        };
        if let Some(n) = notice
            && (moved || duplicate)
        {
            let detail = NoticeDetail { shipment: Some(&shipment), ..NoticeDetail::default() };
            self.notifier().notify(&b, &order, n, detail).await?;
        }
        if shipment.status == ShipmentStatus::Delivered {
            Orders::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
                .fulfil_if_delivered(&b, &order)
                .await?;
        }
        Ok((shipment, duplicate, moved))
    }

    async fn of_order(
        &self,
        business: BusinessId,
        order: OrderId,
        id: ShipmentId,
    ) -> Result<Shipment, ServiceError> {
        let s = self.storage.get_shipment(business, id).await?;
        if s.order_id != order {
            return Err(ServiceError::NotFound { entity: "shipment" });
        }
        Ok(s)
    }

    fn notifier(&self) -> Notifier {
        Notifier::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }
}
