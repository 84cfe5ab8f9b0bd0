//! Payment links: `{public}/pay/{token}`, sent in chat (a call-to-action
//! button inside the window, the business's `payment_link` template
//! outside it), working until the order is paid, expired or cancelled.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    Business, BusinessId, Interactive, LineItem, Money, Order, OrderId, OrderNotice, OrderStatus,
    PaymentAttempt, PaymentLink,
};
use crate::payment::{LinkError, link_business, sign_link, verify_link};
use crate::ports::to_storage_precision;
use crate::service::ServiceError;
use crate::service::commerce::{Notifier, local_time};

use super::{PayWith, Payments};

/// A payment link as made, and whether a chat message carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentLink {
    /// The link.
    #[serde(flatten)]
    pub link: PaymentLink,
    /// The queued message carrying it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub message_id: Option<crate::domain::MessageId>,
    /// Why no message could go (outside the customer's 24-hour window with
    /// no `payment_link` template): share the URL another way.
    pub not_sent: Option<String>,
}

/// What a payment link's page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPage {
    /// The business's name.
    pub business: String,
    /// The order's short reference.
    pub order_ref: String,
    /// Its lines.
    pub lines: Vec<LineItem>,
    /// Its total.
    pub total: Money,
    /// What is still owed.
    pub owed: Money,
    /// Whether it can be paid, or why not.
    pub state: LinkState,
    /// The customer's number, to prefill the M-Pesa form.
    pub phone: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it stops, in the business's time.
    pub expires_local: String,
}

/// Whether a link's order can be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Awaiting payment.
    Payable,
    /// Paid (or fulfilled, refunded).
    Paid,
    /// Not paid in time.
    Expired,
    /// Called off.
    Cancelled,
}

/// Why a link is refused, as its page says.
fn link_error(e: LinkError) -> ServiceError {
    match e {
        LinkError::Expired => {
            ServiceError::Gone { message: "this payment link has expired".into() }
        }
        _ => ServiceError::NotFound { entity: "payment link" },
    }
}

impl Payments {
    fn link_key(b: &Business) -> Result<Vec<u8>, ServiceError> {
        b.commerce.link_key.as_ref().map(|k| k.as_bytes().to_vec()).ok_or_else(|| {
            ServiceError::InvalidState {
                message: "turn commerce on (PUT /v1/commerce) to make payment links".into(),
            }
        })
    }

    /// The reminder times of a link sent at `sent` expiring at `expires`,
    /// from the business's settings, in order.
    pub(super) fn reminder_times(
        b: &Business,
        sent: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let c = &b.commerce;
        let mut at = Vec::new();
        if c.reminder_after_minutes > 0 {
            at.push(sent + Duration::minutes(i64::from(c.reminder_after_minutes)));
        }
        if c.reminder_before_expiry_minutes > 0 {
            at.push(expires - Duration::minutes(i64::from(c.reminder_before_expiry_minutes)));
        }
        at.retain(|t| *t > sent && *t < expires);
        at.sort();
        at.dedup();
        at
    }

    /// Makes (or remakes) the order's payment link and sends it to the
    /// customer. A link that cannot go in chat (outside the window with no
    /// `payment_link` template) is still made, for the shop to share
    /// another way, and gets no reminders.
    pub async fn send_link(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<SentLink, ServiceError> {
        let config = self.config()?;
        let b = self.storage.get_business(business).await?;
        let o = self.storage.get_order(business, order).await?;
        if o.status != OrderStatus::AwaitingPayment {
            return Err(ServiceError::InvalidState {
                message: "only an order awaiting payment gets a payment link".into(),
            });
        }
        let key = Self::link_key(&b)?;
        let now = to_storage_precision(self.clock.now());
        let window_end =
            o.pay_by.unwrap_or(now + Duration::minutes(i64::from(b.commerce.payment_minutes)));
        let expires_at = match b.commerce.link_minutes {
            Some(m) => now + Duration::minutes(i64::from(m)),
            None => window_end,
        };
        let expires_at = to_storage_precision(
            DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at),
        );
        let token = sign_link(&key, b.id, o.id, expires_at);
        let url = format!("{}/pay/{token}", config.public_url);
        let mut link = PaymentLink {
            business_id: b.id,
            order_id: o.id,
            token: token.clone(),
            url: url.clone(),
            expires_at,
            sent_at: now,
            reminders_sent: 0,
            next_reminder_at: None,
        };
        let body = format!(
            "Pay {} for order {} from {}. The link works until {}.",
            o.total,
            o.reference(),
            b.name,
            local_time(&b, expires_at)
        );
        let message = self.link_message(&b, &o, &link, body).await?;
        if message.is_ok() {
            link.next_reminder_at = Self::reminder_times(&b, now, expires_at).first().copied();
        }
        self.storage.save_payment_link(&link).await?;
        match message {
            Ok(row) => {
                let message_id = row.0.id;
                self.storage.queue_messages(&[row]).await?;
                Ok(SentLink { link, message_id: Some(message_id), not_sent: None })
            }
            Err(why) => Ok(SentLink { link, message_id: None, not_sent: Some(why) }),
        }
    }

    /// The link as a message, not yet stored: a button inside the window,
    /// the `payment_link` template outside it, or why neither can go.
    pub(super) async fn link_message(
        &self,
        b: &Business,
        o: &Order,
        link: &PaymentLink,
        body: String,
    ) -> Result<Result<(crate::domain::Message, crate::domain::OutboxItem), String>, ServiceError>
    {
        let customer = self.storage.get_customer(b.id, o.customer_id).await?;
        let values = BTreeMap::from([
            ("order_ref".to_owned(), o.reference()),
            ("order_total".to_owned(), o.total.to_string()),
            ("link".to_owned(), link.url.clone()),
            ("link_token".to_owned(), link.token.clone()),
        ]);
        let notifier = Notifier::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
        let mut composed =
            notifier.compose(b, &customer, OrderNotice::PaymentLink, body.clone(), values).await?;
        match &mut composed {
            // Inside the window the text becomes a button to the page.
            Ok((message, _)) => {
                if let crate::domain::MessageContent::Text { .. } = message.content {
                    message.content = crate::domain::MessageContent::Interactive {
                        interactive: Interactive::CallToAction {
                            body,
                            display_text: "Pay now".into(),
                            url: link.url.clone(),
                            footer: None,
                        },
                    };
                }
            }
            Err(why) => {
                tracing::warn!(business = %b.id, order = %o.id, why, "payment link message not sent");
            }
        }
        Ok(composed)
    }

    /// What the page of a link shows. Unknown or altered links are
    /// `NotFound`; an expired link still shows its order, saying so.
    pub async fn link_page(&self, token: &str) -> Result<LinkPage, ServiceError> {
        let (b, key) = self.link_business(token).await?;
        let (v, expired) = match verify_link(&key, token, self.clock.now()) {
            Ok(v) => (v, false),
            // Checked again as of the epoch: the signature still has to hold.
            Err(LinkError::Expired) => {
                let epoch = DateTime::from_timestamp(0, 0).unwrap_or_default();
                (verify_link(&key, token, epoch).map_err(link_error)?, true)
            }
            Err(e) => return Err(link_error(e)),
        };
        let o = self.storage.get_order(b.id, v.order_id).await?;
        self.page(&b, &o, v.expires_at, expired).await
    }

    /// The business a token names, and its link key; `NotFound` for any
    /// token that names none.
    async fn link_business(&self, token: &str) -> Result<(Business, Vec<u8>), ServiceError> {
        let gone = || ServiceError::NotFound { entity: "payment link" };
        let business = link_business(token).map_err(|_| gone())?;
        let b = match self.storage.get_business(business).await {
            Ok(b) => b,
            Err(crate::ports::StorageError::NotFound { .. }) => return Err(gone()),
            Err(e) => return Err(e.into()),
        };
        let key = Self::link_key(&b).map_err(|_| gone())?;
        Ok((b, key))
    }

    async fn page(
        &self,
        b: &Business,
        o: &Order,
        expires_at: DateTime<Utc>,
        expired: bool,
    ) -> Result<LinkPage, ServiceError> {
        let customer = self.storage.get_customer(b.id, o.customer_id).await?;
        let state = match o.status {
            OrderStatus::AwaitingPayment if expired => LinkState::Expired,
            OrderStatus::AwaitingPayment => LinkState::Payable,
            OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::Refunded => LinkState::Paid,
            OrderStatus::Expired => LinkState::Expired,
            OrderStatus::Cancelled | OrderStatus::Draft => LinkState::Cancelled,
        };
        Ok(LinkPage {
            business: b.name.clone(),
            order_ref: o.reference(),
            lines: o.items.clone(),
            total: o.total,
            owed: self.owed(b, o).await?,
            state,
            phone: customer.phone.as_str().to_owned(),
            expires_at,
            expires_local: local_time(b, expires_at),
        })
    }

    /// Starts paying the order of a valid link; a card payment returns to
    /// the link's page.
    pub async fn pay_from_link(
        &self,
        token: &str,
        with: PayWith,
    ) -> Result<PaymentAttempt, ServiceError> {
        let (b, key) = self.link_business(token).await?;
        let v = verify_link(&key, token, self.clock.now()).map_err(link_error)?;
        let o = self.storage.get_order(b.id, v.order_id).await?;
        if o.status != OrderStatus::AwaitingPayment {
            return Err(ServiceError::Gone { message: "this order can no longer be paid".into() });
        }
        let back = format!("{}/pay/{token}", self.config()?.public_url);
        self.start_for(&b, &o, with, Some(back)).await
    }
}
