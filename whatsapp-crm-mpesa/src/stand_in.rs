//! A local Daraja stand-in on 127.0.0.1 (feature `stand-in`), for tests of
//! anything that takes M-Pesa payments. It checks every request's shape as
//! platform-rules section 7 states it (Basic then Bearer auth, the password
//! from shortcode, passkey and timestamp, Kenyan numbers, field lengths, an
//! HTTPS callback URL), issues a new token per OAuth call and refuses the
//! previous one as Daraja does, and answers queries with the outcome a test
//! sets. Requests it refuses are kept in [`DarajaStandIn::malformed`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::stk::password;

/// One STK push the stand-in accepted.
#[derive(Debug, Clone)]
pub struct Push {
    /// The `CheckoutRequestID` it answered with.
    pub checkout_request_id: String,
    /// The whole request body.
    pub body: Value,
}

#[derive(Default)]
struct Seen {
    token: Option<String>,
    tokens_issued: usize,
    pushes: Vec<Push>,
    queries: Vec<String>,
    malformed: Vec<String>,
    outcomes: HashMap<String, (String, String)>,
}

struct Inner {
    key: String,
    secret: String,
    shortcode: String,
    passkey: String,
    seen: Mutex<Seen>,
}

/// A running stand-in.
#[derive(Clone)]
pub struct DarajaStandIn {
    /// Its base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    inner: Arc<Inner>,
}

impl DarajaStandIn {
    /// Starts a stand-in for the app with these credentials.
    pub async fn start(
        key: &str,
        secret: &str,
        shortcode: &str,
        passkey: &str,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Inner {
            key: key.into(),
            secret: secret.into(),
            shortcode: shortcode.into(),
            passkey: passkey.into(),
            seen: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/oauth/v1/generate", get(oauth))
            .route("/mpesa/stkpush/v1/processrequest", post(push))
            .route("/mpesa/stkpushquery/v1/query", post(query))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, inner })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pushes accepted, in order.
    pub fn pushes(&self) -> Vec<Push> {
        self.seen().pushes.clone()
    }

    /// The `CheckoutRequestID`s queried, in order.
    pub fn queries(&self) -> Vec<String> {
        self.seen().queries.clone()
    }

    /// How many tokens were issued.
    pub fn tokens_issued(&self) -> usize {
        self.seen().tokens_issued
    }

    /// Requests refused for their shape, with why.
    pub fn malformed(&self) -> Vec<String> {
        self.seen().malformed.clone()
    }

    /// What queries about `checkout_request_id` answer from now on.
    pub fn settle(&self, checkout_request_id: &str, result_code: &str, result_desc: &str) {
        self.seen()
            .outcomes
            .insert(checkout_request_id.into(), (result_code.into(), result_desc.into()));
    }

    /// A callback body as Daraja posts it; `amount` and `receipt` go in its
    /// metadata for a success.
    pub fn callback_body(
        checkout_request_id: &str,
        result_code: i64,
        amount: f64,
        receipt: &str,
    ) -> String {
        let mut cb = json!({
            "MerchantRequestID": "29115-34620561-1",
            "CheckoutRequestID": checkout_request_id,
            "ResultCode": result_code,
            "ResultDesc": if result_code == 0 { "The service request is processed successfully." } else { "Request cancelled by user" },
        });
        if result_code == 0 {
            cb["CallbackMetadata"] = json!({"Item": [
                {"Name": "Amount", "Value": amount},
                {"Name": "MpesaReceiptNumber", "Value": receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": 20_261_207_103_000_i64},
                {"Name": "PhoneNumber", "Value": 254_708_374_149_i64},
            ]});
        }
        json!({"Body": {"stkCallback": cb}}).to_string()
    }
}

fn refuse(inner: &Inner, why: String) -> (StatusCode, String) {
    inner.seen.lock().unwrap_or_else(|e| e.into_inner()).malformed.push(why);
    let body = json!({"requestId": "1", "errorCode": "400.002.02", "errorMessage": "Bad Request"});
    (StatusCode::BAD_REQUEST, body.to_string())
}

async fn oauth(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let basic = format!("Basic {}", STANDARD.encode(format!("{}:{}", inner.key, inner.secret)));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return refuse(&inner, "oauth: wrong Basic credentials".into());
    }
    if q.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return refuse(&inner, "oauth: grant_type is not client_credentials".into());
    }
    let mut seen = inner.seen.lock().unwrap_or_else(|e| e.into_inner());
    seen.tokens_issued += 1;
    let token = format!("token{}", seen.tokens_issued);
    seen.token = Some(token.clone());
    (StatusCode::OK, json!({"access_token": token, "expires_in": "3599"}).to_string())
}

/// Checks the Bearer token and the password fields every call carries.
fn authorised(inner: &Inner, headers: &HeaderMap, body: &Value) -> Result<(), String> {
    let token = inner.seen.lock().unwrap_or_else(|e| e.into_inner()).token.clone();
    let want = token.map(|t| format!("Bearer {t}"));
    if want.is_none()
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != want.as_deref()
    {
        return Err("not the current token".into());
    }
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    if s("BusinessShortCode") != inner.shortcode {
        return Err("BusinessShortCode".into());
    }
    let ts = s("Timestamp");
    if ts.len() != 14 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Timestamp is not YYYYMMDDHHmmss".into());
    }
    if s("Password") != password(&inner.shortcode, &inner.passkey, ts) {
        return Err("Password is not base64(shortcode + passkey + timestamp)".into());
    }
    Ok(())
}

fn kenyan(n: &str) -> bool {
    n.len() == 12
        && (n.starts_with("2547") || n.starts_with("2541"))
        && n.bytes().all(|b| b.is_ascii_digit())
}

async fn push(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let Ok(json) = serde_json::from_str::<Value>(&body) else {
        return refuse(&inner, format!("push: not JSON: {body}"));
    };
    if let Err(why) = authorised(&inner, &headers, &json) {
        if why == "not the current token" {
            let b = json!({"requestId": "1", "errorCode": "404.001.03", "errorMessage": "Invalid Access Token"});
            return (StatusCode::UNAUTHORIZED, b.to_string());
        }
        return refuse(&inner, format!("push: {why}"));
    }
    let s = |k: &str| json.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let checks = [
        (
            matches!(
                s("TransactionType").as_str(),
                "CustomerPayBillOnline" | "CustomerBuyGoodsOnline"
            ),
            "TransactionType",
        ),
        (s("Amount").parse::<u64>().is_ok_and(|a| a >= 1), "Amount is a whole number of shillings"),
        (kenyan(&s("PartyA")), "PartyA is 2547… or 2541…"),
        (kenyan(&s("PhoneNumber")), "PhoneNumber is 2547… or 2541…"),
        (!s("PartyB").is_empty() && s("PartyB").bytes().all(|b| b.is_ascii_digit()), "PartyB"),
        (s("CallBackURL").starts_with("https://"), "CallBackURL is https"),
        ((1..=12).contains(&s("AccountReference").chars().count()), "AccountReference is 1 to 12"),
        (s("TransactionDesc").chars().count() <= 13, "TransactionDesc is at most 13"),
    ];
    if let Some((_, why)) = checks.iter().find(|(ok, _)| !ok) {
        return refuse(&inner, format!("push: {why}: {body}"));
    }
    let mut seen = inner.seen.lock().unwrap_or_else(|e| e.into_inner());
    let id = format!("ws_CO_0712202610300{:05}", seen.pushes.len() + 1);
    seen.pushes.push(Push { checkout_request_id: id.clone(), body: json });
    let reply = json!({
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": id,
        "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    });
    (StatusCode::OK, reply.to_string())
}

async fn query(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let Ok(json) = serde_json::from_str::<Value>(&body) else {
        return refuse(&inner, format!("query: not JSON: {body}"));
    };
    if let Err(why) = authorised(&inner, &headers, &json) {
        return refuse(&inner, format!("query: {why}"));
    }
    let id = json.get("CheckoutRequestID").and_then(Value::as_str).unwrap_or("").to_owned();
    let mut seen = inner.seen.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.pushes.iter().any(|p| p.checkout_request_id == id) {
        drop(seen);
        return refuse(&inner, format!("query: unknown CheckoutRequestID {id}"));
    }
    seen.queries.push(id.clone());
    match seen.outcomes.get(&id) {
        None => {
            let b = json!({"requestId": "1", "errorCode": "500.001.1001", "errorMessage": "The transaction is being processed"});
            (StatusCode::INTERNAL_SERVER_ERROR, b.to_string())
        }
        Some((code, desc)) => {
            let b = json!({
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successsfully",
                "MerchantRequestID": "29115-34620561-1",
                "CheckoutRequestID": id,
                "ResultCode": code,
                "ResultDesc": desc,
            });
            (StatusCode::OK, b.to_string())
        }
    }
}
