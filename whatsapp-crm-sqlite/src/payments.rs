//! Payment attempts, their provider events, receipts and payment links.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use whatsapp_crm_core::ports::{
    EventRecorded, PAYMENT_CHANGED, Page, PaymentQuery, PaymentStore, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    BusinessId, CustomerId, Message, MessageId, Money, OrderId, OutboxItem, PaymentAttempt,
    PaymentEvent, PaymentId, PaymentLink, PaymentStatus, StorageError,
};

use crate::codec::{
    get, get_enum, get_json, get_opt_time, get_opt_uuid, get_parsed, get_time, get_uuid, id_bytes,
    micros, opt_micros, to_json,
};
use crate::error::{Ctx, map};
use crate::listing::{Listing, blob, query_all, query_one};
use crate::messaging::insert_message_tx;
use crate::outbox::insert_item;
use crate::storage::SqliteStorage;

const PAYMENT: Ctx = Ctx::new("payment", "order");
const EVENT: Ctx = Ctx::new("payment event", "payment");
const LINK: Ctx = Ctx::new("payment link", "order");

fn payment_row(row: &Row<'_>) -> Result<PaymentAttempt, StorageError> {
    let currency: whatsapp_crm_core::Currency = get_parsed(row, "currency")?;
    Ok(PaymentAttempt {
        id: PaymentId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        order_id: OrderId::from_uuid(get_uuid(row, "order_id")?),
        customer_id: CustomerId::from_uuid(get_uuid(row, "customer_id")?),
        provider: get(row, "provider")?,
        amount: Money::new(get(row, "amount_minor")?, currency),
        status: get_enum(row, "status")?,
        provider_reference: get(row, "provider_reference")?,
        receipt: get(row, "receipt")?,
        paid: get::<Option<i64>>(row, "paid_minor")?.map(|m| Money::new(m, currency)),
        phone: get::<Option<String>>(row, "phone")?
            .map(|p| whatsapp_crm_core::PhoneNumber::parse(&p))
            .transpose()
            .map_err(|e| crate::error::corrupt("phone", e))?,
        checkout_url: get(row, "checkout_url")?,
        failure: get(row, "failure")?,
        flags: get_json(row, "flags")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        settled_at: get_opt_time(row, "settled_at")?,
        checks: get(row, "checks")?,
        next_check_at: get_opt_time(row, "next_check_at")?,
        receipt_message_id: get_opt_uuid(row, "receipt_message_id")?.map(MessageId::from_uuid),
        receipt_skipped: get(row, "receipt_skipped")?,
    })
}

fn event_row(row: &Row<'_>) -> Result<PaymentEvent, StorageError> {
    let amount =
        match (get::<Option<i64>>(row, "amount_minor")?, get::<Option<String>>(row, "currency")?) {
            (Some(m), Some(c)) => Some(Money::new(
                m,
                whatsapp_crm_core::Currency::parse(&c)
                    .map_err(|e| crate::error::corrupt("currency", e))?,
            )),
            _ => None,
        };
    Ok(PaymentEvent {
        payment_id: get_opt_uuid(row, "payment_id")?.map(PaymentId::from_uuid),
        provider: get(row, "provider")?,
        reference: get(row, "reference")?,
        kind: get(row, "kind")?,
        outcome: get(row, "outcome")?,
        amount,
        raw: get(row, "raw")?,
        flag: get(row, "flag")?,
        received_at: get_time(row, "received_at")?,
    })
}

fn link_row(row: &Row<'_>) -> Result<PaymentLink, StorageError> {
    Ok(PaymentLink {
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        order_id: OrderId::from_uuid(get_uuid(row, "order_id")?),
        token: get(row, "token")?,
        url: get(row, "url")?,
        expires_at: get_time(row, "expires_at")?,
        sent_at: get_time(row, "sent_at")?,
        reminders_sent: get(row, "reminders_sent")?,
        next_reminder_at: get_opt_time(row, "next_reminder_at")?,
    })
}

/// The columns an attempt's writes set, in `?3…` order after business and id.
fn mutable(p: &PaymentAttempt) -> Result<Vec<Value>, StorageError> {
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::Text);
    let time = |t: Option<DateTime<Utc>>| opt_micros(t).map_or(Value::Null, Value::Integer);
    Ok(vec![
        Value::Text(enum_to_text(&p.status)?),
        text(&p.provider_reference),
        text(&p.receipt),
        p.paid.map_or(Value::Null, |m| Value::Integer(m.minor)),
        text(&p.phone.as_ref().map(|n| n.as_str().to_owned())),
        text(&p.checkout_url),
        text(&p.failure),
        Value::Text(to_json(&p.flags)?),
        Value::Integer(i64::from(p.checks)),
        time(p.next_check_at),
        Value::Integer(micros(p.updated_at)),
        time(p.settled_at),
    ])
}

fn read_payment(
    tx: &Transaction<'_>,
    business: BusinessId,
    id: PaymentId,
) -> Result<PaymentAttempt, StorageError> {
    query_one(
        tx,
        PAYMENT,
        "SELECT * FROM payments WHERE business_id = ?1 AND id = ?2",
        vec![blob(business.as_uuid()), blob(id.as_uuid())],
        payment_row,
    )
}

#[async_trait]
impl PaymentStore for SqliteStorage {
    async fn insert_payment(
        &self,
        p: &PaymentAttempt,
        callback_token_hash: Option<[u8; 32]>,
    ) -> Result<(), StorageError> {
        let p = p.clone();
        self.write(move |tx| {
            let mut args = vec![
                blob(p.business_id.as_uuid()),
                blob(p.id.as_uuid()),
                blob(p.order_id.as_uuid()),
                blob(p.customer_id.as_uuid()),
                Value::Text(p.provider.clone()),
                Value::Integer(p.amount.minor),
                Value::Text(p.amount.currency.as_str().to_owned()),
                callback_token_hash.map_or(Value::Null, |h| Value::Blob(h.to_vec())),
                Value::Integer(micros(p.created_at)),
            ];
            args.extend(mutable(&p)?);
            tx.execute(
                "INSERT INTO payments (business_id, id, order_id, customer_id, provider, amount_minor, currency,
                   callback_token, created_at, status, provider_reference, receipt, paid_minor, phone,
                   checkout_url, failure, flags, checks, next_check_at, updated_at, settled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
                rusqlite::params_from_iter(args),
            )
            .map_err(|e| map(PAYMENT, e))?;
            Ok(())
        })
        .await
    }

    async fn get_payment(
        &self,
        business: BusinessId,
        id: PaymentId,
    ) -> Result<PaymentAttempt, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                PAYMENT,
                "SELECT * FROM payments WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                payment_row,
            )
        })
        .await
    }

    async fn list_payments(
        &self,
        business: BusinessId,
        q: &PaymentQuery,
    ) -> Result<Page<PaymentAttempt>, StorageError> {
        let mut l = Listing::new("SELECT * FROM payments", "", business);
        l.after(q.after.map(|a| a.as_uuid()));
        if let Some(o) = q.order {
            l.filter("order_id = ?", blob(o.as_uuid()));
        }
        if let Some(s) = q.status {
            l.filter("status = ?", Value::Text(enum_to_text(&s)?));
        }
        l.page(self, PAYMENT, clamp_limit(q.limit), payment_row, |p| p.id.to_string()).await
    }

    async fn update_payment(
        &self,
        p: &PaymentAttempt,
        from: PaymentStatus,
    ) -> Result<(), StorageError> {
        let p = p.clone();
        self.write(move |tx| {
            let current = read_payment(tx, p.business_id, p.id)?;
            if current.status != from {
                return Err(StorageError::conflict("payment", PAYMENT_CHANGED));
            }
            let mut args = vec![blob(p.business_id.as_uuid()), blob(p.id.as_uuid())];
            args.extend(mutable(&p)?);
            tx.execute(
                "UPDATE payments SET status = ?3, provider_reference = ?4, receipt = ?5, paid_minor = ?6,
                   phone = ?7, checkout_url = ?8, failure = ?9, flags = ?10, checks = ?11,
                   next_check_at = ?12, updated_at = ?13, settled_at = ?14
                 WHERE business_id = ?1 AND id = ?2",
                rusqlite::params_from_iter(args),
            )
            .map_err(|e| map(PAYMENT, e))?;
            Ok(())
        })
        .await
    }

    async fn payment_by_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> Result<Option<PaymentAttempt>, StorageError> {
        let (provider, reference) = (provider.to_owned(), reference.to_owned());
        self.read(move |c| {
            Ok(query_all(
                c,
                PAYMENT,
                "SELECT * FROM payments WHERE provider = ?1 AND provider_reference = ?2 ORDER BY id LIMIT 1",
                vec![Value::Text(provider), Value::Text(reference)],
                payment_row,
            )?
            .pop())
        })
        .await
    }

    async fn payment_by_callback_token(
        &self,
        hash: [u8; 32],
    ) -> Result<Option<PaymentAttempt>, StorageError> {
        self.read(move |c| {
            Ok(query_all(
                c,
                PAYMENT,
                "SELECT * FROM payments WHERE callback_token = ?1",
                vec![Value::Blob(hash.to_vec())],
                payment_row,
            )?
            .pop())
        })
        .await
    }

    async fn record_payment_event(
        &self,
        business: BusinessId,
        e: &PaymentEvent,
    ) -> Result<EventRecorded, StorageError> {
        let e = e.clone();
        self.write(move |tx| {
            let payment = e.payment_id.ok_or(StorageError::not_found("payment"))?;
            read_payment(tx, business, payment)?;
            let b = id_bytes(business.as_uuid());
            let first: Option<PaymentEvent> = tx
                .query_row(
                    "SELECT * FROM payment_events WHERE business_id = ?1 AND provider = ?2 AND reference = ?3 AND kind = ?4",
                    params![b, e.provider, e.reference, e.kind],
                    |r| Ok(event_row(r)),
                )
                .optional()
                .map_err(|x| map(EVENT, x))?
                .transpose()?;
            if let Some(first) = first {
                return Ok(if first.amount == e.amount { EventRecorded::Duplicate } else { EventRecorded::Conflict(first) });
            }
            tx.execute(
                "INSERT INTO payment_events (business_id, payment_id, provider, reference, kind, seq, outcome,
                   amount_minor, currency, raw, flag, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, (SELECT coalesce(max(seq), 0) + 1 FROM payment_events
                   WHERE business_id = ?1 AND payment_id = ?2), ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    b,
                    id_bytes(payment.as_uuid()),
                    e.provider,
                    e.reference,
                    e.kind,
                    e.outcome,
                    e.amount.map(|m| m.minor),
                    e.amount.map(|m| m.currency.as_str().to_owned()),
                    e.raw,
                    e.flag,
                    micros(e.received_at)
                ],
            )
            .map_err(|x| map(EVENT, x))?;
            Ok(EventRecorded::New)
        })
        .await
    }

    async fn payment_events(
        &self,
        business: BusinessId,
        payment: PaymentId,
    ) -> Result<Vec<PaymentEvent>, StorageError> {
        self.read(move |c| {
            let args = vec![blob(business.as_uuid()), blob(payment.as_uuid())];
            query_one(c, PAYMENT, "SELECT * FROM payments WHERE business_id = ?1 AND id = ?2", args.clone(), payment_row)?;
            query_all(
                c,
                EVENT,
                "SELECT * FROM payment_events WHERE business_id = ?1 AND payment_id = ?2 ORDER BY seq",
                args,
                event_row,
            )
        })
        .await
    }

    async fn due_payments(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, PaymentId)>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                PAYMENT,
                "SELECT business_id, id FROM payments
                 WHERE status IN ('pending', 'prompted') AND next_check_at <= ?1
                 ORDER BY next_check_at, id LIMIT ?2",
                vec![Value::Integer(micros(now)), Value::Integer(i64::from(limit))],
                |r| {
                    Ok((
                        BusinessId::from_uuid(get_uuid(r, "business_id")?),
                        PaymentId::from_uuid(get_uuid(r, "id")?),
                    ))
                },
            )
        })
        .await
    }

    async fn record_receipt(
        &self,
        business: BusinessId,
        payment: PaymentId,
        send: Option<&(Message, OutboxItem)>,
        skipped: Option<&str>,
    ) -> Result<bool, StorageError> {
        let (send, skipped) = (send.cloned(), skipped.map(str::to_owned).unwrap_or_default());
        self.write(move |tx| {
            read_payment(tx, business, payment)?;
            let n = tx
                .execute(
                    "UPDATE payments SET receipt_message_id = ?3, receipt_skipped = ?4
                     WHERE business_id = ?1 AND id = ?2 AND receipt_message_id IS NULL AND receipt_skipped IS NULL",
                    params![
                        id_bytes(business.as_uuid()),
                        id_bytes(payment.as_uuid()),
                        send.as_ref().map(|(m, _)| id_bytes(m.id.as_uuid())),
                        send.is_none().then_some(skipped)
                    ],
                )
                .map_err(|e| map(PAYMENT, e))?;
            if n == 0 {
                return Ok(false);
            }
            if let Some((m, item)) = &send {
                insert_message_tx(tx, m)?;
                insert_item(tx, item)?;
            }
            Ok(true)
        })
        .await
    }

    async fn save_payment_link(&self, link: &PaymentLink) -> Result<(), StorageError> {
        let l = link.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO payment_links (business_id, order_id, token, url, expires_at, sent_at, reminders_sent,
                   next_reminder_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (business_id, order_id) DO UPDATE SET token = excluded.token, url = excluded.url,
                   expires_at = excluded.expires_at, sent_at = excluded.sent_at,
                   reminders_sent = excluded.reminders_sent, next_reminder_at = excluded.next_reminder_at",
                params![
                    id_bytes(l.business_id.as_uuid()),
                    id_bytes(l.order_id.as_uuid()),
                    l.token,
                    l.url,
                    micros(l.expires_at),
                    micros(l.sent_at),
                    l.reminders_sent,
                    opt_micros(l.next_reminder_at)
                ],
            )
            .map_err(|e| map(LINK, e))?;
            Ok(())
        })
        .await
    }

    async fn payment_link(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Option<PaymentLink>, StorageError> {
        self.read(move |c| {
            Ok(query_all(
                c,
                LINK,
                "SELECT * FROM payment_links WHERE business_id = ?1 AND order_id = ?2",
                vec![blob(business.as_uuid()), blob(order.as_uuid())],
                link_row,
            )?
            .pop())
        })
        .await
    }

    async fn due_reminders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                LINK,
                "SELECT business_id, order_id FROM payment_links
                 WHERE next_reminder_at IS NOT NULL AND next_reminder_at <= ?1
                 ORDER BY next_reminder_at, order_id LIMIT ?2",
                vec![Value::Integer(micros(now)), Value::Integer(i64::from(limit))],
                |r| {
                    Ok((
                        BusinessId::from_uuid(get_uuid(r, "business_id")?),
                        OrderId::from_uuid(get_uuid(r, "order_id")?),
                    ))
                },
            )
        })
        .await
    }

    async fn record_reminder(
        &self,
        business: BusinessId,
        order: OrderId,
        n: u32,
        next_at: Option<DateTime<Utc>>,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError> {
        let send = send.cloned();
        self.write(move |tx| {
            let args = params![
                id_bytes(business.as_uuid()),
                id_bytes(order.as_uuid()),
                n,
                opt_micros(next_at)
            ];
            let changed = tx
                .execute(
                    "UPDATE payment_links SET reminders_sent = ?3, next_reminder_at = ?4
                     WHERE business_id = ?1 AND order_id = ?2 AND reminders_sent = ?3 - 1",
                    args,
                )
                .map_err(|e| map(LINK, e))?;
            if changed == 0 {
                let exists: Option<i64> = tx
                    .query_row(
                        "SELECT 1 FROM payment_links WHERE business_id = ?1 AND order_id = ?2",
                        params![id_bytes(business.as_uuid()), id_bytes(order.as_uuid())],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| map(LINK, e))?;
                return match exists {
                    Some(_) => Ok(false),
                    None => Err(StorageError::not_found("payment link")),
                };
            }
            if let Some((m, item)) = &send {
                insert_message_tx(tx, m)?;
                insert_item(tx, item)?;
            }
            Ok(true)
        })
        .await
    }
}
