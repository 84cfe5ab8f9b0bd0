//! Checkout and order moves: each one write transaction with its stock,
//! redemption and event. SQLite's single writer makes the races simple:
//! every check below reads what no one else can change before commit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};
use whatsapp_crm_core::commerce::{DiscountUsage, StockChange};
use whatsapp_crm_core::ports::{
    CART_CLOSED, Checkout, CheckoutOutcome, CheckoutStore, HoldState, MoveOutcome, ORDER_CHANGED,
    OrderMove, apply_discount, created_event, enum_to_text, move_event,
};
use whatsapp_crm_core::{
    BusinessId, CustomerId, Order, OrderEvent, OrderId, OrderStatus, StorageError,
};

use crate::catalog::{cart_row, discount_row};
use crate::codec::{get, get_enum, get_opt_enum, get_time, get_uuid, id_bytes, micros, opt_micros};
use crate::error::{Ctx, map};
use crate::listing::{blob, query_all, query_one};
use crate::orders::{insert_order_row, order_row, refresh_purchases};
use crate::storage::SqliteStorage;

const ORDER: Ctx = Ctx::new("order", "customer");
const STOCK: Ctx = Ctx::new("product", "order");

/// Appends an event to the order's timeline.
pub(crate) fn insert_event(
    tx: &Connection,
    business: BusinessId,
    e: &OrderEvent,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO order_events (business_id, order_id, seq, at, actor, from_status, to_status, reason)
         VALUES (?1, ?2, (SELECT coalesce(max(seq), 0) + 1 FROM order_events WHERE business_id = ?1 AND order_id = ?2),
           ?3, ?4, ?5, ?6, ?7)",
        params![
            id_bytes(business.as_uuid()),
            id_bytes(e.order_id.as_uuid()),
            micros(e.at),
            e.actor,
            e.from.map(|f| enum_to_text(&f)).transpose()?,
            enum_to_text(&e.to)?,
            e.reason
        ],
    )
    .map_err(|e| map(ORDER, e))?;
    Ok(())
}

/// Reserves every tracked line of `order`, or reports the first short one.
/// The caller rolls back on a short line.
fn reserve(tx: &Connection, o: &Order) -> Result<Option<(String, u32)>, StorageError> {
    let b = id_bytes(o.business_id.as_uuid());
    for line in &o.items {
        let Some(pid) = line.product_id else { continue };
        let p = id_bytes(pid.as_uuid());
        let row: Option<(bool, u32, u32)> = tx
            .query_row(
                "SELECT track_stock, on_hand, reserved FROM products WHERE business_id = ?1 AND id = ?2",
                params![b, p],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| map(STOCK, e))?;
        let Some((tracked, on_hand, reserved)) = row else {
            return Ok(Some((line.sku.clone(), 0)));
        };
        if !tracked {
            continue;
        }
        let available = on_hand.saturating_sub(reserved);
        if available < line.quantity {
            return Ok(Some((line.sku.clone(), available)));
        }
        tx.execute(
            "UPDATE products SET reserved = reserved + ?3 WHERE business_id = ?1 AND id = ?2",
            params![b, p, line.quantity],
        )
        .map_err(|e| map(STOCK, e))?;
        tx.execute(
            "INSERT INTO order_stock (business_id, order_id, product_id, quantity, state)
             VALUES (?1, ?2, ?3, ?4, 'reserved')
             ON CONFLICT DO UPDATE SET quantity = quantity + excluded.quantity, state = 'reserved'",
            params![b, id_bytes(o.id.as_uuid()), p, line.quantity],
        )
        .map_err(|e| map(STOCK, e))?;
    }
    Ok(None)
}

/// Releases, allocates or restocks what an order holds.
pub(crate) fn settle(
    tx: &Connection,
    business: BusinessId,
    order: OrderId,
    change: StockChange,
) -> Result<(), StorageError> {
    for state in [HoldState::Reserved, HoldState::Allocated] {
        let Some((next, on_hand, reserved)) = state.after(change) else { continue };
        let args = params![id_bytes(business.as_uuid()), id_bytes(order.as_uuid()), state.as_str()];
        tx.execute(
            "UPDATE products SET on_hand = max(on_hand + ?4 * h.quantity, 0),
               reserved = max(reserved + ?5 * h.quantity, 0)
             FROM order_stock h
             WHERE h.business_id = ?1 AND h.order_id = ?2 AND h.state = ?3
               AND products.business_id = h.business_id AND products.id = h.product_id",
            params![args[0], args[1], args[2], on_hand, reserved],
        )
        .map_err(|e| map(STOCK, e))?;
        tx.execute(
            "UPDATE order_stock SET state = ?4 WHERE business_id = ?1 AND order_id = ?2 AND state = ?3",
            params![args[0], args[1], args[2], next.as_str()],
        )
        .map_err(|e| map(STOCK, e))?;
    }
    Ok(())
}

/// Releases what a customer's orders reserve, before the customer goes.
pub(crate) fn release_customer(
    tx: &Connection,
    business: BusinessId,
    customer: CustomerId,
) -> Result<(), StorageError> {
    let orders: Vec<OrderId> = query_all(
        tx,
        ORDER,
        "SELECT DISTINCT h.order_id AS id FROM order_stock h JOIN orders o
           ON o.business_id = h.business_id AND o.id = h.order_id
         WHERE h.business_id = ?1 AND o.customer_id = ?2 AND h.state = 'reserved'",
        vec![blob(business.as_uuid()), blob(customer.as_uuid())],
        |r| Ok(OrderId::from_uuid(get_uuid(r, "id")?)),
    )?;
    for o in orders {
        settle(tx, business, o, StockChange::Release)?;
    }
    Ok(())
}

fn event_row(row: &Row<'_>) -> Result<OrderEvent, StorageError> {
    Ok(OrderEvent {
        order_id: OrderId::from_uuid(get_uuid(row, "order_id")?),
        at: get_time(row, "at")?,
        actor: get(row, "actor")?,
        from: get_opt_enum(row, "from_status")?,
        to: get_enum(row, "to_status")?,
        reason: get(row, "reason")?,
    })
}

fn place(
    tx: &Connection,
    business: BusinessId,
    c: &Checkout,
) -> Result<CheckoutOutcome, StorageError> {
    let cart = query_one(
        tx,
        Ctx::new("cart", "customer"),
        "SELECT * FROM carts WHERE business_id = ?1 AND id = ?2",
        vec![blob(business.as_uuid()), blob(c.cart_id.as_uuid())],
        cart_row,
    )?;
    if let Some(id) = cart.order_id {
        let sql = "SELECT * FROM orders WHERE business_id = ?1 AND id = ?2";
        let order = query_one(
            tx,
            ORDER,
            sql,
            vec![blob(business.as_uuid()), blob(id.as_uuid())],
            order_row,
        )?;
        return Ok(CheckoutOutcome::Existing(order));
    }
    if cart.status != whatsapp_crm_core::CartStatus::Open
        || cart.customer_id != c.order.customer_id
        || c.order.business_id != business
    {
        return Err(StorageError::conflict("cart", CART_CLOSED));
    }
    let mut order = c.order.clone();
    order.cart_id = Some(c.cart_id);
    for line in &order.items {
        let active: Option<bool> = match line.product_id {
            None => None,
            Some(p) => tx
                .query_row(
                    "SELECT active FROM products WHERE business_id = ?1 AND id = ?2",
                    params![id_bytes(business.as_uuid()), id_bytes(p.as_uuid())],
                    |r| r.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
                .map_err(|e| map(STOCK, e))?,
        };
        if active != Some(true) {
            return Ok(CheckoutOutcome::Unavailable { sku: line.sku.clone() });
        }
    }
    let mut redeemed = None;
    if let Some(code) = &c.discount_code {
        let found = query_all(
            tx,
            Ctx::new("discount", "business"),
            "SELECT * FROM discounts WHERE business_id = ?1 AND code = ?2",
            vec![blob(business.as_uuid()), rusqlite::types::Value::Text(code.clone())],
            discount_row,
        )?;
        let Some(d) = found.into_iter().next() else { return Ok(CheckoutOutcome::UnknownCode) };
        let by_customer: u32 = tx
            .query_row(
                "SELECT count(*) FROM discount_redemptions WHERE business_id = ?1 AND discount_id = ?2 AND customer_id = ?3",
                params![id_bytes(business.as_uuid()), id_bytes(d.id.as_uuid()), id_bytes(order.customer_id.as_uuid())],
                |r| r.get(0),
            )
            .map_err(|e| map(ORDER, e))?;
        if let Err(e) = apply_discount(&mut order, &d, DiscountUsage { total: d.uses, by_customer })
        {
            return Ok(CheckoutOutcome::Discount(e));
        }
        redeemed = Some(d.id);
    }
    insert_order_row(tx, &order)?;
    if let Some((sku, available)) = reserve(tx, &order)? {
        // The caller rolls the whole transaction back.
        return Ok(CheckoutOutcome::OutOfStock { sku, available });
    }
    if let Some(d) = redeemed {
        tx.execute(
            "UPDATE discounts SET uses = uses + 1 WHERE business_id = ?1 AND id = ?2",
            params![id_bytes(business.as_uuid()), id_bytes(d.as_uuid())],
        )
        .map_err(|e| map(ORDER, e))?;
        tx.execute(
            "INSERT INTO discount_redemptions (business_id, discount_id, customer_id, order_id) VALUES (?1, ?2, ?3, ?4)",
            params![
                id_bytes(business.as_uuid()),
                id_bytes(d.as_uuid()),
                id_bytes(order.customer_id.as_uuid()),
                id_bytes(order.id.as_uuid())
            ],
        )
        .map_err(|e| map(ORDER, e))?;
    }
    insert_event(tx, business, &created_event(&order, &c.actor))?;
    tx.execute(
        "UPDATE carts SET status = 'checked_out', order_id = ?3, updated_at = ?4 WHERE business_id = ?1 AND id = ?2",
        params![
            id_bytes(business.as_uuid()),
            id_bytes(c.cart_id.as_uuid()),
            id_bytes(order.id.as_uuid()),
            micros(order.created_at)
        ],
    )
    .map_err(|e| map(ORDER, e))?;
    refresh_purchases(tx, business, order.customer_id)?;
    Ok(CheckoutOutcome::Placed(order))
}

/// A refusal found partway: the transaction is rolled back by returning it
/// as an error, then turned back into its outcome.
struct Refused<T>(T);

#[async_trait]
impl CheckoutStore for SqliteStorage {
    async fn checkout(
        &self,
        business: BusinessId,
        checkout: &Checkout,
    ) -> Result<CheckoutOutcome, StorageError> {
        let c = checkout.clone();
        let out = self
            .write_or_rollback(move |tx| {
                let outcome = place(tx, business, &c)?;
                Ok(match outcome {
                    CheckoutOutcome::OutOfStock { .. } => Err(Refused(outcome)),
                    o => Ok(o),
                })
            })
            .await?;
        Ok(out.unwrap_or_else(|Refused(o)| o))
    }

    async fn move_order(
        &self,
        business: BusinessId,
        m: &OrderMove,
    ) -> Result<MoveOutcome, StorageError> {
        let m = m.clone();
        let out = self
            .write_or_rollback(move |tx| {
                let sql = "SELECT * FROM orders WHERE business_id = ?1 AND id = ?2";
                let args = vec![blob(business.as_uuid()), blob(m.order_id.as_uuid())];
                let order = query_one(tx, ORDER, sql, args, order_row)?;
                if order.status != m.from {
                    return Err(StorageError::conflict("order", ORDER_CHANGED));
                }
                match m.stock {
                    StockChange::Reserve => {
                        if let Some((sku, available)) = reserve(tx, &order)? {
                            return Ok(Err(Refused(MoveOutcome::OutOfStock { sku, available })));
                        }
                    }
                    StockChange::Keep => {}
                    change => settle(tx, business, order.id, change)?,
                }
                let pay_by = if m.to == OrderStatus::AwaitingPayment { m.pay_by } else { order.pay_by };
                tx.execute(
                    "UPDATE orders SET status = ?3, updated_at = ?4, pay_by = ?5 WHERE business_id = ?1 AND id = ?2",
                    params![
                        id_bytes(business.as_uuid()),
                        id_bytes(order.id.as_uuid()),
                        enum_to_text(&m.to)?,
                        micros(m.at),
                        opt_micros(pay_by)
                    ],
                )
                .map_err(|e| map(ORDER, e))?;
                insert_event(tx, business, &move_event(&m))?;
                refresh_purchases(tx, business, order.customer_id)?;
                Ok(Ok(MoveOutcome::Moved(Order { status: m.to, updated_at: m.at, pay_by, ..order })))
            })
            .await?;
        Ok(out.unwrap_or_else(|Refused(o)| o))
    }

    async fn order_events(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderEvent>, StorageError> {
        self.read(move |c| {
            let args = vec![blob(business.as_uuid()), blob(order.as_uuid())];
            query_one(
                c,
                ORDER,
                "SELECT id FROM orders WHERE business_id = ?1 AND id = ?2",
                args.clone(),
                |_| Ok(()),
            )?;
            query_all(
                c,
                ORDER,
                "SELECT * FROM order_events WHERE business_id = ?1 AND order_id = ?2 ORDER BY seq",
                args,
                event_row,
            )
        })
        .await
    }

    async fn lapsed_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                ORDER,
                "SELECT business_id, id FROM orders WHERE status = 'awaiting_payment' AND pay_by <= ?1
                 ORDER BY pay_by LIMIT ?2",
                vec![rusqlite::types::Value::Integer(micros(now)), rusqlite::types::Value::Integer(i64::from(limit))],
                |r| Ok((BusinessId::from_uuid(get_uuid(r, "business_id")?), OrderId::from_uuid(get_uuid(r, "id")?))),
            )
        })
        .await
    }
}
