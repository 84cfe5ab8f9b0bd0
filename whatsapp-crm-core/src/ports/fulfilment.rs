//! Storage of shipments with their reports, and of the notices each order's
//! customer was sent.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageError;
use crate::commerce::{ReportOutcome, ShipmentStatus, apply_report};
use crate::domain::{
    BusinessId, Message, OrderId, OrderNotification, OutboxItem, Shipment, ShipmentEvent,
    ShipmentId,
};

/// The constraint text used when a tracking number is taken.
pub const TRACKING_TAKEN: &str = "tracking number already used in this business";

/// A status report about a shipment, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentReport {
    /// Unique per shipment: the partner's event id, or
    /// [`ShipmentEvent::derived_key`].
    pub key: String,
    /// The status reported.
    pub status: ShipmentStatus,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// `partner` or `staff`.
    pub source: String,
}

/// What storing a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// A report with this key was stored before; nothing changed.
    Duplicate(Shipment),
    /// Stored; the shipment as it now is, and what the report did to it.
    Stored {
        /// The shipment after the report.
        shipment: Shipment,
        /// Moved, or why not.
        outcome: ReportOutcome,
    },
}

impl ShipmentReport {
    /// The event this report becomes on `shipment`, and the shipment after
    /// it: what every backend stores in one transaction.
    pub fn apply(&self, shipment: &Shipment) -> (ShipmentEvent, Shipment, ReportOutcome) {
        let outcome = apply_report(shipment.status, Some(shipment.status_at), self.status, self.at);
        let mut next = shipment.clone();
        if let ReportOutcome::Moved { to, .. } = outcome {
            next.status = to;
            next.status_at = self.at;
        }
        let event = ShipmentEvent {
            shipment_id: shipment.id,
            key: self.key.clone(),
            status: self.status,
            at: self.at,
            source: self.source.clone(),
            applied: matches!(outcome, ReportOutcome::Moved { .. }),
        };
        (event, next, outcome)
    }
}

/// Shipments and their reports.
#[async_trait]
pub trait ShipmentStore: Send + Sync {
    /// Stores a shipment. `NotFound` if its order is not in the business;
    /// `Conflict` ([`TRACKING_TAKEN`]) if another shipment has its tracking
    /// number.
    async fn insert_shipment(&self, shipment: &Shipment) -> Result<(), StorageError>;
    /// Reads a shipment.
    async fn get_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Shipment, StorageError>;
    /// An order's shipments, oldest first.
    async fn order_shipments(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<Shipment>, StorageError>;
    /// The shipment with this tracking number, if any.
    async fn find_shipment_by_tracking(
        &self,
        business: BusinessId,
        tracking_number: &str,
    ) -> Result<Option<Shipment>, StorageError>;
    /// Stores a report once per key and moves the shipment as
    /// [`ShipmentReport::apply`] says, in one transaction: concurrent
    /// deliveries of one report store it once.
    async fn report_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
        report: &ShipmentReport,
    ) -> Result<Reported, StorageError>;
    /// A shipment's reports in the order they arrived.
    async fn shipment_events(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Vec<ShipmentEvent>, StorageError>;
}

/// The notices each order's customer was sent, at most one per order and
/// notice.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Records a notice and, in the same transaction, queues its message
    /// and outbox row when there is one. False, with nothing stored, when
    /// the order already has this notice: a retry or a second server
    /// never sends it twice.
    async fn record_notice(
        &self,
        business: BusinessId,
        notification: &OrderNotification,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError>;
    /// An order's notices, in the order they were decided.
    async fn order_notices(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderNotification>, StorageError>;
}
