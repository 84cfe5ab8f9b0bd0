//! The template engine: parse a body once into literal and variable segments,
//! render it many times, map named variables onto the provider's positional
//! ones, and check a template against every WhatsApp rule.
//!
//! Pure and synchronous: no I/O, no clock.

mod parse;
mod plan;
mod render;
mod rules;
mod validate;
mod values;

pub use parse::{
    CompiledTemplate, FALLBACK_MAX_CHARS, ParseError, Placeholder, VARIABLE_NAME_MAX_CHARS,
    Variable, VariableKind,
};
pub use plan::{Preview, PreviewButton, TemplatePlan};
pub use render::{
    MAX_CONSECUTIVE_SPACES, RenderError, Rendered, ValueProblem, check_value, normalize_value,
};
pub use rules::*;
pub use validate::{TemplateDraft, validate_template};
pub use values::{ATTRIBUTE_PREFIX, RECOMMENDED_PRODUCT, customer_values};
