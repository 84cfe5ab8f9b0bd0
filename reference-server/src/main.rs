//! The reference server binary.

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
        .init();
    let args = Cli::parse();
    let store = store::open(&args.database).await?;
    match &args.command {
        None => cli::serve(store, &args.serve).await,
        Some(Command::Serve(serve)) => cli::serve(store, serve).await,
        Some(Command::CreateBusiness(create)) => cli::create_business(store, create).await,
    }
}
