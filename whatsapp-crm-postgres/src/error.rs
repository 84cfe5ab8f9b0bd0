//! Mapping PostgreSQL failures onto `StorageError`.

use whatsapp_crm_core::StorageError;
use whatsapp_crm_core::ports::{PHONE_TAKEN, PROVIDER_ID_TAKEN};

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

/// SQLSTATE classes and codes after which the same statement may succeed:
/// connection exceptions (08), serialization failure, deadlock, server shutdown
/// or restart (57P0x), too many connections, and out of memory or disk.
fn retryable_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" | "53200" | "55P03"
        )
}

/// Maps an sqlx error onto the storage port's error. Never panics.
pub(crate) fn map(ctx: Ctx, e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                "23505" => StorageError::conflict(ctx.entity, constraint_name(db.constraint())),
                "23503" => StorageError::not_found(ctx.parent),
                c if retryable_sqlstate(c) => StorageError::backend(&e, true),
                _ => StorageError::backend(&e, false),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StorageError::backend(&e, true),
        sqlx::Error::RowNotFound => StorageError::not_found(ctx.entity),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StorageError::Corrupt(e.to_string())
        }
        _ => StorageError::backend(&e, false),
    }
}

/// Names the uniqueness rule in the words the other backends use.
fn constraint_name(constraint: Option<&str>) -> &'static str {
    match constraint {
        Some("customers_phone_key") => PHONE_TAKEN,
        Some("messages_provider_id_key") => PROVIDER_ID_TAKEN,
        Some("outbox_pkey") => whatsapp_crm_core::ports::ALREADY_QUEUED,
        Some("api_keys_hash_key") => "key already exists",
        Some("businesses_sender_key") => whatsapp_crm_core::ports::SENDER_TAKEN,
        Some("segments_name_key") => whatsapp_crm_core::ports::SEGMENT_NAME_TAKEN,
        Some("templates_name_key") => whatsapp_crm_core::ports::TEMPLATE_NAME_TAKEN,
        Some("products_sku_key") => whatsapp_crm_core::ports::SKU_TAKEN,
        Some("discounts_code_key") => whatsapp_crm_core::ports::DISCOUNT_CODE_TAKEN,
        Some("carts_open_key") => whatsapp_crm_core::ports::CART_CLOSED,
        Some("payments_reference_key") => whatsapp_crm_core::ports::PAYMENT_REFERENCE_TAKEN,
        Some("shipments_tracking_key") => whatsapp_crm_core::ports::TRACKING_TAKEN,
        Some("intents_name_key") => whatsapp_crm_core::ports::INTENT_NAME_TAKEN,
        Some("queues_name_key") => whatsapp_crm_core::ports::QUEUE_NAME_TAKEN,
        _ => "id already exists",
    }
}

/// A value that could not be decoded.
pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_retryable() {
        let ctx = Ctx::new("customer", "business");
        assert!(map(ctx, sqlx::Error::PoolTimedOut).is_retryable());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(map(ctx, sqlx::Error::Io(io)).is_retryable());
        assert!(!map(ctx, sqlx::Error::ColumnNotFound("x".into())).is_retryable());
        assert!(retryable_sqlstate("08006"));
        assert!(retryable_sqlstate("57P01"));
        assert!(!retryable_sqlstate("23505"));
    }
}
