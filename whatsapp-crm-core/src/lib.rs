//! # whatsapp-crm-core
//!
//! The core of the whatsapp-crm SDK: everything a small business needs to run
//! customer relationships over WhatsApp, independent of any database or provider.
//!
//! - [`domain`]: validated types ([`PhoneNumber`], [`Money`], [`Customer`], [`Message`]...).
//! - [`ports`]: the traits the SDK reaches the world through ([`Storage`](ports::Storage),
//!   [`Transport`], [`Clock`](ports::Clock)).
//! - [`service`]: the use cases, starting from [`Crm`].
//! - [`commerce`]: pure commerce engines: catalog search, the cart
//!   (`Cart::apply`), cart commands, the order state machine
//!   ([`commerce::transition`] over [`commerce::ORDER_TRANSITIONS`]),
//!   shipments, discount codes, CSV import and webhook signatures.
//! - [`assistant`]: pure assistant engines: text normalisation, the offline
//!   intent classifier (TF-IDF n-grams, logistic regression), BM25, the
//!   decision gate, business hours, sentiment, one turn, and evaluation;
//!   [`service::Assistant`] runs them on inbound messages.
//! - [`routing`]: pure team-inbox routing engines: TaskRouter-style target
//!   expressions, rules, priorities, queue order and agent strategies;
//!   [`service::TeamInbox`] routes, offers, escalates and records every
//!   change as a conversation event.
//! - [`recommend`]: pure recommendation engines: bought-together,
//!   trending, personal and popular picks with their reasons, and the
//!   evaluation against popularity; [`service::Recommendations`] builds,
//!   stores and serves each business's model.
//! - [`InMemoryStorage`] and [`StubTransport`]: real backends for tests and demos.
//! - `testing` (feature `testing`): the conformance suite every storage backend runs.
//!
//! ```
//! use std::sync::Arc;
//! use whatsapp_crm_core::{Crm, InMemoryStorage, NewBusiness, NewCustomer, ServiceError};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let crm = Crm::new(Arc::new(InMemoryStorage::new()));
//! let shop = crm.businesses().create(NewBusiness {
//!     name: "Duka la Mama".into(),
//!     whatsapp_sender: "+254700000001".into(),
//!     time_zone: "Africa/Nairobi".into(),
//!     currency: "KES".into(),
//! }).await?;
//!
//! let mut input = NewCustomer::with_phone("+254712345678");
//! input.name = Some("Wanjiku".into());
//! input.tags = vec!["vip".into()];
//! let wanjiku = crm.customers().create(shop.id, input).await?;
//! assert!(wanjiku.tags.iter().any(|t| t.as_str() == "vip"));
//!
//! // Bad input is refused with every problem named, and nothing is stored.
//! let err = crm.customers().create(shop.id, NewCustomer::with_phone("0712")).await;
//! assert!(matches!(err, Err(ServiceError::Invalid(_))));
//! # Ok::<(), ServiceError>(())
//! # }).unwrap();
//! ```

pub mod assistant;
pub mod commerce;
pub mod domain;
mod memory;
pub mod payment;
pub mod policy;
pub mod ports;
pub mod recommend;
pub mod routing;
pub mod segment;
pub mod service;
mod stub;
mod stub_registry;
pub mod template;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use domain::*;
pub use memory::InMemoryStorage;
pub use ports::{StorageError, Transport, TransportError};
pub use service::{Crm, ServiceError};
pub use stub::StubTransport;
pub use stub_registry::StubTemplateRegistry;
