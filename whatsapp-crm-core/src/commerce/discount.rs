//! Discount codes: what a code takes off a cart, and whether it may be used
//! now by this customer. Pure: the caller passes the usage counts it read,
//! and storage redeems the code in the same transaction as the checkout, so
//! two checkouts never both spend a single-use code.

use chrono::{DateTime, Utc};

use crate::domain::{CustomerId, Money};
pub use crate::domain::{DiscountRules, DiscountValue};

/// Random bytes in a generated code: 80 bits, beyond guessing.
pub const GENERATED_CODE_BYTES: usize = 10;
/// Longest code a business may choose.
pub const DISCOUNT_CODE_MAX_CHARS: usize = 32;
/// Letters and digits of generated codes (Crockford's base 32: no I, L, O
/// or U, so nothing reads as another character over the phone).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How often the code was redeemed, as storage counted it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscountUsage {
    /// By anyone.
    pub total: u32,
    /// By the customer checking out.
    pub by_customer: u32,
}

/// Why a code does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscountError {
    /// Switched off.
    #[error("this code is not active")]
    Disabled,
    /// Before its start.
    #[error("this code is not valid yet")]
    NotStarted,
    /// After its end.
    #[error("this code has expired")]
    Ended,
    /// Every use is spent.
    #[error("this code has been used up")]
    UsedUp,
    /// This customer's uses are spent.
    #[error("you have already used this code")]
    UsedByCustomer,
    /// Bound to someone else.
    #[error("this code belongs to another customer")]
    OtherCustomer,
    /// The cart is below the minimum.
    #[error("spend at least {min} to use this code")]
    BelowMinimum {
        /// The minimum subtotal.
        min: Money,
    },
    /// Amounts in another currency than the cart.
    #[error("this code is for another currency")]
    Currency,
    /// A percent outside 1–100, or a fixed amount not above zero.
    #[error("the code's value is invalid")]
    InvalidValue,
}

/// A code as stored and compared: trimmed, upper case, inner spaces and
/// dashes dropped (`mama-20` and `MAMA 20` are `MAMA20`).
pub fn normalize_code(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect()
}

/// A code made from `entropy` (fill it from the operating system's random
/// source): 16 characters of Crockford base 32, after an optional prefix.
pub fn generated_code(prefix: &str, entropy: [u8; GENERATED_CODE_BYTES]) -> String {
    let mut bits: u128 = 0;
    for b in entropy {
        bits = (bits << 8) | u128::from(b);
    }
    let body: String =
        (0..16).rev().map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize])).collect();
    normalize_code(&format!("{prefix}{body}"))
}

/// The amount the code takes off `subtotal` for `customer` at `now`, given
/// how often it was used; never more than the subtotal.
pub fn discount(
    rules: &DiscountRules,
    subtotal: Money,
    customer: CustomerId,
    usage: DiscountUsage,
    now: DateTime<Utc>,
) -> Result<Money, DiscountError> {
    if rules.disabled {
        return Err(DiscountError::Disabled);
    }
    if rules.starts_at.is_some_and(|t| now < t) {
        return Err(DiscountError::NotStarted);
    }
    if rules.ends_at.is_some_and(|t| now >= t) {
        return Err(DiscountError::Ended);
    }
    if rules.customer.is_some_and(|c| c != customer) {
        return Err(DiscountError::OtherCustomer);
    }
    if rules.max_uses.is_some_and(|m| usage.total >= m) {
        return Err(DiscountError::UsedUp);
    }
    if rules.max_uses_per_customer.is_some_and(|m| usage.by_customer >= m) {
        return Err(DiscountError::UsedByCustomer);
    }
    if let Some(min) = rules.min_subtotal {
        if min.currency != subtotal.currency {
            return Err(DiscountError::Currency);
        }
        if subtotal.minor < min.minor {
            return Err(DiscountError::BelowMinimum { min });
        }
    }
    let off = match rules.value {
        DiscountValue::Percent(p) if (1..=100).contains(&p) => {
            // Rounded down to the minor unit, in the customer's favour never
            // by more than the rounding.
            i64::try_from(i128::from(subtotal.minor.max(0)) * i128::from(p) / 100)
                .map_err(|_| DiscountError::InvalidValue)?
        }
        DiscountValue::Fixed(m) if m.minor > 0 => {
            if m.currency != subtotal.currency {
                return Err(DiscountError::Currency);
            }
            m.minor
        }
        _ => return Err(DiscountError::InvalidValue),
    };
    Ok(Money::new(off.min(subtotal.minor.max(0)), subtotal.currency))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::Currency;

    fn at(day: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-12-{day:02}T09:00:00Z")).unwrap().to_utc()
    }

    fn kes(minor: i64) -> Money {
        Money::new(minor, Currency::KES)
    }

    fn rules(value: DiscountValue) -> DiscountRules {
        DiscountRules {
            code: "MAMA20".into(),
            value,
            min_subtotal: None,
            starts_at: None,
            ends_at: None,
            max_uses: None,
            max_uses_per_customer: None,
            customer: None,
            disabled: false,
        }
    }

    #[test]
    fn percent_and_fixed_amounts_never_exceed_the_subtotal() {
        let c = CustomerId::new();
        let none = DiscountUsage::default();
        let off = |r: &DiscountRules, sub| discount(r, kes(sub), c, none, at(1));
        assert_eq!(off(&rules(DiscountValue::Percent(20)), 12345), Ok(kes(2469)));
        assert_eq!(off(&rules(DiscountValue::Percent(100)), 50000), Ok(kes(50000)));
        assert_eq!(off(&rules(DiscountValue::Fixed(kes(10000))), 25000), Ok(kes(10000)));
        assert_eq!(off(&rules(DiscountValue::Fixed(kes(10000))), 6000), Ok(kes(6000)));
        assert_eq!(off(&rules(DiscountValue::Percent(50)), i64::MAX), Ok(kes(i64::MAX / 2)));
        for bad in
            [DiscountValue::Percent(0), DiscountValue::Percent(101), DiscountValue::Fixed(kes(0))]
        {
            assert_eq!(off(&rules(bad), 10000), Err(DiscountError::InvalidValue));
        }
        let usd = rules(DiscountValue::Fixed(Money::new(500, Currency::USD)));
        assert_eq!(off(&usd, 10000), Err(DiscountError::Currency));
    }

    #[test]
    fn each_rule_refuses_with_its_own_reason() {
        let (wanjiku, other) = (CustomerId::new(), CustomerId::new());
        let base = rules(DiscountValue::Percent(10));
        let check = |r: DiscountRules, usage, who, now| discount(&r, kes(100_000), who, usage, now);
        let none = DiscountUsage::default();
        assert_eq!(
            check(DiscountRules { disabled: true, ..base.clone() }, none, wanjiku, at(5)),
            Err(DiscountError::Disabled)
        );
        let window = DiscountRules { starts_at: Some(at(2)), ends_at: Some(at(9)), ..base.clone() };
        assert_eq!(check(window.clone(), none, wanjiku, at(1)), Err(DiscountError::NotStarted));
        assert!(check(window.clone(), none, wanjiku, at(2)).is_ok());
        assert_eq!(check(window, none, wanjiku, at(9)), Err(DiscountError::Ended));
        let single = DiscountRules { max_uses: Some(1), customer: Some(wanjiku), ..base.clone() };
        assert!(check(single.clone(), none, wanjiku, at(5)).is_ok());
        assert_eq!(check(single.clone(), none, other, at(5)), Err(DiscountError::OtherCustomer));
        let spent = DiscountUsage { total: 1, by_customer: 1 };
        assert_eq!(check(single, spent, wanjiku, at(5)), Err(DiscountError::UsedUp));
        let per = DiscountRules { max_uses_per_customer: Some(2), ..base.clone() };
        let twice = DiscountUsage { total: 40, by_customer: 2 };
        assert_eq!(check(per, twice, wanjiku, at(5)), Err(DiscountError::UsedByCustomer));
        let min = DiscountRules { min_subtotal: Some(kes(150_000)), ..base };
        assert_eq!(
            check(min, none, wanjiku, at(5)),
            Err(DiscountError::BelowMinimum { min: kes(150_000) })
        );
    }

    #[test]
    fn codes_are_normalised_and_generated_codes_carry_all_their_entropy() {
        assert_eq!(normalize_code(" mama-20 "), "MAMA20");
        assert_eq!(normalize_code("Mama 20"), "MAMA20");
        assert_eq!(generated_code("", [0; GENERATED_CODE_BYTES]), "0000000000000000");
        assert_eq!(generated_code("", [0xff; GENERATED_CODE_BYTES]), "ZZZZZZZZZZZZZZZZ");
        assert_eq!(generated_code("duka-", [0; GENERATED_CODE_BYTES]), "DUKA0000000000000000");
        // Flipping any one of the 80 bits gives another code.
        let mut seen = HashSet::new();
        seen.insert(generated_code("", [0; GENERATED_CODE_BYTES]));
        for bit in 0..GENERATED_CODE_BYTES * 8 {
            let mut e = [0u8; GENERATED_CODE_BYTES];
            e[bit / 8] = 1 << (bit % 8);
            assert!(seen.insert(generated_code("", e)), "bit {bit} was lost");
        }
        assert!(
            generated_code("", [0xa5; GENERATED_CODE_BYTES]).bytes().all(|b| ALPHABET.contains(&b))
        );
    }
}
