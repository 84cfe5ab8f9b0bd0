//! The in-memory evaluator: customers loaded once into rows of integers
//! (interned tags as bits, money and times as integers), a rule compiled once
//! into a program over those rows, then evaluated against every row.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::rule::{AttrLiteral, AttrTest, CmpOp, Rule, TagTest};
use super::time::{TimeCond, birthday_keys, days_since, within_days};
use crate::domain::{AttributeValue, ConsentStatus, Customer, CustomerId, Tag, TimeZone};

/// Tags interned into the first 128 bits; rarer ones are listed per row.
const INLINE_TAGS: u32 = 128;
const NONE: i64 = i64::MIN;

#[derive(Debug, Clone, Copy)]
struct Row {
    tags: u128,
    spend: i64,
    last_order: i64,
    last_inbound: i64,
    created: i64,
    orders: u32,
    city: u32,
    extra_tags: (u32, u32),
    order_times: (u32, u32),
    attrs: u32,
    country: u16,
    birthday: u16,
    engagement: u8,
    opted_in: bool,
}

/// Customers of one business, loaded for fast segment evaluation.
#[derive(Debug, Default)]
pub struct CustomerTable {
    ids: Vec<CustomerId>,
    rows: Vec<Row>,
    tags: HashMap<Tag, u32>,
    cities: HashMap<String, u32>,
    extra_tags: Vec<u32>,
    order_times: Vec<i64>,
    attrs: Vec<BTreeMap<String, AttributeValue>>,
}

fn micros(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(NONE, |t| t.timestamp_micros())
}

fn country_code(c: &str) -> u16 {
    match c.as_bytes() {
        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
            u16::from(a - b'A') * 26 + u16::from(b - b'A') + 1
        }
        _ => 0,
    }
}

impl CustomerTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds a customer with the creation times of their paid and fulfilled
    /// orders (for `orders_last`).
    pub fn push(&mut self, c: &Customer, orders: &[DateTime<Utc>]) {
        let stats = &c.stats;
        let mut bits = 0u128;
        let extra_start = self.extra_tags.len() as u32;
        for t in &c.tags {
            let next = self.tags.len() as u32;
            let id = *self.tags.entry(t.clone()).or_insert(next);
            if id < INLINE_TAGS {
                bits |= 1u128 << id;
            } else {
                self.extra_tags.push(id);
            }
        }
        let city = c.location.city.as_deref().map_or(0, |name| {
            let next = self.cities.len() as u32 + 1;
            *self.cities.entry(name.to_lowercase()).or_insert(next)
        });
        let order_start = self.order_times.len() as u32;
        self.order_times.extend(orders.iter().map(|t| t.timestamp_micros()));
        let attrs = if c.attributes.is_empty() {
            u32::MAX
        } else {
            self.attrs.push(c.attributes.clone());
            self.attrs.len() as u32 - 1
        };
        self.ids.push(c.id);
        self.rows.push(Row {
            tags: bits,
            spend: stats.total_spent,
            last_order: micros(stats.last_order_at),
            last_inbound: micros(c.last_inbound_at),
            created: c.created_at.timestamp_micros(),
            orders: stats.order_count,
            city,
            extra_tags: (extra_start, self.extra_tags.len() as u32 - extra_start),
            order_times: (order_start, orders.len() as u32),
            attrs,
            country: c.location.country.as_deref().map_or(0, country_code),
            birthday: c.birthday.map_or(0, |b| u16::from(b.month) * 100 + u16::from(b.day)),
            engagement: stats.engagement_score,
            opted_in: c.marketing.status == ConsentStatus::OptedIn,
        });
    }

    /// Compiles `rule` against this table's interned tags and cities.
    pub fn compile(&self, rule: &Rule, now: DateTime<Utc>, tz: TimeZone) -> Program {
        Program { root: self.node(rule, now, tz) }
    }

    /// Ids of the customers matching `program`, in table order.
    pub fn select(&self, program: &Program) -> Vec<CustomerId> {
        self.rows
            .iter()
            .zip(&self.ids)
            .filter(|(r, _)| self.eval(&program.root, r))
            .map(|(_, id)| *id)
            .collect()
    }

    /// Number of customers matching `program`.
    pub fn count(&self, program: &Program) -> usize {
        self.rows.iter().filter(|r| self.eval(&program.root, r)).count()
    }

    fn tag_set(&self, tags: &[Tag]) -> (u128, Vec<u32>, bool) {
        let mut mask = 0u128;
        let mut extra = Vec::new();
        let mut unknown = false;
        for t in tags {
            match self.tags.get(t) {
                Some(&id) if id < INLINE_TAGS => mask |= 1u128 << id,
                Some(&id) => extra.push(id),
                None => unknown = true,
            }
        }
        (mask, extra, unknown)
    }

    fn node(&self, rule: &Rule, now: DateTime<Utc>, tz: TimeZone) -> Node {
        let leaf = Node::Leaf;
        match rule {
            Rule::And(rs) => Node::And(rs.iter().map(|r| self.node(r, now, tz)).collect()),
            Rule::Or(rs) => Node::Or(rs.iter().map(|r| self.node(r, now, tz)).collect()),
            Rule::Not(r) => Node::Not(Box::new(self.node(r, now, tz))),
            Rule::Tag(test) => {
                let (kind, tags) = match test {
                    TagTest::Has(t) => (TagKind::Any, std::slice::from_ref(t)),
                    TagTest::Any(ts) => (TagKind::Any, ts.as_slice()),
                    TagTest::All(ts) => (TagKind::All, ts.as_slice()),
                    TagTest::None(ts) => (TagKind::None, ts.as_slice()),
                };
                let (mask, extra, unknown) = self.tag_set(tags);
                // A tag nobody has can never be "all"-matched.
                if kind == TagKind::All && unknown {
                    return leaf(Pred::Const(false));
                }
                leaf(Pred::Tags { kind, mask, extra })
            }
            Rule::Spend(c) => leaf(Pred::Spend(c.op, c.value)),
            Rule::Orders(c) => leaf(Pred::Orders(c.op, c.value)),
            Rule::Engagement(c) => leaf(Pred::Engagement(c.op, c.value)),
            Rule::OrdersLast { days, count } => {
                let since = within_days(*days, now).after.unwrap_or(NONE);
                leaf(Pred::OrdersSince { since, op: count.op, count: count.value })
            }
            Rule::DaysSinceOrder(c) => {
                leaf(Pred::Time(TimeField::LastOrder, days_since(c.op, c.value, now)))
            }
            Rule::DaysSinceSignup(c) => {
                leaf(Pred::Time(TimeField::Created, days_since(c.op, c.value, now)))
            }
            Rule::Active { days } => {
                leaf(Pred::Time(TimeField::LastInbound, within_days(*days, now)))
            }
            Rule::Inactive { days } => {
                let mut c = within_days(*days, now);
                c.negate = true;
                c.when_missing = true;
                leaf(Pred::Time(TimeField::LastInbound, c))
            }
            Rule::Country(codes) => {
                leaf(Pred::Country(codes.iter().map(|c| country_code(c)).collect()))
            }
            Rule::City(names) => {
                let ids: Vec<u32> = names
                    .iter()
                    .filter_map(|n| self.cities.get(&n.to_lowercase()).copied())
                    .collect();
                leaf(if ids.is_empty() { Pred::Const(false) } else { Pred::City(ids) })
            }
            Rule::OptedIn(b) => leaf(Pred::OptedIn(*b)),
            Rule::BirthdayMonth(m) => leaf(Pred::BirthdayMonth(u16::from(*m))),
            Rule::BirthdayWithin { days } => leaf(Pred::Birthday(birthday_keys(*days, now, tz))),
            Rule::Attribute { key, test } => leaf(Pred::Attr(key.clone(), test.clone())),
        }
    }

    fn eval(&self, node: &Node, r: &Row) -> bool {
        match node {
            Node::Leaf(p) => self.pred(p, r),
            Node::And(ns) => ns.iter().all(|n| self.eval(n, r)),
            Node::Or(ns) => ns.iter().any(|n| self.eval(n, r)),
            Node::Not(n) => !self.eval(n, r),
        }
    }

    fn pred(&self, p: &Pred, r: &Row) -> bool {
        match p {
            Pred::Tags { kind, mask, extra } => {
                let (start, len) = (r.extra_tags.0 as usize, r.extra_tags.1 as usize);
                let row_extra = &self.extra_tags[start..start + len];
                let extra_hits = extra.iter().filter(|t| row_extra.contains(t)).count();
                match kind {
                    TagKind::Any => r.tags & mask != 0 || extra_hits > 0,
                    TagKind::All => r.tags & mask == *mask && extra_hits == extra.len(),
                    TagKind::None => r.tags & mask == 0 && extra_hits == 0,
                }
            }
            Pred::Spend(op, v) => op.test(r.spend, *v),
            Pred::Orders(op, v) => op.test(r.orders, *v),
            Pred::Engagement(op, v) => op.test(r.engagement, *v),
            Pred::OrdersSince { since, op, count } => {
                let (start, len) = (r.order_times.0 as usize, r.order_times.1 as usize);
                let n = self.order_times[start..start + len].iter().filter(|&&t| t > *since).count()
                    as u32;
                op.test(n, *count)
            }
            Pred::Time(field, cond) => {
                let t = match field {
                    TimeField::LastOrder => r.last_order,
                    TimeField::LastInbound => r.last_inbound,
                    TimeField::Created => r.created,
                };
                cond.matches((t != NONE).then_some(t))
            }
            Pred::Country(codes) => r.country != 0 && codes.contains(&r.country),
            Pred::City(ids) => r.city != 0 && ids.contains(&r.city),
            Pred::OptedIn(b) => r.opted_in == *b,
            Pred::BirthdayMonth(m) => r.birthday != 0 && r.birthday / 100 == *m,
            Pred::Birthday(keys) => r.birthday != 0 && keys.binary_search(&r.birthday).is_ok(),
            Pred::Attr(key, test) => {
                let value = self.attrs.get(r.attrs as usize).and_then(|a| a.get(key));
                attr_matches(value, test)
            }
            Pred::Const(b) => *b,
        }
    }
}

/// The attribute semantics every backend follows: literals compare with
/// attributes of their own kind; `!=` also holds for missing or other kinds.
pub fn attr_matches(value: Option<&AttributeValue>, test: &AttrTest) -> bool {
    let c = match test {
        AttrTest::Exists => return value.is_some(),
        AttrTest::Compare(c) => c,
    };
    let same_kind = match (value, &c.value) {
        (Some(AttributeValue::Integer(i)), AttrLiteral::Number(n)) => {
            Some(c.op.test(*i as f64, *n))
        }
        (Some(AttributeValue::Number(f)), AttrLiteral::Number(n)) => Some(c.op.test(*f, *n)),
        (Some(AttributeValue::Text(t)), AttrLiteral::Text(s)) => {
            Some(c.op.test(t.as_str(), s.as_str()))
        }
        (Some(AttributeValue::Bool(b)), AttrLiteral::Bool(x)) => Some(c.op.test(*b, *x)),
        _ => None,
    };
    same_kind.unwrap_or(c.op == CmpOp::Ne)
}

/// A rule compiled against one [`CustomerTable`].
#[derive(Debug, Clone)]
pub struct Program {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(Pred),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Any,
    All,
    None,
}

#[derive(Debug, Clone, Copy)]
enum TimeField {
    LastOrder,
    LastInbound,
    Created,
}

#[derive(Debug, Clone)]
enum Pred {
    Tags { kind: TagKind, mask: u128, extra: Vec<u32> },
    Spend(CmpOp, i64),
    Orders(CmpOp, u32),
    Engagement(CmpOp, u8),
    OrdersSince { since: i64, op: CmpOp, count: u32 },
    Time(TimeField, TimeCond),
    Country(Vec<u16>),
    City(Vec<u32>),
    OptedIn(bool),
    BirthdayMonth(u16),
    Birthday(Vec<u16>),
    Attr(String, AttrTest),
    Const(bool),
}
