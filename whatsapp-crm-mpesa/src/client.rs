//! The Daraja client: OAuth token cache, STK push and STK query.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;
use whatsapp_crm_core::payment::PaymentOutcome;
use whatsapp_crm_core::ports::{
    NextStep, PaymentProvider, PaymentProviderError, PaymentRequest, ProviderEvent, Started,
};
use whatsapp_crm_core::{Currency, Money};

use crate::callback::parse_callback;
use crate::codes::ResultCode;
use crate::config::{
    ACCOUNT_REFERENCE_MAX_CHARS, MpesaConfig, Shortcode, TRANSACTION_DESC_MAX_CHARS,
};
use crate::stk::{
    ErrorBody, PushRequest, PushResponse, QueryRequest, QueryResponse, code_text, msisdn, password,
    timestamp,
};

/// Seconds before a token's expiry at which it is replaced.
const REFRESH_MARGIN_SECS: i64 = 60;
/// Daraja's error code while a push is still being processed.
const STILL_PROCESSING: &str = "500.001.1001";

#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires_at: DateTime<Utc>,
}

/// M-Pesa Express through Daraja.
#[derive(Clone)]
pub struct Mpesa {
    config: Arc<MpesaConfig>,
    http: reqwest::Client,
    // Held across a refresh, so concurrent callers wait for one new token
    // (each new token invalidates the previous one).
    token: Arc<Mutex<Option<Token>>>,
}

impl std::fmt::Debug for Mpesa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpesa").field("config", &self.config).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: serde_json::Value,
}

fn unavailable(e: impl ToString) -> PaymentProviderError {
    PaymentProviderError::Unavailable { message: e.to_string() }
}

/// At most `max` characters of letters and digits (Daraja's prompt breaks on
/// anything else).
fn clip(text: &str, max: usize) -> String {
    text.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ' ').take(max).collect()
}

impl Mpesa {
    /// A client for the app in `config`.
    pub fn new(config: MpesaConfig) -> Result<Self, PaymentProviderError> {
        let http = config
            .http_client()
            .map_err(|e| PaymentProviderError::Rejected { code: None, message: e })?;
        Ok(Self { config: Arc::new(config), http, token: Arc::new(Mutex::new(None)) })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base)
    }

    /// A valid access token: the cached one, or one new one however many
    /// callers ask at once.
    async fn token(&self) -> Result<String, PaymentProviderError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && Utc::now() + Duration::seconds(REFRESH_MARGIN_SECS) < t.expires_at
        {
            return Ok(t.value.clone());
        }
        let basic = STANDARD.encode(format!(
            "{}:{}",
            self.config.consumer_key,
            self.config.consumer_secret.expose()
        ));
        let res = self
            .http
            .get(self.url("/oauth/v1/generate?grant_type=client_credentials"))
            .header("Authorization", format!("Basic {basic}"))
            .send()
            .await
            .map_err(unavailable)?;
        let status = res.status();
        let body = res.bytes().await.map_err(unavailable)?;
        if status.as_u16() == 400 || status.as_u16() == 401 {
            return Err(PaymentProviderError::Unauthorized);
        }
        if !status.is_success() {
            return Err(unavailable(format!("token request answered {status}")));
        }
        let t: TokenResponse = serde_json::from_slice(&body).map_err(unavailable)?;
        let secs = match &t.expires_in {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .unwrap_or(3599);
        let token =
            Token { value: t.access_token, expires_at: Utc::now() + Duration::seconds(secs) };
        *cached = Some(token.clone());
        Ok(token.value)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// Posts `body` with the token; one retry with a fresh token when the
    /// token was refused.
    async fn post(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Vec<u8>, (u16, Vec<u8>)> {
        for attempt in 0..2 {
            let token = self.token().await.map_err(|e| (0, e.to_string().into_bytes()))?;
            let res = self
                .http
                .post(self.url(path))
                .bearer_auth(token)
                .json(body)
                .send()
                .await
                .map_err(|e| (0, e.to_string().into_bytes()))?;
            let status = res.status().as_u16();
            let bytes = res.bytes().await.map_err(|e| (0, e.to_string().into_bytes()))?.to_vec();
            if (200..300).contains(&status) {
                return Ok(bytes);
            }
            let invalid_token = status == 401
                || serde_json::from_slice::<ErrorBody>(&bytes)
                    .ok()
                    .and_then(|e| e.error_code)
                    .is_some_and(|c| c == "404.001.03");
            if invalid_token && attempt == 0 {
                self.forget_token().await;
                continue;
            }
            return Err((status, bytes));
        }
        Err((0, b"unreachable".to_vec()))
    }

    fn refusal(status: u16, body: &[u8]) -> PaymentProviderError {
        let e: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let code = e.as_ref().and_then(|e| e.error_code.clone());
        let message = e
            .and_then(|e| e.error_message)
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
        match status {
            0 => unavailable(message),
            401 => PaymentProviderError::Unauthorized,
            s if s >= 500 && code.as_deref() != Some("500.001.1001") => unavailable(message),
            _ => PaymentProviderError::Rejected { code, message },
        }
    }
}

#[async_trait]
impl PaymentProvider for Mpesa {
    fn name(&self) -> &'static str {
        "mpesa"
    }

    async fn start(&self, r: &PaymentRequest) -> Result<Started, PaymentProviderError> {
        let reject = |m: &str| PaymentProviderError::Rejected { code: None, message: m.to_owned() };
        if r.amount.currency != Currency::KES {
            return Err(reject("M-Pesa takes KES only"));
        }
        if r.amount.minor < 100 || r.amount.minor % 100 != 0 {
            return Err(reject("M-Pesa takes whole shillings, at least KES 1"));
        }
        let phone = r
            .phone
            .as_ref()
            .and_then(msisdn)
            .ok_or_else(|| reject("a Kenyan mobile number (2547… or 2541…) is needed"))?;
        let now = Utc::now();
        let ts = timestamp(now);
        let c = &self.config;
        let (kind, party_b) = match &c.kind {
            Shortcode::Paybill => ("CustomerPayBillOnline", c.shortcode.clone()),
            Shortcode::Till(till) => ("CustomerBuyGoodsOnline", till.clone()),
        };
        let body = PushRequest {
            business_short_code: c.shortcode.clone(),
            password: password(&c.shortcode, c.passkey.expose(), &ts),
            timestamp: ts,
            transaction_type: kind.into(),
            amount: (r.amount.minor / 100).to_string(),
            party_a: phone.clone(),
            party_b,
            phone_number: phone,
            callback_url: r.callback_url.clone(),
            account_reference: clip(&r.account_reference, ACCOUNT_REFERENCE_MAX_CHARS),
            transaction_desc: clip(&r.description, TRANSACTION_DESC_MAX_CHARS),
        };
        let bytes = self
            .post("/mpesa/stkpush/v1/processrequest", &body)
            .await
            .map_err(|(s, b)| Self::refusal(s, &b))?;
        let res: PushResponse = serde_json::from_slice(&bytes).map_err(unavailable)?;
        if res.response_code.trim() != "0" {
            return Err(PaymentProviderError::Rejected {
                code: Some(res.response_code),
                message: res.response_description,
            });
        }
        Ok(Started { reference: res.checkout_request_id, next: NextStep::Prompted })
    }

    async fn query(
        &self,
        reference: &str,
        asked: Money,
    ) -> Result<PaymentOutcome, PaymentProviderError> {
        let ts = timestamp(Utc::now());
        let c = &self.config;
        let body = QueryRequest {
            business_short_code: c.shortcode.clone(),
            password: password(&c.shortcode, c.passkey.expose(), &ts),
            timestamp: ts,
            checkout_request_id: reference.to_owned(),
        };
        let bytes = match self.post("/mpesa/stkpushquery/v1/query", &body).await {
            Ok(b) => b,
            // Asked too early: Daraja is still waiting for the customer.
            Err((500, b))
                if serde_json::from_slice::<ErrorBody>(&b)
                    .ok()
                    .and_then(|e| e.error_code)
                    .is_some_and(|c| c == STILL_PROCESSING) =>
            {
                return Ok(PaymentOutcome::Pending);
            }
            Err((s, b)) => return Err(Self::refusal(s, &b)),
        };
        let res: QueryResponse = serde_json::from_slice(&bytes).map_err(unavailable)?;
        let Some(code) = res.result_code.as_ref().map(code_text) else {
            return Ok(PaymentOutcome::Pending);
        };
        let desc = res.result_desc.unwrap_or_default();
        Ok(ResultCode::parse(&code).outcome(&code, &desc, asked))
    }

    fn parse_callback(
        &self,
        _signature: Option<&str>,
        body: &[u8],
    ) -> Result<ProviderEvent, PaymentProviderError> {
        Ok(parse_callback(body)?.event())
    }
}
