//! Command line and environment configuration.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

use whatsapp_crm_core::policy::DEFAULT_MESSAGES_PER_SECOND;

use crate::app::DEFAULT_MAX_BODY_BYTES;

/// The whatsapp-crm reference server.
#[derive(Debug, Parser)]
#[command(name = "reference-server", version, about)]
pub struct Cli {
    /// Where data lives: `memory`, a SQLite file path, or a `postgres://` URL.
    #[arg(long, env = "DATABASE_URL", default_value = crate::store::DEFAULT_DATABASE, global = true)]
    pub database: String,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Server options (for the default `serve`).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(Box<ServeArgs>),
    /// Create a business and print its first API key (once) on standard output.
    CreateBusiness(CreateBusinessArgs),
    /// Measure the offline intent classifier on labelled JSON lines: train,
    /// choose the threshold on validation, print `summary:` lines for test.
    EvalIntents(crate::eval::EvalIntentsArgs),
    /// Measure recommendations against popularity on baskets (one a line,
    /// items separated by commas): split, build, hide one item of each
    /// held-out basket, print `summary:` lines of hit rates.
    EvalRecommendations(crate::eval::EvalRecommendationsArgs),
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WCRM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "WCRM_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// The URL Twilio reaches this server at (`https://crm.example.com`):
    /// webhook signatures are checked against it, and each message's status
    /// callback points to it. Without it webhooks are refused.
    #[arg(long, env = "WCRM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How often the dispatcher looks for due messages, in milliseconds.
    #[arg(long, env = "WCRM_DISPATCH_INTERVAL_MS", default_value_t = 250)]
    pub dispatch_interval_ms: u64,

    /// How often scheduled, launching and sending broadcasts are looked at,
    /// in milliseconds.
    #[arg(long, env = "WCRM_BROADCAST_INTERVAL_MS", default_value_t = 1000)]
    pub broadcast_interval_ms: u64,

    /// How often orders past their payment window are expired (their stock
    /// released), in milliseconds.
    #[arg(long, env = "WCRM_ORDERS_INTERVAL_MS", default_value_t = 5000)]
    pub orders_interval_ms: u64,

    /// How long a dispatcher's claim on a message lasts, in seconds; a send
    /// still unfinished after it (the process died) is marked unknown. Must
    /// exceed the Twilio timeout.
    #[arg(long, env = "WCRM_DISPATCH_CLAIM_SECS", default_value_t = 120)]
    pub dispatch_claim_secs: u32,

    /// Messages per second from each WhatsApp sender (Twilio's default is
    /// 80; higher with a throughput upgrade).
    #[arg(long, env = "WCRM_MESSAGES_PER_SECOND", default_value_t = DEFAULT_MESSAGES_PER_SECOND)]
    pub messages_per_second: u32,

    /// Least time between two messages to the same customer, in
    /// milliseconds (WhatsApp's pair rate limit: about one every 6 s).
    #[arg(long, env = "WCRM_PAIR_INTERVAL_MS", default_value_t = whatsapp_crm_core::policy::DEFAULT_PAIR_INTERVAL_MS)]
    pub pair_interval_ms: u64,

    /// The sender's messaging-limit tier: unique business-initiated
    /// recipients per rolling 24 hours (1000, 10000, 100000); unlimited when
    /// unset.
    #[arg(long, env = "WCRM_MESSAGING_TIER")]
    pub messaging_tier: Option<u32>,

    /// Twilio options; without them templates stay drafts and messages stay
    /// queued.
    #[command(flatten)]
    pub twilio: TwilioArgs,

    /// M-Pesa and card payments.
    #[command(flatten)]
    pub payments: PaymentArgs,

    /// How often models whose FAQs or intents changed are retrained, in
    /// milliseconds.
    #[arg(long, env = "WCRM_ASSISTANT_INTERVAL_MS", default_value_t = 2000)]
    pub assistant_interval_ms: u64,

    /// How often the team inbox offers waiting conversations to agents and
    /// checks offers, first-response deadlines and snoozes, in milliseconds.
    #[arg(long, env = "WCRM_INBOX_INTERVAL_MS", default_value_t = 1000)]
    pub inbox_interval_ms: u64,

    /// How often recommendation models whose businesses sold since their
    /// build are rebuilt (not within 10 minutes of the last), in
    /// milliseconds.
    #[arg(long, env = "WCRM_RECOMMEND_INTERVAL_MS", default_value_t = 60000)]
    pub recommend_interval_ms: u64,

    /// Businesses whose trained assistant and recommendation models are kept
    /// in memory; the least recently used are loaded again when needed.
    #[arg(long, env = "WCRM_CACHED_BUSINESSES", default_value_t = whatsapp_crm_core::service::CACHED_BUSINESSES)]
    pub cached_businesses: usize,

    /// The Groq classifier, for businesses that choose it.
    #[command(flatten)]
    pub groq: GroqArgs,
}

/// Groq's OpenAI-compatible API, asked before the offline model by
/// businesses that choose it. Without a key the assistant opens no
/// connection.
#[derive(Clone, Args)]
pub struct GroqArgs {
    /// Groq API key (`gsk_…`).
    #[arg(long, env = "GROQ_API_KEY", hide_env_values = true)]
    pub groq_api_key: Option<String>,
    /// The chat model.
    #[arg(long, env = "GROQ_MODEL", default_value = whatsapp_crm_groq::DEFAULT_MODEL)]
    pub groq_model: String,
    /// Groq's base URL (or a local stand-in).
    #[arg(long, env = "GROQ_BASE", default_value = whatsapp_crm_groq::DEFAULT_BASE)]
    pub groq_base: String,
    /// Longest wait for Groq before the offline model answers, in
    /// milliseconds.
    #[arg(long, env = "GROQ_TIMEOUT_MS", default_value_t = 2500)]
    pub groq_timeout_ms: u64,
}

impl std::fmt::Debug for GroqArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroqArgs")
            .field("groq_api_key", &self.groq_api_key.as_ref().map(|_| "***"))
            .field("groq_model", &self.groq_model)
            .field("groq_base", &self.groq_base)
            .field("groq_timeout_ms", &self.groq_timeout_ms)
            .finish()
    }
}

impl GroqArgs {
    /// The Groq configuration, when a key is given.
    pub fn config(&self) -> Option<whatsapp_crm_groq::GroqConfig> {
        let key = self.groq_api_key.clone().filter(|s| !s.is_empty())?;
        Some(
            whatsapp_crm_groq::GroqConfig::new(key)
                .with_model(&self.groq_model)
                .with_base(&self.groq_base)
                .with_timeout(std::time::Duration::from_millis(self.groq_timeout_ms.max(1))),
        )
    }
}

/// Payment providers. Secrets come from the environment or flags and are
/// never printed.
#[derive(Clone, Args, Default)]
pub struct PaymentArgs {
    /// Daraja app consumer key (M-Pesa Express).
    #[arg(long, env = "MPESA_CONSUMER_KEY")]
    pub mpesa_consumer_key: Option<String>,
    /// Daraja app consumer secret.
    #[arg(long, env = "MPESA_CONSUMER_SECRET", hide_env_values = true)]
    pub mpesa_consumer_secret: Option<String>,
    /// The Paybill (or head office) shortcode.
    #[arg(long, env = "MPESA_SHORTCODE")]
    pub mpesa_shortcode: Option<String>,
    /// The Lipa na M-Pesa Online passkey.
    #[arg(long, env = "MPESA_PASSKEY", hide_env_values = true)]
    pub mpesa_passkey: Option<String>,
    /// A Till (Buy Goods) number to be paid instead of the Paybill.
    #[arg(long, env = "MPESA_TILL")]
    pub mpesa_till: Option<String>,
    /// Daraja's base URL: the sandbox by default, `https://api.safaricom.co.ke`
    /// in production, or a local stand-in.
    #[arg(long, env = "MPESA_BASE", default_value = whatsapp_crm_mpesa::SANDBOX_BASE)]
    pub mpesa_base: String,
    /// Refuse M-Pesa callbacks from outside Safaricom's addresses (by default
    /// they are logged and processed: Safaricom's addresses change).
    #[arg(long, env = "MPESA_ENFORCE_CALLBACK_IPS", default_value_t = false)]
    pub mpesa_enforce_callback_ips: bool,
    /// Paystack secret key (`sk_…`), for card payments.
    #[arg(long, env = "PAYSTACK_SECRET_KEY", hide_env_values = true)]
    pub paystack_secret_key: Option<String>,
    /// Paystack's base URL (or a local stand-in).
    #[arg(long, env = "PAYSTACK_BASE", default_value = whatsapp_crm_paystack::DEFAULT_BASE)]
    pub paystack_base: String,
}

impl std::fmt::Debug for PaymentArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("PaymentArgs")
            .field("mpesa_consumer_key", &self.mpesa_consumer_key)
            .field("mpesa_consumer_secret", &set(&self.mpesa_consumer_secret))
            .field("mpesa_shortcode", &self.mpesa_shortcode)
            .field("mpesa_passkey", &set(&self.mpesa_passkey))
            .field("mpesa_till", &self.mpesa_till)
            .field("mpesa_base", &self.mpesa_base)
            .field("paystack_secret_key", &set(&self.paystack_secret_key))
            .field("paystack_base", &self.paystack_base)
            .finish()
    }
}

impl PaymentArgs {
    /// The Daraja configuration, when key, secret, shortcode and passkey
    /// are all given.
    pub fn mpesa(&self) -> Option<whatsapp_crm_mpesa::MpesaConfig> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let config = whatsapp_crm_mpesa::MpesaConfig::new(
            given(&self.mpesa_consumer_key)?,
            given(&self.mpesa_consumer_secret)?,
            given(&self.mpesa_shortcode)?,
            given(&self.mpesa_passkey)?,
        )
        .with_base(&self.mpesa_base);
        Some(match given(&self.mpesa_till) {
            Some(till) => config.with_till(till),
            None => config,
        })
    }

    /// The Paystack configuration, when a secret key is given.
    pub fn paystack(&self) -> Option<whatsapp_crm_paystack::PaystackConfig> {
        let key = self.paystack_secret_key.clone().filter(|s| !s.is_empty())?;
        Some(whatsapp_crm_paystack::PaystackConfig::new(key).with_base(&self.paystack_base))
    }
}

/// Twilio account, for template approval, sending and webhooks.
#[derive(Clone, Args, Default)]
pub struct TwilioArgs {
    /// Another Twilio REST API base: a regional edge, or a local stand-in.
    #[arg(long, env = "TWILIO_API_BASE")]
    pub twilio_api_base: Option<String>,
    /// Another Twilio Content API base (templates and interactive content).
    #[arg(long, env = "TWILIO_CONTENT_BASE")]
    pub twilio_content_base: Option<String>,
    /// Twilio account SID (AC…).
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,
    /// Longest wait for one Twilio request, in seconds.
    #[arg(long, env = "TWILIO_TIMEOUT_SECS", default_value_t = 15)]
    pub twilio_timeout_secs: u32,
}

impl std::fmt::Debug for TwilioArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioArgs")
            .field("twilio_api_base", &self.twilio_api_base)
            .field("twilio_content_base", &self.twilio_content_base)
            .field("twilio_account_sid", &self.twilio_account_sid)
            .field("twilio_auth_token", &self.twilio_auth_token.as_ref().map(|_| "***"))
            .field("twilio_timeout_secs", &self.twilio_timeout_secs)
            .finish()
    }
}

impl TwilioArgs {
    /// The Twilio configuration, when both account and token are given.
    pub fn config(&self) -> Option<whatsapp_crm_twilio::TwilioConfig> {
        match (&self.twilio_account_sid, &self.twilio_auth_token) {
            (Some(sid), Some(token)) if !sid.is_empty() && !token.is_empty() => {
                let config = whatsapp_crm_twilio::TwilioConfig::new(sid.clone(), token.clone())
                    .with_timeout(std::time::Duration::from_secs(self.twilio_timeout_secs.into()));
                let config = match &self.twilio_api_base {
                    Some(base) => config.with_api_base(base),
                    None => config,
                };
                Some(match &self.twilio_content_base {
                    Some(base) => config.with_content_base(base),
                    None => config,
                })
            }
            _ => None,
        }
    }
}

/// Options of `create-business`.
#[derive(Debug, Clone, Args)]
pub struct CreateBusinessArgs {
    /// Trading name.
    #[arg(long)]
    pub name: String,
    /// WhatsApp sender number in E.164, e.g. +254700000001.
    #[arg(long)]
    pub sender: String,
    /// IANA time zone.
    #[arg(long, default_value = "Africa/Nairobi")]
    pub time_zone: String,
    /// ISO 4217 currency.
    #[arg(long, default_value = "KES")]
    pub currency: String,
    /// Label of the first API key.
    #[arg(long, default_value = "default")]
    pub key_label: String,
}
