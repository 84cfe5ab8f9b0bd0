//! Opening the configured storage backend.

use std::sync::Arc;

use whatsapp_crm_core::InMemoryStorage;
use whatsapp_crm_core::ports::Storage;

/// The store used when none is configured.
pub const DEFAULT_DATABASE: &str = "memory";

/// An open store and the name `/health` reports for it.
pub struct OpenStore {
    /// The backend.
    pub storage: Arc<dyn Storage>,
    /// `memory`, `sqlite` or `postgres`.
    pub kind: &'static str,
}

/// Why the configured store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// This build does not include the backend the setting asks for.
    #[error("unsupported database setting {0:?}: use `memory`")]
    Unsupported(String),
}

/// Opens the store a `--database` setting names.
pub async fn open(setting: &str) -> Result<OpenStore, OpenError> {
    match setting.trim() {
        "memory" | ":memory:" => Ok(OpenStore {
            storage: Arc::new(InMemoryStorage::new()),
            kind: "memory",
        }),
        other => Err(OpenError::Unsupported(other.to_owned())),
    }
}
