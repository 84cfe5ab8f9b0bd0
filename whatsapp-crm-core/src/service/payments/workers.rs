//! The payment workers, one bounded round each call: reconciliation asks
//! the provider about attempts whose answer is late (and gives them up in
//! the end), and unpaid links get their reminders.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{Business, OrderStatus, PaymentAttempt};
use crate::payment::PaymentOutcome;
use crate::ports::{PAYMENT_CHANGED, StorageError, to_storage_precision};
use crate::service::ServiceError;
use crate::service::commerce::local_time;

use super::Payments;

/// Attempts and links one round looks at.
pub const PAYMENTS_BATCH: u32 = 100;
/// Longest wait between two status queries.
const MAX_CHECK_WAIT_SECS: i64 = 240;

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PaymentsReport {
    /// Attempts the provider was asked about.
    pub checked: u32,
    /// Of those, moved to a final state (succeeded, failed, cancelled).
    pub settled: u32,
    /// Attempts given up on, no answer in time.
    pub expired: u32,
    /// Reminders sent.
    pub reminders: u32,
}

impl Payments {
    /// One round of both workers at `now`. Safe on several servers at once:
    /// every move checks the state it read, and reminders are recorded once.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<PaymentsReport, ServiceError> {
        let mut report = PaymentsReport::default();
        if self.config.is_none() {
            return Ok(report);
        }
        for (business, id) in self.storage.due_payments(now, PAYMENTS_BATCH).await? {
            let b = self.storage.get_business(business).await?;
            let attempt = self.storage.get_payment(business, id).await?;
            match self.reconcile(&b, attempt, now).await {
                Ok(r) => {
                    report.checked += r.0;
                    report.settled += r.1;
                    report.expired += r.2;
                }
                Err(e) => {
                    tracing::warn!(payment = %id, error = %e, "reconciliation failed; next round")
                }
            }
        }
        for (business, order) in self.storage.due_reminders(now, PAYMENTS_BATCH).await? {
            let b = self.storage.get_business(business).await?;
            if self.remind(&b, order, now).await? {
                report.reminders += 1;
            }
        }
        Ok(report)
    }

    /// Asks the provider about an open attempt again (an API call, not the
    /// worker): the attempt as it is now.
    pub async fn refresh(
        &self,
        business: crate::domain::BusinessId,
        id: crate::domain::PaymentId,
    ) -> Result<PaymentAttempt, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let attempt = self.storage.get_payment(business, id).await?;
        if attempt.status.is_final() {
            return Ok(attempt);
        }
        self.reconcile(&b, attempt, self.clock.now()).await?;
        Ok(self.storage.get_payment(business, id).await?)
    }

    /// Queries one attempt: (asked, settled, expired) counts.
    async fn reconcile(
        &self,
        b: &Business,
        attempt: PaymentAttempt,
        now: DateTime<Utc>,
    ) -> Result<(u32, u32, u32), ServiceError> {
        let Some(reference) = attempt.provider_reference.clone() else {
            // Never reached the provider: nothing to ask; give it up.
            let expired = self.apply(b, attempt, &PaymentOutcome::Expired).await?;
            return Ok((0, 0, u32::from(expired.status == crate::domain::PaymentStatus::Expired)));
        };
        let config = self.config()?;
        let answer = match self.provider(&attempt.provider)?.query(&reference, attempt.amount).await
        {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(payment = %attempt.id, error = %e, "status query failed");
                PaymentOutcome::Pending
            }
        };
        if !matches!(answer, PaymentOutcome::Pending) {
            let next = self.apply(b, attempt, &answer).await?;
            return Ok((1, u32::from(next.status.is_final()), 0));
        }
        if now - attempt.created_at >= Duration::minutes(config.give_up_minutes) {
            let next = self.apply(b, attempt, &PaymentOutcome::Expired).await?;
            return Ok((1, 0, u32::from(next.status == crate::domain::PaymentStatus::Expired)));
        }
        let mut waiting = attempt.clone();
        waiting.checks += 1;
        let wait = (config.first_check_secs << waiting.checks.min(8)).min(MAX_CHECK_WAIT_SECS);
        waiting.next_check_at = Some(to_storage_precision(now + Duration::seconds(wait)));
        match self.storage.update_payment(&waiting, attempt.status).await {
            Ok(()) => {}
            Err(StorageError::Conflict { constraint, .. }) if constraint == PAYMENT_CHANGED => {}
            Err(e) => return Err(e.into()),
        }
        Ok((1, 0, 0))
    }

    /// Sends the order's next reminder, once, while it is unpaid; a link
    /// whose order is settled gets none.
    async fn remind(
        &self,
        b: &Business,
        order: crate::domain::OrderId,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let Some(mut link) = self.storage.payment_link(b.id, order).await? else {
            return Ok(false);
        };
        let o = self.storage.get_order(b.id, order).await?;
        if o.status != OrderStatus::AwaitingPayment || now >= link.expires_at {
            link.next_reminder_at = None;
            self.storage.save_payment_link(&link).await?;
            return Ok(false);
        }
        let times = Self::reminder_times(b, link.sent_at, link.expires_at);
        let n = link.reminders_sent + 1;
        let next = times.get(n as usize).copied();
        let body = format!(
            "Reminder: order {} ({}) from {} is waiting for payment. The link works until {}.",
            o.reference(),
            o.total,
            b.name,
            local_time(b, link.expires_at)
        );
        let row = self.link_message(b, &o, &link, body).await?.ok();
        let sent = self.storage.record_reminder(b.id, order, n, next, row.as_ref()).await?;
        Ok(sent && row.is_some())
    }
}
