//! Applying what a provider confirmed: the attempt moves, a success pays
//! the order when the succeeded attempts cover it, and the customer gets
//! one receipt per succeeded attempt.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::{
    Business, Order, OrderNotice, OrderNotification, OrderStatus, PaymentAttempt, PaymentStatus,
};
use crate::payment::{Coverage, PaymentOutcome, Step, coverage, step};
use crate::ports::{PAYMENT_CHANGED, StorageError, to_storage_precision};
use crate::service::ServiceError;
use crate::service::commerce::{Notifier, OrderAction, Orders, local_time};

use super::Payments;

/// Tries an attempt makes at moving when another writer moved it first.
const MOVE_TRIES: usize = 3;

fn provider_name(p: &PaymentAttempt) -> &'static str {
    match p.provider.as_str() {
        "mpesa" => "M-Pesa",
        "paystack" => "card",
        _ => "payment",
    }
}

impl Payments {
    /// Moves `attempt` by a confirmed `outcome`, then settles what follows.
    /// Safe to repeat: a repeat changes nothing and sends nothing twice.
    pub(super) async fn apply(
        &self,
        b: &Business,
        mut attempt: PaymentAttempt,
        outcome: &PaymentOutcome,
    ) -> Result<PaymentAttempt, ServiceError> {
        for _ in 0..MOVE_TRIES {
            let now = to_storage_precision(self.clock.now());
            let next = match step(&attempt, outcome, now) {
                Ok(Step::Same) => break,
                Ok(Step::Moved(next)) => *next,
                Err(e) => {
                    tracing::warn!(payment = %attempt.id, error = %e, "payment report not applied");
                    return Ok(attempt);
                }
            };
            let mut next = next;
            if next.status.is_final() {
                next.next_check_at = None;
            }
            match self.storage.update_payment(&next, attempt.status).await {
                Ok(()) => {
                    attempt = next;
                    break;
                }
                Err(StorageError::Conflict { constraint, .. }) if constraint == PAYMENT_CHANGED => {
                    attempt = self.storage.get_payment(b.id, attempt.id).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if attempt.status == PaymentStatus::Succeeded {
            self.settle(b, &attempt).await?;
            attempt = self.storage.get_payment(b.id, attempt.id).await?;
        }
        Ok(attempt)
    }

    /// Pays the order when succeeded attempts cover it, flags what a person
    /// should see, and sends the attempt's receipt.
    async fn settle(&self, b: &Business, attempt: &PaymentAttempt) -> Result<(), ServiceError> {
        let order = self.storage.get_order(b.id, attempt.order_id).await?;
        let paid = self.settled(b, &order).await?;
        let cover = coverage(order.total, &paid);
        let mut flag = match (order.status, cover) {
            (OrderStatus::AwaitingPayment, _) => None,
            (OrderStatus::Paid | OrderStatus::Fulfilled, _) => None,
            (status, _) => Some(format!(
                "paid while the order was {}; refund or reopen it",
                crate::ports::enum_to_text(&status).unwrap_or_default()
            )),
        };
        if let Coverage::Over(by) = cover {
            flag = Some(format!(
                "the order is overpaid by {}",
                crate::domain::Money::new(by, order.total.currency)
            ));
        }
        if let Some(f) = flag
            && !attempt.flags.contains(&f)
        {
            let mut flagged = attempt.clone();
            flagged.flags.push(f);
            match self.storage.update_payment(&flagged, attempt.status).await {
                Ok(()) | Err(StorageError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let order = if order.status == OrderStatus::AwaitingPayment && cover.is_paid() {
            let orders = Orders::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
            let reason = format!(
                "paid by {} ({})",
                provider_name(attempt),
                attempt.receipt.as_deref().unwrap_or("no receipt number")
            );
            match orders
                .move_order(b, &order, OrderStatus::Paid, OrderAction::Pay, "system", &reason)
                .await
            {
                Ok(o) => o,
                // Another callback or server paid it at the same moment.
                Err(ServiceError::InvalidState { .. }) => {
                    self.storage.get_order(b.id, order.id).await?
                }
                Err(e) => return Err(e),
            }
        } else {
            order
        };
        self.receipt(b, &order, attempt).await?;
        if order.status == OrderStatus::Paid {
            // The receipt told the customer; the paid notice is kept on the
            // timeline without a second message.
            let n = OrderNotification {
                order_id: order.id,
                notice: OrderNotice::Paid,
                message_id: None,
                skipped: Some("the payment's receipt told the customer".into()),
                at: to_storage_precision(self.clock.now()),
            };
            self.storage.record_notice(b.id, &n, None).await?;
        }
        Ok(())
    }

    /// The attempt's receipt, once: free-form in the window, the business's
    /// `paid` template outside it, or skipped with the reason kept.
    async fn receipt(
        &self,
        b: &Business,
        order: &Order,
        p: &PaymentAttempt,
    ) -> Result<(), ServiceError> {
        if p.receipt_message_id.is_some() || p.receipt_skipped.is_some() {
            return Ok(());
        }
        let customer = self.storage.get_customer(b.id, order.customer_id).await?;
        let amount = p.paid.unwrap_or(p.amount);
        let at = local_time(b, p.settled_at.unwrap_or(p.updated_at));
        let receipt = p.receipt.clone().unwrap_or_else(|| "-".into());
        let text = format!(
            "Receipt from {}: order {} — {amount} paid by {} (ref {receipt}) at {at}. Asante!",
            b.name,
            order.reference(),
            provider_name(p),
        );
        let values = BTreeMap::from([
            ("order_ref".to_owned(), order.reference()),
            ("order_total".to_owned(), order.total.to_string()),
            ("amount_paid".to_owned(), amount.to_string()),
            ("receipt".to_owned(), receipt),
            ("paid_at".to_owned(), at),
        ]);
        let notifier = Notifier::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
        let recorded = match notifier.compose(b, &customer, OrderNotice::Paid, text, values).await?
        {
            Ok(row) => self.storage.record_receipt(b.id, p.id, Some(&row), None).await?,
            Err(why) => self.storage.record_receipt(b.id, p.id, None, Some(&why)).await?,
        };
        if recorded {
            tracing::info!(business = %b.id, payment = %p.id, "receipt");
        }
        Ok(())
    }
}
