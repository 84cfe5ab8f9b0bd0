//! # whatsapp-crm-paystack
//!
//! Card payments (and any other method Paystack offers in Kenya) as a
//! [`PaymentProvider`](whatsapp_crm_core::ports::PaymentProvider): a
//! transaction is initialised for the order's amount in subunits with a
//! unique reference, the customer pays on Paystack's checkout page, and the
//! result is confirmed with `verify`.
//!
//! Webhooks carry `x-paystack-signature`: HMAC-SHA512 of the raw body with
//! the secret key, hex, compared in constant time ([`verify_signature`]).
//!
//! ```
//! use whatsapp_crm_paystack::{sign, verify_signature};
//!
//! // Vector P1 (commerce reference 4.3).
//! let body = br#"{"event":"charge.success","data":{"reference":"ORD-1042","amount":250000,"currency":"KES","status":"success"}}"#;
//! let header = sign(b"sk_test_example_secret_key", body);
//! assert!(header.starts_with("9a9d2dc815434abe"));
//! assert!(verify_signature(b"sk_test_example_secret_key", &header, body));
//! ```

mod client;
mod signature;

#[cfg(feature = "stand-in")]
pub mod stand_in;

pub use client::{DEFAULT_BASE, Paystack, PaystackConfig, reference_for};
pub use signature::{sign, verify_signature};
