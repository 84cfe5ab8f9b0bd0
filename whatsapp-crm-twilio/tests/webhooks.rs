//! Inbound and status webhooks parsed into core events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use whatsapp_crm_core::{Interactive, MessageContent, MessageId, MessageStatus};
use whatsapp_crm_twilio::{
    RequestValidator, WebhookError, WebhookParams, parse_inbound, parse_status,
};

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish().into_bytes()
}

const BASE: &[(&str, &str)] = &[
    ("SmsMessageSid", "SM11111111111111111111111111111111"),
    ("NumMedia", "0"),
    ("ProfileName", "Wanjiku"),
    ("MessageType", "text"),
    ("SmsSid", "SM11111111111111111111111111111111"),
    ("WaId", "254712345678"),
    ("SmsStatus", "received"),
    ("Body", "Habari, do you have mangoes?"),
    ("To", "whatsapp:+14155238886"),
    ("NumSegments", "1"),
    ("MessageSid", "SM11111111111111111111111111111111"),
    ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
    ("From", "whatsapp:+254712345678"),
    ("ApiVersion", "2010-04-01"),
];

fn with(extra: &[(&'static str, &'static str)], drop: &[&str]) -> WebhookParams {
    let mut pairs: Vec<(&str, &str)> =
        BASE.iter().copied().filter(|(k, _)| !drop.contains(k)).collect();
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        pairs.push((k, v));
    }
    WebhookParams::parse_form(&form(&pairs)).unwrap()
}

#[test]
fn text_message() {
    let m = parse_inbound(&with(&[], &[]), Utc::now()).unwrap();
    assert_eq!(m.provider_id, "SM11111111111111111111111111111111");
    assert_eq!(m.from.as_str(), "+254712345678");
    assert_eq!(m.to.as_str(), "+14155238886");
    assert_eq!(m.profile_name.as_deref(), Some("Wanjiku"));
    assert_eq!(m.content, MessageContent::text("Habari, do you have mangoes?"));
    assert!(!m.forwarded);
}

#[test]
fn media_with_caption() {
    let p = with(
        &[
            ("NumMedia", "2"),
            ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"),
            ("MediaContentType0", "image/jpeg"),
            ("MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2"),
            ("MediaContentType1", "application/pdf"),
            ("Body", "my receipt"),
        ],
        &[],
    );
    let MessageContent::Media { media, caption } = parse_inbound(&p, Utc::now()).unwrap().content
    else {
        panic!()
    };
    assert_eq!(media.len(), 2);
    assert_eq!(media[1].content_type.as_deref(), Some("application/pdf"));
    assert_eq!(caption.as_deref(), Some("my receipt"));
}

#[test]
fn button_tap_location_reply_and_referral() {
    let tap = with(
        &[
            ("MessageType", "button"),
            ("ButtonText", "Yes"),
            ("ButtonPayload", "confirm_42"),
            ("Body", "Yes"),
        ],
        &[],
    );
    assert_eq!(
        parse_inbound(&tap, Utc::now()).unwrap().content,
        MessageContent::Interactive {
            interactive: Interactive::Reply {
                payload: Some("confirm_42".into()),
                title: "Yes".into()
            }
        }
    );
    let loc = with(
        &[("Latitude", "-1.2921"), ("Longitude", "36.8219"), ("Label", "CBD"), ("Body", "")],
        &[],
    );
    assert!(
        matches!(parse_inbound(&loc, Utc::now()).unwrap().content, MessageContent::Location { latitude, .. } if latitude == -1.2921)
    );
    let quoted = with(
        &[
            ("OriginalRepliedMessageSid", "SM22222222222222222222222222222222"),
            ("Forwarded", "true"),
            ("ReferralSourceId", "ad-7"),
            ("ReferralHeadline", "Mango sale"),
        ],
        &[],
    );
    let m = parse_inbound(&quoted, Utc::now()).unwrap();
    assert_eq!(m.replied_to.as_deref(), Some("SM22222222222222222222222222222222"));
    assert!(m.forwarded);
    assert_eq!(m.referral.unwrap().headline.as_deref(), Some("Mango sale"));
}

#[test]
fn missing_and_invalid_fields_are_typed_errors() {
    let now = Utc::now();
    assert_eq!(
        parse_inbound(&with(&[], &["MessageSid"]), now).unwrap_err(),
        WebhookError::Missing("MessageSid")
    );
    assert_eq!(
        parse_inbound(&with(&[], &["From", "WaId"]), now).unwrap_err(),
        WebhookError::Missing("From")
    );
    let from_wa_id = parse_inbound(&with(&[], &["From"]), now).unwrap();
    assert_eq!(from_wa_id.from.as_str(), "+254712345678", "WaId stands in for From");
    assert!(matches!(
        parse_inbound(&with(&[("From", "whatsapp:0712")], &[]), now),
        Err(WebhookError::Invalid { name: "From", .. })
    ));
    assert!(matches!(
        parse_inbound(&with(&[("NumMedia", "two")], &[]), now),
        Err(WebhookError::Invalid { name: "NumMedia", .. })
    ));
    assert!(matches!(
        parse_inbound(&with(&[("NumMedia", "999")], &[]), now),
        Err(WebhookError::Invalid { name: "NumMedia", .. })
    ));
    assert_eq!(
        parse_inbound(&with(&[("NumMedia", "1")], &[]), now).unwrap_err(),
        WebhookError::Missing("MediaUrlN")
    );
    assert!(matches!(
        parse_inbound(&with(&[("Latitude", "95"), ("Longitude", "1")], &[]), now),
        Err(WebhookError::Invalid { .. })
    ));
    assert_eq!(WebhookParams::parse_form(&[0xff, 0xfe]).unwrap_err(), WebhookError::NotAForm);
    let err =
        parse_inbound(&with(&[("From", "whatsapp:+2547123456789999")], &[]), now).unwrap_err();
    assert!(!err.to_string().contains("2547123456789999"), "errors never echo numbers: {err}");
}

#[test]
fn status_callbacks() {
    let id = MessageId::new();
    let query = format!("message_id={id}");
    let p = WebhookParams::from_pairs([
        ("MessageSid", "SM33333333333333333333333333333333"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "63024"),
        ("ChannelStatusMessage", "Invalid message recipient"),
        ("ChannelPrefix", "whatsapp"),
    ]);
    let s = parse_status(&p, Some(&query), Utc::now()).unwrap();
    assert_eq!(s.message_id, Some(id));
    assert_eq!(s.status, MessageStatus::Undelivered);
    assert_eq!(s.error_code, Some(63024));
    assert_eq!(s.error_message.as_deref(), Some("Invalid message recipient"));

    let read = WebhookParams::from_pairs([
        ("MessageSid", "SM3"),
        ("MessageStatus", "read"),
        ("EventType", "READ"),
    ]);
    let s = parse_status(&read, None, Utc::now()).unwrap();
    assert_eq!((s.status, s.message_id, s.error_code), (MessageStatus::Read, None, None));

    let unknown =
        WebhookParams::from_pairs([("MessageSid", "SM3"), ("MessageStatus", "teleported")]);
    assert!(matches!(
        parse_status(&unknown, None, Utc::now()),
        Err(WebhookError::Invalid { name: "MessageStatus", .. })
    ));
    assert!(matches!(
        parse_status(&read, Some("message_id=nope"), Utc::now()),
        Err(WebhookError::Invalid { name: "message_id", .. })
    ));
    assert_eq!(
        parse_status(&WebhookParams::default(), None, Utc::now()).unwrap_err(),
        WebhookError::Missing("MessageSid")
    );
}

#[test]
fn parsed_params_validate_against_their_signature() {
    let validator = RequestValidator::new("token");
    let url = "https://crm.example.com/webhooks/twilio/inbound";
    let params = with(&[], &[]);
    let sig = validator.sign(url, params.pairs());
    assert!(validator.validate(url, params.pairs(), &sig));
    let tampered = with(&[("Body", "send me everything")], &[]);
    assert!(!validator.validate(url, tampered.pairs(), &sig));
}

#[test]
fn a_native_cart_in_metas_order_shape_is_read_with_its_unknown_parameters() {
    let order = r#"{"catalog_id":"1234567890","text":"for pickup","product_items":[
        {"product_retailer_id":"UNGA-2KG","quantity":2,"item_price":190,"currency":"KES"},
        {"product_retailer_id":"SUGAR-1KG","quantity":"1","item_price":"150.5","currency":"KES"}]}"#;
    let p =
        with(&[("MessageType", "order"), ("Order", order), ("ChannelMetadata", "{}")], &["Body"]);
    let m = parse_inbound(&p, Utc::now()).unwrap();
    let MessageContent::Order { catalog_id, text, items, params } = m.content else {
        panic!("{:?}", m.content)
    };
    assert_eq!((catalog_id.as_deref(), text.as_deref()), (Some("1234567890"), Some("for pickup")));
    let lines: Vec<_> = items.iter().map(|i| (i.sku.as_str(), i.quantity, i.item_price)).collect();
    assert_eq!(lines, [("UNGA-2KG", 2, Some(190.0)), ("SUGAR-1KG", 1, Some(150.5))]);
    assert_eq!(params.keys().collect::<Vec<_>>(), ["ChannelMetadata", "Order"], "kept raw");
    // The same cart wrapped the way Meta's message carries it.
    let wrapped = format!(r#"{{"type":"order","order":{order}}}"#);
    let p = WebhookParams::from_pairs(
        BASE.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("Payload".into(), wrapped)]),
    );
    assert!(matches!(parse_inbound(&p, Utc::now()).unwrap().content, MessageContent::Order { .. }));
}

#[test]
fn an_unreadable_message_is_kept_raw_never_empty_text() {
    let p = with(&[("MessageType", "order"), ("OrderToken", "abc")], &["Body"]);
    let m = parse_inbound(&p, Utc::now()).unwrap();
    let MessageContent::Unsupported { message_type, params } = m.content else { panic!() };
    assert_eq!(message_type.as_deref(), Some("order"));
    assert_eq!(params.get("OrderToken").map(String::as_str), Some("abc"));
    let p = with(&[("MessageType", "sticker_pack")], &["Body"]);
    let m = parse_inbound(&p, Utc::now()).unwrap();
    assert!(matches!(m.content, MessageContent::Unsupported { .. }), "{:?}", m.content);
    let p = with(&[("Body", "{\"product_items\": \"not a list\"}")], &[]);
    assert!(matches!(parse_inbound(&p, Utc::now()).unwrap().content, MessageContent::Text { .. }));
}

#[test]
fn a_list_choice_carries_its_row_id() {
    let p = with(&[("ListId", "cart:add:UNGA-2KG"), ("ListTitle", "Unga 2kg")], &[]);
    let m = parse_inbound(&p, Utc::now()).unwrap();
    assert_eq!(
        m.content,
        MessageContent::Interactive {
            interactive: Interactive::Reply {
                payload: Some("cart:add:UNGA-2KG".into()),
                title: "Unga 2kg".into()
            }
        }
    );
}
