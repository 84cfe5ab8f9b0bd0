//! Conversions between domain values and SQLite columns.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use uuid::Uuid;
use whatsapp_crm_core::StorageError;

use crate::error::corrupt;

/// A column, by name or (faster) by position in its SELECT.
pub(crate) trait Col: rusqlite::RowIndex + Copy + std::fmt::Display {}
impl<T: rusqlite::RowIndex + Copy + std::fmt::Display> Col for T {}

/// An id as its 16 bytes.
pub(crate) fn id_bytes(uuid: Uuid) -> [u8; 16] {
    *uuid.as_bytes()
}

/// Reads a 16-byte id column.
pub(crate) fn get_uuid(row: &Row<'_>, col: impl Col) -> Result<Uuid, StorageError> {
    let bytes: Vec<u8> = row.get(col).map_err(|e| corrupt(&col.to_string(), e))?;
    Uuid::from_slice(&bytes).map_err(|e| corrupt(&col.to_string(), e))
}

/// Reads a nullable 16-byte id column.
pub(crate) fn get_opt_uuid(row: &Row<'_>, col: impl Col) -> Result<Option<Uuid>, StorageError> {
    let bytes: Option<Vec<u8>> = row.get(col).map_err(|e| corrupt(&col.to_string(), e))?;
    bytes.map(|b| Uuid::from_slice(&b).map_err(|e| corrupt(&col.to_string(), e))).transpose()
}

/// A time as microseconds since the epoch.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// An optional time as microseconds.
pub(crate) fn opt_micros(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(micros)
}

/// Reads a microsecond time column.
pub(crate) fn get_time(row: &Row<'_>, col: impl Col) -> Result<DateTime<Utc>, StorageError> {
    let v: i64 = row.get(col).map_err(|e| corrupt(&col.to_string(), e))?;
    DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(&col.to_string(), "out of range"))
}

/// Reads a nullable microsecond time column.
pub(crate) fn get_opt_time(
    row: &Row<'_>,
    col: impl Col,
) -> Result<Option<DateTime<Utc>>, StorageError> {
    let v: Option<i64> = row.get(col).map_err(|e| corrupt(&col.to_string(), e))?;
    v.map(|v| {
        DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(&col.to_string(), "out of range"))
    })
    .transpose()
}

/// Reads any plain column.
pub(crate) fn get<T: rusqlite::types::FromSql>(
    row: &Row<'_>,
    col: impl Col,
) -> Result<T, StorageError> {
    row.get(col).map_err(|e| corrupt(&col.to_string(), e))
}

/// Reads a text column and parses it.
pub(crate) fn get_parsed<T>(row: &Row<'_>, col: impl Col) -> Result<T, StorageError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: String = get(row, col)?;
    s.parse().map_err(|e| corrupt(&col.to_string(), e))
}

/// Reads a JSON text column.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    col: impl Col,
) -> Result<T, StorageError> {
    let s: String = get(row, col)?;
    serde_json::from_str(&s).map_err(|e| corrupt(&col.to_string(), e))
}

/// Serialises to JSON text.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::backend(e, false))
}

/// Reads a text column holding a domain enum.
pub(crate) fn get_enum<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    col: impl Col,
) -> Result<T, StorageError> {
    let s: String = get(row, col)?;
    serde_json::from_value(serde_json::Value::String(s)).map_err(|e| corrupt(&col.to_string(), e))
}

/// Reads a nullable text column holding a domain enum.
pub(crate) fn get_opt_enum<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    col: impl Col,
) -> Result<Option<T>, StorageError> {
    let s: Option<String> = get(row, col)?;
    s.map(|s| {
        serde_json::from_value(serde_json::Value::String(s))
            .map_err(|e| corrupt(&col.to_string(), e))
    })
    .transpose()
}
