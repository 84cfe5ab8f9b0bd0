//! Commerce engines: pure and synchronous, they take `now` as an argument
//! and return values; the services load and store around them.
//!
//! - [`cart`]: the cart state machine, `Cart::apply(command, catalog, now)`.
//! - [`command`]: cart commands from typed text (English and Swahili) and
//!   from button and list payloads, whose format it documents.
//! - [`discount`](mod@discount): what a discount code takes off, whether it may be used,
//!   and unguessable generated codes.
//! - [`import`]: products from CSV, all or nothing, every bad cell named.
//! - [`order`]: the order state machine, its transition table as data.
//! - [`search`]: catalog search, typo-tolerant, in English and Swahili.
//! - [`shipment`]: shipment progress in AfterShip's vocabulary, which
//!   reordered and repeated partner reports never move backwards.
//! - [`signature`]: the signature scheme delivery partners sign their
//!   webhooks with, and its check.

pub mod cart;
pub mod command;
pub mod discount;
pub mod import;
pub mod order;
pub mod search;
pub mod shipment;
pub mod signature;

pub use cart::{CartError, CatalogView, Effect, Suggestion};
pub use command::{
    CartCommand, CommandError, NativeItem, ProductRef, add_payload, parse_payload, parse_text,
};
pub use discount::{DiscountError, DiscountRules, DiscountUsage, DiscountValue, discount};
pub use order::{
    ORDER_TRANSITIONS, OrderFacts, OrderTransition, StockChange, TransitionError, TransitionGuard,
    transition,
};
pub use search::{SearchHit, SearchQuery};
pub use shipment::{ReportOutcome, ShipmentStatus, all_delivered, apply_report};
