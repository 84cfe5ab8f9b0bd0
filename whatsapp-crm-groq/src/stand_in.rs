//! A local Groq stand-in on 127.0.0.1 (feature `stand-in`). It checks the
//! API key and each request's shape as Groq does (a model, system and user
//! messages with text content, JSON mode, and none of the fields Groq
//! refuses: `logprobs`, `top_logprobs`, `logit_bias`, `n` other than 1), and
//! answers in turn with what a test queued: a recorded chat completion
//! carrying a JSON verdict, an error status, a slow answer, or text that is
//! not JSON. With nothing queued it answers `{"intent": "none", ...}`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

/// What the stand-in does with the next request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A chat completion whose message content is this text.
    Content(String),
    /// This HTTP status with Groq's error body.
    Status(u16),
    /// Waits this long, then answers the content.
    Slow(Duration, String),
}

impl Answer {
    /// A completion naming `intent` with `confidence`.
    pub fn verdict(intent: &str, confidence: f64) -> Self {
        Self::Content(json!({"intent": intent, "confidence": confidence}).to_string())
    }
}

#[derive(Default)]
struct Seen {
    requests: Vec<Value>,
    malformed: Vec<String>,
    queue: VecDeque<Answer>,
}

struct Inner {
    key: String,
    seen: Mutex<Seen>,
}

/// A running stand-in.
#[derive(Clone)]
pub struct GroqStandIn {
    /// Its base URL, as `GroqConfig::with_base` takes it (`…/openai/v1`).
    pub url: String,
    inner: Arc<Inner>,
}

impl GroqStandIn {
    /// Starts a stand-in that accepts `key`.
    pub async fn start(key: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/openai/v1", listener.local_addr()?);
        let inner = Arc::new(Inner { key: key.into(), seen: Mutex::default() });
        let app = axum::Router::new()
            .route("/openai/v1/chat/completions", post(completions))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, inner })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the answer to the next request.
    pub fn answer(&self, a: Answer) {
        self.seen().queue.push_back(a);
    }

    /// The request bodies received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.seen().requests.clone()
    }

    /// Requests refused for their shape, with why.
    pub fn malformed(&self) -> Vec<String> {
        self.seen().malformed.clone()
    }
}

/// A chat completion as Groq returns it (recorded shape), carrying
/// `content`.
pub fn completion(model: &str, content: &str) -> Value {
    json!({
        "id": "chatcmpl-9f6c2f0e-4b1d-4d7a-9a51-2b8f1b7c3e11",
        "object": "chat.completion",
        "created": 1_796_112_000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "queue_time": 0.017,
            "prompt_tokens": 412,
            "prompt_time": 0.021,
            "completion_tokens": 14,
            "completion_time": 0.012,
            "total_tokens": 426,
            "total_time": 0.033
        },
        "system_fingerprint": "fp_1f2e3d4c5b",
        "x_groq": {"id": "req_01jf8k6q2xe9t8w7v6u5s4r3q2"}
    })
}

fn error_body(status: u16) -> Value {
    let (kind, message) = match status {
        401 => ("invalid_request_error", "Invalid API Key"),
        429 => ("tokens", "Rate limit reached for model; please try again later."),
        _ => ("internal_server_error", "Internal Server Error"),
    };
    json!({"error": {"message": message, "type": kind}})
}

/// Why a request is not one Groq would take, if it is not.
fn shape_problem(body: &Value) -> Option<&'static str> {
    let model_ok = body.get("model").and_then(Value::as_str).is_some_and(|m| !m.is_empty());
    let messages = body.get("messages").and_then(Value::as_array);
    let messages_ok = messages.is_some_and(|ms| {
        !ms.is_empty()
            && ms.iter().all(|m| {
                matches!(
                    m.get("role").and_then(Value::as_str),
                    Some("system" | "user" | "assistant")
                ) && m.get("content").and_then(Value::as_str).is_some()
                    && m.get("name").is_none()
            })
    });
    let json_mode =
        body.pointer("/response_format/type").and_then(Value::as_str) == Some("json_object");
    let asks_json = messages.is_some_and(|ms| {
        ms.iter()
            .any(|m| m.get("content").and_then(Value::as_str).is_some_and(|c| c.contains("JSON")))
    });
    if !model_ok {
        Some("model")
    } else if !messages_ok {
        Some("messages")
    } else if ["logprobs", "top_logprobs", "logit_bias"].iter().any(|k| body.get(*k).is_some()) {
        Some("`logprobs`, `top_logprobs` and `logit_bias` are not supported")
    } else if body.get("n").is_some_and(|n| n.as_u64() != Some(1)) {
        Some("`n` must be 1")
    } else if !json_mode || !asks_json {
        Some("JSON mode needs response_format json_object and a prompt that asks for JSON")
    } else {
        None
    }
}

async fn completions(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let want = format!("Bearer {}", inner.key);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
        return (StatusCode::UNAUTHORIZED, error_body(401).to_string());
    }
    let parsed: Option<Value> = serde_json::from_str(&body).ok();
    let problem = match &parsed {
        Some(v) => shape_problem(v),
        None => Some("not JSON"),
    };
    let next = {
        let mut seen = inner.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = problem {
            seen.malformed.push(format!("{p}: {body}"));
            return (
                StatusCode::BAD_REQUEST,
                json!({"error": {"message": p, "type": "invalid_request_error"}}).to_string(),
            );
        }
        seen.requests.push(parsed.clone().unwrap_or_default());
        seen.queue.pop_front()
    };
    let model = parsed
        .as_ref()
        .and_then(|v| v.get("model").and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();
    match next.unwrap_or_else(|| Answer::verdict("none", 0.9)) {
        Answer::Content(c) => (StatusCode::OK, completion(&model, &c).to_string()),
        Answer::Status(s) => (
            StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error_body(s).to_string(),
        ),
        Answer::Slow(wait, c) => {
            tokio::time::sleep(wait).await;
            (StatusCode::OK, completion(&model, &c).to_string())
        }
    }
}
