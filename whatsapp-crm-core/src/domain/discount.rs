//! Discount codes as a business keeps them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BusinessId, Currency, CustomerId, DiscountId, Money, ValidationError};
use crate::commerce::discount::{
    DISCOUNT_CODE_MAX_CHARS, GENERATED_CODE_BYTES, generated_code, normalize_code,
};

/// Shortest code a business may choose.
pub const DISCOUNT_CODE_MIN_CHARS: usize = 3;

/// What a code takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiscountValue {
    /// A share of the subtotal, 1 to 100 percent.
    Percent(u8),
    /// A fixed amount, at most the subtotal.
    Fixed(Money),
}

/// A code and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscountRules {
    /// The code as customers type it, normalised by [`normalize_code`].
    pub code: String,
    /// What it takes off.
    pub value: DiscountValue,
    /// Carts below this subtotal do not qualify.
    pub min_subtotal: Option<Money>,
    /// Usable from then.
    pub starts_at: Option<DateTime<Utc>>,
    /// Usable until then (exclusive).
    pub ends_at: Option<DateTime<Utc>>,
    /// Redemptions in all; 1 for a single-use code.
    pub max_uses: Option<u32>,
    /// Redemptions per customer.
    pub max_uses_per_customer: Option<u32>,
    /// Only this customer may use it.
    pub customer: Option<CustomerId>,
    /// Switched off by the business.
    pub disabled: bool,
}

/// A stored discount code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Discount {
    /// Discount id.
    pub id: DiscountId,
    /// Owning business.
    pub business_id: BusinessId,
    /// The code and its rules.
    pub rules: DiscountRules,
    /// Redemptions so far.
    pub uses: u32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A discount code as the API takes it. Give `percent` or `amount_minor`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDiscount {
    /// The code customers type (letters, digits, spaces and dashes, which are
    /// dropped); absent for a generated, unguessable single-use code.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9 -]{3,32}$"))]
    pub code: Option<String>,
    /// Percent off, 1 to 100.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub percent: Option<u8>,
    /// Amount off in minor units of the business currency.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount_minor: Option<i64>,
    /// Carts below this subtotal (minor units) do not qualify.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub min_subtotal_minor: Option<i64>,
    /// Usable from then.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Usable until then.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Redemptions in all (1 for single use).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_uses: Option<u32>,
    /// Redemptions per customer.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_uses_per_customer: Option<u32>,
    /// Only this customer may use it.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
}

impl NewDiscount {
    /// Checks the input and builds the code. `entropy` (from the operating
    /// system's random source) makes the code when none was given; such a
    /// code is single use unless `max_uses` says otherwise.
    pub fn validate(
        self,
        business_id: BusinessId,
        currency: Currency,
        entropy: [u8; GENERATED_CODE_BYTES],
        now: DateTime<Utc>,
    ) -> Result<Discount, ValidationError> {
        let mut v = ValidationError::default();
        let generated = self.code.is_none();
        let code = match &self.code {
            None => generated_code("", entropy),
            Some(c) => {
                let code = normalize_code(c);
                let len = code.chars().count();
                if !(DISCOUNT_CODE_MIN_CHARS..=DISCOUNT_CODE_MAX_CHARS).contains(&len)
                    || !code.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    v.push(
                        "code",
                        format!(
                            "must be {DISCOUNT_CODE_MIN_CHARS} to {DISCOUNT_CODE_MAX_CHARS} letters and digits"
                        ),
                    );
                }
                code
            }
        };
        let value = match (self.percent, self.amount_minor) {
            (Some(p), None) if (1..=100).contains(&p) => Some(DiscountValue::Percent(p)),
            (None, Some(m)) if m > 0 => Some(DiscountValue::Fixed(Money::new(m, currency))),
            (Some(_), None) => {
                v.push("percent", "must be 1 to 100");
                None
            }
            (None, Some(_)) => {
                v.push("amount_minor", "must be above 0");
                None
            }
            _ => {
                v.push("percent", "give exactly one of percent and amount_minor");
                None
            }
        };
        if self.min_subtotal_minor.is_some_and(|m| m < 0) {
            v.push("min_subtotal_minor", "must not be negative");
        }
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            v.push("ends_at", "must be after starts_at");
        }
        if self.max_uses == Some(0) {
            v.push("max_uses", "must be at least 1");
        }
        if self.max_uses_per_customer == Some(0) {
            v.push("max_uses_per_customer", "must be at least 1");
        }
        let Some(value) = value else { return Err(v) };
        v.into_result(|| Discount {
            id: DiscountId::new(),
            business_id,
            rules: DiscountRules {
                code,
                value,
                min_subtotal: self.min_subtotal_minor.map(|m| Money::new(m, currency)),
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                max_uses: self.max_uses.or(generated.then_some(1)),
                max_uses_per_customer: self.max_uses_per_customer,
                customer: self.customer_id,
                disabled: false,
            },
            uses: 0,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_single_use_and_chosen_codes_are_normalised() {
        let (b, now) = (BusinessId::new(), Utc::now());
        let d = NewDiscount { percent: Some(10), ..NewDiscount::default() }
            .validate(b, Currency::KES, [7; GENERATED_CODE_BYTES], now)
            .unwrap();
        assert_eq!((d.rules.code.len(), d.rules.max_uses), (16, Some(1)));
        let d = NewDiscount {
            code: Some("mama-20".into()),
            amount_minor: Some(20_000),
            ..NewDiscount::default()
        }
        .validate(b, Currency::KES, [0; GENERATED_CODE_BYTES], now)
        .unwrap();
        assert_eq!(d.rules.code, "MAMA20");
        assert_eq!(d.rules.value, DiscountValue::Fixed(Money::new(20_000, Currency::KES)));
        assert_eq!(d.rules.max_uses, None);
    }

    #[test]
    fn refuses_bad_input_field_by_field() {
        let e = NewDiscount {
            code: Some("a!".into()),
            percent: Some(10),
            amount_minor: Some(5),
            max_uses: Some(0),
            ..NewDiscount::default()
        }
        .validate(BusinessId::new(), Currency::KES, [0; GENERATED_CODE_BYTES], Utc::now())
        .unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["code", "percent", "max_uses"]);
    }
}
