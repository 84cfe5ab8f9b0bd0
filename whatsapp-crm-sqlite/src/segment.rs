//! Segment rules as one SQL `WHERE` clause over `customers c`, every value bound
//! as a parameter. Day windows use the thresholds of `whatsapp_crm_core::segment`,
//! so SQLite selects exactly what the in-memory evaluator selects.

use rusqlite::types::Value;
use whatsapp_crm_core::segment::{
    AttrLiteral, AttrTest, CmpOp, Rule, SegmentContext, TagTest, TimeCond, birthday_keys,
    days_since, within_days,
};

/// A condition and the values its `?` placeholders take, in order.
#[derive(Debug, Default)]
pub(crate) struct Where {
    pub sql: String,
    pub args: Vec<Value>,
}

impl Where {
    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn arg(&mut self, v: Value) {
        self.sql.push('?');
        self.args.push(v);
    }

    fn list(&mut self, values: impl IntoIterator<Item = Value>) {
        self.sql.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.arg(v);
        }
        self.sql.push(')');
    }
}

/// Translates `rule` evaluated at `ctx`.
pub(crate) fn translate(rule: &Rule, ctx: &SegmentContext) -> Where {
    let mut w = Where::default();
    node(rule, ctx, &mut w, false);
    w
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

const TAG_ROWS: &str =
    "SELECT 1 FROM customer_tags t WHERE t.business_id = c.business_id AND t.customer_id = c.id";
const COUNTED: &str = "o.status IN ('paid', 'fulfilled')";

/// `negated` is true under an odd number of `NOT`s. Elsewhere a NULL reads as
/// false, so plain comparisons (which can use indexes) are exact; under `NOT`
/// the NULL-safe forms are needed.
fn node(rule: &Rule, ctx: &SegmentContext, w: &mut Where, negated: bool) {
    match rule {
        Rule::And(parts) | Rule::Or(parts) => {
            let sep = if matches!(rule, Rule::And(_)) { " AND " } else { " OR " };
            w.push("(");
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    w.push(sep);
                }
                node(p, ctx, w, negated);
            }
            w.push(")");
        }
        Rule::Not(inner) => {
            w.push("NOT ");
            node(inner, ctx, w, !negated);
        }
        Rule::Tag(test) => {
            let (tags, prefix) = match test {
                TagTest::Has(t) => (std::slice::from_ref(t), "EXISTS"),
                TagTest::Any(ts) => (ts.as_slice(), "EXISTS"),
                TagTest::None(ts) => (ts.as_slice(), "NOT EXISTS"),
                TagTest::All(ts) => {
                    let distinct: std::collections::BTreeSet<&str> =
                        ts.iter().map(|t| t.as_str()).collect();
                    w.push("(SELECT count(DISTINCT t.tag) FROM customer_tags t WHERE t.business_id = c.business_id AND t.customer_id = c.id AND t.tag IN ");
                    w.list(distinct.iter().map(|t| text(t)));
                    w.push(") = ");
                    w.arg(Value::Integer(distinct.len() as i64));
                    return;
                }
            };
            w.push(prefix);
            w.push(" (");
            w.push(TAG_ROWS);
            w.push(" AND t.tag IN ");
            w.list(tags.iter().map(|t| text(t.as_str())));
            w.push(")");
        }
        Rule::Spend(c) => compare(w, "c.total_spent", c.op, Value::Integer(c.value)),
        Rule::Orders(c) => compare(w, "c.order_count", c.op, Value::Integer(i64::from(c.value))),
        Rule::Engagement(c) => {
            compare(w, "c.engagement_score", c.op, Value::Integer(i64::from(c.value)))
        }
        Rule::OrdersLast { days, count } => {
            let since = within_days(*days, ctx.now).after.unwrap_or(i64::MIN);
            w.push("(SELECT count(*) FROM orders o WHERE o.business_id = c.business_id AND o.customer_id = c.id AND ");
            w.push(COUNTED);
            w.push(" AND o.created_at > ");
            w.arg(Value::Integer(since));
            w.push(")");
            w.push(&format!(" {} ", count.op.symbol()));
            w.arg(Value::Integer(i64::from(count.value)));
        }
        Rule::DaysSinceOrder(c) => time(w, "c.last_order_at", days_since(c.op, c.value, ctx.now)),
        Rule::DaysSinceSignup(c) => time(w, "c.created_at", days_since(c.op, c.value, ctx.now)),
        Rule::Active { days } => time(w, "c.last_inbound_at", within_days(*days, ctx.now)),
        Rule::Inactive { days } => {
            let mut cond = within_days(*days, ctx.now);
            cond.negate = true;
            cond.when_missing = true;
            time(w, "c.last_inbound_at", cond);
        }
        Rule::Country(codes) => {
            w.push(if negated { "coalesce(c.country IN " } else { "(c.country IN " });
            w.list(codes.iter().map(|c| text(c)));
            w.push(if negated { ", 0)" } else { ")" });
        }
        Rule::City(names) => {
            w.push(if negated { "coalesce(c.city_key IN " } else { "(c.city_key IN " });
            w.list(names.iter().map(|n| Value::Text(n.to_lowercase())));
            w.push(if negated { ", 0)" } else { ")" });
        }
        Rule::OptedIn(true) => w.push("c.consent_status = 'opted_in'"),
        Rule::OptedIn(false) => w.push("c.consent_status <> 'opted_in'"),
        Rule::BirthdayMonth(m) => {
            w.push("coalesce(c.birthday_month = ");
            w.arg(Value::Integer(i64::from(*m)));
            w.push(", 0)");
        }
        Rule::BirthdayWithin { days } => {
            w.push("coalesce(c.birthday_month * 100 + c.birthday_day IN ");
            w.list(
                birthday_keys(*days, ctx.now, ctx.time_zone)
                    .into_iter()
                    .map(|k| Value::Integer(i64::from(k))),
            );
            w.push(", 0)");
        }
        Rule::Attribute { key, test } => attribute(w, key, test),
    }
}

fn compare(w: &mut Where, column: &str, op: CmpOp, value: Value) {
    w.push(&format!("{column} {} ", op.symbol()));
    w.arg(value);
}

fn time(w: &mut Where, column: &str, cond: TimeCond) {
    let mut inside = Vec::new();
    let mut args = Vec::new();
    if let Some(a) = cond.after {
        inside.push(format!("{column} > ?"));
        args.push(Value::Integer(a));
    }
    if let Some(b) = cond.at_or_before {
        inside.push(format!("{column} <= ?"));
        args.push(Value::Integer(b));
    }
    let inside = if inside.is_empty() { "1".to_owned() } else { inside.join(" AND ") };
    let test = if cond.negate { format!("NOT ({inside})") } else { format!("({inside})") };
    let missing = if cond.when_missing { "IS NULL OR" } else { "IS NOT NULL AND" };
    w.push(&format!("({column} {missing} {test})"));
    w.args.extend(args);
}

fn attribute(w: &mut Where, key: &str, test: &AttrTest) {
    let path = || Value::Text(format!("$.\"{key}\""));
    let c = match test {
        AttrTest::Exists => {
            w.push("(json_type(c.attributes, ");
            w.arg(path());
            w.push(") IS NOT NULL)");
            return;
        }
        AttrTest::Compare(c) => c,
    };
    let (kinds, value, literal) = match &c.value {
        AttrLiteral::Number(n) => {
            ("('integer', 'real')", "json_extract(c.attributes, ?)", Value::Real(*n))
        }
        AttrLiteral::Text(t) => {
            ("('text')", "json_extract(c.attributes, ?)", Value::Text(t.clone()))
        }
        AttrLiteral::Bool(b) => (
            "('true', 'false')",
            "(json_type(c.attributes, ?) = 'true')",
            Value::Integer(i64::from(*b)),
        ),
    };
    // `!=` holds for missing attributes and other kinds, so it is the negation of `=`.
    let (negate, op) = if c.op == CmpOp::Ne { (true, CmpOp::Eq) } else { (false, c.op) };
    w.push(if negate { "NOT (" } else { "(" });
    w.push("coalesce(json_type(c.attributes, ");
    w.arg(path());
    w.push(&format!(") IN {kinds}, 0) AND coalesce({value} {} ", op.symbol()));
    w.args.push(path());
    w.arg(literal);
    w.push(", 0))");
}

/// The count query [`SqliteStorage::select_segment`](whatsapp_crm_core::ports::CustomerStore::select_segment)
/// runs for `rule`: SQL with `?` placeholders, the business id (16 bytes) first,
/// then the rule's values. For `EXPLAIN QUERY PLAN` and benchmarks.
pub fn segment_count_sql(rule: &Rule, ctx: &SegmentContext) -> (String, Vec<Value>) {
    let w = translate(rule, ctx);
    (count_sql(&w), w.args)
}

/// The count statement around a translated rule.
pub(crate) fn count_sql(w: &Where) -> String {
    format!("SELECT count(*) FROM customers c WHERE c.business_id = ? AND {}", w.sql)
}
