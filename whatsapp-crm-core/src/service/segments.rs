//! Segment use cases: saved segments, previews (count and a sample), and
//! ad-hoc rules in either the JSON or the text form.

use std::sync::Arc;

use serde::Deserialize;

use crate::domain::{
    Business, BusinessId, CustomerId, FieldError, SEGMENT_DESCRIPTION_MAX_CHARS,
    SEGMENT_NAME_MAX_CHARS, Segment, SegmentId, ValidationError,
};
use crate::ports::{Clock, Page, SegmentMatch, Storage};
use crate::segment::{Rule, RuleError, SegmentContext, parse_rule, rule_to_text, validate_rule};

use super::{ServiceError, page_params, text_field};

/// Customers in a preview sample when the caller does not say.
pub const PREVIEW_SAMPLE_DEFAULT: u32 = 10;

/// A segment as a client creates it. `rule` is the text form (a string) or the
/// JSON form (an object).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSegment {
    /// Name, unique in the business.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `"tag has vip and active 30d"`, or `{"and": [...]}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub rule: serde_json::Value,
}

/// A partial update of a saved segment.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SegmentPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New description; an empty string clears it.
    #[serde(default)]
    pub description: Option<String>,
    /// New rule, text or JSON.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub rule: Option<serde_json::Value>,
}

/// Segment use cases for every business.
#[derive(Clone)]
pub struct Segments {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

fn rule_error(e: RuleError, code: &str) -> ValidationError {
    let message = if e.path.is_empty() { e.message } else { format!("{}: {}", e.path, e.message) };
    ValidationError {
        errors: vec![FieldError {
            field: "rule".into(),
            message,
            code: Some(code.into()),
            position: (e.column > 0).then_some(e.column),
        }],
    }
}

impl Segments {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Reads a rule in either form; errors name the column (text) or path (JSON).
    pub fn read_rule(
        business: &Business,
        input: &serde_json::Value,
    ) -> Result<Rule, ValidationError> {
        match input {
            serde_json::Value::String(text) => {
                parse_rule(text, business.currency).map_err(|e| rule_error(e, "rule_syntax"))
            }
            serde_json::Value::Object(_) => {
                let rule: Rule = serde_json::from_value(input.clone())
                    .map_err(|e| ValidationError::field("rule", format!("not a rule: {e}")))?;
                validate_rule(&rule).map_err(|e| rule_error(e, "rule_invalid"))?;
                Ok(rule)
            }
            _ => Err(ValidationError::field("rule", "give the rule as text or as a JSON object")),
        }
    }

    fn context(&self, business: &Business) -> SegmentContext {
        SegmentContext { now: self.clock.now(), time_zone: business.time_zone }
    }

    /// Validates and stores a segment.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewSegment,
    ) -> Result<Segment, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let mut v = ValidationError::default();
        let name = text_field(&mut v, "name", &input.name, SEGMENT_NAME_MAX_CHARS);
        let description = match input.description.as_deref().map(str::trim) {
            Some("") | None => Some(None),
            Some(d) => {
                text_field(&mut v, "description", d, SEGMENT_DESCRIPTION_MAX_CHARS).map(Some)
            }
        };
        let rule = Self::read_rule(&b, &input.rule).map_err(|e| v.errors.extend(e.errors)).ok();
        let (Some(name), Some(description), Some(rule)) = (name, description, rule) else {
            return Err(v.into());
        };
        let now = self.clock.now();
        let segment = Segment {
            id: SegmentId::new(),
            business_id: business,
            name,
            description,
            rule_text: rule_to_text(&rule, b.currency),
            rule,
            created_at: now,
            updated_at: now,
        };
        self.storage.insert_segment(&segment).await?;
        Ok(segment)
    }

    /// Reads a segment.
    pub async fn get(&self, business: BusinessId, id: SegmentId) -> Result<Segment, ServiceError> {
        Ok(self.storage.get_segment(business, id).await?)
    }

    /// Lists segments.
    pub async fn list(
        &self,
        business: BusinessId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Segment>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        Ok(self.storage.list_segments(business, limit, after).await?)
    }

    /// Applies a partial update.
    pub async fn update(
        &self,
        business: BusinessId,
        id: SegmentId,
        patch: SegmentPatch,
    ) -> Result<Segment, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let mut next = self.storage.get_segment(business, id).await?;
        let mut v = ValidationError::default();
        if let Some(name) = &patch.name
            && let Some(n) = text_field(&mut v, "name", name, SEGMENT_NAME_MAX_CHARS)
        {
            next.name = n;
        }
        match patch.description.as_deref().map(str::trim) {
            Some("") => next.description = None,
            Some(d) => {
                next.description =
                    text_field(&mut v, "description", d, SEGMENT_DESCRIPTION_MAX_CHARS)
                        .or(next.description)
            }
            None => {}
        }
        if let Some(input) = &patch.rule {
            match Self::read_rule(&b, input) {
                Ok(rule) => {
                    next.rule_text = rule_to_text(&rule, b.currency);
                    next.rule = rule;
                }
                Err(e) => v.errors.extend(e.errors),
            }
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        next.updated_at = self.clock.now();
        self.storage.update_segment(&next).await?;
        Ok(next)
    }

    /// Deletes a segment.
    pub async fn delete(&self, business: BusinessId, id: SegmentId) -> Result<(), ServiceError> {
        Ok(self.storage.delete_segment(business, id).await?)
    }

    /// How many customers a saved segment selects now, with a page of them.
    pub async fn preview(
        &self,
        business: BusinessId,
        id: SegmentId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<SegmentMatch, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let segment = self.storage.get_segment(business, id).await?;
        let (limit, after) = sample_params(limit, cursor)?;
        Ok(self
            .storage
            .select_segment(business, &segment.rule, &self.context(&b), limit, after)
            .await?)
    }

    /// How many customers an unsaved rule selects now, with a page of them.
    pub async fn preview_rule(
        &self,
        business: BusinessId,
        rule: &serde_json::Value,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<SegmentMatch, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let rule = Self::read_rule(&b, rule)?;
        let (limit, after) = sample_params(limit, cursor)?;
        Ok(self.storage.select_segment(business, &rule, &self.context(&b), limit, after).await?)
    }
}

fn sample_params(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(u32, Option<CustomerId>), ServiceError> {
    Ok(page_params(Some(limit.unwrap_or(PREVIEW_SAMPLE_DEFAULT)), cursor)?)
}
