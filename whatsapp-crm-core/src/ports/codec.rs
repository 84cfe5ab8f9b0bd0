//! Stable text forms of domain enums, for storage backends: the same words the
//! JSON API uses (`opted_in`, `delivered`), so every backend stores alike.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StorageError;

/// The text form of a unit enum variant.
pub fn enum_to_text<T: Serialize>(value: &T) -> Result<String, StorageError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StorageError::backend("value has no text form", false)),
    }
}

/// Parses the text form back; `Corrupt` names the column on failure.
pub fn enum_from_text<T: DeserializeOwned>(column: &str, text: String) -> Result<T, StorageError> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|e| StorageError::Corrupt(format!("{column}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConsentStatus, MessageStatus};

    #[test]
    fn round_trips_and_names_the_column() {
        assert_eq!(enum_to_text(&ConsentStatus::OptedIn).unwrap(), "opted_in");
        let s: MessageStatus = enum_from_text("status", "delivered".into()).unwrap();
        assert_eq!(s, MessageStatus::Delivered);
        let err = enum_from_text::<MessageStatus>("status", "nope".into()).unwrap_err();
        assert!(err.to_string().contains("status"));
    }
}
