//! Checkout: a cart becomes an order awaiting payment, its stock reserved
//! for the business's payment window and its discount code redeemed, all in
//! one storage step; the customer is sent the confirmation.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;

use crate::commerce::{OrderFacts, TransitionError, transition};
use crate::domain::{Business, Cart, Customer, LineItem, Money, Order, OrderNotice, OrderStatus};
use crate::ports::{Checkout, CheckoutOutcome, Clock, Storage, to_storage_precision};
use crate::service::ServiceError;

use super::notices::{NoticeDetail, Notifier};

/// Checking carts out.
#[derive(Clone)]
pub(crate) struct Checkouts {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Checkouts {
    pub(crate) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Checks `cart` out: the order (the same one when the cart was checked
    /// out before), or the reply that says why not. Prices are the
    /// catalog's now; the confirmation goes out once.
    pub(crate) async fn checkout(
        &self,
        business: &Business,
        customer: &Customer,
        cart: &Cart,
        actor: &str,
    ) -> Result<Result<Order, String>, ServiceError> {
        let s = &self.storage;
        let now = to_storage_precision(self.clock.now());
        let skus: Vec<String> = cart.lines.iter().map(|l| l.sku.clone()).collect();
        let products: HashMap<String, _> = s
            .products_by_sku(business.id, &skus)
            .await?
            .into_iter()
            .map(|p| (p.sku.clone(), p))
            .collect();
        let mut items = Vec::with_capacity(cart.lines.len());
        for l in &cart.lines {
            let Some(p) = products.get(&l.sku).filter(|p| p.active) else {
                return Ok(Err(format!(
                    "{} is no longer for sale. Send \"remove {}\" and check out again.",
                    l.name, l.name
                )));
            };
            items.push(LineItem {
                product_id: Some(p.id),
                sku: p.sku.clone(),
                name: p.name.clone(),
                quantity: l.quantity,
                unit_price: p.price,
            });
        }
        let mut order = match Order::new(business.id, customer.id, cart.currency, items, now) {
            Ok(o) => o,
            Err(e) => return Ok(Err(format!("This cart cannot be ordered: {e}."))),
        };
        order.delivery = Some(business.commerce.default_delivery.clone());
        let facts = OrderFacts {
            customer: true,
            delivery: order.delivery.is_some(),
            available: order
                .items
                .iter()
                .map(|l| products.get(&l.sku).and_then(|p| p.available()))
                .collect(),
            settled: Money::zero(order.total.currency),
            refunded: Money::zero(order.total.currency),
            shipments: 0,
            delivered: 0,
            picked_up: false,
            pay_by: None,
        };
        if let Err(e) = transition(&order, OrderStatus::AwaitingPayment, &facts, now) {
            return Ok(Err(refusal(&e)));
        }
        order.status = OrderStatus::AwaitingPayment;
        order.pay_by = Some(now + Duration::minutes(i64::from(business.commerce.payment_minutes)));
        let checkout = Checkout {
            cart_id: cart.id,
            order,
            discount_code: cart.discount_code.clone(),
            actor: actor.to_owned(),
        };
        let order = match s.checkout(business.id, &checkout).await? {
            CheckoutOutcome::Placed(o) | CheckoutOutcome::Existing(o) => o,
            CheckoutOutcome::OutOfStock { sku, available } => {
                let name = products.get(&sku).map_or(sku.as_str(), |p| p.name.as_str());
                return Ok(Err(format!(
                    "Only {available} of {name} left. Change the amount and send \"lipa\" again."
                )));
            }
            CheckoutOutcome::Unavailable { sku } => {
                return Ok(Err(format!(
                    "{sku} is no longer for sale; remove it and check out again."
                )));
            }
            CheckoutOutcome::Discount(e) => return self.drop_code(cart, &e.to_string()).await,
            CheckoutOutcome::UnknownCode => return self.drop_code(cart, "no such code").await,
        };
        Notifier::new(Arc::clone(s), Arc::clone(&self.clock))
            .notify(business, &order, OrderNotice::Confirmed, NoticeDetail::default())
            .await?;
        Ok(Ok(order))
    }

    /// Takes a code that cannot be used off the cart, so the next checkout
    /// goes through without it, and says why.
    async fn drop_code(
        &self,
        cart: &Cart,
        why: &str,
    ) -> Result<Result<Order, String>, ServiceError> {
        let code = cart.discount_code.clone().unwrap_or_default();
        let mut next = cart.clone();
        next.discount_code = None;
        self.storage.save_cart(&next).await?;
        Ok(Err(format!(
            "Code {code} cannot be used ({why}), so we took it off. Send \"lipa\" to order without it."
        )))
    }
}

/// A checkout guard's refusal, as a reply.
fn refusal(e: &TransitionError) -> String {
    match e {
        TransitionError::OutOfStock { sku, wanted, available, .. } => format!(
            "Only {available} of {sku} left (your cart has {wanted}). Change the amount and send \"lipa\" again."
        ),
        other => format!("This cart cannot be ordered yet: {other}."),
    }
}
