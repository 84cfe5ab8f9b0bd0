//! Customer profile parts: location, birthday, marketing consent, attributes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::ValidationError;
use super::validation::clean_text;

/// Longest city name, in characters.
pub const CITY_MAX_CHARS: usize = 120;

/// Where a customer is, as far as the business knows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    /// ISO 3166-1 alpha-2 country code, upper-case (`KE`).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z]{2}$"))]
    pub country: Option<String>,
    /// City as the customer or business wrote it (`Nairobi`).
    pub city: Option<String>,
}

impl Location {
    pub(crate) fn validate(self, v: &mut ValidationError) -> Option<Location> {
        let country = match self.country {
            None => Some(None),
            Some(c) => {
                let c = c.trim().to_ascii_uppercase();
                if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                    Some(Some(c))
                } else {
                    v.push("location.country", "must be a two-letter ISO 3166 code such as KE");
                    None
                }
            }
        };
        let city = match self.city {
            None => Some(None),
            Some(c) => v.check("location.city", clean_text(&c, CITY_MAX_CHARS)).map(Some),
        };
        Some(Location { country: country?, city: city? })
    }
}

/// A birthday the customer chose to share. The year is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Birthday {
    /// Month, 1–12.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 12))]
    pub month: u8,
    /// Day of month, 1–31 (29 February is allowed).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 31))]
    pub day: u8,
    /// Year of birth, if shared, 1900–2100.
    #[cfg_attr(feature = "openapi", schema(minimum = 1900, maximum = 2100))]
    pub year: Option<u16>,
}

impl Birthday {
    /// Checks that the date exists (in a leap year when no year is given).
    pub fn validate(self) -> Result<Birthday, String> {
        let year = self.year.map_or(2000, i32::from);
        if NaiveDate::from_ymd_opt(year, u32::from(self.month), u32::from(self.day)).is_none() {
            return Err("is not a real date".into());
        }
        if let Some(y) = self.year
            && !(1900..=2100).contains(&y)
        {
            return Err("year must be between 1900 and 2100".into());
        }
        Ok(self)
    }
}

/// Whether the customer agreed to receive marketing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// Never asked or never answered: treated as not opted in.
    #[default]
    Unknown,
    /// Agreed to marketing messages.
    OptedIn,
    /// Refused or withdrew consent.
    OptedOut,
}

/// How a consent change was obtained, kept for audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// Set through the API by the business.
    Api,
    /// Imported from a list.
    Import,
    /// The customer sent a keyword such as STOP or START.
    Keyword,
    /// Ticked at checkout or on a web form.
    Form,
    /// Recorded by an agent in conversation.
    Agent,
    /// The provider reported the customer opted out (e.g. Meta code 131050).
    Provider,
}

/// The marketing-consent record: state, when it last changed, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarketingConsent {
    /// Current state.
    pub status: ConsentStatus,
    /// When the state last changed.
    pub changed_at: Option<DateTime<Utc>>,
    /// How the last change was obtained.
    pub source: Option<ConsentSource>,
}

impl MarketingConsent {
    /// A consent record changed now.
    pub fn set(opted_in: bool, source: ConsentSource, at: DateTime<Utc>) -> Self {
        Self {
            status: if opted_in { ConsentStatus::OptedIn } else { ConsentStatus::OptedOut },
            changed_at: Some(at),
            source: Some(source),
        }
    }

    /// True only after an explicit opt-in.
    pub fn allows_marketing(&self) -> bool {
        self.status == ConsentStatus::OptedIn
    }
}

/// A custom attribute value: text, whole number, decimal number or yes/no.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum AttributeValue {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Number(f64),
    /// Free text.
    Text(String),
}

/// Reads a value by what it is, rather than trying each variant in turn as an
/// untagged enum does: a customer read decodes every attribute, and a failed
/// try costs a formatted error each time.
impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("text, a number, true or false")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AttributeValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AttributeValue::Integer(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v)
                    .map_or(AttributeValue::Number(v as f64), AttributeValue::Integer))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(AttributeValue::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AttributeValue::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(AttributeValue::Text(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::AttributeValue;

    #[test]
    fn attribute_values_read_as_what_they_are() {
        let read: BTreeMap<String, AttributeValue> = serde_json::from_str(
            r#"{"vip": true, "visits": 5, "ratio": 0.25, "tier": "gold", "huge": 18446744073709551615,
                "neg": -3, "five": "5"}"#,
        )
        .unwrap();
        let expected = BTreeMap::from([
            ("vip".to_owned(), AttributeValue::Bool(true)),
            ("visits".to_owned(), AttributeValue::Integer(5)),
            ("ratio".to_owned(), AttributeValue::Number(0.25)),
            ("tier".to_owned(), AttributeValue::Text("gold".into())),
            ("huge".to_owned(), AttributeValue::Number(18_446_744_073_709_551_615.0)),
            ("neg".to_owned(), AttributeValue::Integer(-3)),
            ("five".to_owned(), AttributeValue::Text("5".into())),
        ]);
        assert_eq!(read, expected);
        // What is written reads back the same.
        let again: BTreeMap<String, AttributeValue> =
            serde_json::from_str(&serde_json::to_string(&expected).unwrap()).unwrap();
        assert_eq!(again, expected);
        for bad in ["null", "[1]", r#"{"a": 1}"#] {
            let err = serde_json::from_str::<AttributeValue>(bad).unwrap_err();
            assert!(err.to_string().contains("text, a number, true or false"), "{bad}: {err}");
        }
    }
}
