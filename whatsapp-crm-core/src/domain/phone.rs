//! E.164 phone numbers, the only form in which the SDK stores or sends a number.

use std::fmt;

use serde::Serialize;

/// Most digits an E.164 number may have (ITU-T E.164, section 6).
pub const E164_MAX_DIGITS: usize = 15;
/// Fewest digits accepted: the shortest numbers in use (country code + subscriber number).
pub const E164_MIN_DIGITS: usize = 7;

/// Why a phone number was refused. The number itself is never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// Nothing was given.
    #[error("phone number is empty")]
    Empty,
    /// The number does not start with `+` and a country code.
    #[error("phone number must start with + and the country code (E.164)")]
    MissingPlus,
    /// The country code starts with 0.
    #[error("phone number country code cannot start with 0")]
    LeadingZero,
    /// A character other than digits and the usual separators.
    #[error("phone number has an invalid character at position {position}")]
    InvalidCharacter {
        /// 1-based character position in the input.
        position: usize,
    },
    /// Fewer digits than any real number has.
    #[error("phone number is too short: {digits} digits, at least {E164_MIN_DIGITS} expected")]
    TooShort {
        /// Digits found.
        digits: usize,
    },
    /// More digits than E.164 allows.
    #[error("phone number is too long: {digits} digits, at most {E164_MAX_DIGITS} allowed")]
    TooLong {
        /// Digits found.
        digits: usize,
    },
}

/// A validated E.164 phone number such as `+254712345678`.
///
/// Parsing accepts what people type and providers send: spaces, dashes, dots and
/// parentheses are dropped, a leading `00` counts as `+`, and Twilio's `whatsapp:`
/// prefix is removed.
///
/// ```
/// use whatsapp_crm_core::PhoneNumber;
/// let phone: PhoneNumber = "whatsapp:+254 712-345 678".parse().unwrap();
/// assert_eq!(phone.as_str(), "+254712345678");
/// assert!("0712345678".parse::<PhoneNumber>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "+254712345678", pattern = r"^\+[1-9][0-9]{6,14}$"))]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses and normalises a phone number.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_prefix("whatsapp:").unwrap_or(trimmed).trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (rest, offset) = if let Some(rest) = trimmed.strip_prefix('+') {
            (rest, 1)
        } else if let Some(rest) = trimmed.strip_prefix("00") {
            (rest, 2)
        } else {
            return Err(PhoneError::MissingPlus);
        };
        let mut out = String::with_capacity(E164_MAX_DIGITS + 1);
        out.push('+');
        for (i, c) in rest.chars().enumerate() {
            match c {
                '0'..='9' => out.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(PhoneError::InvalidCharacter { position: i + offset + 1 });
                }
            }
        }
        let digits = out.len() - 1;
        if digits == 0 {
            return Err(PhoneError::Empty);
        }
        if out.as_bytes()[1] == b'0' {
            return Err(PhoneError::LeadingZero);
        }
        if digits < E164_MIN_DIGITS {
            return Err(PhoneError::TooShort { digits });
        }
        if digits > E164_MAX_DIGITS {
            return Err(PhoneError::TooLong { digits });
        }
        Ok(Self(out))
    }

    /// The number as `+` followed by digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number in the `whatsapp:+…` form Twilio's WhatsApp API expects.
    pub fn to_whatsapp_address(&self) -> String {
        format!("whatsapp:{}", self.0)
    }
}

parse_via!(PhoneNumber, PhoneError);

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug masks all but the last three digits so numbers stay out of logs.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(3)..];
        write!(f, "PhoneNumber(+…{tail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings() {
        for input in [
            "+254712345678",
            "whatsapp:+254712345678",
            " +254 712 345 678 ",
            "00254712345678",
            "+254 (712) 345-678",
        ] {
            assert_eq!(PhoneNumber::parse(input).unwrap().as_str(), "+254712345678", "{input}");
        }
    }

    #[test]
    fn refuses_bad_numbers_with_a_reason() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("+"), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("0712345678"), Err(PhoneError::MissingPlus));
        assert_eq!(PhoneNumber::parse("+0712345678"), Err(PhoneError::LeadingZero));
        assert_eq!(
            PhoneNumber::parse("+2547x2345678"),
            Err(PhoneError::InvalidCharacter { position: 6 })
        );
        assert_eq!(PhoneNumber::parse("+12345"), Err(PhoneError::TooShort { digits: 5 }));
        assert_eq!(
            PhoneNumber::parse("+1234567890123456"),
            Err(PhoneError::TooLong { digits: 16 })
        );
    }

    #[test]
    fn debug_and_errors_hide_the_number() {
        let phone = PhoneNumber::parse("+254712345678").unwrap();
        assert_eq!(format!("{phone:?}"), "PhoneNumber(+…678)");
        let err = PhoneNumber::parse("+2547123456789999").unwrap_err();
        assert!(!err.to_string().contains("254"));
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<PhoneNumber>("\"+254712345678\"").is_ok());
        let err = serde_json::from_str::<PhoneNumber>("\"12\"").unwrap_err();
        assert!(err.to_string().contains("must start with +"));
    }
}
