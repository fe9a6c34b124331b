//! A negotiated connection to one broker, and the client over many.
//!
//! Per broker, per connection: each [`Broker`] owns at most one live
//! connection with its own [`BrokerVersions`]; a reconnect renegotiates.
//! When the broker closes the connection right after a request (how a
//! broker rejects a version it does not take: Kafka's `SocketServer` closes
//! the channel on an `UnsupportedVersionException`), the
//! broker renegotiates and, if the request is safe to send twice, retries
//! once with a freshly chosen version; otherwise it reports exactly that.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kwire::messages::api_versions_request::ApiVersionsRequest;
use kwire::messages::request_header::RequestHeader;
use kwire::messages::response_header::ResponseHeader;
use kwire::wire::Reader;
use kwire::{Message, Request, StrBytes};
use tokio::sync::watch;

use crate::apiversions::{self, classify, CLIENT_SOFTWARE_NAME, CLIENT_SOFTWARE_VERSION};
use crate::choose::{choose, topic_id_gate, transaction_gate, Choice, Constraints};
use crate::conn::{ConnConfig, ConnError, Connection, RequestMeta};
use crate::error::ClientError;
use crate::inspect::{inspect, is_retry_safe};
use crate::negotiate::{Action, Attempt, FallbackVersions, NegotiationConfig, Negotiator, Outcome};
use crate::proto::{api_name, our_range, ApiKey, VersionRange};
use crate::table::{BrokerVersions, KeySample, VersionCaps};

/// Client-wide settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The request header's client id.
    pub client_id: Option<String>,
    /// ClientSoftwareName/Version sent with ApiVersions v3+; sanitized to
    /// Kafka's pattern when set through [`ClientConfig::software`].
    pub software_name: String,
    pub software_version: String,
    pub conn: ConnConfig,
    /// How long to wait for an ApiVersions reply before treating the
    /// connection as "no reply" (librdkafka: api.version.request.timeout.ms).
    pub api_versions_timeout: Duration,
    /// Per-API maximums (user caps; later release pins).
    pub caps: VersionCaps,
    /// Used when a broker never answers ApiVersions (brokers before 0.10),
    /// like librdkafka's broker.version.fallback.
    pub fallback: Option<FallbackVersions>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            client_id: Some("kwire".to_string()),
            software_name: CLIENT_SOFTWARE_NAME.to_string(),
            software_version: CLIENT_SOFTWARE_VERSION.to_string(),
            conn: ConnConfig::default(),
            api_versions_timeout: Duration::from_secs(10),
            caps: VersionCaps::default(),
            fallback: None,
        }
    }
}

impl ClientConfig {
    /// Sets the software name and version, made valid for Kafka's pattern.
    pub fn software(mut self, name: &str, version: &str) -> Self {
        self.software_name = apiversions::sanitize_software_field(name);
        self.software_version = apiversions::sanitize_software_field(version);
        self
    }

    /// Sets per-API fallback maximums used when ApiVersions gets no reply.
    pub fn fallback_versions(mut self, max: impl IntoIterator<Item = (ApiKey, i16)>) -> Self {
        self.fallback = Some(FallbackVersions {
            source: "configured fallback".to_string(),
            max: max.into_iter().map(|(k, v)| (k.0, v)).collect(),
        });
        self
    }

    /// Adds a user cap for one API.
    pub fn cap(mut self, api: ApiKey, max: i16) -> Self {
        self.caps = std::mem::take(&mut self.caps).cap("user cap", api, max);
        self
    }
}

/// Per-request options; everything defaults to "look at the request".
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// The request needs a field that exists from this version on.
    pub min_version: Option<i16>,
    /// A cap for this request only.
    pub max_version: Option<i16>,
    /// Overrides the detection of "part of a transaction" (Produce with a
    /// transactional id; TxnOffsetCommit and EndTxn always are).
    pub transactional: Option<bool>,
    /// Overrides the count of topics without a topic id.
    pub topics_without_id: Option<usize>,
    /// Overrides the connection's finalized `transaction.version` (a caller
    /// that tracks the cluster-wide, highest-epoch value, as Java does).
    pub transaction_version: Option<i16>,
    /// Overrides whether a retry after a close is safe.
    pub retry_safe: Option<bool>,
    /// Overrides the request timeout.
    pub timeout: Option<Duration>,
}

/// A reply and how its version was chosen.
#[derive(Debug, Clone)]
pub struct Sent<T> {
    pub response: T,
    pub version: i16,
    pub choice: Choice,
    /// Which connection of this broker carried it (1 = the first).
    pub generation: u64,
}

/// A connection that finished ApiVersions.
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
}

/// What a [`Broker`] has: nothing, a negotiation in progress, or a live
/// negotiated connection.
#[derive(Debug)]
enum Slot {
    Idle,
    /// One caller opens and negotiates; others wait for its result here
    /// (the negotiation's own deadlines bound the wait).
    Connecting {
        generation: u64,
        result: watch::Receiver<NegotiationResult>,
    },
    Live(Arc<Negotiated>),
}

type NegotiationResult = Option<Result<Arc<Negotiated>, ClientError>>;

enum Claim {
    Live(Arc<Negotiated>),
    Wait(watch::Receiver<NegotiationResult>),
    Drive(u64, watch::Sender<NegotiationResult>),
}

/// One broker, reached by address.
///
/// Its state sits behind a plain mutex held only to look at or swap the
/// slot, never across a network wait: a broker that stops reading, or a
/// negotiation that hangs until its deadline, cannot block `disconnect` or
/// other callers beyond their own deadlines.
#[derive(Debug)]
pub struct Broker {
    addr: String,
    node_id: Option<i32>,
    cfg: Arc<ClientConfig>,
    slot: Mutex<Slot>,
    generation: AtomicU64,
}

/// Puts the slot back to idle if the negotiation that owns it is dropped
/// before it finishes (a cancelled caller), so waiters retry instead of
/// waiting forever.
struct Driving<'a> {
    broker: &'a Broker,
    generation: u64,
}

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        let mut slot = self.broker.lock_slot();
        if matches!(&*slot, Slot::Connecting { generation, .. } if *generation == self.generation) {
            *slot = Slot::Idle;
        }
    }
}

impl Broker {
    pub fn new(addr: &str, node_id: Option<i32>, cfg: Arc<ClientConfig>) -> Self {
        Broker {
            addr: addr.to_string(),
            node_id,
            cfg,
            slot: Mutex::new(Slot::Idle),
            generation: AtomicU64::new(0),
        }
    }

    fn lock_slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // Every critical section is a single swap or clone: a poisoned
        // lock still holds a consistent slot.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `host:port (node 3)`, for logs and errors.
    pub fn name(&self) -> String {
        match self.node_id {
            Some(id) => format!("{} (node {id})", self.addr),
            None => self.addr.clone(),
        }
    }

    /// The live negotiated connection, opening and negotiating one if
    /// there is none or the last one closed. Concurrent callers share one
    /// negotiation.
    pub async fn connection(&self) -> Result<Arc<Negotiated>, ClientError> {
        loop {
            let (generation, tx) = match self.claim() {
                Claim::Live(n) => return Ok(n),
                Claim::Wait(mut result) => {
                    // Err: the negotiating caller was cancelled; try again.
                    if let Ok(r) = result.wait_for(|r| r.is_some()).await {
                        if let Some(r) = r.clone() {
                            return r;
                        }
                    }
                    continue;
                }
                Claim::Drive(generation, tx) => (generation, tx),
            };
            let driving = Driving {
                broker: self,
                generation,
            };
            let res = negotiate(&self.addr, &self.name(), &self.cfg, generation)
                .await
                .map(Arc::new);
            let installed = {
                let mut slot = self.lock_slot();
                let ours =
                    matches!(&*slot, Slot::Connecting { generation: g, .. } if *g == generation);
                if ours {
                    *slot = match &res {
                        Ok(n) => Slot::Live(n.clone()),
                        Err(_) => Slot::Idle,
                    };
                }
                ours
            };
            drop(driving);
            let res = match res {
                // `disconnect` ran while this negotiated: honour it.
                Ok(n) if !installed => {
                    n.conn.shutdown().await;
                    Err(ClientError::Conn(ConnError::Shutdown {
                        addr: self.addr.clone(),
                    }))
                }
                other => other,
            };
            tx.send_replace(Some(res.clone()));
            return res;
        }
    }

    /// Looks at the slot: a live connection, a negotiation to wait for, or
    /// the job of negotiating (the slot then says so).
    fn claim(&self) -> Claim {
        let mut slot = self.lock_slot();
        match &*slot {
            Slot::Live(n) if !n.conn.is_closed() => return Claim::Live(n.clone()),
            Slot::Connecting { result, .. } => return Claim::Wait(result.clone()),
            Slot::Live(n) => {
                tracing::info!(broker = %self.name(), generation = n.generation,
                    "connection closed: reconnecting and renegotiating ApiVersions");
            }
            Slot::Idle => {}
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, result) = watch::channel(None);
        *slot = Slot::Connecting { generation, result };
        Claim::Drive(generation, tx)
    }

    /// This connection's table (negotiating first if needed).
    pub async fn versions(&self) -> Result<BrokerVersions, ClientError> {
        Ok(self.connection().await?.versions.clone())
    }

    /// Drops the live connection if it is still `generation`.
    async fn forget(&self, generation: u64) {
        let old = {
            let mut slot = self.lock_slot();
            match &*slot {
                Slot::Live(n) if n.generation == generation => {
                    std::mem::replace(&mut *slot, Slot::Idle)
                }
                _ => Slot::Idle,
            }
        };
        if let Slot::Live(n) = old {
            n.conn.shutdown().await;
        }
    }

    /// Closes the live connection, if any, and abandons a negotiation in
    /// progress (its result is shut down when it arrives). Bounded by the
    /// connection's `shutdown_timeout`.
    pub async fn disconnect(&self) {
        let old = std::mem::replace(&mut *self.lock_slot(), Slot::Idle);
        if let Slot::Live(n) = old {
            n.conn.shutdown().await;
        }
    }

    /// Chooses the version `req` would be sent at on this connection.
    pub fn choose_for<R: Request + 'static>(
        &self,
        req: &R,
        opts: &SendOptions,
        versions: &BrokerVersions,
    ) -> Result<Choice, ClientError> {
        let api = R::API_KEY;
        let facts = inspect(req);
        let ours = our_range(api).unwrap_or(VersionRange::new(R::VERSIONS.min, R::VERSIONS.max));
        let mut request = facts.allowed;
        if let Some(min) = opts.min_version {
            request.min = request.min.max(min);
        }
        let mut caps = self.cfg.caps.for_api(api);
        if let Some(max) = opts.max_version {
            caps.push(crate::choose::Cap {
                source: "request option".into(),
                max,
            });
        }
        let transactional = opts.transactional.unwrap_or(facts.transactional);
        let tv = opts
            .transaction_version
            .unwrap_or_else(|| versions.transaction_version());
        let without_id = opts.topics_without_id.unwrap_or(facts.topics_without_id);
        let gates = transaction_gate(api, transactional, tv)
            .into_iter()
            .chain(topic_id_gate(api, without_id))
            .collect();
        let c = Constraints {
            api,
            ours,
            broker: versions.get(api),
            request,
            caps,
            gates,
            broker_name: self.name(),
        };
        match choose(&c) {
            Ok(choice) => {
                if choice.gated() || choice.version < choice.highest_common {
                    tracing::info!(broker = %self.name(), api = %api_name(api), version = choice.version,
                        why = %choice.why(), "version chosen (lowered)");
                } else {
                    tracing::debug!(broker = %self.name(), api = %api_name(api), version = choice.version,
                        why = %choice.why(), "version chosen");
                }
                for r in &facts.reasons {
                    tracing::debug!(broker = %self.name(), api = %api_name(api), reason = %r, "request constraint");
                }
                Ok(choice)
            }
            Err(e) => {
                tracing::warn!(broker = %self.name(), api = %api_name(api), error = %e, "no usable version; nothing sent");
                Err(e.into())
            }
        }
    }

    /// Sends `req` at the chosen version and decodes the reply.
    pub async fn send<R: Request + 'static>(&self, req: &R) -> Result<R::Response, ClientError> {
        Ok(self.send_with(req, &SendOptions::default()).await?.response)
    }

    /// [`Broker::send`] with options; returns the version and the reasoning.
    pub async fn send_with<R: Request + 'static>(
        &self,
        req: &R,
        opts: &SendOptions,
    ) -> Result<Sent<R::Response>, ClientError> {
        let api = R::API_KEY;
        let retry_safe = opts.retry_safe.unwrap_or_else(|| is_retry_safe(api));
        let mut retried = false;
        let mut resent_unsent = false;
        loop {
            let live = self.connection().await?;
            let choice = self.choose_for(req, opts, &live.versions)?;
            let version = choice.version;
            let timeout = opts.timeout.unwrap_or(self.cfg.conn.request_timeout);
            match request_on(
                &live.conn,
                self.cfg.client_id.as_deref(),
                req,
                version,
                timeout,
                &self.name(),
            )
            .await
            {
                Ok(response) => {
                    return Ok(Sent {
                        response,
                        version,
                        choice,
                        generation: live.generation,
                    })
                }
                Err(ClientError::Conn(ConnError::Closed {
                    in_flight: true,
                    how,
                    ..
                })) => {
                    tracing::warn!(broker = %self.name(), api = %api_name(api), version, %how,
                        "broker closed the connection right after the request: renegotiating");
                    self.forget(live.generation).await;
                    let now = match self.connection().await {
                        Ok(n) => n.versions.get(api),
                        Err(e) => {
                            tracing::warn!(broker = %self.name(), error = %e, "renegotiation failed");
                            None
                        }
                    };
                    if retry_safe && !retried {
                        tracing::info!(broker = %self.name(), api = %api_name(api), previous_version = version,
                            now_advertised = ?now, "retrying once on the renegotiated connection");
                        retried = true;
                        continue;
                    }
                    return Err(ClientError::ClosedAfterRequest {
                        broker: self.name(),
                        api: api_name(api),
                        version,
                        retried,
                        retry_safe,
                        now_advertised: now,
                    });
                }
                Err(ClientError::Conn(ConnError::Closed {
                    in_flight: false, ..
                })) if !resent_unsent => {
                    // The connection closed before the request was written:
                    // nothing reached the broker, so sending it on a new
                    // connection is safe whatever the request is.
                    tracing::info!(broker = %self.name(), api = %api_name(api),
                        "connection closed before the request was sent: reconnecting");
                    self.forget(live.generation).await;
                    resent_unsent = true;
                    continue;
                }
                Err(e) => {
                    if live.conn.is_closed() {
                        self.forget(live.generation).await;
                    }
                    return Err(e);
                }
            }
        }
    }
}

/// Encodes header and body for correlation id `id`.
fn encode_request<R: Request>(
    buf: &mut BytesMut,
    id: i32,
    client_id: Option<&str>,
    req: &R,
    version: i16,
) -> Result<(), ClientError> {
    // Generated structs are non-exhaustive: start from the default.
    let mut header = RequestHeader::default();
    header.request_api_key = R::API_KEY.0;
    header.request_api_version = version;
    header.correlation_id = id;
    header.client_id = client_id.map(|s| StrBytes::from(s.to_string()));
    let hv = R::request_header_version(version);
    let enc = |e| ClientError::Encode {
        api: api_name(R::API_KEY),
        version,
        source: e,
    };
    header.encode(buf, hv).map_err(enc)?;
    req.encode(buf, version).map_err(enc)
}

/// Splits a response frame: checks the header, returns the body.
fn response_body<R: Request>(
    frame: Bytes,
    version: i16,
    broker: &str,
) -> Result<Bytes, ClientError> {
    let mut r = Reader::new(frame);
    ResponseHeader::decode(&mut r, R::response_header_version(version)).map_err(|e| {
        ClientError::Decode {
            api: api_name(R::API_KEY),
            version,
            broker: broker.to_string(),
            source: e,
        }
    })?;
    Ok(r.peek_rest().clone())
}

/// Sends one typed request on a connection at `version`.
pub async fn request_on<R: Request>(
    conn: &Connection,
    client_id: Option<&str>,
    req: &R,
    version: i16,
    timeout: Duration,
    broker: &str,
) -> Result<R::Response, ClientError> {
    let meta = RequestMeta {
        api_key: R::API_KEY.0,
        version,
    };
    let frame = conn
        .send_with_timeout(meta, timeout, |id, buf| {
            encode_request(buf, id, client_id, req, version)
        })
        .await?;
    let body = response_body::<R>(frame, version, broker)?;
    let mut r = Reader::new(body);
    let resp = R::Response::decode(&mut r, version).map_err(|e| ClientError::Decode {
        api: api_name(R::API_KEY),
        version,
        broker: broker.to_string(),
        source: e,
    })?;
    if !r.is_empty() {
        // librdkafka's mock (2.16) ends flexible Metadata replies with one
        // extra byte. Java's client reads a response without checking for
        // trailing bytes, so a broker may get away with it: accept, log.
        tracing::warn!(broker = %broker, api = %api_name(R::API_KEY), version, trailing = r.remaining(),
            "trailing bytes after the response body: ignored");
    }
    Ok(resp)
}

/// Our highest ApiVersions version, min-ed with any cap on key 18.
fn api_versions_max(cfg: &ClientConfig) -> i16 {
    let ours = our_range(ApiKey(18)).map(|r| r.max).unwrap_or(0);
    cfg.caps
        .max_for(ApiKey(18))
        .map_or(ours, |c| c.min(ours))
        .max(0)
}

/// Opens a connection to `addr` and runs the ApiVersions state machine.
pub async fn negotiate(
    addr: &str,
    name: &str,
    cfg: &ClientConfig,
    generation: u64,
) -> Result<Negotiated, ClientError> {
    let mut n = Negotiator::new(NegotiationConfig {
        max_version: api_versions_max(cfg),
        fallback: cfg.fallback.clone(),
    });
    let mut conn = Connection::connect(addr, cfg.conn.clone()).await?;
    let mut action = n.start();
    loop {
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
                return Ok(finish(conn, outcome, name, generation));
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
            apiversions::request(version, &cfg.software_name, &cfg.software_version);
        let meta = RequestMeta {
            api_key: 18,
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
                tracing::debug!(broker = %name, version, reply = ?reply_kind(&reply), "ApiVersions reply");
                n.on_reply(reply)
            }
            Err(ClientError::Conn(e)) => match e.as_closed() {
                Some(how) => {
                    tracing::info!(broker = %name, version, %how, "ApiVersions got no reply");
                    n.on_closed(how)
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
    }
}

fn reply_kind(r: &crate::negotiate::Reply) -> String {
    use crate::negotiate::Reply;
    match r {
        Reply::UnsupportedVersion {
            advertised: Some(a),
        } => format!("UNSUPPORTED_VERSION, {} key(s) as v0", a.len()),
        Reply::UnsupportedVersion { advertised: None } => {
            "UNSUPPORTED_VERSION, body not valid v0".into()
        }
        Reply::Table(t) => format!("ok, {} keys, body v{}", t.apis.len(), t.decoded_at),
        Reply::Error { code } => format!("error {code}"),
        Reply::Malformed { detail } => format!("malformed: {detail}"),
    }
}

fn finish(conn: Connection, outcome: Outcome, name: &str, generation: u64) -> Negotiated {
    match outcome {
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
            let unknown: KeySample = versions.unknown_apis().map(|(k, _)| k.0).collect();
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
            Negotiated {
                conn,
                versions,
                api_versions_sent: Some(sent_version),
                attempts,
                generation,
            }
        }
        Outcome::Fallback { fallback, attempts } => {
            tracing::warn!(broker = %name, source = %fallback.source, attempts = attempts.len(),
                "no ApiVersions reply on any attempt: using the configured fallback versions");
            Negotiated {
                conn,
                versions: BrokerVersions::from_fallback(&fallback),
                api_versions_sent: None,
                attempts,
                generation,
            }
        }
    }
}

/// Many brokers, one connection (and one version table) each.
#[derive(Debug)]
pub struct Client {
    cfg: Arc<ClientConfig>,
    brokers: Mutex<HashMap<String, Arc<Broker>>>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Self {
        Client {
            cfg: Arc::new(cfg),
            brokers: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The broker at `addr` (created on first use; not connected yet).
    pub fn broker(&self, addr: &str) -> Arc<Broker> {
        let mut m = self.brokers.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(addr.to_string())
            .or_insert_with(|| Arc::new(Broker::new(addr, None, self.cfg.clone())))
            .clone()
    }

    /// Closes every connection.
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Broker>> = self
            .brokers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for b in all {
            b.disconnect().await;
        }
    }
}
