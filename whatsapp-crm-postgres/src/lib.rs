//! # whatsapp-crm-postgres
//!
//! [`PostgresStorage`]: the whatsapp-crm SDK's store for businesses that outgrow
//! one machine. Several reference-server processes can share one database: the
//! storage keeps no state besides its connection pool, migrations are embedded and
//! advisory-locked, and every query is checked at run time (building needs no
//! database). It passes the whole storage conformance suite of `whatsapp-crm-core`
//! against a real PostgreSQL server.
//!
//! ```no_run
//! use std::sync::Arc;
//! use whatsapp_crm_core::Crm;
//! use whatsapp_crm_postgres::{PostgresConfig, PostgresStorage};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PostgresConfig::new("postgres://crm:secret@127.0.0.1:5432/crm")
//!     .with_max_connections(20);
//! let storage = PostgresStorage::connect_with(config).await?;
//! storage.migrate().await?;
//! let crm = Crm::new(Arc::new(storage));
//! # Ok(()) }
//! ```

mod agents;
mod assistant;
mod broadcasts;
mod campaigns;
mod catalog;
mod checkout;
mod codec;
mod customers;
mod desk;
mod error;
mod fulfilment;
mod identity;
mod listing;
mod messaging;
mod orders;
mod outbox;
mod payments;
mod segment;
mod segments;
mod senders;
mod storage;
mod templates;
#[cfg(feature = "testing")]
pub mod testing;

pub use storage::{PostgresConfig, PostgresStorage};
