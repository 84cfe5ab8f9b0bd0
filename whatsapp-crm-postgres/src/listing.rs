//! Keyset-paged listings with bound filters, shared by every `list_*` method.

use sqlx::Arguments;
use sqlx::postgres::{PgArguments, PgRow};
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::{BusinessId, StorageError};

use crate::error::{Ctx, map};
use crate::storage::PostgresStorage;

/// Builds `SELECT * FROM {table} WHERE business_id = $1 {filters} ORDER BY id LIMIT n+1`
/// with every value bound, then decodes one page.
pub(crate) struct Listing {
    sql: String,
    args: PgArguments,
    n: usize,
}

impl Listing {
    /// Starts a listing of `table` for one business.
    pub(crate) fn new(table: &str, business: BusinessId) -> Result<Self, StorageError> {
        let mut l = Self {
            sql: format!("SELECT * FROM {table} WHERE business_id = $1"),
            args: PgArguments::default(),
            n: 1,
        };
        l.args.add(business.as_uuid()).map_err(|e| StorageError::backend(e, false))?;
        Ok(l)
    }

    /// Adds a fixed `AND {condition}` with no value.
    pub(crate) fn condition(&mut self, condition: &'static str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }

    /// Adds `AND {condition}`, its `?` replaced by the next placeholder bound to `value`.
    pub(crate) fn filter<T>(&mut self, condition: &str, value: T) -> Result<(), StorageError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        self.n += 1;
        self.sql.push_str(" AND ");
        self.sql.push_str(&condition.replace('?', &format!("${}", self.n)));
        self.args.add(value).map_err(|e| StorageError::backend(e, false))
    }

    /// Runs the query and decodes one page.
    pub(crate) async fn page<T>(
        mut self,
        s: &PostgresStorage,
        ctx: Ctx,
        limit: u32,
        decode: fn(&PgRow) -> Result<T, StorageError>,
        id: fn(&T) -> String,
    ) -> Result<Page<T>, StorageError> {
        self.n += 1;
        self.sql.push_str(&format!(" ORDER BY id LIMIT ${}", self.n));
        self.args.add(i64::from(limit) + 1).map_err(|e| StorageError::backend(e, false))?;
        // Only fixed clauses and $n placeholders are spliced; every value is bound.
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(self.sql), self.args)
            .fetch_all(&s.pool)
            .await
            .map_err(|e| map(ctx, e))?;
        let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, id))
    }
}

/// Reads the rows of `table` in the business whose ids are among `ids`.
/// `table` is one of this crate's table names, never input.
pub(crate) async fn by_ids<T>(
    storage: &PostgresStorage,
    ctx: Ctx,
    table: &'static str,
    business: BusinessId,
    ids: &[uuid::Uuid],
    decode: fn(&PgRow) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let sql = format!("SELECT * FROM {table} WHERE business_id = $1 AND id = ANY($2)");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(business.as_uuid())
        .bind(ids)
        .fetch_all(&storage.pool)
        .await
        .map_err(|e| map(ctx, e))?;
    rows.iter().map(decode).collect()
}
