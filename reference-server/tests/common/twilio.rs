//! A local stand-in for Twilio's Messages API on 127.0.0.1 that checks each
//! request's shape (platform-rules 5.1: Basic auth, `whatsapp:` numbers, a
//! body or content id, and a status callback carrying our message id) and
//! answers like Twilio; and signing helpers for playing Twilio's webhooks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use whatsapp_crm_twilio::RequestValidator;

use super::request;

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "stand-in-auth-token";
pub const PUBLIC_URL: &str = "https://crm.example.com";

/// One message the stand-in accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub message_id: String,
    pub sid: String,
    pub to: String,
    pub form: HashMap<String, String>,
}

/// What the stand-in saw.
pub struct FakeTwilio {
    pub url: String,
    pub sender: String,
    pub delay: Duration,
    pub accepted: Mutex<Vec<Accepted>>,
    pub malformed: Mutex<Vec<String>>,
    /// Content resources created, by sid: their `types` object.
    pub content: Mutex<HashMap<String, serde_json::Value>>,
}

impl FakeTwilio {
    /// Starts a stand-in for `sender` that answers each send after `delay`.
    pub async fn start(sender: &str, delay: Duration) -> Arc<FakeTwilio> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = Arc::new(FakeTwilio {
            url: format!("http://{addr}"),
            sender: sender.to_owned(),
            delay,
            accepted: Mutex::default(),
            malformed: Mutex::default(),
            content: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(create_message))
            .route("/v1/Content", post(create_content))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    /// How many sends it accepted.
    pub fn count(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    /// The environment a server needs to send through it.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TWILIO_AUTH_TOKEN", TOKEN.into()),
            ("WCRM_PUBLIC_URL", PUBLIC_URL.into()),
            ("TWILIO_ACCOUNT_SID", ACCOUNT.into()),
            ("TWILIO_API_BASE", self.url.clone()),
            ("TWILIO_CONTENT_BASE", self.url.clone()),
            ("TWILIO_TIMEOUT_SECS", "1".into()),
            ("WCRM_DISPATCH_CLAIM_SECS", "2".into()),
            ("WCRM_DISPATCH_INTERVAL_MS", "20".into()),
        ]
    }
}

async fn create_message(
    State(fake): State<Arc<FakeTwilio>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let form: HashMap<String, String> =
        form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let basic = format!("Basic {}", STANDARD.encode(format!("{ACCOUNT}:{TOKEN}")));
    let auth_ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&basic);
    let callback = form.get("StatusCallback").cloned().unwrap_or_default();
    let prefix = format!("{PUBLIC_URL}/webhooks/twilio/status?message_id=");
    let session_content =
        form.get("ContentSid").is_some_and(|c| fake.content.lock().unwrap().contains_key(c))
            && !form.contains_key("ContentVariables");
    let content_ok = form.get("Body").is_some_and(|b| !b.is_empty())
        || session_content
        || (form.get("ContentSid").is_some_and(|c| c.starts_with("HX"))
            && form
                .get("ContentVariables")
                .is_some_and(|v| serde_json::from_str::<serde_json::Value>(v).is_ok()));
    let shape_ok = account == ACCOUNT
        && auth_ok
        && form.get("From").map(String::as_str) == Some(&format!("whatsapp:{}", fake.sender))
        && form.get("To").is_some_and(|t| t.starts_with("whatsapp:+2547"))
        && content_ok
        && callback.starts_with(&prefix);
    if !shape_ok {
        fake.malformed.lock().unwrap().push(body);
        return (StatusCode::BAD_REQUEST, json!({"code": 21602, "message": "bad"}).to_string());
    }
    tokio::time::sleep(fake.delay).await;
    let message_id = callback[prefix.len()..].to_owned();
    let sid = format!("SM{}", &message_id.replace('-', "")[..32]);
    let to = form["To"].clone();
    let reply = json!({"sid": sid, "status": "queued", "to": to, "from": form["From"], "account_sid": ACCOUNT});
    fake.accepted.lock().unwrap().push(Accepted { message_id, sid, to, form });
    (StatusCode::CREATED, reply.to_string())
}

/// The Content API's create (platform-rules 5.5): Basic auth, a JSON body
/// with a friendly name, a language and exactly one known content type.
async fn create_content(
    State(fake): State<Arc<FakeTwilio>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    const TYPES: &[&str] = &[
        "twilio/text",
        "twilio/media",
        "twilio/quick-reply",
        "twilio/call-to-action",
        "twilio/list-picker",
        "twilio/card",
        "twilio/catalog",
        "twilio/location",
        "whatsapp/card",
    ];
    let basic = format!("Basic {}", STANDARD.encode(format!("{ACCOUNT}:{TOKEN}")));
    let auth_ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&basic);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let types = json["types"].as_object().cloned().unwrap_or_default();
    let shape_ok = auth_ok
        && json["friendly_name"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 64)
        && json["language"].as_str().is_some_and(|l| !l.is_empty())
        && types.len() == 1
        && types.keys().all(|k| TYPES.contains(&k.as_str()));
    if !shape_ok {
        fake.malformed.lock().unwrap().push(body);
        return (StatusCode::BAD_REQUEST, json!({"code": 20001, "message": "bad"}).to_string());
    }
    let mut content = fake.content.lock().unwrap();
    let sid = format!("HX{:032x}", content.len() + 1);
    content.insert(sid.clone(), json["types"].clone());
    (
        StatusCode::CREATED,
        json!({"sid": sid, "friendly_name": json["friendly_name"], "language": json["language"]})
            .to_string(),
    )
}

/// Posts a form to a webhook of the server at `addr`, signed as Twilio signs it.
pub async fn webhook(addr: &str, path: &str, form: &[(&str, &str)]) -> u16 {
    let signature =
        RequestValidator::new(TOKEN).sign(&format!("{PUBLIC_URL}{path}"), form.iter().copied());
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Twilio-Signature", signature.as_str()),
    ];
    request(addr, "POST", path, &headers, &body).await.0
}

/// Reports a status for an accepted message, as Twilio's callback does.
pub async fn report(addr: &str, a: &Accepted, from: &str, status: &str, code: Option<u32>) -> u16 {
    let path = format!("/webhooks/twilio/status?message_id={}", a.message_id);
    let code = code.map(|c| c.to_string());
    let mut form = vec![
        ("MessageSid", a.sid.as_str()),
        ("MessageStatus", status),
        ("From", from),
        ("To", a.to.as_str()),
    ];
    if let Some(c) = &code {
        form.push(("ErrorCode", c.as_str()));
    }
    webhook(addr, &path, &form).await
}

/// What Twilio was asked to send to `phone`, in order.
pub fn sent_to(fake: &FakeTwilio, phone: &str) -> Vec<String> {
    let to = format!("whatsapp:{phone}");
    fake.accepted
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a.to == to)
        .map(|a| a.form.get("Body").cloned().unwrap_or_default())
        .collect()
}

/// A customer's text to the business `sender`, delivered as Twilio's signed
/// inbound webhook with message id `sid`.
pub async fn says(addr: &str, sender: &str, sid: &str, phone: &str, body: &str) {
    let from = format!("whatsapp:{phone}");
    let to = format!("whatsapp:{sender}");
    let form =
        [("MessageSid", sid), ("From", &from), ("To", &to), ("Body", body), ("NumMedia", "0")];
    assert_eq!(webhook(addr, "/webhooks/twilio/inbound", &form).await, 200);
}
