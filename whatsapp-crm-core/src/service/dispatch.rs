//! The outbox dispatcher: claims due rows, applies the send policy and the
//! sender's limits, hands each message to the transport once, and records
//! what happened. A row is never sent twice: rows are marked `sending` just
//! before the provider calls, a few at a time, so if the dispatcher dies, rows
//! it had not reached go back to pending and only those in flight become
//! `unknown`, settled by their status callbacks, never retried blindly.
//!
//! A round costs a handful of storage transactions whatever its size: one
//! claim, one read per kind of row, one admission per sender, then one mark and
//! one record per group of messages in flight.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    BusinessId, ConsentSource, Conversation, ConversationId, Customer, CustomerId, Message,
    MessageId, MessageStatus, OutboxItem, PhoneNumber, TemplateCategory, TimeZone,
};
use crate::policy::{Penalty, RateLimits, Refusal, SendFacts, SendPolicy, SendSlot};
use crate::ports::{
    OutboundMessage, OutboxFinish, OutboxKey, OutboxOutcome, Storage, Transport, TransportError,
    to_storage_precision,
};

use super::inbox::set_marketing_consent;
use super::{OPT_OUT_ERROR_CODES, ServiceError};

/// How the dispatcher works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Rows claimed per round.
    pub batch: u32,
    /// Messages handed to the provider at once. Also the most that can be
    /// left `unknown` by a crash.
    pub in_flight: u32,
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
            in_flight: 32,
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

/// Sends what the outbox holds. Cheap to clone; any number of dispatchers,
/// in any number of processes, may share one storage: claims never overlap
/// and the sender's limits are kept in storage.
#[derive(Clone)]
pub struct Dispatcher {
    storage: Arc<dyn Storage>,
    transport: Arc<dyn Transport>,
    config: DispatchConfig,
}

/// Why a row did not go, as stored on it: the stable reason, then words.
fn refusal_text(r: &Refusal) -> String {
    format!("{}: {r}", r.code())
}

fn limits_off(l: &RateLimits) -> bool {
    l.messages_per_second.is_none() && l.pair_interval_ms.is_none() && l.tier.is_none()
}

fn key(item: &OutboxItem) -> OutboxKey {
    OutboxKey { business: item.business_id, message: item.message_id }
}

/// What one round read for its rows, by business.
#[derive(Default)]
struct Loaded {
    messages: HashMap<(BusinessId, MessageId), Message>,
    conversations: HashMap<(BusinessId, ConversationId), Conversation>,
    customers: HashMap<(BusinessId, CustomerId), Customer>,
    zones: HashMap<BusinessId, TimeZone>,
}

/// A row that passed the policy, with its message.
struct Ready {
    item: OutboxItem,
    message: Message,
    window_open: bool,
}

impl Dispatcher {
    /// A dispatcher over `storage` sending through `transport`.
    pub fn new(
        storage: Arc<dyn Storage>,
        transport: Arc<dyn Transport>,
        config: DispatchConfig,
    ) -> Self {
        Self { storage, transport, config }
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
        if items.is_empty() {
            return Ok(report);
        }
        let keys: Vec<OutboxKey> = items.iter().map(key).collect();
        match self.round(items, now, &mut report).await {
            Ok(()) => Ok(report),
            Err(e) => {
                // Rows not yet handed over wait a little instead of until
                // their claims lapse; rows in flight lapse to unknown.
                let wait = OutboxOutcome::Defer {
                    run_at: now + Duration::seconds(self.config.backoff_secs),
                    reason: e.to_string(),
                };
                let rows: Vec<OutboxFinish> = keys
                    .into_iter()
                    .map(|key| OutboxFinish { key, outcome: wait.clone(), message: None })
                    .collect();
                let _ = self.storage.finish_many(&rows, now).await;
                Err(e)
            }
        }
    }

    async fn round(
        &self,
        items: Vec<OutboxItem>,
        now: DateTime<Utc>,
        report: &mut DispatchReport,
    ) -> Result<(), ServiceError> {
        let loaded = self.load(&items).await?;
        let mut settled = Vec::new();
        let mut ready = self.apply_policy(items, &loaded, now, &mut settled, report).await?;
        if !limits_off(&self.config.limits) {
            ready = self.admit(ready, now, &mut settled, report).await?;
        }
        if !settled.is_empty() {
            self.storage.finish_many(&settled, now).await?;
        }
        let chunk = self.config.in_flight.max(1) as usize;
        let mut ready = ready.into_iter().peekable();
        while ready.peek().is_some() {
            let group: Vec<Ready> = ready.by_ref().take(chunk).collect();
            self.send_group(group, now, report).await?;
        }
        Ok(())
    }

    /// Reads every row's message, conversation, customer and time zone with
    /// one query per kind and business.
    async fn load(&self, items: &[OutboxItem]) -> Result<Loaded, ServiceError> {
        let s = &self.storage;
        let mut by_business: HashMap<BusinessId, Vec<MessageId>> = HashMap::new();
        for i in items {
            by_business.entry(i.business_id).or_default().push(i.message_id);
        }
        let mut l = Loaded::default();
        for (b, ids) in by_business {
            let messages = s.get_messages(b, &ids).await?;
            let mut conversations: Vec<_> = messages.iter().map(|m| m.conversation_id).collect();
            let mut customers: Vec<_> = messages.iter().map(|m| m.customer_id).collect();
            conversations.sort_unstable();
            conversations.dedup();
            customers.sort_unstable();
            customers.dedup();
            for c in s.get_conversations(b, &conversations).await? {
                l.conversations.insert((b, c.id), c);
            }
            for c in s.get_customers(b, &customers).await? {
                l.customers.insert((b, c.id), c);
            }
            l.zones.insert(b, s.get_business(b).await?.time_zone);
            l.messages.extend(messages.into_iter().map(|m| ((b, m.id), m)));
        }
        Ok(l)
    }

    /// Applies the send policy; refused rows are settled, the rest returned.
    async fn apply_policy(
        &self,
        items: Vec<OutboxItem>,
        l: &Loaded,
        now: DateTime<Utc>,
        settled: &mut Vec<OutboxFinish>,
        report: &mut DispatchReport,
    ) -> Result<Vec<Ready>, ServiceError> {
        let policy = &self.config.policy;
        // Marketing admitted earlier in this round counts against the cap.
        let mut marketing_now: HashMap<(BusinessId, PhoneNumber), u32> = HashMap::new();
        let mut ready = Vec::with_capacity(items.len());
        for item in items {
            let b = item.business_id;
            let Some(mut message) = l.messages.get(&(b, item.message_id)).cloned() else {
                report.failed += 1;
                let error = "message no longer exists".to_owned();
                let outcome = OutboxOutcome::Failed { error, code: None };
                settled.push(OutboxFinish { key: key(&item), outcome, message: None });
                continue;
            };
            let conversation = l.conversations.get(&(b, message.conversation_id));
            let customer = l.customers.get(&(b, message.customer_id));
            let window_open = conversation.is_some_and(|c| c.window_open(now));
            let marketing = item.category == Some(TemplateCategory::Marketing);
            let mut recent_marketing = Vec::new();
            if marketing {
                let since = now - Duration::hours(policy.marketing_cap_window_hours);
                recent_marketing = self.storage.recent_marketing(b, &item.recipient, since).await?;
                let earlier = marketing_now.get(&(b, item.recipient.clone())).copied();
                recent_marketing.extend((0..earlier.unwrap_or(0)).map(|_| now));
            }
            let facts = SendFacts {
                now,
                time_zone: l.zones.get(&b).copied().unwrap_or(TimeZone::UTC),
                kind: message.kind(),
                category: item.category,
                window_open,
                consent: customer.map(|c| c.marketing.status).unwrap_or_default(),
                recent_marketing,
            };
            match policy.check(&facts) {
                Ok(()) => {
                    if marketing {
                        *marketing_now.entry((b, item.recipient.clone())).or_default() += 1;
                    }
                    ready.push(Ready { item, message, window_open });
                }
                Err(refusal) => {
                    let text = refusal_text(&refusal);
                    let (outcome, message) = match refusal.retry_at() {
                        Some(run_at) => {
                            report.deferred += 1;
                            (OutboxOutcome::Defer { run_at, reason: text }, None)
                        }
                        None => {
                            report.failed += 1;
                            message.apply_status(MessageStatus::Failed, now, None);
                            (OutboxOutcome::Failed { error: text, code: None }, Some(message))
                        }
                    };
                    settled.push(OutboxFinish { key: key(&item), outcome, message });
                }
            }
        }
        Ok(ready)
    }

    /// Spends the senders' shared budgets; held rows are deferred.
    async fn admit(
        &self,
        ready: Vec<Ready>,
        now: DateTime<Utc>,
        settled: &mut Vec<OutboxFinish>,
        report: &mut DispatchReport,
    ) -> Result<Vec<Ready>, ServiceError> {
        let mut by_sender: HashMap<PhoneNumber, Vec<usize>> = HashMap::new();
        for (i, r) in ready.iter().enumerate() {
            by_sender.entry(r.item.sender.clone()).or_default().push(i);
        }
        let mut admitted = vec![false; ready.len()];
        for (sender, rows) in by_sender {
            let slots: Vec<SendSlot> = rows
                .iter()
                .map(|i| SendSlot {
                    to: ready[*i].item.recipient.clone(),
                    business_initiated: !ready[*i].window_open,
                })
                .collect();
            let verdicts =
                self.storage.admit_sends(&sender, &self.config.limits, &slots, now).await?;
            for (i, verdict) in rows.into_iter().zip(verdicts) {
                match verdict {
                    Ok(()) => admitted[i] = true,
                    Err(throttle) => {
                        report.deferred += 1;
                        let outcome = OutboxOutcome::Defer {
                            run_at: throttle.until(),
                            reason: throttle.to_string(),
                        };
                        settled.push(OutboxFinish {
                            key: key(&ready[i].item),
                            outcome,
                            message: None,
                        });
                    }
                }
            }
        }
        Ok(ready.into_iter().zip(admitted).filter_map(|(r, ok)| ok.then_some(r)).collect())
    }

    /// Marks a group `sending`, hands it to the provider at once, and records
    /// every outcome in one transaction.
    async fn send_group(
        &self,
        group: Vec<Ready>,
        now: DateTime<Utc>,
        report: &mut DispatchReport,
    ) -> Result<(), ServiceError> {
        let keys: Vec<OutboxKey> = group.iter().map(|r| key(&r.item)).collect();
        let started = self.storage.start_sends(&keys, now).await?;
        // A row whose claim lapsed meanwhile belongs to another round now.
        let group: Vec<Ready> =
            group.into_iter().zip(started).filter_map(|(r, ok)| ok.then_some(r)).collect();
        let sends = group.iter().map(|r| {
            let out = OutboundMessage {
                business_id: r.item.business_id,
                message_id: r.item.message_id,
                from: r.item.sender.clone(),
                to: r.item.recipient.clone(),
                content: r.message.content.clone(),
            };
            let transport = Arc::clone(&self.transport);
            async move { transport.send(&out).await }
        });
        let results = futures_util::future::join_all(sends).await;
        let mut rows = Vec::with_capacity(group.len());
        for (r, result) in group.into_iter().zip(results) {
            let Ready { item, mut message, .. } = r;
            let outcome = match result {
                Ok(receipt) => {
                    report.sent += 1;
                    message.provider_id = Some(receipt.provider_id);
                    message.apply_status(MessageStatus::Sending, now, None);
                    message.apply_status(receipt.status, now, None);
                    OutboxOutcome::Sent
                }
                Err(e) => self.failed_send(&item, &mut message, e, now, report).await?,
            };
            rows.push(OutboxFinish { key: key(&item), outcome, message: Some(message) });
        }
        self.storage.finish_many(&rows, now).await?;
        Ok(())
    }

    /// What a provider error means for the row, the sender and the customer.
    async fn failed_send(
        &self,
        item: &OutboxItem,
        message: &mut Message,
        e: TransportError,
        now: DateTime<Utc>,
        report: &mut DispatchReport,
    ) -> Result<OutboxOutcome, ServiceError> {
        let s = &self.storage;
        let penalty =
            Penalty { code: e.code(), to: item.recipient.clone(), retry_after: e.retry_after() };
        let pause = if limits_off(&self.config.limits) {
            None
        } else {
            s.penalize_sender(&item.sender, &self.config.limits, &penalty, now).await?
        };
        Ok(if matches!(e, TransportError::OutcomeUnknown { .. }) {
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
            if e.code().is_some_and(|c| OPT_OUT_ERROR_CODES.contains(&c)) {
                let provider = ConsentSource::Provider;
                set_marketing_consent(
                    &**s,
                    item.business_id,
                    message.customer_id,
                    false,
                    provider,
                    now,
                )
                .await?;
            }
            OutboxOutcome::Failed { error: e.to_string(), code: e.code() }
        })
    }
}
