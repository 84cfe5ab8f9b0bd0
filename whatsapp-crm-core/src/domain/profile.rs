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
    pub month: u8,
    /// Day of month, 1–31 (29 February is allowed).
    pub day: u8,
    /// Year of birth, if shared.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
