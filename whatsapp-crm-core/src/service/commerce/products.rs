//! Product messages: a product card (image, name, price, *Add to cart* and
//! *View*), a product list (a list picker of up to 10 products), and a
//! catalog message (one product, or up to 30 in up to 10 sections) from the
//! business's Meta catalog. Each is checked against WhatsApp's limits and
//! the 24-hour window before anything is queued; the transport creates each
//! distinct content once and reuses it.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::commerce::command::add_payload;
use crate::domain::Author;
use crate::domain::{
    Business, BusinessId, CatalogSection, Customer, CustomerId, Interactive, ListRow, ListSection,
    Message, MessageContent, Product, ProductId, ReplyButton, ValidationError,
};
use crate::policy::{LIST_ROW_DESCRIPTION_MAX, LIST_ROW_TITLE_MAX};
use crate::ports::{Clock, Storage};
use crate::service::ServiceError;
use crate::service::outbound::Outbound;

use crate::policy::cut;

/// Label of the button that adds a product to the cart.
pub const ADD_TO_CART: &str = "Add to cart";
/// Label of the button that shows a product.
pub const VIEW: &str = "View";

/// A product card to send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductCardSend {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
}

/// A product list to send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductListSend {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
    /// 1 to 10 products, in the order shown.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, min_items = 1, max_items = 10))]
    pub product_ids: Vec<ProductId>,
    /// The message above the list.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub body: Option<String>,
    /// The label of the button that opens the list (default `Products`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 20))]
    pub button_label: Option<String>,
}

/// One section of a catalog message to send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogSectionSend {
    /// Its title (required when there are several sections).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 24))]
    pub title: Option<String>,
    /// Its products.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, min_items = 1, max_items = 30))]
    pub product_ids: Vec<ProductId>,
}

/// A catalog message to send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogSend {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
    /// The message body.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub body: String,
    /// Header text (required with more than one product).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 60))]
    pub header: Option<String>,
    /// Footer text.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 60))]
    pub footer: Option<String>,
    /// 1 to 10 sections, 30 products in all.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 10))]
    pub sections: Vec<CatalogSectionSend>,
}

/// Sending products to customers.
#[derive(Clone)]
pub struct ProductMessages {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl ProductMessages {
    pub(crate) fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Sends a product's card.
    pub async fn send_card(
        &self,
        business: BusinessId,
        product: ProductId,
        req: ProductCardSend,
    ) -> Result<Message, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let p = self.storage.get_product(business, product).await?;
        let customer = self.recipient(business, req.customer_id).await?;
        if !p.active {
            return Err(ServiceError::InvalidState {
                message: format!("{} is not for sale; activate it before sending it", p.name),
            });
        }
        self.send(&b, &customer, card(&p)).await
    }

    /// Sends a list picker of products; choosing one adds it to the cart.
    pub async fn send_list(
        &self,
        business: BusinessId,
        req: ProductListSend,
    ) -> Result<Message, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let customer = self.recipient(business, req.customer_id).await?;
        let products = self.active(business, &req.product_ids, "product_ids").await?;
        let rows = products
            .iter()
            .map(|p| ListRow {
                id: add_payload(&p.sku, 1),
                title: cut(&p.name, LIST_ROW_TITLE_MAX),
                description: Some(cut(&row_detail(p), LIST_ROW_DESCRIPTION_MAX)),
            })
            .collect();
        let content = MessageContent::Interactive {
            interactive: Interactive::List {
                body: req.body.unwrap_or_else(|| "Choose a product to add it to your cart.".into()),
                button_label: req.button_label.unwrap_or_else(|| "Products".into()),
                sections: vec![ListSection { title: None, rows }],
                footer: None,
            },
        };
        self.send(&b, &customer, content).await
    }

    /// Sends products from the business's Meta catalog.
    pub async fn send_catalog(
        &self,
        business: BusinessId,
        req: CatalogSend,
    ) -> Result<Message, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let Some(catalog_id) = b.commerce.meta_catalog_id.clone() else {
            return Err(ServiceError::InvalidState {
                message: "set the business's Meta catalog id (PUT /v1/commerce) first".into(),
            });
        };
        let customer = self.recipient(business, req.customer_id).await?;
        let mut sections = Vec::with_capacity(req.sections.len());
        for (i, s) in req.sections.into_iter().enumerate() {
            let field = format!("sections[{i}].product_ids");
            let products = self.active(business, &s.product_ids, &field).await?;
            sections.push(CatalogSection {
                title: s.title,
                skus: products.into_iter().map(|p| p.sku).collect(),
            });
        }
        let content = MessageContent::Interactive {
            interactive: Interactive::Catalog {
                catalog_id,
                header: req.header,
                body: req.body,
                footer: req.footer,
                sections,
            },
        };
        self.send(&b, &customer, content).await
    }

    /// Sends a product's details, with *Add to cart* while it can be
    /// ordered (the answer to *View*).
    pub(crate) async fn send_details_to(
        &self,
        business: &Business,
        customer: &Customer,
        p: &Product,
    ) -> Result<Message, ServiceError> {
        let mut body = format!("{}\n{}", p.name, p.price);
        if let Some(d) = &p.description {
            body.push_str(&format!("\n{d}"));
        }
        for (k, v) in &p.attributes {
            body.push_str(&format!("\n{k}: {v}"));
        }
        let orderable = p.active && p.available() != Some(0);
        body.push_str(match (p.active, p.available()) {
            (false, _) => "\nNot for sale at the moment.",
            (true, Some(0)) => "\nOut of stock.",
            _ => "",
        });
        let body = cut(&body, crate::policy::INTERACTIVE_BODY_MAX);
        let content = if orderable {
            let add = ReplyButton { id: add_payload(&p.sku, 1), title: ADD_TO_CART.into() };
            MessageContent::Interactive {
                interactive: Interactive::Buttons { body, buttons: vec![add], footer: None },
            }
        } else {
            MessageContent::text(body)
        };
        self.send(business, customer, content).await
    }

    /// The products, each active, in the order given; every problem named.
    /// The customer a body names: a missing one is a bad field (422), not
    /// a missing resource, since the path's resource exists.
    async fn recipient(
        &self,
        business: BusinessId,
        id: crate::domain::CustomerId,
    ) -> Result<Customer, ServiceError> {
        match self.storage.get_customer(business, id).await {
            Err(crate::ports::StorageError::NotFound { .. }) => Err(ValidationError::field(
                "customer_id",
                format!("no customer {id} in this business"),
            )
            .into()),
            other => Ok(other?),
        }
    }

    async fn active(
        &self,
        business: BusinessId,
        ids: &[ProductId],
        field: &str,
    ) -> Result<Vec<Product>, ServiceError> {
        let mut v = ValidationError::default();
        let mut found = HashMap::new();
        for id in ids {
            match self.storage.get_product(business, *id).await {
                Ok(p) if p.active => {
                    found.insert(*id, p);
                }
                Ok(p) => v.push(field, format!("{} is not for sale", p.name)),
                Err(crate::ports::StorageError::NotFound { .. }) => {
                    v.push(field, format!("no product {id} in this business"))
                }
                Err(e) => return Err(e.into()),
            }
        }
        v.into_result(|| ids.iter().filter_map(|id| found.get(id).cloned()).collect())
            .map_err(ServiceError::from)
    }

    async fn send(
        &self,
        business: &Business,
        customer: &Customer,
        content: MessageContent,
    ) -> Result<Message, ServiceError> {
        Outbound::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
            .reply(business.id, customer, content, Author::Staff)
            .await
    }
}

/// A product's card: name, price (and stock), image, and its buttons.
pub(crate) fn card(p: &Product) -> MessageContent {
    let in_stock = p.available() != Some(0);
    let mut buttons = Vec::new();
    if in_stock {
        buttons.push(ReplyButton { id: add_payload(&p.sku, 1), title: ADD_TO_CART.into() });
    }
    buttons.push(ReplyButton { id: format!("product:view:{}", p.sku), title: VIEW.into() });
    let subtitle =
        if in_stock { p.price.to_string() } else { format!("{} · out of stock", p.price) };
    MessageContent::Interactive {
        interactive: Interactive::Card {
            title: p.name.clone(),
            subtitle: Some(subtitle),
            media_url: p.image_url.clone(),
            buttons,
        },
    }
}

/// The second line of a product's list row: price, then description.
fn row_detail(p: &Product) -> String {
    match (&p.description, p.available()) {
        (_, Some(0)) => format!("{} · out of stock", p.price),
        (Some(d), _) => format!("{} · {d}", p.price),
        (None, _) => p.price.to_string(),
    }
}
