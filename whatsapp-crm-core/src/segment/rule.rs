//! The segment rule language: `and` / `or` / `not` over conditions on a
//! customer. The JSON form is the serde form of [`Rule`]; the text form is in
//! `text.rs`.

use serde::{Deserialize, Serialize};

use crate::domain::Tag;

/// Longest list in one condition (`tag any [...]`, `city in [...]`).
pub const RULE_LIST_MAX: usize = 100;
/// Largest number of days a condition may span.
pub const RULE_DAYS_MAX: u32 = 36_500;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CmpOp {
    /// `=`
    #[serde(rename = "=")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn symbol(&self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// Applies the operator.
    pub fn test<T: PartialOrd>(&self, left: T, right: T) -> bool {
        match self {
            Self::Eq => left == right,
            Self::Ne => left != right,
            Self::Lt => left < right,
            Self::Le => left <= right,
            Self::Gt => left > right,
            Self::Ge => left >= right,
        }
    }
}

/// A comparison with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison<T> {
    /// Operator.
    pub op: CmpOp,
    /// Right-hand value.
    pub value: T,
}

/// A test on the customer's tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TagTest {
    /// Has this tag.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    Has(Tag),
    /// Has at least one of these.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    Any(Vec<Tag>),
    /// Has every one of these.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    All(Vec<Tag>),
    /// Has none of these.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    None(Vec<Tag>),
}

/// A literal compared with a custom attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum AttrLiteral {
    /// Matches yes/no attributes.
    Bool(bool),
    /// Matches whole and decimal numbers, numerically.
    Number(f64),
    /// Matches text attributes exactly.
    Text(String),
}

/// A test on one custom attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttrTest {
    /// The attribute is set (to anything).
    Exists,
    /// Compared with a literal of the same kind; `!=` also holds when the
    /// attribute is missing or of another kind, every other operator does not.
    Compare(Comparison<AttrLiteral>),
}

/// A customer segment rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every rule holds.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    And(Vec<Rule>),
    /// At least one rule holds.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    Or(Vec<Rule>),
    /// The rule does not hold.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    Not(Box<Rule>),
    /// Tags.
    Tag(TagTest),
    /// Total spend, in minor units of the business currency.
    Spend(Comparison<i64>),
    /// Number of orders ever.
    Orders(Comparison<u32>),
    /// Number of orders in the last `days` days (purchase frequency).
    OrdersLast {
        /// Window, in days.
        days: u32,
        /// Comparison with the count.
        #[serde(flatten)]
        count: Comparison<u32>,
    },
    /// Whole days since the last order; a customer who never ordered has no
    /// value, so only `>`, `>=` and `!=` hold for them.
    DaysSinceOrder(Comparison<u32>),
    /// Country is one of these ISO codes.
    Country(Vec<String>),
    /// City is one of these (compared without case).
    City(Vec<String>),
    /// Sent a message within the last `days` days.
    Active {
        /// Window, in days.
        days: u32,
    },
    /// Sent no message within the last `days` days (or never).
    Inactive {
        /// Window, in days.
        days: u32,
    },
    /// Marketing consent is (or is not) an explicit opt-in.
    OptedIn(bool),
    /// Birthday falls in this month (1–12).
    BirthdayMonth(u8),
    /// Birthday falls within the next `days` days, today included, in the
    /// business's time zone.
    BirthdayWithin {
        /// Window, in days.
        days: u32,
    },
    /// Engagement score (0–100).
    Engagement(Comparison<u8>),
    /// Whole days since the customer was added; same rule as `DaysSinceOrder`.
    DaysSinceSignup(Comparison<u32>),
    /// A custom attribute.
    Attribute {
        /// Attribute key.
        key: String,
        /// The test.
        test: AttrTest,
    },
}

impl Rule {
    /// Conditions and groups in the rule, counted.
    pub fn size(&self) -> usize {
        match self {
            Self::And(rs) | Self::Or(rs) => 1 + rs.iter().map(Rule::size).sum::<usize>(),
            Self::Not(r) => 1 + r.size(),
            _ => 1,
        }
    }
}
