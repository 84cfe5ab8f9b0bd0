//! Errors: opening a database, and mapping SQLite failures onto `StorageError`.

use rusqlite::ErrorCode;
use rusqlite::ffi;
use whatsapp_crm_core::StorageError;

/// Why a database could not be opened or migrated. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file exists but is not a SQLite database (or is encrypted).
    #[error("{path} is not a SQLite database")]
    NotADatabase {
        /// The file given.
        path: String,
    },
    /// The file is a SQLite database but damaged.
    #[error("{path} is a damaged SQLite database: {detail}")]
    Corrupt {
        /// The file given.
        path: String,
        /// What SQLite reported.
        detail: String,
    },
    /// The database was written by a newer version of this crate.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade whatsapp-crm"
    )]
    NewerSchema {
        /// Version recorded in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The file could not be opened or created (permissions, missing directory).
    #[error("cannot open {path}: {detail}")]
    CannotOpen {
        /// The file given.
        path: String,
        /// What SQLite reported.
        detail: String,
    },
    /// Any other SQLite failure while opening or migrating.
    #[error("sqlite error: {0}")]
    Sqlite(String),
}

impl OpenError {
    pub(crate) fn from_sqlite(path: &str, e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Self::NotADatabase { path: path.to_owned() },
            Some(ErrorCode::DatabaseCorrupt) => {
                Self::Corrupt { path: path.to_owned(), detail: e.to_string() }
            }
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
                Self::CannotOpen { path: path.to_owned(), detail: e.to_string() }
            }
            _ => Self::Sqlite(e.to_string()),
        }
    }
}

/// How to read a constraint failure for one statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    /// The record being written.
    pub entity: &'static str,
    /// The record a foreign key points at, reported as not found.
    pub parent: &'static str,
}

impl Ctx {
    pub(crate) const fn new(entity: &'static str, parent: &'static str) -> Self {
        Self { entity, parent }
    }
}

/// Maps a SQLite error onto the storage port's error.
pub(crate) fn map(ctx: Ctx, e: rusqlite::Error) -> StorageError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let detail = msg.as_deref().unwrap_or_default();
        match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return StorageError::conflict(ctx.entity, constraint_name(detail));
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StorageError::not_found(ctx.parent),
            _ => {}
        }
        return match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StorageError::backend(&e, true),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                StorageError::Corrupt(e.to_string())
            }
            _ => StorageError::backend(&e, false),
        };
    }
    StorageError::backend(&e, false)
}

/// Names the uniqueness rule SQLite reported, in the words the other backends use.
fn constraint_name(detail: &str) -> &'static str {
    if detail.contains("customers.phone") {
        whatsapp_crm_core::ports::PHONE_TAKEN
    } else if detail.contains("messages.provider_id") {
        whatsapp_crm_core::ports::PROVIDER_ID_TAKEN
    } else if detail.contains("segments.name") {
        whatsapp_crm_core::ports::SEGMENT_NAME_TAKEN
    } else if detail.contains("templates.name") {
        whatsapp_crm_core::ports::TEMPLATE_NAME_TAKEN
    } else if detail.contains("products.sku") {
        whatsapp_crm_core::ports::SKU_TAKEN
    } else if detail.contains("discounts.code") {
        whatsapp_crm_core::ports::DISCOUNT_CODE_TAKEN
    } else if detail.contains("payments.provider_reference") {
        whatsapp_crm_core::ports::PAYMENT_REFERENCE_TAKEN
    } else if detail.contains("shipments.tracking_number") {
        whatsapp_crm_core::ports::TRACKING_TAKEN
    } else if detail.contains("queues.name") {
        whatsapp_crm_core::ports::QUEUE_NAME_TAKEN
    } else if detail.contains("intents.name") {
        whatsapp_crm_core::ports::INTENT_NAME_TAKEN
    } else if detail.contains("carts.customer_id") {
        whatsapp_crm_core::ports::CART_CLOSED
    } else if detail.contains("outbox.") {
        whatsapp_crm_core::ports::ALREADY_QUEUED
    } else if detail.contains("businesses.whatsapp_sender") {
        whatsapp_crm_core::ports::SENDER_TAKEN
    } else if detail.contains("api_keys.hash") {
        "key already exists"
    } else {
        "id already exists"
    }
}

/// Maps a value that could not be decoded.
pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what}: {e}"))
}
