//! Orders: placed from carts or by staff, moved only along the order
//! table ([`transition`]), each move one storage step with its stock change
//! and its event, and the customer told at the moments that matter.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::commerce::{OrderFacts, TransitionError, all_delivered, transition};
use crate::domain::{
    Business, BusinessId, CustomerId, DeliveryMethod, LineItem, Money, ORDER_LINES_MAX, Order,
    OrderEvent, OrderId, OrderNotice, OrderNotification, OrderStatus, ValidationError,
};
use crate::ports::{
    Clock, MoveOutcome, ORDER_CHANGED, OrderMove, OrderQuery, Page, Storage, StorageError,
    to_storage_precision,
};
use crate::service::{ServiceError, page_params};

use super::notices::{NoticeDetail, Notifier};

/// Orders the expiry worker moves per round.
pub const EXPIRY_BATCH: u32 = 200;
/// Longest reason staff give for an action.
pub const REASON_MAX_CHARS: usize = 300;

/// One line of an order staff create.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrderLine {
    /// The product's SKU.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._-]{1,100}$"))]
    pub sku: String,
    /// Units, 1 to 999.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 999))]
    pub quantity: u32,
}

/// An order staff create (for a phone or walk-in customer): a draft priced
/// from the catalog, confirmed with the `confirm` action.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
    /// 1 to 100 lines, one per product.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub items: Vec<NewOrderLine>,
    /// Pickup or delivery; confirming needs one.
    #[serde(default)]
    pub delivery: Option<DeliveryMethod>,
}

/// What staff do to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// A draft is confirmed: its stock is reserved for the payment window.
    Confirm,
    /// Payment was taken outside the SDK (cash, a till): the order is paid.
    Pay,
    /// Called off before payment; its stock goes back.
    Cancel,
    /// Handed over (collected, or delivered without a tracked shipment).
    Fulfil,
    /// Paid money returned in full; stock that never left goes back.
    Refund,
}

impl OrderAction {
    /// The status it moves an order to.
    pub fn target(self) -> OrderStatus {
        match self {
            Self::Confirm => OrderStatus::AwaitingPayment,
            Self::Pay => OrderStatus::Paid,
            Self::Cancel => OrderStatus::Cancelled,
            Self::Fulfil => OrderStatus::Fulfilled,
            Self::Refund => OrderStatus::Refunded,
        }
    }

    fn notice(self) -> Option<OrderNotice> {
        match self {
            Self::Confirm => Some(OrderNotice::Confirmed),
            Self::Pay => Some(OrderNotice::Paid),
            Self::Cancel => Some(OrderNotice::Cancelled),
            Self::Fulfil | Self::Refund => None,
        }
    }
}

/// Why staff act, for the order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderActionInput {
    /// In words the customer may read (cancellations are told to them).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 300))]
    pub reason: Option<String>,
}

/// Filters of `GET /v1/orders`.
#[derive(Debug, Clone, Default)]
pub struct OrderListParams {
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// What one round of the expiry worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExpiryReport {
    /// Orders moved to expired, their stock released.
    pub expired: u32,
}

/// Orders of each business.
#[derive(Clone)]
pub struct Orders {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Orders {
    pub(crate) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Creates a draft order priced from the catalog.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewOrder,
    ) -> Result<Order, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let mut v = ValidationError::default();
        if input.items.is_empty() || input.items.len() > ORDER_LINES_MAX {
            v.push("items", format!("give 1 to {ORDER_LINES_MAX} lines"));
        }
        let delivery = input.delivery.map(|d| v.check("delivery", d.validate())).unwrap_or(None);
        let skus: Vec<String> = input.items.iter().map(|l| l.sku.clone()).collect();
        let products: HashMap<String, _> = self
            .storage
            .products_by_sku(business, &skus)
            .await?
            .into_iter()
            .map(|p| (p.sku.clone(), p))
            .collect();
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, l) in input.items.iter().enumerate() {
            let at = format!("items[{i}]");
            if !(1..=crate::commerce::command::CART_QUANTITY_MAX).contains(&l.quantity) {
                v.push(format!("{at}.quantity"), "must be 1 to 999");
            }
            if !seen.insert(l.sku.as_str()) {
                v.push(format!("{at}.sku"), "each product may appear once");
            }
            match products.get(&l.sku) {
                None => v.push(format!("{at}.sku"), "no such product in this business"),
                Some(p) if !p.active => v.push(format!("{at}.sku"), "not for sale"),
                Some(p) if p.price.currency != b.currency => {
                    v.push(format!("{at}.sku"), "priced in another currency than the business's")
                }
                Some(p) => items.push(LineItem {
                    product_id: Some(p.id),
                    sku: p.sku.clone(),
                    name: p.name.clone(),
                    quantity: l.quantity,
                    unit_price: p.price,
                }),
            }
        }
        self.storage.get_customer(business, input.customer_id).await?;
        let now = to_storage_precision(self.clock.now());
        let mut order = v.into_result(|| ()).and_then(|()| {
            Order::new(business, input.customer_id, b.currency, items, now)
                .map_err(|e| ValidationError::field("items", e))
        })?;
        order.delivery = delivery;
        self.storage.insert_order(&order).await?;
        Ok(order)
    }

    /// Reads an order.
    pub async fn get(&self, business: BusinessId, id: OrderId) -> Result<Order, ServiceError> {
        Ok(self.storage.get_order(business, id).await?)
    }

    /// Lists orders, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        params: OrderListParams,
    ) -> Result<Page<Order>, ServiceError> {
        let (limit, after) = page_params::<OrderId>(params.limit, params.cursor.as_deref())?;
        let q = OrderQuery { customer: params.customer, status: params.status, limit, after };
        Ok(self.storage.list_orders(business, &q).await?)
    }

    /// The order's timeline, oldest first.
    pub async fn events(
        &self,
        business: BusinessId,
        id: OrderId,
    ) -> Result<Vec<OrderEvent>, ServiceError> {
        Ok(self.storage.order_events(business, id).await?)
    }

    /// What the customer was told about the order, or why not.
    pub async fn notices(
        &self,
        business: BusinessId,
        id: OrderId,
    ) -> Result<Vec<OrderNotification>, ServiceError> {
        Ok(self.storage.order_notices(business, id).await?)
    }

    /// Carries out a staff action. Repeating an action that already took
    /// effect returns the order as it is (and sends any notice still owed).
    pub async fn act(
        &self,
        business: BusinessId,
        id: OrderId,
        action: OrderAction,
        input: OrderActionInput,
        actor: &str,
    ) -> Result<Order, ServiceError> {
        let reason = match input.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()) {
            Some(r) if r.chars().count() > REASON_MAX_CHARS => {
                return Err(ValidationError::field(
                    "reason",
                    format!("at most {REASON_MAX_CHARS} characters"),
                )
                .into());
            }
            r => r,
        };
        let b = self.storage.get_business(business).await?;
        let order = self.storage.get_order(business, id).await?;
        let to = action.target();
        let order = if order.status == to {
            order
        } else {
            let why = reason.clone().unwrap_or_else(|| default_reason(action).into());
            self.move_order(&b, &order, to, action, actor, &why).await?
        };
        if let Some(notice) = action.notice() {
            let detail = NoticeDetail { reason: reason.as_deref(), ..NoticeDetail::default() };
            Notifier::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
                .notify(&b, &order, notice, detail)
                .await?;
        }
        Ok(order)
    }

    /// Moves `order` to `to` if the table and its guard allow it now.
    pub(crate) async fn move_order(
        &self,
        b: &Business,
        order: &Order,
        to: OrderStatus,
        action: OrderAction,
        actor: &str,
        reason: &str,
    ) -> Result<Order, ServiceError> {
        let now = to_storage_precision(self.clock.now());
        let facts = self.facts(b, order, action).await?;
        let step = transition(order, to, &facts, now).map_err(transition_error)?;
        let pay_by = (to == OrderStatus::AwaitingPayment)
            .then(|| now + Duration::minutes(i64::from(b.commerce.payment_minutes)));
        let m = OrderMove {
            order_id: order.id,
            from: order.status,
            to,
            stock: step.stock,
            pay_by,
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            at: now,
        };
        match self.storage.move_order(b.id, &m).await {
            Ok(MoveOutcome::Moved(o)) => Ok(o),
            Ok(MoveOutcome::OutOfStock { sku, available }) => Err(ServiceError::InvalidState {
                message: format!("only {available} of {sku} available; change the order first"),
            }),
            Err(StorageError::Conflict { constraint, .. }) if constraint == ORDER_CHANGED => {
                Err(ServiceError::InvalidState { message: ORDER_CHANGED.into() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What the engine needs to judge a move: the facts as stored now, and
    /// what the staff action asserts (payment taken, refund made, handed
    /// over).
    async fn facts(
        &self,
        b: &Business,
        order: &Order,
        action: OrderAction,
    ) -> Result<OrderFacts, ServiceError> {
        let s = &self.storage;
        let customer = match s.get_customer(b.id, order.customer_id).await {
            Ok(_) => true,
            Err(StorageError::NotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        let skus: Vec<String> = order.items.iter().map(|l| l.sku.clone()).collect();
        let products: HashMap<String, _> =
            s.products_by_sku(b.id, &skus).await?.into_iter().map(|p| (p.sku.clone(), p)).collect();
        let shipments = s.order_shipments(b.id, order.id).await?;
        let statuses: Vec<_> = shipments.iter().map(|x| x.status).collect();
        let currency = order.total.currency;
        let paid = matches!(order.status, OrderStatus::Paid | OrderStatus::Fulfilled);
        Ok(OrderFacts {
            customer,
            delivery: order.delivery.is_some(),
            available: order
                .items
                .iter()
                .map(|l| products.get(&l.sku).and_then(|p| p.available()))
                .collect(),
            settled: if action == OrderAction::Pay || paid {
                order.total
            } else {
                Money::zero(currency)
            },
            refunded: if action == OrderAction::Refund {
                order.total
            } else {
                Money::zero(currency)
            },
            shipments: statuses.len() as u32,
            delivered: statuses
                .iter()
                .filter(|s| **s == crate::commerce::ShipmentStatus::Delivered)
                .count() as u32,
            picked_up: action == OrderAction::Fulfil
                && (order.delivery == Some(DeliveryMethod::Pickup) || statuses.is_empty()),
            pay_by: order.pay_by,
        })
    }

    /// Fulfils a paid order once every live shipment is delivered.
    pub(crate) async fn fulfil_if_delivered(
        &self,
        b: &Business,
        order: &Order,
    ) -> Result<Option<Order>, ServiceError> {
        if order.status != OrderStatus::Paid {
            return Ok(None);
        }
        let statuses: Vec<_> =
            self.storage.order_shipments(b.id, order.id).await?.iter().map(|s| s.status).collect();
        if !all_delivered(&statuses) {
            return Ok(None);
        }
        let moved = self
            .move_order(
                b,
                order,
                OrderStatus::Fulfilled,
                OrderAction::Fulfil,
                "system",
                "every shipment delivered",
            )
            .await;
        match moved {
            Ok(o) => Ok(Some(o)),
            // Another report fulfilled it at the same moment.
            Err(ServiceError::InvalidState { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Expires orders whose payment window closed by `now`, releasing their
    /// stock and telling their customers. Safe on several servers at once:
    /// each move checks the status it read.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<ExpiryReport, ServiceError> {
        let mut report = ExpiryReport::default();
        let lapsed = self.storage.lapsed_orders(now, EXPIRY_BATCH).await?;
        let notifier = Notifier::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
        for (business, id) in lapsed {
            let b = self.storage.get_business(business).await?;
            let order = self.storage.get_order(business, id).await?;
            if order.status != OrderStatus::AwaitingPayment {
                continue;
            }
            let m = OrderMove {
                order_id: id,
                from: order.status,
                to: OrderStatus::Expired,
                stock: crate::commerce::StockChange::Release,
                pay_by: None,
                actor: "system".into(),
                reason: "not paid within the payment window".into(),
                at: to_storage_precision(now),
            };
            let facts = OrderFacts {
                customer: true,
                delivery: true,
                available: Vec::new(),
                settled: Money::zero(order.total.currency),
                refunded: Money::zero(order.total.currency),
                shipments: 0,
                delivered: 0,
                picked_up: false,
                pay_by: order.pay_by,
            };
            if transition(&order, OrderStatus::Expired, &facts, now).is_err() {
                continue;
            }
            match self.storage.move_order(business, &m).await {
                Ok(MoveOutcome::Moved(o)) => {
                    report.expired += 1;
                    notifier.notify(&b, &o, OrderNotice::Expired, NoticeDetail::default()).await?;
                }
                Ok(MoveOutcome::OutOfStock { .. }) => {}
                Err(StorageError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }
}

fn default_reason(action: OrderAction) -> &'static str {
    match action {
        OrderAction::Confirm => "confirmed by staff",
        OrderAction::Pay => "payment recorded by staff",
        OrderAction::Cancel => "cancelled by staff",
        OrderAction::Fulfil => "handed over",
        OrderAction::Refund => "refunded in full",
    }
}

/// A refused move as the API reports it: the order's state does not allow it.
fn transition_error(e: TransitionError) -> ServiceError {
    ServiceError::InvalidState { message: e.to_string() }
}
