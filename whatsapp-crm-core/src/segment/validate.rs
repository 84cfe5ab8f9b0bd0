//! Limits every rule must respect, whichever form it arrived in.

use std::fmt;

use super::rule::{AttrLiteral, AttrTest, RULE_DAYS_MAX, RULE_LIST_MAX, Rule, TagTest};

/// Most conditions and groups in one rule.
pub const RULE_SIZE_MAX: usize = 200;
/// Deepest nesting of groups.
pub const RULE_DEPTH_MAX: usize = 16;

/// Why a rule was refused: where (a 1-based column of the text form, or a path
/// into the JSON form) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// Column in the text form; 0 for rules given as JSON.
    pub column: usize,
    /// Path in the JSON form (`and[1].days`); empty for text syntax errors.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl RuleError {
    pub(crate) fn at(column: usize, message: impl Into<String>) -> Self {
        Self { column, path: String::new(), message: message.into() }
    }

    fn path(path: &str, message: impl Into<String>) -> Self {
        Self { column: 0, path: path.to_owned(), message: message.into() }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.column, self.path.is_empty()) {
            (0, true) => f.write_str(&self.message),
            (0, false) => write!(f, "{}: {}", self.path, self.message),
            (c, _) => write!(f, "column {c}: {}", self.message),
        }
    }
}

/// Checks sizes, ranges and formats.
pub fn validate_rule(rule: &Rule) -> Result<(), RuleError> {
    if rule.size() > RULE_SIZE_MAX {
        return Err(RuleError::path(
            "",
            format!("a rule may have at most {RULE_SIZE_MAX} conditions"),
        ));
    }
    check(rule, "", 0)
}

fn days(path: &str, d: u32) -> Result<(), RuleError> {
    if d == 0 || d > RULE_DAYS_MAX {
        return Err(RuleError::path(path, format!("days must be 1 to {RULE_DAYS_MAX}")));
    }
    Ok(())
}

fn list<T>(path: &str, items: &[T]) -> Result<(), RuleError> {
    if items.is_empty() || items.len() > RULE_LIST_MAX {
        return Err(RuleError::path(path, format!("give 1 to {RULE_LIST_MAX} values")));
    }
    Ok(())
}

fn check(rule: &Rule, path: &str, depth: usize) -> Result<(), RuleError> {
    if depth > RULE_DEPTH_MAX {
        return Err(RuleError::path(
            path,
            format!("groups may nest at most {RULE_DEPTH_MAX} deep"),
        ));
    }
    let sub = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    match rule {
        Rule::And(parts) | Rule::Or(parts) => {
            let name = if matches!(rule, Rule::And(_)) { "and" } else { "or" };
            if parts.is_empty() {
                return Err(RuleError::path(&sub(name), "a group needs at least one rule"));
            }
            for (i, p) in parts.iter().enumerate() {
                check(p, &format!("{}[{i}]", sub(name)), depth + 1)?;
            }
            Ok(())
        }
        Rule::Not(inner) => check(inner, &sub("not"), depth + 1),
        Rule::Tag(TagTest::Has(_)) => Ok(()),
        Rule::Tag(TagTest::Any(t) | TagTest::All(t) | TagTest::None(t)) => list(&sub("tag"), t),
        Rule::OrdersLast { days: d, .. } => days(&sub("orders_last.days"), *d),
        Rule::Active { days: d }
        | Rule::Inactive { days: d }
        | Rule::BirthdayWithin { days: d } => days(&sub("days"), *d),
        Rule::Country(codes) => {
            list(&sub("country"), codes)?;
            match codes
                .iter()
                .find(|c| !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())))
            {
                Some(_) => Err(RuleError::path(
                    &sub("country"),
                    "use two-letter upper-case country codes such as KE",
                )),
                None => Ok(()),
            }
        }
        Rule::City(cities) => {
            list(&sub("city"), cities)?;
            match cities.iter().any(|c| c.trim().is_empty()) {
                true => Err(RuleError::path(&sub("city"), "city names cannot be empty")),
                false => Ok(()),
            }
        }
        Rule::BirthdayMonth(m) if !(1..=12).contains(m) => {
            Err(RuleError::path(&sub("birthday_month"), "months are 1 to 12"))
        }
        Rule::Engagement(c) if c.value > 100 => {
            Err(RuleError::path(&sub("engagement"), "scores are 0 to 100"))
        }
        Rule::Attribute { key, test } => {
            let key_ok = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                return Err(RuleError::path(
                    &sub("attribute.key"),
                    "attribute keys use a-z, 0-9 and _",
                ));
            }
            match test {
                AttrTest::Compare(c) if matches!(c.value, AttrLiteral::Number(n) if !n.is_finite()) => {
                    Err(RuleError::path(&sub("attribute.value"), "numbers must be finite"))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
