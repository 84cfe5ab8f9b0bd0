//! Carts in chat: cart commands from text, button and list payloads and
//! WhatsApp's own cart drive the customer's cart; each reply shows the lines
//! and the total, and checkout places the order.

use std::sync::Arc;

use chrono::Duration;
use serde::Serialize;

use crate::commerce::command::add_payload;
use crate::commerce::{
    CartCommand, CartError, CatalogView, CommandError, Effect, NativeItem, ProductRef,
    parse_payload, parse_text,
};
use crate::domain::{
    Author, Business, BusinessId, CART_EXPIRE_AFTER_DAYS, Cart, CartId, CartStatus, Currency,
    Customer, CustomerId, Interactive, Message, MessageContent, Money, Order, OrderedItem,
    ReplyButton,
};
use crate::policy::{REPLY_TITLE_MAX, cut};
use crate::ports::{
    CART_CLOSED, CartQuery, Clock, Page, Storage, StorageError, to_storage_precision,
};
use crate::service::catalog::Catalog;
use crate::service::outbound::Outbound;
use crate::service::{ServiceError, page_params};

use super::checkout::Checkouts;
use super::products::ProductMessages;

/// Search hits a typed product name is resolved against.
const WORD_HITS: u32 = 5;
/// Repriced native cart lines a reply names (the rest are counted), so the
/// reply stays one message.
const FLAGS_SHOWN: usize = 5;

/// A cart with what the API shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartView {
    /// The cart.
    #[serde(flatten)]
    pub cart: Cart,
    /// Sum of the lines.
    pub subtotal: Money,
    /// Open, with lines, and untouched for the business's abandon time.
    pub abandoned: bool,
}

/// A line of a native cart quoted at another price than the catalog's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceFlag {
    /// Its SKU.
    pub sku: String,
    /// What the customer's app showed.
    pub quoted: Money,
    /// What the catalog charges (and the cart uses).
    pub catalog: Money,
}

/// What one cart command did.
#[derive(Debug, Clone, PartialEq)]
pub struct CartHandled {
    /// The customer's cart after it (closed, when checked out).
    pub cart: Cart,
    /// The replies queued.
    pub replies: Vec<Message>,
    /// The order placed by a checkout.
    pub order: Option<Order>,
    /// Native cart lines whose quoted price was not the catalog's.
    pub price_flags: Vec<PriceFlag>,
}

/// Filters of `GET /v1/carts`.
#[derive(Debug, Clone, Default)]
pub struct CartListParams {
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only carts in this status.
    pub status: Option<CartStatus>,
    /// Only abandoned ones (open carts only).
    pub abandoned: Option<bool>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// The cart command a message carries: `None` when it is not one.
pub fn command_of(content: &MessageContent) -> Option<Result<CartCommand, CommandError>> {
    match content {
        MessageContent::Text { body } => parse_text(body),
        MessageContent::Interactive { interactive: Interactive::Reply { payload, title } } => {
            payload.as_deref().and_then(parse_payload).or_else(|| parse_text(title))
        }
        MessageContent::Order { items, .. } => {
            Some(Ok(CartCommand::Native { items: items.iter().map(native_item).collect() }))
        }
        _ => None,
    }
}

/// A native cart line, its quoted price in minor units of its currency.
fn native_item(i: &OrderedItem) -> NativeItem {
    let quoted = match (i.item_price, i.currency.as_deref().map(Currency::parse)) {
        (Some(price), Some(Ok(c))) => {
            let minor = (price * 10f64.powi(c.minor_digits() as i32)).round();
            (minor.is_finite() && minor.abs() < 1e15).then(|| Money::new(minor as i64, c))
        }
        _ => None,
    };
    NativeItem { sku: i.sku.clone(), quantity: i.quantity, quoted }
}

/// Customers' carts.
#[derive(Clone)]
pub struct Carts {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    recommend: Option<crate::service::Recommendations>,
}

impl Carts {
    pub(crate) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock, recommend: None }
    }

    /// Suggests products bought together with the cart after an item is
    /// added, when the business's `cart_suggestions` asks for it.
    pub(crate) fn with_recommendations(
        mut self,
        recommend: Option<crate::service::Recommendations>,
    ) -> Self {
        self.recommend = recommend;
        self
    }

    /// Carries out the cart command `content` carries, if it carries one
    /// and the business sells in chat, and queues the replies. `None` when
    /// it is not a cart command: the message goes on to the conversation.
    pub async fn handle(
        &self,
        business: &Business,
        customer: &Customer,
        content: &MessageContent,
    ) -> Result<Option<CartHandled>, ServiceError> {
        if !business.commerce.enabled {
            return Ok(None);
        }
        let Some(command) = command_of(content) else { return Ok(None) };
        let now = to_storage_precision(self.clock.now());
        let s = &self.storage;
        let mut cart = match s.open_cart(business.id, customer.id).await? {
            Some(c) => c,
            None => Cart::new(business.id, customer.id, business.currency, now),
        };
        let mut handled = CartHandled {
            cart: cart.clone(),
            replies: Vec::new(),
            order: None,
            price_flags: Vec::new(),
        };
        let command = match command {
            Ok(c) => c,
            Err(e) => {
                handled.replies.push(self.text(business, customer, &sorry(&e.to_string())).await?);
                return Ok(Some(handled));
            }
        };
        let view = self.view(business, &command).await?;
        // A cart that closed since it was read (expired, or checked out by a
        // second delivery) is left be; the command starts a new one.
        let mut fresh = false;
        let (next, effects) = loop {
            let (next, effects) = match cart.apply(&command, &view, now) {
                Ok(done) => done,
                Err(e) => {
                    handled.replies.push(self.refusal(business, customer, &command, e).await?);
                    return Ok(Some(handled));
                }
            };
            let empty =
                next.lines.is_empty() && cart.lines.is_empty() && next.discount_code.is_none();
            if next == cart || empty {
                break (next, effects);
            }
            match s.save_cart(&next).await {
                Ok(()) => break (next, effects),
                Err(StorageError::Conflict { constraint, .. })
                    if constraint == CART_CLOSED && !fresh =>
                {
                    fresh = true;
                    cart = Cart::new(business.id, customer.id, business.currency, now);
                }
                Err(e) => return Err(e.into()),
            }
        };
        handled.cart = next.clone();
        for effect in effects {
            match effect {
                Effect::PriceFlagged { sku, quoted, catalog } => {
                    tracing::warn!(business = %business.id, %sku, quoted = %quoted, catalog = %catalog, "native cart quoted another price");
                    handled.price_flags.push(PriceFlag { sku, quoted, catalog });
                }
                Effect::Reply(text) => {
                    let text = with_flags(text, &handled.price_flags);
                    handled.replies.push(self.text(business, customer, &text).await?);
                }
                Effect::ShowProduct { sku } => {
                    let products = s.products_by_sku(business.id, &[sku]).await?;
                    if let Some(p) = products.first() {
                        let m = ProductMessages::new(Arc::clone(s), Arc::clone(&self.clock))
                            .send_details_to(business, customer, p)
                            .await?;
                        handled.replies.push(m);
                    }
                }
                Effect::Recommend => {
                    let m = self.recommend_to(business, customer, &next).await?;
                    handled.replies.push(m);
                }
                Effect::Checkout => {
                    let checkouts = Checkouts::new(Arc::clone(s), Arc::clone(&self.clock));
                    match checkouts.checkout(business, customer, &next, "customer").await? {
                        Ok(order) => {
                            handled.order = Some(order);
                            handled.cart = s.get_cart(business.id, next.id).await?;
                        }
                        Err(why) => {
                            handled.replies.push(self.text(business, customer, &why).await?);
                            handled.cart = s.get_cart(business.id, next.id).await?;
                        }
                    }
                }
            }
        }
        if matches!(command, CartCommand::Add { .. })
            && handled.order.is_none()
            && let Some(m) = self.suggest(business, customer, &handled.cart).await?
        {
            handled.replies.push(m);
        }
        Ok(Some(handled))
    }

    /// Up to `cart_suggestions` products bought together with what the cart
    /// holds (in stock and active only), as buttons that add one.
    async fn suggest(
        &self,
        business: &Business,
        customer: &Customer,
        cart: &Cart,
    ) -> Result<Option<Message>, ServiceError> {
        let n = usize::from(business.commerce.cart_suggestions);
        let Some(recommend) = self.recommend.as_ref().filter(|_| n > 0) else { return Ok(None) };
        let basket: Vec<_> = cart.lines.iter().map(|l| l.product_id).collect();
        if basket.is_empty() {
            return Ok(None);
        }
        let picks = recommend.for_basket(business.id, &basket, n).await?;
        let picks: Vec<_> = picks
            .into_iter()
            .filter(|p| p.reason == crate::recommend::Reason::BoughtTogether)
            .collect();
        let Some(first) = picks.first() else { return Ok(None) };
        let with = cart
            .lines
            .iter()
            .find(|l| Some(l.product_id) == first.because)
            .map_or("this", |l| l.name.as_str());
        let buttons = picks
            .iter()
            .map(|p| ReplyButton {
                id: add_payload(&p.product.sku, 1),
                title: cut(&p.product.name, REPLY_TITLE_MAX),
            })
            .collect();
        let body = format!("Customers who bought {with} also bought:");
        let content = MessageContent::Interactive {
            interactive: Interactive::Buttons { body, buttons, footer: None },
        };
        Ok(Some(self.send(business, customer, content).await?))
    }

    /// Three picks for the customer (what they named, what goes with what
    /// they bought, what sells) as buttons that add one; a plain reply
    /// when the shop has no picks yet.
    async fn recommend_to(
        &self,
        business: &Business,
        customer: &Customer,
        cart: &Cart,
    ) -> Result<Message, ServiceError> {
        let picks = match &self.recommend {
            Some(r) => r.for_customer(business.id, customer.id, 3 + cart.lines.len()).await?,
            None => Vec::new(),
        };
        let buttons: Vec<ReplyButton> = picks
            .iter()
            .filter(|p| !cart.lines.iter().any(|l| l.product_id == p.product.id))
            .take(3)
            .map(|p| ReplyButton {
                id: add_payload(&p.product.sku, 1),
                title: cut(&p.product.name, REPLY_TITLE_MAX),
            })
            .collect();
        if buttons.is_empty() {
            let text = "We have no suggestions yet. Reply with what you are looking for.";
            return self.text(business, customer, text).await;
        }
        let body = "You might like:".to_owned();
        let content = MessageContent::Interactive {
            interactive: Interactive::Buttons { body, buttons, footer: None },
        };
        self.send(business, customer, content).await
    }

    /// The products the command names by SKU, and the search hits for the
    /// words it names a product by.
    async fn view(
        &self,
        business: &Business,
        command: &CartCommand,
    ) -> Result<CatalogView, ServiceError> {
        let mut skus = Vec::new();
        let mut hits = Vec::new();
        match command {
            CartCommand::Add { product: ProductRef::Sku(sku), .. } | CartCommand::View { sku } => {
                skus.push(sku.clone());
            }
            CartCommand::Add { product: ProductRef::Words(words), .. } => {
                let catalog = Catalog::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
                hits = catalog.search(business.id, words, WORD_HITS, true).await?;
            }
            CartCommand::Native { items } => skus.extend(items.iter().map(|i| i.sku.clone())),
            _ => {}
        }
        let products = if skus.is_empty() {
            Vec::new()
        } else {
            self.storage.products_by_sku(business.id, &skus).await?
        };
        Ok(CatalogView::new(products, hits))
    }

    /// The reply to a command the cart refused; unknown products come with
    /// buttons for the nearest matches.
    async fn refusal(
        &self,
        business: &Business,
        customer: &Customer,
        command: &CartCommand,
        e: CartError,
    ) -> Result<Message, ServiceError> {
        if let CartError::UnknownProduct { words, suggestions } = &e
            && !suggestions.is_empty()
        {
            let quantity = match command {
                CartCommand::Add { quantity, .. } => *quantity,
                _ => 1,
            };
            let buttons = suggestions
                .iter()
                .map(|s| ReplyButton {
                    id: add_payload(&s.sku, quantity),
                    title: cut(&s.name, REPLY_TITLE_MAX),
                })
                .collect();
            let body = format!("We could not find \"{words}\". Did you mean one of these?");
            let content = MessageContent::Interactive {
                interactive: Interactive::Buttons { body, buttons, footer: None },
            };
            return self.send(business, customer, content).await;
        }
        self.text(business, customer, &sorry(&e.to_string())).await
    }

    async fn text(
        &self,
        business: &Business,
        customer: &Customer,
        text: &str,
    ) -> Result<Message, ServiceError> {
        self.send(business, customer, MessageContent::text(text)).await
    }

    async fn send(
        &self,
        business: &Business,
        customer: &Customer,
        content: MessageContent,
    ) -> Result<Message, ServiceError> {
        Outbound::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
            .reply(business.id, customer, content, Author::Automation)
            .await
    }

    /// Expires open carts untouched for [`CART_EXPIRE_AFTER_DAYS`], a
    /// bounded batch a round; returns how many.
    pub async fn run_due(&self, now: chrono::DateTime<chrono::Utc>) -> Result<u32, ServiceError> {
        let before = now - Duration::days(CART_EXPIRE_AFTER_DAYS);
        Ok(self.storage.expire_carts(before, super::orders::EXPIRY_BATCH).await?)
    }

    /// Reads a cart.
    pub async fn get(&self, business: BusinessId, id: CartId) -> Result<CartView, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let cart = self.storage.get_cart(business, id).await?;
        Ok(self.view_of(&b, cart))
    }

    /// Lists carts, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        params: CartListParams,
    ) -> Result<Page<CartView>, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let (limit, after) = page_params::<CartId>(params.limit, params.cursor.as_deref())?;
        let status = match params.abandoned {
            Some(true) => Some(CartStatus::Open),
            _ => params.status,
        };
        let page = self
            .storage
            .list_carts(business, &CartQuery { customer: params.customer, status, limit, after })
            .await?;
        let items: Vec<CartView> = page
            .items
            .into_iter()
            .map(|c| self.view_of(&b, c))
            .filter(|v| params.abandoned.is_none_or(|a| v.abandoned == a))
            .collect();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    fn view_of(&self, business: &Business, cart: Cart) -> CartView {
        let after = Duration::minutes(i64::from(business.commerce.abandon_after_minutes));
        CartView {
            subtotal: cart.subtotal(),
            abandoned: cart.is_abandoned(self.clock.now(), after),
            cart,
        }
    }
}

fn sorry(why: &str) -> String {
    let mut s = why.to_owned();
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!("{s}.")
}

/// The reply with a note on any native-cart line quoted at another price.
fn with_flags(text: String, flags: &[PriceFlag]) -> String {
    if flags.is_empty() {
        return text;
    }
    let mut out = String::from("Prices are from our price list:\n");
    for f in flags.iter().take(FLAGS_SHOWN) {
        out.push_str(&format!("{} is {} (your app showed {})\n", f.sku, f.catalog, f.quoted));
    }
    if flags.len() > FLAGS_SHOWN {
        out.push_str(&format!("… and {} more\n", flags.len() - FLAGS_SHOWN));
    }
    out.push_str(&text);
    out
}
