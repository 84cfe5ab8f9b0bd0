//! Conformance cases for segment selection: every backend selects exactly the
//! customers the in-memory evaluator selects from the same stored data.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    AttributeValue, Birthday, ConsentSource, ConsentStatus, Customer, CustomerId, CustomerStats,
    Direction, MarketingConsent, MessageStatus, OrderStatus, Tag, TimeZone,
};
use crate::ports::{CustomerQuery, OrderQuery, Storage, StorageError};
use crate::segment::{
    AttrLiteral, AttrTest, CmpOp, Comparison, CustomerTable, Rule, SegmentContext, TagTest,
};

use super::{
    bare_customer, insert, new_business, new_conversation, ok, order, t0, tag, text_message,
};

/// A small deterministic generator, so every backend sees the same cases.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const TAGS: &[&str] = &["vip", "wholesale", "new", "late-payer", "zoë"];
const CITIES: &[&str] =
    &["Nairobi", "Mombasa", "Dar es Salaam", "Zürich", "O'Brien; DROP TABLE customers; --"];
const COUNTRIES: &[&str] = &["KE", "TZ", "UG"];
const KEYS: &[&str] = &["tier", "size", "vip"];
const TEXTS: &[&str] = &["gold", "silver", "", "it's -- ok; \"quoted\""];
const OPS: &[CmpOp] = &[CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];

fn now() -> DateTime<Utc> {
    t0() + Duration::days(400)
}

fn ctx() -> SegmentContext {
    SegmentContext {
        now: now(),
        time_zone: TimeZone::parse("Africa/Nairobi").unwrap_or(TimeZone::UTC),
    }
}

fn random_tag(r: &mut Lcg) -> Tag {
    let name: &&str = r.pick(TAGS);
    tag(name)
}

fn random_tags(r: &mut Lcg) -> Vec<Tag> {
    (0..1 + r.below(2)).map(|_| random_tag(r)).collect()
}

fn literal(r: &mut Lcg) -> AttrLiteral {
    match r.below(3) {
        0 => AttrLiteral::Bool(r.chance(50)),
        1 => AttrLiteral::Number((r.below(40) as f64 - 5.0) / 2.0),
        _ => AttrLiteral::Text((*r.pick(TEXTS)).to_owned()),
    }
}

fn condition(r: &mut Lcg) -> Rule {
    let op = *r.pick(OPS);
    match r.below(18) {
        0 => Rule::Tag(TagTest::Has(random_tag(r))),
        1 => Rule::Tag(TagTest::Any(random_tags(r))),
        2 => Rule::Tag(TagTest::All(random_tags(r))),
        3 => Rule::Tag(TagTest::None(random_tags(r))),
        4 => Rule::Spend(Comparison { op, value: r.below(5_000_000) as i64 }),
        5 => Rule::Orders(Comparison { op, value: r.below(5) as u32 }),
        6 => Rule::OrdersLast {
            days: 1 + r.below(200) as u32,
            count: Comparison { op, value: r.below(3) as u32 },
        },
        7 => Rule::DaysSinceOrder(Comparison { op, value: r.below(300) as u32 }),
        8 => Rule::DaysSinceSignup(Comparison { op, value: r.below(400) as u32 }),
        9 => Rule::Engagement(Comparison { op, value: r.below(101) as u8 }),
        10 => Rule::Country((0..1 + r.below(2)).map(|_| (*r.pick(COUNTRIES)).to_owned()).collect()),
        11 => Rule::City((0..1 + r.below(2)).map(|_| r.pick(CITIES).to_uppercase()).collect()),
        12 => Rule::Active { days: 1 + r.below(120) as u32 },
        13 => Rule::Inactive { days: 1 + r.below(120) as u32 },
        14 => Rule::OptedIn(r.chance(50)),
        15 => Rule::BirthdayMonth(1 + r.below(12) as u8),
        16 => Rule::BirthdayWithin { days: 1 + r.below(400) as u32 },
        _ => {
            let test = if r.chance(25) {
                AttrTest::Exists
            } else {
                AttrTest::Compare(Comparison { op, value: literal(r) })
            };
            Rule::Attribute { key: (*r.pick(KEYS)).to_owned(), test }
        }
    }
}

fn rule(r: &mut Lcg, depth: u32) -> Rule {
    if depth == 0 || r.chance(40) {
        return condition(r);
    }
    let parts = (0..2 + r.below(2)).map(|_| rule(r, depth - 1)).collect();
    match r.below(3) {
        0 => Rule::And(parts),
        1 => Rule::Or(parts),
        _ => Rule::Not(Box::new(rule(r, depth - 1))),
    }
}

fn days_ago(r: &mut Lcg, max: u64) -> DateTime<Utc> {
    now() - Duration::days(r.below(max) as i64) - Duration::minutes(r.below(1440) as i64)
}

/// Stores `n` varied customers with orders and messages; returns nothing, the
/// reference reads everything back from storage.
async fn seed(s: &dyn Storage, business: crate::domain::BusinessId, r: &mut Lcg, n: usize) {
    for i in 0..n {
        let mut c: Customer = bare_customer(business, &format!("+2547{:08}", i + 1));
        c.tags = (0..r.below(4)).map(|_| random_tag(r)).collect();
        if r.chance(80) {
            c.location.city = Some((*r.pick(CITIES)).to_owned());
        }
        if r.chance(80) {
            c.location.country = Some((*r.pick(COUNTRIES)).to_owned());
        }
        if r.chance(60) {
            c.birthday = Some(Birthday {
                month: 1 + r.below(12) as u8,
                day: 1 + r.below(28) as u8,
                year: None,
            });
        }
        if r.chance(50) {
            c.marketing = MarketingConsent::set(true, ConsentSource::Form, t0());
        } else if r.chance(30) {
            c.marketing =
                MarketingConsent { status: ConsentStatus::OptedOut, ..MarketingConsent::default() };
        }
        let mut attrs = BTreeMap::new();
        for key in KEYS {
            match r.below(5) {
                0 => attrs.insert((*key).to_owned(), AttributeValue::Bool(r.chance(50))),
                1 => {
                    attrs.insert((*key).to_owned(), AttributeValue::Integer(r.below(25) as i64 - 5))
                }
                2 => attrs.insert(
                    (*key).to_owned(),
                    AttributeValue::Number((r.below(40) as f64 - 5.0) / 2.0),
                ),
                3 => attrs
                    .insert((*key).to_owned(), AttributeValue::Text((*r.pick(TEXTS)).to_owned())),
                _ => None,
            };
        }
        c.attributes = attrs;
        c.created_at = days_ago(r, 400);
        c.stats =
            CustomerStats { engagement_score: r.below(101) as u8, ..CustomerStats::default() };
        insert(s, &c).await;
        for _ in 0..r.below(4) {
            let mut o = order(business, c.id, 1 + r.below(2_000_000) as i64, 0);
            o.created_at = days_ago(r, 300);
            o.status = *r.pick(&[
                OrderStatus::Paid,
                OrderStatus::Fulfilled,
                OrderStatus::Draft,
                OrderStatus::Cancelled,
            ]);
            ok(s.insert_order(&o).await, "order");
        }
        if r.chance(70) {
            let conv = new_conversation(s, &c).await;
            let mut m = text_message(&conv, "habari");
            m.direction = Direction::Inbound;
            m.status = MessageStatus::Received;
            m.created_at = days_ago(r, 150);
            m.times.received_at = Some(m.created_at);
            ok(s.insert_message(&m).await, "inbound");
        }
    }
}

/// The in-memory evaluation of the stored customers and orders.
async fn reference(s: &dyn Storage, business: crate::domain::BusinessId) -> (CustomerTable, usize) {
    let customers = ok(
        s.list_customers(business, &CustomerQuery { limit: 200, ..Default::default() }).await,
        "list",
    )
    .items;
    let orders = ok(
        s.list_orders(business, &OrderQuery { limit: 200, ..Default::default() }).await,
        "orders",
    )
    .items;
    let mut table = CustomerTable::new();
    for c in &customers {
        let times: Vec<_> = orders
            .iter()
            .filter(|o| o.customer_id == c.id && o.status.counts_as_purchase())
            .map(|o| o.created_at)
            .collect();
        table.push(c, &times);
    }
    (table, customers.len())
}

/// 150 random rules over 60 varied customers: the backend's selection (count
/// and ids) equals the in-memory evaluator's on every rule.
pub async fn segment_selection_matches_the_evaluator(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut r = Lcg(0x5eed_cafe);
    seed(s, b.id, &mut r, 60).await;
    let (table, n) = reference(s, b.id).await;
    assert_eq!(n, 60);
    let mut partial = 0;
    for case in 0..150 {
        let rule = rule(&mut r, 3);
        let want = table.select(&table.compile(&rule, ctx().now, ctx().time_zone));
        let got = ok(s.select_segment(b.id, &rule, &ctx(), 200, None).await, "select");
        let ids: Vec<CustomerId> = got.customers.items.iter().map(|c| c.id).collect();
        assert_eq!((got.count as usize, &ids), (want.len(), &want), "case {case}: {rule:?}");
        // The same customers read whole, a page of seven at a time.
        let (mut paged, mut after) = (Vec::new(), None);
        loop {
            let page = ok(
                s.segment_customers(b.id, &rule, &ctx(), ctx().now, after, 7).await,
                "segment customers",
            );
            paged.extend(page.iter().map(|c| c.id));
            after = page.last().map(|c| c.id);
            if page.len() < 7 {
                break;
            }
        }
        assert_eq!(paged, want, "case {case} paged: {rule:?}");
        partial += usize::from(!want.is_empty() && want.len() < n);
    }
    // The cases must discriminate, or agreement proves little.
    assert!(partial >= 60, "only {partial} of 150 rules selected some but not all customers");
}

/// Quotes, `--` and `;` in values are data, never SQL.
pub async fn segment_values_are_data_not_sql(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut odd = bare_customer(b.id, "+254712000001");
    odd.location.city = Some("O'Brien; DROP TABLE customers; --".into());
    odd.attributes.insert("tier".into(), AttributeValue::Text("' OR '1'='1".into()));
    insert(s, &odd).await;
    insert(s, &bare_customer(b.id, "+254712000002")).await;
    let cases = [
        (Rule::City(vec!["o'brien; drop table customers; --".into()]), 1),
        (Rule::City(vec!["' OR 1=1 --".into()]), 0),
        (
            Rule::Attribute {
                key: "tier".into(),
                test: AttrTest::Compare(Comparison {
                    op: CmpOp::Eq,
                    value: AttrLiteral::Text("' OR '1'='1".into()),
                }),
            },
            1,
        ),
        (
            Rule::Attribute {
                key: "tier".into(),
                test: AttrTest::Compare(Comparison {
                    op: CmpOp::Eq,
                    value: AttrLiteral::Text("x' OR 'a'='a".into()),
                }),
            },
            0,
        ),
        (Rule::Country(vec!["KE".into()]), 0),
    ];
    for (rule, expected) in cases {
        let got = ok(s.select_segment(b.id, &rule, &ctx(), 50, None).await, "select");
        assert_eq!(got.count, expected, "{rule:?}");
    }
    let all = ok(
        s.list_customers(b.id, &CustomerQuery { limit: 50, ..Default::default() }).await,
        "list",
    );
    assert_eq!(all.items.len(), 2, "the table is intact");
}

/// Pages walk every match once; other businesses' customers never match.
pub async fn segment_pages_and_stays_in_its_business(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let other = new_business(s, "B").await;
    for i in 0..7 {
        let mut c = bare_customer(a.id, &format!("+2547120000{i:02}"));
        c.tags = [tag("vip")].into();
        insert(s, &c).await;
        let mut theirs = bare_customer(other.id, &format!("+2547120000{i:02}"));
        theirs.tags = [tag("vip")].into();
        insert(s, &theirs).await;
    }
    let rule = Rule::Tag(TagTest::Has(tag("vip")));
    let first = ok(s.select_segment(a.id, &rule, &ctx(), 3, None).await, "p1");
    assert_eq!((first.count, first.customers.items.len()), (7, 3));
    let mut seen: Vec<CustomerId> = first.customers.items.iter().map(|c| c.id).collect();
    let mut cursor = first.customers.next_cursor;
    while let Some(c) = cursor {
        let after = c.parse().unwrap_or_else(|e| panic!("{e}"));
        let page = ok(s.select_segment(a.id, &rule, &ctx(), 3, Some(after)).await, "page");
        assert_eq!(page.count, 7);
        seen.extend(page.customers.items.iter().map(|c| c.id));
        cursor = page.customers.next_cursor;
    }
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let unknown = ok(
        s.select_segment(crate::domain::BusinessId::new(), &rule, &ctx(), 3, None).await,
        "none",
    );
    assert_eq!(unknown.count, 0);
}

fn saved(business: crate::domain::BusinessId, name: &str) -> crate::domain::Segment {
    let rule = Rule::And(vec![Rule::Tag(TagTest::Has(tag("vip"))), Rule::Active { days: 30 }]);
    crate::domain::Segment {
        id: crate::domain::SegmentId::new(),
        business_id: business,
        name: name.to_owned(),
        description: Some("Our best customers — \"VIP\"".into()),
        rule_text: crate::segment::rule_to_text(&rule, crate::domain::Currency::KES),
        rule,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// A saved segment reads back unchanged; names are unique per business.
pub async fn saved_segment_round_trip_and_unique_name(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let seg = saved(a.id, "VIPs in Nairobi");
    ok(s.insert_segment(&seg).await, "insert");
    assert_eq!(ok(s.get_segment(a.id, seg.id).await, "get"), seg);
    let err = s.insert_segment(&saved(a.id, "VIPs in Nairobi")).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict { entity: "segment", .. }), "{err:?}");
    ok(s.insert_segment(&saved(b.id, "VIPs in Nairobi")).await, "other business");
    assert!(matches!(
        s.get_segment(a.id, crate::domain::SegmentId::new()).await,
        Err(StorageError::NotFound { .. })
    ));
}

/// Updates replace name, description and rule; renaming onto another name conflicts.
pub async fn saved_segment_update_and_delete(s: &dyn Storage) {
    let b = new_business(s, "Shop").await;
    let mut one = saved(b.id, "one");
    let two = saved(b.id, "two");
    ok(s.insert_segment(&one).await, "one");
    ok(s.insert_segment(&two).await, "two");
    one.name = "first".into();
    one.rule = Rule::OptedIn(true);
    one.rule_text = "opted_in".into();
    one.description = None;
    one.updated_at = t0() + Duration::hours(1);
    ok(s.update_segment(&one).await, "update");
    assert_eq!(ok(s.get_segment(b.id, one.id).await, "get"), one);
    let mut clash = two.clone();
    clash.name = "first".into();
    assert!(matches!(s.update_segment(&clash).await, Err(StorageError::Conflict { .. })));
    assert_eq!(ok(s.get_segment(b.id, two.id).await, "unchanged"), two);
    ok(s.delete_segment(b.id, one.id).await, "delete");
    assert!(matches!(s.get_segment(b.id, one.id).await, Err(StorageError::NotFound { .. })));
    assert!(matches!(s.delete_segment(b.id, one.id).await, Err(StorageError::NotFound { .. })));
    let page = ok(s.list_segments(b.id, 10, None).await, "list");
    assert_eq!(page.items, [two]);
}

/// Saved segments of business A are invisible and unchangeable through B.
pub async fn saved_segment_tenant_isolation(s: &dyn Storage) {
    let a = new_business(s, "A").await;
    let b = new_business(s, "B").await;
    let seg = saved(a.id, "mine");
    ok(s.insert_segment(&seg).await, "insert");
    assert!(matches!(s.get_segment(b.id, seg.id).await, Err(StorageError::NotFound { .. })));
    let mut hijack = seg.clone();
    hijack.business_id = b.id;
    hijack.name = "stolen".into();
    assert!(matches!(s.update_segment(&hijack).await, Err(StorageError::NotFound { .. })));
    assert!(matches!(s.delete_segment(b.id, seg.id).await, Err(StorageError::NotFound { .. })));
    assert!(ok(s.list_segments(b.id, 10, None).await, "list").items.is_empty());
    assert_eq!(ok(s.get_segment(a.id, seg.id).await, "unchanged"), seg);
}
