//! Orders and their lines.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    BusinessId, CartId, Currency, CustomerId, DeliveryMethod, Money, MoneyError, OrderId, ProductId,
};

/// Most line items one order may hold.
pub const ORDER_LINES_MAX: usize = 100;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being put together in chat.
    Draft,
    /// Confirmed, waiting for payment.
    AwaitingPayment,
    /// Paid in full.
    Paid,
    /// Handed to the customer.
    Fulfilled,
    /// Called off before fulfilment.
    Cancelled,
    /// Money returned.
    Refunded,
    /// Not paid before its payment window closed; its stock went back.
    Expired,
}

impl OrderStatus {
    /// Every status, in the order of an order's life.
    pub const ALL: [OrderStatus; 7] = [
        Self::Draft,
        Self::AwaitingPayment,
        Self::Paid,
        Self::Fulfilled,
        Self::Cancelled,
        Self::Refunded,
        Self::Expired,
    ];

    /// Paid and fulfilled orders count towards a customer's spend and orders.
    pub fn counts_as_purchase(&self) -> bool {
        matches!(self, Self::Paid | Self::Fulfilled)
    }
}

/// One line of an order. Name and price are copied so the order stays true if the
/// catalogue changes later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineItem {
    /// Catalogue product, if the line came from one.
    pub product_id: Option<ProductId>,
    /// SKU at the time of ordering.
    pub sku: String,
    /// Name at the time of ordering.
    pub name: String,
    /// How many, at least 1.
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: Money,
}

impl LineItem {
    /// Quantity × unit price.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.unit_price.checked_mul(self.quantity)
    }
}

/// Why an order could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// No lines.
    #[error("an order needs at least one line item")]
    Empty,
    /// More than [`ORDER_LINES_MAX`] lines.
    #[error("an order may have at most {ORDER_LINES_MAX} line items")]
    TooManyLines,
    /// A line with quantity 0.
    #[error("line {line}: quantity must be at least 1")]
    ZeroQuantity {
        /// 0-based line index.
        line: usize,
    },
    /// A line priced in another currency than the order.
    #[error("line {line}: price is in {found}, the order is in {expected}")]
    CurrencyMismatch {
        /// 0-based line index.
        line: usize,
        /// The order's currency.
        expected: Currency,
        /// The line's currency.
        found: Currency,
    },
    /// Total does not fit.
    #[error("order total overflows")]
    Overflow,
}

/// An order placed by a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    /// Order id.
    pub id: OrderId,
    /// Owning business.
    pub business_id: BusinessId,
    /// Who ordered.
    pub customer_id: CustomerId,
    /// Lines, in the order they were added.
    pub items: Vec<LineItem>,
    /// Sum of the lines, less the discount: what the customer pays.
    pub total: Money,
    /// Current status.
    pub status: OrderStatus,
    /// The cart it was checked out from; one order per cart.
    #[serde(default)]
    pub cart_id: Option<CartId>,
    /// The discount code taken off the lines, if any.
    #[serde(default)]
    pub discount: Option<AppliedDiscount>,
    /// When an order awaiting payment expires and its stock goes back.
    #[serde(default)]
    pub pay_by: Option<DateTime<Utc>>,
    /// Pickup or delivery; checkout needs one.
    #[serde(default)]
    pub delivery: Option<DeliveryMethod>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// A draft order; checks the lines and computes the total.
    pub fn new(
        business_id: BusinessId,
        customer_id: CustomerId,
        currency: Currency,
        items: Vec<LineItem>,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let total = order_total(currency, &items)?;
        Ok(Order {
            id: OrderId::new(),
            business_id,
            customer_id,
            items,
            total,
            status: OrderStatus::Draft,
            cart_id: None,
            discount: None,
            pay_by: None,
            delivery: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// One change on an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderEvent {
    /// The order.
    pub order_id: OrderId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who made it: `customer`, `staff`, or `system` (expiry, payments, delivery).
    pub actor: String,
    /// The status before; `None` when the order was created.
    pub from: Option<OrderStatus>,
    /// The status after.
    pub to: OrderStatus,
    /// Why, in words a business owner reads.
    pub reason: String,
}

/// A discount code as applied to one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedDiscount {
    /// The code, normalised.
    pub code: String,
    /// What it took off.
    pub amount: Money,
}

impl Order {
    /// The short reference customers and staff quote: the id's last eight
    /// characters, which are random (the first ones are its time).
    pub fn reference(&self) -> String {
        let simple = self.id.as_uuid().simple().to_string();
        simple[simple.len() - 8..].to_uppercase()
    }

    /// The lines' sum before any discount.
    pub fn subtotal(&self) -> Money {
        let off = self.discount.as_ref().map_or(0, |d| d.amount.minor);
        Money::new(self.total.minor.saturating_add(off), self.total.currency)
    }
}

/// Checks lines and sums them in `currency`.
pub fn order_total(currency: Currency, items: &[LineItem]) -> Result<Money, OrderError> {
    if items.is_empty() {
        return Err(OrderError::Empty);
    }
    if items.len() > ORDER_LINES_MAX {
        return Err(OrderError::TooManyLines);
    }
    let mut total = Money::zero(currency);
    for (line, item) in items.iter().enumerate() {
        if item.quantity == 0 {
            return Err(OrderError::ZeroQuantity { line });
        }
        if item.unit_price.currency != currency {
            return Err(OrderError::CurrencyMismatch {
                line,
                expected: currency,
                found: item.unit_price.currency,
            });
        }
        let line_total = item.total().map_err(|_| OrderError::Overflow)?;
        total = total.checked_add(line_total).map_err(|_| OrderError::Overflow)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(qty: u32, minor: i64, currency: Currency) -> LineItem {
        LineItem {
            product_id: None,
            sku: "SKU".into(),
            name: "Sukuma".into(),
            quantity: qty,
            unit_price: Money::new(minor, currency),
        }
    }

    #[test]
    fn totals_lines() {
        let items = vec![line(2, 5_000, Currency::KES), line(1, 250, Currency::KES)];
        let o = Order::new(BusinessId::new(), CustomerId::new(), Currency::KES, items, Utc::now())
            .unwrap();
        assert_eq!(o.total, Money::new(10_250, Currency::KES));
    }

    #[test]
    fn refuses_bad_lines() {
        let c = Currency::KES;
        assert_eq!(order_total(c, &[]), Err(OrderError::Empty));
        assert_eq!(order_total(c, &[line(0, 1, c)]), Err(OrderError::ZeroQuantity { line: 0 }));
        assert!(matches!(
            order_total(c, &[line(1, 1, c), line(1, 1, Currency::USD)]),
            Err(OrderError::CurrencyMismatch { line: 1, .. })
        ));
        assert_eq!(order_total(c, &[line(u32::MAX, i64::MAX, c)]), Err(OrderError::Overflow));
    }
}
