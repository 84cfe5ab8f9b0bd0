//! Target and rule expressions, in the style of Twilio TaskRouter:
//! `skills HAS 'billing' AND languages HAS 'sw'`,
//! `intent IN ['payment_issue', 'refund'] OR (vip == true AND sentiment < -0.5)`.
//!
//! - Values: strings in single or double quotes, numbers, `true`, `false`,
//!   lists `[a, b]`, and attributes named by dotted paths (`order.status`).
//! - Operators: `==`, `!=`, `<`, `<=`, `>`, `>=`, `IN` (the left value, or
//!   any of a left list, is in the right list), `HAS` (the left list holds
//!   the right value), `AND`, `OR`, `NOT`, parentheses. Keywords are read
//!   in any case. `AND` binds tighter than `OR`.
//! - A missing attribute is null: it equals only null, so `==` is false
//!   and `!=` true; ordering, `IN` and `HAS` are false.
//! - Strings compare exactly; numbers as numbers.
//!
//! Errors name the 1-based column where reading failed, so a queue or rule
//! is refused when it is saved, not when a conversation meets it.

use std::fmt;

use serde_json::Value;

/// Longest expression read.
pub const EXPR_MAX_CHARS: usize = 1_000;
/// Deepest nesting of parentheses and `NOT`.
const DEPTH_MAX: usize = 32;

/// Why an expression could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ExprError {
    /// 1-based character column.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `IN`
    In,
    /// `HAS`
    Has,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::Has => "HAS",
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A constant.
    Const(Value),
    /// An attribute, by dotted path.
    Attr(Vec<String>),
    /// A list of operands.
    List(Vec<Operand>),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// It does not hold.
    Not(Box<Expr>),
    /// A comparison.
    Cmp(Operand, Op, Operand),
    /// A constant truth (`true`, `1 == 1`).
    Const(bool),
}

impl Expr {
    /// Reads an expression.
    pub fn parse(text: &str) -> Result<Self, ExprError> {
        if text.chars().count() > EXPR_MAX_CHARS {
            return Err(ExprError {
                column: EXPR_MAX_CHARS + 1,
                message: format!("longer than {EXPR_MAX_CHARS} characters"),
            });
        }
        let tokens = lex(text)?;
        let mut p = Parser { tokens, at: 0, end: text.chars().count() + 1 };
        let e = p.or(0)?;
        match p.peek() {
            None => Ok(e),
            Some((column, t)) => Err(ExprError { column, message: format!("unexpected {t}") }),
        }
    }

    /// Whether the expression holds for `attrs` (a JSON object).
    pub fn eval(&self, attrs: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.eval(attrs) && b.eval(attrs),
            Expr::Or(a, b) => a.eval(attrs) || b.eval(attrs),
            Expr::Not(a) => !a.eval(attrs),
            Expr::Const(b) => *b,
            Expr::Cmp(l, op, r) => compare(&resolve(l, attrs), *op, &resolve(r, attrs)),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Const(Value::String(s)) => {
                write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
            Operand::Const(v) => write!(f, "{v}"),
            Operand::Attr(path) => write!(f, "{}", path.join(".")),
            Operand::List(items) => {
                write!(f, "[")?;
                for (i, o) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{o}")?;
                }
                write!(f, "]")
            }
        }
    }
}

impl fmt::Display for Expr {
    /// The canonical text: reads back to the same expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(a, b) => write!(f, "({a} AND {b})"),
            Expr::Or(a, b) => write!(f, "({a} OR {b})"),
            Expr::Not(a) => write!(f, "NOT {a}"),
            Expr::Const(b) => write!(f, "{b}"),
            Expr::Cmp(l, op, r) => write!(f, "{l} {} {r}", op.as_str()),
        }
    }
}

fn resolve(o: &Operand, attrs: &Value) -> Value {
    match o {
        Operand::Const(v) => v.clone(),
        Operand::Attr(path) => {
            path.iter().try_fold(attrs, |v, key| v.get(key)).cloned().unwrap_or(Value::Null)
        }
        Operand::List(items) => Value::Array(items.iter().map(|i| resolve(i, attrs)).collect()),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn compare(l: &Value, op: Op, r: &Value) -> bool {
    let order = || match (l, r) {
        (Value::Number(_), Value::Number(_)) => l.as_f64()?.partial_cmp(&r.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        Op::Eq => same(l, r),
        Op::Ne => !same(l, r),
        Op::Lt => order().is_some_and(|o| o.is_lt()),
        Op::Le => order().is_some_and(|o| o.is_le()),
        Op::Gt => order().is_some_and(|o| o.is_gt()),
        Op::Ge => order().is_some_and(|o| o.is_ge()),
        Op::In => match (l, r) {
            (Value::Null, _) => false,
            (Value::Array(ls), Value::Array(rs)) => {
                ls.iter().any(|x| rs.iter().any(|y| same(x, y)))
            }
            (x, Value::Array(rs)) => rs.iter().any(|y| same(x, y)),
            _ => false,
        },
        Op::Has => match (l, r) {
            (Value::Array(ls), y) if !y.is_null() => ls.iter().any(|x| same(x, y)),
            _ => false,
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Num(f64),
    Word(String),
    Op(Op),
    Open,
    Close,
    LBracket,
    RBracket,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Str(s) => write!(f, "'{s}'"),
            Token::Num(n) => write!(f, "{n}"),
            Token::Word(w) => write!(f, "`{w}`"),
            Token::Op(o) => write!(f, "`{}`", o.as_str()),
            Token::Open => write!(f, "`(`"),
            Token::Close => write!(f, "`)`"),
            Token::LBracket => write!(f, "`[`"),
            Token::RBracket => write!(f, "`]`"),
            Token::Comma => write!(f, "`,`"),
        }
    }
}

fn err(column: usize, message: impl Into<String>) -> ExprError {
    ExprError { column, message: message.into() }
}

fn lex(text: &str) -> Result<Vec<(usize, Token)>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '[' | ']' | ',' => {
                out.push((
                    column,
                    match c {
                        '(' => Token::Open,
                        ')' => Token::Close,
                        '[' => Token::LBracket,
                        ']' => Token::RBracket,
                        _ => Token::Comma,
                    },
                ));
                i += 1;
            }
            '\'' | '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(column, "a string is not closed")),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(q) if *q == c => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((column, Token::Str(s)));
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    _ => {
                        return Err(err(column, format!("`{c}` is not an operator; use == or !=")));
                    }
                };
                out.push((column, Token::Op(op)));
                i += len;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while chars.get(i).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let n =
                    s.parse::<f64>().map_err(|_| err(column, format!("`{s}` is not a number")))?;
                out.push((column, Token::Num(n)));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars.get(i).is_some_and(|d| d.is_alphanumeric() || *d == '_' || *d == '.') {
                    i += 1;
                }
                let w: String = chars[start..i].iter().collect();
                let token = match w.to_ascii_uppercase().as_str() {
                    "IN" => Token::Op(Op::In),
                    "HAS" => Token::Op(Op::Has),
                    _ => Token::Word(w),
                };
                out.push((column, token));
            }
            other => return Err(err(column, format!("unexpected `{other}`"))),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<(usize, &Token)> {
        self.tokens.get(self.at).map(|(c, t)| (*c, t))
    }

    fn next(&mut self) -> Option<(usize, Token)> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut e = self.and(depth)?;
        while self.keyword("or") {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and(depth)?));
        }
        Ok(e)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut e = self.unary(depth)?;
        while self.keyword("and") {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary(depth)?));
        }
        Ok(e)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if depth > DEPTH_MAX {
            let column = self.peek().map_or(self.end, |(c, _)| c);
            return Err(err(column, format!("nested deeper than {DEPTH_MAX}")));
        }
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if let Some((_, Token::Open)) = self.peek() {
            let (column, _) = self.next().unwrap_or((self.end, Token::Open));
            let e = self.or(depth + 1)?;
            return match self.next() {
                Some((_, Token::Close)) => Ok(e),
                Some((c, t)) => Err(err(c, format!("expected `)`, found {t}"))),
                None => Err(err(column, "this `(` is not closed")),
            };
        }
        let left = self.operand()?;
        match self.peek() {
            Some((_, Token::Op(op))) => {
                let op = *op;
                self.at += 1;
                let right = self.operand()?;
                if let (Operand::Const(a), Operand::Const(b)) = (&left, &right) {
                    return Ok(Expr::Const(compare(a, op, b)));
                }
                Ok(Expr::Cmp(left, op, right))
            }
            _ => match left {
                Operand::Const(Value::Bool(b)) => Ok(Expr::Const(b)),
                // A bare attribute holds when it is `true`.
                Operand::Attr(path) => {
                    Ok(Expr::Cmp(Operand::Attr(path), Op::Eq, Operand::Const(Value::Bool(true))))
                }
                _ => {
                    let column = self.peek().map_or(self.end, |(c, _)| c);
                    Err(err(column, "expected an operator (==, !=, <, <=, >, >=, IN, HAS)"))
                }
            },
        }
    }

    fn operand(&mut self) -> Result<Operand, ExprError> {
        match self.next() {
            Some((_, Token::Str(s))) => Ok(Operand::Const(Value::String(s))),
            Some((_, Token::Num(n))) => Ok(Operand::Const(
                serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            )),
            Some((column, Token::Word(w))) => match w.to_ascii_lowercase().as_str() {
                "true" => Ok(Operand::Const(Value::Bool(true))),
                "false" => Ok(Operand::Const(Value::Bool(false))),
                "null" => Ok(Operand::Const(Value::Null)),
                "and" | "or" | "not" => Err(err(column, format!("expected a value, found `{w}`"))),
                _ => {
                    let path: Vec<String> = w.split('.').map(str::to_owned).collect();
                    if path.iter().any(String::is_empty) {
                        return Err(err(column, format!("`{w}` is not an attribute path")));
                    }
                    Ok(Operand::Attr(path))
                }
            },
            Some((column, Token::LBracket)) => {
                let mut items = Vec::new();
                if let Some((_, Token::RBracket)) = self.peek() {
                    self.at += 1;
                    return Ok(Operand::List(items));
                }
                loop {
                    items.push(self.operand()?);
                    match self.next() {
                        Some((_, Token::Comma)) => {}
                        Some((_, Token::RBracket)) => return Ok(Operand::List(items)),
                        Some((c, t)) => {
                            return Err(err(c, format!("expected `,` or `]`, found {t}")));
                        }
                        None => return Err(err(column, "this `[` is not closed")),
                    }
                }
            }
            Some((column, t)) => Err(err(column, format!("expected a value, found {t}"))),
            None => Err(err(self.end, "the expression ends too early")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn holds(expr: &str, attrs: Value) -> bool {
        Expr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}")).eval(&attrs)
    }

    #[test]
    fn taskrouter_style_targets_hold_for_matching_agents() {
        let billing =
            json!({"skills": ["billing", "orders"], "languages": ["en", "sw"], "level": 3});
        let support = json!({"skills": ["support"], "languages": ["en"], "level": 1});
        let e = "skills HAS 'billing' AND languages HAS 'sw'";
        assert!(holds(e, billing.clone()));
        assert!(!holds(e, support.clone()));
        assert!(holds("skills HAS \"support\" or level >= 2", billing.clone()));
        assert!(holds("skills HAS \"support\" or level >= 2", support.clone()));
        assert!(!holds("level > 1 and not (skills has 'orders')", billing.clone()));
        assert!(holds("'sw' IN languages", billing.clone()));
        assert!(holds("languages IN ['fr', 'sw']", billing.clone()), "any of a list");
        assert!(holds("1 == 1", support.clone()), "TaskRouter's default target");
        assert!(holds("true", json!({})));
    }

    #[test]
    fn conversation_rules_read_nested_and_missing_attributes() {
        let c = json!({"intent": "payment_issue", "reason": "handed_off", "sentiment": -0.8,
                       "tags": ["vip"], "order": {"status": "awaiting_payment"}, "vip": true});
        assert!(holds("intent IN ['payment_issue', 'refund']", c.clone()));
        assert!(holds("order.status == 'awaiting_payment' AND sentiment < -0.5", c.clone()));
        assert!(holds("tags HAS 'vip'", c.clone()));
        assert!(holds("vip", c.clone()), "a bare attribute is true when it is true");
        // Missing: equal only to null.
        assert!(!holds("language == 'sw'", c.clone()));
        assert!(holds("language != 'sw'", c.clone()));
        assert!(holds("language == null", c.clone()));
        assert!(!holds("payment.status IN ['failed']", c.clone()));
        assert!(!holds("segments HAS 'x'", c.clone()));
        assert!(!holds("missing > 0", c.clone()));
        // AND binds tighter than OR.
        assert!(holds("intent == 'x' AND vip OR tags HAS 'vip'", c.clone()));
        assert!(!holds("intent == 'x' AND (vip OR tags HAS 'vip')", c));
    }

    #[test]
    fn errors_name_the_column() {
        let col = |e: &str| Expr::parse(e).unwrap_err().column;
        assert_eq!(col("skills HAS 'billing' AND"), 25);
        assert_eq!(col("skills HAS 'billing"), 12);
        assert_eq!(col("skills = 'x'"), 8);
        assert_eq!(col("(skills HAS 'x'"), 1);
        assert_eq!(col("skills HAS 'x')"), 15);
        assert_eq!(col("skills HAS"), 11);
        assert!(Expr::parse("skills").is_ok(), "a bare attribute");
        assert_eq!(col("skills HAS 'x' languages"), 16);
        assert_eq!(col("level > 1 & level < 3"), 11);
        assert_eq!(col("x IN [1, 2"), 6);
        let e = Expr::parse("skills HAS 'x' AND AND").unwrap_err();
        assert!(e.to_string().starts_with("column 20:"), "{e}");
        assert!(Expr::parse(&"(".repeat(40)).is_err());
        assert!(Expr::parse(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn expressions_print_as_they_read() {
        for text in [
            r"name == 'a\\b\'c'",
            "skills HAS 'billing' AND (languages HAS 'sw' OR level >= 2)",
            "NOT intent IN ['a', 'b']",
            "order.status != 'paid'",
        ] {
            let e = Expr::parse(text).unwrap();
            assert_eq!(Expr::parse(&e.to_string()).unwrap(), e, "{e}");
        }
    }

    proptest::proptest! {
        // Any text is read or refused with a column inside it (or just
        // past its end), never a panic; what is read prints back to itself.
        #[test]
        fn any_text_reads_or_names_a_column(text in "[ -~]{0,80}") {
            match Expr::parse(&text) {
                Ok(e) => proptest::prop_assert_eq!(Expr::parse(&e.to_string()).unwrap(), e),
                Err(e) => proptest::prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1),
            }
        }
    }
}
