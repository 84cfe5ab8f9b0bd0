//! The outbox. Claims use `FOR UPDATE SKIP LOCKED`, so concurrent dispatchers
//! (in one process or many) each take different rows without waiting.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    NOT_CLAIMED, OutboxFinish, OutboxKey, OutboxOutcome, OutboxStore, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, Message, MessageId, OutboxItem, OutboxState, PhoneNumber, StorageError,
};

use crate::codec::{get, get_enum, get_opt_enum, get_parsed};
use crate::error::{Ctx, corrupt, map};
use crate::messaging::{insert_message_tx, update_delivery_tx};
use crate::storage::PostgresStorage;

const OUTBOX: Ctx = Ctx::new("outbox item", "message");

fn outbox_row(row: &PgRow) -> Result<OutboxItem, StorageError> {
    let attempts: i32 = get(row, "attempts")?;
    let code: Option<i64> = get(row, "error_code")?;
    Ok(OutboxItem {
        message_id: MessageId::from_uuid(get(row, "message_id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        sender: get_parsed(row, "sender")?,
        recipient: get_parsed(row, "recipient")?,
        category: get_opt_enum(row, "category")?,
        run_at: get(row, "run_at")?,
        attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", e))?,
        state: get_enum(row, "state")?,
        claimed_until: get(row, "claimed_until")?,
        last_error: get(row, "last_error")?,
        error_code: code
            .map(|c| u32::try_from(c).map_err(|e| corrupt("error_code", e)))
            .transpose()?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn rows(rows: &[PgRow]) -> Result<Vec<OutboxItem>, StorageError> {
    rows.iter().map(outbox_row).collect()
}

impl PostgresStorage {
    /// Why a conditional update of one row changed nothing: the row is not in
    /// the state it needed, or it does not exist.
    async fn not_claimed_or_missing(
        &self,
        business: BusinessId,
        message: MessageId,
    ) -> StorageError {
        match self.get_outbox_item(business, message).await {
            Ok(_) => StorageError::conflict("outbox item", NOT_CLAIMED),
            Err(e) => e,
        }
    }
}

pub(crate) async fn insert_item(
    c: &mut sqlx::PgConnection,
    o: &OutboxItem,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO outbox (business_id, message_id, sender, recipient, run_at, attempts,
           state, claimed_until, last_error, error_code, created_at, updated_at, category)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(o.business_id.as_uuid())
    .bind(o.message_id.as_uuid())
    .bind(o.sender.to_string())
    .bind(o.recipient.to_string())
    .bind(o.run_at)
    .bind(i32::try_from(o.attempts).unwrap_or(i32::MAX))
    .bind(enum_to_text(&o.state)?)
    .bind(o.claimed_until)
    .bind(o.last_error.as_deref())
    .bind(o.error_code.map(i64::from))
    .bind(o.created_at)
    .bind(o.updated_at)
    .bind(o.category.map(|c| enum_to_text(&c)).transpose()?)
    .execute(&mut *c)
    .await
    .map_err(|e| map(OUTBOX, e))?;
    Ok(())
}

/// Ends a claimed or sending row with an outcome; no row when it is no
/// longer claimed.
fn finish_query<'a>(
    business: BusinessId,
    message: MessageId,
    outcome: &'a OutboxOutcome,
    at: DateTime<Utc>,
) -> Result<sqlx::query::Query<'a, sqlx::Postgres, sqlx::postgres::PgArguments>, StorageError> {
    let e = outcome.effect();
    Ok(sqlx::query(
        "UPDATE outbox SET state = $3, run_at = coalesce($4, run_at),
           last_error = coalesce($5, last_error),
           error_code = CASE WHEN $9 THEN $6 ELSE error_code END,
           claimed_until = NULL, updated_at = $7, attempts = greatest(attempts - $8, 0)
         WHERE business_id = $1 AND message_id = $2 AND state IN ('claimed', 'sending')
         RETURNING *",
    )
    .bind(business.as_uuid())
    .bind(message.as_uuid())
    .bind(enum_to_text(&e.state)?)
    .bind(e.run_at)
    .bind(e.error)
    .bind(e.code.flatten().map(i64::from))
    .bind(at)
    .bind(i32::from(e.gives_back_attempt))
    .bind(e.code.is_some()))
}

#[async_trait]
impl OutboxStore for PostgresStorage {
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(OUTBOX, e))?;
        for o in items {
            insert_item(&mut tx, o).await?;
        }
        tx.commit().await.map_err(|e| map(OUTBOX, e))
    }

    async fn queue_messages(&self, rows: &[(Message, OutboxItem)]) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(OUTBOX, e))?;
        for (m, o) in rows {
            insert_message_tx(&mut tx, m).await?;
            insert_item(&mut tx, o).await?;
        }
        tx.commit().await.map_err(|e| map(OUTBOX, e))
    }

    async fn get_outbox_item(
        &self,
        business: BusinessId,
        message: MessageId,
    ) -> Result<OutboxItem, StorageError> {
        let row = sqlx::query("SELECT * FROM outbox WHERE business_id = $1 AND message_id = $2")
            .bind(business.as_uuid())
            .bind(message.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(OUTBOX, e))?;
        row.as_ref().map(outbox_row).transpose()?.ok_or(StorageError::not_found("outbox item"))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        claimed_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxItem>, StorageError> {
        let found = sqlx::query(
            "WITH due AS (
               SELECT business_id, message_id FROM outbox
               WHERE state = 'pending' AND run_at <= $1
               ORDER BY run_at, message_id, business_id LIMIT $2
               FOR UPDATE SKIP LOCKED)
             UPDATE outbox o SET state = 'claimed', attempts = o.attempts + 1,
               claimed_until = $3, updated_at = $1
             FROM due WHERE o.business_id = due.business_id AND o.message_id = due.message_id
             RETURNING o.*",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(claimed_until)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(OUTBOX, e))?;
        let mut out = rows(&found)?;
        // RETURNING gives no order; callers get the earliest first.
        out.sort_by_key(|o| (o.run_at, o.message_id));
        Ok(out)
    }

    async fn finish(
        &self,
        business: BusinessId,
        message: MessageId,
        outcome: &OutboxOutcome,
        at: DateTime<Utc>,
    ) -> Result<OutboxItem, StorageError> {
        let row = finish_query(business, message, outcome, at)?
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(OUTBOX, e))?;
        match row {
            Some(row) => outbox_row(&row),
            None => Err(self.not_claimed_or_missing(business, message).await),
        }
    }

    async fn finish_many(
        &self,
        rows: &[OutboxFinish],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(OUTBOX, e))?;
        let mut done = Vec::with_capacity(rows.len());
        for r in rows {
            let finished = finish_query(r.key.business, r.key.message, &r.outcome, at)?
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| map(OUTBOX, e))?
                .is_some();
            // A lapsed row's message is left for its status callback.
            if let (true, Some(m)) = (finished, &r.message) {
                update_delivery_tx(&mut tx, m).await?;
            }
            done.push(finished);
        }
        tx.commit().await.map_err(|e| map(OUTBOX, e))?;
        Ok(done)
    }

    async fn settle_unknown(
        &self,
        business: BusinessId,
        message: MessageId,
        delivered: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let state = if delivered { OutboxState::Sent } else { OutboxState::Failed };
        let done = sqlx::query(
            "UPDATE outbox SET state = $3, updated_at = $4
             WHERE business_id = $1 AND message_id = $2 AND state = 'unknown'",
        )
        .bind(business.as_uuid())
        .bind(message.as_uuid())
        .bind(enum_to_text(&state)?)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(OUTBOX, e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn start_sends(
        &self,
        rows: &[OutboxKey],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError> {
        let businesses: Vec<uuid::Uuid> = rows.iter().map(|k| k.business.as_uuid()).collect();
        let messages: Vec<uuid::Uuid> = rows.iter().map(|k| k.message.as_uuid()).collect();
        let marked: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
            "UPDATE outbox o SET state = 'sending', updated_at = $3
             FROM unnest($1::uuid[], $2::uuid[]) AS k(business_id, message_id)
             WHERE o.business_id = k.business_id AND o.message_id = k.message_id
               AND o.state = 'claimed'
             RETURNING o.business_id, o.message_id",
        )
        .bind(&businesses)
        .bind(&messages)
        .bind(at)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(OUTBOX, e))?;
        let marked: std::collections::HashSet<_> = marked.into_iter().collect();
        Ok(rows
            .iter()
            .map(|k| marked.contains(&(k.business.as_uuid(), k.message.as_uuid())))
            .collect())
    }

    async fn expire_claims(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        // One statement, so a row is either given back or marked unknown.
        let unknown: i64 = sqlx::query_scalar(
            "WITH lapsed AS (
               UPDATE outbox SET
                 state = CASE state WHEN 'sending' THEN 'unknown' ELSE 'pending' END,
                 attempts = CASE state WHEN 'sending' THEN attempts ELSE greatest(attempts - 1, 0) END,
                 claimed_until = NULL, updated_at = $1
               WHERE state IN ('claimed', 'sending') AND claimed_until < $1
               RETURNING state)
             SELECT count(*) FROM lapsed WHERE state = 'unknown'",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map(OUTBOX, e))?;
        Ok(u64::try_from(unknown).unwrap_or(0))
    }

    async fn recent_marketing(
        &self,
        business: BusinessId,
        recipient: &PhoneNumber,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StorageError> {
        let times: Vec<(DateTime<Utc>,)> = sqlx::query_as(
            "SELECT updated_at FROM outbox WHERE business_id = $1 AND recipient = $2
               AND category = 'marketing' AND state = 'sent' AND updated_at >= $3
             ORDER BY updated_at",
        )
        .bind(business.as_uuid())
        .bind(recipient.to_string())
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(OUTBOX, e))?;
        Ok(times.into_iter().map(|(t,)| t).collect())
    }

    async fn marketing_counts_since(
        &self,
        business: BusinessId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(PhoneNumber, u32)>, StorageError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT recipient, count(*) FROM outbox WHERE business_id = $1
               AND category = 'marketing' AND state = 'sent' AND updated_at >= $2
             GROUP BY recipient",
        )
        .bind(business.as_uuid())
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(OUTBOX, e))?;
        rows.into_iter()
            .map(|(phone, n)| {
                let phone = phone.parse().map_err(|e| corrupt("recipient", e))?;
                Ok((phone, u32::try_from(n).unwrap_or(u32::MAX)))
            })
            .collect()
    }

    async fn cancel_pending(
        &self,
        business: BusinessId,
        messages: &[MessageId],
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let ids: Vec<uuid::Uuid> = messages.iter().map(|m| m.as_uuid()).collect();
        let done = sqlx::query(
            "UPDATE outbox SET state = 'cancelled', updated_at = $3
             WHERE business_id = $1 AND message_id = ANY($2) AND state = 'pending'",
        )
        .bind(business.as_uuid())
        .bind(&ids)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(OUTBOX, e))?;
        Ok(done.rows_affected())
    }
}
