//! Properties of the template engine over arbitrary input: parsing and
//! validation never panic, and rendering each variable as its own placeholder
//! text reproduces the source exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use whatsapp_crm_core::template::{
    CompiledTemplate, TemplateDraft, check_value, normalize_value, validate_template,
};
use whatsapp_crm_core::{TemplateButton, TemplateCategory, TemplateContent, TemplateHeader};

/// Text rich in the characters the parser cares about.
fn template_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("{{".to_owned()),
            Just("}}".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("|".to_owned()),
            Just(" ".to_owned()),
            Just("name".to_owned()),
            Just("1".to_owned()),
            Just("ü".to_owned()),
            "[a-z0-9_. ]{0,6}",
            any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_and_round_trips(text in template_text()) {
        if let Ok(t) = CompiledTemplate::parse(&text) {
            // Each variable's value is the placeholder text it came from (first occurrence),
            // which reproduces the source when every occurrence is written the same way.
            let sources: Vec<&str> = t.variables().iter().enumerate()
                .map(|(slot, _)| {
                    let p = t.placeholders().iter().find(|p| p.slot == slot).unwrap();
                    &text[p.start..p.end]
                })
                .collect();
            let consistent = t.placeholders().iter().all(|p| &text[p.start..p.end] == sources[p.slot]);
            let clean = sources.iter().all(|s| check_value(s).is_ok());
            if consistent && clean {
                let values: Vec<Option<&str>> = sources.iter().map(|s| Some(*s)).collect();
                prop_assert_eq!(t.render(&values).unwrap(), text.clone());
            }
            // Text without placeholders renders to itself.
            if t.variables().is_empty() {
                prop_assert_eq!(t.render(&[]).unwrap(), text.clone());
            }
        }
    }

    #[test]
    fn validation_never_panics(
        name in "\\PC{0,20}",
        language in "\\PC{0,6}",
        header in proptest::option::of(template_text()),
        body in template_text(),
        footer in proptest::option::of(template_text()),
        label in template_text(),
        link in template_text(),
        cat in 0..3u8,
        expiry in proptest::option::of(any::<u16>()),
    ) {
        let content = TemplateContent {
            header: header.map(|text| TemplateHeader::Text { text }),
            body,
            footer,
            buttons: vec![
                TemplateButton::QuickReply { label: label.clone() },
                TemplateButton::Url { label, url: link.clone() },
                TemplateButton::Phone { label: "Call".into(), phone: link.clone() },
                TemplateButton::CopyCode { label: "Copy".into(), example: link },
            ],
            samples: Default::default(),
            code_expiration_minutes: expiry,
        };
        let category = [TemplateCategory::Marketing, TemplateCategory::Utility, TemplateCategory::Authentication][cat as usize];
        let issues = validate_template(&TemplateDraft { name: &name, category, language: &language, content: &content });
        for i in issues {
            prop_assert!(!i.message.is_empty());
        }
    }

    #[test]
    fn normalised_values_always_pass(value in "\\PC{0,40}|[ \\t\\n\\r a]{0,40}") {
        prop_assert!(check_value(&normalize_value(&value)).is_ok());
    }
}
