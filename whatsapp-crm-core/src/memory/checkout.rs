//! Checkout and order moves in memory: one write lock holds each whole.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InMemoryStorage;
use super::catalog::Commerce;
use crate::commerce::{DiscountUsage, StockChange};
use crate::domain::{BusinessId, CartStatus, Order, OrderEvent, OrderId, OrderStatus, Stock};
use crate::ports::{
    CART_CLOSED, Checkout, CheckoutOutcome, CheckoutStore, HoldState, MoveOutcome, ORDER_CHANGED,
    OrderMove, StorageError, apply_discount, created_event, move_event,
};

/// Reserves every tracked line of `order`, or none: the first short line.
fn reserve(c: &mut Commerce, order: &Order) -> Result<(), (String, u32)> {
    let mut wanted = Vec::new();
    for line in &order.items {
        let Some(id) = line.product_id else { continue };
        let p = c.products.get(&id).ok_or((line.sku.clone(), 0))?;
        if let Some(s) = p.stock {
            if s.available < line.quantity {
                return Err((line.sku.clone(), s.available));
            }
            wanted.push((id, line.quantity));
        }
    }
    for (id, q) in wanted {
        if let Some(p) = c.products.get_mut(&id)
            && let Some(s) = p.stock
        {
            p.stock = Some(Stock::new(s.on_hand, s.reserved + q));
            let hold = c.holds.entry((order.id, id)).or_insert((0, HoldState::Reserved));
            *hold = (hold.0 + q, HoldState::Reserved);
        }
    }
    Ok(())
}

/// Releases, allocates or restocks what `order` holds.
fn settle(c: &mut Commerce, order: OrderId, change: StockChange) {
    let keys: Vec<_> = c
        .holds
        .range((order, crate::domain::ProductId::from_uuid(uuid::Uuid::nil()))..)
        .take_while(|((o, _), _)| *o == order)
        .map(|(k, _)| *k)
        .collect();
    for key in keys {
        let Some(&(q, state)) = c.holds.get(&key) else { continue };
        let Some((next, on_hand, reserved)) = state.after(change) else { continue };
        if let Some(p) = c.products.get_mut(&key.1)
            && let Some(s) = p.stock
        {
            let add = |v: u32, per: i64| (i64::from(v) + per * i64::from(q)).max(0) as u32;
            p.stock = Some(Stock::new(add(s.on_hand, on_hand), add(s.reserved, reserved)));
        }
        c.holds.insert(key, (q, next));
    }
}

impl super::Tenant {
    /// Drops an order's holds, releasing what it reserved.
    pub(super) fn release_order(&mut self, order: OrderId) {
        settle(&mut self.commerce, order, StockChange::Release);
        self.commerce.holds.retain(|(o, _), _| *o != order);
        self.commerce.events.remove(&order);
        self.commerce.notices.remove(&order);
        let gone: Vec<_> = self
            .commerce
            .shipments
            .values()
            .filter(|s| s.order_id == order)
            .map(|s| s.id)
            .collect();
        for id in gone {
            self.commerce.shipments.remove(&id);
            self.commerce.shipment_events.remove(&id);
        }
        let paid: Vec<_> =
            self.payments.attempts.values().filter(|p| p.order_id == order).map(|p| p.id).collect();
        for id in paid {
            self.payments.attempts.remove(&id);
            self.payments.events.remove(&id);
        }
        self.payments.links.remove(&order);
    }
}

#[async_trait]
impl CheckoutStore for InMemoryStorage {
    async fn checkout(
        &self,
        business: BusinessId,
        checkout: &Checkout,
    ) -> Result<CheckoutOutcome, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, "cart")?;
        let cart =
            t.commerce.carts.get(&checkout.cart_id).ok_or(StorageError::not_found("cart"))?;
        if let Some(order) = cart.order_id.and_then(|id| t.orders.get(&id)) {
            return Ok(CheckoutOutcome::Existing(order.clone()));
        }
        if cart.status != CartStatus::Open || cart.customer_id != checkout.order.customer_id {
            return Err(StorageError::conflict("cart", CART_CLOSED));
        }
        let mut order = checkout.order.clone();
        order.cart_id = Some(checkout.cart_id);
        for line in &order.items {
            let active = line
                .product_id
                .and_then(|id| t.commerce.products.get(&id))
                .is_some_and(|p| p.active);
            if !active {
                return Ok(CheckoutOutcome::Unavailable { sku: line.sku.clone() });
            }
        }
        let mut redeemed = None;
        if let Some(code) = &checkout.discount_code {
            let Some(d) = t.commerce.codes.get(code).and_then(|id| t.commerce.discounts.get(id))
            else {
                return Ok(CheckoutOutcome::UnknownCode);
            };
            let by_customer = t
                .commerce
                .redemptions
                .iter()
                .filter(|(id, c, _)| *id == d.id && *c == order.customer_id)
                .count() as u32;
            let usage = DiscountUsage { total: d.uses, by_customer };
            if let Err(e) = apply_discount(&mut order, d, usage) {
                return Ok(CheckoutOutcome::Discount(e));
            }
            redeemed = Some(d.id);
        }
        if let Err((sku, available)) = reserve(&mut t.commerce, &order) {
            return Ok(CheckoutOutcome::OutOfStock { sku, available });
        }
        if let Some(id) = redeemed {
            if let Some(d) = t.commerce.discounts.get_mut(&id) {
                d.uses += 1;
            }
            t.commerce.redemptions.push((id, order.customer_id, order.id));
        }
        t.commerce.events.entry(order.id).or_default().push(created_event(&order, &checkout.actor));
        if let Some(cart) = t.commerce.carts.get_mut(&checkout.cart_id) {
            cart.status = CartStatus::CheckedOut;
            cart.order_id = Some(order.id);
            cart.updated_at = order.created_at;
        }
        t.orders.insert(order.id, order.clone());
        t.refresh_purchases(order.customer_id);
        Ok(CheckoutOutcome::Placed(order))
    }

    async fn move_order(
        &self,
        business: BusinessId,
        m: &OrderMove,
    ) -> Result<MoveOutcome, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, "order")?;
        let order = t.orders.get(&m.order_id).ok_or(StorageError::not_found("order"))?.clone();
        if order.status != m.from {
            return Err(StorageError::conflict("order", ORDER_CHANGED));
        }
        match m.stock {
            StockChange::Reserve => {
                if let Err((sku, available)) = reserve(&mut t.commerce, &order) {
                    return Ok(MoveOutcome::OutOfStock { sku, available });
                }
            }
            StockChange::Keep => {}
            change => settle(&mut t.commerce, order.id, change),
        }
        let mut next = order;
        next.status = m.to;
        next.updated_at = m.at;
        if m.to == OrderStatus::AwaitingPayment {
            next.pay_by = m.pay_by;
        }
        t.orders.insert(next.id, next.clone());
        t.commerce.events.entry(next.id).or_default().push(move_event(m));
        t.refresh_purchases(next.customer_id);
        Ok(MoveOutcome::Moved(next))
    }

    async fn order_events(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderEvent>, StorageError> {
        let inner = self.read();
        let t = inner.tenant(business).ok_or(StorageError::not_found("order"))?;
        if !t.orders.contains_key(&order) {
            return Err(StorageError::not_found("order"));
        }
        Ok(t.commerce.events.get(&order).cloned().unwrap_or_default())
    }

    async fn lapsed_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError> {
        let inner = self.read();
        Ok(inner.due_across(limit, |t| {
            t.orders.values().filter_map(move |o| {
                let pay_by = o.pay_by?;
                (o.status == OrderStatus::AwaitingPayment && pay_by <= now)
                    .then_some((pay_by, o.id))
            })
        }))
    }
}
