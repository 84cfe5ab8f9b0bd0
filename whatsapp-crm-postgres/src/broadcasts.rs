//! Broadcasts and their recipients.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    BROADCAST_CHANGED, BroadcastCounts, BroadcastSpec, BroadcastStore, LaunchBatch, Page,
    RecipientStatus, clamp_limit, counts_from_statuses, enum_to_text,
};
use whatsapp_crm_core::{
    Broadcast, BroadcastId, BroadcastRecipient, BroadcastStatus, BusinessId, CampaignId,
    CustomerId, MessageId, MessageStatus, OutboxState, SkipReason, StorageError, TemplateId,
};

use crate::codec::{get, get_enum, get_json, get_opt_enum, to_json};
use crate::error::{Ctx, map};
use crate::listing::Listing;
use crate::messaging::{insert_conversation_tx, insert_message_tx};
use crate::outbox::insert_item;
use crate::storage::PostgresStorage;

const BROADCAST: Ctx = Ctx::new("broadcast", "template");
const RECIPIENT: Ctx = Ctx::new("broadcast recipient", "broadcast");

fn count(row: &PgRow, col: &str) -> Result<u32, StorageError> {
    Ok(u32::try_from(get::<i32>(row, col)?).unwrap_or(0))
}

pub(crate) fn broadcast_row(row: &PgRow) -> Result<Broadcast, StorageError> {
    let spec: BroadcastSpec = get_json(row, "spec")?;
    Ok(Broadcast {
        id: BroadcastId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        name: get(row, "name")?,
        template_id: TemplateId::from_uuid(get(row, "template_id")?),
        variables: spec.variables,
        audience: spec.audience,
        send_at: get(row, "send_at")?,
        status: get_enum(row, "status")?,
        pause_reason: get(row, "pause_reason")?,
        auto_pause: spec.auto_pause,
        ab_test: spec.ab_test,
        recipients: count(row, "recipients")?,
        queued: count(row, "queued")?,
        skipped: count(row, "skipped")?,
        launch_cursor: get::<Option<uuid::Uuid>>(row, "launch_cursor")?.map(CustomerId::from_uuid),
        launch_complete: get(row, "launch_complete")?,
        campaign_id: get::<Option<uuid::Uuid>>(row, "campaign_id")?.map(CampaignId::from_uuid),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        launched_at: get(row, "launched_at")?,
        finished_at: get(row, "finished_at")?,
    })
}

fn recipient_row(row: &PgRow) -> Result<RecipientStatus, StorageError> {
    let code: Option<i64> = get(row, "m_code")?;
    Ok(RecipientStatus {
        recipient: BroadcastRecipient {
            broadcast_id: BroadcastId::from_uuid(get(row, "broadcast_id")?),
            customer_id: CustomerId::from_uuid(get(row, "customer_id")?),
            message_id: get::<Option<uuid::Uuid>>(row, "message_id")?.map(MessageId::from_uuid),
            skipped: get_opt_enum(row, "skipped")?,
            variant: get::<Option<i16>>(row, "variant")?.and_then(|v| u8::try_from(v).ok()),
        },
        status: get_opt_enum(row, "m_status")?,
        error_code: code.and_then(|c| u32::try_from(c).ok()),
    })
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Binds every column a broadcast writes, `$1`..`$18`.
fn bind_all<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    b: &'q Broadcast,
) -> Result<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>, StorageError> {
    Ok(q.bind(b.business_id.as_uuid())
        .bind(b.id.as_uuid())
        .bind(b.template_id.as_uuid())
        .bind(&b.name)
        .bind(sqlx::types::Json(to_json(&BroadcastSpec::of(b))?))
        .bind(b.send_at)
        .bind(enum_to_text(&b.status)?)
        .bind(b.pause_reason.as_deref())
        .bind(int(b.recipients))
        .bind(int(b.queued))
        .bind(int(b.skipped))
        .bind(b.launch_cursor.map(|c| c.as_uuid()))
        .bind(b.launch_complete)
        .bind(b.created_at)
        .bind(b.updated_at)
        .bind(b.launched_at)
        .bind(b.finished_at)
        .bind(b.campaign_id.map(|c| c.as_uuid())))
}

impl PostgresStorage {
    async fn broadcast_exists(
        &self,
        c: &mut sqlx::PgConnection,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<BroadcastStatus, StorageError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM broadcasts WHERE business_id = $1 AND id = $2")
                .bind(business.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await
                .map_err(|e| map(BROADCAST, e))?;
        let status = status.ok_or(StorageError::not_found("broadcast"))?;
        text("status", status)
    }
}

#[async_trait]
impl BroadcastStore for PostgresStorage {
    async fn insert_broadcast(&self, b: &Broadcast) -> Result<(), StorageError> {
        let q = sqlx::query(
            "INSERT INTO broadcasts (business_id, id, template_id, name, spec, send_at, status,
               pause_reason, recipients, queued, skipped, launch_cursor, launch_complete,
               created_at, updated_at, launched_at, finished_at, campaign_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
               $18)",
        );
        bind_all(q, b)?.execute(&self.pool).await.map_err(|e| map(BROADCAST, e))?;
        Ok(())
    }

    async fn get_broadcast(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, StorageError> {
        let row = sqlx::query("SELECT * FROM broadcasts WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(BROADCAST, e))?;
        row.as_ref().map(broadcast_row).transpose()?.ok_or(StorageError::not_found("broadcast"))
    }

    async fn list_broadcasts(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<BroadcastId>,
    ) -> Result<Page<Broadcast>, StorageError> {
        let mut l = Listing::new("broadcasts", business)?;
        if let Some(after) = after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, BROADCAST, clamp_limit(limit), broadcast_row, |b| b.id.to_string()).await
    }

    async fn update_broadcast(
        &self,
        b: &Broadcast,
        expected: BroadcastStatus,
    ) -> Result<(), StorageError> {
        let expected = enum_to_text(&expected)?;
        let q = sqlx::query(
            "UPDATE broadcasts SET template_id = $3, name = $4, spec = $5, send_at = $6,
               status = $7, pause_reason = $8, recipients = $9, queued = $10, skipped = $11,
               launch_cursor = $12, launch_complete = $13, updated_at = $15,
               launched_at = $16, finished_at = $17
             WHERE business_id = $1 AND id = $2 AND status = $19 AND created_at = $14
               AND campaign_id IS NOT DISTINCT FROM $18",
        );
        let done = bind_all(q, b)?
            .bind(expected)
            .execute(&self.pool)
            .await
            .map_err(|e| map(BROADCAST, e))?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        self.get_broadcast(b.business_id, b.id).await?;
        Err(StorageError::conflict("broadcast", BROADCAST_CHANGED))
    }

    async fn active_broadcasts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, BroadcastId)>, StorageError> {
        let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
            "SELECT business_id, id FROM broadcasts
             WHERE (status = 'scheduled' AND (send_at IS NULL OR send_at <= $1))
                OR status IN ('launching', 'sending')
             ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(BROADCAST, e))?;
        Ok(rows
            .into_iter()
            .map(|(b, id)| (BusinessId::from_uuid(b), BroadcastId::from_uuid(id)))
            .collect())
    }

    async fn record_launch_batch(&self, batch: &LaunchBatch) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(BROADCAST, e))?;
        // Lock the broadcast so a pause or cancel waits for this batch, or wins.
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM broadcasts WHERE business_id = $1 AND id = $2 FOR UPDATE",
        )
        .bind(batch.business.as_uuid())
        .bind(batch.broadcast.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(BROADCAST, e))?;
        match status.as_deref() {
            None => return Err(StorageError::not_found("broadcast")),
            Some("launching") => {}
            Some(_) => return Err(StorageError::conflict("broadcast", BROADCAST_CHANGED)),
        }
        for c in batch.conversations() {
            insert_conversation_tx(&mut tx, &c).await?;
        }
        for (m, o) in batch.messages() {
            insert_message_tx(&mut tx, &m).await?;
            insert_item(&mut tx, &o).await?;
        }
        let recipients: Vec<_> = batch.recipients().collect();
        let customers: Vec<uuid::Uuid> =
            recipients.iter().map(|r| r.customer_id.as_uuid()).collect();
        let messages: Vec<Option<uuid::Uuid>> =
            recipients.iter().map(|r| r.message_id.map(|m| m.as_uuid())).collect();
        let variants: Vec<Option<i16>> =
            recipients.iter().map(|r| r.variant.map(i16::from)).collect();
        let skipped: Vec<Option<String>> = recipients
            .iter()
            .map(|r| r.skipped.map(|s| enum_to_text(&s)).transpose())
            .collect::<Result<_, _>>()?;
        sqlx::query(
            "INSERT INTO broadcast_recipients (business_id, broadcast_id, customer_id, message_id,
               skipped, variant)
             SELECT $1, $2, * FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::smallint[])",
        )
        .bind(batch.business.as_uuid())
        .bind(batch.broadcast.as_uuid())
        .bind(&customers)
        .bind(&messages)
        .bind(&skipped)
        .bind(&variants)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(RECIPIENT, e))?;
        let queued = messages.iter().filter(|m| m.is_some()).count();
        let skipped = messages.len() - queued;
        sqlx::query(
            "UPDATE broadcasts SET queued = queued + $3, skipped = skipped + $4,
               recipients = recipients + $3 + $4, launch_cursor = coalesce($5, launch_cursor),
               launch_complete = launch_complete OR $6,
               status = CASE WHEN $6 THEN 'sending' ELSE status END, updated_at = $7
             WHERE business_id = $1 AND id = $2",
        )
        .bind(batch.business.as_uuid())
        .bind(batch.broadcast.as_uuid())
        .bind(i32::try_from(queued).unwrap_or(i32::MAX))
        .bind(i32::try_from(skipped).unwrap_or(i32::MAX))
        .bind(batch.cursor.map(|c| c.as_uuid()))
        .bind(batch.last)
        .bind(batch.at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(BROADCAST, e))?;
        tx.commit().await.map_err(|e| map(BROADCAST, e))
    }

    async fn move_broadcast_rows(
        &self,
        business: BusinessId,
        id: BroadcastId,
        from: OutboxState,
        to: OutboxState,
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = $4, updated_at = $5
             WHERE business_id = $1 AND state = $3 AND message_id IN (
               SELECT message_id FROM broadcast_recipients
               WHERE business_id = $1 AND broadcast_id = $2 AND message_id IS NOT NULL)",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .bind(enum_to_text(&from)?)
        .bind(enum_to_text(&to)?)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(BROADCAST, e))?;
        Ok(done.rows_affected())
    }

    async fn broadcast_counts(
        &self,
        business: BusinessId,
        id: BroadcastId,
        reply_window: Option<Duration>,
        variant: Option<u8>,
    ) -> Result<BroadcastCounts, StorageError> {
        let variant = variant.map(i16::from);
        let mut tx = self.pool.begin().await.map_err(|e| map(BROADCAST, e))?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(|e| map(BROADCAST, e))?;
        self.broadcast_exists(&mut tx, business, id).await?;
        let (b, id) = (business.as_uuid(), id.as_uuid());
        let statuses: Vec<(String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT m.status, m.error_code, count(*) FROM broadcast_recipients r JOIN messages m
               ON m.business_id = r.business_id AND m.id = r.message_id
             WHERE r.business_id = $1 AND r.broadcast_id = $2
               AND ($3::smallint IS NULL OR r.variant = $3) GROUP BY 1, 2",
        )
        .bind(b)
        .bind(id)
        .bind(variant)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map(BROADCAST, e))?;
        let skipped: Vec<(String, i64)> = sqlx::query_as(
            "SELECT skipped, count(*) FROM broadcast_recipients
             WHERE business_id = $1 AND broadcast_id = $2 AND skipped IS NOT NULL
               AND ($3::smallint IS NULL OR variant = $3) GROUP BY 1",
        )
        .bind(b)
        .bind(id)
        .bind(variant)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map(BROADCAST, e))?;
        let states: Vec<(String, i64)> = sqlx::query_as(
            "SELECT o.state, count(*) FROM broadcast_recipients r JOIN outbox o
               ON o.business_id = r.business_id AND o.message_id = r.message_id
             WHERE r.business_id = $1 AND r.broadcast_id = $2
               AND ($3::smallint IS NULL OR r.variant = $3) GROUP BY 1",
        )
        .bind(b)
        .bind(id)
        .bind(variant)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map(BROADCAST, e))?;
        let answered = sqlx::query_as(
            "SELECT
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM messages i
                 WHERE i.business_id = m.business_id AND i.customer_id = m.customer_id
                   AND i.direction = 'inbound' AND i.created_at > m.created_at
                   AND i.created_at <= m.created_at + $4)),
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM messages i
                 WHERE i.business_id = m.business_id AND i.customer_id = m.customer_id
                   AND i.direction = 'inbound' AND i.kind = 'interactive'
                   AND i.created_at > m.created_at AND i.created_at <= m.created_at + $4))
             FROM broadcast_recipients r JOIN messages m
               ON m.business_id = r.business_id AND m.id = r.message_id
             WHERE r.business_id = $1 AND r.broadcast_id = $2
               AND ($3::smallint IS NULL OR r.variant = $3)",
        )
        .bind(b)
        .bind(id)
        .bind(variant)
        .bind(reply_window);
        let (replies, clicks): (i64, i64) = match reply_window {
            Some(_) => answered.fetch_one(&mut *tx).await.map_err(|e| map(BROADCAST, e))?,
            None => (0, 0),
        };
        tx.commit().await.map_err(|e| map(BROADCAST, e))?;
        let n = |n: i64| u32::try_from(n).unwrap_or(0);

        let statuses = statuses
            .into_iter()
            .map(|(s, code, c)| {
                let status: MessageStatus = text("status", s)?;
                Ok(((status, code.and_then(|c| u32::try_from(c).ok())), n(c)))
            })
            .collect::<Result<_, StorageError>>()?;
        let skipped = skipped
            .into_iter()
            .map(|(s, c)| Ok((text::<SkipReason>("skipped", s)?, n(c))))
            .collect::<Result<_, StorageError>>()?;
        let states = states
            .into_iter()
            .map(|(s, c)| Ok((text::<OutboxState>("state", s)?, n(c))))
            .collect::<Result<_, StorageError>>()?;
        Ok(counts_from_statuses(statuses, skipped, states, n(replies), n(clicks)))
    }

    async fn list_broadcast_recipients(
        &self,
        business: BusinessId,
        id: BroadcastId,
        limit: u32,
        after: Option<CustomerId>,
    ) -> Result<Page<RecipientStatus>, StorageError> {
        let limit = clamp_limit(limit);
        let mut c = self.pool.acquire().await.map_err(|e| map(BROADCAST, e))?;
        self.broadcast_exists(&mut c, business, id).await?;
        let rows = sqlx::query(
            "SELECT r.*, m.status AS m_status, m.error_code AS m_code
             FROM broadcast_recipients r LEFT JOIN messages m
               ON m.business_id = r.business_id AND m.id = r.message_id
             WHERE r.business_id = $1 AND r.broadcast_id = $2
               AND ($3::uuid IS NULL OR r.customer_id > $3)
             ORDER BY r.customer_id LIMIT $4",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .bind(after.map(|a| a.as_uuid()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *c)
        .await
        .map_err(|e| map(RECIPIENT, e))?;
        let rows = rows.iter().map(recipient_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(rows, limit, |r| r.recipient.customer_id.to_string()))
    }
}

/// A stored enum's text, read back.
fn text<T: serde::de::DeserializeOwned>(col: &str, s: String) -> Result<T, StorageError> {
    whatsapp_crm_core::ports::enum_from_text(col, s)
}
