//! Helpers shared by the example programs in `src/bin`.

use whatsapp_crm_twilio::{Credentials, Secret, TwilioConfig};

/// What `send_whatsapp` needs, read from the environment.
#[derive(Debug)]
pub struct SendSettings {
    /// Twilio account and credentials.
    pub config: TwilioConfig,
    /// The WhatsApp sender number.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// The text to send.
    pub body: String,
}

/// The variables `send_whatsapp` reads, with what each is for.
pub const SEND_VARIABLES: &[(&str, &str)] = &[
    ("TWILIO_ACCOUNT_SID", "your account SID (AC…), from the Twilio console"),
    ("TWILIO_AUTH_TOKEN", "its auth token; or set TWILIO_API_KEY and TWILIO_API_SECRET instead"),
    ("TWILIO_WHATSAPP_FROM", "your WhatsApp sender, e.g. +14155238886 (the sandbox number)"),
    ("WHATSAPP_TO", "the recipient, e.g. +254712345678 (must have joined your sandbox)"),
    ("WHATSAPP_BODY", "optional: the text to send"),
];

/// Reads the settings through `var`, or explains every missing variable.
pub fn send_settings(var: impl Fn(&str) -> Option<String>) -> Result<SendSettings, String> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let account = get("TWILIO_ACCOUNT_SID");
    let credentials =
        match (get("TWILIO_AUTH_TOKEN"), get("TWILIO_API_KEY"), get("TWILIO_API_SECRET")) {
            (_, Some(sid), Some(secret)) => {
                Some(Credentials::ApiKey { sid, secret: Secret::new(secret) })
            }
            (Some(token), _, _) => Some(Credentials::AuthToken(Secret::new(token))),
            _ => None,
        };
    let (from, to) = (get("TWILIO_WHATSAPP_FROM"), get("WHATSAPP_TO"));
    match (account, credentials, from, to) {
        (Some(account), Some(credentials), Some(from), Some(to)) => Ok(SendSettings {
            config: TwilioConfig::with_credentials(account, credentials),
            from,
            to,
            body: get("WHATSAPP_BODY").unwrap_or_else(|| "Hello from whatsapp-crm".into()),
        }),
        _ => {
            let mut help = String::from("To send a real WhatsApp message, set:\n");
            for (name, what) in SEND_VARIABLES {
                help.push_str(&format!("  {name:<22} {what}\n"));
            }
            Err(help)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_what_is_missing_and_accepts_either_credential() {
        let help = send_settings(|_| None).unwrap_err();
        assert!(SEND_VARIABLES.iter().all(|(name, _)| help.contains(name)));
        let env = |name: &str| match name {
            "TWILIO_ACCOUNT_SID" => Some("AC1".to_owned()),
            "TWILIO_API_KEY" => Some("SK1".to_owned()),
            "TWILIO_API_SECRET" => Some("s".to_owned()),
            "TWILIO_WHATSAPP_FROM" => Some("+14155238886".to_owned()),
            "WHATSAPP_TO" => Some("+254712345678".to_owned()),
            _ => None,
        };
        let s = send_settings(env).unwrap();
        assert_eq!(s.body, "Hello from whatsapp-crm");
        assert!(!format!("{s:?}").contains("\"s\""), "secret leaked");
    }
}
