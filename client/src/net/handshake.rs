//! Opening a ready connection to one broker: connect (TCP, TLS), then the
//! ApiVersions negotiation ([`crate::protocol::negotiate`] decides, this
//! performs), then the configured [`Authenticator`](crate::net::auth::Authenticator) (SASL), then ready.

use std::time::Instant;

use kwire::messages::api_versions_request::ApiVersionsRequest;

use super::auth::{AuthContext, Authenticated};
use super::config::ClientConfig;
use super::conn::{Closed, Connection, RequestMeta};
use super::error::ClientError;
use super::request::{encode_request, response_body};
use crate::protocol::api::{our_range, ApiKey};
use crate::protocol::apiversions::{self, classify, Identity};
use crate::protocol::negotiate::{
    Action, Attempt, NegotiationConfig, Negotiator, NoReply, Outcome, Reply,
};
use crate::protocol::versions::{BrokerVersions, KeySample};

/// A connection that finished ApiVersions (and authentication, if any).
#[derive(Debug)]
pub struct Negotiated {
    pub conn: Connection,
    pub versions: BrokerVersions,
    /// The ApiVersions version the accepted request went at (`None` when
    /// the fallback table is used).
    pub api_versions_sent: Option<i16>,
    pub attempts: Vec<Attempt>,
    /// 1 for the broker's first connection, +1 per reconnect.
    pub generation: u64,
    /// Unique among every connection this process negotiated (a broker
    /// object made anew for a node, after it left metadata and came back,
    /// starts its generations at 1 again).
    pub connection_id: u64,
    /// What the authenticator reported (`None`: no authenticator).
    pub authenticated: Option<Authenticated>,
    /// When the connection became ready (KIP-368 re-authentication counts
    /// the session lifetime from here).
    pub ready_at: Instant,
    /// The KIP-368 session: when to re-authenticate, and the gate that keeps
    /// new requests off the connection while it does.
    pub(crate) session: Session,
}

/// A connection's SASL session (KIP-368).
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Requests hold it shared while they are on the connection;
    /// re-authentication holds it alone, so nothing is interleaved with the
    /// SASL exchange and requests in flight finish first.
    pub(crate) gate: tokio::sync::RwLock<()>,
    /// When the next re-authentication is due (`None`: never).
    pub(crate) reauth_at: std::sync::Mutex<Option<Instant>>,
    pub(crate) reauths: std::sync::atomic::AtomicU64,
}

impl Session {
    /// Due between 85% and 95% of the lifetime, as Kafka's clients do
    /// (KIP-368), so a fleet does not re-authenticate in step.
    pub(crate) fn schedule(&self, lifetime: Option<std::time::Duration>) {
        let at = lifetime.map(|l| Instant::now() + l.mul_f64(0.85 + 0.10 * fastrand::f64()));
        *self.reauth_at.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub(crate) fn due(&self) -> bool {
        self.reauth_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| Instant::now() >= t)
    }
}

impl Negotiated {
    /// How many times this connection re-authenticated (KIP-368).
    pub fn reauthentications(&self) -> u64 {
        self.session
            .reauths
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Our highest ApiVersions version, min-ed with any cap on it.
fn api_versions_max(cfg: &ClientConfig) -> i16 {
    let ours = our_range(ApiKey::API_VERSIONS).map_or(0, |r| r.max);
    cfg.caps
        .max_for(ApiKey::API_VERSIONS)
        .map_or(ours, |c| c.min(ours))
        .max(0)
}

fn no_reply(how: Closed) -> NoReply {
    match how {
        Closed::Eof => NoReply::Eof,
        Closed::Reset => NoReply::Reset,
        Closed::TimedOut => NoReply::TimedOut,
    }
}

/// Opens a connection to `addr`, runs the ApiVersions state machine, then
/// the authenticator. `identity` (the cluster id and node id the address
/// is expected to be, from metadata) goes with ApiVersions v5 so a broker
/// that is not that node says REBOOTSTRAP_REQUIRED (KIP-1242); bootstrap
/// connections have none.
pub async fn negotiate(
    addr: &str,
    name: &str,
    cfg: &ClientConfig,
    identity: Option<&Identity>,
    generation: u64,
) -> Result<Negotiated, ClientError> {
    let mut n = Negotiator::new(NegotiationConfig {
        max_version: api_versions_max(cfg),
        fallback: cfg.fallback.clone(),
    });
    let mut conn = Connection::connect(addr, cfg.conn.clone()).await?;
    let mut action = n.start();
    let outcome = loop {
        let version = match action {
            Action::Send { version } => version,
            Action::Reconnect { version } => {
                tracing::info!(broker = %name, version, connection = n.connection(),
                    "no ApiVersions reply: reconnecting to retry");
                conn.shutdown().await;
                conn = Connection::connect(addr, cfg.conn.clone()).await?;
                version
            }
            Action::Done(outcome) => {
                if matches!(outcome, Outcome::Fallback { .. }) {
                    // The last attempt's connection was closed by the broker
                    // (or is stuck behind an unanswered ApiVersions): the
                    // fallback table goes with a fresh one that sends none.
                    conn.shutdown().await;
                    conn = Connection::connect(addr, cfg.conn.clone()).await?;
                }
                break outcome;
            }
            Action::Fail(e) => {
                tracing::warn!(broker = %name, error = %e, "ApiVersions negotiation failed");
                conn.shutdown().await;
                return Err(ClientError::Negotiation {
                    broker: name.to_string(),
                    source: Box::new(e),
                });
            }
        };
        tracing::debug!(broker = %name, version, "sending ApiVersions");
        let req: ApiVersionsRequest =
            apiversions::request(version, &cfg.software_name, &cfg.software_version, identity);
        let meta = RequestMeta {
            api_key: ApiKey::API_VERSIONS,
            version,
        };
        let client_id = cfg.client_id.as_deref();
        let sent = conn
            .send_with_timeout(meta, cfg.api_versions_timeout, |id, buf| {
                encode_request(buf, id, client_id, &req, version)
            })
            .await;
        action = match sent {
            Ok(frame) => {
                let body = response_body::<ApiVersionsRequest>(frame, version, name)?;
                let reply = classify(version, body);
                tracing::debug!(broker = %name, version, reply = %reply_kind(&reply), "ApiVersions reply");
                n.on_reply(reply)
            }
            Err(ClientError::Conn(e)) => match e.as_closed() {
                Some(how) => {
                    tracing::info!(broker = %name, version, %how, "ApiVersions got no reply");
                    n.on_no_reply(no_reply(how))
                }
                None => {
                    // The broker did answer, unusably (cut short, too large,
                    // a reply to another request): not a broker without
                    // ApiVersions, so no retry and never the fallback table.
                    tracing::warn!(broker = %name, version, error = %e,
                        "ApiVersions reply unusable: negotiation stops");
                    conn.shutdown().await;
                    return Err(ClientError::Conn(e));
                }
            },
            Err(e) => {
                conn.shutdown().await;
                return Err(e);
            }
        };
        if let Action::Send { version: next } = &action {
            tracing::info!(broker = %name, rejected = version, next, "ApiVersions downgrade on the same connection");
        }
    };
    let mut ready = finish(conn, outcome, name, generation);
    if let Some(auth) = &cfg.authenticator {
        let cx = AuthContext {
            conn: &ready.conn,
            versions: &ready.versions,
            broker: name,
            client_id: cfg.client_id.as_deref(),
            caps: &cfg.caps,
            timeout: cfg.conn.request_timeout,
        };
        match auth.authenticate(cx).await {
            Ok(done) => {
                tracing::info!(broker = %name, mechanism = %auth.name(),
                    session_lifetime = ?done.session_lifetime, "authenticated");
                ready.session.schedule(done.session_lifetime);
                ready.authenticated = Some(done);
                ready.ready_at = Instant::now();
            }
            Err(e) => {
                tracing::warn!(broker = %name, mechanism = %auth.name(), error = %e, "authentication failed");
                ready.conn.shutdown().await;
                return Err(ClientError::Auth {
                    broker: name.to_string(),
                    mechanism: auth.name().to_string(),
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(ready)
}

fn reply_kind(r: &Reply) -> String {
    match r {
        Reply::UnsupportedVersion {
            advertised: Some(a),
        } => format!("UNSUPPORTED_VERSION, {} key(s) as v0", a.len()),
        Reply::UnsupportedVersion { advertised: None } => {
            "UNSUPPORTED_VERSION, body not valid v0".into()
        }
        Reply::Table(t) => format!("ok, {} keys, body v{}", t.apis.len(), t.decoded_at),
        Reply::Error { code } => format!("error {}", code.0),
        Reply::Malformed { detail } => format!("malformed: {detail}"),
    }
}

static NEXT_CONNECTION_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn finish(conn: Connection, outcome: Outcome, name: &str, generation: u64) -> Negotiated {
    let (versions, api_versions_sent, attempts) = match outcome {
        Outcome::Negotiated {
            sent_version,
            table,
            attempts,
        } => {
            let versions = BrokerVersions::from_raw(&table, sent_version);
            if table.decoded_at < sent_version {
                tracing::warn!(broker = %name, sent = sent_version, decoded_at = table.decoded_at,
                    "ApiVersions reply has error 0 but is shaped for a lower version; accepted");
            }
            // One line each, however many keys the reply carried.
            let unknown: KeySample = versions.unknown_apis().map(|(k, _)| k).collect();
            if !unknown.is_empty() {
                tracing::debug!(broker = %name, keys = %unknown,
                    "broker advertises api keys this build does not know (kept aside)");
            }
            if !versions.duplicates.is_empty() {
                tracing::warn!(broker = %name, keys = %versions.duplicates,
                    "repeated api keys in ApiVersions; the first entry of each is kept");
            }
            tracing::info!(broker = %name, api_versions = sent_version, apis = versions.apis().count(),
                finalized_epoch = ?versions.finalized_epoch, attempts = attempts.len(), "ApiVersions negotiated");
            (versions, Some(sent_version), attempts)
        }
        Outcome::Fallback { fallback, attempts } => {
            tracing::warn!(broker = %name, source = %fallback.source, attempts = attempts.len(),
                "no ApiVersions reply on any attempt: using the configured fallback versions");
            (BrokerVersions::from_fallback(&fallback), None, attempts)
        }
    };
    Negotiated {
        conn,
        versions,
        api_versions_sent,
        attempts,
        generation,
        connection_id: NEXT_CONNECTION_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        authenticated: None,
        ready_at: Instant::now(),
        session: Session::default(),
    }
}
