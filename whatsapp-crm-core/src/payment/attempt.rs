//! The payment attempt state machine. An attempt is `pending` until the
//! provider has it, `prompted` while the customer decides (an M-Pesa PIN
//! prompt, a card page), then `succeeded`, `failed`, `cancelled` or
//! `expired`, and never moves again. What the provider reports is a
//! [`PaymentOutcome`]; [`step`] says what it does.

use chrono::{DateTime, Utc};

use crate::domain::{Money, PaymentAttempt, PaymentStatus};

/// What a provider says about an attempt (from a callback, a webhook or a
/// status query), in the SDK's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The provider took the request; the customer is being asked.
    Prompted {
        /// The provider's reference (M-Pesa `CheckoutRequestID`, Paystack
        /// `reference`).
        reference: String,
    },
    /// Still being processed.
    Pending,
    /// Paid.
    Succeeded {
        /// What was paid.
        amount: Money,
        /// The provider's receipt (M-Pesa receipt number, card reference).
        receipt: Option<String>,
    },
    /// Refused (insufficient funds, wrong PIN, card declined...).
    Failed {
        /// The provider's code.
        code: String,
        /// Its explanation.
        reason: String,
    },
    /// The customer said no.
    Cancelled {
        /// The provider's explanation.
        reason: String,
    },
    /// No answer in time.
    Expired,
}

/// What an outcome does to an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The attempt moves.
    Moved(Box<PaymentAttempt>),
    /// Nothing new: the attempt is already there (a repeat).
    Same,
}

/// Why an outcome cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    /// The attempt is final and the outcome says otherwise.
    #[error("the payment is already {status}; a report of {reported} is ignored")]
    Final {
        /// Where it is.
        status: &'static str,
        /// What was reported.
        reported: &'static str,
    },
    /// Paid in another currency than asked.
    #[error("paid in {found}, asked in {expected}")]
    Currency {
        /// Asked.
        expected: crate::domain::Currency,
        /// Paid.
        found: crate::domain::Currency,
    },
}

fn name(o: &PaymentOutcome) -> &'static str {
    match o {
        PaymentOutcome::Prompted { .. } => "prompted",
        PaymentOutcome::Pending => "pending",
        PaymentOutcome::Succeeded { .. } => "succeeded",
        PaymentOutcome::Failed { .. } => "failed",
        PaymentOutcome::Cancelled { .. } => "cancelled",
        PaymentOutcome::Expired => "expired",
    }
}

/// What `outcome` does to `attempt` at `now`. A success records what was
/// paid (flagged when it is not the amount asked); the final states never
/// move; repeats are [`Step::Same`].
pub fn step(
    attempt: &PaymentAttempt,
    outcome: &PaymentOutcome,
    now: DateTime<Utc>,
) -> Result<Step, PaymentError> {
    use PaymentStatus::{Cancelled, Expired, Failed, Pending, Prompted, Succeeded};
    let mut next = attempt.clone();
    next.updated_at = now;
    let to = match outcome {
        PaymentOutcome::Pending => return Ok(Step::Same),
        PaymentOutcome::Prompted { reference } => {
            if attempt.status != Pending {
                return Ok(Step::Same);
            }
            next.provider_reference = Some(reference.clone());
            Prompted
        }
        PaymentOutcome::Succeeded { amount, receipt } => {
            if attempt.status == Succeeded {
                return Ok(Step::Same);
            }
            if amount.currency != attempt.amount.currency {
                return Err(PaymentError::Currency {
                    expected: attempt.amount.currency,
                    found: amount.currency,
                });
            }
            next.paid = Some(*amount);
            next.receipt = receipt.clone().or(next.receipt);
            if amount.minor != attempt.amount.minor {
                next.flags.push(format!("paid {amount}, asked {}", attempt.amount));
            }
            next.settled_at = Some(now);
            Succeeded
        }
        PaymentOutcome::Failed { code, reason } => {
            next.failure = Some(format!("{code}: {reason}"));
            Failed
        }
        PaymentOutcome::Cancelled { reason } => {
            next.failure = Some(reason.clone());
            Cancelled
        }
        PaymentOutcome::Expired => Expired,
    };
    if attempt.status == to {
        return Ok(Step::Same);
    }
    // A late success for an attempt given up on still happened: the money
    // moved, so it is recorded (and flagged for the shop to look at).
    let late_success = to == Succeeded && matches!(attempt.status, Expired | Failed);
    if attempt.status.is_final() && !late_success {
        return Err(PaymentError::Final {
            status: attempt.status.as_str(),
            reported: name(outcome),
        });
    }
    if late_success {
        next.flags.push(format!("paid after it was {}", attempt.status.as_str()));
    }
    next.status = to;
    Ok(Step::Moved(Box::new(next)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BusinessId, Currency, CustomerId, OrderId, PaymentId};

    fn attempt(status: PaymentStatus) -> PaymentAttempt {
        PaymentAttempt {
            id: PaymentId::new(),
            business_id: BusinessId::new(),
            order_id: OrderId::new(),
            customer_id: CustomerId::new(),
            provider: "mpesa".into(),
            amount: Money::new(69_000, Currency::KES),
            status,
            provider_reference: None,
            receipt: None,
            paid: None,
            phone: None,
            checkout_url: None,
            failure: None,
            flags: Vec::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            settled_at: None,
            checks: 0,
            next_check_at: None,
            receipt_message_id: None,
            receipt_skipped: None,
        }
    }

    fn paid(minor: i64) -> PaymentOutcome {
        PaymentOutcome::Succeeded {
            amount: Money::new(minor, Currency::KES),
            receipt: Some("NLJ7RT61SV".into()),
        }
    }

    #[test]
    fn an_attempt_goes_pending_prompted_succeeded_and_stays() {
        let now = Utc::now();
        let a = attempt(PaymentStatus::Pending);
        let Step::Moved(a) =
            step(&a, &PaymentOutcome::Prompted { reference: "ws_CO_1".into() }, now).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (a.status, a.provider_reference.as_deref()),
            (PaymentStatus::Prompted, Some("ws_CO_1"))
        );
        let Step::Moved(a) = step(&a, &paid(69_000), now).unwrap() else { panic!() };
        assert_eq!(
            (a.status, a.receipt.as_deref()),
            (PaymentStatus::Succeeded, Some("NLJ7RT61SV"))
        );
        assert!(a.flags.is_empty());
        assert_eq!(step(&a, &paid(69_000), now).unwrap(), Step::Same, "a repeat");
        assert!(matches!(step(&a, &PaymentOutcome::Expired, now), Err(PaymentError::Final { .. })));
    }

    #[test]
    fn another_amount_is_flagged_and_final_states_stay() {
        let now = Utc::now();
        let Step::Moved(a) = step(&attempt(PaymentStatus::Prompted), &paid(70_000), now).unwrap()
        else {
            panic!()
        };
        assert_eq!(a.flags, ["paid KES 700.00, asked KES 690.00"]);
        let usd = PaymentOutcome::Succeeded { amount: Money::new(1, Currency::USD), receipt: None };
        assert!(matches!(
            step(&attempt(PaymentStatus::Prompted), &usd, now),
            Err(PaymentError::Currency { .. })
        ));
        let cancelled = attempt(PaymentStatus::Cancelled);
        assert!(matches!(step(&cancelled, &paid(69_000), now), Err(PaymentError::Final { .. })));
        let Step::Moved(late) = step(&attempt(PaymentStatus::Expired), &paid(69_000), now).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (late.status, late.flags.len()),
            (PaymentStatus::Succeeded, 1),
            "money that moved is kept"
        );
        let failed =
            PaymentOutcome::Failed { code: "1".into(), reason: "insufficient balance".into() };
        let Step::Moved(f) = step(&attempt(PaymentStatus::Prompted), &failed, now).unwrap() else {
            panic!()
        };
        assert_eq!(f.failure.as_deref(), Some("1: insufficient balance"));
        assert_eq!(
            step(&attempt(PaymentStatus::Prompted), &PaymentOutcome::Pending, now).unwrap(),
            Step::Same
        );
    }
}
