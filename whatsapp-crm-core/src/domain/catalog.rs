//! Products in a business's catalog, with their stock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{BusinessId, Currency, Money, ProductId, ValidationError};

/// Longest SKU. The SKU is WhatsApp's `product_retailer_id`, and payloads
/// (`cart:add:<sku>:<qty>`) must stay within a list row's 200-character id.
pub const SKU_MAX_CHARS: usize = 100;
/// Longest product name (WhatsApp shows 60 in a list row title's space; the
/// list builder cuts what it shows, the catalog keeps the whole name).
pub const PRODUCT_NAME_MAX_CHARS: usize = 200;
/// Longest product description.
pub const PRODUCT_DESCRIPTION_MAX_CHARS: usize = 2_000;
/// Longest category.
pub const PRODUCT_CATEGORY_MAX_CHARS: usize = 100;
/// Longest image URL.
pub const PRODUCT_IMAGE_URL_MAX_CHARS: usize = 2_000;
/// Most attributes one product may carry.
pub const PRODUCT_ATTRIBUTES_MAX: usize = 20;
/// Longest attribute name or value.
pub const PRODUCT_ATTRIBUTE_MAX_CHARS: usize = 100;
/// Most units one product may have on hand.
pub const STOCK_MAX: u32 = 1_000_000_000;

/// Units of a product: on hand, and held for orders awaiting payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stock {
    /// Units in the shop.
    pub on_hand: u32,
    /// Units reserved by orders awaiting payment.
    pub reserved: u32,
    /// Units that can be ordered: on hand less reserved.
    pub available: u32,
}

impl Stock {
    /// Stock with `reserved` of `on_hand` units held.
    pub fn new(on_hand: u32, reserved: u32) -> Self {
        Self { on_hand, reserved, available: on_hand.saturating_sub(reserved) }
    }
}

/// Something a business sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    /// Product id.
    pub id: ProductId,
    /// Owning business.
    pub business_id: BusinessId,
    /// Stock-keeping unit, unique within the business; WhatsApp's
    /// `product_retailer_id` in catalog messages and native carts.
    pub sku: String,
    /// Name shown to customers.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Optional category (`Flour`, `Unga`).
    pub category: Option<String>,
    /// Optional HTTPS image shown on product cards.
    pub image_url: Option<String>,
    /// Free-form attributes (`size: 2 kg`).
    pub attributes: BTreeMap<String, String>,
    /// Unit price.
    pub price: Money,
    /// Whether it can be ordered now.
    pub active: bool,
    /// Stock, or `None` when the business does not track it for this product.
    pub stock: Option<Stock>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// Units that can be ordered, `None` when stock is not tracked.
    pub fn available(&self) -> Option<u32> {
        self.stock.map(|s| s.available)
    }
}

/// A product as the API and CSV import take it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// Letters, digits, `.`, `_` and `-`, at most 100 characters.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._-]{1,100}$"))]
    pub sku: String,
    /// Name shown to customers.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// Optional description.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: Option<String>,
    /// Optional category.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub category: Option<String>,
    /// Optional image, an `https://` URL.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub image_url: Option<String>,
    /// Free-form attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Unit price in minor units (cents), not negative.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub price_minor: i64,
    /// ISO 4217 currency; the business's when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{3}$"))]
    pub currency: Option<String>,
    /// Whether it can be ordered now (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Units on hand; absent means stock is not tracked.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000_000))]
    pub on_hand: Option<u32>,
}

fn yes() -> bool {
    true
}

/// Checks an SKU: 1–100 of letters, digits, `.`, `_` and `-`.
pub fn validate_sku(sku: &str) -> Result<(), String> {
    if sku.is_empty() || sku.chars().count() > SKU_MAX_CHARS {
        return Err(format!("must be 1 to {SKU_MAX_CHARS} characters"));
    }
    if !sku.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err("may hold only letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

fn optional(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => clean_text(v, max).map(Some),
    }
}

impl NewProduct {
    /// Checks every field and builds the product, reporting every problem.
    /// `on_hand` starts with nothing reserved.
    pub fn validate(
        self,
        business_id: BusinessId,
        default_currency: Currency,
        now: DateTime<Utc>,
    ) -> Result<Product, ValidationError> {
        let mut v = ValidationError::default();
        let sku = v.check("sku", validate_sku(&self.sku)).map(|()| self.sku.clone());
        let name = v.check("name", clean_text(&self.name, PRODUCT_NAME_MAX_CHARS));
        let description = v.check(
            "description",
            optional(self.description.as_deref(), PRODUCT_DESCRIPTION_MAX_CHARS),
        );
        let category =
            v.check("category", optional(self.category.as_deref(), PRODUCT_CATEGORY_MAX_CHARS));
        let image_url = v.check("image_url", image_url(self.image_url.as_deref()));
        let attributes = v.check("attributes", attributes(self.attributes));
        if self.price_minor < 0 {
            v.push("price_minor", "must not be negative");
        }
        let currency = match self.currency.as_deref() {
            None => Some(default_currency),
            Some(c) => v.check("currency", Currency::parse(c)),
        };
        if self.on_hand.is_some_and(|n| n > STOCK_MAX) {
            v.push("on_hand", format!("must be at most {STOCK_MAX}"));
        }
        match (sku, name, description, category, image_url, attributes, currency) {
            (
                Some(sku),
                Some(name),
                Some(description),
                Some(category),
                Some(image_url),
                Some(attributes),
                Some(currency),
            ) if v.is_empty() => Ok(Product {
                id: ProductId::new(),
                business_id,
                sku,
                name,
                description,
                category,
                image_url,
                attributes,
                price: Money::new(self.price_minor, currency),
                active: self.active,
                stock: self.on_hand.map(|n| Stock::new(n, 0)),
                created_at: now,
                updated_at: now,
            }),
            _ => Err(v),
        }
    }

    /// Replaces `current`'s fields with these, keeping its id, creation time
    /// and reserved units (on hand may not go below what is reserved).
    pub fn replace(
        self,
        current: &Product,
        now: DateTime<Utc>,
    ) -> Result<Product, ValidationError> {
        let reserved = current.stock.map_or(0, |s| s.reserved);
        let on_hand = self.on_hand;
        let mut next = self.validate(current.business_id, current.price.currency, now)?;
        if let Some(n) = on_hand
            && n < reserved
        {
            return Err(ValidationError::field(
                "on_hand",
                format!(
                    "{reserved} units are reserved by open orders; on hand cannot go below that"
                ),
            ));
        }
        if on_hand.is_none() && reserved > 0 {
            return Err(ValidationError::field(
                "on_hand",
                "units are reserved by open orders; stock tracking cannot be turned off now",
            ));
        }
        next.id = current.id;
        next.created_at = current.created_at;
        next.stock = on_hand.map(|n| Stock::new(n, reserved));
        Ok(next)
    }
}

fn image_url(value: Option<&str>) -> Result<Option<String>, String> {
    let Some(url) = optional(value, PRODUCT_IMAGE_URL_MAX_CHARS)? else { return Ok(None) };
    let rest = url.strip_prefix("https://").ok_or("must be an https:// URL")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err("must be an https:// URL with a host and no spaces".into());
    }
    Ok(Some(url))
}

fn attributes(map: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    if map.len() > PRODUCT_ATTRIBUTES_MAX {
        return Err(format!("at most {PRODUCT_ATTRIBUTES_MAX} attributes"));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key =
            clean_text(&k, PRODUCT_ATTRIBUTE_MAX_CHARS).map_err(|e| format!("name {k:?} {e}"))?;
        let value =
            clean_text(&v, PRODUCT_ATTRIBUTE_MAX_CHARS).map_err(|e| format!("{key} {e}"))?;
        out.insert(key, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NewProduct {
        NewProduct {
            sku: "UNGA-2KG".into(),
            name: " Unga wa Ngano 2kg ".into(),
            price_minor: 21_000,
            active: true,
            on_hand: Some(10),
            image_url: Some("https://duka.example/unga.jpg".into()),
            ..NewProduct::default()
        }
    }

    #[test]
    fn builds_a_product_in_the_business_currency() {
        let p = input().validate(BusinessId::new(), Currency::KES, Utc::now()).unwrap();
        assert_eq!(p.name, "Unga wa Ngano 2kg");
        assert_eq!(p.price, Money::new(21_000, Currency::KES));
        assert_eq!(p.stock, Some(Stock { on_hand: 10, reserved: 0, available: 10 }));
    }

    #[test]
    fn reports_every_bad_field() {
        let bad = NewProduct {
            sku: "UNGA:2".into(),
            name: "".into(),
            price_minor: -1,
            currency: Some("shillings".into()),
            image_url: Some("http://duka.example/x.jpg".into()),
            ..NewProduct::default()
        };
        let e = bad.validate(BusinessId::new(), Currency::KES, Utc::now()).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["sku", "name", "image_url", "price_minor", "currency"]);
    }

    #[test]
    fn replacing_keeps_reservations() {
        let now = Utc::now();
        let mut current = input().validate(BusinessId::new(), Currency::KES, now).unwrap();
        current.stock = Some(Stock::new(10, 4));
        let next = NewProduct { on_hand: Some(6), ..input() }.replace(&current, now).unwrap();
        assert_eq!(next.stock, Some(Stock::new(6, 4)));
        assert_eq!(next.id, current.id);
        assert!(NewProduct { on_hand: Some(3), ..input() }.replace(&current, now).is_err());
        assert!(NewProduct { on_hand: None, ..input() }.replace(&current, now).is_err());
    }
}
