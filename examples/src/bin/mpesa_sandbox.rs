//! Takes one M-Pesa payment in Daraja's sandbox from start to receipt when
//! `MPESA_*` variables are set, and lists what to set when they are not:
//! `cargo run -p examples --bin mpesa_sandbox`.
//!
//! A shop (in memory) gets a chat message from the phone, an order of one
//! product, and starts an STK push; the phone gets the PIN prompt. The
//! program then asks Daraja until the payment is final (no callback server
//! is needed for that), and prints the order's status and the receipt the
//! customer would get on WhatsApp.

use std::sync::Arc;
use std::time::Duration;

use examples::mpesa_settings;
use whatsapp_crm_core::service::{
    NewOrder, NewOrderLine, OrderAction, OrderActionInput, PayWith, PaymentsConfig,
};
use whatsapp_crm_core::{
    CommerceSettingsInput, Crm, DeliveryMethod, InMemoryStorage, InboundMessage, MessageContent,
    NewBusiness, NewProduct, PaymentStatus, PhoneNumber,
};
use whatsapp_crm_mpesa::Mpesa;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let settings = match mpesa_settings(|name| std::env::var(name).ok()) {
        Ok(s) => s,
        Err(help) => {
            eprint!("{help}");
            std::process::exit(2);
        }
    };
    let mpesa = Mpesa::new(settings.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let crm = Crm::new(Arc::new(InMemoryStorage::new()))
        .with_payment_provider(Arc::new(mpesa))
        // Daraja needs an HTTPS callback URL; this program asks Daraja
        // instead of waiting for the callback.
        .with_payments(PaymentsConfig::new("https://example.com"));
    let shop = crm
        .businesses()
        .create(NewBusiness {
            name: "Duka la Mfano".into(),
            whatsapp_sender: "+254700000001".into(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await?;
    crm.commerce()
        .set(shop.id, CommerceSettingsInput { enabled: true, ..Default::default() })
        .await?;
    let product = NewProduct {
        sku: "SAMPLE".into(),
        name: "Sandbox sample".into(),
        price_minor: settings.amount * 100,
        ..NewProduct::default()
    };
    crm.catalog().create(shop.id, product).await?;
    // The customer writes first, which opens the window the receipt goes in.
    let phone = PhoneNumber::parse(&settings.phone)?;
    let hello = InboundMessage {
        provider_id: "SM-sandbox-hello".into(),
        from: phone.clone(),
        to: shop.whatsapp_sender.clone(),
        profile_name: None,
        content: MessageContent::text("Habari, I want to pay"),
        replied_to: None,
        forwarded: false,
        referral: None,
        received_at: chrono::Utc::now(),
    };
    let customer = crm.inbox().receive(shop.id, hello).await?.customer;
    let order = crm
        .orders()
        .create(
            shop.id,
            NewOrder {
                customer_id: customer.id,
                items: vec![NewOrderLine { sku: "SAMPLE".into(), quantity: 1 }],
                delivery: Some(DeliveryMethod::Pickup),
            },
        )
        .await?;
    let order = crm
        .orders()
        .act(shop.id, order.id, OrderAction::Confirm, OrderActionInput::default(), "example")
        .await?;
    let payments = crm.payments();
    let attempt =
        payments.start(shop.id, order.id, PayWith::Mpesa { phone: settings.phone.clone() }).await?;
    println!(
        "STK push sent ({}): check {} and enter the PIN.",
        attempt.provider_reference.as_deref().unwrap_or("-"),
        phone
    );
    let mut attempt = attempt;
    for _ in 0..24 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        attempt = payments.refresh(shop.id, attempt.id).await?;
        if attempt.status.is_final() {
            break;
        }
        println!("… {}", attempt.status.as_str());
    }
    println!(
        "Payment: {}{}",
        attempt.status.as_str(),
        attempt.failure.map(|f| format!(" ({f})")).unwrap_or_default()
    );
    let order = crm.orders().get(shop.id, order.id).await?;
    println!("Order {}: {:?}", order.reference(), order.status);
    if attempt.status == PaymentStatus::Succeeded {
        let receipt = attempt.receipt_message_id.map(|id| crm.storage().get_message(shop.id, id));
        match receipt {
            Some(fut) => println!("Receipt: {:?}", fut.await?.content),
            None => println!("No receipt: {}", attempt.receipt_skipped.unwrap_or_default()),
        }
    }
    Ok(())
}
