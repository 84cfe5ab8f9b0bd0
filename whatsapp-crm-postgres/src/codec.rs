//! Reading columns into domain values.

use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Row, Type};
use whatsapp_crm_core::StorageError;
use whatsapp_crm_core::ports::enum_from_text;

use crate::error::corrupt;

/// Reads a column, reporting a decode failure as corrupt data.
pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StorageError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(col).map_err(|e| corrupt(col, e))
}

/// Reads an `integer` column holding a count or limit; a negative one is
/// corrupt data.
pub(crate) fn get_u32(row: &PgRow, col: &str) -> Result<u32, StorageError> {
    let v: i32 = get(row, col)?;
    u32::try_from(v).map_err(|e| corrupt(col, e))
}

/// A count, limit or revision for an `integer` column; one past its range
/// is refused, not cut.
pub(crate) fn put_u32(v: u32) -> Result<i32, StorageError> {
    i32::try_from(v).map_err(|e| StorageError::backend(e, false))
}

/// Reads a text column and parses it.
pub(crate) fn get_parsed<T>(row: &PgRow, col: &str) -> Result<T, StorageError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: String = get(row, col)?;
    s.parse().map_err(|e| corrupt(col, e))
}

/// Reads a text column holding a domain enum.
pub(crate) fn get_enum<T: serde::de::DeserializeOwned>(
    row: &PgRow,
    col: &str,
) -> Result<T, StorageError> {
    enum_from_text(col, get(row, col)?)
}

/// Reads a nullable text column holding a domain enum.
pub(crate) fn get_opt_enum<T: serde::de::DeserializeOwned>(
    row: &PgRow,
    col: &str,
) -> Result<Option<T>, StorageError> {
    let s: Option<String> = get(row, col)?;
    s.map(|s| enum_from_text(col, s)).transpose()
}

/// Reads a jsonb column.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    row: &PgRow,
    col: &str,
) -> Result<T, StorageError> {
    let v: sqlx::types::Json<serde_json::Value> = get(row, col)?;
    serde_json::from_value(v.0).map_err(|e| corrupt(col, e))
}

/// Serialises for a jsonb column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, StorageError> {
    serde_json::to_value(v).map_err(|e| StorageError::backend(e, false))
}
