//! Command line and environment configuration.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

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
    Serve(ServeArgs),
    /// Create a business and print its first API key (once) on standard output.
    CreateBusiness(CreateBusinessArgs),
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

    /// Twilio options; without them templates stay drafts.
    #[command(flatten)]
    pub twilio: TwilioArgs,
}

/// Twilio account, for template approval (and, later, sending).
#[derive(Clone, Args, Default)]
pub struct TwilioArgs {
    /// Twilio account SID (AC…).
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,
}

impl std::fmt::Debug for TwilioArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioArgs")
            .field("twilio_account_sid", &self.twilio_account_sid)
            .field("twilio_auth_token", &self.twilio_auth_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl TwilioArgs {
    /// The Twilio configuration, when both account and token are given.
    pub fn config(&self) -> Option<whatsapp_crm_twilio::TwilioConfig> {
        match (&self.twilio_account_sid, &self.twilio_auth_token) {
            (Some(sid), Some(token)) if !sid.is_empty() && !token.is_empty() => {
                Some(whatsapp_crm_twilio::TwilioConfig::new(sid.clone(), token.clone()))
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
