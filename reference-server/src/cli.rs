//! What each subcommand does.

use std::io::Write;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use whatsapp_crm_core::policy::RateLimits;
use whatsapp_crm_core::service::{DispatchConfig, Dispatcher, PaymentsConfig};
use whatsapp_crm_core::{Crm, NewBusiness};

use crate::app::{AppState, app};
use crate::auth::generate_api_key;
use crate::config::{CreateBusinessArgs, ServeArgs};
use crate::routes::webhooks::WebhookConfig;
use crate::store::OpenStore;
use crate::worker::{
    run_assistant, run_broadcasts, run_dispatcher, run_inbox, run_orders, run_recommendations,
};

/// Serves HTTP until Ctrl-C or SIGTERM, with the dispatcher sending
/// through Twilio when an account is configured.
pub async fn serve(store: OpenStore, args: &ServeArgs) -> anyhow::Result<()> {
    let mut crm = Crm::new(store.storage).with_cached_businesses(args.cached_businesses);
    let webhooks = match (&args.twilio.twilio_auth_token, &args.public_url) {
        (Some(token), Some(url)) if !token.is_empty() => Some(WebhookConfig::new(token, url)),
        _ => None,
    };
    if args.dispatch_claim_secs <= args.twilio.twilio_timeout_secs {
        anyhow::bail!(
            "WCRM_DISPATCH_CLAIM_SECS ({}) must exceed TWILIO_TIMEOUT_SECS ({}): a claim may not lapse while its send can still succeed",
            args.dispatch_claim_secs,
            args.twilio.twilio_timeout_secs
        );
    }
    let (stop, stopped) = watch::channel(false);
    let mut dispatcher = None;
    match args.twilio.config() {
        Some(config) => {
            let registry = whatsapp_crm_twilio::TwilioContent::new(config.clone())?;
            crm = crm.with_template_registry(Arc::new(registry));
            let config = match &webhooks {
                Some(w) => config.with_status_callback(w.status_callback_url()),
                None => config,
            };
            let transport = Arc::new(whatsapp_crm_twilio::TwilioTransport::new(config)?);
            let limits = RateLimits {
                messages_per_second: Some(args.messages_per_second),
                burst: (args.messages_per_second / 10).max(1),
                tier: args.messaging_tier,
                pair_interval_ms: Some(args.pair_interval_ms),
            };
            let d = Dispatcher::new(
                crm.storage().clone(),
                transport,
                DispatchConfig {
                    limits,
                    claim_secs: args.dispatch_claim_secs.into(),
                    ..DispatchConfig::default()
                },
            );
            let interval = Duration::from_millis(args.dispatch_interval_ms.max(1));
            dispatcher = Some(tokio::spawn(run_dispatcher(d, interval, stopped)));
            tracing::info!("sending through Twilio; templates are submitted to its Content API");
        }
        None => tracing::info!(
            "no Twilio account configured: templates stay drafts and messages stay queued"
        ),
    }
    if let Some(config) = args.payments.mpesa() {
        let mpesa = whatsapp_crm_mpesa::Mpesa::new(config).map_err(|e| anyhow::anyhow!("{e}"))?;
        crm = crm.with_payment_provider(Arc::new(mpesa));
        tracing::info!(base = %args.payments.mpesa_base, "M-Pesa payments through Daraja");
    }
    if let Some(config) = args.payments.paystack() {
        let paystack =
            whatsapp_crm_paystack::Paystack::new(config).map_err(|e| anyhow::anyhow!("{e}"))?;
        crm = crm.with_payment_provider(Arc::new(paystack));
        tracing::info!("card payments through Paystack");
    }
    if let Some(config) = args.groq.config() {
        let groq = whatsapp_crm_groq::Groq::new(config).map_err(|e| anyhow::anyhow!("{e}"))?;
        crm = crm.with_assistant_llm(Arc::new(groq));
        tracing::info!(model = %args.groq.groq_model, "Groq classifies for businesses that choose it");
    }
    if let Some(url) = &args.public_url {
        let mut config = PaymentsConfig::new(url);
        config.enforce_callback_ips = args.payments.mpesa_enforce_callback_ips;
        crm = crm.with_payments(config);
    }
    match &webhooks {
        Some(w) => tracing::info!(
            inbound = %w.inbound_url(),
            status = %w.status_callback_url(),
            "accepting signed Twilio webhooks"
        ),
        None => tracing::info!("webhooks are refused: set TWILIO_AUTH_TOKEN and WCRM_PUBLIC_URL"),
    }
    let broadcasts = tokio::spawn(run_broadcasts(
        crm.campaigns(),
        crm.broadcasts(),
        Duration::from_millis(args.broadcast_interval_ms.max(1)),
        stop.subscribe(),
    ));
    let orders = tokio::spawn(run_orders(
        crm.orders(),
        crm.carts(),
        crm.payments(),
        Duration::from_millis(args.orders_interval_ms.max(1)),
        stop.subscribe(),
    ));
    let assistant = tokio::spawn(run_assistant(
        crm.assistant(),
        Duration::from_millis(args.assistant_interval_ms.max(1)),
        stop.subscribe(),
    ));
    let inbox = tokio::spawn(run_inbox(
        crm.team_inbox(),
        Duration::from_millis(args.inbox_interval_ms.max(1)),
        stop.subscribe(),
    ));
    let recommendations = tokio::spawn(run_recommendations(
        crm.recommendations(),
        Duration::from_millis(args.recommend_interval_ms.max(1)),
        stop.subscribe(),
    ));
    let mut state = AppState::new(crm, store.kind).with_max_body_bytes(args.max_body_bytes);
    if let Some(w) = webhooks {
        state = state.with_webhooks(w);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, storage = store.kind, "serving");
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await?;
    let _ = stop.send(true);
    if let Some(d) = dispatcher {
        let _ = d.await;
    }
    let _ = broadcasts.await;
    let _ = orders.await;
    let _ = assistant.await;
    let _ = inbox.await;
    let _ = recommendations.await;
    tracing::info!("stopped");
    Ok(())
}

/// Creates a business and prints its first API key alone on standard output,
/// so scripts can capture it; the explanation goes to standard error.
pub async fn create_business(store: OpenStore, args: &CreateBusinessArgs) -> anyhow::Result<()> {
    let crm = Crm::new(store.storage);
    let business = crm
        .businesses()
        .create(NewBusiness {
            name: args.name.clone(),
            whatsapp_sender: args.sender.clone(),
            time_zone: args.time_zone.clone(),
            currency: args.currency.clone(),
        })
        .await?;
    let (key, hash) = generate_api_key().context("no randomness available for the API key")?;
    crm.businesses().issue_api_key(business.id, hash, &args.key_label).await?;
    eprintln!("Created business {} ({}).", business.id, business.name);
    if store.kind == "memory" {
        eprintln!(
            "Note: the in-memory store forgets this when the command exits; pass --database."
        );
    }
    eprintln!("API key (shown once; keep it secret):");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{key}")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
