//! Commerce engines: pure and synchronous, they take `now` as an argument
//! and return values; the services load and store around them.
//!
//! - [`command`]: cart commands from typed text (English and Swahili) and
//!   from button and list payloads, whose format it documents.
//! - [`discount`]: what a discount code takes off, whether it may be used,
//!   and unguessable generated codes.
//! - [`order`]: the order state machine, its transition table as data.
//! - [`shipment`]: shipment progress in AfterShip's vocabulary, which
//!   reordered and repeated partner reports never move backwards.
//! - [`signature`]: the signature scheme delivery partners sign their
//!   webhooks with, and its check.

pub mod command;
pub mod discount;
pub mod order;
pub mod shipment;
pub mod signature;

pub use command::{CartCommand, CommandError, ProductRef, parse_payload, parse_text};
pub use discount::{DiscountError, DiscountRules, DiscountUsage, DiscountValue, discount};
pub use order::{
    ORDER_TRANSITIONS, OrderFacts, OrderTransition, StockChange, TransitionError, TransitionGuard,
    transition,
};
pub use shipment::{ReportOutcome, ShipmentStatus, all_delivered, apply_report};
