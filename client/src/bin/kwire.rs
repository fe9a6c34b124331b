//! `kwire`: the client-side command line.
//!
//! `kwire api-versions --bootstrap HOST:PORT` negotiates ApiVersions with
//! each broker and prints, per API, the broker's range, ours, the chosen
//! version and why, then the finalized features.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kwire_client::proto::parse_api;
use kwire_client::{Broker, ClientConfig, TlsConfig};

#[derive(Parser)]
#[command(
    name = "kwire",
    version,
    about = "Kafka protocol tools on the kwire codecs"
)]
struct Cli {
    /// Log every negotiation decision to stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Negotiate ApiVersions and explain every API's version choice.
    ApiVersions(ApiVersionsArgs),
}

#[derive(Args)]
struct ApiVersionsArgs {
    /// Broker address(es), HOST:PORT, comma-separated.
    #[arg(long, short = 'b', required = true)]
    bootstrap: String,
    /// Use TLS, verified against the webpki roots (or --ca-file).
    #[arg(long)]
    tls: bool,
    /// A PEM file with the CA(s) to trust (implies --tls).
    #[arg(long)]
    ca_file: Option<String>,
    /// The name to check the certificate against (default: the host).
    #[arg(long)]
    server_name: Option<String>,
    /// Cap an API's version: API=MAX (name or key), repeatable.
    #[arg(long = "cap", value_name = "API=MAX")]
    caps: Vec<String>,
    /// Versions to assume if the broker never answers ApiVersions
    /// (brokers before 0.10): API=MAX, repeatable.
    #[arg(long = "fallback", value_name = "API=MAX")]
    fallback: Vec<String>,
    /// Request timeout in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Also list APIs the broker does not advertise.
    #[arg(long)]
    all: bool,
}

fn parse_pair(s: &str) -> Result<(kwire::ApiKey, i16), String> {
    let (api, max) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected API=MAX"))?;
    let key = parse_api(api).ok_or_else(|| format!("{api:?}: unknown API name"))?;
    let max = max
        .trim()
        .parse::<i16>()
        .map_err(|e| format!("{s:?}: {e}"))?;
    Ok((key, max))
}

async fn api_versions(a: ApiVersionsArgs) -> Result<(), String> {
    let mut cfg = ClientConfig::default();
    cfg.conn.request_timeout = Duration::from_millis(a.timeout_ms);
    cfg.api_versions_timeout = Duration::from_millis(a.timeout_ms);
    for c in &a.caps {
        let (k, m) = parse_pair(c)?;
        cfg = cfg.cap(k, m);
    }
    if !a.fallback.is_empty() {
        let pairs = a
            .fallback
            .iter()
            .map(|s| parse_pair(s))
            .collect::<Result<Vec<_>, _>>()?;
        cfg = cfg.fallback_versions(pairs);
    }
    if a.tls || a.ca_file.is_some() {
        let mut tls = match &a.ca_file {
            Some(p) => TlsConfig::custom_ca(p),
            None => TlsConfig::webpki_roots(),
        }
        .map_err(|e| e.to_string())?;
        tls.server_name = a.server_name.clone();
        cfg.conn.tls = Some(tls);
    }
    let caps = cfg.caps.clone();
    let cfg = Arc::new(cfg);
    let mut failed = Vec::new();
    for (i, addr) in a
        .bootstrap
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        if i > 0 {
            println!();
        }
        let b = Broker::new(addr, None, cfg.clone());
        match b.connection().await {
            Ok(n) => {
                print!(
                    "{}",
                    kwire_client::explain::render(&n, &b.name(), &caps, a.all)
                );
                b.disconnect().await;
            }
            Err(e) => {
                println!("broker {addr}: {e}");
                failed.push(addr.to_string());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("negotiation failed with {}", failed.join(", ")))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("kwire_client={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kwire: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let res = rt.block_on(async {
        match cli.cmd {
            Cmd::ApiVersions(a) => api_versions(a).await,
        }
    });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kwire: {e}");
            ExitCode::FAILURE
        }
    }
}
