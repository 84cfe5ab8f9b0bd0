//! Segment rules as one SQL `WHERE` clause over `customers c`, every value bound
//! as a parameter. Day windows use the thresholds of `whatsapp_crm_core::segment`,
//! so PostgreSQL selects exactly what the in-memory evaluator selects.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, Encode, Postgres, Type};
use whatsapp_crm_core::StorageError;
use whatsapp_crm_core::segment::{
    AttrLiteral, AttrTest, CmpOp, Rule, SegmentContext, TagTest, TimeCond, birthday_keys,
    days_since, within_days,
};

/// A condition with its values bound as `$n` parameters.
pub(crate) struct Where {
    pub sql: String,
    pub args: PgArguments,
    n: usize,
}

impl Where {
    /// Continues the numbering after `bound` parameters already used by the statement.
    pub fn new(args: PgArguments, bound: usize) -> Self {
        Self { sql: String::new(), args, n: bound }
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// Binds `v` and writes its placeholder.
    pub fn arg<T>(&mut self, v: T, cast: &str) -> Result<(), StorageError>
    where
        T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send,
    {
        self.n += 1;
        self.sql.push_str(&format!("${}{cast}", self.n));
        self.args.add(v).map_err(|e| StorageError::backend(e, false))
    }
}

fn micros_time(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t).unwrap_or(if t < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// Appends `rule` evaluated at `ctx` to `w`.
pub(crate) fn translate(
    rule: &Rule,
    ctx: &SegmentContext,
    w: &mut Where,
) -> Result<(), StorageError> {
    node(rule, ctx, w, false)
}

/// `negated` is true under an odd number of `NOT`s. Elsewhere a NULL reads as
/// false, so plain comparisons (which can use indexes) are exact; under `NOT`
/// the NULL-safe forms are needed.
fn node(
    rule: &Rule,
    ctx: &SegmentContext,
    w: &mut Where,
    negated: bool,
) -> Result<(), StorageError> {
    match rule {
        Rule::And(parts) | Rule::Or(parts) => {
            let sep = if matches!(rule, Rule::And(_)) { " AND " } else { " OR " };
            w.push("(");
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    w.push(sep);
                }
                node(p, ctx, w, negated)?;
            }
            w.push(")");
        }
        Rule::Not(inner) => {
            w.push("NOT ");
            node(inner, ctx, w, !negated)?;
        }
        Rule::Tag(test) => {
            // Array operators use the GIN index on tags.
            let (tags, sql) = match test {
                TagTest::Has(t) => (vec![t.as_str().to_owned()], "c.tags @> "),
                TagTest::Any(ts) => {
                    (ts.iter().map(|t| t.as_str().to_owned()).collect(), "c.tags && ")
                }
                TagTest::All(ts) => {
                    (ts.iter().map(|t| t.as_str().to_owned()).collect(), "c.tags @> ")
                }
                TagTest::None(ts) => {
                    (ts.iter().map(|t| t.as_str().to_owned()).collect(), "NOT c.tags && ")
                }
            };
            w.push(sql);
            w.arg(tags, "::text[]")?;
        }
        Rule::Spend(c) => compare(w, "c.total_spent", c.op, c.value)?,
        Rule::Orders(c) => compare(w, "c.order_count", c.op, i64::from(c.value))?,
        Rule::Engagement(c) => compare(w, "c.engagement_score", c.op, i64::from(c.value))?,
        Rule::OrdersLast { days, count } => {
            let since = within_days(*days, ctx.now).after.unwrap_or(i64::MIN);
            w.push("(SELECT count(*) FROM orders o WHERE o.business_id = c.business_id AND o.customer_id = c.id AND o.status IN ('paid', 'fulfilled') AND o.created_at > ");
            w.arg(micros_time(since), "")?;
            w.push(&format!(") {} ", count.op.symbol()));
            w.arg(i64::from(count.value), "")?;
        }
        Rule::DaysSinceOrder(c) => time(w, "c.last_order_at", days_since(c.op, c.value, ctx.now))?,
        Rule::DaysSinceSignup(c) => time(w, "c.created_at", days_since(c.op, c.value, ctx.now))?,
        Rule::Active { days } => time(w, "c.last_inbound_at", within_days(*days, ctx.now))?,
        Rule::Inactive { days } => {
            let mut cond = within_days(*days, ctx.now);
            cond.negate = true;
            cond.when_missing = true;
            time(w, "c.last_inbound_at", cond)?;
        }
        Rule::Country(codes) => {
            w.push(if negated { "coalesce(c.country = ANY(" } else { "(c.country = ANY(" });
            w.arg(codes.clone(), "::text[]")?;
            w.push(if negated { "), false)" } else { "))" });
        }
        Rule::City(names) => {
            w.push(if negated { "coalesce(c.city_key = ANY(" } else { "(c.city_key = ANY(" });
            w.arg(names.iter().map(|n| n.to_lowercase()).collect::<Vec<_>>(), "::text[]")?;
            w.push(if negated { "), false)" } else { "))" });
        }
        Rule::OptedIn(true) => w.push("c.consent_status = 'opted_in'"),
        Rule::OptedIn(false) => w.push("c.consent_status <> 'opted_in'"),
        Rule::BirthdayMonth(m) => {
            w.push("coalesce(c.birthday_month = ");
            w.arg(i16::from(*m), "")?;
            w.push(", false)");
        }
        Rule::BirthdayWithin { days } => {
            let keys: Vec<i32> =
                birthday_keys(*days, ctx.now, ctx.time_zone).into_iter().map(i32::from).collect();
            w.push("coalesce((c.birthday_month * 100 + c.birthday_day)::integer = ANY(");
            w.arg(keys, "::integer[]")?;
            w.push("), false)");
        }
        Rule::Attribute { key, test } => attribute(w, key, test)?,
    }
    Ok(())
}

fn compare(w: &mut Where, column: &str, op: CmpOp, value: i64) -> Result<(), StorageError> {
    w.push(&format!("{column} {} ", op.symbol()));
    w.arg(value, "")
}

fn time(w: &mut Where, column: &str, cond: TimeCond) -> Result<(), StorageError> {
    let missing = if cond.when_missing { "IS NULL OR" } else { "IS NOT NULL AND" };
    w.push(&format!("({column} {missing} "));
    w.push(if cond.negate { "NOT (" } else { "(" });
    let mut first = true;
    if let Some(a) = cond.after {
        w.push(&format!("{column} > "));
        w.arg(micros_time(a), "")?;
        first = false;
    }
    if let Some(b) = cond.at_or_before {
        if !first {
            w.push(" AND ");
        }
        w.push(&format!("{column} <= "));
        w.arg(micros_time(b), "")?;
        first = false;
    }
    if first {
        w.push("true");
    }
    w.push("))");
    Ok(())
}

fn attribute(w: &mut Where, key: &str, test: &AttrTest) -> Result<(), StorageError> {
    let c = match test {
        AttrTest::Exists => {
            w.push("jsonb_exists(c.attributes, ");
            w.arg(key.to_owned(), "::text")?;
            w.push(")");
            return Ok(());
        }
        AttrTest::Compare(c) => c,
    };
    // `!=` holds for missing attributes and other kinds, so it is the negation of `=`.
    let (negate, op) = if c.op == CmpOp::Ne { (true, CmpOp::Eq) } else { (false, c.op) };
    w.push(if negate { "NOT (" } else { "(" });
    let kind = match &c.value {
        AttrLiteral::Number(_) => "number",
        AttrLiteral::Text(_) => "string",
        AttrLiteral::Bool(_) => "boolean",
    };
    w.push("coalesce(jsonb_typeof(c.attributes -> ");
    w.arg(key.to_owned(), "::text")?;
    w.push(&format!(") = '{kind}', false) AND coalesce((c.attributes ->> "));
    w.arg(key.to_owned(), "::text")?;
    let sym = op.symbol();
    match &c.value {
        // float8 parses the JSON text the way serde does, so comparisons agree.
        AttrLiteral::Number(n) => {
            w.push(&format!(")::float8 {sym} "));
            w.arg(*n, "::float8")?;
        }
        AttrLiteral::Text(t) => {
            w.push(&format!(") COLLATE \"C\" {sym} "));
            w.arg(t.clone(), "::text")?;
        }
        AttrLiteral::Bool(b) => {
            w.push(&format!(")::boolean {sym} "));
            w.arg(*b, "::boolean")?;
        }
    }
    w.push(", false))");
    Ok(())
}
