//! A whole template compiled: header, body and button URLs share one variable
//! numbering, which is what the provider stores and what `ContentVariables`
//! fills at send time.

use std::collections::BTreeMap;

use super::parse::{CompiledTemplate, ParseError, VariableKind};
use super::render::{RenderError, Rendered};
use crate::domain::{TemplateButton, TemplateCategory, TemplateContent, TemplateHeader};
use crate::ports::{ProviderContent, TemplateAction};

/// A template's parts, compiled once.
#[derive(Debug, Clone)]
pub struct TemplatePlan {
    header: Option<CompiledTemplate>,
    body: CompiledTemplate,
    urls: Vec<Option<CompiledTemplate>>,
    /// Variable names in provider order, with their provider key (`"1"`, `"2"`…).
    keys: Vec<(String, String)>,
}

/// A template rendered for one recipient (or with its samples).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preview {
    /// Header text, when the header is text.
    pub header: Option<String>,
    /// Body text as the customer sees it.
    pub body: String,
    /// Footer.
    pub footer: Option<String>,
    /// Button labels, with each URL as it will open.
    pub buttons: Vec<PreviewButton>,
    /// Variables that had no value and used their fallback.
    pub fallbacks_used: Vec<String>,
}

/// A button in a preview.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewButton {
    /// Label.
    pub label: String,
    /// URL after substitution, for URL buttons.
    pub url: Option<String>,
}

impl TemplatePlan {
    /// Compiles every part of `content`.
    pub fn compile(content: &TemplateContent) -> Result<Self, ParseError> {
        let header = match &content.header {
            Some(TemplateHeader::Text { text }) => Some(CompiledTemplate::parse(text)?),
            _ => None,
        };
        let body = CompiledTemplate::parse(&content.body)?;
        let urls = content
            .buttons
            .iter()
            .map(|b| match b {
                TemplateButton::Url { url, .. } => CompiledTemplate::parse(url).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys: Vec<(String, String)> = Vec::new();
        for part in header.iter().chain(std::iter::once(&body)).chain(urls.iter().flatten()) {
            for v in part.variables() {
                if keys.iter().any(|(n, _)| *n == v.name) {
                    continue;
                }
                let key = match v.kind {
                    VariableKind::Positional(n) => n.to_string(),
                    VariableKind::Named => (keys.len() + 1).to_string(),
                };
                keys.push((v.name.clone(), key));
            }
        }
        Ok(Self { header, body, urls, keys })
    }

    /// Variable names in provider order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(n, _)| n.as_str())
    }

    /// The provider key (`"1"`) of a variable.
    pub fn key(&self, name: &str) -> Option<&str> {
        self.keys.iter().find(|(n, _)| n == name).map(|(_, k)| k.as_str())
    }

    fn provider_text(&self, t: &CompiledTemplate) -> String {
        let mut out = String::with_capacity(t.source().len());
        let src = t.source();
        let mut at = 0;
        for p in t.placeholders() {
            out.push_str(&src[at..p.start]);
            let name = &t.variables()[p.slot].name;
            out.push_str("{{");
            out.push_str(self.key(name).unwrap_or(name));
            out.push_str("}}");
            at = p.end;
        }
        out.push_str(&src[at..]);
        out
    }

    /// The template as the provider stores it for review.
    pub fn provider_content(
        &self,
        content: &TemplateContent,
        category: TemplateCategory,
    ) -> ProviderContent {
        if category == TemplateCategory::Authentication {
            let label = content
                .buttons
                .first()
                .map(|b| b.label().to_owned())
                .unwrap_or_else(|| "Copy code".into());
            return ProviderContent::Authentication {
                code_expiration_minutes: content.code_expiration_minutes,
                copy_code_text: label,
            };
        }
        let body = self.provider_text(&self.body);
        let media: Vec<String> = match &content.header {
            Some(TemplateHeader::Media { sample_url: Some(u), .. }) => vec![u.clone()],
            _ => Vec::new(),
        };
        let plain = content.footer.is_none() && content.buttons.is_empty() && self.header.is_none();
        match (&content.header, plain) {
            (None, true) => return ProviderContent::Text { body },
            (Some(TemplateHeader::Media { .. }), true) => {
                return ProviderContent::Media { body: Some(body), media };
            }
            _ => {}
        }
        let actions = content
            .buttons
            .iter()
            .zip(&self.urls)
            .map(|(b, url)| match b {
                TemplateButton::QuickReply { label } => {
                    TemplateAction::QuickReply { title: label.clone(), id: label.clone() }
                }
                TemplateButton::Url { label, url: raw } => TemplateAction::Url {
                    title: label.clone(),
                    url: url.as_ref().map_or_else(|| raw.clone(), |u| self.provider_text(u)),
                },
                TemplateButton::Phone { label, phone } => {
                    TemplateAction::Phone { title: label.clone(), phone: phone.clone() }
                }
                TemplateButton::CopyCode { label, example } => {
                    TemplateAction::CopyCode { title: label.clone(), code: example.clone() }
                }
            })
            .collect();
        ProviderContent::WhatsAppCard {
            header_text: self.header.as_ref().map(|h| self.provider_text(h)),
            body,
            footer: content.footer.clone(),
            media,
            actions,
        }
    }

    /// Sample values keyed the provider's way.
    pub fn provider_samples(&self, content: &TemplateContent) -> BTreeMap<String, String> {
        self.keys
            .iter()
            .filter_map(|(name, key)| content.samples.get(name).map(|s| (key.clone(), s.clone())))
            .collect()
    }

    /// `ContentVariables` for one send: every variable's value by provider key,
    /// fallbacks applied, values checked.
    pub fn content_variables<'a>(
        &'a self,
        lookup: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<BTreeMap<String, String>, RenderError> {
        let mut out = BTreeMap::new();
        for part in
            self.header.iter().chain(std::iter::once(&self.body)).chain(self.urls.iter().flatten())
        {
            let values: Vec<Option<&str>> =
                part.variables().iter().map(|v| lookup(&v.name)).collect();
            for (slot, value) in part.positional_values(&values)?.into_values().enumerate() {
                let name = &part.variables()[slot].name;
                if let Some(key) = self.key(name) {
                    out.entry(key.to_owned()).or_insert(value);
                }
            }
        }
        Ok(out)
    }

    /// Renders every part for a reader: what the customer will see.
    pub fn preview<'a>(
        &'a self,
        content: &TemplateContent,
        lookup: impl Fn(&str) -> Option<&'a str> + Copy,
    ) -> Result<Preview, RenderError> {
        let mut fallbacks_used = Vec::new();
        let mut render = |t: &'a CompiledTemplate| -> Result<String, RenderError> {
            let Rendered { text, fallbacks_used: used } = t.render_with(lookup)?;
            for name in used {
                if !fallbacks_used.contains(&name) {
                    fallbacks_used.push(name);
                }
            }
            Ok(text)
        };
        let header = self.header.as_ref().map(&mut render).transpose()?;
        let body = render(&self.body)?;
        let mut buttons = Vec::with_capacity(content.buttons.len());
        for (b, url) in content.buttons.iter().zip(&self.urls) {
            let url = url.as_ref().map(&mut render).transpose()?;
            buttons.push(PreviewButton { label: b.label().to_owned(), url });
        }
        Ok(Preview { header, body, footer: content.footer.clone(), buttons, fallbacks_used })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> TemplateContent {
        TemplateContent {
            header: Some(TemplateHeader::Text { text: "Order {{order}}".into() }),
            body: "Hi {{name|there}}, order {{order}} ships today from our shop.".into(),
            footer: Some("Reply STOP to opt out".into()),
            buttons: vec![TemplateButton::Url {
                label: "Track".into(),
                url: "https://t.example.com/{{tracking}}".into(),
            }],
            samples: BTreeMap::from([
                ("order".into(), "#42".into()),
                ("name".into(), "Wanjiku".into()),
                ("tracking".into(), "ZX9".into()),
            ]),
            code_expiration_minutes: None,
        }
    }

    #[test]
    fn numbering_is_shared_across_parts() {
        let c = content();
        let plan = TemplatePlan::compile(&c).unwrap();
        assert_eq!(plan.variables().collect::<Vec<_>>(), ["order", "name", "tracking"]);
        let ProviderContent::WhatsAppCard { header_text, body, actions, .. } =
            plan.provider_content(&c, TemplateCategory::Utility)
        else {
            panic!("expected a card")
        };
        assert_eq!(header_text.as_deref(), Some("Order {{1}}"));
        assert_eq!(body, "Hi {{2}}, order {{1}} ships today from our shop.");
        assert_eq!(
            actions[0],
            TemplateAction::Url {
                title: "Track".into(),
                url: "https://t.example.com/{{3}}".into()
            }
        );
        assert_eq!(
            plan.provider_samples(&c),
            BTreeMap::from([
                ("1".into(), "#42".into()),
                ("2".into(), "Wanjiku".into()),
                ("3".into(), "ZX9".into()),
            ])
        );
    }

    #[test]
    fn content_variables_and_preview_apply_fallbacks() {
        let c = content();
        let plan = TemplatePlan::compile(&c).unwrap();
        let lookup = |n: &str| match n {
            "order" => Some("#7"),
            "tracking" => Some("AB1"),
            _ => None,
        };
        let vars = plan.content_variables(lookup).unwrap();
        assert_eq!(
            vars,
            BTreeMap::from([
                ("1".into(), "#7".into()),
                ("2".into(), "there".into()),
                ("3".into(), "AB1".into())
            ])
        );
        let p = plan.preview(&c, lookup).unwrap();
        assert_eq!(p.header.as_deref(), Some("Order #7"));
        assert_eq!(p.body, "Hi there, order #7 ships today from our shop.");
        assert_eq!(p.buttons[0].url.as_deref(), Some("https://t.example.com/AB1"));
        assert_eq!(p.fallbacks_used, ["name"]);
    }

    #[test]
    fn plain_text_templates_stay_plain() {
        let c = TemplateContent {
            body: "Thanks {{1}} for shopping with us today".into(),
            ..Default::default()
        };
        let plan = TemplatePlan::compile(&c).unwrap();
        assert_eq!(
            plan.provider_content(&c, TemplateCategory::Marketing),
            ProviderContent::Text { body: "Thanks {{1}} for shopping with us today".into() }
        );
    }
}
