//! The error every service returns.

use crate::domain::ValidationError;
use crate::ports::StorageError;

/// Why a use case did not complete. Maps one-to-one onto HTTP statuses in the
/// reference server: 422, 404, 409, 503/500.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The input broke one or more rules; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such record in this business.
    #[error("{entity} not found")]
    NotFound {
        /// Kind of record.
        entity: &'static str,
    },
    /// A uniqueness rule would be broken; nothing was stored.
    #[error("{entity} conflicts with an existing one: {constraint}")]
    Conflict {
        /// Kind of record.
        entity: &'static str,
        /// Which rule.
        constraint: String,
    },
    /// The request does not fit the record's current state (submitting an
    /// approved template, editing an archived one...); nothing changed.
    #[error("{message}")]
    InvalidState {
        /// What is wrong and what to do.
        message: String,
    },
    /// The caller may not do this (an agent acting on a conversation that
    /// is not theirs); nothing changed.
    #[error("{message}")]
    Forbidden {
        /// What is not allowed.
        message: String,
    },
    /// The operation needs a provider (Twilio) and none is configured.
    #[error("no WhatsApp provider is configured for this operation")]
    ProviderNotConfigured,
    /// The provider failed or refused.
    #[error(transparent)]
    Provider(#[from] crate::ports::RegistryError),
    /// The send policy refuses the message for good (outside the window,
    /// marketing without consent); nothing was stored.
    #[error("message refused: {0}")]
    Refused(crate::policy::Refusal),
    /// A payment provider, or the public URL payments need, is not
    /// configured.
    #[error("payments need {what}, which this server has not configured")]
    PaymentsNotConfigured {
        /// What is missing (`mpesa`, `paystack`, `public URL`).
        what: String,
    },
    /// Something the request needs is not configured on this server (the
    /// LLM classifier).
    #[error("{what} is not configured on this server")]
    NotConfigured {
        /// What is missing.
        what: String,
    },
    /// The payment provider refused or failed.
    #[error(transparent)]
    Payment(#[from] crate::ports::PaymentProviderError),
    /// What was asked for existed but is over (an expired link, a settled
    /// order's page).
    #[error("{message}")]
    Gone {
        /// What is over.
        message: String,
    },
    /// A catalog file had bad rows; nothing was imported.
    #[error(transparent)]
    Import(#[from] crate::commerce::import::ImportError),
    /// The storage backend failed.
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { entity } => Self::NotFound { entity },
            StorageError::Conflict { entity, constraint } => Self::Conflict { entity, constraint },
            other => Self::Storage(other),
        }
    }
}
