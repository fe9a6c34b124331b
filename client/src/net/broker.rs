//! One broker and its connection: opened lazily, negotiated, replaced when
//! it closes.
//!
//! Per broker, per connection: a [`Broker`] owns at most one live
//! connection with its own [`BrokerVersions`]; a reconnect renegotiates.
//! When the broker closes the connection right after a request (how a
//! broker rejects a version it does not take: Kafka's `SocketServer` closes
//! the channel on an `UnsupportedVersionException`), the broker
//! renegotiates and, if the request is safe to send twice, retries once with
//! a freshly chosen version; otherwise it reports exactly that.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kwire::Request;
use tokio::sync::watch;

use super::auth::AuthContext;
use super::config::ClientConfig;
use super::conn::ConnError;
use super::error::ClientError;
use super::handshake::{negotiate, Negotiated};
use super::observe::{Answer, Negotiation, Unanswered};
use super::request::request_on;
use crate::protocol::api::{api_name, VersionRange};
use crate::protocol::apiversions::Identity;
use crate::protocol::choose::{choose_for, Choice, Overrides};
use crate::protocol::facts::{is_retry_safe, request_facts};
use crate::protocol::reply::reply_facts;
use crate::protocol::versions::BrokerVersions;

/// Per-request options; everything defaults to "look at the request".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// The version range of a transaction's locked plan: the version lies
    /// in it and the transaction.version gate gives way
    /// ([`Overrides::transaction_plan`]).
    pub transaction_plan: Option<VersionRange>,
    /// Overrides whether a retry after a close is safe.
    pub retry_safe: Option<bool>,
    /// Overrides the request timeout.
    pub timeout: Option<Duration>,
}

impl SendOptions {
    /// The part of the options that bears on the version.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            min_version: self.min_version,
            max_version: self.max_version,
            transactional: self.transactional,
            topics_without_id: self.topics_without_id,
            transaction_version: self.transaction_version,
            transaction_plan: self.transaction_plan,
        }
    }
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

/// Called with every connection the broker negotiates, before it carries
/// a request (the cluster layer keeps its feature view with it).
pub type NegotiatedHook = Arc<dyn Fn(&Negotiated) + Send + Sync>;

/// One broker, reached by address.
///
/// Its state sits behind a plain mutex held only to look at or swap the
/// slot, never across a network wait: a broker that stops reading, or a
/// negotiation that hangs until its deadline, cannot block `disconnect` or
/// other callers beyond their own deadlines.
pub struct Broker {
    addr: String,
    node_id: Option<i32>,
    identity: Option<Identity>,
    cfg: Arc<ClientConfig>,
    slot: Mutex<Slot>,
    generation: AtomicU64,
    on_negotiated: Option<NegotiatedHook>,
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("addr", &self.addr)
            .field("node_id", &self.node_id)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
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
            identity: None,
            cfg,
            slot: Mutex::new(Slot::Idle),
            generation: AtomicU64::new(0),
            on_negotiated: None,
        }
    }

    /// The node of a known cluster this address should be (from metadata):
    /// every connection sends it with ApiVersions v5+ (KIP-1242).
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.node_id = Some(identity.node_id);
        self.identity = Some(identity);
        self
    }

    /// Calls `hook` with every connection this broker negotiates.
    pub fn on_negotiated(mut self, hook: NegotiatedHook) -> Self {
        self.on_negotiated = Some(hook);
        self
    }

    /// The node id, when known.
    pub fn node_id(&self) -> Option<i32> {
        self.node_id
    }

    /// The identity sent with ApiVersions v5+, if any.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The configuration every connection of this broker uses.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
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
            let res = negotiate(
                &self.addr,
                &self.name(),
                &self.cfg,
                self.identity.as_ref(),
                generation,
            )
            .await
            .map(Arc::new);
            if let Ok(n) = &res {
                if let Some(hook) = &self.on_negotiated {
                    hook(n);
                }
                if let Some(o) = &self.cfg.observer {
                    o.negotiated(&Negotiation {
                        broker: &self.name(),
                        node_id: self.node_id,
                        generation: n.generation,
                        connection: n.connection_id,
                        versions: &n.versions,
                        api_versions_sent: n.api_versions_sent,
                    });
                }
            }
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

    /// The live negotiated connection, if there is one (no I/O).
    pub fn live(&self) -> Option<Arc<Negotiated>> {
        match &*self.lock_slot() {
            Slot::Live(n) if !n.conn.is_closed() => Some(n.clone()),
            _ => None,
        }
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
        let facts = request_facts(req);
        let chosen = choose_for(
            api,
            &facts,
            &opts.overrides(),
            versions,
            &self.cfg.caps,
            &self.name(),
        );
        match chosen {
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

    /// Re-authenticates `live` if its session is due (KIP-368): new
    /// requests wait, requests in flight finish first, then the configured
    /// authenticator runs again on the same connection and the next
    /// deadline comes from the new session lifetime. Without this the
    /// broker closes the connection at the first request after the session
    /// ends.
    async fn keep_session(&self, live: &Negotiated) -> Result<(), ClientError> {
        let Some(auth) = self.cfg.authenticator.clone() else {
            return Ok(());
        };
        if !live.session.due() {
            return Ok(());
        }
        let _alone = live.session.gate.write().await;
        if !live.session.due() {
            // Another request re-authenticated while this one waited.
            return Ok(());
        }
        let name = self.name();
        let cx = AuthContext {
            conn: &live.conn,
            versions: &live.versions,
            broker: &name,
            client_id: self.cfg.client_id.as_deref(),
            caps: &self.cfg.caps,
            timeout: self.cfg.conn.request_timeout,
        };
        match auth.authenticate(cx).await {
            Ok(done) => {
                live.session.schedule(done.session_lifetime);
                let n = live.session.reauths.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(broker = %name, mechanism = %auth.name(), reauthentications = n,
                    session_lifetime = ?done.session_lifetime, "re-authenticated (KIP-368)");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(broker = %name, mechanism = %auth.name(), error = %e, "re-authentication failed");
                Err(ClientError::Auth {
                    broker: name,
                    mechanism: auth.name().to_string(),
                    source: Box::new(e),
                })
            }
        }
    }

    /// Sends `req`, which the broker will not answer (Produce with acks=0),
    /// at the chosen version; returns the version once the request is
    /// queued on the connection.
    pub async fn send_no_reply<R: Request + 'static>(
        &self,
        req: &R,
        opts: &SendOptions,
    ) -> Result<i16, ClientError> {
        let live = self.connection().await?;
        if let Err(e) = self.keep_session(&live).await {
            self.forget(live.generation).await;
            return Err(e);
        }
        // As in `send_with`: a due re-authentication (KIP-368) waits for
        // this request to be written, and this request for it.
        let _session = live.session.gate.read().await;
        let choice = self.choose_for(req, opts, &live.versions)?;
        let timeout = opts.timeout.unwrap_or(self.cfg.conn.request_timeout);
        crate::net::request::request_no_reply_on(
            &live.conn,
            self.cfg.client_id.as_deref(),
            req,
            choice.version,
            timeout,
        )
        .await?;
        Ok(choice.version)
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
            if let Err(e) = self.keep_session(&live).await {
                self.forget(live.generation).await;
                return Err(e);
            }
            // Held while the request is on the connection: a due
            // re-authentication waits for it, and it for the re-authentication.
            let _session = live.session.gate.read().await;
            let choice = self.choose_for(req, opts, &live.versions)?;
            let version = choice.version;
            let timeout = opts.timeout.unwrap_or(self.cfg.conn.request_timeout);
            let started = std::time::Instant::now();
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
                    if let Some(o) = &self.cfg.observer {
                        let facts = reply_facts(&response, version);
                        o.answered(&Answer {
                            broker: &self.name(),
                            node_id: self.node_id,
                            generation: live.generation,
                            connection: live.connection_id,
                            api,
                            version,
                            errors: &facts.errors,
                            elapsed: started.elapsed(),
                        });
                    }
                    return Ok(Sent {
                        response,
                        version,
                        choice,
                        generation: live.generation,
                    });
                }
                Err(ClientError::Conn(ConnError::Closed {
                    in_flight: true,
                    how,
                    ..
                })) => {
                    tracing::warn!(broker = %self.name(), api = %api_name(api), version, %how,
                        "broker closed the connection right after the request: renegotiating");
                    if let Some(o) = &self.cfg.observer {
                        o.closed_after_request(&Unanswered {
                            broker: &self.name(),
                            node_id: self.node_id,
                            generation: live.generation,
                            connection: live.connection_id,
                            api,
                            version,
                        });
                    }
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
