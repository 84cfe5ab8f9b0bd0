//! A local Paystack stand-in on 127.0.0.1 (feature `stand-in`). It checks
//! the secret key and each request's shape (amount in subunits as a whole
//! number, a supported currency, an email, a reference in Paystack's
//! alphabet and unique, a callback URL), serves a checkout page URL, and
//! answers `verify` with the outcome a test sets. [`PaystackStandIn::webhook`]
//! builds a signed `charge.success` body as Paystack posts it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::signature::sign;

#[derive(Default)]
struct Seen {
    initialized: Vec<Value>,
    verified: Vec<String>,
    malformed: Vec<String>,
    outcomes: HashMap<String, &'static str>,
}

struct Inner {
    secret: String,
    seen: Mutex<Seen>,
}

/// A running stand-in.
#[derive(Clone)]
pub struct PaystackStandIn {
    /// Its base URL.
    pub url: String,
    inner: Arc<Inner>,
}

impl PaystackStandIn {
    /// Starts a stand-in that accepts `secret` as the key.
    pub async fn start(secret: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Inner { secret: secret.into(), seen: Mutex::default() });
        let app = axum::Router::new()
            .route("/transaction/initialize", post(initialize))
            .route("/transaction/verify/{reference}", get(verify))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, inner })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The initialise bodies accepted, in order.
    pub fn initialized(&self) -> Vec<Value> {
        self.seen().initialized.clone()
    }

    /// The references verified, in order.
    pub fn verified(&self) -> Vec<String> {
        self.seen().verified.clone()
    }

    /// Requests refused for their shape, with why.
    pub fn malformed(&self) -> Vec<String> {
        self.seen().malformed.clone()
    }

    /// What `verify` says of `reference` from now on: `success`, `failed`,
    /// `abandoned`.
    pub fn settle(&self, reference: &str, status: &'static str) {
        self.seen().outcomes.insert(reference.into(), status);
    }

    /// A `charge.success` webhook body for `reference` and its signature
    /// header, as Paystack posts them.
    pub fn webhook(&self, reference: &str, amount: i64, currency: &str) -> (String, String) {
        let body = json!({"event": "charge.success", "data": {
            "id": 4_099_260_516_i64, "reference": reference, "amount": amount, "currency": currency,
            "status": "success", "gateway_response": "Successful", "channel": "card",
        }})
        .to_string();
        let signature = sign(self.inner.secret.as_bytes(), body.as_bytes());
        (body, signature)
    }
}

fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    let want = format!("Bearer {}", inner.secret);
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

fn refuse(inner: &Inner, status: StatusCode, why: String) -> (StatusCode, String) {
    inner.seen.lock().unwrap_or_else(|e| e.into_inner()).malformed.push(why.clone());
    (status, json!({"status": false, "message": why}).to_string())
}

async fn initialize(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    if !authorised(&inner, &headers) {
        return refuse(&inner, StatusCode::UNAUTHORIZED, "Invalid key".into());
    }
    let Ok(json) = serde_json::from_str::<Value>(&body) else {
        return refuse(&inner, StatusCode::BAD_REQUEST, format!("not JSON: {body}"));
    };
    let reference = json.get("reference").and_then(Value::as_str).unwrap_or("").to_owned();
    let checks = [
        (json.get("email").and_then(Value::as_str).is_some_and(|e| e.contains('@')), "email"),
        (json.get("amount").and_then(Value::as_i64).is_some_and(|a| a > 0), "amount in subunits"),
        (
            matches!(
                json.get("currency").and_then(Value::as_str),
                Some("KES" | "NGN" | "GHS" | "ZAR" | "USD")
            ),
            "currency",
        ),
        (
            !reference.is_empty()
                && reference
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '=')),
            "reference alphabet",
        ),
        (
            json.get("callback_url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("https://")),
            "callback_url",
        ),
    ];
    if let Some((_, why)) = checks.iter().find(|(ok, _)| !ok) {
        return refuse(&inner, StatusCode::BAD_REQUEST, format!("initialize: {why}: {body}"));
    }
    let mut seen = inner.seen.lock().unwrap_or_else(|e| e.into_inner());
    if seen.initialized.iter().any(|i| i["reference"] == json["reference"]) {
        drop(seen);
        return refuse(&inner, StatusCode::BAD_REQUEST, "Duplicate Transaction Reference".into());
    }
    seen.initialized.push(json);
    let data = json!({"authorization_url": format!("https://checkout.paystack.com/{reference}"),
                      "access_code": format!("ac_{reference}"), "reference": reference});
    (
        StatusCode::OK,
        json!({"status": true, "message": "Authorization URL created", "data": data}).to_string(),
    )
}

async fn verify(
    State(inner): State<Arc<Inner>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    if !authorised(&inner, &headers) {
        return refuse(&inner, StatusCode::UNAUTHORIZED, "Invalid key".into());
    }
    let mut seen = inner.seen.lock().unwrap_or_else(|e| e.into_inner());
    let Some(init) =
        seen.initialized.iter().find(|i| i["reference"] == reference.as_str()).cloned()
    else {
        drop(seen);
        return refuse(
            &inner,
            StatusCode::BAD_REQUEST,
            format!("verify: unknown reference {reference}"),
        );
    };
    seen.verified.push(reference.clone());
    let status = seen.outcomes.get(&reference).copied().unwrap_or("ongoing");
    let data = json!({
        "id": 4_099_260_516_i64, "status": status, "reference": reference, "amount": init["amount"],
        "currency": init["currency"], "gateway_response": if status == "success" { "Successful" } else { "Declined" },
        "channel": "card",
    });
    (
        StatusCode::OK,
        json!({"status": true, "message": "Verification successful", "data": data}).to_string(),
    )
}
