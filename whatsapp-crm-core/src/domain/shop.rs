//! How a business sells in chat: its commerce settings, delivery methods,
//! and the order notices it sends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{TemplateId, ValidationError};

/// Minutes an order awaiting payment holds its stock by default (commerce
/// reference, spec point 9).
pub const PAYMENT_MINUTES_DEFAULT: u32 = 60;
/// Shortest and longest payment window a business may set (Stripe
/// Checkout's bounds, commerce reference 2.5).
pub const PAYMENT_MINUTES_RANGE: (u32, u32) = (30, 24 * 60);
/// Shortest and longest inactivity after which an open cart with lines
/// counts as abandoned (minutes; the default is
/// [`ABANDON_AFTER_MINUTES`](super::ABANDON_AFTER_MINUTES)).
pub const ABANDON_MINUTES_RANGE: (u32, u32) = (5, 7 * 24 * 60);
/// Default minutes after a payment link is sent for its first reminder.
pub const REMINDER_AFTER_MINUTES_DEFAULT: u32 = 30;
/// Default minutes before a payment link expires for its last reminder.
pub const REMINDER_BEFORE_EXPIRY_MINUTES_DEFAULT: u32 = 60;
/// Longest a payment link may work, in minutes (a week).
pub const LINK_MINUTES_MAX: u32 = 7 * 24 * 60;
/// Longest Meta catalog id accepted.
pub const META_CATALOG_ID_MAX_CHARS: usize = 64;
/// Longest delivery address.
pub const ADDRESS_MAX_CHARS: usize = 300;
/// Bytes of randomness in a delivery webhook's URL token and its secret.
pub const DELIVERY_SECRET_BYTES: usize = 24;

/// How an order reaches the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeliveryMethod {
    /// The customer collects it at the shop.
    Pickup,
    /// The shop sends it, to this address when known.
    Delivery {
        /// Where to, in the customer's words.
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(max_length = 300))]
        address: Option<String>,
    },
}

impl DeliveryMethod {
    /// Checks the address.
    pub fn validate(self) -> Result<Self, String> {
        match self {
            Self::Delivery { address: Some(a) } if a.trim().is_empty() => {
                Ok(Self::Delivery { address: None })
            }
            Self::Delivery { address: Some(a) } => {
                clean_text(&a, ADDRESS_MAX_CHARS).map(|a| Self::Delivery { address: Some(a) })
            }
            other => Ok(other),
        }
    }
}

/// The moments an order's customer is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderNotice {
    /// Checked out: the order is confirmed and waits for payment.
    Confirmed,
    /// Paid in full.
    Paid,
    /// Handed to a carrier (with the tracking link).
    Shipped,
    /// On its way to the door today.
    OutForDelivery,
    /// Delivered.
    Delivered,
    /// Called off.
    Cancelled,
    /// Not paid in time; its stock went back.
    Expired,
    /// The link to pay (and its reminders), outside the window: the
    /// template's URL button takes the link's token as its suffix.
    PaymentLink,
}

impl OrderNotice {
    /// Every notice.
    pub const ALL: [OrderNotice; 8] = [
        Self::Confirmed,
        Self::Paid,
        Self::Shipped,
        Self::OutForDelivery,
        Self::Delivered,
        Self::Cancelled,
        Self::Expired,
        Self::PaymentLink,
    ];

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::PaymentLink => "payment_link",
        }
    }
}

/// Where a delivery partner posts its reports, and the secret it signs them
/// with (see [`commerce::signature`](crate::commerce::signature)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryWebhook {
    /// The last part of `/webhooks/delivery/{token}`: the business's id and
    /// a random part, so a URL found by chance names no business.
    pub token: String,
    /// The HMAC-SHA256 key (hex) the partner signs with.
    pub secret: String,
}

/// Most products suggested in a cart reply.
pub const CART_SUGGESTIONS_MAX: u8 = 2;

/// A business's commerce settings. Off until the business turns it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommerceSettings {
    /// Cart commands, button payloads and native carts arriving in the
    /// inbox drive carts.
    pub enabled: bool,
    /// The Meta catalog connected to the WhatsApp account, needed for
    /// catalog and multi-product messages.
    pub meta_catalog_id: Option<String>,
    /// Minutes a checked-out order holds its stock while it waits for payment.
    pub payment_minutes: u32,
    /// Minutes without a change after which an open cart with lines counts
    /// as abandoned.
    #[serde(default = "abandon_default")]
    pub abandon_after_minutes: u32,
    /// How chat orders reach customers unless they say otherwise.
    pub default_delivery: DeliveryMethod,
    /// The approved utility template each notice uses outside the 24-hour
    /// window; a notice without one is skipped there, with the reason kept.
    pub notice_templates: BTreeMap<OrderNotice, TemplateId>,
    /// The delivery partner webhook, once commerce is turned on.
    pub delivery_webhook: Option<DeliveryWebhook>,
    /// Minutes a payment link works; absent, until the order's payment
    /// window closes.
    #[serde(default)]
    pub link_minutes: Option<u32>,
    /// Minutes after a payment link is sent that an unpaid order is
    /// reminded (0: never).
    #[serde(default = "reminder_after_default")]
    pub reminder_after_minutes: u32,
    /// Minutes before a payment link expires that an unpaid order is
    /// reminded (0: never).
    #[serde(default = "reminder_before_default")]
    pub reminder_before_expiry_minutes: u32,
    /// The key payment links are signed with (hex), made when commerce is
    /// turned on.
    #[serde(default)]
    pub link_key: Option<String>,
    /// Products bought together with the cart suggested after an item is
    /// added, 0 (off, the default) to 2.
    #[serde(default)]
    pub cart_suggestions: u8,
}

fn reminder_after_default() -> u32 {
    REMINDER_AFTER_MINUTES_DEFAULT
}

fn reminder_before_default() -> u32 {
    REMINDER_BEFORE_EXPIRY_MINUTES_DEFAULT
}

fn abandon_default() -> u32 {
    super::ABANDON_AFTER_MINUTES as u32
}

impl Default for CommerceSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            meta_catalog_id: None,
            payment_minutes: PAYMENT_MINUTES_DEFAULT,
            abandon_after_minutes: abandon_default(),
            default_delivery: DeliveryMethod::Pickup,
            notice_templates: BTreeMap::new(),
            delivery_webhook: None,
            link_minutes: None,
            reminder_after_minutes: REMINDER_AFTER_MINUTES_DEFAULT,
            reminder_before_expiry_minutes: REMINDER_BEFORE_EXPIRY_MINUTES_DEFAULT,
            link_key: None,
            cart_suggestions: 0,
        }
    }
}

/// Commerce settings as the API takes them; the delivery webhook is made by
/// the server, never given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommerceSettingsInput {
    /// Turn commerce on or off (default off).
    #[serde(default)]
    pub enabled: bool,
    /// The Meta catalog id, digits as Meta shows it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{1,64}$"))]
    pub meta_catalog_id: Option<String>,
    /// Minutes an order holds its stock awaiting payment, 30 to 1440
    /// (default 60).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 30, maximum = 1440))]
    pub payment_minutes: Option<u32>,
    /// Minutes without a change after which an open cart with lines counts
    /// as abandoned, 5 to 10080 (default 15).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 10080))]
    pub abandon_after_minutes: Option<u32>,
    /// How chat orders reach customers (default pickup).
    #[serde(default)]
    pub default_delivery: Option<DeliveryMethod>,
    /// Approved utility template per notice, for outside the 24-hour window.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = NoticeTemplates))]
    pub notice_templates: BTreeMap<OrderNotice, TemplateId>,
    /// Minutes a payment link works, 5 to 10080; absent, until the order's
    /// payment window closes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 10080))]
    pub link_minutes: Option<u32>,
    /// Minutes after a link is sent that an unpaid order is reminded, 0 to
    /// 10080 (default 30; 0: never).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 10080))]
    pub reminder_after_minutes: Option<u32>,
    /// Minutes before a link expires that an unpaid order is reminded, 0 to
    /// 10080 (default 60; 0: never).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 10080))]
    pub reminder_before_expiry_minutes: Option<u32>,
    /// Products bought together with the cart suggested after an item is
    /// added, 0 to 2 (default 0: off).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 2))]
    pub cart_suggestions: Option<u8>,
}

/// The document's shape of `notice_templates`: a template id per notice.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NoticeTemplates {
    #[schema(format = Uuid)]
    confirmed: Option<String>,
    #[schema(format = Uuid)]
    paid: Option<String>,
    #[schema(format = Uuid)]
    shipped: Option<String>,
    #[schema(format = Uuid)]
    out_for_delivery: Option<String>,
    #[schema(format = Uuid)]
    delivered: Option<String>,
    #[schema(format = Uuid)]
    cancelled: Option<String>,
    #[schema(format = Uuid)]
    expired: Option<String>,
    #[schema(format = Uuid)]
    payment_link: Option<String>,
}

impl CommerceSettingsInput {
    /// Checks every field and builds the settings, keeping `current`'s
    /// delivery webhook.
    pub fn validate(self, current: &CommerceSettings) -> Result<CommerceSettings, ValidationError> {
        let mut v = ValidationError::default();
        let catalog = self.meta_catalog_id.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if let Some(c) = &catalog
            && (c.len() > META_CATALOG_ID_MAX_CHARS || !c.chars().all(|d| d.is_ascii_digit()))
        {
            v.push("meta_catalog_id", format!("must be 1 to {META_CATALOG_ID_MAX_CHARS} digits"));
        }
        let minutes = self.payment_minutes.unwrap_or(PAYMENT_MINUTES_DEFAULT);
        let (lo, hi) = PAYMENT_MINUTES_RANGE;
        if !(lo..=hi).contains(&minutes) {
            v.push("payment_minutes", format!("must be {lo} to {hi}"));
        }
        let abandon = self.abandon_after_minutes.unwrap_or_else(abandon_default);
        let (lo, hi) = ABANDON_MINUTES_RANGE;
        if !(lo..=hi).contains(&abandon) {
            v.push("abandon_after_minutes", format!("must be {lo} to {hi}"));
        }
        if self.link_minutes.is_some_and(|m| !(5..=LINK_MINUTES_MAX).contains(&m)) {
            v.push("link_minutes", format!("must be 5 to {LINK_MINUTES_MAX}"));
        }
        for (field, value) in [
            ("reminder_after_minutes", self.reminder_after_minutes),
            ("reminder_before_expiry_minutes", self.reminder_before_expiry_minutes),
        ] {
            if value.is_some_and(|m| m > LINK_MINUTES_MAX) {
                v.push(field, format!("must be 0 to {LINK_MINUTES_MAX}"));
            }
        }
        if self.cart_suggestions.is_some_and(|n| n > CART_SUGGESTIONS_MAX) {
            v.push("cart_suggestions", format!("must be 0 to {CART_SUGGESTIONS_MAX}"));
        }
        let delivery = v.check(
            "default_delivery",
            self.default_delivery.unwrap_or(DeliveryMethod::Pickup).validate(),
        );
        v.into_result(|| CommerceSettings {
            enabled: self.enabled,
            meta_catalog_id: catalog,
            payment_minutes: minutes,
            abandon_after_minutes: abandon,
            default_delivery: delivery.unwrap_or(DeliveryMethod::Pickup),
            notice_templates: self.notice_templates,
            delivery_webhook: current.delivery_webhook.clone(),
            link_minutes: self.link_minutes,
            reminder_after_minutes: self
                .reminder_after_minutes
                .unwrap_or(REMINDER_AFTER_MINUTES_DEFAULT),
            reminder_before_expiry_minutes: self
                .reminder_before_expiry_minutes
                .unwrap_or(REMINDER_BEFORE_EXPIRY_MINUTES_DEFAULT),
            link_key: current.link_key.clone(),
            cart_suggestions: self.cart_suggestions.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_field_by_field() {
        let bad = CommerceSettingsInput {
            meta_catalog_id: Some("cat-1".into()),
            payment_minutes: Some(5),
            default_delivery: Some(DeliveryMethod::Delivery { address: Some("x".repeat(301)) }),
            ..CommerceSettingsInput::default()
        };
        let e = bad.validate(&CommerceSettings::default()).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["meta_catalog_id", "payment_minutes", "default_delivery"]);
        let ok = CommerceSettingsInput { enabled: true, ..CommerceSettingsInput::default() }
            .validate(&CommerceSettings::default())
            .unwrap();
        assert_eq!((ok.payment_minutes, ok.default_delivery), (60, DeliveryMethod::Pickup));
    }

    #[test]
    fn notices_serialise_as_their_names() {
        for n in OrderNotice::ALL {
            assert_eq!(serde_json::to_value(n).unwrap(), n.as_str());
        }
    }
}
