//! Money as integer minor units of an ISO 4217 currency: no floating point anywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A currency code that is not three ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency must be a three-letter ISO 4217 code such as KES")]
pub struct CurrencyError;

/// An ISO 4217 currency code, stored upper-case (`KES`, `USD`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "KES"))]
#[serde(into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Kenyan shilling.
    pub const KES: Currency = Currency(*b"KES");
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a three-letter code, case-insensitively.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase(), c.to_ascii_uppercase()]))
            }
            _ => Err(CurrencyError),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217 minor unit); 2 unless listed.
    pub fn minor_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"UGX" | b"RWF" | b"XAF" | b"XOF" | b"VND" | b"CLP" | b"ISK" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"LYD" | b"IQD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

parse_via!(Currency, CurrencyError);

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

/// Arithmetic across currencies, or past the range of `i64`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts in different currencies were combined.
    #[error("cannot combine {left} and {right} amounts")]
    CurrencyMismatch {
        /// Currency of the left operand.
        left: Currency,
        /// Currency of the right operand.
        right: Currency,
    },
    /// The result does not fit.
    #[error("amount overflows")]
    Overflow,
}

/// An amount in minor units (cents) of a currency: KES 10,000.00 is `Money::new(1_000_000, KES)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    /// Amount in minor units; negative for refunds and credits.
    pub minor: i64,
    /// ISO 4217 currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in minor units.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            });
        }
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }

    /// Multiplies by a quantity.
    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }
}

/// Formats as `KES 1,250.50`, the way a receipt shows it.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        let scale = 10u64.pow(digits);
        let abs = self.minor.unsigned_abs();
        let (major, minor) = (abs / scale, abs % scale);
        let sign = if self.minor < 0 { "-" } else { "" };
        let major = major.to_string();
        let mut grouped = String::with_capacity(major.len() + major.len() / 3);
        for (i, c) in major.chars().enumerate() {
            if i > 0 && (major.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if digits == 0 {
            write!(f, "{} {sign}{grouped}", self.currency)
        } else {
            write!(f, "{} {sign}{grouped}.{minor:0width$}", self.currency, width = digits as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_parses_and_round_trips() {
        assert_eq!(Currency::parse("kes").unwrap(), Currency::KES);
        assert!(Currency::parse("KE").is_err());
        assert!(Currency::parse("K3S").is_err());
        assert_eq!(serde_json::to_string(&Currency::KES).unwrap(), "\"KES\"");
        assert!(serde_json::from_str::<Currency>("\"usd\"").is_ok());
    }

    #[test]
    fn money_formats_like_a_receipt() {
        assert_eq!(Money::new(125_050, Currency::KES).to_string(), "KES 1,250.50");
        assert_eq!(Money::new(-5, Currency::USD).to_string(), "USD -0.05");
        let ugx = Currency::parse("UGX").unwrap();
        assert_eq!(Money::new(1_000_000, ugx).to_string(), "UGX 1,000,000");
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies_and_overflow() {
        let kes = Money::new(100, Currency::KES);
        assert!(kes.checked_add(Money::new(1, Currency::USD)).is_err());
        assert_eq!(kes.checked_mul(3).unwrap().minor, 300);
        assert_eq!(Money::new(i64::MAX, Currency::KES).checked_mul(2), Err(MoneyError::Overflow));
    }
}
