//! Quick start: a shop, its customers, tags and search, all in memory.
//! Needs no credentials: `cargo run -p examples --bin quickstart`.

use std::sync::Arc;

use whatsapp_crm_core::service::CustomerListParams;
use whatsapp_crm_core::{
    Crm, CustomerPatch, InMemoryStorage, NewBusiness, NewCustomer, ServiceError,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let crm = Crm::new(Arc::new(InMemoryStorage::new()));
    let shop = crm
        .businesses()
        .create(NewBusiness {
            name: "Duka la Mama".into(),
            whatsapp_sender: "+254700000001".into(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await?;
    println!("business {} sends from {}", shop.name, shop.whatsapp_sender);

    for (phone, name, tags) in [
        ("+254 712 000 001", "Wanjiku Kamau", vec!["vip"]),
        ("+254 733 000 002", "Otieno Odhiambo", vec![]),
        ("+255 744 000 003", "Amani Mushi", vec!["vip", "wholesale"]),
    ] {
        let mut input = NewCustomer::with_phone(phone);
        input.name = Some(name.into());
        input.tags = tags.into_iter().map(String::from).collect();
        input.marketing_opt_in = Some(true);
        let c = crm.customers().create(shop.id, input).await?;
        println!("added {} {}", c.phone, c.name.as_deref().unwrap_or("-"));
    }

    let vips = crm
        .customers()
        .list(shop.id, CustomerListParams { tag: Some("VIP".into()), ..Default::default() })
        .await?;
    println!("VIP customers: {}", vips.items.len());

    let found = crm
        .customers()
        .list(shop.id, CustomerListParams { search: Some("otieno".into()), ..Default::default() })
        .await?;
    let otieno = &found.items[0];
    let patch: CustomerPatch = serde_json::from_str(r#"{"attributes": {"favourite": "mangoes"}}"#)?;
    let otieno = crm.customers().update(shop.id, otieno.id, patch).await?;
    println!("{} now has attributes {:?}", otieno.phone, otieno.attributes);

    match crm.customers().create(shop.id, NewCustomer::with_phone("0712 000 001")).await {
        Err(ServiceError::Invalid(e)) => println!("refused as expected: {e}"),
        other => anyhow::bail!("expected a validation error, got {other:?}"),
    }
    Ok(())
}
