//! Shipments with their reports, and order notices.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use whatsapp_crm_core::ports::{
    NoticeStore, Reported, ShipmentReport, ShipmentStore, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, Message, MessageId, OrderId, OrderNotification, OutboxItem, Shipment,
    ShipmentEvent, ShipmentId, StorageError,
};

use crate::codec::{get, get_enum, get_opt_uuid, get_time, get_uuid, id_bytes, micros};
use crate::error::{Ctx, map};
use crate::listing::{blob, query_all, query_one};
use crate::messaging::insert_message_tx;
use crate::outbox::insert_item;
use crate::storage::SqliteStorage;

const SHIPMENT: Ctx = Ctx::new("shipment", "order");
const NOTICE: Ctx = Ctx::new("notice", "order");
const ORDER: Ctx = Ctx::new("order", "business");

fn shipment_row(row: &Row<'_>) -> Result<Shipment, StorageError> {
    Ok(Shipment {
        id: ShipmentId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        order_id: OrderId::from_uuid(get_uuid(row, "order_id")?),
        carrier: get(row, "carrier")?,
        tracking_number: get(row, "tracking_number")?,
        tracking_url: get(row, "tracking_url")?,
        status: get_enum(row, "status")?,
        status_at: get_time(row, "status_at")?,
        created_at: get_time(row, "created_at")?,
    })
}

fn event_row(row: &Row<'_>) -> Result<ShipmentEvent, StorageError> {
    Ok(ShipmentEvent {
        shipment_id: ShipmentId::from_uuid(get_uuid(row, "shipment_id")?),
        key: get(row, "key")?,
        status: get_enum(row, "status")?,
        at: get_time(row, "at")?,
        source: get(row, "source")?,
        applied: get(row, "applied")?,
    })
}

fn notice_row(row: &Row<'_>) -> Result<OrderNotification, StorageError> {
    Ok(OrderNotification {
        order_id: OrderId::from_uuid(get_uuid(row, "order_id")?),
        notice: get_enum(row, "notice")?,
        message_id: get_opt_uuid(row, "message_id")?.map(MessageId::from_uuid),
        skipped: get(row, "skipped")?,
        at: get_time(row, "at")?,
    })
}

fn read_shipment(
    tx: &Transaction<'_>,
    business: BusinessId,
    id: ShipmentId,
) -> Result<Shipment, StorageError> {
    query_one(
        tx,
        SHIPMENT,
        "SELECT * FROM shipments WHERE business_id = ?1 AND id = ?2",
        vec![blob(business.as_uuid()), blob(id.as_uuid())],
        shipment_row,
    )
}

#[async_trait]
impl ShipmentStore for SqliteStorage {
    async fn insert_shipment(&self, shipment: &Shipment) -> Result<(), StorageError> {
        let s = shipment.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO shipments (business_id, id, order_id, carrier, tracking_number,
                   tracking_url, status, status_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id_bytes(s.business_id.as_uuid()),
                    id_bytes(s.id.as_uuid()),
                    id_bytes(s.order_id.as_uuid()),
                    s.carrier,
                    s.tracking_number,
                    s.tracking_url,
                    enum_to_text(&s.status)?,
                    micros(s.status_at),
                    micros(s.created_at)
                ],
            )
            .map_err(|e| map(SHIPMENT, e))?;
            Ok(())
        })
        .await
    }

    async fn get_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Shipment, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                SHIPMENT,
                "SELECT * FROM shipments WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                shipment_row,
            )
        })
        .await
    }

    async fn order_shipments(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<Shipment>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                SHIPMENT,
                "SELECT * FROM shipments WHERE business_id = ?1 AND order_id = ?2 ORDER BY id",
                vec![blob(business.as_uuid()), blob(order.as_uuid())],
                shipment_row,
            )
        })
        .await
    }

    async fn find_shipment_by_tracking(
        &self,
        business: BusinessId,
        tracking_number: &str,
    ) -> Result<Option<Shipment>, StorageError> {
        let number = tracking_number.to_owned();
        self.read(move |c| {
            Ok(query_all(
                c,
                SHIPMENT,
                "SELECT * FROM shipments WHERE business_id = ?1 AND tracking_number = ?2",
                vec![blob(business.as_uuid()), Value::Text(number)],
                shipment_row,
            )?
            .pop())
        })
        .await
    }

    async fn report_shipment(
        &self,
        business: BusinessId,
        id: ShipmentId,
        report: &ShipmentReport,
    ) -> Result<Reported, StorageError> {
        let report = report.clone();
        self.write(move |tx| {
            let current = read_shipment(tx, business, id)?;
            let (b, sid) = (id_bytes(business.as_uuid()), id_bytes(id.as_uuid()));
            let seen: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM shipment_events WHERE business_id = ?1 AND shipment_id = ?2 AND key = ?3",
                    params![b, sid, report.key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| map(SHIPMENT, e))?;
            if seen.is_some() {
                return Ok(Reported::Duplicate(current));
            }
            let (event, next, outcome) = report.apply(&current);
            tx.execute(
                "INSERT INTO shipment_events (business_id, shipment_id, key, seq, status, at, source, applied)
                 VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM shipment_events
                   WHERE business_id = ?1 AND shipment_id = ?2), ?4, ?5, ?6, ?7)",
                params![
                    b,
                    sid,
                    event.key,
                    enum_to_text(&event.status)?,
                    micros(event.at),
                    event.source,
                    event.applied
                ],
            )
            .map_err(|e| map(SHIPMENT, e))?;
            if next != current {
                tx.execute(
                    "UPDATE shipments SET status = ?3, status_at = ?4 WHERE business_id = ?1 AND id = ?2",
                    params![b, sid, enum_to_text(&next.status)?, micros(next.status_at)],
                )
                .map_err(|e| map(SHIPMENT, e))?;
            }
            Ok(Reported::Stored { shipment: next, outcome })
        })
        .await
    }

    async fn shipment_events(
        &self,
        business: BusinessId,
        id: ShipmentId,
    ) -> Result<Vec<ShipmentEvent>, StorageError> {
        self.read(move |c| {
            let args = vec![blob(business.as_uuid()), blob(id.as_uuid())];
            query_one(
                c,
                SHIPMENT,
                "SELECT * FROM shipments WHERE business_id = ?1 AND id = ?2",
                args.clone(),
                shipment_row,
            )?;
            query_all(
                c,
                SHIPMENT,
                "SELECT * FROM shipment_events WHERE business_id = ?1 AND shipment_id = ?2 ORDER BY seq",
                args,
                event_row,
            )
        })
        .await
    }
}

#[async_trait]
impl NoticeStore for SqliteStorage {
    async fn record_notice(
        &self,
        business: BusinessId,
        n: &OrderNotification,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError> {
        let (n, send) = (n.clone(), send.cloned());
        self.write(move |tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO order_notices (business_id, order_id, notice, seq, message_id, skipped, at)
                     VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM order_notices
                       WHERE business_id = ?1 AND order_id = ?2), ?4, ?5, ?6)
                     ON CONFLICT (business_id, order_id, notice) DO NOTHING",
                    params![
                        id_bytes(business.as_uuid()),
                        id_bytes(n.order_id.as_uuid()),
                        enum_to_text(&n.notice)?,
                        n.message_id.map(|m| id_bytes(m.as_uuid())),
                        n.skipped,
                        micros(n.at)
                    ],
                )
                .map_err(|e| map(NOTICE, e))?;
            if inserted == 0 {
                return Ok(false);
            }
            if let Some((m, item)) = &send {
                if m.business_id != business || item.business_id != business {
                    return Err(StorageError::not_found("conversation"));
                }
                insert_message_tx(tx, m)?;
                insert_item(tx, item)?;
            }
            Ok(true)
        })
        .await
    }

    async fn order_notices(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderNotification>, StorageError> {
        self.read(move |c| {
            let args = vec![blob(business.as_uuid()), blob(order.as_uuid())];
            query_one(
                c,
                ORDER,
                "SELECT 1 FROM orders WHERE business_id = ?1 AND id = ?2",
                args.clone(),
                |_| Ok(()),
            )?;
            query_all(
                c,
                NOTICE,
                "SELECT * FROM order_notices WHERE business_id = ?1 AND order_id = ?2 ORDER BY seq",
                args,
                notice_row,
            )
        })
        .await
    }
}
