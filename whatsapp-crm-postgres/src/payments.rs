//! Payment attempts, their provider events, receipts and payment links.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    EventRecorded, PAYMENT_CHANGED, Page, PaymentQuery, PaymentStore, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, Currency, CustomerId, Message, MessageId, Money, OrderId, OutboxItem,
    PaymentAttempt, PaymentEvent, PaymentId, PaymentLink, PaymentStatus, PhoneNumber, StorageError,
};

use crate::codec::{get, get_enum, get_json, get_parsed, get_u32, to_json};
use crate::error::{Ctx, corrupt, map};
use crate::listing::Listing;
use crate::messaging::insert_message_tx;
use crate::outbox::insert_item;
use crate::storage::PostgresStorage;

const PAYMENT: Ctx = Ctx::new("payment", "order");
const EVENT: Ctx = Ctx::new("payment event", "payment");
const LINK: Ctx = Ctx::new("payment link", "order");

fn payment_row(row: &PgRow) -> Result<PaymentAttempt, StorageError> {
    let currency: Currency = get_parsed(row, "currency")?;
    Ok(PaymentAttempt {
        id: PaymentId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        order_id: OrderId::from_uuid(get(row, "order_id")?),
        customer_id: CustomerId::from_uuid(get(row, "customer_id")?),
        provider: get(row, "provider")?,
        amount: Money::new(get(row, "amount_minor")?, currency),
        status: get_enum(row, "status")?,
        provider_reference: get(row, "provider_reference")?,
        receipt: get(row, "receipt")?,
        paid: get::<Option<i64>>(row, "paid_minor")?.map(|m| Money::new(m, currency)),
        phone: get::<Option<String>>(row, "phone")?
            .map(|p| PhoneNumber::parse(&p))
            .transpose()
            .map_err(|e| corrupt("phone", e))?,
        checkout_url: get(row, "checkout_url")?,
        failure: get(row, "failure")?,
        flags: get_json(row, "flags")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        settled_at: get(row, "settled_at")?,
        checks: get_u32(row, "checks")?,
        next_check_at: get(row, "next_check_at")?,
        receipt_message_id: get::<Option<uuid::Uuid>>(row, "receipt_message_id")?
            .map(MessageId::from_uuid),
        receipt_skipped: get(row, "receipt_skipped")?,
    })
}

fn event_row(row: &PgRow) -> Result<PaymentEvent, StorageError> {
    let amount =
        match (get::<Option<i64>>(row, "amount_minor")?, get::<Option<String>>(row, "currency")?) {
            (Some(m), Some(c)) => {
                Some(Money::new(m, Currency::parse(&c).map_err(|e| corrupt("currency", e))?))
            }
            _ => None,
        };
    Ok(PaymentEvent {
        payment_id: get::<Option<uuid::Uuid>>(row, "payment_id")?.map(PaymentId::from_uuid),
        provider: get(row, "provider")?,
        reference: get(row, "reference")?,
        kind: get(row, "kind")?,
        outcome: get(row, "outcome")?,
        amount,
        raw: get(row, "raw")?,
        flag: get(row, "flag")?,
        received_at: get(row, "received_at")?,
    })
}

fn link_row(row: &PgRow) -> Result<PaymentLink, StorageError> {
    Ok(PaymentLink {
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        order_id: OrderId::from_uuid(get(row, "order_id")?),
        token: get(row, "token")?,
        url: get(row, "url")?,
        expires_at: get(row, "expires_at")?,
        sent_at: get(row, "sent_at")?,
        reminders_sent: get_u32(row, "reminders_sent")?,
        next_reminder_at: get(row, "next_reminder_at")?,
    })
}

async fn exists(
    pool: &sqlx::PgPool,
    sql: &'static str,
    business: BusinessId,
    id: uuid::Uuid,
    ctx: Ctx,
) -> Result<bool, StorageError> {
    let found: Option<i32> = sqlx::query_scalar(sql)
        .bind(business.as_uuid())
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(|e| map(ctx, e))?;
    Ok(found.is_some())
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds what an attempt's moves change, in the column order that both
/// the insert and the guarded update list after their keys.
fn bind_state<'q>(q: PgQuery<'q>, p: &'q PaymentAttempt) -> Result<PgQuery<'q>, StorageError> {
    Ok(q.bind(enum_to_text(&p.status)?)
        .bind(&p.provider_reference)
        .bind(&p.receipt)
        .bind(p.paid.map(|m| m.minor))
        .bind(p.phone.as_ref().map(|n| n.as_str().to_owned()))
        .bind(&p.checkout_url)
        .bind(&p.failure)
        .bind(sqlx::types::Json(to_json(&p.flags)?))
        .bind(i32::try_from(p.checks).unwrap_or(i32::MAX))
        .bind(p.next_check_at)
        .bind(p.updated_at)
        .bind(p.settled_at))
}

#[async_trait]
impl PaymentStore for PostgresStorage {
    async fn insert_payment(
        &self,
        p: &PaymentAttempt,
        callback_token_hash: Option<[u8; 32]>,
    ) -> Result<(), StorageError> {
        let q = sqlx::query(
            "INSERT INTO payments (business_id, id, order_id, customer_id, provider, amount_minor, currency,
               callback_token, created_at, status, provider_reference, receipt, paid_minor, phone,
               checkout_url, failure, flags, checks, next_check_at, updated_at, settled_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(p.business_id.as_uuid())
        .bind(p.id.as_uuid())
        .bind(p.order_id.as_uuid())
        .bind(p.customer_id.as_uuid())
        .bind(&p.provider)
        .bind(p.amount.minor)
        .bind(p.amount.currency.as_str())
        .bind(callback_token_hash.map(|h| h.to_vec()))
        .bind(p.created_at);
        bind_state(q, p)?.execute(&self.pool).await.map_err(|e| map(PAYMENT, e))?;
        Ok(())
    }

    async fn get_payment(
        &self,
        business: BusinessId,
        id: PaymentId,
    ) -> Result<PaymentAttempt, StorageError> {
        let row = sqlx::query("SELECT * FROM payments WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(PAYMENT, e))?;
        row.as_ref().map(payment_row).transpose()?.ok_or(StorageError::not_found("payment"))
    }

    async fn list_payments(
        &self,
        business: BusinessId,
        q: &PaymentQuery,
    ) -> Result<Page<PaymentAttempt>, StorageError> {
        let mut l = Listing::new("payments", business)?;
        if let Some(after) = q.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        if let Some(o) = q.order {
            l.filter("order_id = ?", o.as_uuid())?;
        }
        if let Some(s) = q.status {
            l.filter("status = ?", enum_to_text(&s)?)?;
        }
        l.page(self, PAYMENT, clamp_limit(q.limit), payment_row, |p| p.id.to_string()).await
    }

    async fn update_payment(
        &self,
        p: &PaymentAttempt,
        from: PaymentStatus,
    ) -> Result<(), StorageError> {
        let q = sqlx::query(
            "UPDATE payments SET status = $4, provider_reference = $5, receipt = $6, paid_minor = $7, phone = $8,
               checkout_url = $9, failure = $10, flags = $11, checks = $12, next_check_at = $13,
               updated_at = $14, settled_at = $15
             WHERE business_id = $1 AND id = $2 AND status = $3",
        )
        .bind(p.business_id.as_uuid())
        .bind(p.id.as_uuid())
        .bind(enum_to_text(&from)?);
        let done = bind_state(q, p)?.execute(&self.pool).await.map_err(|e| map(PAYMENT, e))?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let sql = "SELECT 1 FROM payments WHERE business_id = $1 AND id = $2";
        if exists(&self.pool, sql, p.business_id, p.id.as_uuid(), PAYMENT).await? {
            Err(StorageError::conflict("payment", PAYMENT_CHANGED))
        } else {
            Err(StorageError::not_found("payment"))
        }
    }

    async fn payment_by_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> Result<Option<PaymentAttempt>, StorageError> {
        let row = sqlx::query(
            "SELECT * FROM payments WHERE provider = $1 AND provider_reference = $2 ORDER BY id LIMIT 1",
        )
        .bind(provider)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map(PAYMENT, e))?;
        row.as_ref().map(payment_row).transpose()
    }

    async fn payment_by_callback_token(
        &self,
        hash: [u8; 32],
    ) -> Result<Option<PaymentAttempt>, StorageError> {
        let row = sqlx::query("SELECT * FROM payments WHERE callback_token = $1 LIMIT 1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(PAYMENT, e))?;
        row.as_ref().map(payment_row).transpose()
    }

    async fn record_payment_event(
        &self,
        business: BusinessId,
        e: &PaymentEvent,
    ) -> Result<EventRecorded, StorageError> {
        let payment = e.payment_id.ok_or(StorageError::not_found("payment"))?;
        let done = sqlx::query(
            "INSERT INTO payment_events (business_id, payment_id, provider, reference, kind, outcome,
               amount_minor, currency, raw, flag, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (business_id, provider, reference, kind) DO NOTHING",
        )
        .bind(business.as_uuid())
        .bind(payment.as_uuid())
        .bind(&e.provider)
        .bind(&e.reference)
        .bind(&e.kind)
        .bind(&e.outcome)
        .bind(e.amount.map(|m| m.minor))
        .bind(e.amount.map(|m| m.currency.as_str().to_owned()))
        .bind(&e.raw)
        .bind(&e.flag)
        .bind(e.received_at)
        .execute(&self.pool)
        .await
        .map_err(|x| map(EVENT, x))?;
        if done.rows_affected() == 1 {
            return Ok(EventRecorded::New);
        }
        let row = sqlx::query(
            "SELECT * FROM payment_events WHERE business_id = $1 AND provider = $2 AND reference = $3 AND kind = $4",
        )
        .bind(business.as_uuid())
        .bind(&e.provider)
        .bind(&e.reference)
        .bind(&e.kind)
        .fetch_one(&self.pool)
        .await
        .map_err(|x| map(EVENT, x))?;
        let first = event_row(&row)?;
        Ok(if first.amount == e.amount {
            EventRecorded::Duplicate
        } else {
            EventRecorded::Conflict(first)
        })
    }

    async fn payment_events(
        &self,
        business: BusinessId,
        payment: PaymentId,
    ) -> Result<Vec<PaymentEvent>, StorageError> {
        self.get_payment(business, payment).await?;
        let rows = sqlx::query(
            "SELECT * FROM payment_events WHERE business_id = $1 AND payment_id = $2 ORDER BY seq",
        )
        .bind(business.as_uuid())
        .bind(payment.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(EVENT, e))?;
        rows.iter().map(event_row).collect()
    }

    async fn due_payments(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, PaymentId)>, StorageError> {
        let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
            "SELECT business_id, id FROM payments
             WHERE status IN ('pending', 'prompted') AND next_check_at <= $1
             ORDER BY next_check_at, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(PAYMENT, e))?;
        Ok(rows
            .into_iter()
            .map(|(b, p)| (BusinessId::from_uuid(b), PaymentId::from_uuid(p)))
            .collect())
    }

    async fn record_receipt(
        &self,
        business: BusinessId,
        payment: PaymentId,
        send: Option<&(Message, OutboxItem)>,
        skipped: Option<&str>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(PAYMENT, e))?;
        let done = sqlx::query(
            "UPDATE payments SET receipt_message_id = $3, receipt_skipped = $4
             WHERE business_id = $1 AND id = $2 AND receipt_message_id IS NULL AND receipt_skipped IS NULL",
        )
        .bind(business.as_uuid())
        .bind(payment.as_uuid())
        .bind(send.map(|(m, _)| m.id.as_uuid()))
        .bind(send.is_none().then(|| skipped.unwrap_or_default().to_owned()))
        .execute(&mut *tx)
        .await
        .map_err(|e| map(PAYMENT, e))?;
        if done.rows_affected() == 0 {
            drop(tx);
            self.get_payment(business, payment).await?;
            return Ok(false);
        }
        if let Some((m, item)) = send {
            insert_message_tx(&mut tx, m).await?;
            insert_item(&mut tx, item).await?;
        }
        tx.commit().await.map_err(|e| map(PAYMENT, e))?;
        Ok(true)
    }

    async fn save_payment_link(&self, l: &PaymentLink) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO payment_links (business_id, order_id, token, url, expires_at, sent_at, reminders_sent,
               next_reminder_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (business_id, order_id) DO UPDATE SET token = excluded.token, url = excluded.url,
               expires_at = excluded.expires_at, sent_at = excluded.sent_at,
               reminders_sent = excluded.reminders_sent, next_reminder_at = excluded.next_reminder_at",
        )
        .bind(l.business_id.as_uuid())
        .bind(l.order_id.as_uuid())
        .bind(&l.token)
        .bind(&l.url)
        .bind(l.expires_at)
        .bind(l.sent_at)
        .bind(i32::try_from(l.reminders_sent).unwrap_or(i32::MAX))
        .bind(l.next_reminder_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(LINK, e))?;
        Ok(())
    }

    async fn payment_link(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Option<PaymentLink>, StorageError> {
        let row =
            sqlx::query("SELECT * FROM payment_links WHERE business_id = $1 AND order_id = $2")
                .bind(business.as_uuid())
                .bind(order.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(LINK, e))?;
        row.as_ref().map(link_row).transpose()
    }

    async fn due_reminders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError> {
        let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
            "SELECT business_id, order_id FROM payment_links
             WHERE next_reminder_at IS NOT NULL AND next_reminder_at <= $1
             ORDER BY next_reminder_at, order_id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(LINK, e))?;
        Ok(rows
            .into_iter()
            .map(|(b, o)| (BusinessId::from_uuid(b), OrderId::from_uuid(o)))
            .collect())
    }

    async fn record_reminder(
        &self,
        business: BusinessId,
        order: OrderId,
        n: u32,
        next_at: Option<DateTime<Utc>>,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(LINK, e))?;
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        let done = sqlx::query(
            "UPDATE payment_links SET reminders_sent = $3, next_reminder_at = $4
             WHERE business_id = $1 AND order_id = $2 AND reminders_sent = $3 - 1",
        )
        .bind(business.as_uuid())
        .bind(order.as_uuid())
        .bind(n)
        .bind(next_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(LINK, e))?;
        if done.rows_affected() == 0 {
            drop(tx);
            let sql = "SELECT 1 FROM payment_links WHERE business_id = $1 AND order_id = $2";
            return if exists(&self.pool, sql, business, order.as_uuid(), LINK).await? {
                Ok(false)
            } else {
                Err(StorageError::not_found("payment link"))
            };
        }
        if let Some((m, item)) = send {
            insert_message_tx(&mut tx, m).await?;
            insert_item(&mut tx, item).await?;
        }
        tx.commit().await.map_err(|e| map(LINK, e))?;
        Ok(true)
    }
}
