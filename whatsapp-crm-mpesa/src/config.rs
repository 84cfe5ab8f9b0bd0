//! Credentials, shortcode and endpoints.

use std::time::Duration;

use whatsapp_crm_core::Secret;

/// Daraja's sandbox.
pub const SANDBOX_BASE: &str = "https://sandbox.safaricom.co.ke";
/// Daraja in production.
pub const PRODUCTION_BASE: &str = "https://api.safaricom.co.ke";
/// Longest `AccountReference` (shown in the PIN prompt; platform-rules 7.2).
pub const ACCOUNT_REFERENCE_MAX_CHARS: usize = 12;
/// Longest `TransactionDesc` (platform-rules 7.2).
pub const TRANSACTION_DESC_MAX_CHARS: usize = 13;

/// Where payments land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortcode {
    /// A Paybill: `CustomerPayBillOnline` to the business shortcode.
    Paybill,
    /// A Till (Buy Goods): `CustomerBuyGoodsOnline`, paid to this till.
    Till(String),
}

/// Everything needed to talk to Daraja.
#[derive(Debug, Clone)]
pub struct MpesaConfig {
    pub(crate) consumer_key: String,
    pub(crate) consumer_secret: Secret,
    pub(crate) shortcode: String,
    pub(crate) passkey: Secret,
    pub(crate) kind: Shortcode,
    pub(crate) base: String,
    pub(crate) timeout: Duration,
}

impl MpesaConfig {
    /// A Paybill app on the sandbox; see the `with_*` setters.
    pub fn new(
        consumer_key: impl Into<String>,
        consumer_secret: impl Into<String>,
        shortcode: impl Into<String>,
        passkey: impl Into<String>,
    ) -> Self {
        Self {
            consumer_key: consumer_key.into(),
            consumer_secret: Secret::new(consumer_secret),
            shortcode: shortcode.into(),
            passkey: Secret::new(passkey),
            kind: Shortcode::Paybill,
            base: SANDBOX_BASE.into(),
            timeout: Duration::from_secs(15),
        }
    }

    /// Another base URL: [`PRODUCTION_BASE`], or a local stand-in.
    pub fn with_base(mut self, url: impl Into<String>) -> Self {
        self.base = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// A Till instead of a Paybill.
    pub fn with_till(mut self, till: impl Into<String>) -> Self {
        self.kind = Shortcode::Till(till.into());
        self
    }

    /// Longest wait for one request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn http_client(&self) -> Result<reqwest::Client, String> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("whatsapp-crm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = MpesaConfig::new("key", "consumer-secret", "174379", "the-passkey");
        let shown = format!("{c:?}");
        assert!(!shown.contains("consumer-secret") && !shown.contains("the-passkey"), "{shown}");
    }
}
