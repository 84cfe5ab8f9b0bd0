//! Groq's OpenAI-compatible chat completions, asked for a JSON verdict.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use whatsapp_crm_core::Secret;
use whatsapp_crm_core::assistant::Ranking;
use whatsapp_crm_core::ports::{Classifier, ClassifierError, ClassifyRequest};

/// Groq's OpenAI-compatible API.
pub const DEFAULT_BASE: &str = "https://api.groq.com/openai/v1";
/// A small, fast model that follows JSON instructions well.
pub const DEFAULT_MODEL: &str = "llama-3.1-8b-instant";
/// Default longest wait: the customer is waiting, and the offline model
/// answers in microseconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2_500);
/// Examples of each intent shown to the model.
pub const EXAMPLES_SHOWN: usize = 3;
/// Most intents listed in one prompt.
pub const INTENTS_SHOWN: usize = 200;
/// The answer's intent when none fits.
pub const NONE: &str = "none";

/// Where and how to reach Groq.
#[derive(Debug, Clone)]
pub struct GroqConfig {
    pub(crate) api_key: Secret,
    pub(crate) model: String,
    pub(crate) base: String,
    pub(crate) timeout: Duration,
}

impl GroqConfig {
    /// Groq with this API key (`gsk_…`), the default model and timeout.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: Secret::new(api_key),
            model: DEFAULT_MODEL.into(),
            base: DEFAULT_BASE.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Another model (see Groq's model list).
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Another base URL (a local stand-in): the part before
    /// `/chat/completions`.
    pub fn with_base(mut self, url: impl Into<String>) -> Self {
        self.base = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Longest wait for one answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Groq as an intent [`Classifier`].
#[derive(Clone)]
pub struct Groq {
    config: Arc<GroqConfig>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Groq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Groq").field("config", &self.config).finish_non_exhaustive()
    }
}

const SYSTEM: &str = "You sort WhatsApp messages that customers send a small shop in Kenya \
(English, Swahili or Sheng) into the shop's intents. Answer with one JSON object and nothing \
else: {\"intent\": \"<an intent name from the list, or none>\", \"confidence\": <a number from \
0 to 1>}. Use \"none\" when no intent fits. Confidence is how sure you are.";

/// The user message: the intents, then the customer's message.
pub fn prompt(request: &ClassifyRequest<'_>) -> String {
    let mut out = String::from("Intents:\n");
    for i in request.intents.iter().take(INTENTS_SHOWN) {
        out.push_str(&format!("- {}: {}", i.name, i.about));
        let examples: Vec<&str> =
            i.examples.iter().take(EXAMPLES_SHOWN).map(String::as_str).collect();
        if !examples.is_empty() {
            out.push_str(&format!(" (e.g. {})", examples.join(" | ")));
        }
        out.push('\n');
    }
    out.push_str("\nMessage: ");
    out.push_str(request.text);
    out
}

/// Reads the model's answer into a ranking over `request.intents`: the
/// named intent gets its confidence, the rest share what is left (all share
/// evenly for `none`).
pub fn ranking_of(
    content: &str,
    request: &ClassifyRequest<'_>,
) -> Result<Ranking, ClassifierError> {
    let invalid = |why: &str| ClassifierError::Invalid(why.to_owned());
    let v: Value = serde_json::from_str(content.trim()).map_err(|_| invalid("not JSON"))?;
    let intent = v.get("intent").and_then(Value::as_str).ok_or_else(|| invalid("no intent"))?;
    let confidence = v
        .get("confidence")
        .and_then(Value::as_f64)
        .filter(|c| (0.0..=1.0).contains(c))
        .ok_or_else(|| invalid("no confidence between 0 and 1"))?;
    let names = request.intents.iter().map(|i| i.name.as_str());
    if intent == NONE {
        return Ok(Ranking::from_weights(names.map(|n| (n.to_owned(), 1.0))));
    }
    if !request.intents.iter().any(|i| i.name == intent) {
        return Err(invalid("an intent that is not on the list"));
    }
    let others = request.intents.len().saturating_sub(1).max(1) as f64;
    let rest = (1.0 - confidence) / others;
    Ok(Ranking::from_weights(
        names.map(|n| (n.to_owned(), if n == intent { confidence } else { rest })),
    ))
}

impl Groq {
    /// A client for the account in `config`.
    pub fn new(config: GroqConfig) -> Result<Self, ClassifierError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let setup = |e: String| ClassifierError::Unreachable(e);
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("whatsapp-crm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(Self { config: Arc::new(config), http })
    }

    /// The chat completion request for `request`: JSON mode, temperature
    /// 0, and no `logprobs` (Groq refuses them).
    pub fn body(&self, request: &ClassifyRequest<'_>) -> Value {
        json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": prompt(request)},
            ],
            "temperature": 0,
            "max_completion_tokens": 60,
            "response_format": {"type": "json_object"},
        })
    }
}

#[async_trait]
impl Classifier for Groq {
    fn name(&self) -> &'static str {
        "groq"
    }

    async fn classify(&self, request: &ClassifyRequest<'_>) -> Result<Ranking, ClassifierError> {
        if request.intents.is_empty() {
            return Err(ClassifierError::Invalid("no intents to choose from".into()));
        }
        let url = format!("{}/chat/completions", self.config.base);
        let sent = self
            .http
            .post(url)
            .bearer_auth(self.config.api_key.expose())
            .json(&self.body(request))
            .send()
            .await;
        let res = sent.map_err(|e| {
            if e.is_timeout() {
                ClassifierError::Timeout
            } else {
                ClassifierError::Unreachable(e.to_string())
            }
        })?;
        let status = res.status();
        if !status.is_success() {
            return Err(ClassifierError::Status { status: status.as_u16() });
        }
        let body = res.bytes().await.map_err(|e| {
            if e.is_timeout() {
                ClassifierError::Timeout
            } else {
                ClassifierError::Invalid(e.to_string())
            }
        })?;
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| ClassifierError::Invalid("not a chat completion".into()))?;
        let content = v
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| ClassifierError::Invalid("no message content".into()))?;
        ranking_of(content, request)
    }
}

#[cfg(test)]
mod tests {
    use whatsapp_crm_core::ports::IntentSummary;

    use super::*;

    fn intents() -> Vec<IntentSummary> {
        ["delivery", "opening_hours", "refund"]
            .iter()
            .map(|n| IntentSummary {
                name: (*n).into(),
                about: n.replace('_', " "),
                examples: vec![format!("about {n}")],
            })
            .collect()
    }

    #[test]
    fn answers_become_rankings_or_errors() {
        let intents = intents();
        let req = ClassifyRequest { text: "mnaleta?", normalized: "mnaleta", intents: &intents };
        let r = ranking_of(r#"{"intent": "delivery", "confidence": 0.9}"#, &req).unwrap();
        assert_eq!((r.top().unwrap().intent.as_str(), r.p1()), ("delivery", 0.9));
        assert!((r.0.iter().map(|s| s.probability).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((r.p2() - 0.05).abs() < 1e-9);
        let none = ranking_of(r#" {"intent": "none", "confidence": 0.8} "#, &req).unwrap();
        assert!((none.p1() - 1.0 / 3.0).abs() < 1e-9, "nothing fits: even");
        for bad in [
            "Sure! The intent is delivery.",
            r#"{"intent": "shipping", "confidence": 0.9}"#,
            r#"{"intent": "delivery", "confidence": 1.5}"#,
            r#"{"intent": "delivery"}"#,
            r#"{"confidence": 0.5}"#,
        ] {
            assert!(matches!(ranking_of(bad, &req), Err(ClassifierError::Invalid(_))), "{bad}");
        }
        let p = prompt(&req);
        assert!(p.contains("- opening_hours: opening hours (e.g. about opening_hours)"));
        assert!(p.ends_with("Message: mnaleta?"));
    }
}
