//! Limits on what a message may contain, checked before anything is queued:
//! interactive messages (platform-rules 2) and media (platform-rules 4).

use std::collections::HashSet;

use crate::domain::{Interactive, MessageContent, ValidationError};

/// Longest interactive body.
pub const INTERACTIVE_BODY_MAX: usize = 1024;
/// Longest interactive footer or text header.
pub const INTERACTIVE_FOOTER_MAX: usize = 60;
/// Reply buttons per message.
pub const REPLY_BUTTONS_MAX: usize = 3;
/// Longest reply-button title.
pub const REPLY_TITLE_MAX: usize = 20;

/// At most `max` characters of `text`, with an ellipsis when cut: what
/// fits a button title or a list row.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
/// Longest reply-button id.
pub const REPLY_ID_MAX: usize = 256;
/// Longest list button label and call-to-action label.
pub const LIST_BUTTON_MAX: usize = 20;
/// Sections per list.
pub const LIST_SECTIONS_MAX: usize = 10;
/// Rows across all sections of a list.
pub const LIST_ROWS_MAX: usize = 10;
/// Longest row or section title.
pub const LIST_ROW_TITLE_MAX: usize = 24;
/// Longest row id.
pub const LIST_ROW_ID_MAX: usize = 200;
/// Longest row description.
pub const LIST_ROW_DESCRIPTION_MAX: usize = 72;
/// Longest text message Twilio accepts in `Body` (platform-rules 5.1; WhatsApp
/// itself allows 4096).
pub const TEXT_BODY_MAX: usize = 1600;
/// Longest media caption.
pub const CAPTION_MAX: usize = 1024;

/// Size limits by media type (platform-rules 4.1 and 4.2; Twilio caps a whole
/// message at 16 MB, so documents are held to that).
pub const MEDIA_LIMITS: &[(&str, u64)] = &[
    ("image/jpeg", 5 * MB),
    ("image/png", 5 * MB),
    ("image/webp", 500 * KB),
    ("video/mp4", 16 * MB),
    ("video/3gpp", 16 * MB),
    ("audio/aac", 16 * MB),
    ("audio/amr", 16 * MB),
    ("audio/mpeg", 16 * MB),
    ("audio/mp4", 16 * MB),
    ("audio/ogg", 16 * MB),
    ("application/pdf", 16 * MB),
    ("application/msword", 16 * MB),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", 16 * MB),
    ("application/vnd.ms-excel", 16 * MB),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 16 * MB),
    ("application/vnd.ms-powerpoint", 16 * MB),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", 16 * MB),
    ("text/plain", 16 * MB),
    ("text/vcard", 16 * MB),
];
const KB: u64 = 1024;
const MB: u64 = 1024 * KB;

fn len(s: &str) -> usize {
    s.chars().count()
}

pub(super) fn text(v: &mut ValidationError, field: &str, value: &str, max: usize, required: bool) {
    let n = len(value);
    if required && value.trim().is_empty() {
        v.push(field, "must not be empty");
    } else if n > max {
        v.push(field, format!("must be at most {max} characters, got {n}"));
    }
}

/// Checks a media type and, when known, its size.
pub fn check_media(content_type: &str, size: Option<u64>) -> Result<(), String> {
    let t = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let Some((_, max)) = MEDIA_LIMITS.iter().find(|(m, _)| *m == t) else {
        return Err(format!("WhatsApp does not accept {t} media"));
    };
    match size {
        Some(s) if s > *max => {
            Err(format!("{t} files may be at most {} KB, this one is {} KB", max / KB, s / KB))
        }
        _ => Ok(()),
    }
}

/// Checks outbound content against WhatsApp's limits; every problem is reported.
/// `media_sizes` gives the byte size of each attachment when known.
pub fn check_content(
    content: &MessageContent,
    media_sizes: &[Option<u64>],
) -> Result<(), ValidationError> {
    let mut v = ValidationError::default();
    match content {
        MessageContent::Text { body } => text(&mut v, "body", body, TEXT_BODY_MAX, true),
        MessageContent::Media { media, caption } => {
            if media.is_empty() {
                v.push("media", "attach at least one file");
            }
            for (i, m) in media.iter().enumerate() {
                if !(m.url.starts_with("https://") || m.url.starts_with("http://")) {
                    v.push(format!("media[{i}].url"), "must be an http(s) URL");
                }
                match &m.content_type {
                    None => v.push(
                        format!("media[{i}].content_type"),
                        "give the media type, e.g. image/jpeg",
                    ),
                    Some(t) => {
                        if let Err(e) = check_media(t, media_sizes.get(i).copied().flatten()) {
                            v.push(format!("media[{i}]"), e);
                        }
                    }
                }
            }
            if let Some(c) = caption {
                text(&mut v, "caption", c, CAPTION_MAX, false);
            }
        }
        MessageContent::Interactive { interactive } => check_interactive(interactive, &mut v),
        MessageContent::Template { name, .. } if name.trim().is_empty() => {
            v.push("name", "give the template name")
        }
        MessageContent::Template { .. } => {}
        MessageContent::Location { latitude, longitude, .. } => {
            if !(-90.0..=90.0).contains(latitude) || !(-180.0..=180.0).contains(longitude) {
                v.push("location", "latitude must be -90..90 and longitude -180..180");
            }
        }
        MessageContent::Order { .. } | MessageContent::Unsupported { .. } => {
            v.push("type", "a customer's message cannot be sent")
        }
    }
    v.into_result(|| ())
}

fn check_interactive(i: &Interactive, v: &mut ValidationError) {
    let footer = |v: &mut ValidationError, f: &Option<String>| {
        if let Some(f) = f {
            text(v, "footer", f, INTERACTIVE_FOOTER_MAX, false);
        }
    };
    match i {
        Interactive::Buttons { body, buttons, footer: f } => {
            text(v, "body", body, INTERACTIVE_BODY_MAX, true);
            footer(v, f);
            check_buttons(v, buttons);
        }
        Interactive::Card { title, subtitle, media_url, buttons } => {
            super::products::check_card(v, title, subtitle.as_deref(), media_url.as_deref());
            check_buttons(v, buttons);
        }
        Interactive::Catalog { catalog_id, header, body, footer: f, sections } => {
            text(v, "body", body, INTERACTIVE_BODY_MAX, true);
            footer(v, f);
            super::products::check_catalog(v, catalog_id, header.as_deref(), sections);
        }
        Interactive::List { body, button_label, sections, footer: f } => {
            text(v, "body", body, INTERACTIVE_BODY_MAX, true);
            footer(v, f);
            text(v, "button_label", button_label, LIST_BUTTON_MAX, true);
            if sections.is_empty() || sections.len() > LIST_SECTIONS_MAX {
                v.push("sections", format!("give 1 to {LIST_SECTIONS_MAX} sections"));
            }
            let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
            if rows == 0 || rows > LIST_ROWS_MAX {
                v.push("sections", format!("give 1 to {LIST_ROWS_MAX} rows in all"));
            }
            let mut ids = HashSet::new();
            for (s, section) in sections.iter().enumerate() {
                match &section.title {
                    Some(t) => {
                        text(v, &format!("sections[{s}].title"), t, LIST_ROW_TITLE_MAX, true)
                    }
                    None if sections.len() > 1 => v.push(
                        format!("sections[{s}].title"),
                        "each section needs a title when there are several",
                    ),
                    None => {}
                }
                for (r, row) in section.rows.iter().enumerate() {
                    let at = format!("sections[{s}].rows[{r}]");
                    text(v, &format!("{at}.title"), &row.title, LIST_ROW_TITLE_MAX, true);
                    text(v, &format!("{at}.id"), &row.id, LIST_ROW_ID_MAX, true);
                    if let Some(d) = &row.description {
                        text(v, &format!("{at}.description"), d, LIST_ROW_DESCRIPTION_MAX, false);
                    }
                    if !ids.insert(row.id.as_str()) {
                        v.push(format!("{at}.id"), "row ids must differ");
                    }
                }
            }
        }
        Interactive::CallToAction { body, display_text, url, footer: f } => {
            text(v, "body", body, INTERACTIVE_BODY_MAX, true);
            footer(v, f);
            text(v, "display_text", display_text, LIST_BUTTON_MAX, true);
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace)
            {
                v.push("url", "must be an http(s) URL without spaces");
            }
        }
        Interactive::Reply { .. } => v.push("interactive", "a customer's reply cannot be sent"),
    }
}

/// Reply buttons: 1 to 3, titled and identified, each title and id unique.
fn check_buttons(v: &mut ValidationError, buttons: &[crate::domain::ReplyButton]) {
    if buttons.is_empty() || buttons.len() > REPLY_BUTTONS_MAX {
        v.push("buttons", format!("give 1 to {REPLY_BUTTONS_MAX} buttons"));
    }
    let (mut titles, mut ids) = (HashSet::new(), HashSet::new());
    for (n, b) in buttons.iter().enumerate() {
        text(v, &format!("buttons[{n}].title"), &b.title, REPLY_TITLE_MAX, true);
        text(v, &format!("buttons[{n}].id"), &b.id, REPLY_ID_MAX, true);
        if b.id.trim() != b.id {
            v.push(format!("buttons[{n}].id"), "must not start or end with spaces");
        }
        if !titles.insert(b.title.as_str()) {
            v.push(format!("buttons[{n}].title"), "button titles must differ");
        }
        if !ids.insert(b.id.as_str()) {
            v.push(format!("buttons[{n}].id"), "button ids must differ");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ListRow, ListSection, MediaAttachment, ReplyButton};

    fn fields(r: Result<(), ValidationError>) -> Vec<String> {
        r.err().map(|e| e.errors.into_iter().map(|f| f.field).collect()).unwrap_or_default()
    }

    #[test]
    fn buttons_follow_whatsapp_limits() {
        let button = |id: &str, title: &str| ReplyButton { id: id.into(), title: title.into() };
        let ok = MessageContent::Interactive {
            interactive: Interactive::Buttons {
                body: "Confirm?".into(),
                buttons: vec![button("y", "Yes"), button("n", "No")],
                footer: None,
            },
        };
        assert_eq!(check_content(&ok, &[]), Ok(()));
        let bad = MessageContent::Interactive {
            interactive: Interactive::Buttons {
                body: "".into(),
                buttons: vec![
                    button("a", "Same"),
                    button("a ", "Same"),
                    button("c", &"x".repeat(21)),
                    button("d", "D"),
                ],
                footer: Some("f".repeat(61)),
            },
        };
        assert_eq!(
            fields(check_content(&bad, &[])),
            ["body", "footer", "buttons", "buttons[1].id", "buttons[1].title", "buttons[2].title"]
        );
    }

    #[test]
    fn lists_count_rows_across_sections() {
        let rows = |n: usize, prefix: &str| {
            (0..n)
                .map(|i| ListRow {
                    id: format!("{prefix}{i}"),
                    title: "Row".into(),
                    description: None,
                })
                .collect()
        };
        let list = |sections: Vec<ListSection>| MessageContent::Interactive {
            interactive: Interactive::List {
                body: "Menu".into(),
                button_label: "Open".into(),
                sections,
                footer: None,
            },
        };
        let ok = list(vec![
            ListSection { title: Some("A".into()), rows: rows(5, "a") },
            ListSection { title: Some("B".into()), rows: rows(5, "b") },
        ]);
        assert_eq!(check_content(&ok, &[]), Ok(()));
        let bad = list(vec![
            ListSection { title: None, rows: rows(6, "a") },
            ListSection { title: Some("B".into()), rows: rows(5, "b") },
        ]);
        assert_eq!(fields(check_content(&bad, &[])), ["sections", "sections[0].title"]);
    }

    #[test]
    fn media_types_and_sizes() {
        let media = |t: Option<&str>| MessageContent::Media {
            media: vec![MediaAttachment {
                url: "https://cdn.example.com/x".into(),
                content_type: t.map(str::to_owned),
            }],
            caption: None,
        };
        assert_eq!(check_content(&media(Some("image/jpeg")), &[Some(4 * MB)]), Ok(()));
        assert_eq!(
            fields(check_content(&media(Some("image/jpeg")), &[Some(6 * MB)])),
            ["media[0]"]
        );
        assert_eq!(fields(check_content(&media(Some("image/gif")), &[])), ["media[0]"]);
        assert_eq!(fields(check_content(&media(None), &[])), ["media[0].content_type"]);
        assert!(check_media("image/webp", Some(600 * KB)).is_err());
        assert!(check_media("Application/PDF; charset=binary", Some(MB)).is_ok());
        assert_eq!(fields(check_content(&MessageContent::text("x".repeat(1601)), &[])), ["body"]);
    }
}
