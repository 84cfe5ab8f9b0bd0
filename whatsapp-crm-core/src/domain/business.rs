//! The business: one tenant of the SDK.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{BusinessId, CommerceSettings, Currency, PhoneNumber, TimeZone, ValidationError};
use crate::policy::KeywordConfig;

/// Longest business name accepted.
pub const BUSINESS_NAME_MAX_CHARS: usize = 120;

/// A business that sells over WhatsApp. Every stored row belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Business {
    /// Tenant id.
    pub id: BusinessId,
    /// Trading name shown to agents.
    pub name: String,
    /// The WhatsApp sender number messages go out from.
    pub whatsapp_sender: PhoneNumber,
    /// Local time zone for schedules, quiet hours and birthdays.
    pub time_zone: TimeZone,
    /// Default currency of prices and orders.
    pub currency: Currency,
    /// Consent keywords and the replies that confirm them.
    #[serde(default)]
    pub keywords: KeywordConfig,
    /// Selling in chat: on or off, payment window, notices, delivery partner.
    #[serde(default)]
    pub commerce: CommerceSettings,
    /// The assistant: on or off, thresholds, hours, handoff, replies.
    #[serde(default)]
    pub assistant: super::AssistantSettings,
    /// When the business was created.
    pub created_at: DateTime<Utc>,
}

/// What a caller supplies to create a business; everything else is derived.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NewBusiness {
    /// Trading name.
    pub name: String,
    /// WhatsApp sender number (any common spelling; stored as E.164).
    pub whatsapp_sender: String,
    /// IANA time zone name.
    pub time_zone: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl NewBusiness {
    /// Validates every field, reporting all problems together.
    pub fn validate(self, now: DateTime<Utc>) -> Result<Business, ValidationError> {
        let mut v = ValidationError::default();
        let name = v.check("name", clean_text(&self.name, BUSINESS_NAME_MAX_CHARS));
        let sender = v.check("whatsapp_sender", PhoneNumber::parse(&self.whatsapp_sender));
        let tz = v.check("time_zone", TimeZone::parse(&self.time_zone));
        let currency = v.check("currency", Currency::parse(&self.currency));
        match (name, sender, tz, currency) {
            (Some(name), Some(whatsapp_sender), Some(time_zone), Some(currency))
                if v.is_empty() =>
            {
                Ok(Business {
                    id: BusinessId::new(),
                    name,
                    whatsapp_sender,
                    time_zone,
                    currency,
                    keywords: KeywordConfig::default(),
                    commerce: CommerceSettings::default(),
                    assistant: Default::default(),
                    created_at: now,
                })
            }
            _ => Err(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_bad_field() {
        let err = NewBusiness {
            name: " ".into(),
            whatsapp_sender: "0712".into(),
            time_zone: "Nairobi".into(),
            currency: "shillings".into(),
        }
        .validate(Utc::now())
        .unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "whatsapp_sender", "time_zone", "currency"]);
    }

    #[test]
    fn builds_a_business() {
        let b = NewBusiness {
            name: "Mama Mboga".into(),
            whatsapp_sender: "+254 700 000 001".into(),
            time_zone: "Africa/Nairobi".into(),
            currency: "kes".into(),
        }
        .validate(Utc::now())
        .unwrap();
        assert_eq!(b.whatsapp_sender.as_str(), "+254700000001");
        assert_eq!(b.currency, Currency::KES);
    }
}
