//! Customer segmentation: a rule language (JSON and text forms), a compiled
//! in-memory evaluator, and the time thresholds every SQL backend shares so all
//! of them select exactly the same customers.

mod eval;
mod rule;
mod text;
mod time;
mod validate;

/// When and where a rule is evaluated: day windows count back from `now`, and
/// birthdays are read in the business's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentContext {
    /// The evaluation instant.
    pub now: chrono::DateTime<chrono::Utc>,
    /// The business's time zone.
    pub time_zone: crate::domain::TimeZone,
}

pub use eval::{CustomerTable, Program, attr_matches};
pub use rule::{
    AttrLiteral, AttrTest, CmpOp, Comparison, RULE_DAYS_MAX, RULE_LIST_MAX, Rule, TagTest,
};
pub use text::{parse_rule, rule_to_text};
pub use time::{DAY_MICROS, TimeCond, birthday_keys, days_since, within_days};
pub use validate::{RULE_DEPTH_MAX, RULE_SIZE_MAX, RuleError, validate_rule};
