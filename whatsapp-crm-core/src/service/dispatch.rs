//! The outbox dispatcher: claims due rows, applies the send policy and the
//! sender's limits, hands each message to the transport once, and records
//! what happened. A row is never sent twice: each is marked `sending` just
//! before the provider call, so if its dispatcher dies, a row it had not
//! reached goes back to pending and the one in flight becomes `unknown`,
//! settled by the message's status callback, never retried blindly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    BusinessId, ConsentSource, Message, MessageStatus, OutboxItem, OutboxState, PhoneNumber,
    TemplateCategory, TimeZone,
};
use crate::policy::{RateLimits, Refusal, SendFacts, SendPolicy, SenderLimiter};
use crate::ports::{
    OutboundMessage, OutboxOutcome, Storage, StorageError, Transport, TransportError,
    to_storage_precision,
};

use super::inbox::set_marketing_consent;
use super::{OPT_OUT_ERROR_CODES, ServiceError};

/// How the dispatcher works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Rows claimed per round.
    pub batch: u32,
    /// How long a claim lasts; a row still claimed after it is marked unknown.
    /// Longer than the transport's timeout.
    pub claim_secs: i64,
    /// Sends tried before a retryable error becomes final.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to `max_backoff_secs`.
    pub backoff_secs: i64,
    /// The longest retry delay.
    pub max_backoff_secs: i64,
    /// Per-sender limits.
    pub limits: RateLimits,
    /// The messaging rules.
    pub policy: SendPolicy,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            claim_secs: 120,
            max_attempts: 8,
            backoff_secs: 2,
            max_backoff_secs: 900,
            limits: RateLimits::default(),
            policy: SendPolicy::default(),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Rows claimed.
    pub claimed: u32,
    /// Accepted by the provider.
    pub sent: u32,
    /// Refused for good (policy or provider).
    pub failed: u32,
    /// To be tried again after a retryable provider error.
    pub retried: u32,
    /// Held by a limit, quiet hours or the frequency cap, not attempted.
    pub deferred: u32,
    /// Sends whose outcome is unknown, including lapsed claims.
    pub unknown: u32,
}

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Dispatcher {
    storage: Arc<dyn Storage>,
    transport: Arc<dyn Transport>,
    config: DispatchConfig,
    limiters: Arc<Mutex<HashMap<PhoneNumber, SenderLimiter>>>,
}

/// Why a row did not go, as stored on it: the stable reason, then words.
fn refusal_text(r: &Refusal) -> String {
    let reason = serde_json::to_value(r)
        .ok()
        .and_then(|v| v.get("reason").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_default();
    format!("{reason}: {r}")
}

impl Dispatcher {
    /// A dispatcher over `storage` sending through `transport`.
    pub fn new(
        storage: Arc<dyn Storage>,
        transport: Arc<dyn Transport>,
        config: DispatchConfig,
    ) -> Self {
        Self { storage, transport, config, limiters: Arc::default() }
    }

    /// Runs `f` on the sender's limiter, created on first use.
    fn with_limiter<T>(&self, sender: &PhoneNumber, f: impl FnOnce(&mut SenderLimiter) -> T) -> T {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        f(limiters.entry(sender.clone()).or_insert_with(|| SenderLimiter::new(self.config.limits)))
    }

    /// The configuration in force.
    pub fn config(&self) -> &DispatchConfig {
        &self.config
    }

    /// One round at `now`: marks lapsed claims unknown, then claims and
    /// sends up to one batch. Call it on a timer; a full batch means more
    /// may be due at once.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<DispatchReport, ServiceError> {
        let now = to_storage_precision(now);
        let mut report = DispatchReport {
            unknown: u32::try_from(self.storage.expire_claims(now).await?).unwrap_or(u32::MAX),
            ..DispatchReport::default()
        };
        let until = now + Duration::seconds(self.config.claim_secs);
        let items = self.storage.claim_due(now, self.config.batch, until).await?;
        report.claimed = u32::try_from(items.len()).unwrap_or(u32::MAX);
        // One business lookup per round, not per message.
        let mut zones: HashMap<BusinessId, TimeZone> = HashMap::new();
        let mut first_error = None;
        for item in items {
            if let Err(e) = self.dispatch(&item, now, &mut zones, &mut report).await {
                self.settle_after_error(&item, &e, now, &mut report).await;
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// A storage error interrupted a row. Before the handover it goes back
    /// to pending; after it, it may have been sent, so it is unknown.
    async fn settle_after_error(
        &self,
        item: &OutboxItem,
        e: &ServiceError,
        now: DateTime<Utc>,
        report: &mut DispatchReport,
    ) {
        let (b, id) = (item.business_id, item.message_id);
        let Ok(row) = self.storage.get_outbox_item(b, id).await else { return };
        let outcome = match row.state {
            OutboxState::Claimed => OutboxOutcome::Defer {
                run_at: now + Duration::seconds(self.config.backoff_secs),
                reason: e.to_string(),
            },
            OutboxState::Sending => {
                report.unknown += 1;
                OutboxOutcome::Unknown { error: e.to_string() }
            }
            _ => return,
        };
        // If this fails too, the claim lapses and says the same.
        let _ = self.storage.finish(b, id, &outcome, now).await;
    }

    async fn dispatch(
        &self,
        item: &OutboxItem,
        now: DateTime<Utc>,
        zones: &mut HashMap<BusinessId, TimeZone>,
        report: &mut DispatchReport,
    ) -> Result<(), ServiceError> {
        let s = &self.storage;
        let (b, id) = (item.business_id, item.message_id);
        let mut message = s.get_message(b, id).await?;
        let conversation = s.get_conversation(b, message.conversation_id).await?;
        let customer = s.get_customer(b, message.customer_id).await?;
        let time_zone = match zones.get(&b) {
            Some(z) => *z,
            None => {
                let z = s.get_business(b).await?.time_zone;
                zones.insert(b, z);
                z
            }
        };
        let marketing = item.category == Some(TemplateCategory::Marketing);
        let recent_marketing = if marketing {
            let window = Duration::hours(self.config.policy.marketing_cap_window_hours);
            s.recent_marketing(b, &item.recipient, now - window).await?
        } else {
            Vec::new()
        };
        let window_open = conversation.window_open(now);
        let facts = SendFacts {
            now,
            time_zone,
            kind: message.kind(),
            category: item.category,
            window_open,
            consent: customer.marketing.status,
            recent_marketing,
        };
        if let Err(refusal) = self.config.policy.check(&facts) {
            let text = refusal_text(&refusal);
            let outcome = match refusal.retry_at() {
                Some(run_at) => {
                    report.deferred += 1;
                    OutboxOutcome::Defer { run_at, reason: text }
                }
                None => {
                    report.failed += 1;
                    message.apply_status(MessageStatus::Failed, now, None);
                    s.update_message(&message).await?;
                    OutboxOutcome::Failed { error: text, code: None }
                }
            };
            s.finish(b, id, &outcome, now).await?;
            return Ok(());
        }
        let admitted =
            self.with_limiter(&item.sender, |l| l.try_acquire(&item.recipient, !window_open, now));
        if let Err(throttle) = admitted {
            report.deferred += 1;
            let outcome =
                OutboxOutcome::Defer { run_at: throttle.until(), reason: throttle.to_string() };
            s.finish(b, id, &outcome, now).await?;
            return Ok(());
        }
        // From here a lapsed claim means "maybe sent": mark the handover first.
        match s.start_send(b, id, now).await {
            Ok(()) => {}
            // The claim lapsed while this round was busy; another round owns it.
            Err(StorageError::Conflict { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let out = OutboundMessage {
            business_id: b,
            message_id: id,
            from: item.sender.clone(),
            to: item.recipient.clone(),
            content: message.content.clone(),
        };
        match self.transport.send(&out).await {
            Ok(receipt) => {
                // The provider id is stored before the row is finished, so a
                // crash in between leaves a row its status callback settles.
                message.provider_id = Some(receipt.provider_id);
                message.apply_status(MessageStatus::Sending, now, None);
                message.apply_status(receipt.status, now, None);
                let stored = s.update_message(&message).await;
                // The provider has it: the row is sent whatever happens next.
                s.finish(b, id, &OutboxOutcome::Sent, now).await?;
                report.sent += 1;
                stored?;
            }
            Err(e) => self.failed_send(item, message, e, now, report).await?,
        }
        Ok(())
    }

    async fn failed_send(
        &self,
        item: &OutboxItem,
        mut message: Message,
        e: TransportError,
        now: DateTime<Utc>,
        report: &mut DispatchReport,
    ) -> Result<(), ServiceError> {
        let s = &self.storage;
        let (b, id) = (item.business_id, item.message_id);
        let pause = self.with_limiter(&item.sender, |l| {
            l.penalize(e.code(), &item.recipient, e.retry_after(), now)
        });
        let outcome = if matches!(e, TransportError::OutcomeUnknown { .. }) {
            report.unknown += 1;
            OutboxOutcome::Unknown { error: e.to_string() }
        } else if e.is_retryable() && item.attempts < self.config.max_attempts {
            report.retried += 1;
            let doubling = 1_i64 << item.attempts.saturating_sub(1).min(20);
            let backoff = (self.config.backoff_secs.saturating_mul(doubling))
                .min(self.config.max_backoff_secs);
            let mut run_at = now + Duration::seconds(backoff);
            if let Some(wait) = e.retry_after().and_then(|d| Duration::from_std(d).ok()) {
                run_at = run_at.max(now + wait);
            }
            if let Some(p) = pause {
                run_at = run_at.max(p);
            }
            OutboxOutcome::Retry { run_at, error: e.to_string(), code: e.code() }
        } else {
            report.failed += 1;
            message.apply_status(MessageStatus::Failed, now, e.code());
            s.update_message(&message).await?;
            if e.code().is_some_and(|c| OPT_OUT_ERROR_CODES.contains(&c)) {
                let provider = ConsentSource::Provider;
                set_marketing_consent(&**s, b, message.customer_id, false, provider, now).await?;
            }
            OutboxOutcome::Failed { error: e.to_string(), code: e.code() }
        };
        match s.finish(b, id, &outcome, now).await {
            Ok(_) => Ok(()),
            Err(StorageError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
