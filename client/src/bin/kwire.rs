//! `kwire`: the client-side command line.
//!
//! `kwire api-versions --bootstrap HOST:PORT` negotiates ApiVersions with
//! each broker and prints, per API, the broker's range, ours, the chosen
//! version and why, then the finalized features.
//!
//! Reports go to stdout, errors and logs to stderr; broker text is escaped
//! on both. The exit code says what failed (`mod exit`).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kwire_client::escape::escape;
use kwire_client::proto::parse_api;
use kwire_client::{Broker, ClientConfig, FailureKind, TlsConfig};

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
    /// The name to check the certificate against (default: the host);
    /// needs --tls or --ca-file.
    #[arg(long)]
    server_name: Option<String>,
    /// Cap an API's version: API=MAX (name or key), repeatable.
    #[arg(long = "cap", value_name = "API=MAX")]
    caps: Vec<String>,
    /// Versions to assume if the broker never answers ApiVersions
    /// (brokers before 0.10): API=MAX, repeatable.
    #[arg(long = "fallback", value_name = "API=MAX")]
    fallback: Vec<String>,
    /// Deadline in milliseconds for each wait: the TCP connect and TLS
    /// handshake together, each request, and closing.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Also list APIs the broker does not advertise.
    #[arg(long)]
    all: bool,
}

/// Exit codes (documented in client/README.md).
mod exit {
    pub const OK: u8 = 0;
    /// Any failure not listed below.
    pub const OTHER: u8 = 1;
    /// Bad arguments (clap uses 2 for its own usage errors too).
    pub const USAGE: u8 = 2;
    pub const CONNECT: u8 = 3;
    pub const NO_REPLY: u8 = 4;
    pub const CLOSED: u8 = 5;
    pub const TRUNCATED: u8 = 6;
    pub const UNEXPECTED_REPLY: u8 = 7;
    pub const TOO_LARGE: u8 = 8;
    pub const MALFORMED: u8 = 9;
    pub const REFUSED: u8 = 10;
    pub const NOT_READING: u8 = 11;
}

fn exit_code(kind: FailureKind) -> u8 {
    match kind {
        FailureKind::Config => exit::USAGE,
        FailureKind::Connect => exit::CONNECT,
        FailureKind::NoReply => exit::NO_REPLY,
        FailureKind::Closed | FailureKind::Reset => exit::CLOSED,
        FailureKind::TruncatedReply => exit::TRUNCATED,
        FailureKind::UnexpectedReply => exit::UNEXPECTED_REPLY,
        FailureKind::ReplyTooLarge => exit::TOO_LARGE,
        FailureKind::MalformedReply => exit::MALFORMED,
        FailureKind::BrokerRefused | FailureKind::NoVersion => exit::REFUSED,
        FailureKind::WriteStalled => exit::NOT_READING,
        _ => exit::OTHER,
    }
}

/// Why the command failed, and its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: exit::USAGE,
            message: message.into(),
        }
    }
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

/// `HOST:PORT[,HOST:PORT...]`: every entry non-empty, with a numeric port.
fn parse_bootstrap(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for entry in s.split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let port = entry
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            Some((host, Ok(_))) if !host.is_empty() && host != "[]" => out.push(entry.to_string()),
            _ => return Err(format!("--bootstrap: {entry:?} is not HOST:PORT")),
        }
    }
    if out.is_empty() {
        return Err(format!(
            "--bootstrap {s:?} names no broker (expected HOST:PORT[,HOST:PORT...])"
        ));
    }
    Ok(out)
}

/// Everything an `api-versions` run needs, checked before any connection.
fn config(a: &ApiVersionsArgs) -> Result<(Vec<String>, ClientConfig), String> {
    let brokers = parse_bootstrap(&a.bootstrap)?;
    if a.timeout_ms == 0 {
        return Err("--timeout-ms must be at least 1".into());
    }
    if a.server_name.is_some() && !a.tls && a.ca_file.is_none() {
        return Err(
            "--server-name needs --tls or --ca-file (it names the certificate to expect)".into(),
        );
    }
    let timeout = Duration::from_millis(a.timeout_ms);
    let mut cfg = ClientConfig::default();
    // One deadline for every wait: connect, TLS, each request, writes and
    // shutdown.
    cfg.conn = cfg.conn.all_timeouts(timeout);
    cfg.api_versions_timeout = timeout;
    for c in &a.caps {
        let (k, m) = parse_pair(c).map_err(|e| format!("--cap {e}"))?;
        cfg = cfg.cap(k, m);
    }
    if !a.fallback.is_empty() {
        let pairs = a
            .fallback
            .iter()
            .map(|s| parse_pair(s).map_err(|e| format!("--fallback {e}")))
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
    Ok((brokers, cfg))
}

async fn api_versions(a: ApiVersionsArgs) -> Result<(), Failure> {
    let (brokers, cfg) = config(&a).map_err(Failure::usage)?;
    let caps = cfg.caps.clone();
    let cfg = Arc::new(cfg);
    let mut failed: Vec<(String, FailureKind)> = Vec::new();
    for (i, addr) in brokers.iter().enumerate() {
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
                // Broker text can reach an error (a TLS peer's names, say).
                eprintln!("kwire: broker {addr}: {}", escape(&e.to_string()));
                failed.push((addr.clone(), e.kind()));
            }
        }
    }
    match failed.first() {
        None => Ok(()),
        Some(&(_, kind)) => Err(Failure {
            code: exit_code(kind),
            message: format!(
                "negotiation failed with {}",
                failed
                    .iter()
                    .map(|(a, _)| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
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
        // Colours only on a terminal: a log file or pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kwire: cannot start the runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    let res = rt.block_on(async {
        match cli.cmd {
            Cmd::ApiVersions(a) => api_versions(a).await,
        }
    });
    match res {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            eprintln!("kwire: {}", escape(&f.message));
            ExitCode::from(f.code)
        }
    }
}
