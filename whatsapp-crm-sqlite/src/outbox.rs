//! The outbox. Every write goes through the one writer connection, so a claim
//! is a single `UPDATE … RETURNING` that no other claimer can interleave with.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::Transaction;
use rusqlite::types::Value;
use whatsapp_crm_core::ports::{
    NOT_CLAIMED, OutboxFinish, OutboxKey, OutboxOutcome, OutboxStore, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, Message, MessageId, OutboxItem, OutboxState, PhoneNumber, StorageError,
};

use crate::codec::{
    get, get_enum, get_opt_enum, get_opt_time, get_parsed, get_time, get_uuid, micros,
};
use crate::error::{Ctx, map};
use crate::listing::{blob, query_all, query_one};
use crate::messaging::{insert_message_tx, update_delivery_tx};
use crate::storage::SqliteStorage;

pub(crate) const OUTBOX: Ctx = Ctx::new("outbox item", "message");

/// The head of an outbox row's `INSERT`, in [`item_values`] order.
pub(crate) const OUTBOX_INSERT: &str = "INSERT INTO outbox (business_id, message_id, sender,
   recipient, run_at, attempts, state, claimed_until, last_error, error_code, created_at,
   updated_at, category)";

fn outbox_row(row: &Row<'_>) -> Result<OutboxItem, StorageError> {
    Ok(OutboxItem {
        message_id: MessageId::from_uuid(get_uuid(row, "message_id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        sender: get_parsed(row, "sender")?,
        recipient: get_parsed(row, "recipient")?,
        category: get_opt_enum(row, "category")?,
        run_at: get_time(row, "run_at")?,
        attempts: get(row, "attempts")?,
        state: get_enum(row, "state")?,
        claimed_until: get_opt_time(row, "claimed_until")?,
        last_error: get(row, "last_error")?,
        error_code: get(row, "error_code")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.to_owned()))
}

fn code(c: Option<u32>) -> Value {
    c.map_or(Value::Null, |c| Value::Integer(i64::from(c)))
}

/// The `SET` values an outcome writes: state, run_at (kept when null), error
/// (kept when null), code, whether the code is written, attempts given back.
fn outcome_values(o: &OutboxOutcome) -> Result<[Value; 6], StorageError> {
    let e = o.effect();
    Ok([
        Value::Text(enum_to_text(&e.state)?),
        e.run_at.map_or(Value::Null, |t| Value::Integer(micros(t))),
        text(e.error),
        code(e.code.flatten()),
        Value::Integer(i64::from(e.code.is_some())),
        Value::Integer(i64::from(e.gives_back_attempt)),
    ])
}

/// Why a conditional update of one row changed nothing: the row is not in
/// the state it needed, or it does not exist.
fn not_claimed_or_missing(tx: &rusqlite::Connection, key: Vec<Value>) -> StorageError {
    let sql = "SELECT * FROM outbox WHERE business_id = ?1 AND message_id = ?2";
    match query_one(tx, OUTBOX, sql, key, outbox_row) {
        Ok(_) => StorageError::conflict("outbox item", NOT_CLAIMED),
        Err(e) => e,
    }
}

pub(crate) fn insert_item(tx: &Transaction<'_>, o: &OutboxItem) -> Result<(), StorageError> {
    insert_item_values(tx, item_values(o)?)
}

/// Stores an outbox row from [`item_values`].
pub(crate) fn insert_item_values(
    tx: &Transaction<'_>,
    args: Vec<Value>,
) -> Result<(), StorageError> {
    crate::listing::insert_rows(tx, OUTBOX, OUTBOX_INSERT, 13, vec![args])
}

/// The values an outbox row is stored with, ready to bind.
pub(crate) fn item_values(o: &OutboxItem) -> Result<Vec<Value>, StorageError> {
    Ok(vec![
        blob(o.business_id.as_uuid()),
        blob(o.message_id.as_uuid()),
        Value::Text(o.sender.to_string()),
        Value::Text(o.recipient.to_string()),
        Value::Integer(micros(o.run_at)),
        Value::Integer(i64::from(o.attempts)),
        Value::Text(enum_to_text(&o.state)?),
        o.claimed_until.map_or(Value::Null, |t| Value::Integer(micros(t))),
        text(o.last_error.as_deref()),
        code(o.error_code),
        Value::Integer(micros(o.created_at)),
        Value::Integer(micros(o.updated_at)),
        o.category.map(|c| enum_to_text(&c)).transpose()?.map_or(Value::Null, Value::Text),
    ])
}

/// The statement that ends a claimed or sending row with an outcome; it
/// changes nothing when the row is no longer claimed.
const FINISH: &str = "UPDATE outbox SET state = ?3, run_at = coalesce(?4, run_at),
       last_error = coalesce(?5, last_error),
       error_code = CASE WHEN ?9 = 1 THEN ?6 ELSE error_code END,
       claimed_until = NULL, updated_at = ?7, attempts = max(attempts - ?8, 0)
     WHERE business_id = ?1 AND message_id = ?2 AND state IN ('claimed', 'sending')";

fn finish_args(
    business: BusinessId,
    message: MessageId,
    outcome: &OutboxOutcome,
    at: DateTime<Utc>,
) -> Result<Vec<Value>, StorageError> {
    let [state, run_at, error, c, sets_code, give_back] = outcome_values(outcome)?;
    Ok(vec![
        blob(business.as_uuid()),
        blob(message.as_uuid()),
        state,
        run_at,
        error,
        c,
        Value::Integer(micros(at)),
        give_back,
        sets_code,
    ])
}

#[async_trait]
impl OutboxStore for SqliteStorage {
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<(), StorageError> {
        let items = items.to_vec();
        self.write(move |tx| items.iter().try_for_each(|o| insert_item(tx, o))).await
    }

    async fn queue_messages(&self, rows: &[(Message, OutboxItem)]) -> Result<(), StorageError> {
        let rows = rows.to_vec();
        self.write(move |tx| {
            rows.iter().try_for_each(|(m, o)| {
                insert_message_tx(tx, m)?;
                insert_item(tx, o)
            })
        })
        .await
    }

    async fn get_outbox_item(
        &self,
        business: BusinessId,
        message: MessageId,
    ) -> Result<OutboxItem, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                OUTBOX,
                "SELECT * FROM outbox WHERE business_id = ?1 AND message_id = ?2",
                vec![blob(business.as_uuid()), blob(message.as_uuid())],
                outbox_row,
            )
        })
        .await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        claimed_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxItem>, StorageError> {
        self.write(move |tx| {
            let mut rows = query_all(
                tx,
                OUTBOX,
                "UPDATE outbox SET state = 'claimed', attempts = attempts + 1,
                   claimed_until = ?3, updated_at = ?1
                 WHERE (business_id, message_id) IN (
                   SELECT business_id, message_id FROM outbox
                   WHERE state = 'pending' AND run_at <= ?1
                   ORDER BY run_at, message_id, business_id LIMIT ?2)
                 RETURNING *",
                vec![
                    Value::Integer(micros(now)),
                    Value::Integer(i64::from(limit)),
                    Value::Integer(micros(claimed_until)),
                ],
                outbox_row,
            )?;
            // RETURNING gives no order; callers get the earliest first.
            rows.sort_by_key(|o| (o.run_at, o.message_id));
            Ok(rows)
        })
        .await
    }

    async fn finish(
        &self,
        business: BusinessId,
        message: MessageId,
        outcome: &OutboxOutcome,
        at: DateTime<Utc>,
    ) -> Result<OutboxItem, StorageError> {
        let args = finish_args(business, message, outcome, at)?;
        self.write(move |tx| {
            let key = args[..2].to_vec();
            let sql = format!("{FINISH} RETURNING *");
            let updated = query_all(tx, OUTBOX, &sql, args, outbox_row)?.pop();
            updated.ok_or_else(|| not_claimed_or_missing(tx, key))
        })
        .await
    }

    async fn finish_many(
        &self,
        rows: &[OutboxFinish],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError> {
        let rows: Vec<(Vec<Value>, Option<Message>)> = rows
            .iter()
            .map(|r| {
                Ok((finish_args(r.key.business, r.key.message, &r.outcome, at)?, r.message.clone()))
            })
            .collect::<Result<_, StorageError>>()?;
        self.write(move |tx| {
            let mut stmt = tx.prepare_cached(FINISH).map_err(|e| map(OUTBOX, e))?;
            let mut done = Vec::with_capacity(rows.len());
            for (args, message) in rows {
                let finished =
                    stmt.execute(rusqlite::params_from_iter(args)).map_err(|e| map(OUTBOX, e))?
                        == 1;
                // A lapsed row's message is left for its status callback.
                if let (true, Some(m)) = (finished, &message) {
                    update_delivery_tx(tx, m)?;
                }
                done.push(finished);
            }
            Ok(done)
        })
        .await
    }

    async fn settle_unknown(
        &self,
        business: BusinessId,
        message: MessageId,
        delivered: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let state = if delivered { OutboxState::Sent } else { OutboxState::Failed };
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE outbox SET state = ?3, updated_at = ?4
                     WHERE business_id = ?1 AND message_id = ?2 AND state = 'unknown'",
                    rusqlite::params_from_iter([
                        blob(business.as_uuid()),
                        blob(message.as_uuid()),
                        Value::Text(enum_to_text(&state)?),
                        Value::Integer(micros(at)),
                    ]),
                )
                .map_err(|e| map(OUTBOX, e))?;
            Ok(changed == 1)
        })
        .await
    }

    async fn start_sends(
        &self,
        rows: &[OutboxKey],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError> {
        let rows = rows.to_vec();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'sending', updated_at = ?3
                     WHERE business_id = ?1 AND message_id = ?2 AND state = 'claimed'",
                )
                .map_err(|e| map(OUTBOX, e))?;
            rows.iter()
                .map(|k| {
                    stmt.execute(rusqlite::params_from_iter([
                        blob(k.business.as_uuid()),
                        blob(k.message.as_uuid()),
                        Value::Integer(micros(at)),
                    ]))
                    .map(|n| n == 1)
                    .map_err(|e| map(OUTBOX, e))
                })
                .collect()
        })
        .await
    }

    async fn expire_claims(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        self.write(move |tx| {
            // One statement over exactly the rows the partial index holds.
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE outbox SET
                       state = CASE state WHEN 'claimed' THEN 'pending' ELSE 'unknown' END,
                       attempts = CASE state WHEN 'claimed' THEN max(attempts - 1, 0)
                                  ELSE attempts END,
                       claimed_until = NULL, updated_at = ?1
                     WHERE state IN ('claimed', 'sending') AND claimed_until < ?1
                     RETURNING state",
                )
                .map_err(|e| map(OUTBOX, e))?;
            let states = stmt
                .query_map([micros(now)], |r| r.get::<_, String>(0))
                .map_err(|e| map(OUTBOX, e))?;
            let mut unknown = 0;
            for s in states {
                if s.map_err(|e| map(OUTBOX, e))? == "unknown" {
                    unknown += 1;
                }
            }
            Ok(unknown)
        })
        .await
    }

    async fn recent_marketing(
        &self,
        business: BusinessId,
        recipient: &PhoneNumber,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StorageError> {
        let recipient = recipient.to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT updated_at FROM outbox WHERE business_id = ?1 AND recipient = ?2
                       AND category = 'marketing' AND state = 'sent' AND updated_at >= ?3
                     ORDER BY updated_at",
                )
                .map_err(|e| map(OUTBOX, e))?;
            let rows = stmt
                .query_map(
                    rusqlite::params![blob(business.as_uuid()), recipient, micros(since)],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(|e| map(OUTBOX, e))?;
            rows.map(|r| {
                let v = r.map_err(|e| map(OUTBOX, e))?;
                DateTime::from_timestamp_micros(v)
                    .ok_or_else(|| StorageError::Corrupt("updated_at: out of range".into()))
            })
            .collect()
        })
        .await
    }

    async fn marketing_counts_since(
        &self,
        business: BusinessId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(PhoneNumber, u32)>, StorageError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT recipient, count(*) FROM outbox WHERE business_id = ?1
                       AND category = 'marketing' AND state = 'sent' AND updated_at >= ?2
                     GROUP BY recipient",
                )
                .map_err(|e| map(OUTBOX, e))?;
            let rows = stmt
                .query_map(rusqlite::params![blob(business.as_uuid()), micros(since)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(|e| map(OUTBOX, e))?;
            rows.map(|r| {
                let (phone, n) = r.map_err(|e| map(OUTBOX, e))?;
                let phone = phone.parse().map_err(|e| crate::error::corrupt("recipient", e))?;
                Ok((phone, u32::try_from(n).unwrap_or(u32::MAX)))
            })
            .collect()
        })
        .await
    }

    async fn cancel_pending(
        &self,
        business: BusinessId,
        messages: &[MessageId],
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let messages = messages.to_vec();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'cancelled', updated_at = ?3
                     WHERE business_id = ?1 AND message_id = ?2 AND state = 'pending'",
                )
                .map_err(|e| map(OUTBOX, e))?;
            let mut n = 0;
            for m in messages {
                n += stmt
                    .execute(rusqlite::params_from_iter([
                        blob(business.as_uuid()),
                        blob(m.as_uuid()),
                        Value::Integer(micros(at)),
                    ]))
                    .map_err(|e| map(OUTBOX, e))?;
            }
            Ok(n as u64)
        })
        .await
    }
}
