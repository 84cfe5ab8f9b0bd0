//! The send policy: whether a message may go to a customer now, and if not,
//! the typed reason recorded on the message (platform-rules 3.4–3.6).

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ConsentStatus, MessageKind, TemplateCategory, TimeZone};

/// Marketing messages allowed per customer per [`DEFAULT_MARKETING_CAP_WINDOW_HOURS`].
pub const DEFAULT_MARKETING_CAP: u32 = 1;
/// The window of the marketing cap, in hours.
pub const DEFAULT_MARKETING_CAP_WINDOW_HOURS: i64 = 24;

/// Local hours during which business-initiated messages wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuietHours {
    /// Start (local time), e.g. 21:00.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub start: NaiveTime,
    /// End (local time), e.g. 08:00; may be before `start` (overnight).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub end: NaiveTime,
}

impl QuietHours {
    /// When the quiet period containing `now` ends, or `None` outside it.
    pub fn ends_after(&self, now: DateTime<Utc>, tz: TimeZone) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz.tz());
        let t = local.time();
        let inside = if self.start <= self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        };
        if !inside || self.start == self.end {
            return None;
        }
        let mut day = local.date_naive();
        if t >= self.end && self.start > self.end {
            day = day.succ_opt()?;
        }
        // The earliest real instant at the end time (DST gaps skip forward).
        (0..3)
            .find_map(|h| {
                tz.tz().from_local_datetime(&day.and_time(self.end + Duration::hours(h))).earliest()
            })
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A business's sending rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendPolicy {
    /// Marketing messages per customer per cap window.
    pub marketing_cap: u32,
    /// The cap window, in hours.
    pub marketing_cap_window_hours: i64,
    /// Quiet hours for business-initiated messages, if any.
    pub quiet_hours: Option<QuietHours>,
}

impl Default for SendPolicy {
    fn default() -> Self {
        Self {
            marketing_cap: DEFAULT_MARKETING_CAP,
            marketing_cap_window_hours: DEFAULT_MARKETING_CAP_WINDOW_HOURS,
            quiet_hours: None,
        }
    }
}

/// What the policy needs to know about one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFacts {
    /// The evaluation instant.
    pub now: DateTime<Utc>,
    /// The business's time zone.
    pub time_zone: TimeZone,
    /// What is sent.
    pub kind: MessageKind,
    /// The template's category, for templates.
    pub category: Option<TemplateCategory>,
    /// Whether the customer-service window is open.
    pub window_open: bool,
    /// The customer's marketing consent.
    pub consent: ConsentStatus,
    /// When the marketing messages inside the cap window were sent.
    pub recent_marketing: Vec<DateTime<Utc>>,
}

/// Why a message may not go now. Stable codes are stored on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// Free-form content outside the 24-hour window: only templates may go.
    #[error("outside the customer-service window: send an approved template")]
    OutsideWindow,
    /// Marketing to a customer who never opted in.
    #[error("the customer has not opted in to marketing")]
    NotOptedIn,
    /// Marketing to a customer who opted out.
    #[error("the customer opted out of marketing")]
    OptedOut,
    /// The customer's marketing cap is used up until `until`.
    #[error("marketing frequency cap reached")]
    FrequencyCap {
        /// When the next marketing message may go.
        until: DateTime<Utc>,
    },
    /// Quiet hours in the business's time zone, until `until`.
    #[error("quiet hours")]
    QuietHours {
        /// When quiet hours end.
        until: DateTime<Utc>,
    },
}

impl Refusal {
    /// The stable reason code (`outside_window`, `not_opted_in`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutsideWindow => "outside_window",
            Self::NotOptedIn => "not_opted_in",
            Self::OptedOut => "opted_out",
            Self::FrequencyCap { .. } => "frequency_cap",
            Self::QuietHours { .. } => "quiet_hours",
        }
    }

    /// When sending may be tried again, for refusals that pass with time.
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::FrequencyCap { until } | Self::QuietHours { until } => Some(*until),
            _ => None,
        }
    }
}

impl SendPolicy {
    /// Decides one send. Free-form content needs the open window; templates go
    /// anywhere; marketing needs an explicit opt-in and room under the cap;
    /// business-initiated messages wait out quiet hours.
    pub fn check(&self, f: &SendFacts) -> Result<(), Refusal> {
        let template = f.kind == MessageKind::Template;
        if !template && !f.window_open {
            return Err(Refusal::OutsideWindow);
        }
        let marketing = f.category == Some(TemplateCategory::Marketing);
        if marketing {
            match f.consent {
                ConsentStatus::OptedIn => {}
                ConsentStatus::OptedOut => return Err(Refusal::OptedOut),
                ConsentStatus::Unknown => return Err(Refusal::NotOptedIn),
            }
            let window = Duration::hours(self.marketing_cap_window_hours);
            let mut recent: Vec<_> =
                f.recent_marketing.iter().filter(|t| **t > f.now - window).copied().collect();
            if recent.len() as u32 >= self.marketing_cap {
                recent.sort_unstable();
                let oldest_counted = recent[recent.len() - self.marketing_cap as usize];
                return Err(Refusal::FrequencyCap { until: oldest_counted + window });
            }
        }
        let business_initiated = marketing || (template && !f.window_open);
        if business_initiated
            && let Some(until) = self.quiet_hours.and_then(|q| q.ends_after(f.now, f.time_zone))
        {
            return Err(Refusal::QuietHours { until });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_serialised_reasons() {
        let t = at("2026-01-01T00:00:00Z");
        for r in [
            Refusal::OutsideWindow,
            Refusal::NotOptedIn,
            Refusal::OptedOut,
            Refusal::FrequencyCap { until: t },
            Refusal::QuietHours { until: t },
        ] {
            assert_eq!(serde_json::to_value(r).unwrap()["reason"], r.code());
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn facts(kind: MessageKind, category: Option<TemplateCategory>) -> SendFacts {
        SendFacts {
            now: at("2026-03-10T09:00:00Z"),
            time_zone: TimeZone::parse("Africa/Nairobi").unwrap(),
            kind,
            category,
            window_open: false,
            consent: ConsentStatus::OptedIn,
            recent_marketing: Vec::new(),
        }
    }

    #[test]
    fn free_form_needs_the_window_templates_do_not() {
        let p = SendPolicy::default();
        assert_eq!(p.check(&facts(MessageKind::Text, None)), Err(Refusal::OutsideWindow));
        assert_eq!(
            p.check(&SendFacts { window_open: true, ..facts(MessageKind::Interactive, None) }),
            Ok(())
        );
        assert_eq!(p.check(&facts(MessageKind::Template, Some(TemplateCategory::Utility))), Ok(()));
    }

    #[test]
    fn marketing_needs_opt_in_and_room_under_the_cap() {
        let p = SendPolicy::default();
        let m = || facts(MessageKind::Template, Some(TemplateCategory::Marketing));
        assert_eq!(
            p.check(&SendFacts { consent: ConsentStatus::Unknown, ..m() }),
            Err(Refusal::NotOptedIn)
        );
        assert_eq!(
            p.check(&SendFacts { consent: ConsentStatus::OptedOut, ..m() }),
            Err(Refusal::OptedOut)
        );
        let sent = at("2026-03-09T15:00:00Z");
        assert_eq!(
            p.check(&SendFacts { recent_marketing: vec![sent], ..m() }),
            Err(Refusal::FrequencyCap { until: at("2026-03-10T15:00:00Z") })
        );
        assert_eq!(
            p.check(&SendFacts { recent_marketing: vec![at("2026-03-09T08:00:00Z")], ..m() }),
            Ok(())
        );
        // Utility templates are not capped.
        let u = facts(MessageKind::Template, Some(TemplateCategory::Utility));
        assert_eq!(
            p.check(&SendFacts {
                recent_marketing: vec![sent],
                consent: ConsentStatus::OptedOut,
                ..u
            }),
            Ok(())
        );
    }

    #[test]
    fn quiet_hours_hold_business_initiated_messages_only() {
        let night = QuietHours {
            start: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        };
        let p = SendPolicy { quiet_hours: Some(night), ..SendPolicy::default() };
        // 22:30 in Nairobi (UTC+3).
        let late = SendFacts {
            now: at("2026-03-10T19:30:00Z"),
            ..facts(MessageKind::Template, Some(TemplateCategory::Marketing))
        };
        assert_eq!(p.check(&late), Err(Refusal::QuietHours { until: at("2026-03-11T05:00:00Z") }));
        // 06:00 local: still quiet, ends at 08:00 the same day.
        let early = SendFacts { now: at("2026-03-11T03:00:00Z"), ..late.clone() };
        assert_eq!(p.check(&early), Err(Refusal::QuietHours { until: at("2026-03-11T05:00:00Z") }));
        // A reply inside the window is not business-initiated.
        let reply = SendFacts {
            window_open: true,
            kind: MessageKind::Text,
            category: None,
            ..late.clone()
        };
        assert_eq!(p.check(&reply), Ok(()));
        // Daytime.
        assert_eq!(p.check(&SendFacts { now: at("2026-03-11T07:00:00Z"), ..late }), Ok(()));
    }
}
