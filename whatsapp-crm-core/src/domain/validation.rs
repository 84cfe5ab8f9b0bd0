//! Field-level validation errors, collected so a caller sees every problem at once.

use std::fmt;

use serde::Serialize;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Path of the field, e.g. `phone` or `tags[2]`.
    pub field: String,
    /// What is wrong, in words a business owner understands.
    pub message: String,
    /// Stable code of the rule broken, where there is one (`body_ends_with_variable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// 1-based character position within the field, where one place is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

/// Every problem found in one input. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct ValidationError {
    /// The problems, in field order.
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    /// An error about one field.
    pub fn field(field: impl Into<String>, message: impl ToString) -> Self {
        let mut v = Self::default();
        v.push(field, message);
        v
    }

    /// Records a problem.
    pub fn push(&mut self, field: impl Into<String>, message: impl ToString) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.to_string(),
            code: None,
            position: None,
        });
    }

    /// Records the error of a fallible step and returns its value, if any.
    pub fn check<T, E: ToString>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.push(field, e)).ok()
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationError> {
        if self.errors.is_empty() { Ok(value()) } else { Err(self) }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid input: ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// Checks a free-text field: trimmed, not empty, at most `max` characters.
pub(crate) fn clean_text(value: &str, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(format!("must be at most {max} characters, got {chars}"));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem() {
        let mut v = ValidationError::default();
        v.push("phone", "bad");
        let name = v.check("name", clean_text("  ", 10));
        assert!(name.is_none());
        let err = v.into_result(|| ()).unwrap_err();
        assert_eq!(err.errors.len(), 2);
        assert_eq!(err.to_string(), "invalid input: phone: bad; name: must not be empty");
    }

    #[test]
    fn clean_text_limits_length_in_characters() {
        assert_eq!(clean_text(" Wanjiku ", 7).unwrap(), "Wanjiku");
        assert!(clean_text("Wanjikuu", 7).is_err());
        assert_eq!(clean_text("Zoë", 3).unwrap(), "Zoë");
        assert!(clean_text("a\u{0}b", 10).is_err());
    }
}
