//! The order state machine. Which moves exist, what each needs and what it
//! does to stock is one table, [`ORDER_TRANSITIONS`]; [`transition`] checks a
//! move against it and the facts the caller gathered. Any pair not in the
//! table is [`TransitionError::InvalidTransition`], and the final states
//! (cancelled, refunded, expired) have no exits.

use chrono::{DateTime, Utc};

use crate::domain::{Money, Order, OrderStatus};

/// What a move needs to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransitionGuard {
    /// Nothing beyond the move being in the table.
    Free,
    /// Checkout: at least one line, a customer, a delivery method, and every
    /// line within the stock available.
    Checkout,
    /// Settled payments cover the total.
    PaymentsCoverTotal,
    /// The payment window has closed.
    PaymentWindowOver,
    /// Every shipment delivered, or the order picked up.
    HandedOver,
    /// A refund has been recorded.
    RefundRecorded,
    /// Refunds add up to what was paid.
    RefundsCoverPaid,
}

/// What a move does to the stock of the order's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StockChange {
    /// Nothing.
    Keep,
    /// Reserve each line's quantity for the payment window.
    Reserve,
    /// Drop the reservation: the units are available again.
    Release,
    /// The reservation becomes an allocation: the units leave stock on hand.
    Allocate,
    /// Allocated units that never left the shop go back on hand.
    Restock,
}

/// One allowed move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTransition {
    /// From this status.
    pub from: OrderStatus,
    /// To this status.
    pub to: OrderStatus,
    /// What must hold.
    pub guard: TransitionGuard,
    /// What it does to stock.
    pub stock: StockChange,
}

const fn t(
    from: OrderStatus,
    to: OrderStatus,
    guard: TransitionGuard,
    stock: StockChange,
) -> OrderTransition {
    OrderTransition { from, to, guard, stock }
}

use OrderStatus::{AwaitingPayment, Cancelled, Draft, Expired, Fulfilled, Paid, Refunded};
use StockChange::{Allocate, Keep, Release, Reserve, Restock};
use TransitionGuard::{
    Checkout, Free, HandedOver, PaymentWindowOver, PaymentsCoverTotal, RefundRecorded,
    RefundsCoverPaid,
};

/// Every move an order may make (commerce reference, section 2.6). Editing
/// after payment is not a move: cancel and order again.
pub const ORDER_TRANSITIONS: &[OrderTransition] = &[
    t(Draft, AwaitingPayment, Checkout, Reserve),
    // The customer changed the cart: open payment attempts are voided.
    t(AwaitingPayment, Draft, Free, Release),
    t(AwaitingPayment, Paid, PaymentsCoverTotal, Allocate),
    t(AwaitingPayment, Expired, PaymentWindowOver, Release),
    t(Draft, Cancelled, Free, Keep),
    t(AwaitingPayment, Cancelled, Free, Release),
    t(Paid, Fulfilled, HandedOver, Keep),
    // A paid order is only called off together with its refund.
    t(Paid, Cancelled, RefundRecorded, Restock),
    t(Paid, Refunded, RefundsCoverPaid, Restock),
    t(Fulfilled, Refunded, RefundsCoverPaid, Keep),
];

/// What the caller knows about an order when it asks to move it. The engine
/// reads nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// The customer is known (not deleted).
    pub customer: bool,
    /// A delivery method (pickup or an address) is chosen.
    pub delivery: bool,
    /// Units available now for each line, in line order; `None` where the
    /// product's stock is not tracked.
    pub available: Vec<Option<u32>>,
    /// Settled payments, in the order's currency.
    pub settled: Money,
    /// Refunds recorded, in the order's currency.
    pub refunded: Money,
    /// Shipments made for the order.
    pub shipments: u32,
    /// Of those, delivered.
    pub delivered: u32,
    /// The customer collected it.
    pub picked_up: bool,
    /// When the payment window closes, for an order awaiting payment.
    pub pay_by: Option<DateTime<Utc>>,
}

/// Why a move was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// The table has no such move.
    #[error("an order cannot go from {from:?} to {to:?}")]
    InvalidTransition {
        /// Where the order is.
        from: OrderStatus,
        /// Where it was asked to go.
        to: OrderStatus,
    },
    /// Checkout with no lines.
    #[error("the order has no lines")]
    NoLines,
    /// Checkout without a known customer.
    #[error("the order has no customer")]
    NoCustomer,
    /// Checkout without a delivery method.
    #[error("choose pickup or a delivery address first")]
    NoDeliveryMethod,
    /// A line asks for more than is available.
    #[error("line {line} ({sku}): {wanted} wanted, {available} available")]
    OutOfStock {
        /// 0-based line index.
        line: usize,
        /// The line's SKU.
        sku: String,
        /// Units on the line.
        wanted: u32,
        /// Units available.
        available: u32,
    },
    /// Settled payments fall short of the total (minor units).
    #[error("payments of {settled} do not cover the total of {total}")]
    PaymentsShort {
        /// Settled so far.
        settled: i64,
        /// The order total.
        total: i64,
    },
    /// Payments in another currency than the order.
    #[error("payments are in {found}, the order is in {expected}")]
    CurrencyMismatch {
        /// The order's currency.
        expected: crate::domain::Currency,
        /// The payments' currency.
        found: crate::domain::Currency,
    },
    /// The payment window is still open (or was never set).
    #[error("the payment window is still open")]
    PaymentWindowOpen,
    /// Not every shipment is delivered, and it was not picked up.
    #[error("{outstanding} of {shipments} shipments are not delivered")]
    NotHandedOver {
        /// Shipments made.
        shipments: u32,
        /// Not yet delivered.
        outstanding: u32,
    },
    /// Cancelling a paid order needs its refund first.
    #[error("record the refund before cancelling a paid order")]
    NoRefund,
    /// Refunds fall short of what was paid (minor units).
    #[error("refunds of {refunded} do not cover the {paid} paid")]
    RefundsShort {
        /// Refunded so far.
        refunded: i64,
        /// Paid.
        paid: i64,
    },
}

/// Checks moving `order` to `to` at `now`: the table's entry for the move,
/// or why it may not happen. Pure: the caller carries out the stock change
/// and records the order event.
pub fn transition(
    order: &Order,
    to: OrderStatus,
    facts: &OrderFacts,
    now: DateTime<Utc>,
) -> Result<&'static OrderTransition, TransitionError> {
    let from = order.status;
    let step = ORDER_TRANSITIONS
        .iter()
        .find(|s| s.from == from && s.to == to)
        .ok_or(TransitionError::InvalidTransition { from, to })?;
    check(step.guard, order, facts, now)?;
    Ok(step)
}

fn check(
    guard: TransitionGuard,
    order: &Order,
    f: &OrderFacts,
    now: DateTime<Utc>,
) -> Result<(), TransitionError> {
    let same_currency = |m: Money| {
        if m.currency == order.total.currency {
            Ok(m.minor)
        } else {
            Err(TransitionError::CurrencyMismatch {
                expected: order.total.currency,
                found: m.currency,
            })
        }
    };
    match guard {
        Free => Ok(()),
        Checkout => {
            if order.items.is_empty() {
                return Err(TransitionError::NoLines);
            }
            if !f.customer {
                return Err(TransitionError::NoCustomer);
            }
            if !f.delivery {
                return Err(TransitionError::NoDeliveryMethod);
            }
            for (line, item) in order.items.iter().enumerate() {
                // A line the caller has no figure for is treated as none left.
                let available = f.available.get(line).copied().unwrap_or(Some(0));
                if let Some(available) = available
                    && item.quantity > available
                {
                    return Err(TransitionError::OutOfStock {
                        line,
                        sku: item.sku.clone(),
                        wanted: item.quantity,
                        available,
                    });
                }
            }
            Ok(())
        }
        PaymentsCoverTotal => {
            let settled = same_currency(f.settled)?;
            if settled >= order.total.minor {
                Ok(())
            } else {
                Err(TransitionError::PaymentsShort { settled, total: order.total.minor })
            }
        }
        PaymentWindowOver => match f.pay_by {
            Some(at) if at <= now => Ok(()),
            _ => Err(TransitionError::PaymentWindowOpen),
        },
        HandedOver => {
            let outstanding = f.shipments.saturating_sub(f.delivered);
            if f.picked_up || (f.shipments > 0 && outstanding == 0) {
                Ok(())
            } else {
                Err(TransitionError::NotHandedOver { shipments: f.shipments, outstanding })
            }
        }
        RefundRecorded => {
            if same_currency(f.refunded)? > 0 {
                Ok(())
            } else {
                Err(TransitionError::NoRefund)
            }
        }
        RefundsCoverPaid => {
            let (refunded, paid) = (same_currency(f.refunded)?, same_currency(f.settled)?);
            if refunded > 0 && refunded >= paid {
                Ok(())
            } else {
                Err(TransitionError::RefundsShort { refunded, paid })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::domain::{BusinessId, Currency, CustomerId, LineItem};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z").unwrap().to_utc()
    }

    fn kes(minor: i64) -> Money {
        Money::new(minor, Currency::KES)
    }

    fn order(status: OrderStatus) -> Order {
        let line = |sku: &str, quantity, minor| LineItem {
            product_id: None,
            sku: sku.into(),
            name: sku.into(),
            quantity,
            unit_price: kes(minor),
        };
        let items = vec![line("UNGA-2KG", 2, 21_000), line("SUKARI-1KG", 1, 18_000)];
        let mut o =
            Order::new(BusinessId::new(), CustomerId::new(), Currency::KES, items, now()).unwrap();
        o.status = status;
        o
    }

    /// Facts under which every guard in the table passes.
    fn all_met(o: &Order) -> OrderFacts {
        OrderFacts {
            customer: true,
            delivery: true,
            available: vec![Some(10), None],
            settled: o.total,
            refunded: o.total,
            shipments: 2,
            delivered: 2,
            picked_up: false,
            pay_by: Some(now()),
        }
    }

    fn status() -> impl Strategy<Value = OrderStatus> {
        prop::sample::select(OrderStatus::ALL.to_vec())
    }

    fn facts() -> impl Strategy<Value = OrderFacts> {
        (
            any::<(bool, bool, bool)>(),
            prop::collection::vec(prop::option::of(0u32..5), 0..3),
            (0i64..200_000, 0i64..200_000),
            (0u32..4, 0u32..4),
            prop::option::of(-3i64..3),
        )
            .prop_map(
                |((customer, delivery, picked_up), available, (s, r), (n, d), pay)| OrderFacts {
                    customer,
                    delivery,
                    available,
                    settled: kes(s),
                    refunded: kes(r),
                    shipments: n,
                    delivered: d,
                    picked_up,
                    pay_by: pay.map(|h| now() + chrono::Duration::hours(h)),
                },
            )
    }

    proptest! {
        #[test]
        fn a_pair_outside_the_table_is_always_an_invalid_transition(
            from in status(), to in status(), f in facts()
        ) {
            let listed = ORDER_TRANSITIONS.iter().any(|s| s.from == from && s.to == to);
            let result = transition(&order(from), to, &f, now());
            if listed {
                let invalid = matches!(result, Err(TransitionError::InvalidTransition { .. }));
                prop_assert!(!invalid, "{:?} -> {:?} is in the table", from, to);
            } else {
                prop_assert_eq!(result, Err(TransitionError::InvalidTransition { from, to }));
            }
        }
    }

    #[test]
    fn every_move_in_the_table_passes_when_its_guard_holds() {
        for step in ORDER_TRANSITIONS {
            let o = order(step.from);
            assert_eq!(transition(&o, step.to, &all_met(&o), now()), Ok(step), "{step:?}");
        }
    }

    #[test]
    fn final_states_have_no_exits_and_each_move_is_listed_once() {
        for done in [Cancelled, Refunded, Expired] {
            assert!(ORDER_TRANSITIONS.iter().all(|s| s.from != done), "{done:?} has an exit");
        }
        let pairs: HashSet<_> =
            ORDER_TRANSITIONS.iter().map(|s| (s.from as u8, s.to as u8)).collect();
        assert_eq!(pairs.len(), ORDER_TRANSITIONS.len());
        assert!(ORDER_TRANSITIONS.iter().all(|s| s.from != s.to));
    }

    #[test]
    fn each_missing_checkout_condition_has_its_own_error() {
        let o = order(Draft);
        let ok = all_met(&o);
        let go =
            |f: &OrderFacts, o: &Order| transition(o, AwaitingPayment, f, now()).map(|s| s.stock);
        assert_eq!(go(&ok, &o), Ok(Reserve));
        let mut empty = o.clone();
        empty.items.clear();
        assert_eq!(go(&ok, &empty), Err(TransitionError::NoLines));
        assert_eq!(
            go(&OrderFacts { customer: false, ..ok.clone() }, &o),
            Err(TransitionError::NoCustomer)
        );
        assert_eq!(
            go(&OrderFacts { delivery: false, ..ok.clone() }, &o),
            Err(TransitionError::NoDeliveryMethod)
        );
        assert_eq!(
            go(&OrderFacts { available: vec![Some(1), None], ..ok.clone() }, &o),
            Err(TransitionError::OutOfStock {
                line: 0,
                sku: "UNGA-2KG".into(),
                wanted: 2,
                available: 1
            })
        );
        // Exactly the quantity is enough; an untracked line never runs out,
        // and a line with no figure counts as none left.
        assert!(go(&OrderFacts { available: vec![Some(2), None], ..ok.clone() }, &o).is_ok());
        assert!(matches!(
            go(&OrderFacts { available: vec![Some(2)], ..ok.clone() }, &o),
            Err(TransitionError::OutOfStock { line: 1, .. })
        ));
    }

    #[test]
    fn payment_expiry_shipments_and_refunds_guard_their_moves() {
        let waiting = order(AwaitingPayment);
        let total = waiting.total.minor;
        let short = OrderFacts { settled: kes(total - 1), ..all_met(&waiting) };
        assert_eq!(
            transition(&waiting, Paid, &short, now()),
            Err(TransitionError::PaymentsShort { settled: total - 1, total })
        );
        let usd = OrderFacts { settled: Money::new(total, Currency::USD), ..all_met(&waiting) };
        assert!(matches!(
            transition(&waiting, Paid, &usd, now()),
            Err(TransitionError::CurrencyMismatch { .. })
        ));
        assert_eq!(transition(&waiting, Paid, &all_met(&waiting), now()).unwrap().stock, Allocate);

        let later =
            OrderFacts { pay_by: Some(now() + chrono::Duration::seconds(1)), ..all_met(&waiting) };
        assert_eq!(
            transition(&waiting, Expired, &later, now()),
            Err(TransitionError::PaymentWindowOpen)
        );
        assert_eq!(
            transition(&waiting, Expired, &all_met(&waiting), now()).unwrap().stock,
            Release
        );

        let paid = order(Paid);
        let one_out = OrderFacts { delivered: 1, ..all_met(&paid) };
        assert_eq!(
            transition(&paid, Fulfilled, &one_out, now()),
            Err(TransitionError::NotHandedOver { shipments: 2, outstanding: 1 })
        );
        let none = OrderFacts { shipments: 0, delivered: 0, ..all_met(&paid) };
        assert!(transition(&paid, Fulfilled, &none, now()).is_err());
        let collected = OrderFacts { picked_up: true, ..none };
        assert!(transition(&paid, Fulfilled, &collected, now()).is_ok());

        let unrefunded = OrderFacts { refunded: kes(0), ..all_met(&paid) };
        assert_eq!(
            transition(&paid, Cancelled, &unrefunded, now()),
            Err(TransitionError::NoRefund)
        );
        let partial = OrderFacts { refunded: kes(1), ..all_met(&paid) };
        assert_eq!(transition(&paid, Cancelled, &partial, now()).unwrap().stock, Restock);
        assert_eq!(
            transition(&paid, Refunded, &partial, now()),
            Err(TransitionError::RefundsShort { refunded: 1, paid: paid.total.minor })
        );
    }
}
