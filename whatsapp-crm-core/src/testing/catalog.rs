//! Conformance cases for the catalog: products, stock fields, search.

use crate::commerce::SearchQuery;
use crate::commerce::search::{CANDIDATES_MAX, gather, rank};
use crate::domain::{BusinessId, Currency, NewProduct, Product, ProductId, Stock};
use crate::ports::{ProductQuery, SKU_TAKEN, Storage, StorageError};

use super::{new_business, ok, t0};

/// A product priced in KES minor units, `on_hand` units tracked (or not).
pub fn product(
    business: BusinessId,
    sku: &str,
    name: &str,
    minor: i64,
    on_hand: Option<u32>,
) -> Product {
    NewProduct {
        sku: sku.into(),
        name: name.into(),
        price_minor: minor,
        active: true,
        on_hand,
        ..NewProduct::default()
    }
    .validate(business, Currency::KES, t0())
    .unwrap_or_else(|e| panic!("fixture product {sku}: {e:?}"))
}

/// The candidates of every stage of `q`, as the catalog service gathers them.
async fn find(s: &dyn Storage, b: BusinessId, q: &SearchQuery) -> Vec<Product> {
    let mut found = Vec::new();
    for stage in q.stages() {
        if gather(&mut found, ok(s.search_candidates(b, &stage, CANDIDATES_MAX).await, "search")) {
            break;
        }
    }
    found
}

/// A Nairobi grocery's catalog: SKU, name, category, description.
pub const DUKA_CATALOG: &[(&str, &str, &str, &str)] = &[
    ("UNGA-NGANO-2KG", "Unga wa Ngano 2kg", "Flour", "Wheat flour for chapati and mandazi"),
    ("UNGA-MAHINDI-2KG", "Unga wa Mahindi 2kg", "Flour", "Sifted maize meal for ugali"),
    ("SUGAR-1KG", "Sugar 1kg", "Baking", "White cane sugar"),
    ("SUGAR-BROWN-1KG", "Brown Sugar 1kg", "Baking", "Unrefined brown sugar"),
    ("RICE-PISHORI-2KG", "Pishori Rice 2kg", "Rice", "Aromatic Mwea pishori"),
    ("MILK-500", "Fresh Milk 500ml", "Dairy", "Pasteurised whole milk"),
    ("MALA-500", "Mala Fermented Milk 500ml", "Dairy", "Sour milk"),
    ("OIL-1L", "Cooking Oil 1 litre", "Oils", "Vegetable oil"),
    ("TEA-KETEPA-250", "Ketepa Tea Leaves 250g", "Beverages", "Kenyan black tea"),
    ("COFFEE-DORMANS", "Dormans Coffee 250g", "Beverages", "Ground Kenyan coffee"),
    ("BREAD-WHITE", "White Bread 400g", "Bakery", "Sliced loaf"),
    ("SOAP-BAR", "Bar Soap 800g", "Household", "Laundry soap"),
    ("WATER-5L", "Drinking Water 5 litres", "Beverages", "Purified water"),
    ("EGGS-TRAY", "Eggs Tray of 30", "Eggs", "Farm eggs"),
    ("SALT-1KG", "Table Salt 1kg", "Baking", "Iodised salt"),
    ("BEANS-ROSECOCO", "Rosecoco Beans 1kg", "Pulses", "Dry beans"),
    ("LENTILS-RED", "Red Lentils 1kg", "Pulses", "Split red lentils"),
    ("TOMATOES-1KG", "Tomatoes 1kg", "Vegetables", "Ripe tomatoes"),
    ("ONIONS-1KG", "Red Onions 1kg", "Vegetables", "Bulb onions"),
    ("POTATOES-2KG", "Potatoes 2kg", "Vegetables", "Shangi potatoes"),
    ("BANANAS", "Sweet Bananas bunch", "Fruit", "Ripe bananas"),
    ("MANGO-APPLE", "Apple Mangoes 1kg", "Fruit", "Sweet mangoes"),
    ("HONEY-500", "Pure Honey 500g", "Spreads", "Raw honey"),
    ("BUTTER-250", "Salted Butter 250g", "Dairy", "Creamery butter"),
    ("JUICE-ORANGE-1L", "Orange Juice 1 litre", "Beverages", "No added sugar"),
    ("GINGER-250", "Fresh Ginger 250g", "Spices", "Root ginger"),
    ("CHICKEN-KIENYEJI", "Kienyeji Chicken whole", "Meat", "Free range"),
    ("FISH-TILAPIA", "Tilapia Fish whole", "Fish", "Lake Victoria tilapia"),
    ("PHONE-CHARGER", "Phone Charger USB-C", "Electronics", "Fast charging"),
    ("BATTERY-AA", "Batteries AA pack of 4", "Electronics", "Alkaline"),
];

/// Queries customers send, with the product each must find in the top 3:
/// English, Swahili, misspellings, and an SKU.
pub const DUKA_QUERIES: &[(&str, &str)] = &[
    ("unga ngano", "UNGA-NGANO-2KG"),
    ("unga mahindi", "UNGA-MAHINDI-2KG"),
    ("sukari", "SUGAR-1KG"),
    ("suger", "SUGAR-1KG"),
    ("mchele", "RICE-PISHORI-2KG"),
    ("pishori", "RICE-PISHORI-2KG"),
    ("maziwa", "MILK-500"),
    ("mlik", "MILK-500"),
    ("cooking oil", "OIL-1L"),
    ("mafuta", "OIL-1L"),
    ("chai", "TEA-KETEPA-250"),
    ("ketepa", "TEA-KETEPA-250"),
    ("mkate", "BREAD-WHITE"),
    ("sabuni", "SOAP-BAR"),
    ("mayai", "EGGS-TRAY"),
    ("tomatos", "TOMATOES-1KG"),
    ("vitunguu", "ONIONS-1KG"),
    ("maharagwe", "BEANS-ROSECOCO"),
    ("tilapiya", "FISH-TILAPIA"),
    ("chargr", "PHONE-CHARGER"),
    ("battery-aa", "BATTERY-AA"),
];

/// The Nairobi catalog as products of `business`.
pub fn duka_catalog(business: BusinessId) -> Vec<Product> {
    DUKA_CATALOG
        .iter()
        .enumerate()
        .map(|(i, (sku, name, category, description))| {
            let mut p = product(business, sku, name, 10_000 + i as i64 * 500, Some(50));
            p.category = Some((*category).into());
            p.description = Some((*description).into());
            p
        })
        .collect()
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StorageError>, text: &str) -> bool {
    matches!(r, Err(StorageError::Conflict { constraint, .. }) if constraint == text)
}

/// Products read back whole; a batch with one taken SKU stores nothing.
pub async fn product_round_trip_and_batches_are_all_or_nothing(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let mut p = product(b.id, "UNGA-2KG", "Unga wa Ngano 2kg", 21_000, Some(10));
    p.category = Some("Flour".into());
    p.image_url = Some("https://duka.example/unga.jpg".into());
    p.attributes.insert("size".into(), "2 kg".into());
    p.description = Some("Wheat flour".into());
    let plain = product(b.id, "SUGAR-1KG", "Sugar 1kg", 15_000, None);
    ok(s.insert_products(b.id, &[p.clone(), plain.clone()]).await, "insert");
    assert_eq!(ok(s.get_product(b.id, p.id).await, "get"), p);
    assert_eq!(ok(s.get_product(b.id, plain.id).await, "get"), plain);
    let fresh = product(b.id, "NEW-1", "New", 100, None);
    let again = product(b.id, "UNGA-2KG", "Another unga", 100, None);
    assert!(is_conflict(s.insert_products(b.id, &[fresh.clone(), again]).await, SKU_TAKEN));
    let twin = product(b.id, "NEW-1", "Twin", 100, None);
    assert!(is_conflict(s.insert_products(b.id, &[fresh.clone(), twin]).await, SKU_TAKEN));
    assert!(matches!(s.get_product(b.id, fresh.id).await, Err(StorageError::NotFound { .. })));
    let found = ok(s.products_by_sku(b.id, &["SUGAR-1KG".into(), "NOPE".into()]).await, "by sku");
    assert_eq!(found, [plain]);
}

/// Updates keep reserved units; on hand never goes below them.
pub async fn product_update_keeps_reservations_and_delete(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let p = product(b.id, "UNGA-2KG", "Unga", 21_000, Some(10));
    let other = product(b.id, "SUGAR", "Sugar", 100, None);
    ok(s.insert_products(b.id, &[p.clone(), other.clone()]).await, "insert");
    let mut edit = p.clone();
    edit.name = "Unga wa Ngano".into();
    edit.price.minor = 22_000;
    edit.stock = Some(Stock::new(7, 5)); // the reserved 5 is ignored: storage keeps 0
    edit.updated_at = super::at(10);
    let stored = ok(s.update_product(&edit).await, "update");
    assert_eq!(stored.stock, Some(Stock::new(7, 0)));
    assert_eq!(stored.name, "Unga wa Ngano");
    assert_eq!(ok(s.get_product(b.id, p.id).await, "get"), stored);
    let mut taken = stored.clone();
    taken.sku = "SUGAR".into();
    assert!(is_conflict(s.update_product(&taken).await, SKU_TAKEN));
    let mut missing = stored.clone();
    missing.id = ProductId::new();
    assert!(matches!(s.update_product(&missing).await, Err(StorageError::NotFound { .. })));
    ok(s.delete_product(b.id, other.id).await, "delete");
    assert!(matches!(s.get_product(b.id, other.id).await, Err(StorageError::NotFound { .. })));
    // The freed SKU can be used again.
    ok(s.insert_products(b.id, &[product(b.id, "SUGAR", "Sugar again", 1, None)]).await, "reuse");
}

/// Lists page in id order and filter; another business sees nothing.
pub async fn product_list_search_and_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let mut mine = duka_catalog(a.id);
    mine[3].active = false;
    ok(s.insert_products(a.id, &mine).await, "insert");
    let page =
        ok(s.list_products(a.id, &ProductQuery { limit: 10, ..Default::default() }).await, "list");
    assert_eq!(page.items.len(), 10);
    let next =
        ProductQuery { limit: 50, after: page.items.last().map(|p| p.id), ..Default::default() };
    let rest = ok(s.list_products(a.id, &next).await, "list");
    assert_eq!(rest.items.len(), DUKA_CATALOG.len() - 10);
    let flour = ProductQuery { category: Some("Flour".into()), limit: 50, ..Default::default() };
    assert_eq!(ok(s.list_products(a.id, &flour).await, "flour").items.len(), 2);
    let inactive = ProductQuery { active: Some(false), limit: 50, ..Default::default() };
    assert_eq!(ok(s.list_products(a.id, &inactive).await, "inactive").items, [mine[3].clone()]);
    // Business B sees none of A's products, by id, SKU, listing or search.
    assert!(matches!(s.get_product(b.id, mine[0].id).await, Err(StorageError::NotFound { .. })));
    assert!(ok(s.products_by_sku(b.id, &[mine[0].sku.clone()]).await, "sku").is_empty());
    assert!(
        ok(s.list_products(b.id, &ProductQuery { limit: 50, ..Default::default() }).await, "l")
            .items
            .is_empty()
    );
    let q = SearchQuery::parse("unga");
    assert!(find(s, b.id, &q).await.is_empty());
    assert!(s.delete_product(b.id, mine[0].id).await.is_err());
    let mut forged = mine[0].clone();
    forged.business_id = b.id;
    assert!(matches!(s.update_product(&forged).await, Err(StorageError::NotFound { .. })));
}

/// Each of the 20 customer queries finds its product in the top 3, through
/// the backend's own candidate index.
pub async fn product_search_finds_each_query_in_the_top_three(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let noise = new_business(s, "Other duka").await;
    ok(s.insert_products(b.id, &duka_catalog(b.id)).await, "insert");
    ok(s.insert_products(noise.id, &duka_catalog(noise.id)).await, "insert other");
    let mut misses = Vec::new();
    for (text, sku) in DUKA_QUERIES {
        let q = SearchQuery::parse(text);
        let found = find(s, b.id, &q).await;
        assert!(found.iter().all(|p| p.business_id == b.id), "another business's product");
        let top: Vec<String> = rank(&q, found, 3).into_iter().map(|h| h.product.sku).collect();
        if !top.iter().any(|t| t == sku) {
            misses.push(format!("{text:?} → {top:?}, wanted {sku}"));
        }
    }
    assert!(misses.is_empty(), "queries missing their product:\n{}", misses.join("\n"));
    // Updates and deletes keep the index in step.
    let mut products = ok(s.products_by_sku(b.id, &["HONEY-500".into()]).await, "honey");
    let mut honey = products.remove(0);
    honey.name = "Asali Safi 500g".into();
    honey.category = None;
    honey.description = None;
    ok(s.update_product(&honey).await, "rename");
    let q = SearchQuery::parse("asali");
    let top = rank(&q, find(s, b.id, &q).await, 3);
    assert_eq!(top.first().map(|h| h.product.sku.as_str()), Some("HONEY-500"));
    ok(s.delete_product(b.id, honey.id).await, "delete");
    let top = rank(&q, find(s, b.id, &q).await, 3);
    assert!(top.iter().all(|h| h.product.sku != "HONEY-500"));
}
