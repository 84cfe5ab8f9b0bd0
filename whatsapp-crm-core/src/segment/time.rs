//! Day-based conditions as timestamp thresholds. The in-memory evaluator and
//! every SQL backend use these same numbers, so they select the same customers.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::rule::CmpOp;
use crate::domain::TimeZone;

/// Microseconds in a day.
pub const DAY_MICROS: i64 = 86_400_000_000;

/// A test on an optional timestamp (microseconds since the epoch):
/// `lower < t <= upper`, possibly negated, with a fixed answer when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeCond {
    /// Exclusive lower bound.
    pub after: Option<i64>,
    /// Inclusive upper bound.
    pub at_or_before: Option<i64>,
    /// Whether the range test is negated.
    pub negate: bool,
    /// The answer when there is no timestamp.
    pub when_missing: bool,
}

impl TimeCond {
    /// Evaluates the condition.
    pub fn matches(&self, t: Option<i64>) -> bool {
        match t {
            None => self.when_missing,
            Some(t) => {
                let inside =
                    self.after.is_none_or(|a| t > a) && self.at_or_before.is_none_or(|b| t <= b);
                inside != self.negate
            }
        }
    }
}

/// `floor((now - t) / 1 day) op n` as a threshold on `t`. A missing `t` counts
/// as infinitely long ago: `>`, `>=` and `!=` hold, the others do not.
pub fn days_since(op: CmpOp, n: u32, now: DateTime<Utc>) -> TimeCond {
    let now = now.timestamp_micros();
    let n = i64::from(n);
    let edge = |days: i64| now.saturating_sub(days.saturating_mul(DAY_MICROS));
    let (after, at_or_before, negate, when_missing) = match op {
        CmpOp::Le => (Some(edge(n + 1)), None, false, false),
        CmpOp::Lt => (Some(edge(n)), None, false, false),
        CmpOp::Ge => (None, Some(edge(n)), false, true),
        CmpOp::Gt => (None, Some(edge(n + 1)), false, true),
        CmpOp::Eq => (Some(edge(n + 1)), Some(edge(n)), false, false),
        CmpOp::Ne => (Some(edge(n + 1)), Some(edge(n)), true, true),
    };
    TimeCond { after, at_or_before, negate, when_missing }
}

/// Within the last `days` days: `t > now - days`.
pub fn within_days(days: u32, now: DateTime<Utc>) -> TimeCond {
    TimeCond {
        after: Some(
            now.timestamp_micros().saturating_sub(i64::from(days).saturating_mul(DAY_MICROS)),
        ),
        at_or_before: None,
        negate: false,
        when_missing: false,
    }
}

/// Birthdays (`month * 100 + day`) falling within `days` days from today in
/// `tz`, today included. A 29 February birthday counts on 28 February in
/// years without one.
pub fn birthday_keys(days: u32, now: DateTime<Utc>, tz: TimeZone) -> Vec<u16> {
    let today = now.with_timezone(&tz.tz()).date_naive();
    let span = i64::from(days.min(366));
    let mut keys: Vec<u16> = (0..span)
        .filter_map(|i| today.checked_add_signed(Duration::days(i)))
        .flat_map(|d| {
            let key = (d.month() * 100 + d.day()) as u16;
            let leap = NaiveDate::from_ymd_opt(d.year(), 2, 29).is_some();
            if key == 228 && !leap { vec![228, 229] } else { vec![key] }
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> Option<i64> {
        Some(day * DAY_MICROS)
    }

    #[test]
    fn days_since_matches_whole_days() {
        let now = DateTime::from_timestamp_micros(100 * DAY_MICROS + 5).unwrap();
        // t at day 70 → 30 whole days ago (plus 5 µs).
        let cases = [
            (CmpOp::Le, 30, true),
            (CmpOp::Lt, 30, false),
            (CmpOp::Eq, 30, true),
            (CmpOp::Ne, 30, false),
            (CmpOp::Ge, 30, true),
            (CmpOp::Gt, 30, false),
            (CmpOp::Gt, 29, true),
            (CmpOp::Le, 29, false),
        ];
        for (op, n, expected) in cases {
            assert_eq!(days_since(op, n, now).matches(at(70)), expected, "{op:?} {n}");
        }
        assert!(days_since(CmpOp::Ge, 5, now).matches(None));
        assert!(!days_since(CmpOp::Le, 5, now).matches(None));
    }

    #[test]
    fn birthday_window_wraps_the_year_and_keeps_leap_birthdays() {
        let tz = TimeZone::UTC;
        let dec30 = DateTime::parse_from_rfc3339("2025-12-30T10:00:00Z").unwrap().to_utc();
        assert_eq!(birthday_keys(4, dec30, tz), [101, 102, 1230, 1231]);
        let feb27 = DateTime::parse_from_rfc3339("2025-02-27T10:00:00Z").unwrap().to_utc();
        assert_eq!(birthday_keys(3, feb27, tz), [227, 228, 229, 301]);
        let nairobi = TimeZone::parse("Africa/Nairobi").unwrap();
        let late = DateTime::parse_from_rfc3339("2026-04-11T22:30:00Z").unwrap().to_utc();
        assert_eq!(birthday_keys(1, late, nairobi), [412], "it is already the 12th in Nairobi");
    }
}
