//! What providers post: an M-Pesa callback (to its attempt's own
//! single-use URL) or a signed Paystack webhook. Each is stored raw before
//! anything else, kept once per provider, reference and kind, and only
//! moves an attempt once the provider's own status query agrees.

use std::net::IpAddr;

use crate::domain::{Business, PaymentAttempt, PaymentEvent};
use crate::payment::PaymentOutcome;
use crate::ports::{EventRecorded, PaymentProviderError, ProviderEvent, to_storage_precision};
use crate::service::ServiceError;

use super::Payments;
use super::start::token_hash;

/// Longest raw body kept with an event.
const RAW_MAX_BYTES: usize = 16 * 1024;

/// What a provider's post did. Every one is acknowledged to the provider.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackResult {
    /// Nothing matched it (an unknown token or reference); logged only.
    Ignored(String),
    /// The same event came before; nothing changed.
    Duplicate,
    /// Kept, but it moves nothing until a person or the provider's query
    /// says more: the reason.
    Flagged(String),
    /// Confirmed by the provider and applied: the attempt as it is now.
    Applied(Box<PaymentAttempt>),
}

/// Why a webhook was refused; nothing was stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRefused {
    /// The signature is missing or does not match.
    #[error("the signature does not match")]
    Signature,
    /// The body cannot be read.
    #[error("{0}")]
    Malformed(String),
    /// Something failed on our side.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn outcome_name(o: &PaymentOutcome) -> &'static str {
    match o {
        PaymentOutcome::Prompted { .. } => "prompted",
        PaymentOutcome::Pending => "pending",
        PaymentOutcome::Succeeded { .. } => "succeeded",
        PaymentOutcome::Failed { .. } => "failed",
        PaymentOutcome::Cancelled { .. } => "cancelled",
        PaymentOutcome::Expired => "expired",
    }
}

fn raw(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(RAW_MAX_BYTES)]).into_owned()
}

impl Payments {
    /// An M-Pesa callback posted to `/webhooks/mpesa/{token}` from
    /// `remote`. Always acknowledged to Daraja; see [`CallbackResult`].
    pub async fn mpesa_callback(
        &self,
        token: &str,
        remote: Option<IpAddr>,
        body: &[u8],
    ) -> Result<CallbackResult, ServiceError> {
        let config = self.config()?;
        let allowed = config.mpesa_callback_ips.is_empty()
            || remote.is_some_and(|ip| config.mpesa_callback_ips.contains(&ip));
        if !allowed {
            tracing::warn!(remote = ?remote, "M-Pesa callback from an address not on the allow-list");
            if config.enforce_callback_ips {
                return Ok(CallbackResult::Ignored("address not on the allow-list".into()));
            }
        }
        let Some(attempt) = self.storage.payment_by_callback_token(token_hash(token)).await? else {
            tracing::warn!("M-Pesa callback to an unknown URL; ignored");
            return Ok(CallbackResult::Ignored("unknown callback URL".into()));
        };
        let b = self.storage.get_business(attempt.business_id).await?;
        let now = to_storage_precision(self.clock.now());
        let reference = attempt.provider_reference.clone().unwrap_or_default();
        let mut event = PaymentEvent {
            payment_id: Some(attempt.id),
            provider: attempt.provider.clone(),
            reference: reference.clone(),
            kind: "stk_callback".into(),
            outcome: None,
            amount: None,
            raw: raw(body),
            flag: None,
            received_at: now,
        };
        let parsed = self.provider(&attempt.provider)?.parse_callback(None, body);
        let read = match &parsed {
            Ok(e) if e.reference == reference => Some(e.clone()),
            Ok(e) => {
                event.flag = Some(format!("callback names {} instead", e.reference));
                None
            }
            Err(e) => {
                event.flag = Some(format!("unreadable: {e}"));
                None
            }
        };
        if let Some(e) = &read {
            event.outcome = Some(outcome_name(&e.outcome).into());
            event.amount = e.amount;
            if matches!(e.outcome, PaymentOutcome::Succeeded { .. })
                && e.amount != Some(attempt.amount)
            {
                event.flag = Some(format!(
                    "callback names {}, the push asked {}",
                    e.amount.map_or("no amount".into(), |a| a.to_string()),
                    attempt.amount
                ));
            }
        }
        match self.storage.record_payment_event(b.id, &event).await? {
            EventRecorded::Duplicate => return Ok(CallbackResult::Duplicate),
            EventRecorded::Conflict(first) => {
                let why = format!("a second callback with another amount than {:?}", first.amount);
                self.flag(&b, &attempt, &why).await?;
                return Ok(CallbackResult::Flagged(why));
            }
            EventRecorded::New => {}
        }
        let (Some(e), None) = (read, event.flag.clone()) else {
            let why = event.flag.unwrap_or_default();
            self.flag(&b, &attempt, &why).await?;
            return Ok(CallbackResult::Flagged(why));
        };
        self.confirm(&b, attempt, e).await
    }

    /// A provider's signed webhook (Paystack). Refused unless signed.
    pub async fn provider_webhook(
        &self,
        provider: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<CallbackResult, WebhookRefused> {
        let p = self.provider(provider)?;
        let e = match p.parse_callback(signature, body) {
            Ok(e) => e,
            Err(PaymentProviderError::BadSignature) => return Err(WebhookRefused::Signature),
            Err(e) => return Err(WebhookRefused::Malformed(e.to_string())),
        };
        let Some(attempt) = self
            .storage
            .payment_by_reference(provider, &e.reference)
            .await
            .map_err(ServiceError::from)?
        else {
            tracing::warn!(provider, "webhook for an unknown reference; ignored");
            return Ok(CallbackResult::Ignored("unknown reference".into()));
        };
        let b = self.storage.get_business(attempt.business_id).await.map_err(ServiceError::from)?;
        let event = PaymentEvent {
            payment_id: Some(attempt.id),
            provider: provider.to_owned(),
            reference: e.reference.clone(),
            kind: e.kind.clone(),
            outcome: Some(outcome_name(&e.outcome).into()),
            amount: e.amount,
            raw: raw(body),
            flag: None,
            received_at: to_storage_precision(self.clock.now()),
        };
        match self.storage.record_payment_event(b.id, &event).await.map_err(ServiceError::from)? {
            EventRecorded::Duplicate => return Ok(CallbackResult::Duplicate),
            EventRecorded::Conflict(first) => {
                let why =
                    format!("a second {} with another amount than {:?}", e.kind, first.amount);
                self.flag(&b, &attempt, &why).await?;
                return Ok(CallbackResult::Flagged(why));
            }
            EventRecorded::New => {}
        }
        Ok(self.confirm(&b, attempt, e).await?)
    }

    /// Asks the provider about what a post said and applies its answer.
    async fn confirm(
        &self,
        b: &Business,
        attempt: PaymentAttempt,
        said: ProviderEvent,
    ) -> Result<CallbackResult, ServiceError> {
        let reference = attempt.provider_reference.clone().unwrap_or_default();
        let answer = match self.provider(&attempt.provider)?.query(&reference, attempt.amount).await
        {
            Ok(a) => a,
            Err(e) => {
                // The reconciliation worker asks again.
                tracing::warn!(payment = %attempt.id, error = %e, "status query failed");
                return Ok(CallbackResult::Flagged(format!("the status query failed: {e}")));
            }
        };
        let agrees = outcome_name(&answer) == outcome_name(&said.outcome);
        if !agrees {
            let why = format!(
                "the provider said {} but its status query says {}",
                outcome_name(&said.outcome),
                outcome_name(&answer)
            );
            self.flag(b, &attempt, &why).await?;
            if matches!(answer, PaymentOutcome::Pending) {
                return Ok(CallbackResult::Flagged(why));
            }
        }
        let attempt = self.storage.get_payment(b.id, attempt.id).await?;
        // A success keeps the receipt number the post carried (M-Pesa's
        // query has none).
        let answer = match (answer, said.outcome) {
            (
                PaymentOutcome::Succeeded { amount, receipt: None },
                PaymentOutcome::Succeeded { receipt, .. },
            ) => PaymentOutcome::Succeeded { amount, receipt },
            (a, _) => a,
        };
        let applied = self.apply(b, attempt, &answer).await?;
        Ok(CallbackResult::Applied(Box::new(applied)))
    }

    /// Adds a flag a person should see to the attempt.
    pub(super) async fn flag(
        &self,
        b: &Business,
        attempt: &PaymentAttempt,
        why: &str,
    ) -> Result<(), ServiceError> {
        tracing::warn!(business = %b.id, payment = %attempt.id, flag = why, "payment flagged");
        let mut current = self.storage.get_payment(b.id, attempt.id).await?;
        if current.flags.iter().any(|f| f == why) {
            return Ok(());
        }
        let from = current.status;
        current.flags.push(why.to_owned());
        match self.storage.update_payment(&current, from).await {
            Ok(()) | Err(crate::ports::StorageError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
