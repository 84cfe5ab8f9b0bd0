//! # whatsapp-crm-sqlite
//!
//! [`SqliteStorage`]: the whatsapp-crm SDK's embedded store, on the bundled
//! SQLite. A file in WAL mode serves one writer and several concurrent readers,
//! and a background thread copies committed pages from the log into the file
//! (passive checkpoints, which never block either; dropping the storage stops
//! it); blocking calls run on tokio's blocking pool; the schema is migrated by an
//! explicit [`SqliteStorage::migrate`] and versioned in the database. It passes
//! the whole storage conformance suite of `whatsapp-crm-core`.
//!
//! ```
//! use std::sync::Arc;
//! use whatsapp_crm_core::{Crm, NewBusiness, NewCustomer};
//! use whatsapp_crm_sqlite::SqliteStorage;
//!
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let storage = SqliteStorage::open(dir.path().join("crm.db")).await.unwrap();
//! storage.migrate().await.unwrap();
//!
//! let crm = Crm::new(Arc::new(storage));
//! let shop = crm.businesses().create(NewBusiness {
//!     name: "Duka la Mama".into(),
//!     whatsapp_sender: "+254700000001".into(),
//!     time_zone: "Africa/Nairobi".into(),
//!     currency: "KES".into(),
//! }).await.unwrap();
//! crm.customers().create(shop.id, NewCustomer::with_phone("+254712345678")).await.unwrap();
//! # });
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

pub use error::OpenError;
pub use segment::segment_count_sql;
pub use storage::{BUSY_TIMEOUT, MAX_IDLE_READERS, SCHEMA_VERSION, SqliteStorage};
