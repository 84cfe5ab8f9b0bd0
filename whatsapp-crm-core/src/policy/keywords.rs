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
pub struct KeywordConfig {
    /// Words that opt a customer out.
    pub opt_out: Vec<String>,
    /// Words that opt a customer back in.
    pub opt_in: Vec<String>,
}

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
        }
    }
}

fn normalise(text: &str) -> String {
    text.trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_lowercase()
}

impl KeywordConfig {
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
        let custom =
            KeywordConfig { opt_out: vec!["ondoa".into()], opt_in: vec!["rudisha".into()] };
        assert_eq!(custom.action("Ondoa"), Some(KeywordAction::OptOut));
        assert_eq!(custom.action("STOP"), None);
        assert_eq!(custom.action("rudisha"), Some(KeywordAction::OptIn));
    }
}
