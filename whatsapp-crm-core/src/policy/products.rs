//! Limits on product messages, checked before anything is queued: cards,
//! and catalog (single- and multi-product) messages (commerce reference,
//! sections 1.1 and 1.2; spec point 3).

use std::collections::HashSet;

use super::content::{INTERACTIVE_BODY_MAX, INTERACTIVE_FOOTER_MAX, LIST_ROW_TITLE_MAX, text};
use crate::domain::{CatalogSection, ValidationError, validate_sku};

/// Longest card title (Twilio `twilio/card`; WhatsApp shows it as the body).
pub const CARD_TITLE_MAX: usize = INTERACTIVE_BODY_MAX;
/// Longest card subtitle (shown as the footer).
pub const CARD_SUBTITLE_MAX: usize = INTERACTIVE_FOOTER_MAX;
/// Products across all sections of a multi-product message.
pub const CATALOG_ITEMS_MAX: usize = 30;
/// Sections of a multi-product message.
pub const CATALOG_SECTIONS_MAX: usize = 10;
/// Longest header of a multi-product message (required there).
pub const CATALOG_HEADER_MAX: usize = 60;
/// Longest section title.
pub const CATALOG_SECTION_TITLE_MAX: usize = LIST_ROW_TITLE_MAX;

fn https(url: &str) -> bool {
    url.strip_prefix("https://").is_some_and(|rest| !rest.is_empty())
        && !url.contains(char::is_whitespace)
}

/// A card: a title, and an image that is an `https://` URL when given.
pub(super) fn check_card(
    v: &mut ValidationError,
    title: &str,
    subtitle: Option<&str>,
    media_url: Option<&str>,
) {
    text(v, "title", title, CARD_TITLE_MAX, true);
    if let Some(s) = subtitle {
        text(v, "subtitle", s, CARD_SUBTITLE_MAX, false);
    }
    if media_url.is_some_and(|u| !https(u)) {
        v.push("media_url", "must be an https:// URL without spaces");
    }
}

/// A catalog message: a catalog id, 1 to 30 products in 1 to 10 sections,
/// titled when there are several, with a header when there are several
/// products; each SKU once.
pub(super) fn check_catalog(
    v: &mut ValidationError,
    catalog_id: &str,
    header: Option<&str>,
    sections: &[CatalogSection],
) {
    if catalog_id.is_empty() || !catalog_id.chars().all(|c| c.is_ascii_digit()) {
        v.push("catalog_id", "set the business's Meta catalog id (digits)");
    }
    if sections.is_empty() || sections.len() > CATALOG_SECTIONS_MAX {
        v.push("sections", format!("give 1 to {CATALOG_SECTIONS_MAX} sections"));
    }
    let items: usize = sections.iter().map(|s| s.skus.len()).sum();
    if items == 0 || items > CATALOG_ITEMS_MAX {
        v.push("sections", format!("give 1 to {CATALOG_ITEMS_MAX} products in all, got {items}"));
    }
    match header {
        Some(h) => text(v, "header", h, CATALOG_HEADER_MAX, true),
        None if items > 1 => v.push("header", "a message with several products needs a header"),
        None => {}
    }
    let mut seen = HashSet::new();
    for (s, section) in sections.iter().enumerate() {
        match &section.title {
            Some(t) => text(v, &format!("sections[{s}].title"), t, CATALOG_SECTION_TITLE_MAX, true),
            None if sections.len() > 1 => v.push(
                format!("sections[{s}].title"),
                "each section needs a title when there are several",
            ),
            None => {}
        }
        if section.skus.is_empty() {
            v.push(format!("sections[{s}].skus"), "give at least one product");
        }
        for (i, sku) in section.skus.iter().enumerate() {
            if let Err(e) = validate_sku(sku) {
                v.push(format!("sections[{s}].skus[{i}]"), e);
            } else if !seen.insert(sku.as_str()) {
                v.push(format!("sections[{s}].skus[{i}]"), "each product may appear once");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Interactive, MessageContent, ReplyButton};
    use crate::policy::check_content;

    fn fields(content: Interactive) -> Vec<String> {
        check_content(&MessageContent::Interactive { interactive: content }, &[])
            .err()
            .map(|e| e.errors.into_iter().map(|f| f.field).collect())
            .unwrap_or_default()
    }

    fn catalog(header: Option<&str>, sections: Vec<CatalogSection>) -> Interactive {
        Interactive::Catalog {
            catalog_id: "1234567890".into(),
            header: header.map(str::to_owned),
            body: "New arrivals".into(),
            footer: None,
            sections,
        }
    }

    fn section(title: Option<&str>, n: usize, from: usize) -> CatalogSection {
        CatalogSection {
            title: title.map(str::to_owned),
            skus: (from..from + n).map(|i| format!("SKU-{i}")).collect(),
        }
    }

    #[test]
    fn cards_need_a_title_an_https_image_and_buttons() {
        let add = ReplyButton { id: "cart:add:UNGA".into(), title: "Add to cart".into() };
        let ok = Interactive::Card {
            title: "Unga 2kg".into(),
            subtitle: Some("KES 210.00".into()),
            media_url: Some("https://duka.example/unga.jpg".into()),
            buttons: vec![add.clone()],
        };
        assert!(fields(ok).is_empty());
        let bad = Interactive::Card {
            title: " ".into(),
            subtitle: Some("x".repeat(61)),
            media_url: Some("http://duka.example/unga.jpg".into()),
            buttons: vec![add.clone(), add.clone(), add.clone(), add],
        };
        assert_eq!(
            fields(bad),
            [
                "title",
                "subtitle",
                "media_url",
                "buttons",
                "buttons[1].title",
                "buttons[1].id",
                "buttons[2].title",
                "buttons[2].id",
                "buttons[3].title",
                "buttons[3].id"
            ]
        );
    }

    #[test]
    fn catalogs_hold_thirty_products_in_ten_sections() {
        assert!(fields(catalog(None, vec![section(None, 1, 0)])).is_empty(), "one product");
        let full: Vec<_> = (0..10).map(|s| section(Some("Shelf"), 3, s * 3)).collect();
        assert!(fields(catalog(Some("Our range"), full)).is_empty(), "30 in 10");
        let eleven: Vec<_> = (0..11).map(|s| section(Some("Shelf"), 1, s)).collect();
        assert_eq!(fields(catalog(Some("Range"), eleven)), ["sections"]);
        let too_many = vec![section(Some("A"), 16, 0), section(Some("B"), 15, 16)];
        assert_eq!(fields(catalog(Some("Range"), too_many)), ["sections"]);
        let untitled = vec![section(None, 2, 0), section(Some("B"), 1, 2)];
        assert_eq!(fields(catalog(None, untitled)), ["header", "sections[0].title"]);
        let twice = vec![section(Some("A"), 2, 0), section(Some("B"), 1, 1)];
        assert_eq!(fields(catalog(Some("Range"), twice)), ["sections[1].skus[0]"]);
        let mut no_id = catalog(None, vec![section(None, 1, 0)]);
        if let Interactive::Catalog { catalog_id, .. } = &mut no_id {
            catalog_id.clear();
        }
        assert_eq!(fields(no_id), ["catalog_id"]);
    }
}
