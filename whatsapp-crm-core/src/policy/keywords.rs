//! Opt-out and opt-in keywords ("STOP", "ACHA", "START"): a message that is
//! only a keyword changes the customer's marketing consent.

use serde::{Deserialize, Serialize};

/// What a message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordAction {
    /// Stop marketing messages.
    OptOut,
    /// Start (again) receiving marketing messages.
    OptIn,
}

/// The keywords a business recognises, per direction. Matching ignores case,
/// surrounding spaces and trailing punctuation, and needs the whole message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct KeywordConfig {
    /// Words that opt a customer out.
    pub opt_out: Vec<String>,
    /// Words that opt a customer back in.
    pub opt_in: Vec<String>,
    /// The confirmation sent after an opt-out keyword; none when `None`.
    pub opt_out_reply: Option<String>,
    /// The confirmation sent after an opt-in keyword; none when `None`.
    pub opt_in_reply: Option<String>,
}

/// Most keywords per direction.
pub const KEYWORDS_MAX: usize = 50;
/// Longest keyword.
pub const KEYWORD_MAX_CHARS: usize = 40;

impl Default for KeywordConfig {
    /// English, Swahili, French, Spanish and Portuguese.
    fn default() -> Self {
        let words = |ws: &[&str]| ws.iter().map(|w| (*w).to_owned()).collect();
        Self {
            opt_out: words(&[
                "stop",
                "stopall",
                "unsubscribe",
                "cancel",
                "end",
                "quit",
                "acha",
                "simamisha",
                "sitaki",
                "arrêt",
                "arreter",
                "arrêter",
                "désabonner",
                "baja",
                "parar",
                "sair",
                "cancelar",
            ]),
            opt_in: words(&[
                "start",
                "subscribe",
                "unstop",
                "anza",
                "endelea",
                "démarrer",
                "alta",
                "iniciar",
            ]),
            opt_out_reply: Some(
                "You will no longer receive offers from us. Reply START to subscribe again. \
                 / Hutapokea matangazo tena. Jibu ANZA kujiunga tena."
                    .into(),
            ),
            opt_in_reply: Some(
                "You are subscribed to our offers again. Reply STOP to unsubscribe. \
                 / Umejiunga tena. Jibu ACHA kujiondoa."
                    .into(),
            ),
        }
    }
}

fn normalise(text: &str) -> String {
    text.trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_lowercase()
}

impl KeywordConfig {
    /// Checks the words and replies a business configures, reporting every
    /// problem together.
    pub fn validate(&self) -> Result<(), crate::domain::ValidationError> {
        let mut v = crate::domain::ValidationError::default();
        for (field, words) in [("opt_out", &self.opt_out), ("opt_in", &self.opt_in)] {
            if words.len() > KEYWORDS_MAX {
                v.push(field, format!("at most {KEYWORDS_MAX} keywords"));
            }
            for (i, w) in words.iter().enumerate() {
                let n = normalise(w).chars().count();
                if n == 0 || n > KEYWORD_MAX_CHARS {
                    v.push(
                        format!("{field}[{i}]"),
                        format!("must be 1 to {KEYWORD_MAX_CHARS} characters"),
                    );
                }
            }
        }
        let clash = self
            .opt_out
            .iter()
            .map(|w| normalise(w))
            .find(|w| self.opt_in.iter().any(|o| normalise(o) == *w));
        if let Some(w) = clash {
            v.push("opt_in", format!("{w:?} is also an opt-out keyword"));
        }
        for (field, reply) in
            [("opt_out_reply", &self.opt_out_reply), ("opt_in_reply", &self.opt_in_reply)]
        {
            if let Some(r) = reply {
                let n = r.chars().count();
                if r.trim().is_empty() || n > super::TEXT_BODY_MAX {
                    v.push(field, format!("must be 1 to {} characters", super::TEXT_BODY_MAX));
                }
            }
        }
        v.into_result(|| ())
    }

    /// The confirmation to send after `action`, if any.
    pub fn reply(&self, action: KeywordAction) -> Option<&str> {
        match action {
            KeywordAction::OptOut => self.opt_out_reply.as_deref(),
            KeywordAction::OptIn => self.opt_in_reply.as_deref(),
        }
        .filter(|r| !r.trim().is_empty())
    }

    /// The action a message asks for, if it is only a keyword.
    ///
    /// ```
    /// use whatsapp_crm_core::policy::{KeywordAction, KeywordConfig};
    ///
    /// let k = KeywordConfig::default();
    /// assert_eq!(k.action("  Stop! "), Some(KeywordAction::OptOut));
    /// assert_eq!(k.action("ACHA"), Some(KeywordAction::OptOut));
    /// assert_eq!(k.action("start"), Some(KeywordAction::OptIn));
    /// assert_eq!(k.action("please stop the order"), None);
    /// ```
    pub fn action(&self, message: &str) -> Option<KeywordAction> {
        let text = normalise(message);
        if text.is_empty() {
            return None;
        }
        let has = |words: &[String]| words.iter().any(|w| normalise(w) == text);
        if has(&self.opt_out) {
            Some(KeywordAction::OptOut)
        } else if has(&self.opt_in) {
            Some(KeywordAction::OptIn)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_message_only_and_configurable() {
        let k = KeywordConfig::default();
        for stop in ["STOP", "stop.", " Unsubscribe ", "SIMAMISHA", "Arrêt", "BAJA!"] {
            assert_eq!(k.action(stop), Some(KeywordAction::OptOut), "{stop}");
        }
        for other in ["", "   ", "stop it", "don't stop", "startup"] {
            assert_eq!(k.action(other), None, "{other:?}");
        }
        let custom = KeywordConfig {
            opt_out: vec!["ondoa".into()],
            opt_in: vec!["rudisha".into()],
            ..KeywordConfig::default()
        };
        custom.validate().unwrap();
        assert_eq!(custom.action("Ondoa"), Some(KeywordAction::OptOut));
        assert_eq!(custom.action("STOP"), None);
        assert_eq!(custom.action("rudisha"), Some(KeywordAction::OptIn));
    }

    #[test]
    fn bad_settings_are_reported_together() {
        let bad = KeywordConfig {
            opt_out: vec!["stop".into(), "  ".into()],
            opt_in: vec!["STOP".into()],
            opt_out_reply: Some(String::new()),
            ..KeywordConfig::default()
        };
        let err = bad.validate().unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["opt_out[1]", "opt_in", "opt_out_reply"]);
        assert!(KeywordConfig::default().validate().is_ok());
    }
}
