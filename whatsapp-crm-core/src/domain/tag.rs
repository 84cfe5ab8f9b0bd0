//! Customer tags: short, case-insensitive labels such as `vip` or `wholesale`.

use std::fmt;

use serde::Serialize;

/// Longest tag accepted, in characters.
pub const TAG_MAX_CHARS: usize = 64;

/// Why a tag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// Empty after trimming.
    #[error("tag must not be empty")]
    Empty,
    /// Longer than [`TAG_MAX_CHARS`].
    #[error("tag must be at most {TAG_MAX_CHARS} characters")]
    TooLong,
    /// Contains something other than letters, digits and `-_.:/`.
    #[error("tag may contain only letters, digits and - _ . : /")]
    InvalidCharacter,
}

/// A normalised tag: trimmed and lower-cased, so `VIP` and `vip` are one tag.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "vip", pattern = r"^[\w.:/-]{1,64}$"))]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// Validates and normalises a tag.
    pub fn parse(raw: &str) -> Result<Self, TagError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(TagError::Empty);
        }
        if t.chars().count() > TAG_MAX_CHARS {
            return Err(TagError::TooLong);
        }
        if !t.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/')) {
            return Err(TagError::InvalidCharacter);
        }
        Ok(Self(t.to_lowercase()))
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.0)
    }
}

parse_via!(Tag, TagError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(Tag::parse("  VIP ").unwrap().as_str(), "vip");
        assert_eq!(Tag::parse("Nairobi:CBD").unwrap().as_str(), "nairobi:cbd");
        assert_eq!(Tag::parse(""), Err(TagError::Empty));
        assert_eq!(Tag::parse("big spender"), Err(TagError::InvalidCharacter));
        assert_eq!(Tag::parse(&"x".repeat(65)), Err(TagError::TooLong));
    }
}
