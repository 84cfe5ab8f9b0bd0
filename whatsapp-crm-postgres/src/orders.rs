//! Orders, and the customer figures orders and inbound messages keep.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};
use whatsapp_crm_core::ports::{
    OrderQuery, OrderStore, Page, clamp_limit, created_event, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, CartId, CustomerId, CustomerStats, ENGAGEMENT_WINDOW_DAYS, Message, Money, Order,
    OrderId, OrderStatus, StorageError,
};

use crate::codec::{get, get_enum, get_json, get_parsed, to_json};
use crate::error::{Ctx, corrupt, map};
use crate::listing::Listing;
use crate::storage::PostgresStorage;

const ORDER: Ctx = Ctx::new("order", "customer");
const CUSTOMER: Ctx = Ctx::new("customer", "business");

pub(crate) fn order_row(row: &PgRow) -> Result<Order, StorageError> {
    Ok(Order {
        id: OrderId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        customer_id: CustomerId::from_uuid(get(row, "customer_id")?),
        items: get_json(row, "items")?,
        total: Money::new(get(row, "total_minor")?, get_parsed(row, "currency")?),
        status: get_enum(row, "status")?,
        cart_id: get::<Option<uuid::Uuid>>(row, "cart_id")?.map(CartId::from_uuid),
        discount: get::<Option<sqlx::types::Json<serde_json::Value>>>(row, "discount")?
            .map(|d| serde_json::from_value(d.0).map_err(|e| corrupt("discount", e)))
            .transpose()?,
        pay_by: get(row, "pay_by")?,
        delivery: get::<Option<sqlx::types::Json<serde_json::Value>>>(row, "delivery")?
            .map(|d| serde_json::from_value(d.0).map_err(|e| corrupt("delivery", e)))
            .transpose()?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Locks the customer row, so concurrent order changes for one customer take
/// turns, then recomputes spend, count and last order from counted orders.
pub(crate) async fn refresh_purchases(
    tx: &mut Transaction<'_, Postgres>,
    business: BusinessId,
    customer: CustomerId,
) -> Result<(), StorageError> {
    sqlx::query("SELECT 1 FROM customers WHERE business_id = $1 AND id = $2 FOR UPDATE")
        .bind(business.as_uuid())
        .bind(customer.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(|e| map(CUSTOMER, e))?;
    sqlx::query(
        "UPDATE customers c SET total_spent = s.total, order_count = s.n, last_order_at = s.last
         FROM (SELECT coalesce(sum(total_minor), 0)::bigint AS total, count(*)::integer AS n, max(created_at) AS last
               FROM orders WHERE business_id = $1 AND customer_id = $2 AND status IN ('paid', 'fulfilled')) s
         WHERE c.business_id = $1 AND c.id = $2",
    )
    .bind(business.as_uuid())
    .bind(customer.as_uuid())
    .execute(&mut **tx)
    .await
    .map_err(|e| map(CUSTOMER, e))?;
    Ok(())
}

/// Moves first/last seen and last inbound, and rescores engagement over the
/// window before the customer's latest inbound message.
pub(crate) async fn record_inbound(
    tx: &mut sqlx::PgConnection,
    m: &Message,
) -> Result<(), StorageError> {
    let at = m.times.received_at.unwrap_or(m.created_at);
    let recent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE business_id = $1 AND customer_id = $2 AND direction = 'inbound'
           AND created_at > (SELECT max(created_at) FROM messages
             WHERE business_id = $1 AND customer_id = $2 AND direction = 'inbound') - make_interval(days => $3)",
    )
    .bind(m.business_id.as_uuid())
    .bind(m.customer_id.as_uuid())
    .bind(i32::try_from(ENGAGEMENT_WINDOW_DAYS).unwrap_or(i32::MAX))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(CUSTOMER, e))?;
    sqlx::query(
        "UPDATE customers SET first_seen_at = least(coalesce(first_seen_at, $3), $3),
           last_seen_at = greatest(coalesce(last_seen_at, $3), $3),
           last_inbound_at = greatest(coalesce(last_inbound_at, $3), $3),
           engagement_score = $4
         WHERE business_id = $1 AND id = $2",
    )
    .bind(m.business_id.as_uuid())
    .bind(m.customer_id.as_uuid())
    .bind(at)
    .bind(i16::from(CustomerStats::engagement_for(recent.max(0) as u64)))
    .execute(&mut *tx)
    .await
    .map_err(|e| map(CUSTOMER, e))?;
    Ok(())
}

/// Writes an order's row.
pub(crate) async fn insert_order_row(
    tx: &mut sqlx::PgConnection,
    o: &Order,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO orders (business_id, id, customer_id, items, total_minor, currency, status, created_at,
           updated_at, cart_id, discount, pay_by, delivery)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(o.business_id.as_uuid())
    .bind(o.id.as_uuid())
    .bind(o.customer_id.as_uuid())
    .bind(sqlx::types::Json(to_json(&o.items)?))
    .bind(o.total.minor)
    .bind(o.total.currency.as_str())
    .bind(enum_to_text(&o.status)?)
    .bind(o.created_at)
    .bind(o.updated_at)
    .bind(o.cart_id.map(|c| c.as_uuid()))
    .bind(o.discount.as_ref().map(to_json).transpose()?.map(sqlx::types::Json))
    .bind(o.pay_by)
    .bind(o.delivery.as_ref().map(to_json).transpose()?.map(sqlx::types::Json))
    .execute(&mut *tx)
    .await
    .map_err(|e| map(ORDER, e))?;
    Ok(())
}

#[async_trait]
impl OrderStore for PostgresStorage {
    async fn insert_order(&self, o: &Order) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(ORDER, e))?;
        insert_order_row(&mut tx, o).await?;
        crate::checkout::insert_event(&mut tx, o.business_id, &created_event(o, "staff")).await?;
        refresh_purchases(&mut tx, o.business_id, o.customer_id).await?;
        tx.commit().await.map_err(|e| map(ORDER, e))
    }

    async fn get_order(&self, business: BusinessId, id: OrderId) -> Result<Order, StorageError> {
        let row = sqlx::query("SELECT * FROM orders WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(ORDER, e))?;
        row.as_ref().map(order_row).transpose()?.ok_or(StorageError::not_found("order"))
    }

    async fn update_order_status(
        &self,
        business: BusinessId,
        id: OrderId,
        status: OrderStatus,
        at: DateTime<Utc>,
    ) -> Result<Order, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(ORDER, e))?;
        let row = sqlx::query("UPDATE orders SET status = $3, updated_at = $4 WHERE business_id = $1 AND id = $2 RETURNING *")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .bind(enum_to_text(&status)?)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| map(ORDER, e))?;
        let order =
            row.as_ref().map(order_row).transpose()?.ok_or(StorageError::not_found("order"))?;
        refresh_purchases(&mut tx, business, order.customer_id).await?;
        tx.commit().await.map_err(|e| map(ORDER, e))?;
        Ok(order)
    }

    async fn list_orders(
        &self,
        business: BusinessId,
        query: &OrderQuery,
    ) -> Result<Page<Order>, StorageError> {
        let mut l = Listing::new("orders", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        if let Some(customer) = query.customer {
            l.filter("customer_id = ?", customer.as_uuid())?;
        }
        if let Some(status) = query.status {
            l.filter("status = ?", enum_to_text(&status)?)?;
        }
        l.page(self, ORDER, clamp_limit(query.limit), order_row, |o| o.id.to_string()).await
    }
}
