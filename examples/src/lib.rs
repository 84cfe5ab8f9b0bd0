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

/// What `mpesa_sandbox` needs, read from the environment.
#[derive(Debug)]
pub struct MpesaSettings {
    /// The Daraja app and shortcode.
    pub config: whatsapp_crm_mpesa::MpesaConfig,
    /// The number to prompt.
    pub phone: String,
    /// Whole shillings to ask for.
    pub amount: i64,
}

/// Safaricom's public sandbox passkey for shortcode 174379.
pub const SANDBOX_PASSKEY: &str =
    "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";

/// The variables `mpesa_sandbox` reads, with what each is for.
pub const MPESA_VARIABLES: &[(&str, &str)] = &[
    ("MPESA_CONSUMER_KEY", "your Daraja app's consumer key (developer.safaricom.co.ke, My Apps)"),
    ("MPESA_CONSUMER_SECRET", "its consumer secret"),
    ("MPESA_PHONE", "the phone to prompt, e.g. +254708374149 (Daraja's test number) or yours"),
    ("MPESA_SHORTCODE", "optional: the shortcode (default 174379, the sandbox Paybill)"),
    ("MPESA_PASSKEY", "optional: its passkey (default the public sandbox passkey)"),
    ("MPESA_AMOUNT", "optional: whole shillings to ask for (default 1)"),
    ("MPESA_BASE", "optional: Daraja's base URL (default the sandbox)"),
];

/// Reads the settings through `var`, or explains every variable.
pub fn mpesa_settings(var: impl Fn(&str) -> Option<String>) -> Result<MpesaSettings, String> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let amount =
        get("MPESA_AMOUNT").map_or(Ok(1), |a| a.trim().parse::<i64>()).ok().filter(|a| *a >= 1);
    match (get("MPESA_CONSUMER_KEY"), get("MPESA_CONSUMER_SECRET"), get("MPESA_PHONE"), amount) {
        (Some(key), Some(secret), Some(phone), Some(amount)) => {
            let shortcode = get("MPESA_SHORTCODE").unwrap_or_else(|| "174379".into());
            let passkey = get("MPESA_PASSKEY").unwrap_or_else(|| SANDBOX_PASSKEY.into());
            let base = get("MPESA_BASE").unwrap_or_else(|| whatsapp_crm_mpesa::SANDBOX_BASE.into());
            let config = whatsapp_crm_mpesa::MpesaConfig::new(key, secret, shortcode, passkey)
                .with_base(base);
            Ok(MpesaSettings { config, phone, amount })
        }
        _ => {
            let mut help = String::from("To take a sandbox M-Pesa payment, set:\n");
            for (name, what) in MPESA_VARIABLES {
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
    fn mpesa_settings_explain_what_to_set_and_keep_secrets() {
        let help = mpesa_settings(|_| None).unwrap_err();
        assert!(MPESA_VARIABLES.iter().all(|(name, _)| help.contains(name)));
        let env = |name: &str| match name {
            "MPESA_CONSUMER_KEY" => Some("key".to_owned()),
            "MPESA_CONSUMER_SECRET" => Some("the-secret".to_owned()),
            "MPESA_PHONE" => Some("+254708374149".to_owned()),
            _ => None,
        };
        let s = mpesa_settings(env).unwrap();
        assert_eq!(s.amount, 1);
        assert!(!format!("{s:?}").contains("the-secret"), "secret leaked");
        let zero =
            |name: &str| if name == "MPESA_AMOUNT" { Some("0".to_owned()) } else { env(name) };
        assert!(mpesa_settings(zero).is_err());
    }

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
