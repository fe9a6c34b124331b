//! `kwire api-versions`: negotiate ApiVersions with each broker and print,
//! per API, the broker's range, ours, the chosen version and why, then the
//! finalized and supported features.

use std::sync::Arc;

use clap::Args;
use kwire_client::escape::escape;
use kwire_client::{Broker, FailureKind};

use crate::connect::ConnectArgs;
use crate::exit::{self, Failure};
use crate::explain;

#[derive(Args)]
pub struct ApiVersionsArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Also list APIs the broker does not advertise.
    #[arg(long)]
    pub all: bool,
}

pub async fn run(a: ApiVersionsArgs) -> Result<(), Failure> {
    let (brokers, cfg) = a.connect.config().map_err(Failure::usage)?;
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
                print!("{}", explain::render(&n, &b.name(), &caps, a.all));
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
