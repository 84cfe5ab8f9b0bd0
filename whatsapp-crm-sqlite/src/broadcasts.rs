//! Broadcasts and their recipients.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::types::Value;
use rusqlite::{Row, Transaction, params_from_iter};
use whatsapp_crm_core::ports::{
    BROADCAST_CHANGED, BroadcastCounts, BroadcastSpec, BroadcastStore, LaunchBatch, Page,
    RecipientStatus, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    Broadcast, BroadcastId, BroadcastRecipient, BroadcastStatus, BusinessId, CampaignId,
    CustomerId, MessageId, MessageStatus, OutboxState, SkipReason, StorageError, TemplateId,
};

use crate::codec::{
    get, get_enum, get_json, get_opt_enum, get_opt_time, get_opt_uuid, get_time, get_uuid, micros,
    opt_micros, to_json,
};
use crate::error::{Ctx, map};
use crate::listing::{blob, insert_alike, query_all, query_one};
use crate::messaging::{
    CONVERSATION, CONVERSATION_INSERT, MESSAGE, MESSAGE_INSERT, conversation_values, message_values,
};
use crate::outbox::{OUTBOX, OUTBOX_INSERT, item_values};
use crate::storage::SqliteStorage;

const BROADCAST: Ctx = Ctx::new("broadcast", "template");
const RECIPIENT: Ctx = Ctx::new("broadcast recipient", "broadcast");

pub(crate) fn broadcast_row(row: &Row<'_>) -> Result<Broadcast, StorageError> {
    let spec: BroadcastSpec = get_json(row, "spec")?;
    let count = |col: &str| -> Result<u32, StorageError> {
        Ok(u32::try_from(get::<i64>(row, col)?).unwrap_or(0))
    };
    Ok(Broadcast {
        id: BroadcastId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        name: get(row, "name")?,
        template_id: TemplateId::from_uuid(get_uuid(row, "template_id")?),
        variables: spec.variables,
        audience: spec.audience,
        send_at: get_opt_time(row, "send_at")?,
        status: get_enum(row, "status")?,
        pause_reason: get(row, "pause_reason")?,
        auto_pause: spec.auto_pause,
        ab_test: spec.ab_test,
        recipients: count("recipients")?,
        queued: count("queued")?,
        skipped: count("skipped")?,
        launch_cursor: get_opt_uuid(row, "launch_cursor")?.map(CustomerId::from_uuid),
        launch_complete: get::<i64>(row, "launch_complete")? != 0,
        campaign_id: get_opt_uuid(row, "campaign_id")?.map(CampaignId::from_uuid),
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        launched_at: get_opt_time(row, "launched_at")?,
        finished_at: get_opt_time(row, "finished_at")?,
    })
}

fn recipient_row(row: &Row<'_>) -> Result<RecipientStatus, StorageError> {
    let code: Option<i64> = get(row, "m_code")?;
    Ok(RecipientStatus {
        recipient: BroadcastRecipient {
            broadcast_id: BroadcastId::from_uuid(get_uuid(row, "broadcast_id")?),
            customer_id: CustomerId::from_uuid(get_uuid(row, "customer_id")?),
            message_id: get_opt_uuid(row, "message_id")?.map(MessageId::from_uuid),
            skipped: get_opt_enum(row, "skipped")?,
            variant: get::<Option<i64>>(row, "variant")?.and_then(|v| u8::try_from(v).ok()),
        },
        status: get_opt_enum(row, "m_status")?,
        error_code: code.and_then(|c| u32::try_from(c).ok()),
    })
}

/// Every column a broadcast writes, in the order of the statements below.
fn columns(b: &Broadcast) -> Result<Vec<Value>, StorageError> {
    let time = |t: Option<DateTime<Utc>>| opt_micros(t).map_or(Value::Null, Value::Integer);
    Ok(vec![
        blob(b.business_id.as_uuid()),
        blob(b.id.as_uuid()),
        blob(b.template_id.as_uuid()),
        Value::Text(b.name.clone()),
        Value::Text(to_json(&BroadcastSpec::of(b))?),
        time(b.send_at),
        Value::Text(enum_to_text(&b.status)?),
        b.pause_reason.clone().map_or(Value::Null, Value::Text),
        Value::Integer(i64::from(b.recipients)),
        Value::Integer(i64::from(b.queued)),
        Value::Integer(i64::from(b.skipped)),
        b.launch_cursor.map_or(Value::Null, |c| blob(c.as_uuid())),
        Value::Integer(i64::from(b.launch_complete)),
        Value::Integer(micros(b.created_at)),
        Value::Integer(micros(b.updated_at)),
        time(b.launched_at),
        time(b.finished_at),
        b.campaign_id.map_or(Value::Null, |c| blob(c.as_uuid())),
    ])
}

/// `(value, count)` pairs of a grouped count.
fn grouped<T>(
    c: &rusqlite::Connection,
    sql: &str,
    args: Vec<Value>,
    decode: impl Fn(&Row<'_>) -> Result<T, StorageError>,
) -> Result<Vec<(T, u32)>, StorageError> {
    let mut stmt = c.prepare_cached(sql).map_err(|e| map(BROADCAST, e))?;
    let mut rows = stmt.query(params_from_iter(args)).map_err(|e| map(BROADCAST, e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| map(BROADCAST, e))? {
        let n: i64 = row.get("n").map_err(|e| map(BROADCAST, e))?;
        out.push((decode(row)?, u32::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}

/// A launch batch as bound values: each table's rows as one whole row of the
/// values every row shares, and per row only the columns that differ.
struct Encoded {
    key: Vec<Value>,
    conversations: (Vec<Value>, Vec<Vec<Value>>),
    messages: (Vec<Value>, Vec<Vec<Value>>),
    outbox: (Vec<Value>, Vec<Vec<Value>>),
    recipients: Vec<Vec<Value>>,
    progress: [Value; 5],
}

/// The columns that differ between the rows of a launch, in each insert's
/// column order: conversation id and customer; message id, conversation,
/// customer, kind and content; outbox message id, recipient and category.
const CONVERSATION_VARYING: [usize; 2] = [1, 2];
const MESSAGE_VARYING: [usize; 5] = [1, 2, 3, 5, 6];
const OUTBOX_VARYING: [usize; 3] = [1, 3, 12];

/// The stored text of enum values that repeat row after row, made once per
/// run of equal values.
struct Texts<T>(Option<(T, Value)>);

impl<T: Copy + PartialEq + serde::Serialize> Texts<T> {
    fn of(&mut self, v: Option<T>) -> Result<Value, StorageError> {
        let Some(v) = v else { return Ok(Value::Null) };
        match &self.0 {
            Some((last, text)) if *last == v => Ok(text.clone()),
            _ => {
                let text = Value::Text(enum_to_text(&v)?);
                self.0 = Some((v, text.clone()));
                Ok(text)
            }
        }
    }
}

fn encode(batch: &LaunchBatch) -> Result<Encoded, StorageError> {
    let (mut kinds, mut categories, mut skips) = (Texts(None), Texts(None), Texts(None));
    // Shared values come from the batch's own rows, so they are whatever the
    // port says a launch stores.
    let conversation = batch.conversations().next().map(|c| conversation_values(&c)).transpose()?;
    let first = batch.messages().next();
    let message = first.as_ref().map(|(m, _)| message_values(m)).transpose()?;
    let item = first.as_ref().map(|(_, o)| item_values(o)).transpose()?;
    let mut conversations = Vec::new();
    let mut messages = Vec::with_capacity(batch.queued.len());
    let mut outbox = Vec::with_capacity(batch.queued.len());
    for q in &batch.queued {
        if q.opens_conversation {
            conversations
                .push(vec![blob(q.conversation_id.as_uuid()), blob(q.customer_id.as_uuid())]);
        }
        messages.push(vec![
            blob(q.message_id.as_uuid()),
            blob(q.conversation_id.as_uuid()),
            blob(q.customer_id.as_uuid()),
            kinds.of(Some(q.content.kind()))?,
            Value::Text(to_json(&q.content)?),
        ]);
        outbox.push(vec![
            blob(q.message_id.as_uuid()),
            Value::Text(q.phone.to_string()),
            categories.of(q.category)?,
        ]);
    }
    let key = vec![blob(batch.business.as_uuid()), blob(batch.broadcast.as_uuid())];
    let recipients = batch
        .recipients()
        .map(|r| {
            Ok(vec![
                blob(r.customer_id.as_uuid()),
                r.message_id.map_or(Value::Null, |m| blob(m.as_uuid())),
                skips.of(r.skipped)?,
                r.variant.map_or(Value::Null, |v| Value::Integer(i64::from(v))),
            ])
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(Encoded {
        key,
        conversations: (conversation.unwrap_or_default(), conversations),
        messages: (message.unwrap_or_default(), messages),
        outbox: (item.unwrap_or_default(), outbox),
        recipients,
        progress: [
            Value::Integer(i64::try_from(batch.queued.len()).unwrap_or(i64::MAX)),
            Value::Integer(i64::try_from(batch.skipped.len()).unwrap_or(i64::MAX)),
            batch.cursor.map_or(Value::Null, |c| blob(c.as_uuid())),
            Value::Integer(i64::from(batch.last)),
            Value::Integer(micros(batch.at)),
        ],
    })
}

fn record(tx: &Transaction<'_>, batch: Encoded) -> Result<(), StorageError> {
    let Encoded { key, conversations, messages, outbox, recipients, progress } = batch;
    let status: BroadcastStatus = query_one(
        tx,
        BROADCAST,
        "SELECT status FROM broadcasts WHERE business_id = ?1 AND id = ?2",
        key.clone(),
        |r| get_enum(r, "status"),
    )?;
    if status != BroadcastStatus::Launching {
        return Err(StorageError::conflict("broadcast", BROADCAST_CHANGED));
    }
    let (proto, rows) = conversations;
    insert_alike(tx, CONVERSATION, CONVERSATION_INSERT, &proto, &CONVERSATION_VARYING, rows)?;
    let (proto, rows) = messages;
    insert_alike(tx, MESSAGE, MESSAGE_INSERT, &proto, &MESSAGE_VARYING, rows)?;
    let (proto, rows) = outbox;
    insert_alike(tx, OUTBOX, OUTBOX_INSERT, &proto, &OUTBOX_VARYING, rows)?;
    let mut proto = key.clone();
    proto.extend([Value::Null, Value::Null, Value::Null, Value::Null]);
    insert_alike(
        tx,
        RECIPIENT,
        "INSERT INTO broadcast_recipients (business_id, broadcast_id, customer_id, message_id,
           skipped, variant)",
        &proto,
        &[2, 3, 4, 5],
        recipients,
    )?;
    let mut args = key;
    args.extend(progress);
    tx.prepare_cached(
        "UPDATE broadcasts SET queued = queued + ?3, skipped = skipped + ?4,
           recipients = recipients + ?3 + ?4, launch_cursor = coalesce(?5, launch_cursor),
           launch_complete = max(launch_complete, ?6),
           status = CASE WHEN ?6 = 1 THEN 'sending' ELSE status END, updated_at = ?7
         WHERE business_id = ?1 AND id = ?2",
    )
    .and_then(|mut s| s.execute(params_from_iter(args)))
    .map_err(|e| map(BROADCAST, e))?;
    Ok(())
}

#[async_trait]
impl BroadcastStore for SqliteStorage {
    async fn insert_broadcast(&self, broadcast: &Broadcast) -> Result<(), StorageError> {
        let args = columns(broadcast)?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO broadcasts (business_id, id, template_id, name, spec, send_at, status,
                   pause_reason, recipients, queued, skipped, launch_cursor, launch_complete,
                   created_at, updated_at, launched_at, finished_at, campaign_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                   ?18)",
                params_from_iter(args),
            )
            .map_err(|e| map(BROADCAST, e))?;
            Ok(())
        })
        .await
    }

    async fn get_broadcast(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                BROADCAST,
                "SELECT * FROM broadcasts WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                broadcast_row,
            )
        })
        .await
    }

    async fn list_broadcasts(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<BroadcastId>,
    ) -> Result<Page<Broadcast>, StorageError> {
        let mut l = crate::listing::Listing::new("SELECT * FROM broadcasts", "", business);
        l.after(after.map(|a| a.as_uuid()));
        l.page(self, BROADCAST, clamp_limit(limit), broadcast_row, |b| b.id.to_string()).await
    }

    async fn update_broadcast(
        &self,
        broadcast: &Broadcast,
        expected: BroadcastStatus,
    ) -> Result<(), StorageError> {
        let mut args = columns(broadcast)?;
        args.push(Value::Text(enum_to_text(&expected)?));
        self.write(move |tx| {
            let key = args[..2].to_vec();
            let n = tx
                .execute(
                    "UPDATE broadcasts SET template_id = ?3, name = ?4, spec = ?5, send_at = ?6,
                       status = ?7, pause_reason = ?8, recipients = ?9, queued = ?10, skipped = ?11,
                       launch_cursor = ?12, launch_complete = ?13, updated_at = ?15,
                       launched_at = ?16, finished_at = ?17
                     WHERE business_id = ?1 AND id = ?2 AND status = ?19",
                    params_from_iter(args),
                )
                .map_err(|e| map(BROADCAST, e))?;
            if n == 1 {
                return Ok(());
            }
            query_one(
                tx,
                BROADCAST,
                "SELECT * FROM broadcasts WHERE business_id = ?1 AND id = ?2",
                key,
                broadcast_row,
            )?;
            Err(StorageError::conflict("broadcast", BROADCAST_CHANGED))
        })
        .await
    }

    async fn active_broadcasts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, BroadcastId)>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                BROADCAST,
                "SELECT business_id, id FROM broadcasts
                 WHERE (status = 'scheduled' AND (send_at IS NULL OR send_at <= ?1))
                    OR status IN ('launching', 'sending')
                 ORDER BY id",
                vec![Value::Integer(micros(now))],
                |r| {
                    Ok((
                        BusinessId::from_uuid(get_uuid(r, "business_id")?),
                        BroadcastId::from_uuid(get_uuid(r, "id")?),
                    ))
                },
            )
        })
        .await
    }

    async fn record_launch_batch(&self, batch: &LaunchBatch) -> Result<(), StorageError> {
        let encoded = encode(batch)?;
        self.write(move |tx| record(tx, encoded)).await
    }

    async fn move_broadcast_rows(
        &self,
        business: BusinessId,
        id: BroadcastId,
        from: OutboxState,
        to: OutboxState,
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let args = vec![
            blob(business.as_uuid()),
            blob(id.as_uuid()),
            Value::Text(enum_to_text(&from)?),
            Value::Text(enum_to_text(&to)?),
            Value::Integer(micros(at)),
        ];
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE outbox SET state = ?4, updated_at = ?5
                     WHERE business_id = ?1 AND state = ?3 AND message_id IN (
                       SELECT message_id FROM broadcast_recipients
                       WHERE business_id = ?1 AND broadcast_id = ?2 AND message_id IS NOT NULL)",
                    params_from_iter(args),
                )
                .map_err(|e| map(BROADCAST, e))?;
            Ok(n as u64)
        })
        .await
    }

    async fn broadcast_counts(
        &self,
        business: BusinessId,
        id: BroadcastId,
        reply_window: Option<Duration>,
        variant: Option<u8>,
    ) -> Result<BroadcastCounts, StorageError> {
        let key = vec![blob(business.as_uuid()), blob(id.as_uuid())];
        let mut filtered = key.clone();
        filtered.push(variant.map_or(Value::Null, |v| Value::Integer(i64::from(v))));
        let window = reply_window.map(|w| w.num_microseconds().unwrap_or(i64::MAX));
        self.read(move |c| {
            // One snapshot for every count.
            let tx = c.unchecked_transaction().map_err(|e| map(BROADCAST, e))?;
            query_one(
                &tx,
                BROADCAST,
                "SELECT id FROM broadcasts WHERE business_id = ?1 AND id = ?2",
                key.clone(),
                |r| get_uuid(r, "id"),
            )?;
            let joined = "FROM broadcast_recipients r JOIN messages m
                 ON m.business_id = r.business_id AND m.id = r.message_id
                 WHERE r.business_id = ?1 AND r.broadcast_id = ?2
                   AND (?3 IS NULL OR r.variant = ?3)";
            let statuses = grouped(
                &tx,
                &format!("SELECT m.status, m.error_code, count(*) AS n {joined} GROUP BY 1, 2"),
                filtered.clone(),
                |r| {
                    let code: Option<i64> = get(r, "error_code")?;
                    Ok((
                        get_enum::<MessageStatus>(r, "status")?,
                        code.and_then(|c| u32::try_from(c).ok()),
                    ))
                },
            )?;
            let skipped = grouped(
                &tx,
                "SELECT skipped, count(*) AS n FROM broadcast_recipients
                 WHERE business_id = ?1 AND broadcast_id = ?2 AND skipped IS NOT NULL
                   AND (?3 IS NULL OR variant = ?3) GROUP BY 1",
                filtered.clone(),
                |r| get_enum::<SkipReason>(r, "skipped"),
            )?;
            let by_outbox_state = grouped(
                &tx,
                "SELECT o.state, count(*) AS n FROM broadcast_recipients r JOIN outbox o
                   ON o.business_id = r.business_id AND o.message_id = r.message_id
                 WHERE r.business_id = ?1 AND r.broadcast_id = ?2
                   AND (?3 IS NULL OR r.variant = ?3) GROUP BY 1",
                filtered.clone(),
                |r| get_enum::<OutboxState>(r, "state"),
            )?;
            let answered = |interactive: &str| {
                format!(
                    "EXISTS (SELECT 1 FROM messages i WHERE i.business_id = m.business_id
                       AND i.customer_id = m.customer_id AND i.direction = 'inbound' {interactive}
                       AND i.created_at > m.created_at AND i.created_at <= m.created_at + ?4)"
                )
            };
            let (replies, clicks): (Option<i64>, Option<i64>) = match window {
                Some(window) => {
                    let mut args = filtered;
                    args.push(Value::Integer(window));
                    tx.prepare_cached(&format!(
                        "SELECT sum({}), sum({}) {joined}",
                        answered(""),
                        answered("AND i.kind = 'interactive'")
                    ))
                    .and_then(|mut s| {
                        s.query_row(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))
                    })
                    .map_err(|e| map(BROADCAST, e))?
                }
                None => (None, None),
            };
            Ok(whatsapp_crm_core::ports::counts_from_statuses(
                statuses,
                skipped,
                by_outbox_state,
                u32::try_from(replies.unwrap_or(0)).unwrap_or(0),
                u32::try_from(clicks.unwrap_or(0)).unwrap_or(0),
            ))
        })
        .await
    }

    async fn list_broadcast_recipients(
        &self,
        business: BusinessId,
        id: BroadcastId,
        limit: u32,
        after: Option<CustomerId>,
    ) -> Result<Page<RecipientStatus>, StorageError> {
        let limit = clamp_limit(limit);
        let key = vec![blob(business.as_uuid()), blob(id.as_uuid())];
        let mut args = key.clone();
        args.push(after.map_or(Value::Blob(Vec::new()), |a| blob(a.as_uuid())));
        args.push(Value::Integer(i64::from(limit) + 1));
        self.read(move |c| {
            query_one(
                c,
                BROADCAST,
                "SELECT id FROM broadcasts WHERE business_id = ?1 AND id = ?2",
                key,
                |r| get_uuid(r, "id"),
            )?;
            let rows = query_all(
                c,
                RECIPIENT,
                "SELECT r.*, m.status AS m_status, m.error_code AS m_code
                 FROM broadcast_recipients r LEFT JOIN messages m
                   ON m.business_id = r.business_id AND m.id = r.message_id
                 WHERE r.business_id = ?1 AND r.broadcast_id = ?2 AND r.customer_id > ?3
                 ORDER BY r.customer_id LIMIT ?4",
                args,
                recipient_row,
            )?;
            Ok(Page::from_overfetch(rows, limit, |r| r.recipient.customer_id.to_string()))
        })
        .await
    }
}
