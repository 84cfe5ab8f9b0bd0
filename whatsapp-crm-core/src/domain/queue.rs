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

/// Highest rule priority.
pub const RULE_PRIORITY_MAX: u8 = crate::routing::PRIORITY_MAX;
/// Most routing rules of a business.
pub const ROUTING_RULES_MAX: usize = 100;
/// First-response deadlines allowed, in seconds (a minute to a week).
pub const FIRST_RESPONSE_RANGE_SECS: (u32, u32) = (60, 7 * 24 * 3_600);
/// First-response deadline unless a rule says otherwise (15 minutes).
pub const FIRST_RESPONSE_DEFAULT_SECS: u32 = 900;

/// One routing rule: when its condition holds for a conversation, the
/// conversation goes to its queue with its priority and deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// A name for people (1–100 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// The condition over the conversation (`intent IN ['refund']`,
    /// `vip == true`, `order.status == 'awaiting_payment'`); stored as read
    /// back (canonical).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub when: String,
    /// The queue.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub queue_id: QueueId,
    /// Base priority, 0–3 (default 0); VIPs and angry customers go higher.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 3))]
    pub priority: u8,
    /// First response due within this many seconds, 60–604800 (default 900).
    #[serde(default = "first_response_default")]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 604800))]
    pub first_response_secs: u32,
}

fn first_response_default() -> u32 {
    FIRST_RESPONSE_DEFAULT_SECS
}

/// Where a conversation no rule matches goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DefaultRoute {
    /// The queue.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub queue_id: QueueId,
    /// Base priority, 0–3 (default 0).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 3))]
    pub priority: u8,
    /// First response due within this many seconds, 60–604800 (default 900).
    #[serde(default = "first_response_default")]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 604800))]
    pub first_response_secs: u32,
}

/// A business's routing: rules in order, first match wins, then the
/// default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// The rules, in the order they are tried (up to 100).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub rules: Vec<RoutingRule>,
    /// Where the rest go; without one they wait unrouted.
    #[serde(default)]
    pub default: Option<DefaultRoute>,
    /// A returning customer is offered first to the agent who last had
    /// their conversation, when that agent is eligible (default true).
    #[serde(default = "yes")]
    pub return_to_previous_agent: bool,
}

fn yes() -> bool {
    true
}

impl Default for Routing {
    fn default() -> Self {
        Self { rules: Vec::new(), default: None, return_to_previous_agent: true }
    }
}

fn route_limits(v: &mut ValidationError, field: &str, priority: u8, secs: u32) {
    if priority > RULE_PRIORITY_MAX {
        v.push(format!("{field}priority"), format!("must be 0 to {RULE_PRIORITY_MAX}"));
    }
    let (lo, hi) = FIRST_RESPONSE_RANGE_SECS;
    if !(lo..=hi).contains(&secs) {
        v.push(format!("{field}first_response_secs"), format!("must be {lo} to {hi}"));
    }
}

impl Routing {
    /// Checks every rule (conditions read now, refused with their column),
    /// storing conditions as read back.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        let mut v = ValidationError::default();
        if self.rules.len() > ROUTING_RULES_MAX {
            v.push("rules", format!("at most {ROUTING_RULES_MAX}"));
        }
        for (i, r) in self.rules.iter_mut().enumerate() {
            let at = format!("rules[{i}].");
            match clean_text(&r.name, QUEUE_NAME_MAX_CHARS) {
                Ok(n) => r.name = n,
                Err(e) => v.push(format!("{at}name"), e),
            }
            match Expr::parse(&r.when) {
                Ok(e) => r.when = e.to_string(),
                Err(e) => v.errors.push(FieldError {
                    field: format!("{at}when"),
                    message: e.to_string(),
                    code: Some("unreadable_expression".into()),
                    position: Some(e.column),
                }),
            }
            route_limits(&mut v, &at, r.priority, r.first_response_secs);
        }
        if let Some(d) = &self.default {
            route_limits(&mut v, "default.", d.priority, d.first_response_secs);
        }
        v.into_result(|| self)
    }

    /// The queues it names, once each.
    pub fn queues(&self) -> Vec<QueueId> {
        let mut out: Vec<QueueId> = Vec::new();
        for q in
            self.rules.iter().map(|r| r.queue_id).chain(self.default.iter().map(|d| d.queue_id))
        {
            if !out.contains(&q) {
                out.push(q);
            }
        }
        out
    }

    /// Where a conversation with these attributes goes; `None` when no rule
    /// matches and there is no default.
    pub fn route(
        &self,
        conversation: &serde_json::Value,
    ) -> Option<crate::routing::Route<QueueId>> {
        let rules: Vec<crate::routing::Rule<QueueId>> = self
            .rules
            .iter()
            .map(|r| crate::routing::Rule {
                when: Expr::parse(&r.when).unwrap_or(Expr::Const(false)),
                queue: r.queue_id,
                priority: r.priority,
                first_response: chrono::Duration::seconds(i64::from(r.first_response_secs)),
            })
            .collect();
        let fallback = self.default.as_ref().map(|d| crate::routing::Rule {
            when: Expr::Const(true),
            queue: d.queue_id,
            priority: d.priority,
            first_response: chrono::Duration::seconds(i64::from(d.first_response_secs)),
        });
        crate::routing::route(&rules, fallback.as_ref(), conversation)
    }
}

#[cfg(test)]
mod routing_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rules_are_read_when_saved_and_route_first_match_then_default() {
        let (billing, general) = (QueueId::new(), QueueId::new());
        let rule = |name: &str, when: &str, queue, priority| RoutingRule {
            name: name.into(),
            when: when.into(),
            queue_id: queue,
            priority,
            first_response_secs: 600,
        };
        let r = Routing {
            rules: vec![
                rule("Payments", "intent in ['payment_issue', 'refund']", billing, 1),
                rule("Unpaid orders", "order.status == 'awaiting_payment'", billing, 0),
            ],
            default: Some(DefaultRoute {
                queue_id: general,
                priority: 0,
                first_response_secs: 900,
            }),
            return_to_previous_agent: true,
        }
        .validate()
        .unwrap();
        assert_eq!(r.rules[0].when, "intent IN ['payment_issue', 'refund']");
        assert_eq!(r.queues(), [billing, general]);
        let to = r.route(&json!({"intent": "refund", "vip": true})).unwrap();
        assert_eq!((to.queue, to.priority, to.rule), (billing, 2, Some(0)));
        let to = r.route(&json!({"intent": "hello"})).unwrap();
        assert_eq!((to.queue, to.first_response.num_seconds(), to.rule), (general, 900, None));
        let no_default = Routing { default: None, ..r.clone() };
        assert!(no_default.route(&json!({"intent": "hello"})).is_none());
        assert_eq!(
            no_default.route(&json!({"order": {"status": "awaiting_payment"}})).unwrap().rule,
            Some(1)
        );

        let err = Routing {
            rules: vec![
                rule("", "intent ==", billing, 4),
                RoutingRule { first_response_secs: 10, ..rule("x", "true", billing, 0) },
            ],
            default: Some(DefaultRoute {
                queue_id: general,
                priority: 9,
                first_response_secs: 900,
            }),
            return_to_previous_agent: true,
        }
        .validate()
        .unwrap_err();
        let fields: Vec<(&str, Option<usize>)> =
            err.errors.iter().map(|e| (e.field.as_str(), e.position)).collect();
        assert_eq!(
            fields,
            [
                ("rules[0].name", None),
                ("rules[0].when", Some(10)),
                ("rules[0].priority", None),
                ("rules[1].first_response_secs", None),
                ("default.priority", None),
            ]
        );
    }
}
