//! `kwire`: the client-side command line. One file per subcommand; shared
//! connection options in `connect`, exit codes in `exit`, the presentation
//! of a negotiation in `explain`.
//!
//! Reports go to stdout, errors and logs to stderr; broker text is escaped
//! on both. The exit code says what failed (`exit`).

mod api_versions;
mod connect;
mod consume;
mod decode;
mod encode;
mod exit;
mod explain;
mod out;
mod probe;
mod produce;
mod topics;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kwire_client::escape::escape;

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
    ApiVersions(api_versions::ApiVersionsArgs),
    /// Create, delete, list and describe topics.
    Topics(topics::TopicsArgs),
    /// A request or response (body or frame; hex or raw) to JSON.
    Decode(decode::DecodeArgs),
    /// JSON from `kwire decode` back to bytes.
    Encode(encode::EncodeArgs),
    /// Send a harmless request at every advertised version: which does the
    /// broker really take?
    Probe(probe::ProbeArgs),
    /// Send records (stdin lines or files) to a topic.
    Produce(produce::ProduceArgs),
    /// Print a topic's records (no group).
    Consume(consume::ConsumeArgs),
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
            Cmd::ApiVersions(a) => api_versions::run(a).await,
            Cmd::Topics(a) => topics::run(a).await,
            Cmd::Decode(a) => decode::run(a).await,
            Cmd::Encode(a) => encode::run(a).await,
            Cmd::Probe(a) => probe::run(a).await,
            Cmd::Produce(a) => produce::run(a).await,
            Cmd::Consume(a) => consume::run(a).await,
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
