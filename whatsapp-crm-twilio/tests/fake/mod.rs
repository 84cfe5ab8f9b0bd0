//! A local stand-in for Twilio on 127.0.0.1: records every request exactly as
//! received and answers with scripted replies (Twilio's documented bodies).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "test-auth-token";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
    pub json: Option<Value>,
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: None,
        }
    }

    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", "text/html".into())],
            body: body.into(),
            delay: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }

    /// Twilio's error body (platform-rules 5.1).
    pub fn error(status: u16, code: u32, message: &str) -> Self {
        Self::json(
            status,
            json!({
                "code": code,
                "message": message,
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                "status": status,
            }),
        )
    }
}

/// Twilio's documented 201 body for a created message.
pub fn created_message(sid: &str, from: &str, to: &str, body: &str) -> Reply {
    Reply::json(
        201,
        json!({
            "account_sid": ACCOUNT,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_sent": null,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": from,
            "messaging_service_sid": null,
            "num_media": "0",
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": { "media": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media.json") },
            "to": to,
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json"),
        }),
    )
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    replies: Mutex<VecDeque<Reply>>,
}

pub struct FakeTwilio {
    pub base: String,
    state: Arc<State>,
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&shared);
                async move { handle(state, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, state }
    }

    pub fn reply(&self, reply: Reply) {
        self.state.replies.lock().unwrap().push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The Basic authorization header Twilio expects for `user:pass`.
    pub fn basic(user: &str, pass: &str) -> String {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }
}

async fn handle(
    state: Arc<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    let content_type = header("content-type");
    let form = if content_type.as_deref() == Some("application/x-www-form-urlencoded") {
        form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    } else {
        Vec::new()
    };
    let json = serde_json::from_slice(&body).ok();
    state.requests.lock().unwrap().push(Recorded {
        method,
        path: uri.path().to_owned(),
        authorization: header("authorization"),
        content_type,
        form,
        json,
    });
    let reply = state
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Reply::error(500, 0, "no reply scripted"));
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    let mut res = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        res.headers_mut().insert(name, value.parse().unwrap());
    }
    res
}
