//! The storage port's error type, shared by every backend.

/// What went wrong in a storage call. Messages name the entity and constraint,
/// never customer data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// No such record in this business.
    #[error("{entity} not found")]
    NotFound {
        /// Kind of record (`customer`, `conversation`...).
        entity: &'static str,
    },
    /// A uniqueness rule would be broken.
    #[error("{entity} conflicts with an existing one: {constraint}")]
    Conflict {
        /// Kind of record.
        entity: &'static str,
        /// Which rule, e.g. `phone already used in this business`.
        constraint: String,
    },
    /// A stored value could not be decoded (a bug or a hand-edited database).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed; `retryable` says whether trying again may succeed
    /// (lost connection, lock timeout) or not (schema mismatch, disk full).
    #[error("storage backend error: {message}")]
    Backend {
        /// What the backend reported.
        message: String,
        /// Whether a retry may succeed.
        retryable: bool,
    },
}

impl StorageError {
    /// A not-found error for `entity`.
    pub fn not_found(entity: &'static str) -> Self {
        Self::NotFound { entity }
    }

    /// A conflict on `entity` breaking `constraint`.
    pub fn conflict(entity: &'static str, constraint: impl Into<String>) -> Self {
        Self::Conflict { entity, constraint: constraint.into() }
    }

    /// A backend failure.
    pub fn backend(message: impl ToString, retryable: bool) -> Self {
        Self::Backend { message: message.to_string(), retryable }
    }

    /// True when retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Backend { retryable: true, .. })
    }
}

/// The constraint text used when a phone number is already taken.
pub const PHONE_TAKEN: &str = "phone already used in this business";
/// The constraint text used when a provider message id was already stored.
pub const PROVIDER_ID_TAKEN: &str = "provider message id already stored";
