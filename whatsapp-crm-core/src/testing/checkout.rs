//! Conformance cases for carts, checkout with stock, discount redemption
//! and order moves.

use chrono::Duration;
use futures_util::future::join_all;

use crate::commerce::{DiscountError, StockChange};
use crate::domain::{
    BusinessId, Cart, CartLine, CartStatus, Currency, Customer, Discount, DiscountId,
    DiscountRules, DiscountValue, LineItem, Money, Order, OrderStatus, Product, Stock,
};
use crate::ports::{
    CART_CLOSED, CartQuery, Checkout, CheckoutOutcome, MoveOutcome, ORDER_CHANGED, OrderMove,
    STOCK_RESERVED, Storage, StorageError,
};

use super::{at, bare_customer, insert, new_business, ok, product};

/// A stored customer with a distinct number.
async fn customer(s: &dyn Storage, business: BusinessId, n: u32) -> Customer {
    let c = bare_customer(business, &format!("+2547120{n:05}"));
    insert(s, &c).await;
    c
}

/// An open cart holding `quantity` of `p`, stored.
async fn cart_with(s: &dyn Storage, c: &Customer, p: &Product, quantity: u32) -> Cart {
    let mut cart = Cart::new(c.business_id, c.id, Currency::KES, at(0));
    cart.lines.push(CartLine {
        product_id: p.id,
        sku: p.sku.clone(),
        name: p.name.clone(),
        quantity,
        unit_price: p.price,
    });
    ok(s.save_cart(&cart).await, "save cart");
    cart
}

/// The checkout a service would prepare for `cart`.
fn checkout_of(cart: &Cart, code: Option<&str>) -> Checkout {
    let items = cart
        .lines
        .iter()
        .map(|l| LineItem {
            product_id: Some(l.product_id),
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
        })
        .collect();
    let mut order = Order::new(cart.business_id, cart.customer_id, cart.currency, items, at(60))
        .unwrap_or_else(|e| panic!("{e}"));
    order.status = OrderStatus::AwaitingPayment;
    order.pay_by = Some(at(60) + Duration::minutes(60));
    Checkout {
        cart_id: cart.id,
        order,
        discount_code: code.map(str::to_owned),
        actor: "customer".into(),
    }
}

fn mv(order: &Order, to: OrderStatus, stock: StockChange, seconds: i64) -> OrderMove {
    OrderMove {
        order_id: order.id,
        from: order.status,
        to,
        stock,
        pay_by: None,
        actor: "staff".into(),
        reason: format!("to {to:?}"),
        at: at(seconds),
    }
}

async fn stock(s: &dyn Storage, p: &Product) -> Option<Stock> {
    ok(s.get_product(p.business_id, p.id).await, "product").stock
}

fn placed(o: CheckoutOutcome) -> Order {
    match o {
        CheckoutOutcome::Placed(order) => order,
        other => panic!("expected a placed order, got {other:?}"),
    }
}

fn moved(o: MoveOutcome) -> Order {
    match o {
        MoveOutcome::Moved(order) => order,
        other => panic!("expected a move, got {other:?}"),
    }
}

/// One open cart per customer; closed carts cannot be saved; listing and
/// reads stay in their business.
pub async fn cart_save_open_and_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let wanjiku = customer(s, a.id, 1).await;
    let p = product(a.id, "UNGA", "Unga", 21_000, Some(10));
    ok(s.insert_products(a.id, std::slice::from_ref(&p)).await, "products");
    let mut cart = cart_with(s, &wanjiku, &p, 2).await;
    assert_eq!(ok(s.open_cart(a.id, wanjiku.id).await, "open"), Some(cart.clone()));
    cart.lines[0].quantity = 3;
    cart.updated_at = at(30);
    ok(s.save_cart(&cart).await, "change");
    assert_eq!(ok(s.get_cart(a.id, cart.id).await, "get"), cart);
    let second = Cart::new(a.id, wanjiku.id, Currency::KES, at(40));
    assert!(
        matches!(s.save_cart(&second).await, Err(StorageError::Conflict { constraint, .. }) if constraint == CART_CLOSED)
    );
    let stranger = Cart::new(a.id, bare_customer(a.id, "+254712999999").id, Currency::KES, at(0));
    assert!(matches!(s.save_cart(&stranger).await, Err(StorageError::NotFound { .. })));
    let page = ok(
        s.list_carts(
            a.id,
            &CartQuery { customer: Some(wanjiku.id), limit: 10, ..Default::default() },
        )
        .await,
        "list",
    );
    assert_eq!(page.items, [cart.clone()]);
    // Business B sees nothing of it and cannot check it out.
    assert!(matches!(s.get_cart(b.id, cart.id).await, Err(StorageError::NotFound { .. })));
    assert_eq!(ok(s.open_cart(b.id, wanjiku.id).await, "open"), None);
    assert!(
        ok(s.list_carts(b.id, &CartQuery { limit: 10, ..Default::default() }).await, "l")
            .items
            .is_empty()
    );
    let mut forged = checkout_of(&cart, None);
    forged.order.business_id = b.id;
    assert!(s.checkout(b.id, &forged).await.is_err());
    assert_eq!(stock(s, &p).await, Some(Stock::new(10, 0)));
}

/// Checkout reserves stock once and returns the same order when repeated;
/// payment allocates, refunds restock, expiry releases; every move is an
/// event; a stale move is refused.
pub async fn checkout_is_idempotent_and_moves_stock(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let c = customer(s, b.id, 1).await;
    let p = product(b.id, "UNGA", "Unga", 21_000, Some(10));
    let untracked = product(b.id, "BAG", "Bag", 500, None);
    ok(s.insert_products(b.id, &[p.clone(), untracked.clone()]).await, "products");
    let mut cart = cart_with(s, &c, &p, 3).await;
    cart.lines.push(CartLine {
        product_id: untracked.id,
        sku: untracked.sku.clone(),
        name: untracked.name.clone(),
        quantity: 1,
        unit_price: untracked.price,
    });
    ok(s.save_cart(&cart).await, "save");
    let request = checkout_of(&cart, None);
    let order = placed(ok(s.checkout(b.id, &request).await, "checkout"));
    assert_eq!(
        (order.status, order.cart_id, order.pay_by),
        (OrderStatus::AwaitingPayment, Some(cart.id), request.order.pay_by)
    );
    assert_eq!(stock(s, &p).await, Some(Stock::new(10, 3)));
    // The same cart again, even with another order id: the first order.
    let mut retry = checkout_of(&cart, None);
    retry.order.id = crate::domain::OrderId::new();
    assert_eq!(
        ok(s.checkout(b.id, &retry).await, "again"),
        CheckoutOutcome::Existing(order.clone())
    );
    assert_eq!(stock(s, &p).await, Some(Stock::new(10, 3)));
    assert_eq!(ok(s.get_cart(b.id, cart.id).await, "cart").status, CartStatus::CheckedOut);
    assert!(s.save_cart(&cart).await.is_err(), "a checked-out cart is closed");
    assert_eq!(ok(s.get_order(b.id, order.id).await, "order"), order);
    // Reserved units hold the product in place.
    let mut shrink = ok(s.get_product(b.id, p.id).await, "p");
    shrink.stock = Some(Stock::new(2, 0));
    assert!(
        matches!(s.update_product(&shrink).await, Err(StorageError::Conflict { constraint, .. }) if constraint == STOCK_RESERVED)
    );
    assert!(s.delete_product(b.id, p.id).await.is_err());
    assert_eq!(ok(s.lapsed_orders(at(60) + Duration::minutes(59), 10).await, "lapsed"), []);
    assert!(
        ok(s.lapsed_orders(at(60) + Duration::minutes(60), 100).await, "lapsed")
            .contains(&(b.id, order.id))
    );
    // Paid: the reservation becomes an allocation.
    let paid = moved(ok(
        s.move_order(b.id, &mv(&order, OrderStatus::Paid, StockChange::Allocate, 100)).await,
        "pay",
    ));
    assert_eq!(stock(s, &p).await, Some(Stock::new(7, 0)));
    assert!(
        matches!(s.move_order(b.id, &mv(&order, OrderStatus::Cancelled, StockChange::Release, 110)).await,
        Err(StorageError::Conflict { constraint, .. }) if constraint == ORDER_CHANGED)
    );
    assert_eq!(ok(s.get_customer(b.id, c.id).await, "c").stats.order_count, 1);
    let refunded = moved(ok(
        s.move_order(b.id, &mv(&paid, OrderStatus::Refunded, StockChange::Restock, 120)).await,
        "refund",
    ));
    assert_eq!(refunded.status, OrderStatus::Refunded);
    assert_eq!(stock(s, &p).await, Some(Stock::new(10, 0)));
    let events = ok(s.order_events(b.id, order.id).await, "events");
    let steps: Vec<_> = events.iter().map(|e| (e.from, e.to, e.actor.as_str())).collect();
    assert_eq!(
        steps,
        [
            (None, OrderStatus::AwaitingPayment, "customer"),
            (Some(OrderStatus::AwaitingPayment), OrderStatus::Paid, "staff"),
            (Some(OrderStatus::Paid), OrderStatus::Refunded, "staff"),
        ]
    );
    assert_eq!(events[1].at, at(100));
    // A staff order: created as a draft, confirmed (reserving), then expired (releasing).
    let item = LineItem {
        product_id: Some(p.id),
        sku: p.sku.clone(),
        name: p.name.clone(),
        quantity: 4,
        unit_price: p.price,
    };
    let draft = Order::new(b.id, c.id, Currency::KES, vec![item], at(200))
        .unwrap_or_else(|e| panic!("{e}"));
    ok(s.insert_order(&draft).await, "staff order");
    let mut confirm = mv(&draft, OrderStatus::AwaitingPayment, StockChange::Reserve, 210);
    confirm.pay_by = Some(at(300));
    let awaiting = moved(ok(s.move_order(b.id, &confirm).await, "confirm"));
    assert_eq!(awaiting.pay_by, Some(at(300)));
    assert_eq!(stock(s, &p).await, Some(Stock::new(10, 4)));
    moved(ok(
        s.move_order(b.id, &mv(&awaiting, OrderStatus::Expired, StockChange::Release, 310)).await,
        "expire",
    ));
    assert_eq!(stock(s, &p).await, Some(Stock::new(10, 0)));
    let events = ok(s.order_events(b.id, draft.id).await, "events");
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].from, None);
    // Confirming more than is available changes nothing.
    let big = LineItem {
        product_id: Some(p.id),
        sku: p.sku.clone(),
        name: p.name.clone(),
        quantity: 11,
        unit_price: p.price,
    };
    let draft =
        Order::new(b.id, c.id, Currency::KES, vec![big], at(400)).unwrap_or_else(|e| panic!("{e}"));
    ok(s.insert_order(&draft).await, "big order");
    let out = ok(
        s.move_order(b.id, &mv(&draft, OrderStatus::AwaitingPayment, StockChange::Reserve, 410))
            .await,
        "big",
    );
    assert_eq!(out, MoveOutcome::OutOfStock { sku: "UNGA".into(), available: 10 });
    assert_eq!(ok(s.get_order(b.id, draft.id).await, "o").status, OrderStatus::Draft);
    let other = new_business(s, "Other").await;
    assert!(s.order_events(other.id, order.id).await.is_err());
}

/// Twenty customers check out the last five units at once: exactly five
/// orders are placed and available stock never goes below zero.
pub async fn checkout_race_for_the_last_units(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let p = product(b.id, "LAST", "Last units", 1_000, Some(5));
    ok(s.insert_products(b.id, std::slice::from_ref(&p)).await, "product");
    let mut requests = Vec::new();
    for n in 0..20 {
        let c = customer(s, b.id, n).await;
        requests.push(checkout_of(&cart_with(s, &c, &p, 1).await, None));
    }
    let outcomes = join_all(requests.iter().map(|r| s.checkout(b.id, r))).await;
    let mut placed = 0;
    for o in outcomes {
        match ok(o, "checkout") {
            CheckoutOutcome::Placed(_) => placed += 1,
            CheckoutOutcome::OutOfStock { sku, .. } => assert_eq!(sku, "LAST"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(placed, 5);
    assert_eq!(stock(s, &p).await, Some(Stock::new(5, 5)));
    let open = ok(
        s.list_carts(
            b.id,
            &CartQuery { status: Some(CartStatus::Open), limit: 50, ..Default::default() },
        )
        .await,
        "open",
    );
    assert_eq!(open.items.len(), 15, "refused checkouts leave their carts open");
}

/// Two checkouts race for one single-use code: exactly one redeems it; the
/// code's rules are applied by storage in the same transaction.
pub async fn discount_single_use_race_and_rules(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let p = product(b.id, "UNGA", "Unga", 20_000, None);
    ok(s.insert_products(b.id, std::slice::from_ref(&p)).await, "product");
    let (c1, c2) = (customer(s, b.id, 1).await, customer(s, b.id, 2).await);
    let code = Discount {
        id: DiscountId::new(),
        business_id: b.id,
        rules: DiscountRules {
            code: "WELCOME10".into(),
            value: DiscountValue::Percent(10),
            min_subtotal: Some(Money::new(10_000, Currency::KES)),
            starts_at: None,
            ends_at: None,
            max_uses: Some(1),
            max_uses_per_customer: None,
            customer: None,
            disabled: false,
        },
        uses: 0,
        created_at: at(0),
    };
    ok(s.insert_discount(&code).await, "discount");
    assert!(s.insert_discount(&Discount { id: DiscountId::new(), ..code.clone() }).await.is_err());
    let r1 = checkout_of(&cart_with(s, &c1, &p, 2).await, Some("WELCOME10"));
    let r2 = checkout_of(&cart_with(s, &c2, &p, 1).await, Some("WELCOME10"));
    let both = join_all([s.checkout(b.id, &r1), s.checkout(b.id, &r2)]).await;
    let outcomes: Vec<CheckoutOutcome> = both.into_iter().map(|o| ok(o, "checkout")).collect();
    let winners: Vec<&Order> = outcomes
        .iter()
        .filter_map(|o| match o {
            CheckoutOutcome::Placed(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let loser = outcomes.iter().find(|o| !matches!(o, CheckoutOutcome::Placed(_)));
    assert_eq!(loser, Some(&CheckoutOutcome::Discount(DiscountError::UsedUp)));
    let w = winners[0];
    let off = w.discount.as_ref().map(|d| d.amount.minor);
    assert_eq!(
        (off, w.total.minor + off.unwrap_or(0)),
        (Some(w.subtotal().minor / 10), w.subtotal().minor)
    );
    assert_eq!(ok(s.get_discount(b.id, code.id).await, "d").uses, 1);
    // Unknown codes and disabled codes refuse without touching anything.
    let c3 = customer(s, b.id, 3).await;
    let r3 = checkout_of(&cart_with(s, &c3, &p, 1).await, Some("NOPE"));
    assert_eq!(ok(s.checkout(b.id, &r3).await, "unknown"), CheckoutOutcome::UnknownCode);
    let other = new_business(s, "Other").await;
    assert_eq!(ok(s.discount_by_code(other.id, "WELCOME10").await, "other"), None);
    let off = ok(s.set_discount_disabled(b.id, code.id, true).await, "disable");
    assert!(off.rules.disabled);
    assert_eq!(ok(s.discount_by_code(b.id, "WELCOME10").await, "by code"), Some(off));
    assert_eq!(ok(s.list_discounts(b.id, None, 10).await, "list").items.len(), 1);
    assert!(ok(s.list_discounts(other.id, None, 10).await, "list").items.is_empty());
    assert!(s.get_discount(other.id, code.id).await.is_err());
}

/// Deleting a customer releases what their orders reserved.
pub async fn customer_delete_releases_reservations(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let c = customer(s, b.id, 1).await;
    let p = product(b.id, "UNGA", "Unga", 1_000, Some(5));
    ok(s.insert_products(b.id, std::slice::from_ref(&p)).await, "product");
    placed(ok(
        s.checkout(b.id, &checkout_of(&cart_with(s, &c, &p, 2).await, None)).await,
        "checkout",
    ));
    assert_eq!(stock(s, &p).await, Some(Stock::new(5, 2)));
    ok(s.delete_customer(b.id, c.id).await, "delete");
    assert_eq!(stock(s, &p).await, Some(Stock::new(5, 0)));
    ok(s.delete_product(b.id, p.id).await, "product free again");
}
