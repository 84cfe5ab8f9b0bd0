//! Rendering: values in, text out, sized exactly once.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::parse::{CompiledTemplate, Segment};

/// Variables resolved without a heap allocation.
const INLINE_VALUES: usize = 16;

/// Most consecutive spaces WhatsApp accepts in a parameter value (Twilio 21656).
pub const MAX_CONSECUTIVE_SPACES: usize = 4;

/// What is wrong with a parameter value under WhatsApp's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueProblem {
    /// Contains a line break.
    Newline,
    /// Contains a tab.
    Tab,
    /// Contains more than [`MAX_CONSECUTIVE_SPACES`] spaces in a row.
    TooManySpaces,
}

impl std::fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Newline => "contains a line break",
            Self::Tab => "contains a tab",
            Self::TooManySpaces => "contains more than 4 spaces in a row",
        })
    }
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// No value and no fallback.
    #[error("no value for {{{{{name}}}}} and it has no fallback")]
    Missing {
        /// Variable name.
        name: String,
    },
    /// A value WhatsApp would refuse; see [`normalize_value`].
    #[error("value for {{{{{name}}}}} {problem}")]
    InvalidValue {
        /// Variable name.
        name: String,
        /// What is wrong.
        problem: ValueProblem,
    },
}

/// Checks a value against WhatsApp's parameter rules.
pub fn check_value(value: &str) -> Result<(), ValueProblem> {
    // Fast path for the usual value: two passes the compiler vectorises, and
    // the exact scan below only when a control byte or enough spaces appear.
    let bytes = value.as_bytes();
    let control = bytes.iter().fold(false, |acc, &b| acc | (b < b' '));
    let spaces = bytes.iter().fold(0usize, |acc, &b| acc + usize::from(b == b' '));
    if !control && spaces <= MAX_CONSECUTIVE_SPACES {
        return Ok(());
    }
    let mut spaces = 0;
    for b in value.bytes() {
        match b {
            b'\n' | b'\r' => return Err(ValueProblem::Newline),
            b'\t' => return Err(ValueProblem::Tab),
            b' ' => {
                spaces += 1;
                if spaces > MAX_CONSECUTIVE_SPACES {
                    return Err(ValueProblem::TooManySpaces);
                }
            }
            _ => spaces = 0,
        }
    }
    Ok(())
}

/// The documented normalisation for customer data: line breaks and tabs become
/// single spaces, and runs of spaces are cut to [`MAX_CONSECUTIVE_SPACES`].
/// Borrowed when nothing needed changing.
pub fn normalize_value(value: &str) -> Cow<'_, str> {
    if check_value(value).is_ok() {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut spaces = 0;
    for c in value.chars() {
        let c = if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c };
        if c == ' ' {
            spaces += 1;
            if spaces > MAX_CONSECUTIVE_SPACES {
                continue;
            }
        } else {
            spaces = 0;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// A rendering with the variables that fell back to their default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The text.
    pub text: String,
    /// Names of variables that had no value and used their fallback.
    pub fallbacks_used: Vec<String>,
}

impl CompiledTemplate {
    /// Renders with one value per variable slot (see
    /// [`CompiledTemplate::variables`]); `None` uses the variable's fallback.
    ///
    /// Pure substitution, for the text a conversation shows. Values are not
    /// checked against WhatsApp's parameter rules here: the values WhatsApp
    /// receives go through [`CompiledTemplate::positional_values`] (or
    /// [`CompiledTemplate::render_checked`]), which refuse them.
    pub fn render(&self, values: &[Option<&str>]) -> Result<String, RenderError> {
        self.render_inner(values, false)
    }

    /// Like [`CompiledTemplate::render`], refusing values WhatsApp would refuse
    /// (line breaks, tabs, more than four spaces in a row).
    pub fn render_checked(&self, values: &[Option<&str>]) -> Result<String, RenderError> {
        self.render_inner(values, true)
    }

    fn render_inner(&self, values: &[Option<&str>], check: bool) -> Result<String, RenderError> {
        let n = self.variables.len();
        if n <= INLINE_VALUES {
            // Typical messages have a handful of variables: resolve on the stack so
            // the output string is the only allocation.
            let mut buf = [""; INLINE_VALUES];
            self.resolve_into(values, &mut buf[..n], None, check)?;
            return Ok(self.assemble(&buf[..n]));
        }
        let mut resolved = vec![""; n];
        self.resolve_into(values, &mut resolved, None, check)?;
        Ok(self.assemble(&resolved))
    }

    /// Renders with values found by variable name, reporting which fell back.
    /// Values are checked, as for [`CompiledTemplate::render_checked`].
    pub fn render_with<'a>(
        &'a self,
        lookup: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Rendered, RenderError> {
        let values: Vec<Option<&str>> = self.variables.iter().map(|v| lookup(&v.name)).collect();
        let mut fallbacks_used = Vec::new();
        let resolved = self.resolve(&values, Some(&mut fallbacks_used))?;
        Ok(Rendered { text: self.assemble(&resolved), fallbacks_used })
    }

    /// The provider's `ContentVariables`: `{"1": value, "2": value}`, with
    /// fallbacks applied and values checked.
    pub fn positional_values(
        &self,
        values: &[Option<&str>],
    ) -> Result<BTreeMap<String, String>, RenderError> {
        let resolved = self.resolve(values, None)?;
        Ok(resolved
            .iter()
            .enumerate()
            .map(|(slot, v)| (self.positional_key(slot), (*v).to_owned()))
            .collect())
    }

    /// Resolves every slot with values checked.
    fn resolve<'v>(
        &'v self,
        values: &[Option<&'v str>],
        fallbacks: Option<&mut Vec<String>>,
    ) -> Result<Vec<&'v str>, RenderError> {
        let mut out = vec![""; self.variables.len()];
        self.resolve_into(values, &mut out, fallbacks, true)?;
        Ok(out)
    }

    fn resolve_into<'v>(
        &'v self,
        values: &[Option<&'v str>],
        out: &mut [&'v str],
        mut fallbacks: Option<&mut Vec<String>>,
        check: bool,
    ) -> Result<(), RenderError> {
        for ((slot, var), dest) in self.variables.iter().enumerate().zip(out.iter_mut()) {
            let value = match values.get(slot).copied().flatten() {
                Some(v) => v,
                None => {
                    let fb = var
                        .fallback
                        .as_deref()
                        .ok_or_else(|| RenderError::Missing { name: var.name.clone() })?;
                    if let Some(used) = fallbacks.as_deref_mut() {
                        used.push(var.name.clone());
                    }
                    fb
                }
            };
            if check {
                check_value(value).map_err(|problem| RenderError::InvalidValue {
                    name: var.name.clone(),
                    problem,
                })?;
            }
            *dest = value;
        }
        Ok(())
    }

    /// Joins literals and values into a string allocated once at its final size.
    fn assemble(&self, values: &[&str]) -> String {
        let len = self.literal_len
            + self
                .occurrences
                .iter()
                .zip(values)
                .map(|(n, v)| *n as usize * v.len())
                .sum::<usize>();
        let mut out = String::with_capacity(len);
        for seg in &self.segments {
            match seg {
                Segment::Literal(text) => out.push_str(text),
                Segment::Variable(slot) => out.push_str(values[*slot as usize]),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_falls_back() {
        let t = CompiledTemplate::parse("Hi {{name|there}}, you owe {{amount}}.").unwrap();
        assert_eq!(
            t.render(&[Some("Amani"), Some("KES 200")]).unwrap(),
            "Hi Amani, you owe KES 200."
        );
        let r = t.render_with(|n| (n == "amount").then_some("KES 5")).unwrap();
        assert_eq!(r.text, "Hi there, you owe KES 5.");
        assert_eq!(r.fallbacks_used, ["name"]);
        assert_eq!(
            t.render(&[Some("A")]).unwrap_err(),
            RenderError::Missing { name: "amount".into() }
        );
    }

    #[test]
    fn output_is_allocated_once_at_its_exact_size() {
        let t = CompiledTemplate::parse("{{a}}-{{b}}-{{a}}").unwrap();
        let s = t.render(&[Some("xy"), Some("z")]).unwrap();
        assert_eq!(s, "xy-z-xy");
        assert_eq!(s.capacity(), s.len());
    }

    #[test]
    fn whatsapp_value_rules() {
        assert_eq!(check_value("two  spaces ok"), Ok(()));
        assert_eq!(check_value("a\nb"), Err(ValueProblem::Newline));
        assert_eq!(check_value("a\tb"), Err(ValueProblem::Tab));
        assert_eq!(check_value("a     b"), Err(ValueProblem::TooManySpaces));
        assert_eq!(normalize_value("line\none\t\ttab      wide"), "line one  tab    wide");
        assert!(matches!(normalize_value("fine"), Cow::Borrowed(_)));
        let t = CompiledTemplate::parse("Hi {{n}}").unwrap();
        assert!(matches!(
            t.render_checked(&[Some("x\ny")]),
            Err(RenderError::InvalidValue { problem: ValueProblem::Newline, .. })
        ));
        assert!(matches!(
            t.positional_values(&[Some("a\tb")]),
            Err(RenderError::InvalidValue { problem: ValueProblem::Tab, .. })
        ));
        assert_eq!(t.render(&[Some("x\ny")]).unwrap(), "Hi x\ny", "display text is kept as given");
    }

    #[test]
    fn positional_values_follow_provider_numbering() {
        let t = CompiledTemplate::parse("Order {{order}} for {{name|friend}} ({{order}})").unwrap();
        let v = t.positional_values(&[Some("#42"), None]).unwrap();
        assert_eq!(v, BTreeMap::from([("1".into(), "#42".into()), ("2".into(), "friend".into())]));
        assert_eq!(t.provider_text(), "Order {{1}} for {{2}} ({{1}})");
    }
}
