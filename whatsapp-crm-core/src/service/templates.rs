//! Template use cases: create, edit (a new version each time), archive, submit
//! for WhatsApp approval, sync the review status, preview.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::domain::{
    BusinessId, CustomerId, FieldError, MessageTemplate, TemplateCategory, TemplateContent,
    TemplateId, TemplateStatus, TemplateVersion, ValidationError,
};
use crate::ports::{
    Clock, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, Page, ProviderTemplate, Storage, StorageError,
    TEMPLATE_CHANGED, TemplateQuery, TemplateRegistry,
};
use crate::template::{Preview, TemplateDraft, TemplatePlan, customer_values, validate_template};

use super::ServiceError;

/// What a client sends to create a template. Status, business and times are
/// the server's: a request carrying them is refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    /// WhatsApp name: lower-case letters, digits and `_`.
    pub name: String,
    /// Category.
    pub category: TemplateCategory,
    /// Language code (`en`, `sw`, `en_US`).
    pub language: String,
    /// Header, body, footer, buttons and samples.
    pub content: TemplateContent,
}

/// An edit: new content (and category, while never approved) as a new version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateEdit {
    /// The new content.
    pub content: TemplateContent,
    /// A new category; refused once a version was approved.
    #[serde(default)]
    pub category: Option<TemplateCategory>,
    /// The version the edit was made from; a mismatch means someone else edited
    /// first and the edit is refused with a conflict.
    #[serde(default)]
    pub expected_version: Option<u32>,
}

/// Filters for listing templates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateListParams {
    /// Only this status.
    pub status: Option<TemplateStatus>,
    /// Only this category.
    pub category: Option<TemplateCategory>,
    /// Include archived templates.
    pub include_archived: bool,
    /// Page size.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// What to render a preview with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// Render for this customer (their fields, fallbacks where they lack one);
    /// without it, the template's sample values are used.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub customer_id: Option<CustomerId>,
    /// An older version to preview; the latest by default.
    #[serde(default)]
    pub version: Option<u32>,
    /// Values that override everything else, by variable name.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// Template use cases for every business.
#[derive(Clone)]
pub struct Templates {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    registry: Option<Arc<dyn TemplateRegistry>>,
}

fn issues_to_error(issues: Vec<crate::template::TemplateIssue>) -> ValidationError {
    ValidationError {
        errors: issues
            .into_iter()
            .map(|i| FieldError {
                field: match i.field.as_str() {
                    "name" | "language" => i.field,
                    other => format!("content.{other}"),
                },
                message: i.message,
                code: serde_json::to_value(i.rule).ok().and_then(|v| v.as_str().map(str::to_owned)),
                position: i.position,
            })
            .collect(),
    }
}

fn check(
    name: &str,
    category: TemplateCategory,
    language: &str,
    content: &TemplateContent,
) -> Result<(), ServiceError> {
    let issues = validate_template(&TemplateDraft { name, category, language, content });
    if issues.is_empty() { Ok(()) } else { Err(issues_to_error(issues).into()) }
}

impl Templates {
    /// A service over `storage`; `registry` submits to WhatsApp (None: drafts only).
    pub fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        registry: Option<Arc<dyn TemplateRegistry>>,
    ) -> Self {
        Self { storage, clock, registry }
    }

    fn registry(&self) -> Result<&Arc<dyn TemplateRegistry>, ServiceError> {
        self.registry.as_ref().ok_or(ServiceError::ProviderNotConfigured)
    }

    /// Validates against every WhatsApp rule and stores version 1 as a draft.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewTemplate,
    ) -> Result<MessageTemplate, ServiceError> {
        check(&input.name, input.category, &input.language, &input.content)?;
        let now = self.clock.now();
        let t = MessageTemplate {
            id: TemplateId::new(),
            business_id: business,
            name: input.name,
            category: input.category,
            language: input.language,
            version: 1,
            content: input.content,
            status: TemplateStatus::Draft,
            provider_id: None,
            rejection_reason: None,
            approved_version: None,
            approved_provider_id: None,
            created_at: now,
            updated_at: now,
            archived_at: None,
        };
        self.storage.insert_template(&t).await?;
        Ok(t)
    }

    /// Reads a template.
    pub async fn get(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<MessageTemplate, ServiceError> {
        Ok(self.storage.get_template(business, id).await?)
    }

    /// Lists templates.
    pub async fn list(
        &self,
        business: BusinessId,
        p: TemplateListParams,
    ) -> Result<Page<MessageTemplate>, ServiceError> {
        let limit = p.limit.unwrap_or(PAGE_LIMIT_DEFAULT);
        let mut v = ValidationError::default();
        if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
            v.push("limit", format!("must be between 1 and {PAGE_LIMIT_MAX}"));
        }
        let after = p.cursor.as_deref().and_then(|c| {
            v.check(
                "cursor",
                c.parse::<TemplateId>().map_err(|_| "is not a cursor from a previous page"),
            )
        });
        if !v.is_empty() {
            return Err(v.into());
        }
        let query = TemplateQuery {
            status: p.status,
            category: p.category,
            include_archived: p.include_archived,
            limit,
            after,
        };
        Ok(self.storage.list_templates(business, &query).await?)
    }

    /// Every version, oldest first.
    pub async fn versions(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<Vec<TemplateVersion>, ServiceError> {
        Ok(self.storage.list_template_versions(business, id).await?)
    }

    /// Stores the edit as a new version. A template that was ever submitted goes
    /// back to review (pending) at once, while its approved version stays the one
    /// that is sent.
    pub async fn update(
        &self,
        business: BusinessId,
        id: TemplateId,
        edit: TemplateEdit,
    ) -> Result<MessageTemplate, ServiceError> {
        let current = self.storage.get_template(business, id).await?;
        if current.archived_at.is_some() {
            return Err(ServiceError::InvalidState {
                message: "the template is archived; create a new one".into(),
            });
        }
        if edit.expected_version.is_some_and(|v| v != current.version) {
            return Err(ServiceError::Conflict {
                entity: "template",
                constraint: TEMPLATE_CHANGED.into(),
            });
        }
        let category = edit.category.unwrap_or(current.category);
        if category != current.category && current.approved_version.is_some() {
            return Err(ValidationError::field(
                "category",
                "the category of an approved template cannot change",
            )
            .into());
        }
        check(&current.name, category, &current.language, &edit.content)?;
        let mut next = current.clone();
        next.version += 1;
        next.category = category;
        next.content = edit.content;
        next.updated_at = self.clock.now();
        next.provider_id = None;
        next.rejection_reason = None;
        next.status = TemplateStatus::Draft;
        if current.status != TemplateStatus::Draft {
            self.send_for_review(&mut next).await?;
        }
        self.storage.save_template(&next, current.version).await?;
        Ok(next)
    }

    /// Archives a template: it is never sent again and drops out of listings.
    pub async fn archive(&self, business: BusinessId, id: TemplateId) -> Result<(), ServiceError> {
        let mut t = self.storage.get_template(business, id).await?;
        if t.archived_at.is_some() {
            return Ok(());
        }
        let now = self.clock.now();
        t.archived_at = Some(now);
        t.updated_at = now;
        let version = t.version;
        Ok(self.storage.save_template(&t, version).await?)
    }

    /// Submits the latest version for WhatsApp approval.
    pub async fn submit(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<MessageTemplate, ServiceError> {
        let current = self.storage.get_template(business, id).await?;
        if current.archived_at.is_some() {
            return Err(ServiceError::InvalidState { message: "the template is archived".into() });
        }
        if !matches!(current.status, TemplateStatus::Draft | TemplateStatus::Rejected) {
            return Err(ServiceError::InvalidState {
                message: format!(
                    "the latest version is {}; edit the template to submit new content",
                    status_word(current.status)
                ),
            });
        }
        check(&current.name, current.category, &current.language, &current.content)?;
        let mut next = current.clone();
        self.send_for_review(&mut next).await?;
        next.updated_at = self.clock.now();
        self.storage.save_template(&next, current.version).await?;
        Ok(next)
    }

    /// Reads the review status from the provider and records it.
    pub async fn sync(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<MessageTemplate, ServiceError> {
        let current = self.storage.get_template(business, id).await?;
        let Some(provider_id) = current.provider_id.clone() else {
            return Err(ServiceError::InvalidState {
                message: "the latest version was never submitted".into(),
            });
        };
        let approval = self.registry()?.approval(&provider_id).await?;
        let mut next = current.clone();
        next.status = approval.status;
        next.rejection_reason = approval.rejection_reason;
        if approval.status == TemplateStatus::Approved {
            next.approved_version = Some(next.version);
            next.approved_provider_id = Some(provider_id);
        }
        if next != current {
            next.updated_at = self.clock.now();
            self.storage.save_template(&next, current.version).await?;
        }
        Ok(next)
    }

    /// Renders a version with its samples, or for a customer.
    pub async fn preview(
        &self,
        business: BusinessId,
        id: TemplateId,
        req: PreviewRequest,
    ) -> Result<Preview, ServiceError> {
        let t = self.storage.get_template(business, id).await?;
        let content = match req.version {
            None => t.content.clone(),
            Some(v) if v == t.version => t.content.clone(),
            Some(v) => {
                let history = self.storage.list_template_versions(business, id).await?;
                history
                    .into_iter()
                    .find(|h| h.version == v)
                    .map(|h| h.content)
                    .ok_or(StorageError::not_found("template version"))?
            }
        };
        let mut values = match req.customer_id {
            Some(cid) => customer_values(&self.storage.get_customer(business, cid).await?),
            None => content.samples.clone(),
        };
        values.extend(req.values);
        let plan = TemplatePlan::compile(&content)
            .map_err(|e| ValidationError::field("content.body", e))?;
        plan.preview(&content, |name| values.get(name).map(String::as_str))
            .map_err(|e| ServiceError::from(ValidationError::field("values", e)))
    }

    /// Stores the content at the provider and submits it; sets id and status.
    async fn send_for_review(&self, t: &mut MessageTemplate) -> Result<(), ServiceError> {
        let registry = self.registry()?;
        let plan = TemplatePlan::compile(&t.content)
            .map_err(|e| ValidationError::field("content.body", e))?;
        let provider = ProviderTemplate {
            name: t.name.clone(),
            language: t.language.clone(),
            samples: plan.provider_samples(&t.content),
            content: plan.provider_content(&t.content, t.category),
        };
        let content_id = registry.create(&provider).await?;
        let approval = registry.submit(&content_id, &t.name, t.category).await?;
        t.provider_id = Some(content_id);
        t.status = if approval.status == TemplateStatus::Draft {
            TemplateStatus::Pending
        } else {
            approval.status
        };
        t.rejection_reason = approval.rejection_reason;
        if t.status == TemplateStatus::Approved {
            t.approved_version = Some(t.version);
            t.approved_provider_id = t.provider_id.clone();
        }
        Ok(())
    }
}

fn status_word(s: TemplateStatus) -> &'static str {
    match s {
        TemplateStatus::Draft => "a draft",
        TemplateStatus::Pending => "pending review",
        TemplateStatus::Approved => "approved",
        TemplateStatus::Rejected => "rejected",
        TemplateStatus::Paused => "paused",
        TemplateStatus::Disabled => "disabled",
    }
}
