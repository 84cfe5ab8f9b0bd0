//! Payments: customers pay an order without leaving the chat, by an M-Pesa
//! PIN prompt or on a card checkout page, through [`PaymentProvider`]s.
//!
//! Nothing is settled on a provider's word alone: every callback and
//! webhook is stored raw first, then the provider is asked
//! ([`PaymentProvider::query`]) and only its answer moves the attempt. An
//! M-Pesa callback must also name the amount that was asked. Receipts,
//! payment links and their reminders go through the outbox once each.
//!
//! [`PaymentProvider`]: crate::ports::PaymentProvider
//! [`PaymentProvider::query`]: crate::ports::PaymentProvider::query

mod callbacks;
mod links;
mod service;
mod settle;
mod start;
mod workers;

pub use callbacks::{CallbackResult, WebhookRefused};
pub use links::{LinkPage, LinkState, SentLink};
pub use service::{
    PaymentDetail, PaymentListParams, Payments, PaymentsConfig, SAFARICOM_CALLBACK_IPS,
};
pub use start::PayWith;
pub use workers::PaymentsReport;
