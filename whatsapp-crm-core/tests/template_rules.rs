//! Every WhatsApp template rule has a failing and a passing fixture; a template
//! breaking several rules reports all of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use whatsapp_crm_core::template::{TemplateDraft, TemplateRule, validate_template};
use whatsapp_crm_core::{TemplateButton, TemplateCategory, TemplateContent, TemplateHeader};

/// A template WhatsApp accepts; each fixture changes one thing.
#[derive(Clone)]
struct Fixture {
    name: String,
    category: TemplateCategory,
    language: String,
    content: TemplateContent,
}

fn valid() -> Fixture {
    Fixture {
        name: "order_update".into(),
        category: TemplateCategory::Utility,
        language: "en".into(),
        content: TemplateContent {
            body: "Hello {{name}}, your order {{order}} is on its way to you today.".into(),
            samples: BTreeMap::from([
                ("name".into(), "Wanjiku".into()),
                ("order".into(), "#42".into()),
            ]),
            ..TemplateContent::default()
        },
    }
}

fn with(f: impl FnOnce(&mut Fixture)) -> Fixture {
    let mut fx = valid();
    f(&mut fx);
    fx
}

fn body(text: &str) -> Fixture {
    with(|f| f.content.body = text.into())
}

fn header(text: &str) -> Fixture {
    with(|f| f.content.header = Some(TemplateHeader::Text { text: text.into() }))
}

fn buttons(b: Vec<TemplateButton>) -> Fixture {
    with(|f| f.content.buttons = b)
}

fn qr(label: &str) -> TemplateButton {
    TemplateButton::QuickReply { label: label.into() }
}

fn url(u: &str) -> TemplateButton {
    TemplateButton::Url { label: "Track".into(), url: u.into() }
}

fn authentication(f: impl FnOnce(&mut Fixture)) -> Fixture {
    let mut fx = Fixture {
        name: "login_code".into(),
        category: TemplateCategory::Authentication,
        language: "en".into(),
        content: TemplateContent {
            body: "Your verification code is {{code}} and it expires soon, do not share it.".into(),
            buttons: vec![TemplateButton::CopyCode {
                label: "Copy code".into(),
                example: "123456".into(),
            }],
            samples: BTreeMap::from([("code".into(), "123456".into())]),
            code_expiration_minutes: Some(10),
            ..TemplateContent::default()
        },
    };
    f(&mut fx);
    fx
}

fn rules_of(f: &Fixture) -> Vec<TemplateRule> {
    let draft = TemplateDraft {
        name: &f.name,
        category: f.category,
        language: &f.language,
        content: &f.content,
    };
    validate_template(&draft).into_iter().map(|i| i.rule).collect()
}

/// (rule, a fixture that breaks it, a fixture that passes every rule).
fn fixtures() -> Vec<(TemplateRule, Fixture, Fixture)> {
    use TemplateRule::*;
    let many_vars: String =
        (0..101).map(|i| format!("w{i} {{{{v{i}}}}} ")).collect::<String>() + "end";
    vec![
        (NameInvalid, with(|f| f.name = "Order Update".into()), valid()),
        (NameTooLong, with(|f| f.name = "a".repeat(513)), with(|f| f.name = "a".repeat(512))),
        (
            LanguageInvalid,
            with(|f| f.language = "english".into()),
            with(|f| f.language = "en_US".into()),
        ),
        (PlaceholderSyntax, body("Hello {{name, your order is ready for pickup today."), valid()),
        (HeaderTooLong, header(&"h".repeat(61)), header(&"h".repeat(60))),
        (HeaderTooManyVariables, header("Hi {{name}} and {{order}}"), header("Hi {{name}}")),
        (HeaderFormatting, header("*Big* sale"), header("Big sale")),
        (BodyRequired, body("   "), valid()),
        (BodyTooLong, body(&"b".repeat(1025)), body(&"b".repeat(1024))),
        (
            FooterTooLong,
            with(|f| f.content.footer = Some("f".repeat(61))),
            with(|f| f.content.footer = Some("f".repeat(60))),
        ),
        (
            FooterHasVariables,
            with(|f| f.content.footer = Some("Reply {{name}}".into())),
            with(|f| f.content.footer = Some("Reply STOP to opt out".into())),
        ),
        (
            MixedVariableFormats,
            with(|f| {
                f.content.body =
                    "Hello {{1}}, your order {{order}} is on its way to you today.".into();
                f.content.samples.insert("1".into(), "Wanjiku".into());
            }),
            with(|f| {
                f.content.body = "Hello {{1}}, your order {{2}} is on its way to you today.".into();
                f.content.samples =
                    BTreeMap::from([("1".into(), "Wanjiku".into()), ("2".into(), "#42".into())]);
            }),
        ),
        (
            NonSequentialVariables,
            with(|f| {
                f.content.body = "Hello {{1}}, your order {{3}} is on its way to you today.".into();
                f.content.samples =
                    BTreeMap::from([("1".into(), "Wanjiku".into()), ("3".into(), "#42".into())]);
            }),
            with(|f| {
                f.content.body = "Hello {{2}}, your order {{1}} is on its way to you today.".into();
                f.content.samples =
                    BTreeMap::from([("1".into(), "#42".into()), ("2".into(), "Wanjiku".into())]);
            }),
        ),
        (TooManyVariables, body(&many_vars), valid()),
        (
            AdjacentVariables,
            body("Hello {{name}} {{order}} is on its way to you today, thanks."),
            valid(),
        ),
        (
            BodyStartsWithVariable,
            body("{{name}}, your order {{order}} is on its way to you today."),
            valid(),
        ),
        (
            BodyEndsWithVariable,
            body("Hello {{name}}, your order is on its way to you: {{order}}."),
            valid(),
        ),
        (TooFewWords, body("Hi {{name}}, order {{order}} shipped."), valid()),
        (
            MissingSample,
            with(|f| {
                f.content.samples.remove("order");
            }),
            valid(),
        ),
        (
            InvalidSample,
            with(|f| {
                f.content.samples.insert("order".into(), "line\nbreak".into());
            }),
            valid(),
        ),
        (
            TooManyButtons,
            buttons((0..11).map(|i| qr(&format!("Option {i}"))).collect()),
            buttons((0..10).map(|i| qr(&format!("Option {i}"))).collect()),
        ),
        (
            ButtonsNotGrouped,
            buttons(vec![qr("Yes"), url("https://shop.example.com/track"), qr("No")]),
            buttons(vec![qr("Yes"), qr("No"), url("https://shop.example.com/track")]),
        ),
        (ButtonLabelRequired, buttons(vec![qr(" ")]), buttons(vec![qr("Yes")])),
        (
            ButtonLabelTooLong,
            buttons(vec![qr(&"l".repeat(26))]),
            buttons(vec![qr(&"l".repeat(25))]),
        ),
        (ButtonLabelHasVariable, buttons(vec![qr("Track {{order}}")]), buttons(vec![qr("Track")])),
        (
            ButtonUrlInvalid,
            buttons(vec![url("https://shop.example.com/{{order}}/track")]),
            buttons(vec![url("https://shop.example.com/track/{{order}}")]),
        ),
        (
            ButtonPhoneInvalid,
            buttons(vec![TemplateButton::Phone {
                label: "Call us".into(),
                phone: "0712345678".into(),
            }]),
            buttons(vec![TemplateButton::Phone {
                label: "Call us".into(),
                phone: "+254712345678".into(),
            }]),
        ),
        (
            CopyCodeInvalid,
            buttons(vec![TemplateButton::CopyCode {
                label: "Copy".into(),
                example: "1234567890123456".into(),
            }]),
            buttons(vec![TemplateButton::CopyCode {
                label: "Copy".into(),
                example: "SAVE20".into(),
            }]),
        ),
        (
            AuthenticationFormat,
            authentication(|f| {
                f.content.header = Some(TemplateHeader::Text { text: "Login".into() })
            }),
            authentication(|_| {}),
        ),
        (
            CodeExpirationInvalid,
            with(|f| f.content.code_expiration_minutes = Some(10)),
            authentication(|f| f.content.code_expiration_minutes = Some(90)),
        ),
        (
            CodeExpirationInvalid,
            authentication(|f| f.content.code_expiration_minutes = Some(91)),
            authentication(|f| f.content.code_expiration_minutes = Some(1)),
        ),
    ]
}

#[test]
fn every_rule_has_a_failing_and_a_passing_fixture() {
    let all = fixtures();
    for (rule, fails, passes) in &all {
        assert!(
            rules_of(fails).contains(rule),
            "{rule:?}: failing fixture not caught: {:?}",
            rules_of(fails)
        );
        assert_eq!(rules_of(passes), [], "{rule:?}: passing fixture reported problems");
    }
    // Every rule in the enum is covered.
    let covered: std::collections::BTreeSet<String> =
        all.iter().map(|(r, _, _)| format!("{r:?}")).collect();
    let every = serde_json::to_value([
        "name_invalid",
        "name_too_long",
        "language_invalid",
        "placeholder_syntax",
        "header_too_long",
        "header_too_many_variables",
        "header_formatting",
        "body_required",
        "body_too_long",
        "footer_too_long",
        "footer_has_variables",
        "mixed_variable_formats",
        "non_sequential_variables",
        "too_many_variables",
        "adjacent_variables",
        "body_starts_with_variable",
        "body_ends_with_variable",
        "too_few_words",
        "missing_sample",
        "invalid_sample",
        "too_many_buttons",
        "buttons_not_grouped",
        "button_label_required",
        "button_label_too_long",
        "button_label_has_variable",
        "button_url_invalid",
        "button_phone_invalid",
        "copy_code_invalid",
        "authentication_format",
        "code_expiration_invalid",
    ])
    .unwrap();
    for code in every.as_array().unwrap() {
        let rule: TemplateRule = serde_json::from_value(code.clone()).unwrap();
        assert!(covered.contains(&format!("{rule:?}")), "no fixture for {rule:?}");
    }
}

#[test]
fn several_broken_rules_are_all_reported_with_positions() {
    let f = Fixture {
        name: "Bad Name!".into(),
        category: TemplateCategory::Marketing,
        language: "english".into(),
        content: TemplateContent {
            header: Some(TemplateHeader::Text { text: "*Sale* {{a}} {{b}}".into() }),
            body: "{{1}} {{3}}".into(),
            footer: Some("Bye {{x}}".into()),
            buttons: vec![qr(""), url("ftp://x")],
            samples: BTreeMap::new(),
            code_expiration_minutes: Some(5),
        },
    };
    let draft = TemplateDraft {
        name: &f.name,
        category: f.category,
        language: &f.language,
        content: &f.content,
    };
    let issues = validate_template(&draft);
    let rules: Vec<TemplateRule> = issues.iter().map(|i| i.rule).collect();
    use TemplateRule::*;
    for expected in [
        NameInvalid,
        LanguageInvalid,
        HeaderFormatting,
        HeaderTooManyVariables,
        FooterHasVariables,
        MixedVariableFormats,
        NonSequentialVariables,
        AdjacentVariables,
        BodyStartsWithVariable,
        BodyEndsWithVariable,
        TooFewWords,
        MissingSample,
        ButtonLabelRequired,
        ButtonUrlInvalid,
        CodeExpirationInvalid,
    ] {
        assert!(rules.contains(&expected), "{expected:?} missing from {rules:?}");
    }
    let name = issues.iter().find(|i| i.rule == NameInvalid).unwrap();
    assert_eq!((name.field.as_str(), name.position), ("name", Some(1)));
    let adjacent =
        issues.iter().find(|i| i.rule == AdjacentVariables && i.field == "body").unwrap();
    assert_eq!(adjacent.position, Some(7));
    assert!(issues.iter().all(|i| !i.message.is_empty()));
}
