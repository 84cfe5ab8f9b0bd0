//! One authenticated HTTP client shared by the Messages and Content APIs.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};

use crate::TwilioError;
use crate::config::TwilioConfig;
use crate::errors::{Failure, network};

/// A successful answer, or what went wrong.
pub(crate) enum Outcome {
    /// 2xx with its body.
    Success(Vec<u8>),
    /// Twilio answered with an error.
    Failure(Failure),
    /// No answer. `maybe_sent` is false only when the connection was never made,
    /// so the provider cannot have acted on the request.
    Network { message: String, maybe_sent: bool },
}

#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    pub config: Arc<TwilioConfig>,
}

impl Api {
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioError> {
        Ok(Self { http: config.http_client()?, config: Arc::new(config) })
    }

    /// A request to `base` + `path` with basic auth.
    pub fn request(&self, method: Method, url: String) -> RequestBuilder {
        let (user, pass) = self.config.basic_auth();
        self.http.request(method, url).basic_auth(user, Some(pass))
    }

    pub async fn run(&self, req: RequestBuilder) -> Outcome {
        let res = match req.send().await {
            Ok(res) => res,
            Err(e) => {
                let maybe_sent = !e.is_connect();
                return Outcome::Network { message: network(e), maybe_sent };
            }
        };
        let status: StatusCode = res.status();
        let headers: HeaderMap = res.headers().clone();
        let body = match res.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return Outcome::Network { message: network(e), maybe_sent: true },
        };
        if status.is_success() {
            Outcome::Success(body)
        } else {
            Outcome::Failure(Failure::from_response(status, &headers, &body))
        }
    }
}
