//! Products from a CSV file. An import is all or nothing: the file is read
//! whole and every bad cell is reported by line and column before anything
//! is stored.
//!
//! Columns (header row first, any order, names case-insensitive):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `sku` | yes | letters, digits, `.`, `_`, `-`; unique in the file and the catalog |
//! | `name` | yes | shown to customers |
//! | `price` | yes | in major units: `210`, `210.50` |
//! | `currency` | no | ISO 4217; the business's when empty |
//! | `description`, `category`, `image_url` | no | as in the API |
//! | `active` | no | `true`/`false`, `yes`/`no`, `1`/`0`; true when empty |
//! | `on_hand` | no | units in stock; empty means not tracked |
//! | `attr:<name>` | no | one attribute per column (`attr:size`) |

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{BusinessId, Currency, NewProduct, Product};

/// Most products one import may hold.
pub const IMPORT_ROWS_MAX: usize = 10_000;
/// Most problems reported; past this the file is plainly the wrong one.
pub const IMPORT_ERRORS_MAX: usize = 200;

/// One bad cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportProblem {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// The column's header, or empty for the row as a whole.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// Why nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problems in the file; nothing was imported", problems.len())]
pub struct ImportError {
    /// Every problem, in file order (at most [`IMPORT_ERRORS_MAX`]).
    pub problems: Vec<ImportProblem>,
}

const KNOWN: &[&str] = &[
    "sku",
    "name",
    "price",
    "currency",
    "description",
    "category",
    "image_url",
    "active",
    "on_hand",
];

/// Reads `data` as CSV into products of `business`, each with its line, or
/// reports every problem. SKUs already in the catalog are the caller's to
/// check.
pub fn parse_csv(
    data: &[u8],
    business: BusinessId,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<Vec<(u64, Product)>, ImportError> {
    let mut problems = Vec::new();
    let problem = |problems: &mut Vec<ImportProblem>, line: u64, column: &str, message: String| {
        if problems.len() < IMPORT_ERRORS_MAX {
            problems.push(ImportProblem { line, column: column.to_owned(), message });
        }
    };
    let mut reader =
        csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(data);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim_start_matches('\u{feff}').to_lowercase()).collect(),
        Err(e) => {
            return Err(ImportError {
                problems: vec![ImportProblem {
                    line: 1,
                    column: String::new(),
                    message: e.to_string(),
                }],
            });
        }
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if !KNOWN.contains(&h.as_str()) && !h.starts_with("attr:") {
            problem(&mut problems, 1, h, "unknown column".into());
        } else if index.insert(h.as_str(), i).is_some() {
            problem(&mut problems, 1, h, "column appears twice".into());
        }
    }
    for required in ["sku", "name", "price"] {
        if !index.contains_key(required) {
            problem(&mut problems, 1, required, "required column is missing".into());
        }
    }
    if !problems.is_empty() {
        return Err(ImportError { problems });
    }
    let mut products = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problem(&mut problems, line, "", e.to_string());
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if products.len() + problems.len() >= IMPORT_ROWS_MAX {
            problem(
                &mut problems,
                line,
                "",
                format!("at most {IMPORT_ROWS_MAX} products per import"),
            );
            break;
        }
        let cell = |name: &str| index.get(name).and_then(|&i| record.get(i)).unwrap_or("");
        let text = |name: &str| Some(cell(name).to_owned()).filter(|s| !s.is_empty());
        let mut row_ok = true;
        let price_minor = match price(cell("price"), currency_of(cell("currency"), currency)) {
            Ok(m) => m,
            Err(e) => {
                problem(&mut problems, line, "price", e);
                row_ok = false;
                0
            }
        };
        let active = match cell("active").to_lowercase().as_str() {
            "" | "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            _ => {
                problem(&mut problems, line, "active", "must be true or false".into());
                row_ok = false;
                true
            }
        };
        let on_hand = match cell("on_hand") {
            "" => None,
            n => match n.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problem(
                        &mut problems,
                        line,
                        "on_hand",
                        "must be a whole number of units".into(),
                    );
                    row_ok = false;
                    None
                }
            },
        };
        let attributes: BTreeMap<String, String> = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some((h.strip_prefix("attr:")?, record.get(i)?)))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let input = NewProduct {
            sku: cell("sku").to_owned(),
            name: cell("name").to_owned(),
            description: text("description"),
            category: text("category"),
            image_url: text("image_url"),
            attributes,
            price_minor,
            currency: text("currency"),
            active,
            on_hand,
        };
        if let Some(first) = seen.insert(input.sku.clone(), line)
            && !input.sku.is_empty()
        {
            problem(&mut problems, line, "sku", format!("already used on line {first}"));
            row_ok = false;
        }
        match input.validate(business, currency, now) {
            Ok(p) if row_ok => products.push((line, p)),
            Ok(_) => {}
            Err(v) => {
                for f in v.errors {
                    let column = if f.field == "price_minor" { "price".into() } else { f.field };
                    problem(&mut problems, line, &column, f.message);
                }
            }
        }
    }
    if problems.is_empty() { Ok(products) } else { Err(ImportError { problems }) }
}

fn currency_of(cell: &str, default: Currency) -> Currency {
    Currency::parse(cell).unwrap_or(default)
}

/// `210`, `210.5` or `1,210.50` in major units, to minor units of `currency`.
fn price(cell: &str, currency: Currency) -> Result<i64, String> {
    let bad = || "must be an amount like 210 or 210.50".to_owned();
    let plain: String = cell.chars().filter(|c| *c != ',').collect();
    if plain.is_empty() {
        return Err("must not be empty".into());
    }
    let (major, fraction) = plain.split_once('.').unwrap_or((&plain, ""));
    let digits = currency.minor_digits() as usize;
    if major.is_empty()
        || !major.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if fraction.len() > digits {
        return Err(format!("has more than {digits} decimal places"));
    }
    let major: i64 = major.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<digits$}").parse().unwrap_or(0);
    major
        .checked_mul(10i64.pow(digits as u32))
        .and_then(|m| m.checked_add(fraction))
        .ok_or_else(|| "is too large".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(data: &str) -> Result<Vec<Product>, ImportError> {
        let rows = parse_csv(data.as_bytes(), BusinessId::new(), Currency::KES, Utc::now())?;
        Ok(rows.into_iter().map(|(_, p)| p).collect())
    }

    #[test]
    fn reads_products_with_prices_stock_and_attributes() {
        let ps = parse(
            "SKU,Name,Price,Category,on_hand,attr:size,active\n\
             UNGA-2KG,Unga wa Ngano,210,Flour,12,2 kg,\n\
             SUGAR-1KG,\"Sugar, white\",\"1,150.5\",Baking,,1 kg,no\n",
        )
        .unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].price.minor, 21_000);
        assert_eq!(ps[0].stock.map(|s| s.on_hand), Some(12));
        assert_eq!(ps[0].attributes["size"], "2 kg");
        assert_eq!(
            (ps[1].name.as_str(), ps[1].price.minor, ps[1].active),
            ("Sugar, white", 115_050, false)
        );
        assert_eq!(ps[1].stock, None);
    }

    #[test]
    fn names_every_bad_line_and_column() {
        let e = parse(
            "sku,name,price,on_hand\n\
             A-1,Good,10,1\n\
             B 2,Bad sku,10,1\n\
             C-3,,ten,-4\n\
             A-1,Duplicate,10,\n",
        )
        .unwrap_err();
        let got: Vec<(u64, &str)> =
            e.problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(got, [(3, "sku"), (4, "price"), (4, "on_hand"), (4, "name"), (5, "sku")]);
    }

    #[test]
    fn refuses_unknown_or_missing_columns_and_ragged_rows() {
        let e = parse("sku,nmae,price\nA,B,1\n").unwrap_err();
        let got: Vec<&str> = e.problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(got, ["nmae", "name"]);
        let e = parse("sku,name,price\nA,B\n").unwrap_err();
        assert_eq!(e.problems[0].line, 2);
        assert_eq!(price("210.505", Currency::KES), Err("has more than 2 decimal places".into()));
    }
}
