//! Business hours: several opening ranges per weekday, ranges that run past
//! midnight, and closed days (holidays and closures), read in the
//! business's IANA time zone.
//!
//! A range opens inclusively and closes exclusively: `08:00-18:00` is open
//! at 08:00:00 and closed at 18:00:00. A range whose close is not after its
//! open runs into the next day (`20:00-02:00`; `00:00-24:00` is the whole
//! day). A range belongs to the day it opens on: a closed day closes the
//! ranges that open on it, while a range from the evening before still
//! runs into it.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone as _, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::TimeZone;

/// Most ranges one day may have.
pub const RANGES_PER_DAY_MAX: usize = 6;
/// Most closed-day entries.
pub const CLOSED_DAYS_MAX: usize = 100;
/// How far ahead the next opening is looked for.
const LOOKAHEAD_DAYS: i64 = 14;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Day {
    /// The weekday of a date.
    pub fn of(date: NaiveDate) -> Self {
        match date.weekday() {
            chrono::Weekday::Mon => Day::Mon,
            chrono::Weekday::Tue => Day::Tue,
            chrono::Weekday::Wed => Day::Wed,
            chrono::Weekday::Thu => Day::Thu,
            chrono::Weekday::Fri => Day::Fri,
            chrono::Weekday::Sat => Day::Sat,
            chrono::Weekday::Sun => Day::Sun,
        }
    }
}

/// One opening range, written `HH:MM-HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "08:00-18:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))]
pub struct TimeRange(Span);

/// Minutes after midnight of the opening day: it opens at `open` and closes
/// at `close` (past 1,440 for a range that runs into the next day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    open: u32,
    close: u32,
}

/// Why business hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HoursError {
    /// A range is not `HH:MM-HH:MM`.
    #[error("`{0}` is not a range like 08:00-18:00")]
    Range(String),
    /// Two ranges of one day overlap.
    #[error("{0:?} has overlapping ranges")]
    Overlap(Day),
    /// Too many ranges in a day.
    #[error("{0:?} has more than {RANGES_PER_DAY_MAX} ranges")]
    TooManyRanges(Day),
    /// A closed day is not `YYYY-MM-DD` or `MM-DD`, or ends before it starts.
    #[error("closed days: {0}")]
    Closed(String),
}

fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl TimeRange {
    /// Reads `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<Self, HoursError> {
        let bad = || HoursError::Range(text.chars().take(40).collect());
        let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
        let (open, close) =
            (minutes(a.trim()).ok_or_else(bad)?, minutes(b.trim()).ok_or_else(bad)?);
        if open == 24 * 60 {
            return Err(bad());
        }
        let close = if close <= open { close + 24 * 60 } else { close };
        Ok(Self(Span { open, close }))
    }

    /// Whether `minute` (after midnight of the opening day, past 1,440 for
    /// the next day) is inside.
    fn contains(&self, minute: u32) -> bool {
        self.0.open <= minute && minute < self.0.close
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Span { open, close } = self.0;
        let close = if close == 24 * 60 { close } else { close % (24 * 60) };
        write!(f, "{:02}:{:02}-{:02}:{:02}", open / 60, open % 60, close / 60, close % 60)
    }
}

impl Serialize for TimeRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TimeRange::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Days the business is closed: one date, a run of dates, or a date every
/// year (`MM-DD`, for fixed holidays such as Jamhuri Day, `12-12`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClosedDays {
    /// `YYYY-MM-DD`, or `MM-DD` for every year.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-25", max_length = 10))]
    pub date: String,
    /// The last closed day of a run, in the same form; one day if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 10))]
    pub until: Option<String>,
    /// What it is (`Christmas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 80))]
    pub name: Option<String>,
}

/// A date as `ClosedDays` writes it: a day of one year, or of every year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum When {
    Once(NaiveDate),
    Yearly(u32, u32),
}

fn when(text: &str) -> Option<When> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(When::Once(d));
    }
    let (m, d) = t.split_once('-')?;
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    // 2024 is a leap year, so 02-29 is a real every-year date.
    NaiveDate::from_ymd_opt(2024, m, d).map(|_| When::Yearly(m, d))
}

impl ClosedDays {
    fn span(&self) -> Result<(When, When), HoursError> {
        let bad = |why: &str| HoursError::Closed(format!("{why}: {}", self.date));
        let from = when(&self.date).ok_or_else(|| bad("not YYYY-MM-DD or MM-DD"))?;
        let to = match &self.until {
            Some(u) => when(u).ok_or_else(|| bad("`until` is not YYYY-MM-DD or MM-DD"))?,
            None => from,
        };
        match (from, to) {
            (When::Once(a), When::Once(b)) if a <= b => Ok((from, to)),
            // A yearly run may wrap the new year (12-24 to 01-02).
            (When::Yearly(..), When::Yearly(..)) => Ok((from, to)),
            _ => Err(bad("`until` must be the same form and not before `date`")),
        }
    }

    /// Whether `date` falls in these closed days.
    pub fn covers(&self, date: NaiveDate) -> bool {
        match self.span() {
            Ok((When::Once(a), When::Once(b))) => a <= date && date <= b,
            Ok((When::Yearly(am, ad), When::Yearly(bm, bd))) => {
                let md = (date.month(), date.day());
                if (am, ad) <= (bm, bd) {
                    (am, ad) <= md && md <= (bm, bd)
                } else {
                    md >= (am, ad) || md <= (bm, bd)
                }
            }
            _ => false,
        }
    }
}

/// When a business is open.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Opening ranges by weekday; a day not listed is closed.
    #[serde(default)]
    pub weekly: BTreeMap<Day, Vec<TimeRange>>,
    /// Holidays and closures.
    #[serde(default)]
    pub closed: Vec<ClosedDays>,
}

impl BusinessHours {
    /// Checks ranges and closed days.
    pub fn validate(&self) -> Result<(), HoursError> {
        for (day, ranges) in &self.weekly {
            if ranges.len() > RANGES_PER_DAY_MAX {
                return Err(HoursError::TooManyRanges(*day));
            }
            let mut sorted = ranges.clone();
            sorted.sort_by_key(|r| r.0.open);
            if sorted.windows(2).any(|w| w[1].0.open < w[0].0.close) {
                return Err(HoursError::Overlap(*day));
            }
        }
        if self.closed.len() > CLOSED_DAYS_MAX {
            return Err(HoursError::Closed(format!("more than {CLOSED_DAYS_MAX} entries")));
        }
        self.closed.iter().try_for_each(|c| c.span().map(|_| ()))
    }

    fn closed_on(&self, date: NaiveDate) -> bool {
        self.closed.iter().any(|c| c.covers(date))
    }

    fn ranges_opening(&self, date: NaiveDate) -> &[TimeRange] {
        if self.closed_on(date) {
            return &[];
        }
        self.weekly.get(&Day::of(date)).map_or(&[], Vec::as_slice)
    }

    /// Whether the business is open at `at`.
    pub fn is_open(&self, tz: TimeZone, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&tz.tz()).naive_local();
        let (date, minute) = (local.date(), local.time().hour() * 60 + local.time().minute());
        if self.ranges_opening(date).iter().any(|r| r.contains(minute)) {
            return true;
        }
        // Yesterday's overnight ranges reach into today.
        date.pred_opt()
            .is_some_and(|y| self.ranges_opening(y).iter().any(|r| r.contains(minute + 24 * 60)))
    }

    /// When the business next opens after `at` (within two weeks); `at`
    /// itself when it is open.
    pub fn next_open(&self, tz: TimeZone, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(tz, at) {
            return Some(at);
        }
        let today = at.with_timezone(&tz.tz()).date_naive();
        (0..=LOOKAHEAD_DAYS).find_map(|ahead| {
            let date = today + Duration::days(ahead);
            let mut opens: Vec<u32> = self.ranges_opening(date).iter().map(|r| r.0.open).collect();
            opens.sort_unstable();
            opens.into_iter().find_map(|m| {
                let time = NaiveTime::from_hms_opt(m / 60, m % 60, 0)?;
                // A time skipped by a clock change opens at the first real
                // instant after it.
                let local = tz.tz().from_local_datetime(&date.and_time(time));
                let start = local.earliest().or_else(|| {
                    tz.tz()
                        .from_local_datetime(&(date.and_time(time) + Duration::hours(1)))
                        .earliest()
                })?;
                let start = start.with_timezone(&Utc);
                (start > at).then_some(start)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn hours(json: &str) -> BusinessHours {
        let h: BusinessHours = serde_json::from_str(json).unwrap();
        h.validate().unwrap();
        h
    }

    fn nairobi() -> TimeZone {
        TimeZone::parse("Africa/Nairobi").unwrap()
    }

    /// A Nairobi local time as UTC (Nairobi is UTC+3 all year).
    fn eat(date: &str, time: &str) -> DateTime<Utc> {
        let local =
            chrono::NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S")
                .unwrap();
        nairobi().tz().from_local_datetime(&local).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn open_is_inclusive_and_close_exclusive() {
        // 2026-12-07 is a Monday.
        let h = hours(r#"{"weekly": {"mon": ["08:00-12:30", "14:00-18:00"]}}"#);
        let open = |t| h.is_open(nairobi(), eat("2026-12-07", t));
        assert!(!open("07:59:59"));
        assert!(open("08:00:00"), "opening minute is open");
        assert!(open("12:29:59"));
        assert!(!open("12:30:00"), "closing minute is closed");
        assert!(!open("13:59:59"));
        assert!(open("14:00:00"));
        assert!(!open("18:00:00"));
        assert!(!h.is_open(nairobi(), eat("2026-12-08", "09:00:00")), "Tuesday is not listed");
    }

    #[test]
    fn ranges_run_past_midnight() {
        let h = hours(r#"{"weekly": {"fri": ["20:00-02:00"], "sun": ["00:00-24:00"]}}"#);
        let tz = nairobi();
        // Friday 2026-12-11 evening into Saturday morning.
        assert!(!h.is_open(tz, eat("2026-12-11", "19:59:59")));
        assert!(h.is_open(tz, eat("2026-12-11", "20:00:00")));
        assert!(h.is_open(tz, eat("2026-12-11", "23:59:59")));
        assert!(h.is_open(tz, eat("2026-12-12", "00:00:00")));
        assert!(h.is_open(tz, eat("2026-12-12", "01:59:59")));
        assert!(!h.is_open(tz, eat("2026-12-12", "02:00:00")));
        // Sunday all day, to the last second.
        assert!(h.is_open(tz, eat("2026-12-13", "00:00:00")));
        assert!(h.is_open(tz, eat("2026-12-13", "23:59:59")));
        assert!(!h.is_open(tz, eat("2026-12-14", "00:00:00")));
        assert_eq!(TimeRange::parse("20:00-02:00").unwrap().to_string(), "20:00-02:00");
        assert_eq!(TimeRange::parse("00:00-24:00").unwrap().to_string(), "00:00-24:00");
    }

    #[test]
    fn closed_days_close_the_ranges_that_open_on_them() {
        let h = hours(
            r#"{"weekly": {"fri": ["20:00-02:00"], "sat": ["09:00-13:00"]},
                "closed": [{"date": "12-12", "name": "Jamhuri Day"}, {"date": "2026-12-25", "until": "2026-12-26"}]}"#,
        );
        let tz = nairobi();
        // Saturday 2026-12-12 is Jamhuri Day: its own range stays shut, but
        // Friday night's range still runs into it.
        assert!(h.is_open(tz, eat("2026-12-12", "01:00:00")));
        assert!(!h.is_open(tz, eat("2026-12-12", "10:00:00")));
        assert!(h.is_open(tz, eat("2026-12-19", "10:00:00")), "an ordinary Saturday");
        // Christmas Friday opens nothing, so nothing runs into Saturday.
        assert!(!h.is_open(tz, eat("2026-12-25", "21:00:00")));
        assert!(!h.is_open(tz, eat("2026-12-26", "01:00:00")));
    }

    #[test]
    fn next_opening_and_clock_changes() {
        let h = hours(
            r#"{"weekly": {"mon": ["08:00-17:00"], "tue": ["08:00-17:00"]}, "closed": [{"date": "2026-12-08"}]}"#,
        );
        let tz = nairobi();
        assert_eq!(
            h.next_open(tz, eat("2026-12-07", "07:00:00")),
            Some(eat("2026-12-07", "08:00:00"))
        );
        // Tuesday is closed; next Monday.
        assert_eq!(
            h.next_open(tz, eat("2026-12-07", "17:00:00")),
            Some(eat("2026-12-14", "08:00:00"))
        );
        let at = eat("2026-12-07", "09:00:00");
        assert_eq!(h.next_open(tz, at), Some(at));
        assert_eq!(BusinessHours::default().next_open(tz, at), None, "never open");
        // London springs forward at 01:00 on 2027-03-28 (a Sunday): a range
        // opening at 01:30 that day opens at 02:30 BST, i.e. 01:30 UTC.
        let london = TimeZone::parse("Europe/London").unwrap();
        let h = hours(r#"{"weekly": {"sun": ["01:30-05:00"]}}"#);
        let before = Utc.with_ymd_and_hms(2027, 3, 28, 0, 0, 0).unwrap();
        assert_eq!(
            h.next_open(london, before),
            Some(Utc.with_ymd_and_hms(2027, 3, 28, 1, 30, 0).unwrap())
        );
        assert!(h.is_open(london, Utc.with_ymd_and_hms(2027, 3, 28, 1, 45, 0).unwrap()));
    }

    #[test]
    fn bad_hours_are_refused() {
        let bad = |json: &str| {
            serde_json::from_str::<BusinessHours>(json)
                .map_err(|e| e.to_string())
                .and_then(|h| h.validate().map_err(|e| e.to_string()))
        };
        assert!(bad(r#"{"weekly": {"mon": ["8-17"]}}"#).is_err());
        assert!(bad(r#"{"weekly": {"mon": ["08:00-25:00"]}}"#).is_err());
        assert!(bad(r#"{"weekly": {"mon": ["24:00-02:00"]}}"#).is_err());
        assert!(bad(r#"{"weekly": {"mon": ["08:00-12:00", "11:00-13:00"]}}"#).is_err());
        assert!(
            bad(r#"{"weekly": {"mon": ["20:00-02:00", "01:00-03:00"]}}"#).is_ok(),
            "the overnight range ends on Tuesday"
        );
        assert!(bad(r#"{"weekly": {"funday": []}}"#).is_err());
        assert!(bad(r#"{"closed": [{"date": "2026-13-01"}]}"#).is_err());
        assert!(bad(r#"{"closed": [{"date": "2026-12-26", "until": "2026-12-25"}]}"#).is_err());
        assert!(
            bad(r#"{"closed": [{"date": "12-24", "until": "01-02"}]}"#).is_ok(),
            "wraps the new year"
        );
        assert!(bad(r#"{"closed": [{"date": "02-29"}]}"#).is_ok());
    }
}
