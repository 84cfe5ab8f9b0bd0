//! Parsing a template body once into literal and variable segments.

use std::fmt;

/// Longest fallback text accepted, in characters.
pub const FALLBACK_MAX_CHARS: usize = 256;
/// Longest variable name accepted.
pub const VARIABLE_NAME_MAX_CHARS: usize = 64;

/// How a variable is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VariableKind {
    /// `{{1}}`, `{{2}}`: WhatsApp's positional form.
    Positional(u32),
    /// `{{first_name}}`: mapped onto positions by first appearance.
    Named,
}

/// One distinct variable of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The name as written (`first_name`, or `1`).
    pub name: String,
    /// Positional or named.
    pub kind: VariableKind,
    /// Text used when the value is missing (`{{first_name|there}}`).
    pub fallback: Option<String>,
}

/// One `{{…}}` occurrence in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder {
    /// Index into [`CompiledTemplate::variables`].
    pub slot: usize,
    /// Byte range of the whole `{{…}}` in the source.
    pub start: usize,
    /// End of that range (exclusive).
    pub end: usize,
}

/// Literal text is copied out of the source so rendering pushes whole `str`s
/// without re-slicing (and re-checking char boundaries) every time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(Box<str>),
    Variable(u32),
}

/// Why a template text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// `{{` without a closing `}}`.
    #[error("placeholder opened at character {position} is never closed with }}}}")]
    Unclosed {
        /// 1-based character position.
        position: usize,
    },
    /// `{{}}` or `{{ |x}}`.
    #[error("empty placeholder at character {position}")]
    Empty {
        /// 1-based character position.
        position: usize,
    },
    /// A name with characters other than letters, digits, `_` and `.`.
    #[error(
        "placeholder at character {position} has an invalid name: use letters, digits, _ and . (like {{{{first_name}}}} or {{{{1}}}})"
    )]
    InvalidName {
        /// 1-based character position.
        position: usize,
    },
    /// A name or fallback longer than allowed, or position 0 / overflowing.
    #[error("placeholder at character {position} is too long or out of range")]
    TooLong {
        /// 1-based character position.
        position: usize,
    },
    /// `{` `{` nested inside a placeholder.
    #[error("placeholder at character {position} contains another {{{{")]
    Nested {
        /// 1-based character position.
        position: usize,
    },
}

impl ParseError {
    /// 1-based character position of the problem.
    pub fn position(&self) -> usize {
        match self {
            Self::Unclosed { position }
            | Self::Empty { position }
            | Self::InvalidName { position }
            | Self::TooLong { position }
            | Self::Nested { position } => *position,
        }
    }
}

/// A template body parsed once, ready to render many times.
///
/// ```
/// use whatsapp_crm_core::template::CompiledTemplate;
///
/// let t = CompiledTemplate::parse("Habari {{name|rafiki}}, order {{order}} is ready").unwrap();
/// assert_eq!(t.render(&[Some("Wanjiku"), Some("#42")]).unwrap(), "Habari Wanjiku, order #42 is ready");
/// assert_eq!(t.render(&[None, Some("#42")]).unwrap(), "Habari rafiki, order #42 is ready");
/// assert_eq!(t.provider_text(), "Habari {{1}}, order {{2}} is ready");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledTemplate {
    pub(crate) source: String,
    pub(crate) segments: Vec<Segment>,
    pub(crate) variables: Vec<Variable>,
    pub(crate) placeholders: Vec<Placeholder>,
    /// How often each variable slot occurs, for sizing the output.
    pub(crate) occurrences: Vec<u32>,
    pub(crate) literal_len: usize,
}

impl CompiledTemplate {
    /// Parses `source`. `{{name}}`, `{{1}}` and `{{name|fallback}}` are variables
    /// (spaces inside the braces are ignored); a lone `{` or `}` is literal text.
    pub fn parse(source: &str) -> Result<Self, ParseError> {
        let bytes = source.as_bytes();
        let mut segments = Vec::new();
        let mut variables: Vec<Variable> = Vec::new();
        let mut placeholders = Vec::new();
        let mut literal_len = 0;
        let mut lit_start = 0;
        let mut i = 0;
        while let Some(off) = find(&bytes[i..], b"{{") {
            let open = i + off;
            let position = char_position(source, open);
            let inner_start = open + 2;
            let close = inner_start
                + find(&bytes[inner_start..], b"}}").ok_or(ParseError::Unclosed { position })?;
            let inner = &source[inner_start..close];
            if inner.contains("{{") {
                return Err(ParseError::Nested { position });
            }
            let (name, fallback) = match inner.split_once('|') {
                Some((n, f)) => (n.trim(), Some(f)),
                None => (inner.trim(), None),
            };
            let kind = classify(name, position)?;
            if fallback.is_some_and(|f| f.chars().count() > FALLBACK_MAX_CHARS) {
                return Err(ParseError::TooLong { position });
            }
            if open > lit_start {
                segments.push(Segment::Literal(source[lit_start..open].into()));
                literal_len += open - lit_start;
            }
            let slot = match variables.iter().position(|v| v.name == name) {
                Some(slot) => {
                    if variables[slot].fallback.is_none() {
                        variables[slot].fallback = fallback.map(str::to_owned);
                    }
                    slot
                }
                None => {
                    variables.push(Variable {
                        name: name.to_owned(),
                        kind,
                        fallback: fallback.map(str::to_owned),
                    });
                    variables.len() - 1
                }
            };
            segments.push(Segment::Variable(slot as u32));
            placeholders.push(Placeholder { slot, start: open, end: close + 2 });
            i = close + 2;
            lit_start = i;
        }
        if lit_start < bytes.len() {
            segments.push(Segment::Literal(source[lit_start..].into()));
            literal_len += bytes.len() - lit_start;
        }
        let mut occurrences = vec![0u32; variables.len()];
        for p in &placeholders {
            occurrences[p.slot] += 1;
        }
        Ok(Self {
            source: source.to_owned(),
            segments,
            variables,
            placeholders,
            occurrences,
            literal_len,
        })
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Distinct variables, in order of first appearance (their slots).
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// Every `{{…}}` occurrence, in order.
    pub fn placeholders(&self) -> &[Placeholder] {
        &self.placeholders
    }

    /// The slot of a variable by name.
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.variables.iter().position(|v| v.name == name)
    }

    /// Bytes of literal text (the output length with every value empty).
    pub fn literal_len(&self) -> usize {
        self.literal_len
    }

    /// The text with every variable as `{{n}}`, numbered the way
    /// [`CompiledTemplate::positional_key`] numbers them, fallbacks removed:
    /// what the provider stores for review.
    pub fn provider_text(&self) -> String {
        let mut out = String::with_capacity(self.source.len());
        for seg in &self.segments {
            match seg {
                Segment::Literal(text) => out.push_str(text),
                Segment::Variable(slot) => {
                    out.push_str("{{");
                    out.push_str(&self.positional_key(*slot as usize));
                    out.push_str("}}");
                }
            }
        }
        out
    }

    /// The provider's key for a slot: positional variables keep their number,
    /// named ones are numbered 1, 2, … by first appearance.
    pub fn positional_key(&self, slot: usize) -> String {
        match self.variables.get(slot).map(|v| v.kind) {
            Some(VariableKind::Positional(n)) => n.to_string(),
            _ => (slot + 1).to_string(),
        }
    }
}

/// Character (not byte) position, 1-based, for messages people read.
pub(crate) fn char_position(source: &str, byte: usize) -> usize {
    source[..byte].chars().count() + 1
}

fn find(hay: &[u8], needle: &[u8; 2]) -> Option<usize> {
    hay.windows(2).position(|w| w == needle)
}

fn classify(name: &str, position: usize) -> Result<VariableKind, ParseError> {
    if name.is_empty() {
        return Err(ParseError::Empty { position });
    }
    if name.chars().count() > VARIABLE_NAME_MAX_CHARS {
        return Err(ParseError::TooLong { position });
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return match name.parse::<u32>() {
            Ok(n) if n > 0 => Ok(VariableKind::Positional(n)),
            _ => Err(ParseError::TooLong { position }),
        };
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        Ok(VariableKind::Named)
    } else {
        Err(ParseError::InvalidName { position })
    }
}

impl fmt::Display for CompiledTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_literals_and_variables() {
        let t = CompiledTemplate::parse("Hi {{ name }}, {{name}} owes {{amount|0}}.").unwrap();
        assert_eq!(t.variables().len(), 2);
        assert_eq!(t.placeholders().len(), 3);
        assert_eq!(t.variables()[1].fallback.as_deref(), Some("0"));
        assert_eq!(t.literal_len(), "Hi ,  owes .".len());
        assert_eq!(t.provider_text(), "Hi {{1}}, {{1}} owes {{2}}.");
    }

    #[test]
    fn positional_numbers_are_kept() {
        let t = CompiledTemplate::parse("a {{2}} b {{1}} c").unwrap();
        assert_eq!(t.variables()[0].kind, VariableKind::Positional(2));
        assert_eq!(t.provider_text(), "a {{2}} b {{1}} c");
    }

    #[test]
    fn lone_braces_are_text_and_errors_have_positions() {
        assert_eq!(CompiledTemplate::parse("{a} } {").unwrap().variables().len(), 0);
        assert_eq!(
            CompiledTemplate::parse("Zoë {{name").unwrap_err(),
            ParseError::Unclosed { position: 5 }
        );
        assert_eq!(
            CompiledTemplate::parse("x {{}}").unwrap_err(),
            ParseError::Empty { position: 3 }
        );
        assert_eq!(
            CompiledTemplate::parse("{{first name}}").unwrap_err(),
            ParseError::InvalidName { position: 1 }
        );
        assert_eq!(
            CompiledTemplate::parse("{{0}}").unwrap_err(),
            ParseError::TooLong { position: 1 }
        );
        assert_eq!(
            CompiledTemplate::parse("{{a {{b}}").unwrap_err(),
            ParseError::Nested { position: 1 }
        );
        assert!(CompiledTemplate::parse("{{99999999999}}").is_err());
    }
}
