//! The WhatsApp template rules (platform-rules 1.1–1.4), each with a stable code.

use serde::Serialize;

/// Longest template name (platform-rules 1.1).
pub const TEMPLATE_NAME_MAX_CHARS: usize = 512;
/// Longest text header (1.2).
pub const HEADER_TEXT_MAX_CHARS: usize = 60;
/// Most variables in a text header (1.2).
pub const HEADER_MAX_VARIABLES: usize = 1;
/// Longest body (1.2).
pub const BODY_MAX_CHARS: usize = 1024;
/// Longest footer (1.2).
pub const FOOTER_MAX_CHARS: usize = 60;
/// Most variables per template (1.3).
pub const TEMPLATE_MAX_VARIABLES: usize = 100;
/// Most buttons per template (1.4).
pub const BUTTONS_MAX: usize = 10;
/// Most quick-reply buttons (1.4).
pub const QUICK_REPLY_BUTTONS_MAX: usize = 10;
/// Most URL buttons (1.4).
pub const URL_BUTTONS_MAX: usize = 2;
/// Most phone-number buttons (1.4).
pub const PHONE_BUTTONS_MAX: usize = 1;
/// Most copy-code buttons (1.4).
pub const COPY_CODE_BUTTONS_MAX: usize = 1;
/// Longest button label on a template (1.2, 1.4).
pub const BUTTON_LABEL_MAX_CHARS: usize = 25;
/// Longest button URL (1.4).
pub const BUTTON_URL_MAX_CHARS: usize = 2000;
/// Longest copy-code value (1.3, 1.4).
pub const COPY_CODE_MAX_CHARS: usize = 15;
/// Longest sample or parameter value when other components exist (1.2).
pub const SAMPLE_MAX_CHARS: usize = 1024;
/// Allowed code expiry of authentication templates, in minutes (1.3).
pub const CODE_EXPIRATION_MINUTES: std::ops::RangeInclusive<u16> = 1..=90;

/// Which rule a problem breaks. The snake-case code is stable API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TemplateRule {
    /// Name uses characters other than a–z, 0–9 and `_`, or is empty.
    NameInvalid,
    /// Name longer than [`TEMPLATE_NAME_MAX_CHARS`].
    NameTooLong,
    /// Language is not a code like `en`, `sw` or `en_US`.
    LanguageInvalid,
    /// A `{{…}}` that cannot be read.
    PlaceholderSyntax,
    /// Header text longer than [`HEADER_TEXT_MAX_CHARS`].
    HeaderTooLong,
    /// More than [`HEADER_MAX_VARIABLES`] variable in the header.
    HeaderTooManyVariables,
    /// Bold, italic, strike or code markers in the header.
    HeaderFormatting,
    /// No body text.
    BodyRequired,
    /// Body longer than [`BODY_MAX_CHARS`].
    BodyTooLong,
    /// Footer longer than [`FOOTER_MAX_CHARS`].
    FooterTooLong,
    /// A variable in the footer.
    FooterHasVariables,
    /// `{{1}}` and `{{name}}` in the same template.
    MixedVariableFormats,
    /// Positional variables do not run 1, 2, 3… without gaps.
    NonSequentialVariables,
    /// More than [`TEMPLATE_MAX_VARIABLES`] variables.
    TooManyVariables,
    /// Two variables with only spaces between them.
    AdjacentVariables,
    /// The body begins with a variable.
    BodyStartsWithVariable,
    /// The body ends with a variable (trailing punctuation included).
    BodyEndsWithVariable,
    /// Fewer than 2×variables+1 words of fixed text.
    TooFewWords,
    /// A variable without a sample value.
    MissingSample,
    /// A sample WhatsApp would refuse (line break, tab, 5+ spaces, too long).
    InvalidSample,
    /// More than [`BUTTONS_MAX`] buttons, or too many of one kind.
    TooManyButtons,
    /// Quick replies mixed between other buttons instead of grouped.
    ButtonsNotGrouped,
    /// A button without a label.
    ButtonLabelRequired,
    /// Label longer than [`BUTTON_LABEL_MAX_CHARS`].
    ButtonLabelTooLong,
    /// A variable in a button label.
    ButtonLabelHasVariable,
    /// URL not http(s), longer than [`BUTTON_URL_MAX_CHARS`], or with a variable
    /// anywhere but the end.
    ButtonUrlInvalid,
    /// Phone button number is not E.164.
    ButtonPhoneInvalid,
    /// Copy-code sample empty or longer than [`COPY_CODE_MAX_CHARS`].
    CopyCodeInvalid,
    /// Authentication templates: no header, one copy-code button, at most the code as variable.
    AuthenticationFormat,
    /// Code expiry outside [`CODE_EXPIRATION_MINUTES`] or on a non-authentication template.
    CodeExpirationInvalid,
}

/// One problem, where it is, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateIssue {
    /// The rule broken.
    pub rule: TemplateRule,
    /// The field: `name`, `header`, `body`, `footer`, `buttons[1]`, `samples.first_name`.
    pub field: String,
    /// 1-based character position within the field, when one place is at fault.
    pub position: Option<usize>,
    /// Explanation for a business owner.
    pub message: String,
}
