//! The payments service, its configuration and its providers.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::ports::{Clock, PaymentProvider, Storage};
use crate::service::ServiceError;

/// Safaricom's published M-Pesa callback addresses (the lists in use
/// differ; commerce reference 4.4 has both).
pub const SAFARICOM_CALLBACK_IPS: &[&str] = &[
    "196.201.214.200",
    "196.201.214.206",
    "196.201.213.114",
    "196.201.214.207",
    "196.201.214.208",
    "196.201.213.44",
    "196.201.212.127",
    "196.201.212.138",
    "196.201.212.129",
    "196.201.212.136",
    "196.201.212.74",
    "196.201.212.69",
    "196.201.212.128",
    "196.201.212.132",
];

/// How payments run.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// The URL the world reaches the server at (`https://…`): payment
    /// links, M-Pesa callbacks and card returns are made from it.
    pub public_url: String,
    /// Seconds after a prompt without an answer before the provider is
    /// asked (then again with doubling waits).
    pub first_check_secs: i64,
    /// Minutes after which an attempt with no final answer expires.
    pub give_up_minutes: i64,
    /// Addresses M-Pesa callbacks may come from; empty: any.
    pub mpesa_callback_ips: Vec<IpAddr>,
    /// Refuse callbacks from other addresses (otherwise they are only
    /// logged, since Safaricom's addresses change).
    pub enforce_callback_ips: bool,
}

impl PaymentsConfig {
    /// Defaults for a server reached at `public_url`: first check after
    /// 60 s, give up after 10 minutes, Safaricom's addresses logged only.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            first_check_secs: 60,
            give_up_minutes: 10,
            mpesa_callback_ips: SAFARICOM_CALLBACK_IPS
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect(),
            enforce_callback_ips: false,
        }
    }
}

/// Payments of each business.
#[derive(Clone)]
pub struct Payments {
    pub(super) storage: Arc<dyn Storage>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) providers: Arc<BTreeMap<&'static str, Arc<dyn PaymentProvider>>>,
    pub(super) config: Option<Arc<PaymentsConfig>>,
}

impl Payments {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        providers: Arc<BTreeMap<&'static str, Arc<dyn PaymentProvider>>>,
        config: Option<Arc<PaymentsConfig>>,
    ) -> Self {
        Self { storage, clock, providers, config }
    }

    pub(super) fn provider(&self, name: &str) -> Result<&Arc<dyn PaymentProvider>, ServiceError> {
        self.providers
            .get(name)
            .ok_or(ServiceError::PaymentsNotConfigured { what: name.to_owned() })
    }

    pub(super) fn config(&self) -> Result<&PaymentsConfig, ServiceError> {
        self.config
            .as_deref()
            .ok_or(ServiceError::PaymentsNotConfigured { what: "public URL".into() })
    }
}

/// Filters of `GET /v1/payments`.
#[derive(Debug, Clone, Default)]
pub struct PaymentListParams {
    /// Only this order's attempts.
    pub order: Option<crate::domain::OrderId>,
    /// Only attempts in this status.
    pub status: Option<crate::domain::PaymentStatus>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// An attempt with the provider events behind it, as received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentDetail {
    /// The attempt.
    #[serde(flatten)]
    pub payment: crate::domain::PaymentAttempt,
    /// What the provider posted about it, oldest first.
    pub events: Vec<crate::domain::PaymentEvent>,
}

impl Payments {
    /// Lists attempts, oldest first.
    pub async fn list(
        &self,
        business: crate::domain::BusinessId,
        params: PaymentListParams,
    ) -> Result<crate::ports::Page<crate::domain::PaymentAttempt>, ServiceError> {
        let (limit, after) = crate::service::page_params::<crate::domain::PaymentId>(
            params.limit,
            params.cursor.as_deref(),
        )?;
        let q =
            crate::ports::PaymentQuery { order: params.order, status: params.status, limit, after };
        Ok(self.storage.list_payments(business, &q).await?)
    }

    /// An attempt with its events.
    pub async fn get(
        &self,
        business: crate::domain::BusinessId,
        id: crate::domain::PaymentId,
    ) -> Result<PaymentDetail, ServiceError> {
        let payment = self.storage.get_payment(business, id).await?;
        let events = self.storage.payment_events(business, id).await?;
        Ok(PaymentDetail { payment, events })
    }
}
