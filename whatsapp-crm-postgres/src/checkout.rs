//! Checkout and order moves, each one transaction. Row locks order the
//! races: the cart first (so one checkout per cart), then the discount code
//! (so one redemption at a time), then products in id order (so two carts
//! never wait on each other), then the customer's figures.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use whatsapp_crm_core::commerce::{DiscountUsage, StockChange};
use whatsapp_crm_core::ports::{
    CART_CLOSED, Checkout, CheckoutOutcome, CheckoutStore, HoldState, MoveOutcome, ORDER_CHANGED,
    OrderMove, apply_discount, created_event, enum_to_text, move_event,
};
use whatsapp_crm_core::{
    BusinessId, CartStatus, CustomerId, Order, OrderEvent, OrderId, OrderStatus, StorageError,
};

use crate::catalog::{cart_row, discount_row};
use crate::codec::{get, get_enum, get_opt_enum};
use crate::error::{Ctx, map};
use crate::orders::{insert_order_row, order_row, refresh_purchases};
use crate::storage::PostgresStorage;

const ORDER: Ctx = Ctx::new("order", "customer");
const STOCK: Ctx = Ctx::new("product", "order");

/// Appends an event to the order's timeline.
pub(crate) async fn insert_event(
    tx: &mut PgConnection,
    business: BusinessId,
    e: &OrderEvent,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO order_events (business_id, order_id, seq, at, actor, from_status, to_status, reason)
         VALUES ($1, $2, (SELECT coalesce(max(seq), 0) + 1 FROM order_events WHERE business_id = $1 AND order_id = $2),
           $3, $4, $5, $6, $7)",
    )
    .bind(business.as_uuid())
    .bind(e.order_id.as_uuid())
    .bind(e.at)
    .bind(&e.actor)
    .bind(e.from.map(|f| enum_to_text(&f)).transpose()?)
    .bind(enum_to_text(&e.to)?)
    .bind(&e.reason)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(ORDER, e))?;
    Ok(())
}

/// Reserves every tracked line, or reports the first short one (the caller
/// rolls back).
async fn reserve(tx: &mut PgConnection, o: &Order) -> Result<Option<(String, u32)>, StorageError> {
    let mut lines: Vec<_> = o.items.iter().filter(|l| l.product_id.is_some()).collect();
    lines.sort_by_key(|l| l.product_id);
    for line in lines {
        let Some(pid) = line.product_id else { continue };
        let q = i64::from(line.quantity);
        // Waits for any other reserver of this product, then reads what it left.
        let row: Option<(bool, i64)> = sqlx::query_as(
            "SELECT track_stock, on_hand - reserved FROM products WHERE business_id = $1 AND id = $2 FOR UPDATE",
        )
        .bind(o.business_id.as_uuid())
        .bind(pid.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(STOCK, e))?;
        let Some((tracked, available_before)) = row else {
            return Ok(Some((line.sku.clone(), 0)));
        };
        if !tracked {
            continue;
        }
        if available_before < q {
            return Ok(Some((
                line.sku.clone(),
                u32::try_from(available_before.max(0)).unwrap_or(0),
            )));
        }
        sqlx::query(
            "UPDATE products SET reserved = reserved + $3 WHERE business_id = $1 AND id = $2",
        )
        .bind(o.business_id.as_uuid())
        .bind(pid.as_uuid())
        .bind(q)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(STOCK, e))?;
        sqlx::query(
            "INSERT INTO order_stock (business_id, order_id, product_id, quantity, state)
             VALUES ($1, $2, $3, $4, 'reserved')
             ON CONFLICT (business_id, order_id, product_id)
             DO UPDATE SET quantity = order_stock.quantity + excluded.quantity, state = 'reserved'",
        )
        .bind(o.business_id.as_uuid())
        .bind(o.id.as_uuid())
        .bind(pid.as_uuid())
        .bind(q)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(STOCK, e))?;
    }
    Ok(None)
}

/// Releases, allocates or restocks what an order holds.
pub(crate) async fn settle(
    tx: &mut PgConnection,
    business: BusinessId,
    order: OrderId,
    change: StockChange,
) -> Result<(), StorageError> {
    for state in [HoldState::Reserved, HoldState::Allocated] {
        let Some((next, on_hand, reserved)) = state.after(change) else { continue };
        sqlx::query(
            "UPDATE products p SET on_hand = greatest(p.on_hand + $4 * h.quantity, 0),
               reserved = greatest(p.reserved + $5 * h.quantity, 0)
             FROM order_stock h
             WHERE h.business_id = $1 AND h.order_id = $2 AND h.state = $3
               AND p.business_id = h.business_id AND p.id = h.product_id",
        )
        .bind(business.as_uuid())
        .bind(order.as_uuid())
        .bind(state.as_str())
        .bind(on_hand)
        .bind(reserved)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(STOCK, e))?;
        sqlx::query("UPDATE order_stock SET state = $4 WHERE business_id = $1 AND order_id = $2 AND state = $3")
            .bind(business.as_uuid())
            .bind(order.as_uuid())
            .bind(state.as_str())
            .bind(next.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| map(STOCK, e))?;
    }
    Ok(())
}

/// Releases what a customer's orders reserve, before the customer goes.
pub(crate) async fn release_customer(
    tx: &mut PgConnection,
    business: BusinessId,
    customer: CustomerId,
) -> Result<(), StorageError> {
    let orders: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT DISTINCT h.order_id FROM order_stock h JOIN orders o ON o.business_id = h.business_id AND o.id = h.order_id
         WHERE h.business_id = $1 AND o.customer_id = $2 AND h.state = 'reserved' ORDER BY 1",
    )
    .bind(business.as_uuid())
    .bind(customer.as_uuid())
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| map(ORDER, e))?;
    for (o,) in orders {
        settle(tx, business, OrderId::from_uuid(o), StockChange::Release).await?;
    }
    Ok(())
}

fn event_row(row: &PgRow) -> Result<OrderEvent, StorageError> {
    Ok(OrderEvent {
        order_id: OrderId::from_uuid(get(row, "order_id")?),
        at: get(row, "at")?,
        actor: get(row, "actor")?,
        from: get_opt_enum(row, "from_status")?,
        to: get_enum(row, "to_status")?,
        reason: get(row, "reason")?,
    })
}

async fn read_order(
    tx: &mut PgConnection,
    business: BusinessId,
    id: OrderId,
    lock: bool,
) -> Result<Order, StorageError> {
    let sql = if lock {
        "SELECT * FROM orders WHERE business_id = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT * FROM orders WHERE business_id = $1 AND id = $2"
    };
    let row = sqlx::query(sql)
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(ORDER, e))?;
    row.as_ref().map(order_row).transpose()?.ok_or(StorageError::not_found("order"))
}

/// Places the order: the outcome, and whether to commit (a refusal found
/// after writing began must roll back).
async fn place(
    tx: &mut PgConnection,
    business: BusinessId,
    c: &Checkout,
) -> Result<(CheckoutOutcome, bool), StorageError> {
    let row = sqlx::query("SELECT * FROM carts WHERE business_id = $1 AND id = $2 FOR UPDATE")
        .bind(business.as_uuid())
        .bind(c.cart_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(ORDER, e))?;
    let cart = row.as_ref().map(cart_row).transpose()?.ok_or(StorageError::not_found("cart"))?;
    if let Some(id) = cart.order_id {
        return Ok((CheckoutOutcome::Existing(read_order(tx, business, id, false).await?), false));
    }
    if cart.status != CartStatus::Open
        || cart.customer_id != c.order.customer_id
        || c.order.business_id != business
    {
        return Err(StorageError::conflict("cart", CART_CLOSED));
    }
    let mut order = c.order.clone();
    order.cart_id = Some(c.cart_id);
    let ids: Vec<uuid::Uuid> =
        order.items.iter().filter_map(|l| l.product_id.map(|p| p.as_uuid())).collect();
    let active: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT id FROM products WHERE business_id = $1 AND id = ANY($2) AND active",
    )
    .bind(business.as_uuid())
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| map(STOCK, e))?;
    for line in &order.items {
        if !line.product_id.is_some_and(|p| active.iter().any(|(a,)| *a == p.as_uuid())) {
            return Ok((CheckoutOutcome::Unavailable { sku: line.sku.clone() }, false));
        }
    }
    let mut redeemed = None;
    if let Some(code) = &c.discount_code {
        let row =
            sqlx::query("SELECT * FROM discounts WHERE business_id = $1 AND code = $2 FOR UPDATE")
                .bind(business.as_uuid())
                .bind(code)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| map(ORDER, e))?;
        let Some(d) = row.as_ref().map(discount_row).transpose()? else {
            return Ok((CheckoutOutcome::UnknownCode, false));
        };
        let (by_customer,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM discount_redemptions WHERE business_id = $1 AND discount_id = $2 AND customer_id = $3",
        )
        .bind(business.as_uuid())
        .bind(d.id.as_uuid())
        .bind(order.customer_id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(ORDER, e))?;
        let usage = DiscountUsage {
            total: d.uses,
            by_customer: u32::try_from(by_customer).unwrap_or(u32::MAX),
        };
        if let Err(e) = apply_discount(&mut order, &d, usage) {
            return Ok((CheckoutOutcome::Discount(e), false));
        }
        redeemed = Some(d.id);
    }
    insert_order_row(tx, &order).await?;
    if let Some((sku, available)) = reserve(tx, &order).await? {
        return Ok((CheckoutOutcome::OutOfStock { sku, available }, false));
    }
    if let Some(d) = redeemed {
        sqlx::query("UPDATE discounts SET uses = uses + 1 WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(d.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(|e| map(ORDER, e))?;
        sqlx::query(
            "INSERT INTO discount_redemptions (business_id, discount_id, customer_id, order_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(business.as_uuid())
        .bind(d.as_uuid())
        .bind(order.customer_id.as_uuid())
        .bind(order.id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(|e| map(ORDER, e))?;
    }
    insert_event(tx, business, &created_event(&order, &c.actor)).await?;
    sqlx::query("UPDATE carts SET status = 'checked_out', order_id = $3, updated_at = $4 WHERE business_id = $1 AND id = $2")
        .bind(business.as_uuid())
        .bind(c.cart_id.as_uuid())
        .bind(order.id.as_uuid())
        .bind(order.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(ORDER, e))?;
    Ok((CheckoutOutcome::Placed(order), true))
}

#[async_trait]
impl CheckoutStore for PostgresStorage {
    async fn checkout(
        &self,
        business: BusinessId,
        checkout: &Checkout,
    ) -> Result<CheckoutOutcome, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(ORDER, e))?;
        let (outcome, commit) = place(&mut tx, business, checkout).await?;
        if commit {
            if let CheckoutOutcome::Placed(o) = &outcome {
                refresh_purchases(&mut tx, business, o.customer_id).await?;
            }
            tx.commit().await.map_err(|e| map(ORDER, e))?;
        }
        // Dropping an uncommitted transaction rolls it back.
        Ok(outcome)
    }

    async fn move_order(
        &self,
        business: BusinessId,
        m: &OrderMove,
    ) -> Result<MoveOutcome, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(ORDER, e))?;
        let order = read_order(&mut tx, business, m.order_id, true).await?;
        if order.status != m.from {
            return Err(StorageError::conflict("order", ORDER_CHANGED));
        }
        match m.stock {
            StockChange::Reserve => {
                if let Some((sku, available)) = reserve(&mut tx, &order).await? {
                    return Ok(MoveOutcome::OutOfStock { sku, available });
                }
            }
            StockChange::Keep => {}
            change => settle(&mut tx, business, order.id, change).await?,
        }
        let pay_by = if m.to == OrderStatus::AwaitingPayment { m.pay_by } else { order.pay_by };
        sqlx::query("UPDATE orders SET status = $3, updated_at = $4, pay_by = $5 WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(order.id.as_uuid())
            .bind(enum_to_text(&m.to)?)
            .bind(m.at)
            .bind(pay_by)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(ORDER, e))?;
        insert_event(&mut tx, business, &move_event(m)).await?;
        refresh_purchases(&mut tx, business, order.customer_id).await?;
        tx.commit().await.map_err(|e| map(ORDER, e))?;
        Ok(MoveOutcome::Moved(Order { status: m.to, updated_at: m.at, pay_by, ..order }))
    }

    async fn order_events(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderEvent>, StorageError> {
        let mut conn = self.pool.acquire().await.map_err(|e| map(ORDER, e))?;
        read_order(&mut conn, business, order, false).await?;
        let rows = sqlx::query(
            "SELECT * FROM order_events WHERE business_id = $1 AND order_id = $2 ORDER BY seq",
        )
        .bind(business.as_uuid())
        .bind(order.as_uuid())
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| map(ORDER, e))?;
        rows.iter().map(event_row).collect()
    }

    async fn lapsed_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError> {
        let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
            "SELECT business_id, id FROM orders WHERE status = 'awaiting_payment' AND pay_by <= $1 ORDER BY pay_by LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(ORDER, e))?;
        Ok(rows
            .into_iter()
            .map(|(b, o)| (BusinessId::from_uuid(b), OrderId::from_uuid(o)))
            .collect())
    }
}
