//! The sending limits' shared ledger. The write transaction serialises every
//! admission, in this process and in any other that opens the same file.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Transaction, params_from_iter};
use whatsapp_crm_core::policy::{
    Penalty, RateLimits, RecipientMarks, SendSlot, SenderLedger, TIER_WINDOW, Throttle,
};
use whatsapp_crm_core::ports::SenderLimitStore;
use whatsapp_crm_core::{PhoneNumber, StorageError};

use crate::codec::{micros, opt_micros};
use crate::error::{Ctx, corrupt, map};
use crate::storage::SqliteStorage;

const LEDGER: Ctx = Ctx::new("sender ledger", "sender");

fn time(v: Option<i64>) -> Result<Option<DateTime<Utc>>, StorageError> {
    v.map(|m| DateTime::from_timestamp_micros(m).ok_or_else(|| corrupt("ledger time", m)))
        .transpose()
}

/// Loads the ledger for `recipients` at `now`.
fn load(
    tx: &Transaction<'_>,
    sender: &str,
    recipients: &[&PhoneNumber],
    tier: bool,
    now: DateTime<Utc>,
) -> Result<SenderLedger, StorageError> {
    let mut ledger = SenderLedger::default();
    let mut stmt = tx
        .prepare_cached("SELECT next_at, paused_until FROM sender_limits WHERE sender = ?1")
        .map_err(|e| map(LEDGER, e))?;
    let mut rows = stmt.query([sender]).map_err(|e| map(LEDGER, e))?;
    if let Some(row) = rows.next().map_err(|e| map(LEDGER, e))? {
        ledger.next_at = time(row.get(0).map_err(|e| map(LEDGER, e))?)?;
        ledger.paused_until = time(row.get(1).map_err(|e| map(LEDGER, e))?)?;
    }
    let by_text: HashMap<&str, &PhoneNumber> =
        recipients.iter().map(|p| (p.as_str(), *p)).collect();
    for chunk in recipients.chunks(64) {
        let marks = crate::listing::marks(chunk.len());
        let sql = format!(
            "SELECT recipient, pair_next, tier_last FROM sender_recipients
             WHERE sender = ? AND recipient IN ({marks})"
        );
        let mut stmt = tx.prepare_cached(&sql).map_err(|e| map(LEDGER, e))?;
        let args = std::iter::once(sender).chain(chunk.iter().map(|p| p.as_str()));
        let mut rows = stmt.query(params_from_iter(args)).map_err(|e| map(LEDGER, e))?;
        while let Some(row) = rows.next().map_err(|e| map(LEDGER, e))? {
            let recipient: String = row.get(0).map_err(|e| map(LEDGER, e))?;
            let tier_last: i64 = row.get(2).map_err(|e| map(LEDGER, e))?;
            if let Some(p) = by_text.get(recipient.as_str()) {
                ledger.recipients.insert(
                    (*p).clone(),
                    RecipientMarks {
                        pair_next: time(row.get(1).map_err(|e| map(LEDGER, e))?)?,
                        tier_last: time((tier_last > 0).then_some(tier_last))?,
                    },
                );
            }
        }
    }
    if tier {
        let (count, oldest): (i64, Option<i64>) = tx
            .query_row(
                "SELECT count(*), min(tier_last) FROM sender_recipients
                 WHERE sender = ?1 AND tier_last > ?2",
                rusqlite::params![sender, micros(now - TIER_WINDOW)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| map(LEDGER, e))?;
        let loaded = ledger.recipients.values().filter(|m| m.in_tier(now)).count();
        ledger.others_in_tier =
            u32::try_from(count).unwrap_or(u32::MAX).saturating_sub(loaded as u32);
        ledger.others_oldest = time(oldest)?;
    }
    Ok(ledger)
}

/// Stores what a round spent, and forgets recipients nothing limits any more.
fn store(
    tx: &Transaction<'_>,
    sender: &str,
    ledger: &SenderLedger,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.prepare_cached(
        "INSERT INTO sender_limits (sender, next_at, paused_until) VALUES (?1, ?2, ?3)
         ON CONFLICT (sender) DO UPDATE SET next_at = ?2, paused_until = ?3",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            sender,
            opt_micros(ledger.next_at),
            opt_micros(ledger.paused_until)
        ])
    })
    .map_err(|e| map(LEDGER, e))?;
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO sender_recipients (sender, recipient, pair_next, tier_last)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sender, recipient) DO UPDATE SET pair_next = ?3, tier_last = ?4",
        )
        .map_err(|e| map(LEDGER, e))?;
    for (to, m) in &ledger.recipients {
        upsert
            .execute(params_from_iter([
                Value::Text(sender.to_owned()),
                Value::Text(to.to_string()),
                opt_micros(m.pair_next).map_or(Value::Null, Value::Integer),
                Value::Integer(opt_micros(m.tier_last).unwrap_or(0)),
            ]))
            .map_err(|e| map(LEDGER, e))?;
    }
    tx.prepare_cached(
        "DELETE FROM sender_recipients WHERE sender = ?1 AND tier_last <= ?2
           AND (pair_next IS NULL OR pair_next <= ?3)",
    )
    .and_then(|mut s| s.execute(rusqlite::params![sender, micros(now - TIER_WINDOW), micros(now)]))
    .map_err(|e| map(LEDGER, e))?;
    Ok(())
}

#[async_trait]
impl SenderLimitStore for SqliteStorage {
    async fn admit_sends(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        requests: &[SendSlot],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), Throttle>>, StorageError> {
        let (sender, limits, requests) = (sender.to_string(), *limits, requests.to_vec());
        self.write(move |tx| {
            let mut recipients: Vec<&PhoneNumber> = requests.iter().map(|r| &r.to).collect();
            recipients.sort_unstable();
            recipients.dedup();
            let mut ledger = load(tx, &sender, &recipients, limits.tier.is_some(), now)?;
            let verdicts = ledger.admit(&limits, &requests, now);
            store(tx, &sender, &ledger, now)?;
            Ok(verdicts)
        })
        .await
    }

    async fn penalize_sender(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        penalty: &Penalty,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        let (sender, limits, penalty) = (sender.to_string(), *limits, penalty.clone());
        self.write(move |tx| {
            let mut ledger = load(tx, &sender, &[&penalty.to], false, now)?;
            let pause = ledger.penalize(&limits, &penalty, now);
            store(tx, &sender, &ledger, now)?;
            Ok(pause)
        })
        .await
    }
}
