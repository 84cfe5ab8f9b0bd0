//! Shipments with their reports, and order notices.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    NoticeStore, Reported, ShipmentReport, ShipmentStore, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, Message, MessageId, OrderId, OrderNotification, OutboxItem, Shipment,
    ShipmentEvent, ShipmentId, StorageError,
};

use crate::codec::{get, get_enum};
use crate::error::{Ctx, map};
use crate::messaging::insert_message_tx;
use crate::outbox::insert_item;
use crate::storage::PostgresStorage;

const SHIPMENT: Ctx = Ctx::new("shipment", "order");
const NOTICE: Ctx = Ctx::new("notice", "order");
const ORDER: Ctx = Ctx::new("order", "business");

fn shipment_row(row: &PgRow) -> Result<Shipment, StorageError> {
    Ok(Shipment {
        id: ShipmentId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        order_id: OrderId::from_uuid(get(row, "order_id")?),
        carrier: get(row, "carrier")?,
        tracking_number: get(row, "tracking_number")?,
        tracking_url: get(row, "tracking_url")?,
        status: get_enum(row, "status")?,
        status_at: get(row, "status_at")?,
        created_at: get(row, "created_at")?,
    })
}

fn event_row(row: &PgRow) -> Result<ShipmentEvent, StorageError> {
    Ok(ShipmentEvent {
        shipment_id: ShipmentId::from_uuid(get(row, "shipment_id")?),
        key: get(row, "key")?,
        status: get_enum(row, "status")?,
        at: get(row, "at")?,
        source: get(row, "source")?,
        applied: get(row, "applied")?,
    })
}

fn notice_row(row: &PgRow) -> Result<OrderNotification, StorageError> {
    Ok(OrderNotification {
        order_id: OrderId::from_uuid(get(row, "order_id")?),
        notice: get_enum(row, "notice")?,
        message_id: get::<Option<uuid::Uuid>>(row, "message_id")?.map(MessageId::from_uuid),
        skipped: get(row, "skipped")?,
        at: get(row, "at")?,
    })
}

#[async_trait]
impl ShipmentStore for PostgresStorage {
    async fn insert_shipment(&self, s: &Shipment) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO shipments (business_id, id, order_id, carrier, tracking_number,
               tracking_url, status, status_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.business_id.as_uuid())
        .bind(s.id.as_uuid())
        .bind(s.order_id.as_uuid())
        .bind(&s.carrier)
        .bind(&s.tracking_number)
        .bind(&s.tracking_url)
        .bind(enum_to_text(&s.status)?)
        .bind(s.status_at)
        .bind(s.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(SHIPMENT, e))?;
        Ok(())
    }

    async fn get_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Shipment, StorageError> {
        let row = sqlx::query("SELECT * FROM shipments WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(SHIPMENT, e))?;
        row.as_ref().map(shipment_row).transpose()?.ok_or(StorageError::not_found("shipment"))
    }

    async fn order_shipments(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<Shipment>, StorageError> {
        let rows = sqlx::query(
            "SELECT * FROM shipments WHERE business_id = $1 AND order_id = $2 ORDER BY id",
        )
        .bind(business.as_uuid())
        .bind(order.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(SHIPMENT, e))?;
        rows.iter().map(shipment_row).collect()
    }

    async fn find_shipment_by_tracking(
        &self,
        business: BusinessId,
        tracking_number: &str,
    ) -> Result<Option<Shipment>, StorageError> {
        let row =
            sqlx::query("SELECT * FROM shipments WHERE business_id = $1 AND tracking_number = $2")
                .bind(business.as_uuid())
                .bind(tracking_number)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(SHIPMENT, e))?;
        row.as_ref().map(shipment_row).transpose()
    }

    async fn report_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
        report: &ShipmentReport,
    ) -> Result<Reported, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(SHIPMENT, e))?;
        // The row lock makes concurrent deliveries of one report take turns.
        let row =
            sqlx::query("SELECT * FROM shipments WHERE business_id = $1 AND id = $2 FOR UPDATE")
                .bind(business.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| map(SHIPMENT, e))?;
        let current = row
            .as_ref()
            .map(shipment_row)
            .transpose()?
            .ok_or(StorageError::not_found("shipment"))?;
        let seen: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM shipment_events WHERE business_id = $1 AND shipment_id = $2 AND key = $3",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .bind(&report.key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(SHIPMENT, e))?;
        if seen.is_some() {
            return Ok(Reported::Duplicate(current));
        }
        let (event, next, outcome) = report.apply(&current);
        sqlx::query(
            "INSERT INTO shipment_events (business_id, shipment_id, key, status, at, source, applied)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .bind(&event.key)
        .bind(enum_to_text(&event.status)?)
        .bind(event.at)
        .bind(&event.source)
        .bind(event.applied)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(SHIPMENT, e))?;
        if next != current {
            sqlx::query(
                "UPDATE shipments SET status = $3, status_at = $4 WHERE business_id = $1 AND id = $2",
            )
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .bind(enum_to_text(&next.status)?)
            .bind(next.status_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(SHIPMENT, e))?;
        }
        tx.commit().await.map_err(|e| map(SHIPMENT, e))?;
        Ok(Reported::Stored { shipment: next, outcome })
    }

    async fn shipment_events(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Vec<ShipmentEvent>, StorageError> {
        self.get_shipment(business, id).await?;
        let rows = sqlx::query(
            "SELECT * FROM shipment_events WHERE business_id = $1 AND shipment_id = $2 ORDER BY seq",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(SHIPMENT, e))?;
        rows.iter().map(event_row).collect()
    }
}

#[async_trait]
impl NoticeStore for PostgresStorage {
    async fn record_notice(
        &self,
        business: BusinessId,
        n: &OrderNotification,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(NOTICE, e))?;
        let done = sqlx::query(
            "INSERT INTO order_notices (business_id, order_id, notice, message_id, skipped, at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (business_id, order_id, notice) DO NOTHING",
        )
        .bind(business.as_uuid())
        .bind(n.order_id.as_uuid())
        .bind(enum_to_text(&n.notice)?)
        .bind(n.message_id.map(|m| m.as_uuid()))
        .bind(&n.skipped)
        .bind(n.at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(NOTICE, e))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some((m, item)) = send {
            if m.business_id != business || item.business_id != business {
                return Err(StorageError::not_found("conversation"));
            }
            insert_message_tx(&mut tx, m).await?;
            insert_item(&mut tx, item).await?;
        }
        tx.commit().await.map_err(|e| map(NOTICE, e))?;
        Ok(true)
    }

    async fn order_notices(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderNotification>, StorageError> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM orders WHERE business_id = $1 AND id = $2")
                .bind(business.as_uuid())
                .bind(order.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(ORDER, e))?;
        found.ok_or(StorageError::not_found("order"))?;
        let rows = sqlx::query(
            "SELECT * FROM order_notices WHERE business_id = $1 AND order_id = $2 ORDER BY seq",
        )
        .bind(business.as_uuid())
        .bind(order.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(NOTICE, e))?;
        rows.iter().map(notice_row).collect()
    }
}
