//! Selling in chat: carts driven by what customers type and tap, checkout
//! with reserved stock, orders moved along the order table, shipments and
//! their partner reports, order notices, discount codes, product messages,
//! and each business's commerce settings.

mod carts;
mod checkout;
mod discounts;
mod notices;
mod orders;
mod products;
mod settings;
mod shipments;

pub use carts::{CartHandled, CartListParams, CartView, Carts, PriceFlag, command_of};
pub use discounts::Discounts;
pub use notices::NOTICE_VARIABLES;
pub(crate) use notices::{Notifier, local_time};
pub use orders::{
    EXPIRY_BATCH, ExpiryReport, NewOrder, NewOrderLine, OrderAction, OrderActionInput,
    OrderListParams, Orders, REASON_MAX_CHARS,
};
pub use products::{
    ADD_TO_CART, CatalogSectionSend, CatalogSend, ProductCardSend, ProductListSend,
    ProductMessages, VIEW,
};
pub use settings::CommerceSetup;
pub(crate) use settings::random_hex;
pub use shipments::{
    DELIVERY_BODY_MAX_BYTES, DeliveryWebhookError, PartnerReceipt, PartnerReport, Shipments,
    StaffReport, parse_status,
};
