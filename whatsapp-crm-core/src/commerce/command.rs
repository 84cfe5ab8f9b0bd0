//! Cart commands as customers type or tap them. Text is read in English and
//! Swahili (`add 2 unga`, `ongeza sukari 1`, `ondoa`, `kikapu`, `lipa`);
//! button and list replies carry a payload in the documented format below.
//! Anything else is not a command and goes on to the conversation.
//!
//! Payloads, one per button or list row (at most 200 characters, Twilio's
//! list-item id limit):
//!
//! | payload | command |
//! |---|---|
//! | `cart:add:<sku>` or `cart:add:<sku>:<qty>` | add one (or `qty`) of the product |
//! | `cart:remove:<sku>` | take the product out of the cart |
//! | `cart:show` | show the cart |
//! | `cart:checkout` | check out |
//! | `cart:clear` | empty the cart |
//! | `cart:code:<code>` | apply a discount code at checkout |
//! | `product:view:<sku>` | show the product |

/// Most units of one product a single command may add.
pub const CART_QUANTITY_MAX: u32 = 999;
/// Longest payload a list row can carry (Twilio list-picker item id).
pub const PAYLOAD_MAX_CHARS: usize = 200;
/// Longest text read for a command; longer messages are conversation.
pub const COMMAND_TEXT_MAX_CHARS: usize = 200;

/// Which product a command means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductRef {
    /// Exactly this SKU (from a payload).
    Sku(String),
    /// Words the customer typed, to be looked up in the catalog.
    Words(String),
}

/// What the customer asked the cart to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartCommand {
    /// Add `quantity` of a product.
    Add {
        /// The product.
        product: ProductRef,
        /// Units, 1 to [`CART_QUANTITY_MAX`].
        quantity: u32,
    },
    /// Take a product out; `None` asks which one.
    Remove {
        /// The product, if named.
        product: Option<ProductRef>,
    },
    /// Show the lines and the total.
    Show,
    /// Check out.
    Checkout,
    /// Empty the cart.
    Clear,
    /// Use a discount code at checkout.
    Code {
        /// The code as typed.
        code: String,
    },
    /// Show one product.
    View {
        /// Its SKU.
        sku: String,
    },
    /// Ask what to buy (`recommend`, `nipendekezee`): picks for the
    /// customer.
    Recommend,
    /// A cart sent from WhatsApp's own catalog UI; its lines join the cart.
    Native {
        /// The lines as the customer's app priced them.
        items: Vec<NativeItem>,
    },
}

/// One line of a cart sent from WhatsApp's catalog UI. Its price is what
/// the customer's app showed, never trusted: the cart re-prices it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeItem {
    /// The `product_retailer_id`, our SKU.
    pub sku: String,
    /// Units.
    pub quantity: u32,
    /// The price shown to the customer, in minor units, if sent.
    pub quoted: Option<crate::domain::Money>,
}

/// Why something that looks like a command cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A quantity of 0 or over [`CART_QUANTITY_MAX`].
    #[error("quantity must be 1 to {CART_QUANTITY_MAX}")]
    Quantity,
    /// An add that names no product.
    #[error("say which product to add")]
    NoProduct,
    /// A `cart:` or `product:` payload that is not in the documented format.
    #[error("unknown cart payload")]
    Payload,
}

const ADD: &[&str] = &["add", "ongeza", "weka", "nunua", "buy"];
const REMOVE: &[&str] = &["remove", "ondoa", "toa", "delete"];
const SHOW: &[&str] = &["cart", "kikapu", "basket", "my cart", "kikapu changu", "show cart"];
const CHECKOUT: &[&str] = &["checkout", "check out", "lipa", "pay", "nimemaliza"];
const CODE: &[&str] = &["code", "promo", "coupon", "kuponi", "punguzo"];
const RECOMMEND: &[&str] = &[
    "recommend",
    "recommend something",
    "what do you recommend",
    "nipendekezee",
    "pendekeza",
    "unapendekeza nini",
];
const CLEAR: &[&str] =
    &["clear", "clear cart", "empty cart", "futa", "futa kikapu", "safisha kikapu"];
/// Quantity words, English and Swahili, one to ten.
const NUMBERS: &[(&str, u32)] = &[
    ("one", 1),
    ("moja", 1),
    ("a", 1),
    ("two", 2),
    ("mbili", 2),
    ("three", 3),
    ("tatu", 3),
    ("four", 4),
    ("nne", 4),
    ("five", 5),
    ("tano", 5),
    ("six", 6),
    ("sita", 6),
    ("seven", 7),
    ("saba", 7),
    ("eight", 8),
    ("nane", 8),
    ("nine", 9),
    ("tisa", 9),
    ("ten", 10),
    ("kumi", 10),
];

/// Reads a typed message: `None` when it is not a cart command.
pub fn parse_text(text: &str) -> Option<Result<CartCommand, CommandError>> {
    if text.chars().count() > COMMAND_TEXT_MAX_CHARS {
        return None;
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    let whole = words.join(" ");
    if SHOW.contains(&whole.as_str()) {
        return Some(Ok(CartCommand::Show));
    }
    if CHECKOUT.contains(&whole.as_str()) {
        return Some(Ok(CartCommand::Checkout));
    }
    if CLEAR.contains(&whole.as_str()) {
        return Some(Ok(CartCommand::Clear));
    }
    if RECOMMEND.contains(&whole.as_str()) {
        return Some(Ok(CartCommand::Recommend));
    }
    let (verb, rest) = words.split_first()?;
    if ADD.contains(&verb.as_str()) {
        let (quantity, product) = split_quantity(rest);
        return Some(match (quantity, product) {
            (_, None) => Err(CommandError::NoProduct),
            (Some(q), _) if !(1..=CART_QUANTITY_MAX).contains(&q) => Err(CommandError::Quantity),
            (q, Some(words)) => {
                Ok(CartCommand::Add { product: ProductRef::Words(words), quantity: q.unwrap_or(1) })
            }
        });
    }
    if REMOVE.contains(&verb.as_str()) {
        let (_, product) = split_quantity(rest);
        return Some(Ok(CartCommand::Remove { product: product.map(ProductRef::Words) }));
    }
    if CODE.contains(&verb.as_str())
        && let [code] = rest
    {
        return Some(Ok(CartCommand::Code { code: super::discount::normalize_code(code) }));
    }
    None
}

/// A quantity at either end of the words (`2`, `2x`, `x2`, `mbili`), and
/// the product words left.
fn split_quantity(words: &[String]) -> (Option<u32>, Option<String>) {
    let read = |w: &str| -> Option<u32> {
        let digits = w.strip_suffix('x').or_else(|| w.strip_prefix('x')).unwrap_or(w);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            // Too long to be a quantity still reads as one, and out of range.
            return Some(digits.parse().unwrap_or(u32::MAX));
        }
        NUMBERS.iter().find(|(n, _)| *n == w).map(|(_, q)| *q)
    };
    // A lone quantity names no product.
    if let [only] = words
        && let Some(q) = read(only)
    {
        return (Some(q), None);
    }
    let mut rest = words;
    let mut quantity = None;
    if let Some((first, tail)) = rest.split_first()
        && let Some(q) = read(first)
        && !tail.is_empty()
    {
        quantity = Some(q);
        rest = tail;
    } else if let Some((last, head)) = rest.split_last()
        && let Some(q) = read(last)
        && !head.is_empty()
    {
        quantity = Some(q);
        rest = head;
    }
    let product = (!rest.is_empty()).then(|| rest.join(" "));
    (quantity, product)
}

/// Reads a button or list payload: `None` when it is not a cart payload.
pub fn parse_payload(payload: &str) -> Option<Result<CartCommand, CommandError>> {
    let p = payload.trim();
    if !(p.starts_with("cart:") || p.starts_with("product:")) {
        return None;
    }
    if p.chars().count() > PAYLOAD_MAX_CHARS {
        return Some(Err(CommandError::Payload));
    }
    let parts: Vec<&str> = p.split(':').collect();
    let sku = |s: &str| -> Result<String, CommandError> {
        if s.is_empty() || s.chars().any(char::is_whitespace) {
            Err(CommandError::Payload)
        } else {
            Ok(s.to_owned())
        }
    };
    Some(match parts.as_slice() {
        ["cart", "add", s] => {
            sku(s).map(|s| CartCommand::Add { product: ProductRef::Sku(s), quantity: 1 })
        }
        ["cart", "add", s, q] => match q.parse::<u32>() {
            Ok(quantity) if (1..=CART_QUANTITY_MAX).contains(&quantity) => {
                sku(s).map(|s| CartCommand::Add { product: ProductRef::Sku(s), quantity })
            }
            Ok(_) => Err(CommandError::Quantity),
            Err(_) => Err(CommandError::Payload),
        },
        ["cart", "remove", s] => {
            sku(s).map(|s| CartCommand::Remove { product: Some(ProductRef::Sku(s)) })
        }
        ["cart", "show"] => Ok(CartCommand::Show),
        ["cart", "checkout"] => Ok(CartCommand::Checkout),
        ["cart", "clear"] => Ok(CartCommand::Clear),
        ["cart", "code", c] => sku(c).map(|code| CartCommand::Code { code }),
        ["product", "view", s] => sku(s).map(|sku| CartCommand::View { sku }),
        _ => Err(CommandError::Payload),
    })
}

/// The payload that adds `quantity` of `sku`, for a button or list row.
pub fn add_payload(sku: &str, quantity: u32) -> String {
    if quantity == 1 { format!("cart:add:{sku}") } else { format!("cart:add:{sku}:{quantity}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(words: &str, quantity: u32) -> Option<Result<CartCommand, CommandError>> {
        Some(Ok(CartCommand::Add { product: ProductRef::Words(words.into()), quantity }))
    }

    #[test]
    fn english_and_swahili_text_commands() {
        let cases: &[(&str, Option<Result<CartCommand, CommandError>>)] = &[
            ("add 2 unga", add("unga", 2)),
            ("ongeza sukari 1", add("sukari", 1)),
            ("Ongeza unga 2", add("unga", 2)),
            ("ongeza mbili unga wa ngano", add("unga wa ngano", 2)),
            ("add sugar x3", add("sugar", 3)),
            ("ADD  3x  cooking oil!", add("cooking oil", 3)),
            ("add maziwa", add("maziwa", 1)),
            ("weka mchele kilo", add("mchele kilo", 1)),
            (
                "remove sugar",
                Some(Ok(CartCommand::Remove { product: Some(ProductRef::Words("sugar".into())) })),
            ),
            ("ondoa", Some(Ok(CartCommand::Remove { product: None }))),
            (
                "ondoa unga 2",
                Some(Ok(CartCommand::Remove { product: Some(ProductRef::Words("unga".into())) })),
            ),
            ("cart", Some(Ok(CartCommand::Show))),
            ("Kikapu?", Some(Ok(CartCommand::Show))),
            ("kikapu changu", Some(Ok(CartCommand::Show))),
            ("checkout", Some(Ok(CartCommand::Checkout))),
            ("Lipa.", Some(Ok(CartCommand::Checkout))),
            ("clear", Some(Ok(CartCommand::Clear))),
            ("futa kikapu", Some(Ok(CartCommand::Clear))),
            ("code save10", Some(Ok(CartCommand::Code { code: "SAVE10".into() }))),
            ("kuponi SAVE-10", Some(Ok(CartCommand::Code { code: "SAVE10".into() }))),
            ("code for the wifi please", None),
            ("add", Some(Err(CommandError::NoProduct))),
            ("add 2", Some(Err(CommandError::NoProduct))),
            ("add 0 unga", Some(Err(CommandError::Quantity))),
            ("add 1000 unga", Some(Err(CommandError::Quantity))),
            ("add 99999999999999 unga", Some(Err(CommandError::Quantity))),
            ("habari, mna unga?", None),
            ("where is my order", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(&parse_text(text), want, "{text:?}");
        }
        // A number that is the whole product name stays the product.
        assert_eq!(parse_text("add 7up"), add("7up", 1));
        assert_eq!(parse_text(&format!("add {}", "unga ".repeat(60))), None, "too long");
    }

    #[test]
    fn payloads_in_the_documented_format() {
        let sku = |s: &str| ProductRef::Sku(s.into());
        assert_eq!(
            parse_payload("cart:add:UNGA-2KG"),
            Some(Ok(CartCommand::Add { product: sku("UNGA-2KG"), quantity: 1 }))
        );
        assert_eq!(
            parse_payload("cart:add:UNGA-2KG:4"),
            Some(Ok(CartCommand::Add { product: sku("UNGA-2KG"), quantity: 4 }))
        );
        assert_eq!(
            parse_payload("cart:remove:UNGA-2KG"),
            Some(Ok(CartCommand::Remove { product: Some(sku("UNGA-2KG")) }))
        );
        assert_eq!(parse_payload("cart:show"), Some(Ok(CartCommand::Show)));
        assert_eq!(parse_payload("cart:checkout"), Some(Ok(CartCommand::Checkout)));
        assert_eq!(parse_payload("cart:clear"), Some(Ok(CartCommand::Clear)));
        assert_eq!(
            parse_payload("cart:code:SAVE10"),
            Some(Ok(CartCommand::Code { code: "SAVE10".into() }))
        );
        assert_eq!(
            parse_payload("product:view:SUKARI"),
            Some(Ok(CartCommand::View { sku: "SUKARI".into() }))
        );
        assert_eq!(parse_payload("cart:add:UNGA:0"), Some(Err(CommandError::Quantity)));
        assert_eq!(parse_payload("cart:add:UNGA:two"), Some(Err(CommandError::Payload)));
        assert_eq!(parse_payload("cart:add:"), Some(Err(CommandError::Payload)));
        assert_eq!(parse_payload("cart:fly"), Some(Err(CommandError::Payload)));
        let long = format!("cart:add:{}", "X".repeat(PAYLOAD_MAX_CHARS));
        assert_eq!(parse_payload(&long), Some(Err(CommandError::Payload)));
        assert_eq!(parse_payload("yes_please"), None);
        // What the builder writes, the parser reads back.
        for q in [1, 2, CART_QUANTITY_MAX] {
            assert_eq!(
                parse_payload(&add_payload("UNGA-2KG", q)),
                Some(Ok(CartCommand::Add { product: sku("UNGA-2KG"), quantity: q }))
            );
        }
    }
}
