//! Paystack's transaction API: initialise and verify.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use whatsapp_crm_core::payment::PaymentOutcome;
use whatsapp_crm_core::ports::{
    NextStep, PaymentProvider, PaymentProviderError, PaymentRequest, ProviderEvent, Started,
};
use whatsapp_crm_core::{Currency, Money, PaymentId, Secret};

use crate::signature::verify_signature;

/// Paystack's API.
pub const DEFAULT_BASE: &str = "https://api.paystack.co";

/// A secret key and where to reach Paystack.
#[derive(Debug, Clone)]
pub struct PaystackConfig {
    pub(crate) secret_key: Secret,
    pub(crate) base: String,
    pub(crate) timeout: Duration,
}

impl PaystackConfig {
    /// Paystack with this secret key (`sk_live_…` or `sk_test_…`).
    pub fn new(secret_key: impl Into<String>) -> Self {
        Self {
            secret_key: Secret::new(secret_key),
            base: DEFAULT_BASE.into(),
            timeout: Duration::from_secs(15),
        }
    }

    /// Another base URL (a local stand-in).
    pub fn with_base(mut self, url: impl Into<String>) -> Self {
        self.base = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Longest wait for one request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The transaction reference of an attempt: unique, in Paystack's
/// alphabet (`[A-Za-z0-9-.=]`).
pub fn reference_for(payment: PaymentId) -> String {
    format!("wcrm-{}", payment.as_uuid().simple())
}

/// Paystack.
#[derive(Clone)]
pub struct Paystack {
    config: Arc<PaystackConfig>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Paystack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paystack").field("config", &self.config).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: bool,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Value,
}

fn unavailable(e: impl ToString) -> PaymentProviderError {
    PaymentProviderError::Unavailable { message: e.to_string() }
}

/// What a transaction's status (from `verify` or a webhook) means.
fn outcome(data: &Value) -> Result<PaymentOutcome, PaymentProviderError> {
    let status = data.get("status").and_then(Value::as_str).unwrap_or("");
    let reason = data.get("gateway_response").and_then(Value::as_str).unwrap_or(status).to_owned();
    Ok(match status {
        "success" => {
            let minor = data.get("amount").and_then(Value::as_i64);
            let currency = data.get("currency").and_then(Value::as_str).map(Currency::parse);
            let (Some(minor), Some(Ok(currency))) = (minor, currency) else {
                return Err(PaymentProviderError::Malformed(
                    "a success without amount or currency".into(),
                ));
            };
            let receipt = data
                .get("id")
                .map(|id| id.to_string().trim_matches('"').to_owned())
                .or_else(|| data.get("reference").and_then(Value::as_str).map(str::to_owned));
            PaymentOutcome::Succeeded { amount: Money::new(minor, currency), receipt }
        }
        "failed" | "reversed" => PaymentOutcome::Failed { code: status.into(), reason },
        "abandoned" => PaymentOutcome::Cancelled { reason },
        _ => PaymentOutcome::Pending,
    })
}

impl Paystack {
    /// A client for the account in `config`.
    pub fn new(config: PaystackConfig) -> Result<Self, PaymentProviderError> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let setup = |e: String| PaymentProviderError::Rejected { code: None, message: e };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("whatsapp-crm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(Self { config: Arc::new(config), http })
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, PaymentProviderError> {
        let res =
            req.bearer_auth(self.config.secret_key.expose()).send().await.map_err(unavailable)?;
        let status = res.status();
        let body = res.bytes().await.map_err(unavailable)?;
        let envelope: Option<Envelope> = serde_json::from_slice(&body).ok();
        match status.as_u16() {
            200..=299 => match envelope {
                Some(e) if e.status => Ok(e.data),
                Some(e) => Err(PaymentProviderError::Rejected { code: None, message: e.message }),
                None => Err(unavailable("an unreadable answer")),
            },
            401 | 403 => Err(PaymentProviderError::Unauthorized),
            429 | 500..=599 => Err(unavailable(format!("Paystack answered {status}"))),
            _ => Err(PaymentProviderError::Rejected {
                code: Some(status.as_u16().to_string()),
                message: envelope.map(|e| e.message).unwrap_or_default(),
            }),
        }
    }
}

#[async_trait]
impl PaymentProvider for Paystack {
    fn name(&self) -> &'static str {
        "paystack"
    }

    async fn start(&self, r: &PaymentRequest) -> Result<Started, PaymentProviderError> {
        let email = r.email.clone().ok_or_else(|| PaymentProviderError::Rejected {
            code: None,
            message: "Paystack needs the payer's email".into(),
        })?;
        if r.amount.minor <= 0 {
            return Err(PaymentProviderError::Rejected {
                code: None,
                message: "nothing to charge".into(),
            });
        }
        let reference = reference_for(r.payment_id);
        let body = json!({
            "email": email,
            "amount": r.amount.minor,
            "currency": r.amount.currency.as_str(),
            "reference": reference,
            "callback_url": r.callback_url,
            "metadata": {"order": r.account_reference, "payment_id": r.payment_id.to_string()},
        });
        let url = format!("{}/transaction/initialize", self.config.base);
        let data = self.call(self.http.post(url).json(&body)).await?;
        let checkout = data
            .get("authorization_url")
            .and_then(Value::as_str)
            .ok_or_else(|| unavailable("no authorization_url"))?;
        Ok(Started { reference, next: NextStep::Redirect { url: checkout.to_owned() } })
    }

    async fn query(
        &self,
        reference: &str,
        _asked: Money,
    ) -> Result<PaymentOutcome, PaymentProviderError> {
        let safe =
            reference.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '='));
        if !safe || reference.is_empty() {
            return Err(PaymentProviderError::Rejected {
                code: None,
                message: "not a Paystack reference".into(),
            });
        }
        let url = format!("{}/transaction/verify/{reference}", self.config.base);
        let data = self.call(self.http.get(url)).await?;
        outcome(&data)
    }

    fn parse_callback(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<ProviderEvent, PaymentProviderError> {
        let signed = signature
            .is_some_and(|s| verify_signature(self.config.secret_key.expose().as_bytes(), s, body));
        if !signed {
            return Err(PaymentProviderError::BadSignature);
        }
        let json: Value = serde_json::from_slice(body)
            .map_err(|e| PaymentProviderError::Malformed(e.to_string()))?;
        let kind = json.get("event").and_then(Value::as_str).unwrap_or("").to_owned();
        let data = json.get("data").cloned().unwrap_or(Value::Null);
        let reference = data
            .get("reference")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| PaymentProviderError::Malformed("no data.reference".into()))?
            .to_owned();
        let amount = match (
            data.get("amount").and_then(Value::as_i64),
            data.get("currency").and_then(Value::as_str),
        ) {
            (Some(m), Some(c)) => Currency::parse(c).ok().map(|c| Money::new(m, c)),
            _ => None,
        };
        let outcome = match kind.as_str() {
            "charge.success" => outcome(&data)?,
            _ => PaymentOutcome::Pending,
        };
        Ok(ProviderEvent { reference, kind, outcome, amount })
    }
}
