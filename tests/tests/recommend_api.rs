//! Recommendations over HTTP on every backend: the model built from paid
//! orders, related products with their reasons, a customer's picks led by
//! what they named, inactive and out-of-stock products never returned, a
//! restarted server answering from the stored model, and bad input refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};
use support::{TestApp, assert_error, inbound_text, on};
use whatsapp_crm_core::{
    Crm, Currency, LineItem, Money, NewCustomer, Order, OrderStatus, Product, ProductId,
};

on_every_backend!(
    picks_come_from_paid_orders_with_reasons_and_skip_what_cannot_sell,
    cart_replies_suggest_what_goes_with_the_cart_when_turned_on,
    the_recommended_product_variable_fills_a_template,
);

async fn product(t: &TestApp, sku: &str) -> Product {
    let s = t.crm.storage();
    s.products_by_sku(t.shop_a, &[sku.to_owned()]).await.unwrap().pop().unwrap()
}

async fn paid(t: &TestApp, customer: whatsapp_crm_core::CustomerId, items: &[&Product]) {
    paid_in(t, t.shop_a, customer, items).await;
}

async fn paid_in(
    t: &TestApp,
    business: whatsapp_crm_core::BusinessId,
    customer: whatsapp_crm_core::CustomerId,
    items: &[&Product],
) {
    let lines = items
        .iter()
        .map(|p| LineItem {
            product_id: Some(p.id),
            sku: p.sku.clone(),
            name: p.name.clone(),
            quantity: 1,
            unit_price: p.price,
        })
        .collect();
    let mut o = Order::new(business, customer, Currency::KES, lines, Utc::now()).unwrap();
    o.total = Money::new(100, Currency::KES);
    o.status = OrderStatus::Paid;
    t.crm.storage().insert_order(&o).await.unwrap();
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["product"]["sku"].as_str().unwrap().to_owned())
        .collect()
}

const CATALOG: &str = "sku,name,price,category,on_hand,active\n\
               UNGA-2KG,Jogoo Unga 2kg,210.00,Flour,30,true\n\
               SUKARI-1KG,Kabras Sugar 1kg,165.00,Sugar,12,true\n\
               MAZIWA-500,Brookside Milk 500ml,60.00,Dairy,40,true\n\
               CHAI-250,Kericho Gold Tea 250g,180.00,Tea,0,true\n\
               MKATE,Supa Loaf Bread,65.00,Bakery,20,false\n\
               SODA-500,Coca-Cola 500ml,70.00,Drinks,50,true\n";

async fn picks_come_from_paid_orders_with_reasons_and_skip_what_cannot_sell(t: TestApp) {
    t.crm.catalog().import_csv(t.shop_a, CATALOG.as_bytes()).await.unwrap();
    let (unga, sukari, maziwa, chai, mkate, soda) = (
        product(&t, "UNGA-2KG").await,
        product(&t, "SUKARI-1KG").await,
        product(&t, "MAZIWA-500").await,
        product(&t, "CHAI-250").await,
        product(&t, "MKATE").await,
        product(&t, "SODA-500").await,
    );
    let buyer = t.crm.customers().create(t.shop_a, NewCustomer::with_phone("+254711000001")).await;
    let buyer = buyer.unwrap().id;
    // Unga goes with sugar, then tea (out of stock) and bread (inactive).
    for basket in [
        vec![&unga, &sukari],
        vec![&unga, &sukari, &chai],
        vec![&unga, &chai, &mkate],
        vec![&unga, &mkate],
        vec![&unga, &sukari],
        vec![&maziwa, &soda],
        vec![&soda],
    ] {
        paid(&t, buyer, &basket).await;
    }
    // Before a build there is no model and no pick.
    let path = format!("/v1/products/{}/related", unga.id);
    let r = t.as_a("GET", &path, None).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"items": [], "model": null})));
    let recs = t.crm.recommendations();
    assert_eq!(recs.run_due(Utc::now() + chrono::Duration::hours(1)).await.unwrap(), 1);
    assert_eq!(recs.run_due(Utc::now() + chrono::Duration::hours(1)).await.unwrap(), 0, "built");

    let r = t.as_a("GET", &format!("{path}?k=3"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(ids(&r.body)[0], "SUKARI-1KG");
    assert_eq!(r.body["items"][0]["reason"], "bought_together");
    assert_eq!(r.body["items"][0]["because"], json!(unga.id.to_string()));
    assert_eq!(r.body["model"]["orders"], 7);
    // Out of stock and inactive never come back, nor the product itself.
    for pick in ids(&r.body) {
        assert!(!["CHAI-250", "MKATE", "UNGA-2KG"].contains(&pick.as_str()), "{:?}", r.body);
    }
    assert_eq!(ids(&r.body).len(), 3, "filled by what sells: {:?}", r.body);

    // A customer who named milk gets it first, then what goes with it.
    let sender = t.crm.storage().get_business(t.shop_a).await.unwrap().whatsapp_sender;
    let m = inbound_text("SM1", "+254711000002", &sender, "Mna maziwa ya Brookside?", Utc::now());
    let asker = t.crm.inbox().receive(t.shop_a, m).await.unwrap().customer.id;
    let r = t.as_a("GET", &format!("/v1/customers/{asker}/recommendations?k=2"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(ids(&r.body), ["MAZIWA-500", "SODA-500"], "{:?}", r.body);
    assert_eq!(
        (r.body["items"][0]["reason"].clone(), r.body["items"][1]["reason"].clone()),
        (json!("personal"), json!("personal"))
    );
    // A restarted server answers from the stored model.
    let fresh = Crm::new(t.crm.storage().clone());
    let again = fresh.recommendations().related(t.shop_a, unga.id, 3).await.unwrap();
    assert_eq!(again[0].product.sku, "SUKARI-1KG");
    // A server that keeps one business's model in memory: the other
    // business's model takes its place, and it is loaded again when asked.
    t.crm.catalog().import_csv(t.shop_b, CATALOG.as_bytes()).await.unwrap();
    let skus = ["MAZIWA-500".to_owned(), "SODA-500".to_owned()];
    let theirs = t.crm.storage().products_by_sku(t.shop_b, &skus).await.unwrap();
    let c = t.crm.customers().create(t.shop_b, NewCustomer::with_phone("+254711000009")).await;
    paid_in(&t, t.shop_b, c.unwrap().id, &[&theirs[0], &theirs[1]]).await;
    fresh.recommendations().build(t.shop_b).await.unwrap();
    let small = Crm::new(t.crm.storage().clone()).with_cached_businesses(1);
    for (business, product, partner) in [
        (t.shop_a, unga.id, "SUKARI-1KG"),
        (t.shop_b, theirs[0].id, "SODA-500"),
        (t.shop_a, unga.id, "SUKARI-1KG"),
        (t.shop_b, theirs[0].id, "SODA-500"),
    ] {
        let picks = small.recommendations().related(business, product, 1).await.unwrap();
        assert_eq!(picks[0].product.sku, partner);
        assert_eq!(picks[0].product.business_id, business);
    }

    // Bad input, and another business's ids.
    assert_error(
        &t.as_a("GET", &format!("{path}?k=0"), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &t.as_a("GET", &format!("{path}?k=21"), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(&t.as_b("GET", &path, None).await, StatusCode::NOT_FOUND, "not_found");
    let theirs = format!("/v1/customers/{buyer}/recommendations");
    assert_error(&t.as_b("GET", &theirs, None).await, StatusCode::NOT_FOUND, "not_found");
    let nothing = format!("/v1/products/{}/related", ProductId::new());
    assert_error(&t.as_a("GET", &nothing, None).await, StatusCode::NOT_FOUND, "not_found");
}

async fn cart_replies_suggest_what_goes_with_the_cart_when_turned_on(t: TestApp) {
    t.crm.catalog().import_csv(t.shop_a, CATALOG.as_bytes()).await.unwrap();
    let (unga, sukari, chai) = (
        product(&t, "UNGA-2KG").await,
        product(&t, "SUKARI-1KG").await,
        product(&t, "CHAI-250").await,
    );
    let buyer = t.crm.customers().create(t.shop_a, NewCustomer::with_phone("+254711000001")).await;
    let buyer = buyer.unwrap().id;
    // Tea goes with unga most often, but it is out of stock.
    for basket in [vec![&unga, &chai], vec![&unga, &chai], vec![&unga, &chai], vec![&unga, &sukari]]
    {
        paid(&t, buyer, &basket).await;
    }
    t.crm.recommendations().build(t.shop_a).await.unwrap();
    let sender = t.crm.storage().get_business(t.shop_a).await.unwrap().whatsapp_sender;
    let n = std::sync::atomic::AtomicU32::new(0);
    let add = |phone: &'static str| {
        let sid = format!("SM{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let m = inbound_text(sid, phone, &sender, "add UNGA-2KG", Utc::now());
        let inbox = t.crm.inbox();
        async move { inbox.receive(t.shop_a, m).await.unwrap().cart.unwrap().replies }
    };
    let settings = |n: u8| whatsapp_crm_core::CommerceSettingsInput {
        enabled: true,
        cart_suggestions: Some(n),
        ..Default::default()
    };
    // Off by default: the cart's own reply only.
    t.crm.commerce().set(t.shop_a, settings(0)).await.unwrap();
    assert_eq!(add("+254711000002").await.len(), 1);
    // On: one more message, buttons adding what goes with the cart and sells.
    t.crm.commerce().set(t.shop_a, settings(2)).await.unwrap();
    let replies = add("+254711000003").await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    let whatsapp_crm_core::MessageContent::Interactive {
        interactive: whatsapp_crm_core::Interactive::Buttons { body, buttons, .. },
    } = &replies[1].content
    else {
        panic!("{:?}", replies[1].content)
    };
    assert_eq!(body, "Customers who bought Jogoo Unga 2kg also bought:");
    let titles: Vec<&str> = buttons.iter().map(|b| b.title.as_str()).collect();
    assert_eq!(titles, ["Kabras Sugar 1kg"], "tea is out of stock");
    // Tapping it adds sugar to the cart.
    let tap = whatsapp_crm_core::InboundMessage {
        content: whatsapp_crm_core::MessageContent::Interactive {
            interactive: whatsapp_crm_core::Interactive::Reply {
                payload: Some(buttons[0].id.clone()),
                title: buttons[0].title.clone(),
            },
        },
        ..inbound_text("SMtap", "+254711000003", &sender, "", Utc::now())
    };
    let cart = t.crm.inbox().receive(t.shop_a, tap).await.unwrap().cart.unwrap().cart;
    let skus: Vec<&str> = cart.lines.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(skus, ["UNGA-2KG", "SUKARI-1KG"]);
    // Asking for suggestions in Swahili: what sells, never what is out of stock.
    let ask = inbound_text("SMask", "+254711000004", &sender, "Nipendekezee", Utc::now());
    let replies = t.crm.inbox().receive(t.shop_a, ask).await.unwrap().cart.unwrap().replies;
    let whatsapp_crm_core::MessageContent::Interactive {
        interactive: whatsapp_crm_core::Interactive::Buttons { body, buttons, .. },
    } = &replies[0].content
    else {
        panic!("{:?}", replies[0].content)
    };
    assert_eq!(body, "You might like:");
    let titles: Vec<&str> = buttons.iter().map(|b| b.title.as_str()).collect();
    assert_eq!(titles, ["Jogoo Unga 2kg", "Kabras Sugar 1kg"]);
    // Out of range is refused.
    let r =
        t.as_a("PUT", "/v1/commerce", Some(r#"{"enabled": true, "cart_suggestions": 3}"#)).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn the_recommended_product_variable_fills_a_template(t: TestApp) {
    use whatsapp_crm_core::TemplateStatus;
    use whatsapp_crm_core::service::{NewTemplate, SendMessage, TemplateSend};
    t.crm.catalog().import_csv(t.shop_a, CATALOG.as_bytes()).await.unwrap();
    let (unga, sukari) = (product(&t, "UNGA-2KG").await, product(&t, "SUKARI-1KG").await);
    let customer = |phone: &'static str| {
        let crm = t.crm.clone();
        let shop = t.shop_a;
        async move {
            let mut c = NewCustomer::with_phone(phone);
            c.marketing_opt_in = Some(true);
            crm.customers().create(shop, c).await.unwrap().id
        }
    };
    let (regular, newcomer, fresh) = (
        customer("+254711000001").await,
        customer("+254711000002").await,
        customer("+254711000003").await,
    );
    for _ in 0..3 {
        paid(&t, regular, &[&unga, &sukari]).await;
    }
    paid(&t, newcomer, &[&unga]).await;
    let input: NewTemplate = serde_json::from_value(json!({
        "name": "weekly_pick", "category": "utility", "language": "en",
        "content": {"body": "Hi {{name|rafiki}}, this week try {{recommended_product|our specials}} while stocks last.",
                    "samples": {"name": "Wanjiku", "recommended_product": "Kabras Sugar 1kg"}}
    }))
    .unwrap();
    let tpl = t.crm.templates().create(t.shop_a, input).await.unwrap();
    let tpl = t.crm.templates().submit(t.shop_a, tpl.id).await.unwrap();
    t.registry.set_status(tpl.provider_id.as_deref().unwrap(), TemplateStatus::Approved, None);
    t.crm.templates().sync(t.shop_a, tpl.id).await.unwrap();
    let send = |customer_id| {
        let req = SendMessage {
            customer_id,
            content: None,
            template: Some(TemplateSend { template_id: tpl.id, values: Default::default() }),
            media_sizes: Vec::new(),
            send_at: None,
        };
        let outbound = t.crm.outbound();
        async move {
            match outbound.send(t.shop_a, req).await.unwrap().content {
                whatsapp_crm_core::MessageContent::Template { rendered, .. } => rendered.unwrap(),
                other => panic!("{other:?}"),
            }
        }
    };
    // Before any model: the fallback.
    assert_eq!(send(newcomer).await, "Hi rafiki, this week try our specials while stocks last.");
    t.crm.recommendations().build(t.shop_a).await.unwrap();
    // Bought unga: sugar goes with it. Bought both: nothing left to suggest.
    // Bought nothing: the best seller lately.
    assert_eq!(
        send(newcomer).await,
        "Hi rafiki, this week try Kabras Sugar 1kg while stocks last."
    );
    assert_eq!(send(regular).await, "Hi rafiki, this week try our specials while stocks last.");
    assert_eq!(send(fresh).await, "Hi rafiki, this week try Jogoo Unga 2kg while stocks last.");
}
