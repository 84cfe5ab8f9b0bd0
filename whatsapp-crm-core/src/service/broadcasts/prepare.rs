//! What a send is made of: the template ready to render, each customer's
//! verdict, and the audience a page at a time.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    Audience, Broadcast, Business, BusinessId, ConsentStatus, Customer, CustomerId, MessageContent,
    PhoneNumber, SkipReason, TemplateCategory, TemplateContent, TemplateId, ValidationError,
};
use crate::ports::Storage;
use crate::segment::{Rule, SegmentContext, TagTest, parse_rule};
use crate::service::ServiceError;
use crate::service::outbound::approved_content;
use crate::template::{ATTRIBUTE_PREFIX, TemplatePlan, customer_values};

use super::launch::LAUNCH_BATCH;
use super::service::Broadcasts;

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Field { key: String, fallback: Option<String> },
    Literal(String),
}

const FIELDS: &[&str] =
    &["name", "first_name", "phone", "city", "country", crate::template::RECOMMENDED_PRODUCT];

fn read_source(text: &str) -> Result<Source, String> {
    let t = text.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        return Ok(Source::Literal(t[1..t.len() - 1].to_owned()));
    }
    let (key, fallback) = match t.split_once('|') {
        Some((k, f)) => (k.trim(), Some(f.trim().to_owned())),
        None => (t, None),
    };
    let known =
        FIELDS.contains(&key) || key.strip_prefix(ATTRIBUTE_PREFIX).is_some_and(|a| !a.is_empty());
    if !known {
        return Err(format!(
            "{key:?} is not a customer field (name, first_name, phone, city, country, recommended_product, attr.<key>) or a \"quoted\" value"
        ));
    }
    Ok(Source::Field { key: key.to_owned(), fallback })
}

/// A template ready to render for many customers.
pub(super) struct Prepared {
    name: String,
    category: TemplateCategory,
    content: TemplateContent,
    content_sid: String,
    plan: TemplatePlan,
    sources: BTreeMap<String, Source>,
}

impl Prepared {
    /// True when a variable reads the customer's recommended product.
    pub(super) fn wants_recommendation(&self) -> bool {
        let key = crate::template::RECOMMENDED_PRODUCT;
        self.plan.variables().any(|var| match self.sources.get(var) {
            Some(Source::Field { key: k, .. }) => k == key,
            Some(Source::Literal(_)) => false,
            None => var == key,
        })
    }

    /// The message for one customer, or `None` when it cannot be made.
    fn render(&self, c: &Customer, recommended: Option<&str>) -> Option<MessageContent> {
        let mut values = customer_values(c);
        if let Some(name) = recommended {
            values.insert(crate::template::RECOMMENDED_PRODUCT.to_owned(), name.to_owned());
        }
        let lookup = |var: &str| -> Option<&str> {
            match self.sources.get(var) {
                Some(Source::Literal(v)) => Some(v.as_str()),
                Some(Source::Field { key, fallback }) => {
                    values.get(key).map(String::as_str).or(fallback.as_deref())
                }
                None => values.get(var).map(String::as_str),
            }
        };
        let variables = self.plan.content_variables(lookup).ok()?;
        let rendered = self.plan.preview(&self.content, lookup).ok()?.body;
        Some(MessageContent::Template {
            name: self.name.clone(),
            content_sid: Some(self.content_sid.clone()),
            variables,
            rendered: Some(rendered),
        })
    }
}

/// Decides one customer: their message, or why they get none.
pub(super) struct Audit<'a> {
    prepared: &'a Prepared,
    cap: u32,
    recent: HashMap<PhoneNumber, u32>,
}

impl Audit<'_> {
    /// True when its template reads the recommended product.
    pub(super) fn wants_recommendation(&self) -> bool {
        self.prepared.wants_recommendation()
    }

    /// The category of the template it judges for.
    pub(super) fn category(&self) -> TemplateCategory {
        self.prepared.category
    }

    /// The message for `c` (with their recommended product's name, when
    /// the template asks for it), or why they get none.
    pub(super) fn judge(
        &self,
        c: &Customer,
        recommended: Option<&str>,
    ) -> Result<MessageContent, SkipReason> {
        // A broadcast is business-initiated: an opt-out is always honoured.
        match c.marketing.status {
            ConsentStatus::OptedOut => return Err(SkipReason::OptedOut),
            ConsentStatus::Unknown if self.prepared.category == TemplateCategory::Marketing => {
                return Err(SkipReason::NotOptedIn);
            }
            _ => {}
        }
        if self.prepared.category == TemplateCategory::Marketing
            && self.recent.get(&c.phone).copied().unwrap_or(0) >= self.cap
        {
            return Err(SkipReason::Capped);
        }
        self.prepared.render(c, recommended).ok_or(SkipReason::Invalid)
    }
}

/// A broadcast's audience as fixed at launch, read a page at a time.
pub(super) struct AudienceQuery {
    business: BusinessId,
    rule: Rule,
    ctx: SegmentContext,
    at: DateTime<Utc>,
}

impl AudienceQuery {
    /// Up to a launch batch of the audience, whole, after `after`.
    pub(super) async fn page(
        &self,
        storage: &dyn Storage,
        after: Option<CustomerId>,
    ) -> Result<Vec<Customer>, ServiceError> {
        let limit = LAUNCH_BATCH as u32;
        let (b, rule, ctx) = (self.business, &self.rule, &self.ctx);
        Ok(storage.segment_customers(b, rule, ctx, self.at, after, limit).await?)
    }
}

impl Broadcasts {
    pub(super) async fn prepare(
        &self,
        business: BusinessId,
        template: TemplateId,
        variables: &BTreeMap<String, String>,
    ) -> Result<Prepared, ServiceError> {
        let (t, content, content_sid) =
            approved_content(&*self.storage, business, template).await?;
        let plan = TemplatePlan::compile(&content)
            .map_err(|e| ValidationError::field("template_id", e.to_string()))?;
        let mut v = ValidationError::default();
        let mut sources = BTreeMap::new();
        for (var, text) in variables {
            if !plan.variables().any(|p| p == var) {
                v.push(format!("variables.{var}"), "the template has no such variable");
            }
            match read_source(text) {
                Ok(s) => {
                    sources.insert(var.clone(), s);
                }
                Err(e) => v.push(format!("variables.{var}"), e),
            }
        }
        v.into_result(|| Prepared {
            name: t.name,
            category: t.category,
            content,
            content_sid,
            plan,
            sources,
        })
        .map_err(ServiceError::from)
    }

    /// The rule an audience stands for.
    pub(super) async fn rule(
        &self,
        business: &Business,
        audience: &Audience,
    ) -> Result<Rule, ServiceError> {
        Ok(match audience {
            Audience::OptedIn => Rule::OptedIn(true),
            Audience::Segment { segment_id } => {
                self.storage.get_segment(business.id, *segment_id).await?.rule
            }
            Audience::Rule { rule } => parse_rule(rule, business.currency)
                .map_err(|e| ValidationError::field("audience.rule", e.to_string()))?,
            Audience::Tags { tags } if tags.is_empty() => {
                return Err(ValidationError::field("audience.tags", "give at least one tag").into());
            }
            Audience::Tags { tags } => Rule::Tag(TagTest::Any(tags.clone())),
        })
    }

    pub(super) async fn audience(
        &self,
        b: &Business,
        bc: &Broadcast,
        now: DateTime<Utc>,
    ) -> Result<AudienceQuery, ServiceError> {
        let rule = self.rule(b, &bc.audience).await?;
        // The snapshot: rules about time are judged at launch, and customers
        // who arrive after it are not in it.
        let at = bc.launched_at.unwrap_or(now);
        let ctx = SegmentContext { now: at, time_zone: b.time_zone };
        Ok(AudienceQuery { business: b.id, rule, ctx, at })
    }

    pub(super) async fn audit<'a>(
        &self,
        prepared: &'a Prepared,
        business: BusinessId,
        now: DateTime<Utc>,
    ) -> Result<Audit<'a>, ServiceError> {
        let recent = if prepared.category == TemplateCategory::Marketing {
            let since = now - Duration::hours(self.policy.marketing_cap_window_hours);
            self.storage.marketing_counts_since(business, since).await?.into_iter().collect()
        } else {
            HashMap::new()
        };
        Ok(Audit { prepared, cap: self.policy.marketing_cap, recent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_sources_are_fields_with_fallbacks_or_quoted_values() {
        assert_eq!(
            read_source("first_name|rafiki"),
            Ok(Source::Field { key: "first_name".into(), fallback: Some("rafiki".into()) })
        );
        assert_eq!(read_source("\"50% off\""), Ok(Source::Literal("50% off".into())));
        assert_eq!(
            read_source("attr.tier"),
            Ok(Source::Field { key: "attr.tier".into(), fallback: None })
        );
        assert!(read_source("password").is_err());
        assert!(read_source("attr.").is_err());
    }
}
