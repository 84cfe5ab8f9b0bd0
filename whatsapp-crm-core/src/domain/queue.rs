//! Routing queues: which agents may take a conversation (a target
//! expression over their attributes) and how one is picked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{BusinessId, FieldError, QueueId, ValidationError};
use crate::routing::{Expr, Strategy};

/// Longest queue name.
pub const QUEUE_NAME_MAX_CHARS: usize = 100;
/// Seconds an agent has to take an offered conversation by default.
pub const OFFER_TIMEOUT_DEFAULT_SECS: u32 = 60;
/// Shortest and longest offer timeouts, in seconds.
pub const OFFER_TIMEOUT_RANGE_SECS: (u32, u32) = (10, 3_600);

/// A routing queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queue {
    /// Queue id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: QueueId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// Its name, unique in the business.
    pub name: String,
    /// Which agents may take its conversations, as read back (canonical).
    pub target: String,
    /// How an agent is picked.
    pub strategy: Strategy,
    /// Seconds an offered agent has before the next is offered.
    pub offer_timeout_secs: u32,
    /// Where a conversation goes when its first-response deadline passes
    /// (else its priority goes up a level).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub escalate_to: Option<QueueId>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Queue {
    /// The target, parsed (stored targets always parse).
    pub fn target_expr(&self) -> Expr {
        Expr::parse(&self.target).unwrap_or(Expr::Const(false))
    }
}

/// A queue as the business describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewQueue {
    /// Its name (1–100 characters), unique in the business.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// Which agents may take its conversations, e.g.
    /// `skills HAS 'billing' AND languages HAS 'sw'` (default `true`: all).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 1000))]
    pub target: Option<String>,
    /// `round_robin` (default), `least_loaded` or `manual`.
    #[serde(default)]
    pub strategy: Option<Strategy>,
    /// Seconds an offered agent has, 10–3600 (default 60).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 10, maximum = 3600))]
    pub offer_timeout_secs: Option<u32>,
    /// The queue its late conversations escalate to.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub escalate_to: Option<QueueId>,
}

impl NewQueue {
    /// Validates every field into a queue of `business`; an unreadable
    /// target is refused with its column as the error's position.
    pub fn validate(
        self,
        business: BusinessId,
        id: QueueId,
        now: DateTime<Utc>,
    ) -> Result<Queue, ValidationError> {
        let mut v = ValidationError::default();
        let name = v.check("name", clean_text(&self.name, QUEUE_NAME_MAX_CHARS));
        let target = match Expr::parse(self.target.as_deref().unwrap_or("true")) {
            Ok(e) => Some(e.to_string()),
            Err(e) => {
                v.errors.push(FieldError {
                    field: "target".into(),
                    message: e.to_string(),
                    code: Some("unreadable_expression".into()),
                    position: Some(e.column),
                });
                None
            }
        };
        let timeout = self.offer_timeout_secs.unwrap_or(OFFER_TIMEOUT_DEFAULT_SECS);
        let (lo, hi) = OFFER_TIMEOUT_RANGE_SECS;
        if !(lo..=hi).contains(&timeout) {
            v.push("offer_timeout_secs", format!("must be {lo} to {hi}"));
        }
        if self.escalate_to == Some(id) {
            v.push("escalate_to", "a queue cannot escalate to itself");
        }
        v.into_result(|| Queue {
            id,
            business_id: business,
            name: name.unwrap_or_default(),
            target: target.unwrap_or_default(),
            strategy: self.strategy.unwrap_or_default(),
            offer_timeout_secs: timeout,
            escalate_to: self.escalate_to,
            created_at: now,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_when_saved_and_errors_name_the_column() {
        let q = NewQueue {
            name: "Billing".into(),
            target: Some("skills has 'billing' and languages has 'sw'".into()),
            strategy: Some(Strategy::LeastLoaded),
            offer_timeout_secs: None,
            escalate_to: None,
        }
        .validate(BusinessId::new(), QueueId::new(), Utc::now())
        .unwrap();
        assert_eq!(q.target, "(skills HAS 'billing' AND languages HAS 'sw')");
        assert!(
            q.target_expr().eval(&serde_json::json!({"skills": ["billing"], "languages": ["sw"]}))
        );
        assert_eq!(q.offer_timeout_secs, 60);

        let id = QueueId::new();
        let err = NewQueue {
            name: " ".into(),
            target: Some("skills HAS 'billing' AND".into()),
            strategy: None,
            offer_timeout_secs: Some(5),
            escalate_to: Some(id),
        }
        .validate(BusinessId::new(), id, Utc::now())
        .unwrap_err();
        let fields: Vec<(&str, Option<usize>)> =
            err.errors.iter().map(|e| (e.field.as_str(), e.position)).collect();
        assert_eq!(
            fields,
            [
                ("name", None),
                ("target", Some(25)),
                ("offer_timeout_secs", None),
                ("escalate_to", None)
            ]
        );
    }
}
