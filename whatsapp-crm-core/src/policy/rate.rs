//! Throughput limits for one WhatsApp sender (platform-rules 3.1–3.3): its
//! messages per second, the pair limit per recipient, and the messaging-limit
//! tier (unique business-initiated recipients per rolling 24 hours).
//!
//! Pure and clock-driven: the caller passes `now`, so a manual clock tests it
//! exactly. Limits are checked together and consumed only when all admit, so a
//! refusal by one never spends another's budget.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::PhoneNumber;

/// The provider's default sender throughput.
pub const DEFAULT_MESSAGES_PER_SECOND: u32 = 80;
/// The platform's sustained pace to one recipient: one message per 6 s.
pub const DEFAULT_PAIR_INTERVAL_MS: u64 = 6_000;
/// How long a rate-limit error (63018, 130429, 20429) pauses the sender
/// when the provider names no wait.
pub const RATE_LIMIT_PAUSE_SECS: i64 = 1;
/// How long a spam-rate error (131048) pauses the sender: blocks and reports
/// come from people, so this waits for them rather than retrying.
pub const SPAM_PAUSE_SECS: i64 = 3_600;

/// The configurable limits. `None` turns a limit off (benchmarks, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimits {
    /// Messages per second from this sender.
    pub messages_per_second: Option<u32>,
    /// Messages the sender may send ahead of its pace, absorbing a
    /// dispatcher's scheduling lateness without losing throughput.
    pub burst: u32,
    /// Milliseconds between messages to one recipient.
    pub pair_interval_ms: Option<u64>,
    /// Unique business-initiated recipients per rolling 24 hours.
    pub tier: Option<u32>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            messages_per_second: Some(DEFAULT_MESSAGES_PER_SECOND),
            burst: DEFAULT_MESSAGES_PER_SECOND / 10,
            pair_interval_ms: Some(DEFAULT_PAIR_INTERVAL_MS),
            tier: None,
        }
    }
}

impl RateLimits {
    /// Every limit off.
    pub fn unlimited() -> Self {
        Self { messages_per_second: None, burst: 1, pair_interval_ms: None, tier: None }
    }
}

/// Why a message must wait, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "limit", rename_all = "snake_case")]
pub enum Throttle {
    /// The sender's messages per second.
    #[error("sender rate limit")]
    Sender {
        /// When the next message may go.
        until: DateTime<Utc>,
    },
    /// The pace to this one recipient.
    #[error("recipient pair limit")]
    Pair {
        /// When the next message to this recipient may go.
        until: DateTime<Utc>,
    },
    /// The messaging-limit tier is used up.
    #[error("messaging limit tier reached")]
    Tier {
        /// When the oldest counted recipient leaves the 24-hour window.
        until: DateTime<Utc>,
    },
    /// The provider told the sender to stop for a while.
    #[error("sender paused by the provider")]
    Paused {
        /// When the pause ends.
        until: DateTime<Utc>,
    },
}

impl Throttle {
    /// When to try again.
    pub fn until(&self) -> DateTime<Utc> {
        match self {
            Self::Sender { until }
            | Self::Pair { until }
            | Self::Tier { until }
            | Self::Paused { until } => *until,
        }
    }
}

/// A generic cell-rate limiter: one "theoretical arrival time" per stream.
#[derive(Debug, Clone, Copy)]
struct Pace {
    interval: Duration,
    tolerance: Duration,
}

impl Pace {
    fn new(interval: Duration, burst: u32) -> Self {
        Self { interval, tolerance: interval * i32::try_from(burst.max(1) - 1).unwrap_or(i32::MAX) }
    }

    fn sender(limits: &RateLimits) -> Option<Self> {
        limits
            .messages_per_second
            .filter(|r| *r > 0)
            .map(|r| Self::new(Duration::nanoseconds(1_000_000_000 / i64::from(r)), limits.burst))
    }

    fn pair(limits: &RateLimits) -> Option<Self> {
        limits
            .pair_interval_ms
            .filter(|ms| *ms > 0)
            .map(|ms| Self::new(Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)), 1))
    }

    /// The stream's next arrival time if a message goes at `now`, or when it may.
    fn admit(
        &self,
        tat: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DateTime<Utc>> {
        let tat = tat.map_or(now, |t| t.max(now));
        let earliest = tat - self.tolerance;
        if earliest > now { Err(earliest) } else { Ok(tat + self.interval) }
    }
}

/// The tier's rolling window.
pub const TIER_WINDOW: Duration = Duration::hours(24);

/// What the limits remember about one recipient of a sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientMarks {
    /// When the next message to this recipient may go (pair limit).
    pub pair_next: Option<DateTime<Utc>>,
    /// The latest business-initiated send to this recipient (tier).
    pub tier_last: Option<DateTime<Utc>>,
}

impl RecipientMarks {
    /// True when the recipient counts against the tier at `now`.
    pub fn in_tier(&self, now: DateTime<Utc>) -> bool {
        self.tier_last.is_some_and(|t| t + TIER_WINDOW > now)
    }

    /// True when the marks still limit anything at `now`.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        self.in_tier(now) || self.pair_next.is_some_and(|t| t > now)
    }
}

/// A request to send one message: to whom, and whether the business starts it
/// (outside the customer's window, so it counts against the tier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendSlot {
    /// The recipient.
    pub to: PhoneNumber,
    /// Business-initiated.
    pub business_initiated: bool,
}

/// A provider error the limits react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    /// The provider's code.
    pub code: Option<u32>,
    /// The recipient of the failed message.
    pub to: PhoneNumber,
    /// The wait the provider named.
    pub retry_after: Option<std::time::Duration>,
}

/// The limits' state for one sender: what storage keeps between rounds, so
/// every dispatcher process shares one budget. A backend loads it for the
/// recipients of one round (`recipients`), with the rest of the tier window
/// summed up in `others_in_tier` and `others_oldest`, runs [`admit`] or
/// [`penalize`] under its lock, and writes it back.
///
/// [`admit`]: SenderLedger::admit
/// [`penalize`]: SenderLedger::penalize
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderLedger {
    /// The sender's next arrival time (messages per second).
    pub next_at: Option<DateTime<Utc>>,
    /// While the provider has paused the sender.
    pub paused_until: Option<DateTime<Utc>>,
    /// The loaded recipients.
    pub recipients: HashMap<PhoneNumber, RecipientMarks>,
    /// Recipients inside the tier window that are not loaded.
    pub others_in_tier: u32,
    /// The oldest tier send among those.
    pub others_oldest: Option<DateTime<Utc>>,
}

impl SenderLedger {
    fn tier_count(&self, now: DateTime<Utc>) -> (u32, Option<DateTime<Utc>>) {
        let mut count = self.others_in_tier;
        let mut oldest = self.others_oldest;
        for m in self.recipients.values().filter(|m| m.in_tier(now)) {
            count += 1;
            oldest = match (oldest, m.tier_last) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        (count, oldest)
    }

    /// Admits the requests in order at `now`, spending each admitted one's
    /// budget; a refused request spends nothing. Requests refused by the
    /// sender's pace are given successive slots after it, so a backlog comes
    /// back spread out rather than all at once.
    pub fn admit(
        &mut self,
        limits: &RateLimits,
        requests: &[SendSlot],
        now: DateTime<Utc>,
    ) -> Vec<Result<(), Throttle>> {
        let sender = Pace::sender(limits);
        let pair = Pace::pair(limits);
        let mut waiting = 0;
        requests
            .iter()
            .map(|r| {
                let out = self.admit_one(limits, sender, pair, r, now);
                match (out, sender) {
                    (Err(Throttle::Sender { until }), Some(p)) => {
                        waiting += 1;
                        Err(Throttle::Sender { until: until + p.interval * (waiting - 1) })
                    }
                    (out, _) => out,
                }
            })
            .collect()
    }

    fn admit_one(
        &mut self,
        limits: &RateLimits,
        sender: Option<Pace>,
        pair: Option<Pace>,
        r: &SendSlot,
        now: DateTime<Utc>,
    ) -> Result<(), Throttle> {
        if let Some(until) = self.paused_until.filter(|u| *u > now) {
            return Err(Throttle::Paused { until });
        }
        let marks = self.recipients.get(&r.to).copied().unwrap_or_default();
        let counts_for_tier = r.business_initiated && !marks.in_tier(now);
        if let Some(tier) = limits.tier
            && counts_for_tier
        {
            let (count, oldest) = self.tier_count(now);
            if count >= tier {
                return Err(Throttle::Tier { until: oldest.unwrap_or(now) + TIER_WINDOW });
            }
        }
        let pair_next = match pair {
            Some(p) => {
                Some(p.admit(marks.pair_next, now).map_err(|until| Throttle::Pair { until })?)
            }
            None => None,
        };
        if let Some(p) = sender {
            self.next_at =
                Some(p.admit(self.next_at, now).map_err(|until| Throttle::Sender { until })?);
        }
        if pair_next.is_some() || (r.business_initiated && limits.tier.is_some()) {
            let m = self.recipients.entry(r.to.clone()).or_default();
            if pair_next.is_some() {
                m.pair_next = pair_next;
            }
            if r.business_initiated && limits.tier.is_some() {
                m.tier_last = Some(m.tier_last.map_or(now, |t| t.max(now)));
            }
        }
        Ok(())
    }

    /// Reacts to a provider error: rate-limit codes pause the sender for the
    /// provider's wait (or a second), spam-rate codes for an hour, and the
    /// pair-limit code holds that recipient. Returns the pause, if any.
    pub fn penalize(
        &mut self,
        limits: &RateLimits,
        penalty: &Penalty,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let wait = penalty.retry_after.and_then(|d| Duration::from_std(d).ok());
        let until = match penalty.code {
            Some(63018 | 130429 | 20429 | 80007) => {
                now + wait.unwrap_or(Duration::seconds(RATE_LIMIT_PAUSE_SECS))
            }
            Some(131048 | 132015 | 132016) => now + Duration::seconds(SPAM_PAUSE_SECS),
            Some(131056) => {
                let interval = limits.pair_interval_ms.unwrap_or(DEFAULT_PAIR_INTERVAL_MS);
                let hold = now
                    + wait.unwrap_or(Duration::milliseconds(
                        i64::try_from(interval).unwrap_or(i64::MAX),
                    ));
                let m = self.recipients.entry(penalty.to.clone()).or_default();
                m.pair_next = Some(m.pair_next.map_or(hold, |t| t.max(hold)));
                return None;
            }
            _ => return None,
        };
        let until = self.paused_until.map_or(until, |p| p.max(until));
        self.paused_until = Some(until);
        Some(until)
    }

    /// Forgets recipients whose marks no longer limit anything.
    pub fn forget_expired(&mut self, now: DateTime<Utc>) {
        self.recipients.retain(|_, m| m.live(now));
    }
}

/// The limits of one sender with its whole ledger in this process: for
/// single-process tools and in-memory storage. Dispatchers that share a
/// database use the ledger the database keeps instead.
#[derive(Debug, Clone)]
pub struct SenderLimiter {
    limits: RateLimits,
    ledger: SenderLedger,
}

impl SenderLimiter {
    /// A limiter with nothing sent yet.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, ledger: SenderLedger::default() }
    }

    /// The limits in force.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Runs the ledger over `requests`; see [`SenderLedger::admit`].
    pub fn admit(
        &mut self,
        requests: &[SendSlot],
        now: DateTime<Utc>,
    ) -> Vec<Result<(), Throttle>> {
        // Expired marks are dropped now and then, not on every call.
        if self.ledger.recipients.len() > 4096 {
            self.ledger.forget_expired(now);
        }
        self.ledger.admit(&self.limits, requests, now)
    }

    /// Admits one message to `to` at `now`, spending every limit's budget, or
    /// says which limit holds it and until when (spending nothing).
    /// `business_initiated` messages count against the tier.
    pub fn try_acquire(
        &mut self,
        to: &PhoneNumber,
        business_initiated: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Throttle> {
        let slot = SendSlot { to: to.clone(), business_initiated };
        self.admit(std::slice::from_ref(&slot), now).pop().unwrap_or(Ok(()))
    }

    /// Counts a business-initiated send to `to` at `at` against the tier,
    /// keeping each recipient's latest.
    pub fn record_tier(&mut self, to: &PhoneNumber, at: DateTime<Utc>) {
        if self.limits.tier.is_some() {
            let m = self.ledger.recipients.entry(to.clone()).or_default();
            m.tier_last = Some(m.tier_last.map_or(at, |t| t.max(at)));
        }
    }

    /// Reacts to a provider error; see [`SenderLedger::penalize`].
    pub fn penalize(
        &mut self,
        code: Option<u32>,
        to: &PhoneNumber,
        retry_after: Option<std::time::Duration>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let penalty = Penalty { code, to: to.clone(), retry_after };
        self.ledger.penalize(&self.limits, &penalty, now)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_767_225_600_000 + ms).unwrap()
    }

    fn number(i: u32) -> PhoneNumber {
        format!("+2547{i:08}").parse().unwrap()
    }

    /// Drives the limiter like a dispatcher polling every `step_ms` for
    /// `total_ms`, each message to a new recipient; returns how many went.
    fn run(limiter: &mut SenderLimiter, step_ms: i64, total_ms: i64) -> u32 {
        let (mut sent, mut now) = (0, 0);
        while now < total_ms {
            match limiter.try_acquire(&number(sent), true, t(now)) {
                Ok(()) => sent += 1,
                Err(_) => now += step_ms,
            }
        }
        sent
    }

    #[test]
    fn eighty_per_second_holds_within_one_percent_over_a_minute() {
        for step in [1, 5, 13] {
            let limits = RateLimits { pair_interval_ms: None, ..RateLimits::default() };
            let sent = run(&mut SenderLimiter::new(limits), step, 60_000);
            let expected = 80.0 * 60.0;
            let error = (f64::from(sent) - expected).abs() / expected;
            assert!(error <= 0.01, "polling every {step} ms sent {sent}, {error:.4} off");
        }
    }

    #[test]
    fn other_rates_hold_too() {
        for rate in [1, 7, 400, 1_000] {
            let limits = RateLimits {
                messages_per_second: Some(rate),
                burst: (rate / 10).max(1),
                pair_interval_ms: None,
                tier: None,
            };
            let sent = run(&mut SenderLimiter::new(limits), 1, 60_000);
            let expected = f64::from(rate) * 60.0;
            assert!((f64::from(sent) - expected).abs() / expected <= 0.01, "{rate}/s sent {sent}");
        }
    }

    #[test]
    fn the_refusal_says_when_to_come_back() {
        let limits = RateLimits { burst: 1, pair_interval_ms: None, ..RateLimits::default() };
        let mut l = SenderLimiter::new(limits);
        l.try_acquire(&number(1), true, t(0)).unwrap();
        let err = l.try_acquire(&number(2), true, t(1)).unwrap_err();
        assert_eq!(err, Throttle::Sender { until: t(0) + Duration::microseconds(12_500) });
        l.try_acquire(&number(2), true, err.until()).unwrap();
    }

    #[test]
    fn one_recipient_gets_one_message_per_six_seconds() {
        let mut l = SenderLimiter::new(RateLimits::default());
        let to = number(1);
        l.try_acquire(&to, false, t(0)).unwrap();
        assert_eq!(l.try_acquire(&to, false, t(5_999)), Err(Throttle::Pair { until: t(6_000) }));
        // Others are not held by it, and the refusal spent nothing.
        l.try_acquire(&number(2), false, t(5_999)).unwrap();
        l.try_acquire(&to, false, t(6_000)).unwrap();
        // Over a simulated minute of constant trying: ten (0 s, 6 s, ..., 54 s).
        let mut l = SenderLimiter::new(RateLimits::default());
        let sent = (0..60_000).step_by(10).filter(|ms| l.try_acquire(&to, false, t(*ms)).is_ok());
        assert_eq!(sent.count(), 10);
    }

    #[test]
    fn the_tier_counts_unique_business_initiated_recipients_per_day() {
        let limits = RateLimits { tier: Some(3), ..RateLimits::unlimited() };
        let mut l = SenderLimiter::new(limits);
        for i in 0..3 {
            l.try_acquire(&number(i), true, t(i64::from(i) * 1_000)).unwrap();
        }
        // A fourth new recipient waits until the first leaves the window.
        let err = l.try_acquire(&number(9), true, t(10_000)).unwrap_err();
        assert_eq!(err, Throttle::Tier { until: t(0) + TIER_WINDOW });
        // Counted recipients and replies inside the window are not new.
        l.try_acquire(&number(1), true, t(11_000)).unwrap();
        l.try_acquire(&number(9), false, t(12_000)).unwrap();
        l.try_acquire(&number(9), true, t(0) + TIER_WINDOW).unwrap();
        assert!(l.try_acquire(&number(8), true, t(0) + TIER_WINDOW).is_err());
        // number(1) was renewed at 11 s, so number(2) (at 2 s) leaves before it.
        assert_eq!(
            l.try_acquire(&number(8), true, t(1_000) + TIER_WINDOW),
            Err(Throttle::Tier { until: t(2_000) + TIER_WINDOW })
        );
        l.try_acquire(&number(8), true, t(2_000) + TIER_WINDOW).unwrap();
    }

    #[test]
    fn a_restart_resumes_with_the_days_recipients() {
        let limits = RateLimits { tier: Some(2), ..RateLimits::unlimited() };
        let mut l = SenderLimiter::new(limits);
        l.record_tier(&number(1), t(3));
        l.record_tier(&number(2), t(5));
        // An older send to a counted recipient changes nothing.
        l.record_tier(&number(1), t(0));
        assert_eq!(
            l.try_acquire(&number(3), true, t(10)),
            Err(Throttle::Tier { until: t(3) + TIER_WINDOW })
        );
    }

    #[test]
    fn provider_errors_pause_or_hold() {
        let mut l = SenderLimiter::new(RateLimits::default());
        let to = number(1);
        assert_eq!(l.penalize(Some(63018), &to, None, t(0)), Some(t(1_000)));
        assert_eq!(
            l.try_acquire(&number(2), false, t(500)),
            Err(Throttle::Paused { until: t(1_000) })
        );
        l.try_acquire(&number(2), false, t(1_000)).unwrap();
        let wait = std::time::Duration::from_secs(30);
        assert_eq!(l.penalize(Some(20429), &to, Some(wait), t(2_000)), Some(t(32_000)));
        // A shorter later pause never shortens a longer one.
        assert_eq!(l.penalize(Some(63018), &to, None, t(3_000)), Some(t(32_000)));
        assert_eq!(l.penalize(Some(131048), &to, None, t(40_000)), Some(t(3_640_000)));
        let mut l = SenderLimiter::new(RateLimits::default());
        assert_eq!(l.penalize(Some(131056), &to, None, t(0)), None);
        assert_eq!(l.try_acquire(&to, false, t(1)), Err(Throttle::Pair { until: t(6_000) }));
        assert_eq!(l.penalize(Some(63016), &to, None, t(0)), None);
    }

    #[test]
    fn unlimited_admits_everything() {
        let mut l = SenderLimiter::new(RateLimits::unlimited());
        for i in 0..10_000 {
            l.try_acquire(&number(1), true, t(0)).unwrap_or_else(|e| panic!("{i}: {e}"));
        }
    }
}
