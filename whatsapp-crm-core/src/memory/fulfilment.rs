//! Shipments, their reports, and order notices in memory.

use async_trait::async_trait;

use super::InMemoryStorage;
use crate::domain::{
    BusinessId, Message, OrderId, OrderNotification, OutboxItem, Shipment, ShipmentEvent,
    ShipmentId,
};
use crate::ports::{
    NoticeStore, Reported, ShipmentReport, ShipmentStore, StorageError, TRACKING_TAKEN,
};

const SHIPMENT: &str = "shipment";

#[async_trait]
impl ShipmentStore for InMemoryStorage {
    async fn insert_shipment(&self, shipment: &Shipment) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(shipment.business_id, "order")?;
        if !t.orders.contains_key(&shipment.order_id) {
            return Err(StorageError::not_found("order"));
        }
        let c = &mut t.commerce;
        if c.shipments.contains_key(&shipment.id) {
            return Err(StorageError::conflict(SHIPMENT, "id already exists"));
        }
        if shipment.tracking_number.is_some()
            && c.shipments.values().any(|s| s.tracking_number == shipment.tracking_number)
        {
            return Err(StorageError::conflict(SHIPMENT, TRACKING_TAKEN));
        }
        c.shipments.insert(shipment.id, shipment.clone());
        Ok(())
    }

    async fn get_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Shipment, StorageError> {
        let inner = self.read();
        inner
            .tenant(business)
            .and_then(|t| t.commerce.shipments.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(SHIPMENT))
    }

    async fn order_shipments(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<Shipment>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        Ok(t.commerce.shipments.values().filter(|s| s.order_id == order).cloned().collect())
    }

    async fn find_shipment_by_tracking(
        &self,
        business: BusinessId,
        tracking_number: &str,
    ) -> Result<Option<Shipment>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(None) };
        Ok(t.commerce
            .shipments
            .values()
            .find(|s| s.tracking_number.as_deref() == Some(tracking_number))
            .cloned())
    }

    async fn report_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
        report: &ShipmentReport,
    ) -> Result<Reported, StorageError> {
        let mut inner = self.write();
        let c = &mut inner.tenant_mut(business, SHIPMENT)?.commerce;
        let shipment = c.shipments.get(&id).ok_or(StorageError::not_found(SHIPMENT))?.clone();
        let events = c.shipment_events.entry(id).or_default();
        if events.iter().any(|e| e.key == report.key) {
            return Ok(Reported::Duplicate(shipment));
        }
        let (event, next, outcome) = report.apply(&shipment);
        events.push(event);
        c.shipments.insert(id, next.clone());
        Ok(Reported::Stored { shipment: next, outcome })
    }

    async fn shipment_events(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Vec<ShipmentEvent>, StorageError> {
        let inner = self.read();
        let c = &inner.tenant(business).ok_or(StorageError::not_found(SHIPMENT))?.commerce;
        if !c.shipments.contains_key(&id) {
            return Err(StorageError::not_found(SHIPMENT));
        }
        Ok(c.shipment_events.get(&id).cloned().unwrap_or_default())
    }
}

#[async_trait]
impl NoticeStore for InMemoryStorage {
    async fn record_notice(
        &self,
        business: BusinessId,
        n: &OrderNotification,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, "order")?;
        if !t.orders.contains_key(&n.order_id) {
            return Err(StorageError::not_found("order"));
        }
        let notices = t.commerce.notices.entry(n.order_id).or_default();
        if notices.iter().any(|x| x.notice == n.notice) {
            return Ok(false);
        }
        if let Some(row) = send {
            if row.0.business_id != business {
                return Err(StorageError::not_found("conversation"));
            }
            inner.queue(std::slice::from_ref(row))?;
        }
        let t = inner.tenant_mut(business, "order")?;
        t.commerce.notices.entry(n.order_id).or_default().push(n.clone());
        Ok(true)
    }

    async fn order_notices(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderNotification>, StorageError> {
        let inner = self.read();
        let t = inner.tenant(business).ok_or(StorageError::not_found("order"))?;
        if !t.orders.contains_key(&order) {
            return Err(StorageError::not_found("order"));
        }
        Ok(t.commerce.notices.get(&order).cloned().unwrap_or_default())
    }
}
