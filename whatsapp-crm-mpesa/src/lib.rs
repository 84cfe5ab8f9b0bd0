//! # whatsapp-crm-mpesa
//!
//! M-Pesa Express (Daraja STK push) as a
//! [`PaymentProvider`](whatsapp_crm_core::ports::PaymentProvider): the
//! customer gets a PIN prompt on their phone for the order's amount.
//!
//! - OAuth: one token per app, cached and refreshed a minute before it
//!   expires, one refresh at a time however many callers wait.
//! - STK push: the password from shortcode, passkey and timestamp
//!   ([`password`]); Paybill or Till; numbers as `2547…`; `AccountReference`
//!   at most 12 characters and `TransactionDesc` at most 13.
//! - Callbacks ([`parse_callback`]): metadata items read by `Name`, values
//!   of any JSON type. Daraja signs nothing, so a callback is only a hint:
//!   the SDK confirms it with an STK query before it settles anything.
//! - Every documented result code has its typed meaning ([`ResultCode`]).
//!
//! ```
//! use whatsapp_crm_mpesa::password;
//!
//! // Safaricom's sandbox shortcode and passkey (public test values).
//! let p = password(
//!     "174379",
//!     "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
//!     "20210628092408",
//! );
//! assert_eq!(p, "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMjEwNjI4MDkyNDA4");
//! ```

mod callback;
mod client;
mod codes;
mod config;
mod stk;

#[cfg(feature = "stand-in")]
pub mod stand_in;

pub use callback::{StkCallback, parse_callback};
pub use client::Mpesa;
pub use codes::ResultCode;
pub use config::{
    ACCOUNT_REFERENCE_MAX_CHARS, MpesaConfig, PRODUCTION_BASE, SANDBOX_BASE, Shortcode,
    TRANSACTION_DESC_MAX_CHARS,
};
pub use stk::{msisdn, password, timestamp};
