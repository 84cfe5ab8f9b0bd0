//! Checks a template against every WhatsApp rule and reports all problems at once.

use std::collections::BTreeSet;

use super::parse::{CompiledTemplate, VariableKind, char_position};
use super::render::check_value;
use super::rules::*;
use crate::domain::{
    PhoneNumber, TemplateButton, TemplateCategory, TemplateContent, TemplateHeader,
};

/// A template as submitted for checking.
#[derive(Debug, Clone, Copy)]
pub struct TemplateDraft<'a> {
    /// WhatsApp name.
    pub name: &'a str,
    /// Category.
    pub category: TemplateCategory,
    /// Language code.
    pub language: &'a str,
    /// Content.
    pub content: &'a TemplateContent,
}

struct Issues(Vec<TemplateIssue>);

impl Issues {
    fn add(
        &mut self,
        rule: TemplateRule,
        field: impl Into<String>,
        position: Option<usize>,
        message: impl Into<String>,
    ) {
        self.0.push(TemplateIssue { rule, field: field.into(), position, message: message.into() });
    }
}

/// Every rule broken by `draft`, in field order; empty when WhatsApp would accept it.
///
/// ```
/// use whatsapp_crm_core::template::{TemplateDraft, TemplateRule, validate_template};
/// use whatsapp_crm_core::{TemplateCategory, TemplateContent};
///
/// let content = TemplateContent { body: "{{name}} your order shipped {{order}}".into(), ..Default::default() };
/// let issues = validate_template(&TemplateDraft {
///     name: "Order Update", category: TemplateCategory::Utility, language: "en", content: &content,
/// });
/// let rules: Vec<_> = issues.iter().map(|i| i.rule).collect();
/// assert!(rules.contains(&TemplateRule::NameInvalid));
/// assert!(rules.contains(&TemplateRule::BodyStartsWithVariable));
/// assert!(rules.contains(&TemplateRule::BodyEndsWithVariable));
/// ```
pub fn validate_template(draft: &TemplateDraft<'_>) -> Vec<TemplateIssue> {
    let mut out = Issues(Vec::new());
    check_name(draft.name, &mut out);
    check_language(draft.language, &mut out);
    let c = draft.content;
    let header = match &c.header {
        Some(TemplateHeader::Text { text }) => check_header(text, &mut out),
        _ => None,
    };
    let body = check_body(&c.body, &mut out);
    check_footer(c.footer.as_deref(), &mut out);
    let compiled: Vec<&CompiledTemplate> = header.iter().chain(body.iter()).collect();
    check_variables(&compiled, &mut out);
    if let Some(body) = &body {
        check_body_shape(body, &mut out);
    }
    let url_vars = check_buttons(&c.buttons, &mut out);
    check_samples(&compiled, &url_vars, c, &mut out);
    check_authentication(draft, &mut out);
    out.0
}

fn check_name(name: &str, out: &mut Issues) {
    if name.is_empty() {
        out.add(
            TemplateRule::NameInvalid,
            "name",
            None,
            "give the template a name such as order_update",
        );
    } else if let Some(i) =
        name.chars().position(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    {
        out.add(
            TemplateRule::NameInvalid,
            "name",
            Some(i + 1),
            "names use only lower-case letters, digits and _ (like order_update)",
        );
    }
    if name.chars().count() > TEMPLATE_NAME_MAX_CHARS {
        out.add(
            TemplateRule::NameTooLong,
            "name",
            None,
            format!("names are at most {TEMPLATE_NAME_MAX_CHARS} characters"),
        );
    }
}

fn check_language(lang: &str, out: &mut Issues) {
    let (base, region) = lang.split_once('_').map_or((lang, None), |(b, r)| (b, Some(r)));
    let base_ok = (2..=3).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok =
        region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
    if !(base_ok && region_ok) {
        out.add(
            TemplateRule::LanguageInvalid,
            "language",
            None,
            "use a language code such as en, sw or en_US",
        );
    }
}

fn parse(field: &str, text: &str, out: &mut Issues) -> Option<CompiledTemplate> {
    match CompiledTemplate::parse(text) {
        Ok(t) => Some(t),
        Err(e) => {
            out.add(TemplateRule::PlaceholderSyntax, field, Some(e.position()), e.to_string());
            None
        }
    }
}

fn check_header(text: &str, out: &mut Issues) -> Option<CompiledTemplate> {
    let n = text.chars().count();
    if n > HEADER_TEXT_MAX_CHARS {
        out.add(
            TemplateRule::HeaderTooLong,
            "header",
            Some(HEADER_TEXT_MAX_CHARS + 1),
            format!("the header is {n} characters; keep it to {HEADER_TEXT_MAX_CHARS}"),
        );
    }
    if let Some(i) = ["*", "~", "```"].iter().filter_map(|m| text.find(m)).min() {
        out.add(
            TemplateRule::HeaderFormatting,
            "header",
            Some(char_position(text, i)),
            "headers cannot use bold, strike-through or code formatting",
        );
    }
    let t = parse("header", text, out)?;
    if t.variables().len() > HEADER_MAX_VARIABLES {
        let at = t
            .placeholders()
            .iter()
            .find(|p| p.slot >= HEADER_MAX_VARIABLES)
            .map(|p| char_position(text, p.start));
        out.add(
            TemplateRule::HeaderTooManyVariables,
            "header",
            at,
            "a header may contain only one variable",
        );
    }
    check_adjacent("header", &t, out);
    Some(t)
}

fn check_body(text: &str, out: &mut Issues) -> Option<CompiledTemplate> {
    if text.trim().is_empty() {
        out.add(TemplateRule::BodyRequired, "body", None, "write the message body");
        return None;
    }
    let n = text.chars().count();
    if n > BODY_MAX_CHARS {
        out.add(
            TemplateRule::BodyTooLong,
            "body",
            Some(BODY_MAX_CHARS + 1),
            format!("the body is {n} characters; keep it to {BODY_MAX_CHARS}"),
        );
    }
    parse("body", text, out)
}

fn check_footer(footer: Option<&str>, out: &mut Issues) {
    let Some(text) = footer else { return };
    let n = text.chars().count();
    if n > FOOTER_MAX_CHARS {
        out.add(
            TemplateRule::FooterTooLong,
            "footer",
            Some(FOOTER_MAX_CHARS + 1),
            format!("the footer is {n} characters; keep it to {FOOTER_MAX_CHARS}"),
        );
    }
    if let Some(i) = text.find("{{") {
        out.add(
            TemplateRule::FooterHasVariables,
            "footer",
            Some(char_position(text, i)),
            "the footer cannot contain variables",
        );
    }
}

fn check_variables(parts: &[&CompiledTemplate], out: &mut Issues) {
    let vars: Vec<_> = parts.iter().flat_map(|t| t.variables()).collect();
    let positional: BTreeSet<u32> = vars
        .iter()
        .filter_map(|v| match v.kind {
            VariableKind::Positional(n) => Some(n),
            VariableKind::Named => None,
        })
        .collect();
    let named = vars.iter().any(|v| v.kind == VariableKind::Named);
    if named && !positional.is_empty() {
        out.add(
            TemplateRule::MixedVariableFormats,
            "body",
            None,
            "use either numbered variables like {{1}} or named ones like {{first_name}}, not both",
        );
    }
    if let Some(&max) = positional.last() {
        let missing: Vec<String> =
            (1..=max).filter(|n| !positional.contains(n)).map(|n| format!("{{{{{n}}}}}")).collect();
        if !missing.is_empty() {
            out.add(
                TemplateRule::NonSequentialVariables,
                "body",
                None,
                format!(
                    "numbered variables must not skip numbers: {} is missing",
                    missing.join(", ")
                ),
            );
        }
    }
    let distinct: BTreeSet<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    if distinct.len() > TEMPLATE_MAX_VARIABLES {
        out.add(
            TemplateRule::TooManyVariables,
            "body",
            None,
            format!("at most {TEMPLATE_MAX_VARIABLES} variables per template"),
        );
    }
}

fn check_adjacent(field: &str, t: &CompiledTemplate, out: &mut Issues) {
    let src = t.source();
    for pair in t.placeholders().windows(2) {
        if src[pair[0].end..pair[1].start].trim().is_empty() {
            out.add(
                TemplateRule::AdjacentVariables,
                field,
                Some(char_position(src, pair[1].start)),
                "put words between two variables",
            );
        }
    }
}

fn check_body_shape(body: &CompiledTemplate, out: &mut Issues) {
    check_adjacent("body", body, out);
    let src = body.source();
    let (Some(first), Some(last)) = (body.placeholders().first(), body.placeholders().last())
    else {
        return;
    };
    if src[..first.start].trim().is_empty() {
        out.add(
            TemplateRule::BodyStartsWithVariable,
            "body",
            Some(1),
            "start the body with words, not a variable",
        );
    }
    if src[last.end..].chars().all(|c| c.is_whitespace() || c.is_ascii_punctuation()) {
        out.add(
            TemplateRule::BodyEndsWithVariable,
            "body",
            Some(char_position(src, last.start)),
            "end the body with words, not a variable",
        );
    }
    let mut fixed = String::with_capacity(src.len());
    let mut at = 0;
    for p in body.placeholders() {
        fixed.push_str(&src[at..p.start]);
        fixed.push(' ');
        at = p.end;
    }
    fixed.push_str(&src[at..]);
    let words = fixed.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count();
    let vars = body.variables().len();
    if words < 2 * vars + 1 {
        out.add(TemplateRule::TooFewWords, "body", None, format!("with {vars} variables the body needs at least {} words of fixed text; it has {words}", 2 * vars + 1));
    }
}

/// Checks buttons; returns the variable names used in URL buttons.
fn check_buttons(buttons: &[TemplateButton], out: &mut Issues) -> Vec<String> {
    let count = |f: fn(&TemplateButton) -> bool| buttons.iter().filter(|b| f(b)).count();
    let limits = [
        (buttons.len(), BUTTONS_MAX, "buttons"),
        (
            count(|b| matches!(b, TemplateButton::QuickReply { .. })),
            QUICK_REPLY_BUTTONS_MAX,
            "quick-reply buttons",
        ),
        (count(|b| matches!(b, TemplateButton::Url { .. })), URL_BUTTONS_MAX, "URL buttons"),
        (count(|b| matches!(b, TemplateButton::Phone { .. })), PHONE_BUTTONS_MAX, "phone buttons"),
        (
            count(|b| matches!(b, TemplateButton::CopyCode { .. })),
            COPY_CODE_BUTTONS_MAX,
            "copy-code buttons",
        ),
    ];
    for (n, max, what) in limits {
        if n > max {
            out.add(
                TemplateRule::TooManyButtons,
                "buttons",
                None,
                format!("at most {max} {what}; there are {n}"),
            );
        }
    }
    let kinds: Vec<bool> =
        buttons.iter().map(|b| matches!(b, TemplateButton::QuickReply { .. })).collect();
    if kinds.windows(2).filter(|w| w[0] != w[1]).count() > 1 {
        out.add(
            TemplateRule::ButtonsNotGrouped,
            "buttons",
            None,
            "keep all quick-reply buttons together, before or after the other buttons",
        );
    }
    let mut url_vars = Vec::new();
    for (i, b) in buttons.iter().enumerate() {
        let field = format!("buttons[{i}]");
        let label = b.label();
        if label.trim().is_empty() {
            out.add(TemplateRule::ButtonLabelRequired, &field, None, "give the button a label");
        }
        if label.chars().count() > BUTTON_LABEL_MAX_CHARS {
            out.add(
                TemplateRule::ButtonLabelTooLong,
                &field,
                Some(BUTTON_LABEL_MAX_CHARS + 1),
                format!("button labels are at most {BUTTON_LABEL_MAX_CHARS} characters"),
            );
        }
        if let Some(at) = label.find("{{") {
            out.add(
                TemplateRule::ButtonLabelHasVariable,
                &field,
                Some(char_position(label, at)),
                "button labels cannot contain variables",
            );
        }
        match b {
            TemplateButton::Url { url, .. } => check_url(url, &field, &mut url_vars, out),
            TemplateButton::Phone { phone, .. } => {
                if let Err(e) = PhoneNumber::parse(phone) {
                    out.add(TemplateRule::ButtonPhoneInvalid, &field, None, e.to_string());
                }
            }
            TemplateButton::CopyCode { example, .. } => {
                if example.is_empty() || example.chars().count() > COPY_CODE_MAX_CHARS {
                    out.add(
                        TemplateRule::CopyCodeInvalid,
                        &field,
                        None,
                        format!("the code sample must be 1-{COPY_CODE_MAX_CHARS} characters"),
                    );
                }
            }
            TemplateButton::QuickReply { .. } => {}
        }
    }
    url_vars
}

fn check_url(url: &str, field: &str, url_vars: &mut Vec<String>, out: &mut Issues) {
    let lower = url.to_ascii_lowercase();
    let mut problem = None;
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        problem = Some((None, "the URL must start with https:// and contain no spaces".to_owned()));
    } else if url.chars().count() > BUTTON_URL_MAX_CHARS {
        problem = Some((None, format!("URLs are at most {BUTTON_URL_MAX_CHARS} characters")));
    } else {
        match CompiledTemplate::parse(url) {
            Err(e) => problem = Some((Some(e.position()), e.to_string())),
            Ok(t) => {
                let ph = t.placeholders();
                if ph.len() > 1 || ph.first().is_some_and(|p| p.end != url.len()) {
                    let at = ph.first().map(|p| char_position(url, p.start));
                    problem = Some((at, "a URL may have one variable, at its very end".into()));
                }
                url_vars.extend(t.variables().iter().map(|v| v.name.clone()));
            }
        }
    }
    if let Some((position, message)) = problem {
        out.add(TemplateRule::ButtonUrlInvalid, field, position, message);
    }
}

fn check_samples(
    parts: &[&CompiledTemplate],
    url_vars: &[String],
    c: &TemplateContent,
    out: &mut Issues,
) {
    let names: BTreeSet<&str> = parts
        .iter()
        .flat_map(|t| t.variables())
        .map(|v| v.name.as_str())
        .chain(url_vars.iter().map(String::as_str))
        .collect();
    for name in names {
        let field = format!("samples.{name}");
        match c.samples.get(name).filter(|s| !s.trim().is_empty()) {
            None => out.add(
                TemplateRule::MissingSample,
                field,
                None,
                format!("give an example value for {{{{{name}}}}}: WhatsApp's review needs one"),
            ),
            Some(sample) => {
                if let Err(p) = check_value(sample) {
                    out.add(TemplateRule::InvalidSample, field, None, format!("the example {p}"));
                } else if sample.chars().count() > SAMPLE_MAX_CHARS {
                    out.add(
                        TemplateRule::InvalidSample,
                        field,
                        None,
                        format!("examples are at most {SAMPLE_MAX_CHARS} characters"),
                    );
                }
            }
        }
    }
}

fn check_authentication(d: &TemplateDraft<'_>, out: &mut Issues) {
    let c = d.content;
    if let Some(m) = c.code_expiration_minutes {
        if d.category != TemplateCategory::Authentication {
            out.add(
                TemplateRule::CodeExpirationInvalid,
                "code_expiration_minutes",
                None,
                "only authentication templates have a code expiry",
            );
        } else if !CODE_EXPIRATION_MINUTES.contains(&m) {
            out.add(
                TemplateRule::CodeExpirationInvalid,
                "code_expiration_minutes",
                None,
                "the code expiry must be 1 to 90 minutes",
            );
        }
    }
    if d.category != TemplateCategory::Authentication {
        return;
    }
    if c.header.is_some() {
        out.add(
            TemplateRule::AuthenticationFormat,
            "header",
            None,
            "authentication templates have no header",
        );
    }
    let copy_codes =
        c.buttons.iter().filter(|b| matches!(b, TemplateButton::CopyCode { .. })).count();
    if copy_codes != 1 || c.buttons.len() != 1 {
        out.add(
            TemplateRule::AuthenticationFormat,
            "buttons",
            None,
            "authentication templates have exactly one copy-code button",
        );
    }
    if CompiledTemplate::parse(&c.body).is_ok_and(|t| t.variables().len() > 1) {
        out.add(
            TemplateRule::AuthenticationFormat,
            "body",
            None,
            "authentication templates carry only the code as a variable",
        );
    }
}
