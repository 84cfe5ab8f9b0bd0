//! Storage of the catalog, carts, discount codes, and the order moves that
//! touch stock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, StorageError};
use crate::commerce::StockChange;
use crate::commerce::discount::DiscountError;
use crate::commerce::search::Candidates;
use crate::domain::{
    BusinessId, Cart, CartId, CartStatus, CustomerId, Discount, DiscountId, Order, OrderEvent,
    OrderId, OrderStatus, Product, ProductId,
};

/// The constraint text used when an SKU is already in the catalog.
pub const SKU_TAKEN: &str = "sku already used in this business";
/// The constraint text used when on hand would go below what is reserved.
pub const STOCK_RESERVED: &str = "on hand cannot go below the units reserved";
/// The constraint text used when a discount code is taken.
pub const DISCOUNT_CODE_TAKEN: &str = "discount code already used in this business";
/// The constraint text used when an order moved since it was read.
pub const ORDER_CHANGED: &str = "order was changed by someone else; reload and retry";
/// The constraint text used when a cart is no longer open.
pub const CART_CLOSED: &str = "cart is no longer open";

/// Filters and paging for listing products.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductQuery {
    /// Only this category (exact).
    pub category: Option<String>,
    /// Only active (or only inactive) products.
    pub active: Option<bool>,
    /// Page size.
    pub limit: u32,
    /// Continue after this product.
    pub after: Option<ProductId>,
}

/// Filters and paging for listing carts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CartQuery {
    /// Only this customer's carts.
    pub customer: Option<CustomerId>,
    /// Only carts in this status.
    pub status: Option<CartStatus>,
    /// Page size.
    pub limit: u32,
    /// Continue after this cart.
    pub after: Option<CartId>,
}

/// The catalog. Every write keeps the product's search terms
/// ([`product_terms`](crate::commerce::search::product_terms)) beside it.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Stores products all at once: if one SKU is taken ([`SKU_TAKEN`]),
    /// none is stored.
    async fn insert_products(
        &self,
        business: BusinessId,
        products: &[Product],
    ) -> Result<(), StorageError>;
    /// Reads a product.
    async fn get_product(
        &self,
        business: BusinessId,
        id: ProductId,
    ) -> Result<Product, StorageError>;
    /// The products among `skus` the business has, in no set order.
    async fn products_by_sku(
        &self,
        business: BusinessId,
        skus: &[String],
    ) -> Result<Vec<Product>, StorageError>;
    /// Replaces a product's fields except its reserved units, which storage
    /// keeps; `Conflict` ([`STOCK_RESERVED`]) if on hand would go below them
    /// or stock tracking would stop while units are reserved.
    async fn update_product(&self, product: &Product) -> Result<Product, StorageError>;
    /// Deletes a product; `Conflict` ([`STOCK_RESERVED`]) while units of it
    /// are reserved.
    async fn delete_product(&self, business: BusinessId, id: ProductId)
    -> Result<(), StorageError>;
    /// Lists products in id order.
    async fn list_products(
        &self,
        business: BusinessId,
        query: &ProductQuery,
    ) -> Result<Page<Product>, StorageError>;
    /// Up to `limit` products of one candidate stage, in the stage's order
    /// ([`Candidates`] says which): what [`rank`](crate::commerce::search::rank)
    /// then orders.
    async fn search_candidates(
        &self,
        business: BusinessId,
        stage: &Candidates,
        limit: u32,
    ) -> Result<Vec<Product>, StorageError>;
}

/// Carts. A customer has at most one open cart per business.
#[async_trait]
pub trait CartStore: Send + Sync {
    /// The customer's open cart, if any.
    async fn open_cart(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Cart>, StorageError>;
    /// Reads a cart.
    async fn get_cart(&self, business: BusinessId, id: CartId) -> Result<Cart, StorageError>;
    /// Stores an open cart, new or changed. `Conflict` ([`CART_CLOSED`]) if
    /// the stored cart is no longer open or the customer has another open
    /// one; `NotFound` if the customer is not in the business.
    async fn save_cart(&self, cart: &Cart) -> Result<(), StorageError>;
    /// Lists carts in id order.
    async fn list_carts(
        &self,
        business: BusinessId,
        query: &CartQuery,
    ) -> Result<Page<Cart>, StorageError>;
    /// Marks up to `limit` open carts of any business untouched since
    /// before `idle_before` expired, oldest first; returns how many.
    async fn expire_carts(
        &self,
        idle_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u32, StorageError>;
}

/// Discount codes.
#[async_trait]
pub trait DiscountStore: Send + Sync {
    /// Stores a code; `Conflict` ([`DISCOUNT_CODE_TAKEN`]) if the business
    /// has it already.
    async fn insert_discount(&self, discount: &Discount) -> Result<(), StorageError>;
    /// Reads a code by id.
    async fn get_discount(
        &self,
        business: BusinessId,
        id: DiscountId,
    ) -> Result<Discount, StorageError>;
    /// Reads a code as customers type it (normalised).
    async fn discount_by_code(
        &self,
        business: BusinessId,
        code: &str,
    ) -> Result<Option<Discount>, StorageError>;
    /// Switches a code off or on and returns it.
    async fn set_discount_disabled(
        &self,
        business: BusinessId,
        id: DiscountId,
        disabled: bool,
    ) -> Result<Discount, StorageError>;
    /// Lists codes in id order.
    async fn list_discounts(
        &self,
        business: BusinessId,
        after: Option<DiscountId>,
        limit: u32,
    ) -> Result<Page<Discount>, StorageError>;
}

/// A checkout as the service prepared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The cart being checked out.
    pub cart_id: CartId,
    /// The order to place: its lines from the cart, status awaiting payment,
    /// `pay_by` set, no discount yet; storage applies `discount_code` to it.
    pub order: Order,
    /// A code to redeem with the order.
    pub discount_code: Option<String>,
    /// Who checked out, for the order's first event.
    pub actor: String,
}

/// What a checkout did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutOutcome {
    /// The order was placed and its stock reserved.
    Placed(Order),
    /// The cart had been checked out already: its order.
    Existing(Order),
    /// A line asks for more than is available; nothing changed.
    OutOfStock {
        /// The line's SKU.
        sku: String,
        /// Units available.
        available: u32,
    },
    /// A product of the cart is gone or no longer for sale; nothing changed.
    Unavailable {
        /// The line's SKU.
        sku: String,
    },
    /// The discount code does not apply; nothing changed.
    Discount(DiscountError),
    /// No such discount code; nothing changed.
    UnknownCode,
}

/// One move of an order, checked by [`transition`](crate::commerce::transition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMove {
    /// The order.
    pub order_id: OrderId,
    /// The status it was read in; the move fails with [`ORDER_CHANGED`] if
    /// it is no longer so.
    pub from: OrderStatus,
    /// The new status.
    pub to: OrderStatus,
    /// What happens to its stock.
    pub stock: StockChange,
    /// A new payment deadline (set when entering awaiting payment).
    pub pay_by: Option<DateTime<Utc>>,
    /// Who moved it, and why.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a move did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    /// Done.
    Moved(Order),
    /// A reservation found too little stock; nothing changed.
    OutOfStock {
        /// The line's SKU.
        sku: String,
        /// Units available.
        available: u32,
    },
}

/// Checkout and order moves: each one transaction with its stock, its
/// discount redemption and its order event.
#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Checks a cart out atomically: returns the cart's order if it has one;
    /// else reserves every tracked line (all or none), redeems the code,
    /// stores the order and its first event, and closes the cart.
    async fn checkout(
        &self,
        business: BusinessId,
        checkout: &Checkout,
    ) -> Result<CheckoutOutcome, StorageError>;
    /// Moves an order and its stock, and records the event.
    async fn move_order(
        &self,
        business: BusinessId,
        order_move: &OrderMove,
    ) -> Result<MoveOutcome, StorageError>;
    /// The order's timeline, oldest first.
    async fn order_events(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Vec<OrderEvent>, StorageError>;
    /// Orders of any business awaiting payment whose `pay_by` is at or
    /// before `now`, soonest first.
    async fn lapsed_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError>;
}

/// Hold states of an order's units of one product, as storage records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldState {
    /// Reserved for the payment window.
    Reserved,
    /// Paid: the units left stock on hand.
    Allocated,
    /// Released or restocked: nothing held.
    Done,
}

impl HoldState {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Allocated => "allocated",
            Self::Done => "done",
        }
    }

    /// The state a stock change leaves a hold in, and the change to
    /// (on hand, reserved) per unit; `None` when the change does not touch
    /// a hold in this state.
    pub fn after(self, change: StockChange) -> Option<(HoldState, i64, i64)> {
        match (self, change) {
            (Self::Reserved, StockChange::Release) => Some((Self::Done, 0, -1)),
            (Self::Reserved, StockChange::Allocate) => Some((Self::Allocated, -1, -1)),
            (Self::Allocated, StockChange::Restock) => Some((Self::Done, 1, 0)),
            _ => None,
        }
    }
}

/// Applies the discount `d` to `order` (whose total is still its subtotal),
/// given the code's usage as storage counted it in the checkout's
/// transaction.
pub fn apply_discount(
    order: &mut Order,
    d: &Discount,
    usage: crate::commerce::DiscountUsage,
) -> Result<(), DiscountError> {
    let off = crate::commerce::discount(
        &d.rules,
        order.total,
        order.customer_id,
        usage,
        order.created_at,
    )?;
    order.total = crate::domain::Money::new(order.total.minor - off.minor, order.total.currency);
    order.discount =
        Some(crate::domain::AppliedDiscount { code: d.rules.code.clone(), amount: off });
    Ok(())
}

/// The first event of an order placed from a cart or by staff.
pub fn created_event(order: &Order, actor: &str) -> OrderEvent {
    OrderEvent {
        order_id: order.id,
        at: order.created_at,
        actor: actor.to_owned(),
        from: None,
        to: order.status,
        reason: if order.cart_id.is_some() { "checked out".into() } else { "created".into() },
    }
}

/// The event of a move.
pub fn move_event(m: &OrderMove) -> OrderEvent {
    OrderEvent {
        order_id: m.order_id,
        at: m.at,
        actor: m.actor.clone(),
        from: Some(m.from),
        to: m.to,
        reason: m.reason.clone(),
    }
}
