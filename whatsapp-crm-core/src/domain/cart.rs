//! A customer's cart, built in chat.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{BusinessId, CartId, Currency, CustomerId, Money, OrderId, ProductId};

/// Minutes of inactivity after which an open, non-empty cart counts as
/// abandoned (WATI's default; commerce reference, spec point 16).
pub const ABANDON_AFTER_MINUTES: i64 = 15;

/// Days an open cart may sit untouched before it expires (commerce
/// reference 2.6: `cart_ttl`, 7 days).
pub const CART_EXPIRE_AFTER_DAYS: i64 = 7;

/// Where a cart is in its life. "Abandoned" is not a state: see
/// [`Cart::is_abandoned`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CartStatus {
    /// Lines can be added and removed.
    Open,
    /// It became an order (`order_id`); checking out again returns that order.
    CheckedOut,
    /// Left idle too long and cleared.
    Expired,
}

/// One product in a cart, priced from the catalog when it was last touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartLine {
    /// Catalog product.
    pub product_id: ProductId,
    /// Its SKU.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Units, at least 1.
    pub quantity: u32,
    /// Catalog price of one unit.
    pub unit_price: Money,
}

/// A customer's cart. One open cart per customer and business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cart {
    /// Cart id.
    pub id: CartId,
    /// Owning business.
    pub business_id: BusinessId,
    /// Whose cart.
    pub customer_id: CustomerId,
    /// Open, checked out or expired.
    pub status: CartStatus,
    /// Lines in the order they were added.
    pub lines: Vec<CartLine>,
    /// The business currency every line is priced in.
    pub currency: Currency,
    /// A discount code to apply at checkout.
    pub discount_code: Option<String>,
    /// The order it became.
    pub order_id: Option<OrderId>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When the customer last changed it.
    pub updated_at: DateTime<Utc>,
}

impl Cart {
    /// An empty open cart.
    pub fn new(
        business_id: BusinessId,
        customer_id: CustomerId,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: CartId::new(),
            business_id,
            customer_id,
            status: CartStatus::Open,
            lines: Vec::new(),
            currency,
            discount_code: None,
            order_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The lines' sum; saturates rather than overflow (lines are bounded).
    pub fn subtotal(&self) -> Money {
        let minor = self.lines.iter().fold(0i64, |sum, l| {
            sum.saturating_add(l.unit_price.minor.saturating_mul(i64::from(l.quantity)))
        });
        Money::new(minor, self.currency)
    }

    /// Open, not empty, and untouched for at least `after`.
    pub fn is_abandoned(&self, now: DateTime<Utc>, after: Duration) -> bool {
        self.status == CartStatus::Open && !self.lines.is_empty() && now - self.updated_at >= after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_is_derived_from_activity() {
        let t = Utc::now();
        let mut cart = Cart::new(BusinessId::new(), CustomerId::new(), Currency::KES, t);
        let later = t + Duration::minutes(ABANDON_AFTER_MINUTES);
        let after = Duration::minutes(ABANDON_AFTER_MINUTES);
        assert!(!cart.is_abandoned(later, after), "empty");
        cart.lines.push(CartLine {
            product_id: ProductId::new(),
            sku: "S".into(),
            name: "Sukari".into(),
            quantity: 2,
            unit_price: Money::new(15_000, Currency::KES),
        });
        assert!(!cart.is_abandoned(later - Duration::seconds(1), after));
        assert!(cart.is_abandoned(later, after));
        assert_eq!(cart.subtotal(), Money::new(30_000, Currency::KES));
        cart.status = CartStatus::CheckedOut;
        assert!(!cart.is_abandoned(later, after));
    }
}
