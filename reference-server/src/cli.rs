//! What each subcommand does.

use std::io::Write;

use anyhow::Context;
use whatsapp_crm_core::{Crm, NewBusiness};

use crate::app::{AppState, app};
use crate::auth::generate_api_key;
use crate::config::{CreateBusinessArgs, ServeArgs};
use crate::store::OpenStore;

/// Serves HTTP until Ctrl-C or SIGTERM.
pub async fn serve(store: OpenStore, args: &ServeArgs) -> anyhow::Result<()> {
    let mut crm = Crm::new(store.storage);
    match args.twilio.config() {
        Some(config) => {
            let registry = whatsapp_crm_twilio::TwilioContent::new(config)?;
            crm = crm.with_template_registry(std::sync::Arc::new(registry));
            tracing::info!("templates are submitted through Twilio's Content API");
        }
        None => tracing::info!("no Twilio account configured: templates stay drafts"),
    }
    let state = AppState::new(crm, store.kind).with_max_body_bytes(args.max_body_bytes);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, storage = store.kind, "serving");
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal()).await?;
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
