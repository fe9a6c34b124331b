//! `kwire api-versions`: negotiate ApiVersions with each broker and print,
//! per API, the broker's range, ours, the chosen version and why, then the
//! finalized and supported features, and the broker's likely Kafka
//! release. `--json`: one JSON object on stdout for all brokers.

use std::sync::Arc;

use clap::Args;
use kwire_client::escape::escape;
use kwire_client::{Broker, FailureKind};

use crate::connect::ConnectArgs;
use crate::exit::{self, Failure};
use crate::explain;
use crate::out;

#[derive(Args)]
pub struct ApiVersionsArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Also list APIs the broker does not advertise.
    #[arg(long)]
    pub all: bool,
    /// Print one JSON object (`{"brokers": [...], "failed": [...]}`)
    /// instead of the text report.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(a: ApiVersionsArgs) -> Result<(), Failure> {
    let (brokers, cfg) = a.connect.config().map_err(Failure::usage)?;
    let caps = cfg.caps.clone();
    let cfg = Arc::new(cfg);
    let mut failed: Vec<(String, FailureKind)> = Vec::new();
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for (i, addr) in brokers.iter().enumerate() {
        if i > 0 && !a.json {
            out::println("")?;
        }
        let b = Broker::new(addr, None, cfg.clone());
        match b.connection().await {
            Ok(n) => {
                if a.json {
                    reports.push(explain::render_json(&n, &b.name(), &caps, a.all));
                } else {
                    out::print(&explain::render(&n, &b.name(), &caps, a.all))?;
                }
                b.disconnect().await;
            }
            Err(e) => {
                // Broker text can reach an error (a TLS peer's names, say).
                eprintln!("kwire: broker {addr}: {}", escape(&e.to_string()));
                errors.push(serde_json::json!({
                    "broker": addr,
                    "kind": format!("{:?}", e.kind()),
                    "exit_code": exit::code(e.kind()),
                    "error": e.to_string(),
                }));
                failed.push((addr.clone(), e.kind()));
            }
        }
    }
    if a.json {
        let doc = serde_json::json!({
            "release_pin": a.connect.release.as_deref(),
            "fallback_release": a.connect.fallback_release.as_deref(),
            "brokers": reports,
            "failed": errors,
        });
        out::println(&format!("{doc:#}"))?;
    }
    match failed.first() {
        None => Ok(()),
        Some(&(_, kind)) => Err(Failure {
            code: exit::code(kind),
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
