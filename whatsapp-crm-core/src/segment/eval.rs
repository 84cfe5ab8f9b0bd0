//! The in-memory evaluator: customers loaded once into rows of integers
//! (interned tags as bits, money and times as integers), a rule compiled once
//! into a program over those rows, then evaluated against every row.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::rule::{AttrLiteral, AttrTest, CmpOp, Rule, TagTest};
use super::time::{TimeCond, birthday_keys, days_since, within_days};
use crate::domain::{AttributeValue, ConsentStatus, Customer, CustomerId, Tag, TimeZone};

/// Tags interned into the first 128 bits; rarer ones are listed per customer.
const INLINE_TAGS: u32 = 128;
const NONE: i64 = i64::MIN;

/// Customers of one business, loaded column by column for fast segment
/// evaluation: a rule reads only the columns it tests, 64 customers a word.
#[derive(Debug, Default)]
pub struct CustomerTable {
    ids: Vec<CustomerId>,
    tags: Vec<u128>,
    spend: Vec<i64>,
    last_order: Vec<i64>,
    last_inbound: Vec<i64>,
    created: Vec<i64>,
    orders: Vec<u32>,
    city: Vec<u32>,
    extra_tag_spans: Vec<(u32, u32)>,
    order_spans: Vec<(u32, u32)>,
    attr_index: Vec<u32>,
    country: Vec<u16>,
    birthday: Vec<u16>,
    engagement: Vec<u8>,
    opted_in: Vec<bool>,
    tag_ids: HashMap<Tag, u32>,
    city_ids: HashMap<String, u32>,
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

/// One bit per customer.
type Bits = Vec<u64>;

/// Sets bit `i` for each value of `column` that passes `test`.
fn scan<T: Copy>(column: &[T], test: impl Fn(T) -> bool) -> Bits {
    column
        .chunks(64)
        .map(|chunk| {
            chunk.iter().enumerate().fold(0u64, |w, (j, v)| w | (u64::from(test(*v)) << j))
        })
        .collect()
}

/// [`scan`] with the operator chosen once, outside the loop.
fn scan_cmp<T: Copy + PartialOrd>(column: &[T], op: CmpOp, x: T) -> Bits {
    match op {
        CmpOp::Eq => scan(column, |v| v == x),
        CmpOp::Ne => scan(column, |v| v != x),
        CmpOp::Lt => scan(column, |v| v < x),
        CmpOp::Le => scan(column, |v| v <= x),
        CmpOp::Gt => scan(column, |v| v > x),
        CmpOp::Ge => scan(column, |v| v >= x),
    }
}

impl CustomerTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds a customer with the creation times of their paid and fulfilled
    /// orders (for `orders_last`).
    pub fn push(&mut self, c: &Customer, orders: &[DateTime<Utc>]) {
        let stats = &c.stats;
        let mut bits = 0u128;
        let extra_start = self.extra_tags.len() as u32;
        for t in &c.tags {
            let next = self.tag_ids.len() as u32;
            let id = *self.tag_ids.entry(t.clone()).or_insert(next);
            if id < INLINE_TAGS {
                bits |= 1u128 << id;
            } else {
                self.extra_tags.push(id);
            }
        }
        let city = c.location.city.as_deref().map_or(0, |name| {
            let next = self.city_ids.len() as u32 + 1;
            *self.city_ids.entry(name.to_lowercase()).or_insert(next)
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
        self.tags.push(bits);
        self.spend.push(stats.total_spent);
        self.last_order.push(micros(stats.last_order_at));
        self.last_inbound.push(micros(c.last_inbound_at));
        self.created.push(c.created_at.timestamp_micros());
        self.orders.push(stats.order_count);
        self.city.push(city);
        self.extra_tag_spans.push((extra_start, self.extra_tags.len() as u32 - extra_start));
        self.order_spans.push((order_start, orders.len() as u32));
        self.attr_index.push(attrs);
        self.country.push(c.location.country.as_deref().map_or(0, country_code));
        self.birthday.push(c.birthday.map_or(0, |b| u16::from(b.month) * 100 + u16::from(b.day)));
        self.engagement.push(stats.engagement_score);
        self.opted_in.push(c.marketing.status == ConsentStatus::OptedIn);
    }

    /// Compiles `rule` against this table's interned tags and cities.
    pub fn compile(&self, rule: &Rule, now: DateTime<Utc>, tz: TimeZone) -> Program {
        Program { root: self.node(rule, now, tz) }
    }

    /// Ids of the customers matching `program`, in table order.
    pub fn select(&self, program: &Program) -> Vec<CustomerId> {
        let bits = self.eval(&program.root);
        let mut out = Vec::new();
        for (w, word) in bits.iter().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                let j = rest.trailing_zeros() as usize;
                out.push(self.ids[w * 64 + j]);
                rest &= rest - 1;
            }
        }
        out
    }

    /// Number of customers matching `program`.
    pub fn count(&self, program: &Program) -> usize {
        self.eval(&program.root).iter().map(|w| w.count_ones() as usize).sum()
    }

    fn tag_set(&self, tags: &[Tag]) -> (u128, Vec<u32>, bool) {
        let mut mask = 0u128;
        let mut extra = Vec::new();
        let mut unknown = false;
        for t in tags {
            match self.tag_ids.get(t) {
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
                    .filter_map(|n| self.city_ids.get(&n.to_lowercase()).copied())
                    .collect();
                leaf(if ids.is_empty() { Pred::Const(false) } else { Pred::City(ids) })
            }
            Rule::OptedIn(b) => leaf(Pred::OptedIn(*b)),
            Rule::BirthdayMonth(m) => leaf(Pred::BirthdayMonth(u16::from(*m))),
            Rule::BirthdayWithin { days } => leaf(Pred::Birthday(birthday_keys(*days, now, tz))),
            Rule::Attribute { key, test } => leaf(Pred::Attr(key.clone(), test.clone())),
        }
    }

    fn eval(&self, node: &Node) -> Bits {
        match node {
            Node::Leaf(p) => self.leaf(p),
            Node::And(ns) | Node::Or(ns) => {
                let and = matches!(node, Node::And(_));
                let mut acc = match ns.first() {
                    Some(n) => self.eval(n),
                    None => return self.all(and),
                };
                for n in &ns[1..] {
                    // Nothing left to narrow (or to add): the rest cannot change the answer.
                    if and && acc.iter().all(|w| *w == 0) {
                        break;
                    }
                    let bits = self.eval(n);
                    for (a, b) in acc.iter_mut().zip(&bits) {
                        *a = if and { *a & b } else { *a | b };
                    }
                }
                acc
            }
            Node::Not(n) => {
                let mut bits = self.eval(n);
                for w in &mut bits {
                    *w = !*w;
                }
                self.trim(&mut bits);
                bits
            }
        }
    }

    /// Every customer (`true`) or none.
    fn all(&self, value: bool) -> Bits {
        let mut bits = vec![if value { u64::MAX } else { 0 }; self.ids.len().div_ceil(64)];
        self.trim(&mut bits);
        bits
    }

    /// Clears the bits past the last customer.
    fn trim(&self, bits: &mut Bits) {
        let rem = self.ids.len() % 64;
        if rem != 0
            && let Some(last) = bits.last_mut()
        {
            *last &= (1u64 << rem) - 1;
        }
    }

    fn leaf(&self, p: &Pred) -> Bits {
        let n = self.ids.len();
        let by_row = |f: &dyn Fn(usize) -> bool| -> Bits {
            (0..n.div_ceil(64))
                .map(|w| {
                    (0..64.min(n - w * 64))
                        .fold(0u64, |acc, j| acc | (u64::from(f(w * 64 + j)) << j))
                })
                .collect()
        };
        match p {
            Pred::Tags { kind, mask, extra } if extra.is_empty() => {
                let m = *mask;
                match kind {
                    TagKind::Any => scan(&self.tags, |t| t & m != 0),
                    TagKind::All => scan(&self.tags, |t| t & m == m),
                    TagKind::None => scan(&self.tags, |t| t & m == 0),
                }
            }
            Pred::Tags { kind, mask, extra } => by_row(&|i| {
                let (start, len) = self.extra_tag_spans[i];
                let row_extra = &self.extra_tags[start as usize..(start + len) as usize];
                let hits = extra.iter().filter(|t| row_extra.contains(t)).count();
                let t = self.tags[i];
                match kind {
                    TagKind::Any => t & mask != 0 || hits > 0,
                    TagKind::All => t & mask == *mask && hits == extra.len(),
                    TagKind::None => t & mask == 0 && hits == 0,
                }
            }),
            Pred::Spend(op, v) => scan_cmp(&self.spend, *op, *v),
            Pred::Orders(op, v) => scan_cmp(&self.orders, *op, *v),
            Pred::Engagement(op, v) => scan_cmp(&self.engagement, *op, *v),
            Pred::OrdersSince { since, op, count } => by_row(&|i| {
                let (start, len) = self.order_spans[i];
                let times = &self.order_times[start as usize..(start + len) as usize];
                op.test(times.iter().filter(|&&t| t > *since).count() as u32, *count)
            }),
            Pred::Time(field, cond) => {
                let column = match field {
                    TimeField::LastOrder => &self.last_order,
                    TimeField::LastInbound => &self.last_inbound,
                    TimeField::Created => &self.created,
                };
                match (*cond, cond.at_or_before) {
                    // The common "within the last N days": one comparison per customer.
                    (TimeCond { after: Some(a), negate: false, when_missing: false, .. }, None) => {
                        scan(column, |t| t != NONE && t > a)
                    }
                    _ => scan(column, |t| cond.matches((t != NONE).then_some(t))),
                }
            }
            Pred::Country(codes) => scan(&self.country, |c| c != 0 && codes.contains(&c)),
            Pred::City(ids) => match ids.as_slice() {
                [one] => scan(&self.city, |c| c == *one),
                many => scan(&self.city, |c| c != 0 && many.contains(&c)),
            },
            Pred::OptedIn(b) => scan(&self.opted_in, |o| o == *b),
            Pred::BirthdayMonth(m) => scan(&self.birthday, |d| d != 0 && d / 100 == *m),
            Pred::Birthday(keys) => {
                scan(&self.birthday, |d| d != 0 && keys.binary_search(&d).is_ok())
            }
            Pred::Attr(key, test) => by_row(&|i| {
                let value = self.attrs.get(self.attr_index[i] as usize).and_then(|a| a.get(key));
                attr_matches(value, test)
            }),
            Pred::Const(b) => self.all(*b),
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
