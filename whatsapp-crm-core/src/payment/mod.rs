//! Payment engines: pure and synchronous, they take `now` as an argument.
//!
//! - [`attempt`]: the payment attempt state machine (`pending → prompted →
//!   succeeded | failed | cancelled | expired`) and what each provider
//!   outcome does to an attempt.
//! - [`coverage`](mod@coverage): whether settled attempts pay an order: short, exact, or
//!   over.
//! - [`link`]: signed, expiring payment link tokens.

pub mod attempt;
pub mod coverage;
pub mod link;

pub use attempt::{PaymentError, PaymentOutcome, Step, step};
pub use coverage::{Coverage, coverage};
pub use link::{LinkError, LinkToken, link_business, sign_link, verify_link};
