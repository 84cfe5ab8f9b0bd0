//! Segment rules: the text and JSON forms round-trip, and the compiled
//! evaluator agrees with a plain reading of the rules on random customers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, Utc};
use proptest::prelude::*;
use whatsapp_crm_core::segment::{
    AttrLiteral, AttrTest, CmpOp, Comparison, CustomerTable, Rule, TagTest, attr_matches,
    parse_rule, rule_to_text,
};
use whatsapp_crm_core::{
    AttributeValue, Birthday, BusinessId, ConsentSource, Currency, Customer, CustomerId,
    CustomerStats, Location, MarketingConsent, PhoneNumber, Tag, TimeZone,
};

const TAGS: &[&str] = &["vip", "wholesale", "new", "nairobi:cbd", "late-payer", "zoë"];
const CITIES: &[&str] = &["Nairobi", "Mombasa", "Dar es Salaam", "Zürich"];
const COUNTRIES: &[&str] = &["KE", "TZ", "UG"];
const KEYS: &[&str] = &["tier", "size", "vip"];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-15T09:30:00Z").unwrap().to_utc()
}

fn tag() -> impl Strategy<Value = Tag> {
    prop::sample::select(TAGS).prop_map(|t| Tag::parse(t).unwrap())
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(&[CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge][..])
}

fn literal() -> impl Strategy<Value = AttrLiteral> {
    prop_oneof![
        any::<bool>().prop_map(AttrLiteral::Bool),
        (-5i32..50).prop_map(|n| AttrLiteral::Number(f64::from(n) / 2.0)),
        prop::sample::select(&["gold", "silver", "", "say \"hi\""][..])
            .prop_map(|s| AttrLiteral::Text(s.to_owned())),
    ]
}

fn condition() -> impl Strategy<Value = Rule> {
    let tags = || prop::collection::vec(tag(), 1..3);
    prop_oneof![
        tag().prop_map(|t| Rule::Tag(TagTest::Has(t))),
        tags().prop_map(|t| Rule::Tag(TagTest::Any(t))),
        tags().prop_map(|t| Rule::Tag(TagTest::All(t))),
        tags().prop_map(|t| Rule::Tag(TagTest::None(t))),
        (op(), 0i64..5_000_000).prop_map(|(op, value)| Rule::Spend(Comparison { op, value })),
        (op(), 0u32..8).prop_map(|(op, value)| Rule::Orders(Comparison { op, value })),
        (1u32..90, op(), 0u32..4).prop_map(|(days, op, value)| Rule::OrdersLast {
            days,
            count: Comparison { op, value }
        }),
        (op(), 0u32..120).prop_map(|(op, value)| Rule::DaysSinceOrder(Comparison { op, value })),
        (op(), 0u32..400).prop_map(|(op, value)| Rule::DaysSinceSignup(Comparison { op, value })),
        (op(), 0u8..=100).prop_map(|(op, value)| Rule::Engagement(Comparison { op, value })),
        prop::collection::vec(prop::sample::select(COUNTRIES).prop_map(str::to_owned), 1..3)
            .prop_map(Rule::Country),
        prop::collection::vec(prop::sample::select(CITIES).prop_map(|c| c.to_lowercase()), 1..3)
            .prop_map(Rule::City),
        (1u32..120).prop_map(|days| Rule::Active { days }),
        (1u32..120).prop_map(|days| Rule::Inactive { days }),
        any::<bool>().prop_map(Rule::OptedIn),
        (1u8..=12).prop_map(Rule::BirthdayMonth),
        (1u32..400).prop_map(|days| Rule::BirthdayWithin { days }),
        (
            prop::sample::select(KEYS),
            prop_oneof![
                Just(AttrTest::Exists),
                (op(), literal())
                    .prop_map(|(op, value)| AttrTest::Compare(Comparison { op, value }))
            ]
        )
            .prop_map(|(key, test)| Rule::Attribute { key: key.to_owned(), test }),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    condition().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Rule::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Rule::Or),
            inner.prop_map(|r| Rule::Not(Box::new(r))),
        ]
    })
}

#[derive(Debug, Clone)]
struct Person {
    customer: Customer,
    orders: Vec<DateTime<Utc>>,
}

fn days_ago(d: i64) -> DateTime<Utc> {
    now() - Duration::days(d) - Duration::hours(d % 7)
}

fn person() -> impl Strategy<Value = Person> {
    (
        prop::collection::btree_set(tag(), 0..4),
        prop::option::of(prop::sample::select(CITIES)),
        prop::option::of(prop::sample::select(COUNTRIES)),
        prop::option::of((1u8..=12, 1u8..=28)),
        prop::option::of(0i64..150),
        any::<bool>(),
        (0i64..5_000_000, 0u8..=100, prop::collection::vec(0i64..200, 0..5)),
        0i64..500,
        prop::collection::btree_map(
            prop::sample::select(KEYS).prop_map(str::to_owned),
            prop_oneof![
                any::<bool>().prop_map(AttributeValue::Bool),
                (-5i64..25).prop_map(AttributeValue::Integer),
                (-5i32..50).prop_map(|n| AttributeValue::Number(f64::from(n) / 2.0)),
                prop::sample::select(&["gold", "silver", ""][..])
                    .prop_map(|s| AttributeValue::Text(s.to_owned())),
            ],
            0..3,
        ),
    )
        .prop_map(
            |(
                tags,
                city,
                country,
                birthday,
                inbound,
                opted,
                (spend, engagement, order_days),
                signup,
                attributes,
            )| {
                let orders: Vec<DateTime<Utc>> = order_days.iter().map(|d| days_ago(*d)).collect();
                let stats = CustomerStats {
                    total_spent: spend,
                    order_count: orders.len() as u32,
                    last_order_at: orders.iter().max().copied(),
                    engagement_score: engagement,
                };
                let customer = Customer {
                    id: CustomerId::new(),
                    business_id: BusinessId::new(),
                    phone: PhoneNumber::parse("+254712000001").unwrap(),
                    name: None,
                    tags,
                    location: Location {
                        country: country.map(str::to_owned),
                        city: city.map(str::to_owned),
                    },
                    birthday: birthday.map(|(month, day)| Birthday { month, day, year: None }),
                    marketing: if opted {
                        MarketingConsent::set(true, ConsentSource::Api, now())
                    } else {
                        MarketingConsent::default()
                    },
                    attributes,
                    first_seen_at: None,
                    last_seen_at: None,
                    last_inbound_at: inbound.map(days_ago),
                    stats,
                    created_at: days_ago(signup),
                    updated_at: now(),
                };
                Person { customer, orders }
            },
        )
}

/// The rules read plainly, written without the evaluator's thresholds.
fn reference(rule: &Rule, p: &Person, tz: TimeZone) -> bool {
    let whole_days =
        |t: DateTime<Utc>| (now() - t).num_microseconds().unwrap().div_euclid(86_400_000_000);
    let c = &p.customer;
    match rule {
        Rule::And(rs) => rs.iter().all(|r| reference(r, p, tz)),
        Rule::Or(rs) => rs.iter().any(|r| reference(r, p, tz)),
        Rule::Not(r) => !reference(r, p, tz),
        Rule::Tag(TagTest::Has(t)) => c.tags.contains(t),
        Rule::Tag(TagTest::Any(ts)) => ts.iter().any(|t| c.tags.contains(t)),
        Rule::Tag(TagTest::All(ts)) => ts.iter().all(|t| c.tags.contains(t)),
        Rule::Tag(TagTest::None(ts)) => !ts.iter().any(|t| c.tags.contains(t)),
        Rule::Spend(cmp) => cmp.op.test(p.customer.stats.total_spent, cmp.value),
        Rule::Orders(cmp) => cmp.op.test(p.customer.stats.order_count, cmp.value),
        Rule::Engagement(cmp) => cmp.op.test(p.customer.stats.engagement_score, cmp.value),
        Rule::OrdersLast { days, count } => {
            let n =
                p.orders.iter().filter(|t| **t > now() - Duration::days(i64::from(*days))).count()
                    as u32;
            count.op.test(n, count.value)
        }
        Rule::DaysSinceOrder(cmp) => match p.customer.stats.last_order_at {
            Some(t) => cmp.op.test(whole_days(t), i64::from(cmp.value)),
            None => matches!(cmp.op, CmpOp::Gt | CmpOp::Ge | CmpOp::Ne),
        },
        Rule::DaysSinceSignup(cmp) => cmp.op.test(whole_days(c.created_at), i64::from(cmp.value)),
        Rule::Country(codes) => c.location.country.as_ref().is_some_and(|x| codes.contains(x)),
        Rule::City(names) => c
            .location
            .city
            .as_ref()
            .is_some_and(|x| names.iter().any(|n| n.to_lowercase() == x.to_lowercase())),
        Rule::Active { days } => {
            c.last_inbound_at.is_some_and(|t| t > now() - Duration::days(i64::from(*days)))
        }
        Rule::Inactive { days } => {
            c.last_inbound_at.is_none_or(|t| t <= now() - Duration::days(i64::from(*days)))
        }
        Rule::OptedIn(b) => c.marketing.allows_marketing() == *b,
        Rule::BirthdayMonth(m) => c.birthday.is_some_and(|b| b.month == *m),
        Rule::BirthdayWithin { days } => c.birthday.is_some_and(|b| {
            let today = now().with_timezone(&tz.tz()).date_naive();
            (0..i64::from((*days).min(366))).any(|i| {
                let d = today + Duration::days(i);
                (u32::from(b.month), u32::from(b.day)) == (d.month(), d.day())
            })
        }),
        Rule::Attribute { key, test } => attr_matches(c.attributes.get(key), test),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn text_form_round_trips(r in rule()) {
        let text = rule_to_text(&r, Currency::KES);
        let back = parse_rule(&text, Currency::KES).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, r);
    }

    #[test]
    fn json_form_round_trips(r in rule()) {
        let json = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), r);
    }

    #[test]
    fn compiled_evaluator_agrees_with_the_rules(r in rule(), people in prop::collection::vec(person(), 1..40)) {
        let tz = TimeZone::parse("Africa/Nairobi").unwrap();
        let mut table = CustomerTable::new();
        for p in &people {
            table.push(&p.customer, &p.orders);
        }
        let program = table.compile(&r, now(), tz);
        let got: BTreeSet<CustomerId> = table.select(&program).into_iter().collect();
        let want: BTreeSet<CustomerId> = people.iter().filter(|p| reference(&r, p, tz)).map(|p| p.customer.id).collect();
        prop_assert_eq!(got, want, "rule: {}", rule_to_text(&r, Currency::KES));
    }
}

#[test]
fn json_form_reads_as_documented() {
    let json = r#"{"and": [
        {"tag": {"has": "vip"}},
        {"spend": {"op": ">=", "value": 1000000}},
        {"orders": {"op": ">=", "value": 3}},
        {"city": ["Nairobi"]},
        {"active": {"days": 30}},
        {"orders_last": {"days": 30, "op": ">=", "value": 2}},
        {"attribute": {"key": "tier", "test": {"compare": {"op": "=", "value": "gold"}}}}
    ]}"#;
    let r: Rule = serde_json::from_str(json).unwrap();
    assert_eq!(
        rule_to_text(&r, Currency::KES),
        "tag has vip and spend >= 10000.00 and orders >= 3 and city = Nairobi and active 30d and orders_last 30d >= 2 and attr.tier = \"gold\""
    );
}
