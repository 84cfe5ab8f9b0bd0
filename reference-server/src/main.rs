//! The reference server binary.

use std::io::IsTerminal;

use clap::Parser;
use reference_server::config::{Cli, Command};
use reference_server::{cli, store};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs())
        .init();
    let args = Cli::parse();
    // Needs no storage: nothing is opened or created.
    if let Some(Command::EvalIntents(eval)) = &args.command {
        for line in reference_server::eval::eval_intents(eval)?.lines() {
            println!("{line}");
        }
        return Ok(());
    }
    if let Some(Command::EvalRecommendations(eval)) = &args.command {
        for line in reference_server::eval::eval_recommendations(eval)? {
            println!("{line}");
        }
        return Ok(());
    }
    let store = store::open(&args.database).await?;
    match &args.command {
        None => cli::serve(store, &args.serve).await,
        Some(Command::Serve(serve)) => cli::serve(store, serve).await,
        Some(Command::CreateBusiness(create)) => cli::create_business(store, create).await,
        Some(Command::EvalIntents(_) | Command::EvalRecommendations(_)) => Ok(()),
    }
}

/// Colour only for a person at a terminal: files and log collectors get plain
/// text, and `NO_COLOR` (any non-empty value) turns colour off everywhere.
fn colour_logs() -> bool {
    std::io::stderr().is_terminal()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
