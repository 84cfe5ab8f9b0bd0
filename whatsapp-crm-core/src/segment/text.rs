//! The compact text form of rules, for people and query strings:
//! `tag has vip and spend >= 10000.00 and city = Nairobi and active 30d`.

use std::fmt::Write;

use super::rule::{AttrLiteral, AttrTest, CmpOp, Comparison, Rule, TagTest};
use super::validate::{RuleError, validate_rule};
use crate::domain::{Currency, Tag};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Days(u32),
    Op(CmpOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | '+')
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, RuleError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = single {
            out.push((t, col));
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let op = match (c, next) {
            ('!', Some('=')) => Some((CmpOp::Ne, 2)),
            ('<', Some('=')) => Some((CmpOp::Le, 2)),
            ('>', Some('=')) => Some((CmpOp::Ge, 2)),
            ('<', _) => Some((CmpOp::Lt, 1)),
            ('>', _) => Some((CmpOp::Gt, 1)),
            ('=', _) => Some((CmpOp::Eq, 1)),
            _ => None,
        };
        if let Some((op, len)) = op {
            out.push((Tok::Op(op), col));
            i += len;
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(RuleError::at(col, "this quoted text is never closed")),
                    Some('"') => break,
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some(&e @ ('"' | '\\')) => s.push(e),
                            _ => {
                                return Err(RuleError::at(i + 1, "use \\\" or \\\\ inside quotes"));
                            }
                        }
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push((Tok::Str(s), col));
            i += 1;
            continue;
        }
        if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let days = word
                .strip_suffix('d')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            match days {
                Some(d) => {
                    let n = d.parse().map_err(|_| RuleError::at(col, "too many days"))?;
                    out.push((Tok::Days(n), col));
                }
                None => out.push((Tok::Word(word), col)),
            }
            continue;
        }
        return Err(RuleError::at(col, format!("unexpected character {c:?}")));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end_col: usize,
    digits: u32,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_col, |(_, c)| *c)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, RuleError> {
        Err(RuleError::at(self.col(), msg))
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn or(&mut self) -> Result<Rule, RuleError> {
        let mut parts = vec![self.and()?];
        while self.is_word("or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::Or(parts) })
    }

    fn and(&mut self) -> Result<Rule, RuleError> {
        let mut parts = vec![self.unary()?];
        while self.is_word("and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::And(parts) })
    }

    fn unary(&mut self) -> Result<Rule, RuleError> {
        if self.is_word("not") {
            self.pos += 1;
            return Ok(Rule::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Tok::RParen) {
                return self.err("expected `)`");
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.condition()
    }

    fn op(&mut self) -> Result<CmpOp, RuleError> {
        match self.peek() {
            Some(Tok::Op(op)) => {
                let op = *op;
                self.pos += 1;
                Ok(op)
            }
            _ => self.err("expected a comparison: = != < <= > >="),
        }
    }

    fn int<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, RuleError> {
        let col = self.col();
        match self.next() {
            Some(Tok::Word(w)) => {
                w.parse().map_err(|_| RuleError::at(col, format!("expected {what}")))
            }
            _ => Err(RuleError::at(col, format!("expected {what}"))),
        }
    }

    fn days(&mut self) -> Result<u32, RuleError> {
        let col = self.col();
        match self.next() {
            Some(Tok::Days(d)) => Ok(d),
            _ => Err(RuleError::at(col, "expected a number of days such as 30d")),
        }
    }

    fn value(&mut self) -> Result<String, RuleError> {
        let col = self.col();
        match self.next() {
            Some(Tok::Word(w) | Tok::Str(w)) => Ok(w),
            _ => Err(RuleError::at(col, "expected a value")),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, RuleError> {
        if self.peek() != Some(&Tok::LBracket) {
            return self.err("expected a list such as [a, b]");
        }
        self.pos += 1;
        let mut items = vec![self.value()?];
        loop {
            match self.next() {
                Some(Tok::Comma) => items.push(self.value()?),
                Some(Tok::RBracket) => return Ok(items),
                _ => {
                    self.pos -= 1;
                    return self.err("expected `,` or `]`");
                }
            }
        }
    }

    fn tags(&mut self, items: Vec<String>, col: usize) -> Result<Vec<Tag>, RuleError> {
        items.iter().map(|t| Tag::parse(t).map_err(|e| RuleError::at(col, e.to_string()))).collect()
    }

    fn values(&mut self) -> Result<Vec<String>, RuleError> {
        match self.next() {
            Some(Tok::Op(CmpOp::Eq)) => Ok(vec![self.value()?]),
            Some(Tok::Word(w)) if w == "in" => self.list(),
            _ => {
                self.pos -= 1;
                self.err("expected `=` or `in`")
            }
        }
    }

    fn money(&mut self) -> Result<i64, RuleError> {
        let col = self.col();
        let Some(Tok::Word(w)) = self.next() else {
            return Err(RuleError::at(col, "expected an amount such as 10000.00"));
        };
        parse_money(&w, self.digits)
            .ok_or_else(|| RuleError::at(col, "expected an amount such as 10000.00"))
    }

    fn condition(&mut self) -> Result<Rule, RuleError> {
        let col = self.col();
        let Some(Tok::Word(field)) = self.next() else {
            return Err(RuleError::at(col, "expected a condition such as `tag has vip`"));
        };
        let rule = match field.as_str() {
            "tag" => {
                let col = self.col();
                match self.next() {
                    Some(Tok::Word(w)) if w == "has" => {
                        let c = self.col();
                        let v = self.value()?;
                        Rule::Tag(TagTest::Has(
                            Tag::parse(&v).map_err(|e| RuleError::at(c, e.to_string()))?,
                        ))
                    }
                    Some(Tok::Word(w)) if matches!(w.as_str(), "any" | "all" | "none") => {
                        let c = self.col();
                        let items = self.list()?;
                        let tags = self.tags(items, c)?;
                        Rule::Tag(match w.as_str() {
                            "any" => TagTest::Any(tags),
                            "all" => TagTest::All(tags),
                            _ => TagTest::None(tags),
                        })
                    }
                    _ => {
                        return Err(RuleError::at(
                            col,
                            "expected `has`, `any`, `all` or `none` after `tag`",
                        ));
                    }
                }
            }
            "spend" => {
                let op = self.op()?;
                Rule::Spend(Comparison { op, value: self.money()? })
            }
            "orders" => {
                let op = self.op()?;
                Rule::Orders(Comparison { op, value: self.int("a whole number of orders")? })
            }
            "orders_last" => {
                let days = self.days()?;
                let op = self.op()?;
                Rule::OrdersLast {
                    days,
                    count: Comparison { op, value: self.int("a whole number of orders")? },
                }
            }
            "days_since_order" => {
                let op = self.op()?;
                Rule::DaysSinceOrder(Comparison { op, value: self.int("a whole number of days")? })
            }
            "days_since_signup" => {
                let op = self.op()?;
                Rule::DaysSinceSignup(Comparison { op, value: self.int("a whole number of days")? })
            }
            "engagement" => {
                let op = self.op()?;
                Rule::Engagement(Comparison { op, value: self.int("a score from 0 to 100")? })
            }
            "country" => Rule::Country(self.values()?),
            "city" => Rule::City(self.values()?),
            "active" => Rule::Active { days: self.days()? },
            "inactive" => Rule::Inactive { days: self.days()? },
            "birthday_within" => Rule::BirthdayWithin { days: self.days()? },
            "birthday_month" => {
                if self.op()? != CmpOp::Eq {
                    return self.err("birthday_month takes `=`");
                }
                Rule::BirthdayMonth(self.int("a month from 1 to 12")?)
            }
            "opted_in" => {
                if matches!(self.peek(), Some(Tok::Op(CmpOp::Eq))) {
                    self.pos += 1;
                    let c = self.col();
                    match self.value()?.as_str() {
                        "true" => Rule::OptedIn(true),
                        "false" => Rule::OptedIn(false),
                        _ => return Err(RuleError::at(c, "expected true or false")),
                    }
                } else {
                    Rule::OptedIn(true)
                }
            }
            f if f.starts_with("attr.") => {
                let key = f["attr.".len()..].to_owned();
                if self.is_word("exists") {
                    self.pos += 1;
                    Rule::Attribute { key, test: AttrTest::Exists }
                } else {
                    let op = self.op()?;
                    let c = self.col();
                    let literal = match self.next() {
                        Some(Tok::Str(s)) => AttrLiteral::Text(s),
                        Some(Tok::Word(w)) if w == "true" => AttrLiteral::Bool(true),
                        Some(Tok::Word(w)) if w == "false" => AttrLiteral::Bool(false),
                        Some(Tok::Word(w)) => match w.parse::<f64>() {
                            Ok(n) if n.is_finite() && w.bytes().any(|b| b.is_ascii_digit()) => {
                                AttrLiteral::Number(n)
                            }
                            _ => AttrLiteral::Text(w),
                        },
                        _ => return Err(RuleError::at(c, "expected a value")),
                    };
                    Rule::Attribute {
                        key,
                        test: AttrTest::Compare(Comparison { op, value: literal }),
                    }
                }
            }
            other => return Err(RuleError::at(col, format!("unknown condition `{other}`"))),
        };
        // Range and format checks point at the condition they concern.
        validate_rule(&rule).map_err(|e| RuleError::at(col, e.message))?;
        Ok(rule)
    }
}

/// Reads a rule in the text form. `currency` sets how many decimals amounts have.
///
/// ```
/// use whatsapp_crm_core::Currency;
/// use whatsapp_crm_core::segment::{parse_rule, rule_to_text};
///
/// let text = "tag has vip and spend >= 10000.00 and orders >= 3 and city = Nairobi and active 30d";
/// let rule = parse_rule(text, Currency::KES).unwrap();
/// assert_eq!(rule_to_text(&rule, Currency::KES), text);
/// let err = parse_rule("tag has vip and spend >=", Currency::KES).unwrap_err();
/// assert_eq!(err.column, 25);
/// ```
pub fn parse_rule(text: &str, currency: Currency) -> Result<Rule, RuleError> {
    let toks = lex(text)?;
    let mut p =
        Parser { toks, pos: 0, end_col: text.chars().count() + 1, digits: currency.minor_digits() };
    if p.peek().is_none() {
        return p.err("the rule is empty");
    }
    let rule = p.or()?;
    if p.peek().is_some() {
        return p.err("expected `and`, `or` or the end of the rule");
    }
    validate_rule(&rule)?;
    Ok(rule)
}

fn parse_money(word: &str, digits: u32) -> Option<i64> {
    let (neg, w) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let (whole, frac) = w.split_once('.').unwrap_or((w, ""));
    let whole = whole.replace('_', "");
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if frac.len() > digits as usize {
        return None;
    }
    let scale = 10i64.checked_pow(digits)?;
    let frac_value: i64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let frac_scaled = frac_value.checked_mul(10i64.checked_pow(digits - frac.len() as u32)?)?;
    let minor = whole.parse::<i64>().ok()?.checked_mul(scale)?.checked_add(frac_scaled)?;
    Some(if neg { -minor } else { minor })
}

fn format_money(minor: i64, digits: u32) -> String {
    let scale = 10u64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if digits == 0 {
        format!("{sign}{abs}")
    } else {
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = digits as usize)
    }
}

const KEYWORDS: &[&str] =
    &["and", "or", "not", "in", "has", "any", "all", "none", "exists", "true", "false"];

fn value_text(v: &str) -> String {
    // Words the lexer would read as something else must be quoted.
    let looks_like_days =
        v.strip_suffix('d').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    let plain =
        !v.is_empty() && v.chars().all(is_word_char) && !KEYWORDS.contains(&v) && !looks_like_days;
    if plain {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn list_text<T: AsRef<str>>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(|i| value_text(i.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// Writes a rule in the text form; [`parse_rule`] reads it back unchanged.
pub fn rule_to_text(rule: &Rule, currency: Currency) -> String {
    let mut out = String::new();
    write_rule(&mut out, rule, currency.minor_digits(), false);
    out
}

fn write_rule(out: &mut String, rule: &Rule, digits: u32, nested: bool) {
    let group = |out: &mut String, parts: &[Rule], sep: &str| {
        if nested {
            out.push('(');
        }
        for (i, r) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            write_rule(out, r, digits, true);
        }
        if nested {
            out.push(')');
        }
    };
    let _ = match rule {
        Rule::And(parts) => {
            group(out, parts, " and ");
            Ok(())
        }
        Rule::Or(parts) => {
            group(out, parts, " or ");
            Ok(())
        }
        Rule::Not(inner) => {
            out.push_str("not ");
            write_rule(out, inner, digits, true);
            Ok(())
        }
        Rule::Tag(TagTest::Has(t)) => write!(out, "tag has {}", value_text(t.as_str())),
        Rule::Tag(TagTest::Any(ts)) => write!(out, "tag any {}", list_text(ts)),
        Rule::Tag(TagTest::All(ts)) => write!(out, "tag all {}", list_text(ts)),
        Rule::Tag(TagTest::None(ts)) => write!(out, "tag none {}", list_text(ts)),
        Rule::Spend(c) => write!(out, "spend {} {}", c.op.symbol(), format_money(c.value, digits)),
        Rule::Orders(c) => write!(out, "orders {} {}", c.op.symbol(), c.value),
        Rule::OrdersLast { days, count } => {
            write!(out, "orders_last {days}d {} {}", count.op.symbol(), count.value)
        }
        Rule::DaysSinceOrder(c) => write!(out, "days_since_order {} {}", c.op.symbol(), c.value),
        Rule::DaysSinceSignup(c) => write!(out, "days_since_signup {} {}", c.op.symbol(), c.value),
        Rule::Engagement(c) => write!(out, "engagement {} {}", c.op.symbol(), c.value),
        Rule::Country(v) | Rule::City(v) => {
            let field = if matches!(rule, Rule::Country(_)) { "country" } else { "city" };
            match v.as_slice() {
                [one] => write!(out, "{field} = {}", value_text(one)),
                many => write!(out, "{field} in {}", list_text(many)),
            }
        }
        Rule::Active { days } => write!(out, "active {days}d"),
        Rule::Inactive { days } => write!(out, "inactive {days}d"),
        Rule::OptedIn(true) => write!(out, "opted_in"),
        Rule::OptedIn(false) => write!(out, "opted_in = false"),
        Rule::BirthdayMonth(m) => write!(out, "birthday_month = {m}"),
        Rule::BirthdayWithin { days } => write!(out, "birthday_within {days}d"),
        Rule::Attribute { key, test: AttrTest::Exists } => write!(out, "attr.{key} exists"),
        Rule::Attribute { key, test: AttrTest::Compare(c) } => {
            let lit = match &c.value {
                AttrLiteral::Bool(b) => b.to_string(),
                AttrLiteral::Number(n) => format!("{n:?}").trim_end_matches(".0").to_owned(),
                AttrLiteral::Text(t) => {
                    format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
                }
            };
            write!(out, "attr.{key} {} {lit}", c.op.symbol())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kes(t: &str) -> Result<Rule, RuleError> {
        parse_rule(t, Currency::KES)
    }

    #[test]
    fn precedence_and_groups() {
        let r = kes("tag has a or tag has b and not (active 7d or opted_in)").unwrap();
        assert_eq!(
            rule_to_text(&r, Currency::KES),
            "tag has a or (tag has b and not (active 7d or opted_in))"
        );
        assert!(matches!(r, Rule::Or(ref parts) if parts.len() == 2));
    }

    #[test]
    fn values_quote_when_needed() {
        let r = kes(
            r#"city in ["Dar es Salaam", Nairobi] and attr.tier = "say \"hi\"" and attr.n >= 4.5"#,
        )
        .unwrap();
        let text = rule_to_text(&r, Currency::KES);
        assert_eq!(
            text,
            r#"city in ["Dar es Salaam", Nairobi] and attr.tier = "say \"hi\"" and attr.n >= 4.5"#
        );
        assert_eq!(kes(&text).unwrap(), r);
    }

    #[test]
    fn money_follows_the_currency() {
        assert_eq!(
            kes("spend >= 10000.5").unwrap(),
            Rule::Spend(Comparison { op: CmpOp::Ge, value: 1_000_050 })
        );
        let ugx = Currency::parse("UGX").unwrap();
        assert_eq!(
            parse_rule("spend > 5000", ugx).unwrap(),
            Rule::Spend(Comparison { op: CmpOp::Gt, value: 5000 })
        );
        assert!(parse_rule("spend > 5000.5", ugx).is_err());
    }

    #[test]
    fn errors_point_at_the_column() {
        let cases = [
            ("tag hass vip", 5),
            ("spend >= lots", 10),
            ("city = Nairobi or", 18),
            ("active 30", 8),
            ("(tag has a", 11),
            ("tag has a b", 11),
            ("weather = sunny", 1),
            ("city = \"Nairobi", 8),
            ("tag any [a b]", 12),
            ("opted_in and birthday_month = 13", 14),
            ("country = Kenya", 1),
            ("active 0d", 1),
        ];
        for (text, col) in cases {
            let err = kes(text).unwrap_err();
            assert_eq!(err.column, col, "{text}: {err}");
        }
    }
}
