//! Sends one real WhatsApp message through Twilio when `TWILIO_*` variables are
//! set, and explains what to set when they are not:
//! `cargo run -p examples --bin send_whatsapp`.

use examples::send_settings;
use whatsapp_crm_core::ports::OutboundMessage;
use whatsapp_crm_core::{BusinessId, MessageContent, MessageId, PhoneNumber, Transport};
use whatsapp_crm_twilio::TwilioTransport;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let settings = match send_settings(|name| std::env::var(name).ok()) {
        Ok(s) => s,
        Err(help) => {
            eprint!("{help}");
            std::process::exit(2);
        }
    };
    let twilio = TwilioTransport::new(settings.config)?;
    let message = OutboundMessage {
        business_id: BusinessId::new(),
        message_id: MessageId::new(),
        from: PhoneNumber::parse(&settings.from)?,
        to: PhoneNumber::parse(&settings.to)?,
        content: MessageContent::text(settings.body),
    };
    match twilio.send(&message).await {
        Ok(receipt) => {
            println!("Twilio accepted message {} ({:?})", receipt.provider_id, receipt.status)
        }
        Err(e) if e.is_retryable() => anyhow::bail!("Twilio is busy, try again: {e}"),
        Err(e) => anyhow::bail!("Twilio refused the message: {e}"),
    }
    Ok(())
}
