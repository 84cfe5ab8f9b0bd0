//! Commerce engines: pure and synchronous, they take `now` as an argument
//! and return values; the services load and store around them.
//!
//! - [`order`]: the order state machine, its transition table as data.

pub mod order;

pub use order::{
    ORDER_TRANSITIONS, OrderFacts, OrderTransition, StockChange, TransitionError, TransitionGuard,
    transition,
};
