//! IANA time zones, validated against the bundled tz database.

use std::fmt;

use chrono_tz::Tz;
use serde::{Serialize, Serializer};

/// A name that is not in the IANA time zone database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone: expected an IANA name such as Africa/Nairobi")]
pub struct TimeZoneError;

/// A business's time zone (`Africa/Nairobi`). Quiet hours, birthdays and campaign
/// schedules are evaluated in it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "Africa/Nairobi"))]
pub struct TimeZone(Tz);

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone(Tz::UTC);

    /// Looks a zone up by its IANA name.
    pub fn parse(name: &str) -> Result<Self, TimeZoneError> {
        name.trim().parse::<Tz>().map(Self).map_err(|_| TimeZoneError)
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The chrono-tz zone, for local-time arithmetic.
    pub fn tz(&self) -> Tz {
        self.0
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.name())
    }
}

parse_via!(TimeZone, TimeZoneError);

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iana_names_only() {
        assert_eq!(TimeZone::parse("Africa/Nairobi").unwrap().name(), "Africa/Nairobi");
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert_eq!(serde_json::to_string(&TimeZone::UTC).unwrap(), "\"UTC\"");
    }
}
