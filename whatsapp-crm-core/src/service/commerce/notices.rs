//! Order notices: each moment of an order told to its customer once,
//! through the outbox. Inside the 24-hour window the notice is free-form
//! text; outside it, the utility template the business chose for it; with
//! no template there, it is skipped and the reason kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::{
    Business, Customer, Order, OrderNotice, OrderNotification, Shipment, TemplateCategory,
};
use crate::ports::{Clock, Storage, to_storage_precision};
use crate::service::ServiceError;
use crate::service::outbound::{Outbound, TemplateSend};

/// Template variables every notice template may use, besides the customer's
/// own (`name`, `first_name`, attributes...).
pub const NOTICE_VARIABLES: &[&str] = &[
    "order_ref",
    "order_total",
    "pay_by",
    "carrier",
    "tracking_url",
    "reason",
    "link",
    "link_token",
    "amount_paid",
    "receipt",
    "paid_at",
];

/// What a notice may mention beyond the order.
#[derive(Debug, Clone, Default)]
pub(crate) struct NoticeDetail<'a> {
    /// The shipment a delivery notice is about.
    pub shipment: Option<&'a Shipment>,
    /// Why an order was cancelled.
    pub reason: Option<&'a str>,
}

/// Sends order notices.
#[derive(Clone)]
pub(crate) struct Notifier {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Notifier {
    pub(crate) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Tells the order's customer about `notice`, once: a repeat (a retry, a
    /// second server) returns what was decided the first time.
    pub(crate) async fn notify(
        &self,
        business: &Business,
        order: &Order,
        notice: OrderNotice,
        detail: NoticeDetail<'_>,
    ) -> Result<OrderNotification, ServiceError> {
        let s = &self.storage;
        if let Some(done) = self.recorded(business, order, notice).await? {
            return Ok(done);
        }
        let now = to_storage_precision(self.clock.now());
        let customer = s.get_customer(business.id, order.customer_id).await?;
        let values = values(business, order, &detail);
        let body = text(notice, order, &values);
        let mut n = OrderNotification {
            order_id: order.id,
            notice,
            message_id: None,
            skipped: None,
            at: now,
        };
        let row = match self.compose(business, &customer, notice, body, values).await? {
            Ok(row) => Some(row),
            Err(why) => {
                n.skipped = Some(why);
                None
            }
        };
        n.message_id = row.as_ref().map(|(m, _)| m.id);
        if s.record_notice(business.id, &n, row.as_ref()).await? {
            tracing::info!(business = %business.id, order = %order.id, notice = notice.as_str(), sent = n.message_id.is_some(), "order notice");
            return Ok(n);
        }
        // Another attempt recorded it first.
        Ok(self.recorded(business, order, notice).await?.unwrap_or(n))
    }

    /// The message telling `customer` of `notice`, not yet stored: `text`
    /// inside their 24-hour window; outside it, the business's template for
    /// the notice filled with `values`; or why none can be sent.
    pub(crate) async fn compose(
        &self,
        business: &Business,
        customer: &Customer,
        notice: OrderNotice,
        text: String,
        values: BTreeMap<String, String>,
    ) -> Result<Result<(crate::domain::Message, crate::domain::OutboxItem), String>, ServiceError>
    {
        let s = &self.storage;
        let now = to_storage_precision(self.clock.now());
        let window_open = s
            .latest_conversation(business.id, customer.id)
            .await?
            .is_some_and(|c| c.window_open(now));
        let outbound = Outbound::new(Arc::clone(s), Arc::clone(&self.clock));
        let planned = if window_open {
            Ok((crate::domain::MessageContent::text(text), None))
        } else {
            match business.commerce.notice_templates.get(&notice) {
                None => {
                    return Ok(Err(format!(
                        "no template for {} outside the 24-hour window",
                        notice.as_str()
                    )));
                }
                Some(id) => self.template(&outbound, business, customer, *id, values).await,
            }
        };
        let (content, category) = match planned {
            Ok(c) => c,
            Err(why) => return Ok(Err(why)),
        };
        match outbound.prepare(business.id, customer, content, category, now, now).await {
            Ok(row) => Ok(Ok(row)),
            Err(ServiceError::Refused(r)) => Ok(Err(format!("refused: {r}"))),
            Err(e) => Err(e),
        }
    }

    async fn recorded(
        &self,
        business: &Business,
        order: &Order,
        notice: OrderNotice,
    ) -> Result<Option<OrderNotification>, ServiceError> {
        let all = self.storage.order_notices(business.id, order.id).await?;
        Ok(all.into_iter().find(|n| n.notice == notice))
    }

    /// The notice's template rendered for the customer, or why not.
    async fn template(
        &self,
        outbound: &Outbound,
        business: &Business,
        customer: &Customer,
        id: crate::domain::TemplateId,
        values: BTreeMap<String, String>,
    ) -> Result<(crate::domain::MessageContent, Option<TemplateCategory>), String> {
        let send = TemplateSend { template_id: id, values };
        match outbound.template_content(business.id, customer, send).await {
            Ok((content, category)) => Ok((content, category)),
            Err(e) => Err(format!("template cannot be sent: {e}")),
        }
    }
}

/// The notice's values, for its text and for templates.
fn values(
    business: &Business,
    order: &Order,
    detail: &NoticeDetail<'_>,
) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("order_ref".to_owned(), order.reference());
    v.insert("order_total".to_owned(), order.total.to_string());
    if let Some(t) = order.pay_by {
        v.insert("pay_by".to_owned(), local_time(business, t));
    }
    if let Some(s) = detail.shipment {
        if let Some(c) = &s.carrier {
            v.insert("carrier".to_owned(), c.clone());
        }
        if let Some(u) = &s.tracking_url {
            v.insert("tracking_url".to_owned(), u.clone());
        }
    }
    if let Some(r) = detail.reason {
        v.insert("reason".to_owned(), r.to_owned());
    }
    v
}

/// `14:05 on 7 Dec` in the business's time zone.
pub(crate) fn local_time(business: &Business, t: DateTime<Utc>) -> String {
    t.with_timezone(&business.time_zone.tz()).format("%H:%M on %-d %b").to_string()
}

/// The free-form text of a notice.
fn text(notice: OrderNotice, order: &Order, v: &BTreeMap<String, String>) -> String {
    let get = |k: &str| v.get(k).map(String::as_str).unwrap_or_default();
    let r = get("order_ref");
    match notice {
        OrderNotice::Confirmed => {
            let mut out = format!("Order {r} is confirmed:\n");
            let shown = crate::commerce::cart::SUMMARY_LINES_MAX;
            for l in order.items.iter().take(shown) {
                let name: String =
                    l.name.chars().take(crate::commerce::cart::SUMMARY_NAME_MAX_CHARS).collect();
                out.push_str(&format!("{} × {name}\n", l.quantity));
            }
            if order.items.len() > shown {
                out.push_str(&format!("… and {} more\n", order.items.len() - shown));
            }
            if let Some(d) = &order.discount {
                out.push_str(&format!("Code {} takes off {}\n", d.code, d.amount));
            }
            out.push_str(&format!("Total: {}", get("order_total")));
            if v.contains_key("pay_by") {
                out.push_str(&format!("\nPlease pay by {} to keep your items.", get("pay_by")));
            }
            out
        }
        OrderNotice::Paid => {
            format!("Payment received for order {r}: {}. Asante!", get("order_total"))
        }
        OrderNotice::Shipped => {
            let mut out = format!("Order {r} is on its way");
            if v.contains_key("carrier") {
                out.push_str(&format!(" with {}", get("carrier")));
            }
            out.push('.');
            if v.contains_key("tracking_url") {
                out.push_str(&format!(" Track it here: {}", get("tracking_url")));
            }
            out
        }
        OrderNotice::OutForDelivery => {
            format!("Order {r} is out for delivery and reaches you today.")
        }
        OrderNotice::Delivered => format!("Order {r} was delivered. Asante for shopping with us!"),
        OrderNotice::Cancelled => match v.get("reason") {
            Some(why) => format!("Order {r} was cancelled: {why}."),
            None => format!("Order {r} was cancelled."),
        },
        OrderNotice::Expired => format!(
            "Order {r} was not paid in time, so its items went back on sale. Send \"cart\" to order again."
        ),
        OrderNotice::PaymentLink => match v.get("link") {
            Some(url) => format!("Pay {} for order {r} here: {url}", get("order_total")),
            None => format!("Order {r} is waiting for payment of {}.", get("order_total")),
        },
    }
}
