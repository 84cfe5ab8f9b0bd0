//! Campaigns: a broadcast that runs on a schedule, once or by a cron
//! expression in the business's time zone, each occurrence a broadcast run.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Audience, AutoPause, BusinessId, CampaignId, TemplateId, TimeZone};

/// The shortest time a schedule may leave between two runs: marketing more
/// often than this is spam, whatever the frequency cap says.
pub const CAMPAIGN_MIN_INTERVAL_MINUTES: i64 = 60;

/// When a campaign runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// Once, at a time.
    Once {
        /// When.
        at: DateTime<Utc>,
    },
    /// By a 5-field cron expression (`0 9 * * MON`) in the business's time
    /// zone. Daylight saving is handled: a time skipped by the clocks going
    /// forward runs right after the gap, one repeated by the clocks going
    /// back runs once.
    Cron {
        /// The expression.
        expression: String,
    },
}

impl Schedule {
    fn cron(expression: &str) -> Result<croner::Cron, String> {
        if expression.split_whitespace().count() != 5 {
            return Err("give five fields: minute hour day-of-month month day-of-week".into());
        }
        croner::Cron::from_str(expression).map_err(|e| e.to_string())
    }

    /// Checks the schedule; a cron must not run more often than
    /// [`CAMPAIGN_MIN_INTERVAL_MINUTES`].
    pub fn validate(&self, now: DateTime<Utc>, tz: TimeZone) -> Result<(), String> {
        match self {
            Self::Once { at } if *at < now - Duration::minutes(1) => Err("is in the past".into()),
            Self::Once { .. } => Ok(()),
            Self::Cron { expression } => {
                Self::cron(expression)?;
                let mut t = now;
                let mut previous = None;
                for _ in 0..24 {
                    let Some(next) = self.next_after(t, tz) else {
                        return if previous.is_some() { Ok(()) } else { Err("never runs".into()) };
                    };
                    if previous.is_some_and(|p| {
                        next - p < Duration::minutes(CAMPAIGN_MIN_INTERVAL_MINUTES)
                    }) {
                        return Err(format!(
                            "runs more often than once every {CAMPAIGN_MIN_INTERVAL_MINUTES} minutes"
                        ));
                    }
                    previous = Some(next);
                    t = next;
                }
                Ok(())
            }
        }
    }

    /// The first run strictly after `after`, if any.
    pub fn next_after(&self, after: DateTime<Utc>, tz: TimeZone) -> Option<DateTime<Utc>> {
        match self {
            Self::Once { at } => (*at > after).then_some(*at),
            Self::Cron { expression } => {
                let cron = Self::cron(expression).ok()?;
                let local = after.with_timezone(&tz.tz());
                cron.find_next_occurrence(&local, false).ok().map(|t| t.with_timezone(&Utc))
            }
        }
    }
}

/// Whether a campaign still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Runs at `next_run_at`.
    Active,
    /// Skips its runs until resumed.
    Paused,
    /// Runs no more.
    Ended,
}

/// A broadcast on a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    /// Campaign id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: CampaignId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// Name shown to the team; each run is named after it and its time.
    pub name: String,
    /// The approved template each run sends.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub template_id: TemplateId,
    /// Variable mapping, as a broadcast's.
    pub variables: BTreeMap<String, String>,
    /// Who each run goes to, fixed when the run starts.
    pub audience: Audience,
    /// Auto-pause rules of each run.
    pub auto_pause: AutoPause,
    /// When it runs.
    pub schedule: Schedule,
    /// Whether it runs.
    pub status: CampaignStatus,
    /// Its next run, while active.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Runs started so far.
    pub runs: u32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn daily_nine_oclock_follows_the_clocks_across_daylight_saving() {
        let london = TimeZone::parse("Europe/London").unwrap();
        let daily = Schedule::Cron { expression: "0 9 * * *".into() };
        // GMT before 29 March 2026, BST (UTC+1) after.
        let first = daily.next_after(at("2026-03-27T12:00:00Z"), london).unwrap();
        assert_eq!(first, at("2026-03-28T09:00:00Z"));
        assert_eq!(daily.next_after(first, london).unwrap(), at("2026-03-29T08:00:00Z"));
        // The hour the clocks skip runs right after the gap, once.
        let gap = Schedule::Cron { expression: "30 1 * * *".into() };
        assert_eq!(
            gap.next_after(at("2026-03-28T12:00:00Z"), london).unwrap(),
            at("2026-03-29T01:00:00Z")
        );
        // The hour the clocks repeat (25 October 2026) runs once.
        let twice = Schedule::Cron { expression: "30 1 * * *".into() };
        let once = twice.next_after(at("2026-10-24T12:00:00Z"), london).unwrap();
        assert_eq!(once, at("2026-10-25T00:30:00Z"));
        assert_eq!(twice.next_after(once, london).unwrap(), at("2026-10-26T01:30:00Z"));
    }

    #[test]
    fn schedules_are_checked() {
        let tz = TimeZone::parse("Africa/Nairobi").unwrap();
        let now = at("2026-11-24T09:00:00Z");
        let check = |s: Schedule| s.validate(now, tz);
        assert!(check(Schedule::Cron { expression: "0 9 * * MON".into() }).is_ok());
        assert!(
            check(Schedule::Cron { expression: "*/5 * * * *".into() })
                .unwrap_err()
                .contains("more often")
        );
        assert!(
            check(Schedule::Cron { expression: "0 9 * *".into() })
                .unwrap_err()
                .contains("five fields")
        );
        assert!(check(Schedule::Cron { expression: "0 25 * * *".into() }).is_err());
        assert!(check(Schedule::Once { at: now - Duration::hours(1) }).is_err());
        let once = Schedule::Once { at: now + Duration::hours(1) };
        assert_eq!(once.next_after(now, tz), Some(now + Duration::hours(1)));
        assert_eq!(once.next_after(now + Duration::hours(1), tz), None);
    }
}
