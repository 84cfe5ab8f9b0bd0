//! Account, credentials and endpoints.

use std::time::Duration;

/// Twilio's REST API (Messages).
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// Twilio's Content API (templates).
pub const DEFAULT_CONTENT_BASE: &str = "https://content.twilio.com";

pub use whatsapp_crm_core::Secret;

/// How requests authenticate (HTTP basic auth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The account SID with its auth token.
    AuthToken(Secret),
    /// An API key (`SK…`) with its secret: revocable without touching the auth token.
    ApiKey {
        /// API key SID.
        sid: String,
        /// API key secret.
        secret: Secret,
    },
}

/// Everything needed to talk to Twilio.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub(crate) account_sid: String,
    pub(crate) credentials: Credentials,
    pub(crate) api_base: String,
    pub(crate) content_base: String,
    pub(crate) status_callback: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
}

impl TwilioConfig {
    /// An account (`AC…`) with its auth token.
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<String>) -> Self {
        Self::with_credentials(account_sid, Credentials::AuthToken(Secret::new(auth_token)))
    }

    /// An account with explicit credentials.
    pub fn with_credentials(account_sid: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            account_sid: account_sid.into(),
            credentials,
            api_base: DEFAULT_API_BASE.into(),
            content_base: DEFAULT_CONTENT_BASE.into(),
            status_callback: None,
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Another REST API base URL: a regional edge (`https://api.dublin.ie1.twilio.com`)
    /// or a local server in tests.
    pub fn with_api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Another Content API base URL.
    pub fn with_content_base(mut self, url: impl Into<String>) -> Self {
        self.content_base = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Public URL of the status-callback webhook. Each message's callback URL is
    /// this plus `message_id=<our id>`, so callbacks can be matched even before
    /// the send returns.
    pub fn with_status_callback(mut self, url: impl Into<String>) -> Self {
        self.status_callback = Some(url.into());
        self
    }

    /// Whole-request timeout (default 15 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connection timeout (default 5 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The account SID.
    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }

    /// Basic-auth user and password.
    pub(crate) fn basic_auth(&self) -> (&str, &str) {
        match &self.credentials {
            Credentials::AuthToken(token) => (&self.account_sid, token.expose()),
            Credentials::ApiKey { sid, secret } => (sid, secret.expose()),
        }
    }

    /// The HTTP client: rustls with the ring provider and Mozilla's roots.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client, crate::TwilioError> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| crate::TwilioError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("whatsapp-crm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::TwilioError::Setup(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = TwilioConfig::new("AC123", "super-secret-token");
        assert!(!format!("{c:?}").contains("super-secret-token"));
        let k = Credentials::ApiKey { sid: "SK1".into(), secret: Secret::new("key-secret") };
        assert!(!format!("{k:?}").contains("key-secret"));
        assert_eq!(Secret::new("x").to_string(), "***");
    }
}
