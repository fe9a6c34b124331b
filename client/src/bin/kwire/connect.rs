//! The connection options every subcommand that talks to brokers shares,
//! checked before any connection is opened.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kwire::KafkaRelease;
use kwire_client::net::sasl::{Sasl, SaslMechanism};
use kwire_client::protocol::api::{parse_api, ApiKey};
use kwire_client::{ClientConfig, TlsConfig};

#[derive(Args)]
pub struct ConnectArgs {
    /// Broker address(es), HOST:PORT, comma-separated.
    #[arg(long, short = 'b', required = true)]
    pub bootstrap: String,
    /// Use TLS, verified against the webpki roots (or --ca-file).
    #[arg(long)]
    pub tls: bool,
    /// A PEM file with the CA(s) to trust (implies --tls).
    #[arg(long)]
    pub ca_file: Option<String>,
    /// The name to check the certificate against (default: the host);
    /// needs --tls or --ca-file.
    #[arg(long)]
    pub server_name: Option<String>,
    /// Cap an API's version: API=MAX (name or key), repeatable.
    #[arg(long = "cap", value_name = "API=MAX")]
    pub caps: Vec<String>,
    /// Versions to assume if the broker never answers ApiVersions
    /// (brokers before 0.10): API=MAX, repeatable.
    #[arg(long = "fallback", value_name = "API=MAX")]
    pub fallback: Vec<String>,
    /// Pin a Kafka release (e.g. 3.8, 2.3.1): every API is capped at what
    /// that release accepts and APIs it lacks are not used. A cap on
    /// negotiation, never instead of it.
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
    /// The versions to assume if the broker never answers ApiVersions,
    /// from a release's table (e.g. 0.9.0); --fallback entries win over it.
    #[arg(long, value_name = "RELEASE")]
    pub fallback_release: Option<String>,
    /// SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with
    /// --sasl-user and a password from --sasl-password-env).
    #[arg(long, value_name = "MECHANISM")]
    pub sasl_mechanism: Option<String>,
    #[arg(long, value_name = "USER")]
    pub sasl_user: Option<String>,
    /// The environment variable holding the SASL password (a password on
    /// the command line would show in the process list).
    #[arg(long, value_name = "VAR")]
    pub sasl_password_env: Option<String>,
    /// Deadline in milliseconds for each wait: the TCP connect and TLS
    /// handshake together, each request, and closing.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
}

fn parse_pair(s: &str) -> Result<(ApiKey, i16), String> {
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
pub fn parse_bootstrap(s: &str) -> Result<Vec<String>, String> {
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

impl ConnectArgs {
    /// The bootstrap addresses and the client configuration.
    pub fn config(&self) -> Result<(Vec<String>, ClientConfig), String> {
        let brokers = parse_bootstrap(&self.bootstrap)?;
        if self.timeout_ms == 0 {
            return Err("--timeout-ms must be at least 1".into());
        }
        if self.server_name.is_some() && !self.tls && self.ca_file.is_none() {
            return Err(
                "--server-name needs --tls or --ca-file (it names the certificate to expect)"
                    .into(),
            );
        }
        let timeout = Duration::from_millis(self.timeout_ms);
        let mut cfg = ClientConfig::default();
        // One deadline for every wait: connect, TLS, each request, writes and
        // shutdown.
        cfg.conn = cfg.conn.all_timeouts(timeout);
        cfg.api_versions_timeout = timeout;
        for c in &self.caps {
            let (k, m) = parse_pair(c).map_err(|e| format!("--cap {e}"))?;
            cfg = cfg.cap(k, m);
        }
        if let Some(r) = &self.release {
            let r = KafkaRelease::parse(r).map_err(|e| format!("--release {e}"))?;
            cfg = cfg.release_pin(r);
        }
        if let Some(r) = &self.fallback_release {
            let r = KafkaRelease::parse(r).map_err(|e| format!("--fallback-release {e}"))?;
            cfg = cfg.fallback_release(r);
        }
        if !self.fallback.is_empty() {
            let pairs = self
                .fallback
                .iter()
                .map(|s| parse_pair(s).map_err(|e| format!("--fallback {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            // Explicit entries refine a release's table rather than replace it.
            let mut max = cfg.fallback.take().map(|f| f.max).unwrap_or_default();
            max.extend(pairs);
            cfg = cfg.fallback_versions(max);
        }
        match (
            &self.sasl_mechanism,
            &self.sasl_user,
            &self.sasl_password_env,
        ) {
            (None, None, None) => {}
            (Some(m), Some(u), Some(var)) => {
                let mech = SaslMechanism::parse(m).ok_or_else(|| {
                    format!(
                        "--sasl-mechanism {m:?}: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
                    )
                })?;
                let password = std::env::var(var).map_err(|_| {
                    format!("--sasl-password-env {var}: the variable is not set (or not UTF-8)")
                })?;
                cfg.authenticator = Some(Arc::new(Sasl::new(mech, u, &password)));
            }
            _ => {
                return Err(
                    "SASL needs all of --sasl-mechanism, --sasl-user and --sasl-password-env"
                        .into(),
                )
            }
        }
        if self.tls || self.ca_file.is_some() {
            let mut tls = match &self.ca_file {
                Some(p) => TlsConfig::custom_ca(p),
                None => TlsConfig::webpki_roots(),
            }
            .map_err(|e| e.to_string())?;
            tls.server_name = self.server_name.clone();
            cfg.conn.tls = Some(tls);
        }
        Ok((brokers, cfg))
    }
}
