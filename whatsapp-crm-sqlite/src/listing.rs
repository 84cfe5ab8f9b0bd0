//! Shared query helpers: bound ids, decoding every row, and keyset-paged
//! listings with bound filters used by every `list_*` method.

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};
use whatsapp_crm_core::ports::Page;
use whatsapp_crm_core::{BusinessId, StorageError};

use crate::codec::id_bytes;
use crate::error::{Ctx, map};
use crate::storage::SqliteStorage;

/// An id as a bound blob.
pub(crate) fn blob(id: uuid::Uuid) -> Value {
    Value::Blob(id_bytes(id).to_vec())
}

/// `n` bound placeholders for an `IN (…)` list or a row of values: `?, ?, ?`.
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Runs a SELECT and decodes every row.
pub(crate) fn query_all<T>(
    c: &Connection,
    ctx: Ctx,
    sql: &str,
    args: Vec<Value>,
    decode: fn(&Row<'_>) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let mut stmt = c.prepare_cached(sql).map_err(|e| map(ctx, e))?;
    let mut rows = stmt.query(params_from_iter(args)).map_err(|e| map(ctx, e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| map(ctx, e))? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Runs a SELECT for one row; `NotFound` naming `ctx.entity` when there is none.
pub(crate) fn query_one<T>(
    c: &Connection,
    ctx: Ctx,
    sql: &str,
    args: Vec<Value>,
    decode: fn(&Row<'_>) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    query_all(c, ctx, sql, args, decode)?.pop().ok_or(StorageError::not_found(ctx.entity))
}

/// Reads the rows `select` gives in the business whose ids are among `ids`;
/// `prefix` is the table alias with its dot, or empty.
pub(crate) fn by_ids<T>(
    c: &Connection,
    ctx: Ctx,
    (select, prefix): (&str, &str),
    business: BusinessId,
    ids: &[uuid::Uuid],
    decode: fn(&Row<'_>) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let mut out = Vec::with_capacity(ids.len());
    // Chunks of one size keep the statement cache warm.
    for chunk in ids.chunks(500) {
        let marks = marks(chunk.len());
        let sql = format!("{select} WHERE {prefix}business_id = ? AND {prefix}id IN ({marks})");
        let args = std::iter::once(blob(business.as_uuid())).chain(chunk.iter().map(|i| blob(*i)));
        out.extend(query_all(c, ctx, &sql, args.collect(), decode)?);
    }
    Ok(out)
}

/// `{select} WHERE {prefix}business_id = ? {filters} ORDER BY {prefix}id LIMIT n+1`,
/// every value bound.
pub(crate) struct Listing {
    sql: String,
    args: Vec<Value>,
    prefix: &'static str,
}

impl Listing {
    /// Starts a listing; `prefix` is the table alias with its dot (`"c."`) or empty.
    pub fn new(select: &str, prefix: &'static str, business: BusinessId) -> Self {
        Self {
            sql: format!("{select} WHERE {prefix}business_id = ?"),
            args: vec![blob(business.as_uuid())],
            prefix,
        }
    }

    /// Continues after an id.
    pub fn after(&mut self, id: Option<uuid::Uuid>) {
        if let Some(id) = id {
            self.sql.push_str(&format!(" AND {}id > ?", self.prefix));
            self.args.push(blob(id));
        }
    }

    /// Adds `AND {condition}` with one `?` bound to `value`.
    pub fn filter(&mut self, condition: &str, value: Value) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
        self.args.push(value);
    }

    /// Adds a fixed `AND {condition}`.
    pub fn condition(&mut self, condition: &'static str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }

    /// Runs the listing and decodes one page.
    pub async fn page<T: Send + 'static>(
        mut self,
        storage: &SqliteStorage,
        ctx: Ctx,
        limit: u32,
        decode: fn(&Row<'_>) -> Result<T, StorageError>,
        id: fn(&T) -> String,
    ) -> Result<Page<T>, StorageError> {
        self.sql.push_str(&format!(" ORDER BY {}id LIMIT ?", self.prefix));
        self.args.push(Value::Integer(i64::from(limit) + 1));
        let (sql, args) = (self.sql, self.args);
        storage
            .read(move |c| {
                Ok(Page::from_overfetch(query_all(c, ctx, &sql, args, decode)?, limit, id))
            })
            .await
    }
}

/// Inserts many rows with multi-row `INSERT` statements: fewer statement
/// executions for the same rows, which is what bulk writes spend most on.
/// `head` is `INSERT INTO table (columns)`; every row has `columns` values.
pub(crate) fn insert_rows(
    tx: &rusqlite::Transaction<'_>,
    ctx: Ctx,
    head: &str,
    columns: usize,
    rows: Vec<Vec<Value>>,
) -> Result<(), StorageError> {
    let varying: Vec<usize> = (0..columns).collect();
    insert_alike(tx, ctx, head, &vec![Value::Null; columns], &varying, rows)
}

/// Inserts rows that differ only in some columns. `proto` is a whole row;
/// `varying` lists, in order, the columns where rows differ, and each of
/// `rows` holds just those values. The shared values are bound once per
/// statement rather than once per row: binding is most of what a bulk insert
/// spends outside SQLite's B-trees.
pub(crate) fn insert_alike(
    tx: &rusqlite::Transaction<'_>,
    ctx: Ctx,
    head: &str,
    proto: &[Value],
    varying: &[usize],
    rows: Vec<Vec<Value>>,
) -> Result<(), StorageError> {
    // About a thousand bound values a statement, as many rows as that allows.
    let per_statement = (1024 / varying.len().max(1)).clamp(1, 256);
    // A shared value is a named parameter: SQLite numbers it where it first
    // appears (in the first row) and reuses that number after, so the values
    // bind in order as the first row whole, then each other row's varying ones.
    let one = (0..proto.len())
        .map(|c| if varying.contains(&c) { "?".to_owned() } else { format!(":s{c}") })
        .collect::<Vec<_>>()
        .join(", ");
    let one = format!("({one})");
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
        let sql = format!("{head} VALUES {}", vec![one.as_str(); chunk.len()].join(", "));
        let mut stmt = tx.prepare_cached(&sql).map_err(|e| map(ctx, e))?;
        let mut values = Vec::with_capacity(proto.len() + chunk.len() * varying.len());
        let mut chunk = chunk.into_iter();
        if let Some(first) = chunk.next() {
            let mut first = first.into_iter();
            for (c, shared) in proto.iter().enumerate() {
                let v = if varying.contains(&c) { first.next() } else { None };
                values.push(v.unwrap_or_else(|| shared.clone()));
            }
        }
        values.extend(chunk.flatten());
        stmt.execute(params_from_iter(values)).map_err(|e| map(ctx, e))?;
    }
    Ok(())
}
