//! Orders, and the customer figures orders and inbound messages keep.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params};
use whatsapp_crm_core::ports::{
    OrderQuery, OrderStore, Page, clamp_limit, created_event, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, CartId, CustomerId, CustomerStats, ENGAGEMENT_WINDOW_DAYS, Message, Money, Order,
    OrderId, OrderStatus, StorageError,
};

use crate::codec::{
    get, get_enum, get_json, get_opt_time, get_opt_uuid, get_parsed, get_time, get_uuid, id_bytes,
    micros, opt_micros, to_json,
};
use crate::error::{Ctx, corrupt, map};
use crate::listing::{Listing, blob, query_one};
use crate::storage::SqliteStorage;

const ORDER: Ctx = Ctx::new("order", "customer");
const CUSTOMER: Ctx = Ctx::new("customer", "business");

pub(crate) fn order_row(row: &Row<'_>) -> Result<Order, StorageError> {
    Ok(Order {
        id: OrderId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        customer_id: CustomerId::from_uuid(get_uuid(row, "customer_id")?),
        items: get_json(row, "items")?,
        total: Money::new(get(row, "total_minor")?, get_parsed(row, "currency")?),
        status: get_enum(row, "status")?,
        cart_id: get_opt_uuid(row, "cart_id")?.map(CartId::from_uuid),
        discount: get::<Option<String>>(row, "discount")?
            .map(|d| serde_json::from_str(&d).map_err(|e| corrupt("discount", e)))
            .transpose()?,
        pay_by: get_opt_time(row, "pay_by")?,
        delivery: get::<Option<String>>(row, "delivery")?
            .map(|d| serde_json::from_str(&d).map_err(|e| corrupt("delivery", e)))
            .transpose()?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// Recomputes spend, order count and last order from paid and fulfilled orders.
pub(crate) fn refresh_purchases(
    tx: &Connection,
    business: BusinessId,
    customer: CustomerId,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE customers SET
           total_spent = (SELECT coalesce(sum(total_minor), 0) FROM orders o
             WHERE o.business_id = ?1 AND o.customer_id = ?2 AND o.status IN ('paid', 'fulfilled')),
           order_count = (SELECT count(*) FROM orders o
             WHERE o.business_id = ?1 AND o.customer_id = ?2 AND o.status IN ('paid', 'fulfilled')),
           last_order_at = (SELECT max(created_at) FROM orders o
             WHERE o.business_id = ?1 AND o.customer_id = ?2 AND o.status IN ('paid', 'fulfilled'))
         WHERE business_id = ?1 AND id = ?2",
        params![id_bytes(business.as_uuid()), id_bytes(customer.as_uuid())],
    )
    .map_err(|e| map(CUSTOMER, e))?;
    Ok(())
}

/// Moves first/last seen and last inbound, and rescores engagement over the
/// window before the customer's latest inbound message.
pub(crate) fn record_inbound(tx: &Connection, m: &Message) -> Result<(), StorageError> {
    let at = micros(m.times.received_at.unwrap_or(m.created_at));
    let window = ENGAGEMENT_WINDOW_DAYS * whatsapp_crm_core::segment::DAY_MICROS;
    let (business, customer) =
        (id_bytes(m.business_id.as_uuid()), id_bytes(m.customer_id.as_uuid()));
    let recent: i64 = tx
        .query_row(
            "SELECT count(*) FROM messages WHERE business_id = ?1 AND customer_id = ?2 AND direction = 'inbound'
               AND created_at > (SELECT max(created_at) FROM messages
                 WHERE business_id = ?1 AND customer_id = ?2 AND direction = 'inbound') - ?3",
            params![business, customer, window],
            |r| r.get(0),
        )
        .map_err(|e| map(CUSTOMER, e))?;
    tx.execute(
        "UPDATE customers SET first_seen_at = min(coalesce(first_seen_at, ?3), ?3),
           last_seen_at = max(coalesce(last_seen_at, ?3), ?3),
           last_inbound_at = max(coalesce(last_inbound_at, ?3), ?3),
           engagement_score = ?4
         WHERE business_id = ?1 AND id = ?2",
        params![business, customer, at, CustomerStats::engagement_for(recent.max(0) as u64)],
    )
    .map_err(|e| map(CUSTOMER, e))?;
    Ok(())
}

/// Writes an order's row.
pub(crate) fn insert_order_row(tx: &Connection, o: &Order) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO orders (business_id, id, customer_id, items, total_minor, currency, status, created_at,
           updated_at, cart_id, discount, pay_by, delivery)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            id_bytes(o.business_id.as_uuid()),
            id_bytes(o.id.as_uuid()),
            id_bytes(o.customer_id.as_uuid()),
            to_json(&o.items)?,
            o.total.minor,
            o.total.currency.as_str(),
            enum_to_text(&o.status)?,
            micros(o.created_at),
            micros(o.updated_at),
            o.cart_id.map(|c| id_bytes(c.as_uuid())),
            o.discount.as_ref().map(to_json).transpose()?,
            opt_micros(o.pay_by),
            o.delivery.as_ref().map(to_json).transpose()?
        ],
    )
    .map_err(|e| map(ORDER, e))?;
    Ok(())
}

#[async_trait]
impl OrderStore for SqliteStorage {
    async fn insert_order(&self, order: &Order) -> Result<(), StorageError> {
        let o = order.clone();
        self.write(move |tx| {
            insert_order_row(tx, &o)?;
            crate::checkout::insert_event(tx, o.business_id, &created_event(&o, "staff"))?;
            refresh_purchases(tx, o.business_id, o.customer_id)
        })
        .await
    }

    async fn get_order(&self, business: BusinessId, id: OrderId) -> Result<Order, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                ORDER,
                "SELECT * FROM orders WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                order_row,
            )
        })
        .await
    }

    async fn update_order_status(
        &self,
        business: BusinessId,
        id: OrderId,
        status: OrderStatus,
        at: DateTime<Utc>,
    ) -> Result<Order, StorageError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE orders SET status = ?3, updated_at = ?4 WHERE business_id = ?1 AND id = ?2",
                params![
                    id_bytes(business.as_uuid()),
                    id_bytes(id.as_uuid()),
                    enum_to_text(&status)?,
                    micros(at)
                ],
            )
            .map_err(|e| map(ORDER, e))?;
            let order = query_one(
                tx,
                ORDER,
                "SELECT * FROM orders WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                order_row,
            )?;
            refresh_purchases(tx, business, order.customer_id)?;
            Ok(order)
        })
        .await
    }

    async fn list_orders(
        &self,
        business: BusinessId,
        query: &OrderQuery,
    ) -> Result<Page<Order>, StorageError> {
        let mut l = Listing::new("SELECT * FROM orders", "", business);
        l.after(query.after.map(|a| a.as_uuid()));
        if let Some(customer) = query.customer {
            l.filter("customer_id = ?", blob(customer.as_uuid()));
        }
        if let Some(status) = query.status {
            l.filter("status = ?", Value::Text(enum_to_text(&status)?));
        }
        l.page(self, ORDER, clamp_limit(query.limit), order_row, |o| o.id.to_string()).await
    }
}
