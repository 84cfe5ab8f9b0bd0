//! Templates over Twilio's Content API: create content, submit it for WhatsApp
//! approval, read the review status (platform-rules 5.5).

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use whatsapp_crm_core::TemplateCategory;
use whatsapp_crm_core::TemplateStatus;
use whatsapp_crm_core::ports::{
    Approval, ProviderContent, ProviderTemplate, RegistryError, TemplateAction, TemplateRegistry,
};

use crate::TwilioError;
use crate::api::{Api, Outcome};
use crate::config::TwilioConfig;

/// The Content API as a [`TemplateRegistry`].
#[derive(Clone)]
pub struct TwilioContent {
    api: Api,
}

impl std::fmt::Debug for TwilioContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioContent").field("config", &self.api.config).finish()
    }
}

impl TwilioContent {
    /// A registry for the account in `config`.
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioError> {
        Ok(Self { api: Api::new(config)? })
    }

    pub(crate) fn from_api(api: Api) -> Self {
        Self { api }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api.config.content_base)
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, RegistryError> {
        match self.api.run(req).await {
            Outcome::Success(body) => {
                serde_json::from_slice(&body).map_err(|e| RegistryError::Rejected {
                    code: None,
                    message: format!("unreadable Content API response: {e}"),
                })
            }
            Outcome::Failure(f) => Err(f.into()),
            Outcome::Network { message, .. } => {
                Err(RegistryError::Unavailable { message, retry_after: None })
            }
        }
    }
}

/// The `types` object of a Content API resource.
pub(crate) fn content_types(content: &ProviderContent) -> Value {
    match content {
        ProviderContent::Text { body } => json!({ "twilio/text": { "body": body } }),
        ProviderContent::Media { body, media } => {
            let mut m = json!({ "media": media });
            if let Some(b) = body {
                m["body"] = json!(b);
            }
            json!({ "twilio/media": m })
        }
        ProviderContent::QuickReply { body, buttons } => json!({ "twilio/quick-reply": {
            "body": body,
            "actions": buttons.iter().map(|b| json!({ "title": b.title, "id": b.id })).collect::<Vec<_>>(),
        }}),
        ProviderContent::CallToAction { body, actions } => json!({ "twilio/call-to-action": {
            "body": body,
            "actions": actions.iter().map(action).collect::<Vec<_>>(),
        }}),
        ProviderContent::ListPicker { body, button, items } => json!({ "twilio/list-picker": {
            "body": body,
            "button": button,
            "items": items.iter().map(|i| {
                let mut item = json!({ "id": i.id, "item": i.title });
                if let Some(d) = &i.description { item["description"] = json!(d); }
                item
            }).collect::<Vec<_>>(),
        }}),
        ProviderContent::Card { title, subtitle, media, actions } => {
            let mut card = json!({ "title": title, "actions": actions.iter().map(action).collect::<Vec<_>>() });
            if let Some(s) = subtitle {
                card["subtitle"] = json!(s);
            }
            if !media.is_empty() {
                card["media"] = json!(media);
            }
            json!({ "twilio/card": card })
        }
        ProviderContent::WhatsAppCard { header_text, body, footer, media, actions } => {
            let mut card = json!({ "body": body });
            if let Some(h) = header_text {
                card["header_text"] = json!(h);
            }
            if let Some(f) = footer {
                card["footer"] = json!(f);
            }
            if !media.is_empty() {
                card["media"] = json!(media);
            }
            if !actions.is_empty() {
                card["actions"] = json!(actions.iter().map(action).collect::<Vec<_>>());
            }
            json!({ "whatsapp/card": card })
        }
        ProviderContent::Authentication { code_expiration_minutes, copy_code_text } => {
            let mut auth = json!({
                "add_security_recommendation": true,
                "actions": [{ "type": "COPY_CODE", "copy_code_text": copy_code_text }],
            });
            if let Some(m) = code_expiration_minutes {
                auth["code_expiration_minutes"] = json!(m);
            }
            json!({ "whatsapp/authentication": auth })
        }
        ProviderContent::Catalog { catalog_id, title, subtitle, body, items } => {
            let mut c = json!({
                "id": catalog_id,
                "body": body,
                "items": items.iter().map(|(sku, section)| {
                    let mut item = json!({ "id": sku });
                    if let Some(s) = section { item["section_title"] = json!(s); }
                    item
                }).collect::<Vec<_>>(),
            });
            if let Some(t) = title {
                c["title"] = json!(t);
            }
            if let Some(s) = subtitle {
                c["subtitle"] = json!(s);
            }
            json!({ "twilio/catalog": c })
        }
        ProviderContent::Location { latitude, longitude, label } => {
            let mut loc = json!({ "latitude": latitude, "longitude": longitude });
            if let Some(l) = label {
                loc["label"] = json!(l);
            }
            json!({ "twilio/location": loc })
        }
    }
}

fn action(a: &TemplateAction) -> Value {
    match a {
        TemplateAction::QuickReply { title, id } => {
            json!({ "type": "QUICK_REPLY", "title": title, "id": id })
        }
        TemplateAction::Url { title, url } => json!({ "type": "URL", "title": title, "url": url }),
        TemplateAction::Phone { title, phone } => {
            json!({ "type": "PHONE_NUMBER", "title": title, "phone": phone })
        }
        TemplateAction::CopyCode { title, code } => {
            json!({ "type": "COPY_CODE", "title": title, "code": code })
        }
    }
}

/// Twilio's approval states onto the SDK's.
pub fn map_approval_status(status: &str) -> Option<TemplateStatus> {
    Some(match status.to_ascii_lowercase().as_str() {
        "unsubmitted" => TemplateStatus::Draft,
        "received" | "pending" | "in_review" | "submitted" => TemplateStatus::Pending,
        "approved" => TemplateStatus::Approved,
        "rejected" => TemplateStatus::Rejected,
        "paused" => TemplateStatus::Paused,
        "disabled" => TemplateStatus::Disabled,
        _ => return None,
    })
}

#[derive(Deserialize)]
struct ApprovalBody {
    status: Option<String>,
    rejection_reason: Option<String>,
}

fn approval(body: &Value) -> Result<Approval, RegistryError> {
    let parsed: ApprovalBody = serde_json::from_value(body.clone()).map_err(|e| {
        RegistryError::Rejected { code: None, message: format!("unreadable approval: {e}") }
    })?;
    let raw = parsed.status.unwrap_or_default();
    let status = map_approval_status(&raw).ok_or_else(|| RegistryError::Rejected {
        code: None,
        message: format!("unknown approval status {raw:?}"),
    })?;
    let rejection_reason = parsed.rejection_reason.filter(|r| !r.trim().is_empty());
    Ok(Approval { status, rejection_reason })
}

#[async_trait]
impl TemplateRegistry for TwilioContent {
    async fn create(&self, template: &ProviderTemplate) -> Result<String, RegistryError> {
        let body = json!({
            "friendly_name": template.name,
            "language": template.language,
            "variables": template.samples,
            "types": content_types(&template.content),
        });
        let res =
            self.call(self.api.request(Method::POST, self.url("/v1/Content")).json(&body)).await?;
        res["sid"].as_str().map(str::to_owned).ok_or_else(|| RegistryError::Rejected {
            code: None,
            message: "Content API response has no sid".into(),
        })
    }

    async fn submit(
        &self,
        content_id: &str,
        name: &str,
        category: TemplateCategory,
    ) -> Result<Approval, RegistryError> {
        let url = self.url(&format!("/v1/Content/{content_id}/ApprovalRequests/whatsapp"));
        let body = json!({ "name": name, "category": category.provider_name() });
        let res = self.call(self.api.request(Method::POST, url).json(&body)).await?;
        approval(&res)
    }

    async fn approval(&self, content_id: &str) -> Result<Approval, RegistryError> {
        let url = self.url(&format!("/v1/Content/{content_id}/ApprovalRequests"));
        let res = self.call(self.api.request(Method::GET, url)).await?;
        match res.get("whatsapp") {
            Some(w) if !w.is_null() => approval(w),
            _ => Ok(Approval { status: TemplateStatus::Draft, rejection_reason: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map() {
        assert_eq!(map_approval_status("approved"), Some(TemplateStatus::Approved));
        assert_eq!(map_approval_status("received"), Some(TemplateStatus::Pending));
        assert_eq!(map_approval_status("REJECTED"), Some(TemplateStatus::Rejected));
        assert_eq!(map_approval_status("???"), None);
    }
}
