//! The cart state machine: [`Cart::apply`] carries out one command against
//! a view of the catalog and returns the next cart and what to do about it.
//! Pure: the service loads the products the command names (by SKU, or the
//! search hits for the words typed) and carries out the effects.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::command::{CART_QUANTITY_MAX, CartCommand, NativeItem, ProductRef};
use super::search::{SearchHit, SearchQuery, score_name, words};
use crate::domain::{Cart, CartLine, CartStatus, Money, ORDER_LINES_MAX, Product};

/// A search hit below this score is a guess, not a match: the customer is
/// shown suggestions instead (one exact word in a name scores 3).
pub const MATCH_SCORE_MIN: f64 = 2.0;
/// A top hit must lead the next by this much to be taken without asking.
pub const MATCH_LEAD_MIN: f64 = 0.5;
/// Suggestions offered for a word that matched nothing for sure.
pub const SUGGESTIONS_MAX: usize = 3;
/// Cart lines a reply lists; the rest are counted. With names cut to
/// [`SUMMARY_NAME_MAX_CHARS`], a reply stays inside Twilio's 1,600
/// characters.
pub const SUMMARY_LINES_MAX: usize = 20;
/// Longest product name a reply shows.
pub const SUMMARY_NAME_MAX_CHARS: usize = 40;

/// The products a command may touch, as the service loaded them.
#[derive(Debug, Clone, Default)]
pub struct CatalogView {
    by_sku: HashMap<String, Product>,
    hits: Vec<SearchHit>,
}

impl CatalogView {
    /// A view of `products` (found by SKU) and of `hits`, the ranked search
    /// results for the words of the command, if it has any.
    pub fn new(products: Vec<Product>, hits: Vec<SearchHit>) -> Self {
        let by_sku = products.into_iter().map(|p| (p.sku.clone(), p)).collect();
        Self { by_sku, hits }
    }

    fn sku(&self, sku: &str) -> Option<&Product> {
        self.by_sku.get(sku).or_else(|| self.hits.iter().map(|h| &h.product).find(|p| p.sku == sku))
    }
}

/// A product offered when the words typed did not settle on one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Its SKU, for the `cart:add:<sku>` button.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Its price.
    pub price: Money,
}

/// What the service does after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send the customer this text (the lines and the total).
    Reply(String),
    /// Send the product's card.
    ShowProduct {
        /// Its SKU.
        sku: String,
    },
    /// Check the cart out (storage does it atomically, with stock).
    Checkout,
    /// Suggest products to the customer.
    Recommend,
    /// A native cart line quoted another price than the catalog's; the
    /// catalog price was used.
    PriceFlagged {
        /// The line's SKU.
        sku: String,
        /// What the customer's app showed.
        quoted: Money,
        /// What the catalog charges.
        catalog: Money,
    },
}

/// Why a command could not be carried out. Each reads as a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CartError {
    /// The cart is checked out or expired.
    #[error("this cart is closed; start a new one")]
    Closed,
    /// No product matched for sure; these come close.
    #[error("no product matches {words:?}")]
    UnknownProduct {
        /// What the customer typed (or the SKU).
        words: String,
        /// The nearest products, best first.
        suggestions: Vec<Suggestion>,
    },
    /// Not for sale now.
    #[error("{name} is not available")]
    Unavailable {
        /// The product's name.
        name: String,
    },
    /// Asking for more than there is.
    #[error("only {available} of {name} available")]
    OutOfStock {
        /// The product's name.
        name: String,
        /// Units available.
        available: u32,
    },
    /// A line would hold more than the most one command may add.
    #[error("at most {CART_QUANTITY_MAX} of one product")]
    Quantity,
    /// The cart already has the most lines an order may hold.
    #[error("a cart holds at most {ORDER_LINES_MAX} products")]
    TooManyLines,
    /// Priced in another currency than the business's.
    #[error("{name} is priced in another currency")]
    Currency {
        /// The product's name.
        name: String,
    },
    /// Nothing to check out or remove.
    #[error("your cart is empty")]
    Empty,
    /// `remove` without a product, with several in the cart.
    #[error("say which product to remove")]
    WhichOne,
    /// A discount code with nothing in it.
    #[error("say which code to use")]
    NoCode,
    /// A product named for removal is not in the cart.
    #[error("{words:?} is not in your cart")]
    NotInCart {
        /// What the customer typed.
        words: String,
    },
}

fn suggestions(hits: &[SearchHit]) -> Vec<Suggestion> {
    hits.iter()
        .filter(|h| h.product.active)
        .take(SUGGESTIONS_MAX)
        .map(|h| Suggestion {
            sku: h.product.sku.clone(),
            name: h.product.name.clone(),
            price: h.product.price,
        })
        .collect()
}

impl Cart {
    /// Carries out `command` at `now` against `catalog`.
    pub fn apply(
        &self,
        command: &CartCommand,
        catalog: &CatalogView,
        now: DateTime<Utc>,
    ) -> Result<(Cart, Vec<Effect>), CartError> {
        if self.status != CartStatus::Open {
            return Err(CartError::Closed);
        }
        let mut next = self.clone();
        let mut effects = Vec::new();
        match command {
            CartCommand::Add { product, quantity } => {
                let p = resolve(product, catalog)?;
                next.add(p, *quantity)?;
            }
            CartCommand::Native { items } => {
                for NativeItem { sku, quantity, quoted } in items {
                    let p = catalog.sku(sku).ok_or_else(|| CartError::UnknownProduct {
                        words: sku.clone(),
                        suggestions: Vec::new(),
                    })?;
                    if let Some(q) = quoted
                        && *q != p.price
                    {
                        effects.push(Effect::PriceFlagged {
                            sku: sku.clone(),
                            quoted: *q,
                            catalog: p.price,
                        });
                    }
                    next.add(p, *quantity)?;
                }
            }
            CartCommand::Remove { product } => next.remove(product.as_ref())?,
            CartCommand::Clear => {
                next.lines.clear();
                next.discount_code = None;
            }
            CartCommand::Show => {}
            CartCommand::Code { code } => {
                let code = super::discount::normalize_code(code);
                if code.is_empty() {
                    return Err(CartError::NoCode);
                }
                next.discount_code = Some(code);
            }
            CartCommand::Checkout => {
                if next.lines.is_empty() {
                    return Err(CartError::Empty);
                }
                return Ok((next, vec![Effect::Checkout]));
            }
            CartCommand::Recommend => return Ok((next, vec![Effect::Recommend])),
            CartCommand::View { sku } => {
                let p = catalog.sku(sku).ok_or_else(|| CartError::UnknownProduct {
                    words: sku.clone(),
                    suggestions: Vec::new(),
                })?;
                return Ok((next, vec![Effect::ShowProduct { sku: p.sku.clone() }]));
            }
        }
        if next.lines != self.lines || next.discount_code != self.discount_code {
            next.updated_at = now;
        }
        effects.push(Effect::Reply(summary(&next)));
        Ok((next, effects))
    }

    /// Adds units of `p`, re-pricing the line from the catalog.
    fn add(&mut self, p: &Product, quantity: u32) -> Result<(), CartError> {
        if !p.active {
            return Err(CartError::Unavailable { name: p.name.clone() });
        }
        if p.price.currency != self.currency {
            return Err(CartError::Currency { name: p.name.clone() });
        }
        let existing = self.lines.iter().position(|l| l.product_id == p.id);
        let had = existing.map_or(0, |i| self.lines[i].quantity);
        let wanted = had.checked_add(quantity).filter(|q| *q <= CART_QUANTITY_MAX);
        let wanted = wanted.ok_or(CartError::Quantity)?;
        if quantity == 0 {
            return Err(CartError::Quantity);
        }
        if let Some(available) = p.available()
            && wanted > available
        {
            return Err(CartError::OutOfStock { name: p.name.clone(), available });
        }
        let line = CartLine {
            product_id: p.id,
            sku: p.sku.clone(),
            name: p.name.clone(),
            quantity: wanted,
            unit_price: p.price,
        };
        match existing {
            Some(i) => self.lines[i] = line,
            None if self.lines.len() >= ORDER_LINES_MAX => return Err(CartError::TooManyLines),
            None => self.lines.push(line),
        }
        Ok(())
    }

    fn remove(&mut self, product: Option<&ProductRef>) -> Result<(), CartError> {
        if self.lines.is_empty() {
            return Err(CartError::Empty);
        }
        let index = match product {
            None if self.lines.len() == 1 => 0,
            None => return Err(CartError::WhichOne),
            Some(ProductRef::Sku(sku)) => self
                .lines
                .iter()
                .position(|l| &l.sku == sku)
                .ok_or_else(|| CartError::NotInCart { words: sku.clone() })?,
            Some(ProductRef::Words(w)) => line_matching(&self.lines, w)
                .ok_or_else(|| CartError::NotInCart { words: w.clone() })?,
        };
        self.lines.remove(index);
        Ok(())
    }
}

/// The product `r` names: the SKU, or the search hit that leads clearly.
fn resolve<'a>(r: &ProductRef, catalog: &'a CatalogView) -> Result<&'a Product, CartError> {
    match r {
        ProductRef::Sku(sku) => catalog.sku(sku).ok_or_else(|| CartError::UnknownProduct {
            words: sku.clone(),
            suggestions: Vec::new(),
        }),
        ProductRef::Words(words) => {
            let hits: Vec<&SearchHit> = catalog.hits.iter().filter(|h| h.product.active).collect();
            match hits.as_slice() {
                [top, rest @ ..]
                    if top.score >= MATCH_SCORE_MIN
                        && rest.first().is_none_or(|n| top.score - n.score >= MATCH_LEAD_MIN) =>
                {
                    Ok(&top.product)
                }
                _ => Err(CartError::UnknownProduct {
                    words: words.clone(),
                    suggestions: suggestions(&catalog.hits),
                }),
            }
        }
    }
}

/// The cart line the words name best, if any names one.
fn line_matching(lines: &[CartLine], w: &str) -> Option<usize> {
    let query = SearchQuery::parse(w);
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i, score_name(&query, &l.name, &l.sku)))
        .filter(|(_, s)| *s >= MATCH_SCORE_MIN || (*s > 0.0 && words(w).len() == 1))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The cart as a reply: each line, then the total in the business currency.
pub fn summary(cart: &Cart) -> String {
    if cart.lines.is_empty() {
        return "Your cart is empty. Send \"add 2 unga\" (or \"ongeza unga 2\") to add a product."
            .into();
    }
    let mut out = String::from("Your cart:\n");
    for l in cart.lines.iter().take(SUMMARY_LINES_MAX) {
        let line_total =
            Money::new(l.unit_price.minor.saturating_mul(i64::from(l.quantity)), cart.currency);
        let name: String = l.name.chars().take(SUMMARY_NAME_MAX_CHARS).collect();
        out.push_str(&format!("{} × {name} — {line_total}\n", l.quantity));
    }
    if cart.lines.len() > SUMMARY_LINES_MAX {
        out.push_str(&format!("… and {} more\n", cart.lines.len() - SUMMARY_LINES_MAX));
    }
    out.push_str(&format!("Total: {}\n", cart.subtotal()));
    if let Some(code) = &cart.discount_code {
        out.push_str(&format!("Code {code} is taken off at checkout.\n"));
    }
    out.push_str(
        "Reply \"checkout\" (or \"lipa\") to order, \"remove <product>\" to take one out.",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commerce::search::{rank, search_in};
    use crate::commerce::{parse_payload, parse_text};
    use crate::domain::{BusinessId, CartLine, Currency, CustomerId, NewProduct};

    fn catalog() -> Vec<Product> {
        let b = BusinessId::new();
        [
            ("UNGA-2KG", "Unga wa Ngano 2kg", 21_000, Some(10)),
            ("SUGAR-1KG", "Sugar 1kg", 15_000, Some(3)),
            ("MILK-500", "Fresh Milk 500ml", 6_000, None),
        ]
        .into_iter()
        .map(|(sku, name, price, on_hand)| {
            NewProduct {
                sku: sku.into(),
                name: name.into(),
                price_minor: price,
                active: true,
                on_hand,
                ..NewProduct::default()
            }
            .validate(b, Currency::KES, Utc::now())
            .unwrap()
        })
        .collect()
    }

    /// The view a service would build: the SKUs in play and the hits for the words.
    fn view(all: &[Product], command: &CartCommand) -> CatalogView {
        let hits = match command {
            CartCommand::Add { product: ProductRef::Words(w), .. } => {
                let q = SearchQuery::parse(w);
                rank(&q, search_in(&q, all), 5)
            }
            _ => Vec::new(),
        };
        CatalogView::new(all.to_vec(), hits)
    }

    fn run(cart: &Cart, all: &[Product], text: &str) -> Result<(Cart, Vec<Effect>), CartError> {
        let command = parse_text(text).or_else(|| parse_payload(text)).unwrap().unwrap();
        cart.apply(&command, &view(all, &command), Utc::now())
    }

    #[test]
    fn text_and_payloads_build_a_cart_and_reply_with_the_total() {
        let all = catalog();
        let cart = Cart::new(BusinessId::new(), CustomerId::new(), Currency::KES, Utc::now());
        let (cart, fx) = run(&cart, &all, "ongeza unga 2").unwrap();
        assert_eq!(cart.lines[0].quantity, 2);
        let (cart, _) = run(&cart, &all, "add 1 sukari").unwrap();
        let (cart, fx2) = run(&cart, &all, "cart:add:MILK-500:3").unwrap();
        assert_eq!(cart.subtotal(), Money::new(2 * 21_000 + 15_000 + 3 * 6_000, Currency::KES));
        let Effect::Reply(text) = &fx2[0] else { panic!("{fx2:?}") };
        assert!(text.contains("Total: KES 750.00"), "{text}");
        assert!(
            matches!(&fx[0], Effect::Reply(t) if t.contains("2 × Unga wa Ngano 2kg — KES 420.00"))
        );
        let (cart, _) = run(&cart, &all, "remove sugar").unwrap();
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(run(&cart, &all, "ondoa").unwrap_err(), CartError::WhichOne);
        let (_, fx) = run(&cart, &all, "lipa").unwrap();
        assert_eq!(fx, [Effect::Checkout]);
        let (cart, _) = run(&cart, &all, "clear").unwrap();
        assert_eq!(run(&cart, &all, "checkout").unwrap_err(), CartError::Empty);
    }

    #[test]
    fn unknown_words_get_suggestions_and_stock_is_respected() {
        let all = catalog();
        let cart = Cart::new(BusinessId::new(), CustomerId::new(), Currency::KES, Utc::now());
        match run(&cart, &all, "add 2 mkate").unwrap_err() {
            CartError::UnknownProduct { suggestions, .. } => assert!(suggestions.is_empty()),
            e => panic!("{e:?}"),
        }
        assert_eq!(
            run(&cart, &all, "add 4 sugar").unwrap_err(),
            CartError::OutOfStock { name: "Sugar 1kg".into(), available: 3 }
        );
        let mut closed = cart.clone();
        closed.status = CartStatus::CheckedOut;
        assert_eq!(run(&closed, &all, "cart").unwrap_err(), CartError::Closed);
    }

    #[test]
    fn a_full_cart_reply_fits_a_whatsapp_message() {
        let mut cart = Cart::new(BusinessId::new(), CustomerId::new(), Currency::KES, Utc::now());
        for i in 0..ORDER_LINES_MAX {
            cart.lines.push(CartLine {
                product_id: crate::domain::ProductId::new(),
                sku: format!("SKU-{i}"),
                name: format!("A very long product name number {i} with many words in it"),
                quantity: CART_QUANTITY_MAX,
                unit_price: Money::new(99_999_999, Currency::KES),
            });
        }
        cart.discount_code = Some("X".repeat(32));
        let text = summary(&cart);
        assert!(text.chars().count() <= crate::policy::TEXT_BODY_MAX, "{}", text.chars().count());
        assert!(text.contains("… and 80 more"));
    }

    #[test]
    fn native_carts_are_repriced_and_flagged() {
        let all = catalog();
        let cart = Cart::new(BusinessId::new(), CustomerId::new(), Currency::KES, Utc::now());
        let items = vec![
            NativeItem {
                sku: "UNGA-2KG".into(),
                quantity: 1,
                quoted: Some(Money::new(19_000, Currency::KES)),
            },
            NativeItem {
                sku: "MILK-500".into(),
                quantity: 2,
                quoted: Some(Money::new(6_000, Currency::KES)),
            },
        ];
        let command = CartCommand::Native { items };
        let (cart, fx) = cart.apply(&command, &view(&all, &command), Utc::now()).unwrap();
        assert_eq!(cart.lines[0].unit_price, Money::new(21_000, Currency::KES));
        assert_eq!(
            fx[0],
            Effect::PriceFlagged {
                sku: "UNGA-2KG".into(),
                quoted: Money::new(19_000, Currency::KES),
                catalog: Money::new(21_000, Currency::KES)
            }
        );
        assert_eq!(fx.len(), 2, "one flag and the reply");
    }
}
