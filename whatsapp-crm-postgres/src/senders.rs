//! The sending limits' shared ledger. Each admission locks its sender's row,
//! so dispatchers in every process take turns spending one budget.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use whatsapp_crm_core::policy::{
    Penalty, RateLimits, RecipientMarks, SendSlot, SenderLedger, TIER_WINDOW, Throttle,
};
use whatsapp_crm_core::ports::SenderLimitStore;
use whatsapp_crm_core::{PhoneNumber, StorageError};

use crate::error::{Ctx, map};
use crate::storage::PostgresStorage;

const LEDGER: Ctx = Ctx::new("sender ledger", "sender");

/// A nullable time column of the ledger.
type Mark = Option<DateTime<Utc>>;

/// Locks the sender's row and loads the ledger for `recipients` at `now`.
async fn load(
    c: &mut PgConnection,
    sender: &str,
    recipients: &[&PhoneNumber],
    tier: bool,
    now: DateTime<Utc>,
) -> Result<SenderLedger, StorageError> {
    sqlx::query("INSERT INTO sender_limits (sender) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(sender)
        .execute(&mut *c)
        .await
        .map_err(|e| map(LEDGER, e))?;
    let (next_at, paused_until): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT next_at, paused_until FROM sender_limits WHERE sender = $1 FOR UPDATE",
    )
    .bind(sender)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| map(LEDGER, e))?;
    let mut ledger = SenderLedger { next_at, paused_until, ..SenderLedger::default() };
    let texts: Vec<&str> = recipients.iter().map(|p| p.as_str()).collect();
    let rows: Vec<(String, Mark, Mark)> = sqlx::query_as(
        "SELECT recipient, pair_next, tier_last FROM sender_recipients
         WHERE sender = $1 AND recipient = ANY($2)",
    )
    .bind(sender)
    .bind(&texts)
    .fetch_all(&mut *c)
    .await
    .map_err(|e| map(LEDGER, e))?;
    for (recipient, pair_next, tier_last) in rows {
        if let Some(p) = recipients.iter().find(|p| p.as_str() == recipient) {
            ledger.recipients.insert((*p).clone(), RecipientMarks { pair_next, tier_last });
        }
    }
    if tier {
        let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT count(*), min(tier_last) FROM sender_recipients
             WHERE sender = $1 AND tier_last > $2",
        )
        .bind(sender)
        .bind(now - TIER_WINDOW)
        .fetch_one(&mut *c)
        .await
        .map_err(|e| map(LEDGER, e))?;
        let loaded = ledger.recipients.values().filter(|m| m.in_tier(now)).count();
        ledger.others_in_tier =
            u32::try_from(count).unwrap_or(u32::MAX).saturating_sub(loaded as u32);
        ledger.others_oldest = oldest;
    }
    Ok(ledger)
}

/// Stores what a round spent, and forgets recipients nothing limits any more.
async fn store(
    c: &mut PgConnection,
    sender: &str,
    ledger: &SenderLedger,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    sqlx::query("UPDATE sender_limits SET next_at = $2, paused_until = $3 WHERE sender = $1")
        .bind(sender)
        .bind(ledger.next_at)
        .bind(ledger.paused_until)
        .execute(&mut *c)
        .await
        .map_err(|e| map(LEDGER, e))?;
    let recipients: Vec<String> = ledger.recipients.keys().map(ToString::to_string).collect();
    let pair: Vec<Option<DateTime<Utc>>> =
        ledger.recipients.values().map(|m| m.pair_next).collect();
    let tier: Vec<Option<DateTime<Utc>>> =
        ledger.recipients.values().map(|m| m.tier_last).collect();
    sqlx::query(
        "INSERT INTO sender_recipients (sender, recipient, pair_next, tier_last)
         SELECT $1, * FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[])
         ON CONFLICT (sender, recipient)
         DO UPDATE SET pair_next = excluded.pair_next, tier_last = excluded.tier_last",
    )
    .bind(sender)
    .bind(&recipients)
    .bind(&pair)
    .bind(&tier)
    .execute(&mut *c)
    .await
    .map_err(|e| map(LEDGER, e))?;
    sqlx::query(
        "DELETE FROM sender_recipients WHERE sender = $1
           AND (tier_last IS NULL OR tier_last <= $2) AND (pair_next IS NULL OR pair_next <= $3)",
    )
    .bind(sender)
    .bind(now - TIER_WINDOW)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| map(LEDGER, e))?;
    Ok(())
}

#[async_trait]
impl SenderLimitStore for PostgresStorage {
    async fn admit_sends(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        requests: &[SendSlot],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), Throttle>>, StorageError> {
        let mut recipients: Vec<&PhoneNumber> = requests.iter().map(|r| &r.to).collect();
        recipients.sort_unstable();
        recipients.dedup();
        let mut tx = self.pool.begin().await.map_err(|e| map(LEDGER, e))?;
        let mut ledger =
            load(&mut tx, sender.as_str(), &recipients, limits.tier.is_some(), now).await?;
        let verdicts = ledger.admit(limits, requests, now);
        store(&mut tx, sender.as_str(), &ledger, now).await?;
        tx.commit().await.map_err(|e| map(LEDGER, e))?;
        Ok(verdicts)
    }

    async fn penalize_sender(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        penalty: &Penalty,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(LEDGER, e))?;
        let mut ledger = load(&mut tx, sender.as_str(), &[&penalty.to], false, now).await?;
        let pause = ledger.penalize(limits, penalty, now);
        store(&mut tx, sender.as_str(), &ledger, now).await?;
        tx.commit().await.map_err(|e| map(LEDGER, e))?;
        Ok(pause)
    }
}
