//! The cluster layer: many brokers seen as one cluster.
//!
//! A [`Cluster`] bootstraps from a list of addresses (any that answers
//! Metadata will do), keeps the metadata ([`metadata`]: brokers, topics with
//! their ids, partition leaders with their epochs), opens one [`Broker`] per
//! node lazily (each connection negotiated on its own, and renegotiated on
//! reconnect), and sends each request where it belongs ([`crate::protocol::route`]:
//! the partition leader, the group or transaction coordinator, the
//! controller, or any broker), every version chosen by the protocol layer on
//! that broker's connection.
//!
//! Around each request: the coordinator cache (`coordinator`), retries
//! with jittered, bounded backoff inside one deadline per call
//! ([`backoff`], [`retry`]), throttling (KIP-219: nothing goes to a broker
//! before the `throttle_time_ms` it asked for has passed), and the
//! cluster-wide feature view ([`features`]: the finalized features of the
//! broker with the highest FinalizedFeaturesEpoch), which gates
//! transactional versions instead of whichever connection answered last.
//!
//! Connections to nodes known from metadata carry the cluster id and node id
//! in ApiVersions v5 (KIP-1242); a broker that answers REBOOTSTRAP_REQUIRED
//! there, or in Metadata (KIP-1102), sends the client back to its bootstrap
//! addresses, as does every known node being unreachable (KIP-899).
//!
//! What the producer, consumer and admin layers use: [`Cluster::send`] and
//! [`Cluster::send_to`], [`Cluster::leader`], [`Cluster::broker`] (a
//! broker's connection and negotiated table), [`Cluster::coordinator`],
//! [`Cluster::refresh_metadata`], [`Cluster::features`].

pub mod backoff;
pub mod config;
mod coordinator;
pub mod error;
pub mod features;
pub mod metadata;
mod no_reply;
mod refresh;
pub mod retry;
mod routed;
pub mod routing;
mod send;
pub mod single_flight;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

pub use config::ClusterConfig;
pub use error::ClusterError;
pub use features::FeatureView;
pub use metadata::{Metadata, Node};
pub use routed::{Routed, Target};

use crate::net::{Broker, ClientConfig, Negotiated};
use crate::protocol::apiversions::Identity;
use crate::protocol::route::{CoordinatorKind, Route, TopicPartition};
use single_flight::SingleFlight;

/// A Kafka cluster, reached through its bootstrap addresses.
///
/// ```no_run
/// use kwire::messages::MetadataRequest;
/// use kwire_client::{Cluster, ClusterConfig};
///
/// # async fn run() -> Result<(), kwire_client::ClusterError> {
/// let cluster = Cluster::connect(&["127.0.0.1:9092"], ClusterConfig::default()).await?;
/// // Routed by what the request is, at the highest version both sides take.
/// let answer = cluster.send(&MetadataRequest::default()).await?;
/// println!("{} brokers, from {} at v{}", answer.response.brokers.len(), answer.broker, answer.version);
/// cluster.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct Cluster {
    cfg: ClusterConfig,
    client: Arc<ClientConfig>,
    bootstrap: Vec<String>,
    state: Mutex<State>,
    features: Arc<Mutex<FeatureView>>,
    refreshes: SingleFlight<(), Result<Arc<Metadata>, ClusterError>>,
    lookups: SingleFlight<(CoordinatorKind, Vec<String>), Result<(), ClusterError>>,
}

struct State {
    metadata: Arc<Metadata>,
    fetched_at: Option<Instant>,
    /// Brokers by node id: those metadata lists, and coordinators a
    /// FindCoordinator answer named.
    nodes: HashMap<i32, Arc<Broker>>,
    /// The bootstrap addresses' brokers (no node id, no identity).
    seeds: Vec<Arc<Broker>>,
    coordinators: HashMap<(CoordinatorKind, String), i32>,
    /// Broker address -> no request before this instant (KIP-219).
    throttled: HashMap<String, Instant>,
    /// Broker address -> not picked as "any broker" before this instant.
    unreachable: HashMap<String, Instant>,
    /// Topics metadata refreshes ask for.
    interest: BTreeSet<String>,
    /// How many times the client went back to its bootstrap addresses.
    rebootstraps: u64,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("bootstrap", &self.bootstrap)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A cluster to be reached through `bootstrap` (`host:port` each); no
    /// connection is opened until a request needs one.
    pub fn new<S: AsRef<str>>(
        bootstrap: &[S],
        cfg: ClusterConfig,
    ) -> Result<Cluster, ClusterError> {
        let bootstrap: Vec<String> = bootstrap
            .iter()
            .map(|s| s.as_ref().trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if bootstrap.is_empty() {
            return Err(ClusterError::Config("no bootstrap address".into()));
        }
        let client = Arc::new(cfg.client.clone());
        let features = Arc::new(Mutex::new(FeatureView::default()));
        let seeds = bootstrap
            .iter()
            .map(|a| Arc::new(Self::make_broker(&client, &features, a, None, None)))
            .collect();
        Ok(Cluster {
            cfg,
            client,
            bootstrap,
            state: Mutex::new(State {
                metadata: Arc::new(Metadata::default()),
                fetched_at: None,
                nodes: HashMap::new(),
                seeds,
                coordinators: HashMap::new(),
                throttled: HashMap::new(),
                unreachable: HashMap::new(),
                interest: BTreeSet::new(),
                rebootstraps: 0,
            }),
            features,
            refreshes: SingleFlight::default(),
            lookups: SingleFlight::default(),
        })
    }

    /// [`Cluster::new`], then the first metadata (brokers only) from the
    /// first bootstrap address that answers within the call's deadline.
    pub async fn connect<S: AsRef<str>>(
        bootstrap: &[S],
        cfg: ClusterConfig,
    ) -> Result<Cluster, ClusterError> {
        let c = Cluster::new(bootstrap, cfg)?;
        c.refresh_metadata(&[]).await?;
        Ok(c)
    }

    fn make_broker(
        client: &Arc<ClientConfig>,
        features: &Arc<Mutex<FeatureView>>,
        addr: &str,
        node_id: Option<i32>,
        identity: Option<Identity>,
    ) -> Broker {
        let view = features.clone();
        let mut b = Broker::new(addr, node_id, client.clone());
        if let Some(id) = identity {
            b = b.with_identity(id);
        }
        let name = b.name();
        b.on_negotiated(Arc::new(move |n: &Negotiated| {
            let mut v = view.lock().unwrap_or_else(|p| p.into_inner());
            if v.observe(&name, &n.versions) {
                tracing::info!(broker = %name, epoch = ?v.epoch(),
                    transaction_version = v.transaction_version(),
                    "cluster feature view: highest FinalizedFeaturesEpoch so far");
            }
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is a lookup or a swap: a poisoned lock
        // still holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.cfg
    }

    /// The bootstrap addresses.
    pub fn bootstrap(&self) -> &[String] {
        &self.bootstrap
    }

    /// The metadata held now (no I/O).
    pub fn metadata(&self) -> Arc<Metadata> {
        self.lock().metadata.clone()
    }

    /// The cluster-wide feature view now.
    pub fn features(&self) -> FeatureView {
        self.features
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many times the client went back to its bootstrap addresses.
    pub fn rebootstraps(&self) -> u64 {
        self.lock().rebootstraps
    }

    /// Until when the broker at `addr` asked not to be sent anything.
    pub fn throttled_until(&self, addr: &str) -> Option<Instant> {
        self.lock()
            .throttled
            .get(addr)
            .copied()
            .filter(|t| *t > Instant::now())
    }

    /// The cached coordinator of `key`, if any (no I/O).
    pub fn cached_coordinator(&self, kind: CoordinatorKind, key: &str) -> Option<i32> {
        self.lock()
            .coordinators
            .get(&(kind, key.to_string()))
            .copied()
    }

    /// The broker of node `id` (metadata's, or a coordinator's), not yet
    /// connected; its connection and negotiated table are
    /// [`Broker::connection`].
    pub fn broker(&self, id: i32) -> Result<Arc<Broker>, ClusterError> {
        let mut st = self.lock();
        if let Some(b) = st.nodes.get(&id) {
            return Ok(b.clone());
        }
        let node = st
            .metadata
            .brokers
            .get(&id)
            .cloned()
            .ok_or(ClusterError::UnknownNode(id))?;
        let b = self.node_broker(&st.metadata, &node);
        st.nodes.insert(id, b.clone());
        Ok(b)
    }

    fn node_broker(&self, md: &Metadata, node: &Node) -> Arc<Broker> {
        let identity = md.cluster_id.as_ref().map(|c| Identity {
            cluster_id: c.clone(),
            node_id: node.id,
        });
        // Without a cluster id (Metadata v0-1) there is no identity to send,
        // but the node id still names the broker.
        Arc::new(Self::make_broker(
            &self.client,
            &self.features,
            &node.addr(),
            Some(node.id),
            identity,
        ))
    }

    /// The leader of `tp`, refreshing metadata when it is not known.
    pub async fn leader(&self, tp: &TopicPartition) -> Result<Arc<Broker>, ClusterError> {
        let deadline = Instant::now() + self.cfg.timeout;
        self.target(&Route::Leader(vec![tp.clone()]), deadline)
            .await
    }

    /// The coordinator of `key`, looking it up when it is not cached.
    pub async fn coordinator(
        &self,
        kind: CoordinatorKind,
        key: &str,
    ) -> Result<Arc<Broker>, ClusterError> {
        let deadline = Instant::now() + self.cfg.timeout;
        let route = Route::Coordinator {
            kind,
            keys: vec![key.to_string()],
        };
        self.target(&route, deadline).await
    }

    /// A broker of its own (a connection outside the shared pool) to the
    /// coordinator of `key`. A broker answers one connection's requests in
    /// order, and a classic JoinGroup waits at the coordinator for the
    /// whole rebalance: on the shared connection it would hold up every
    /// fetch, commit and other member's heartbeat to that node, long
    /// enough for those members' sessions to time out. Kafka's consumer
    /// keeps a coordinator connection of its own for the same reason.
    /// The caller keeps it for as long as the coordinator stays the same
    /// node ([`Broker::node_id`]).
    pub async fn dedicated_coordinator(
        &self,
        kind: CoordinatorKind,
        key: &str,
    ) -> Result<Arc<Broker>, ClusterError> {
        let shared = self.coordinator(kind, key).await?;
        Ok(Arc::new(Self::make_broker(
            &self.client,
            &self.features,
            shared.addr(),
            shared.node_id(),
            shared.identity().cloned(),
        )))
    }

    /// The coordinators of `keys` (node ids), looked up together: one
    /// batched FindCoordinator when the broker takes v4+, else one request
    /// per key.
    pub async fn coordinators(
        &self,
        kind: CoordinatorKind,
        keys: &[&str],
    ) -> Result<std::collections::BTreeMap<String, i32>, ClusterError> {
        let deadline = Instant::now() + self.cfg.timeout;
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| self.cached_coordinator(kind, k).is_none())
            .map(|k| k.to_string())
            .collect();
        if !missing.is_empty() {
            self.lookup(kind, missing, deadline).await?;
        }
        Ok(keys
            .iter()
            .filter_map(|k| Some((k.to_string(), self.cached_coordinator(kind, k)?)))
            .collect())
    }

    /// Forgets the cached coordinator of `key` (after the caller saw
    /// NOT_COORDINATOR in a response it handles itself).
    pub fn forget_coordinator(&self, kind: CoordinatorKind, key: &str) {
        self.lock().coordinators.remove(&(kind, key.to_string()));
    }

    /// A broker for requests any broker can serve: one with a live
    /// connection if possible, not one that just failed or throttles.
    pub fn any_broker(&self) -> Arc<Broker> {
        let mut st = self.lock();
        self.pick_any(&mut st)
    }

    fn pick_any(&self, st: &mut State) -> Arc<Broker> {
        let now = Instant::now();
        let blocked = |addr: &str| {
            st.unreachable.get(addr).is_some_and(|t| *t > now)
                || st.throttled.get(addr).is_some_and(|t| *t > now)
        };
        // Only the chosen node gets a broker object: a reply listing many
        // brokers costs entries in the metadata, not connections' state.
        let md = st.metadata.clone();
        let best = md
            .brokers
            .values()
            .map(|n| {
                let addr = n.addr();
                let live = st.nodes.get(&n.id).is_some_and(|b| b.live().is_some());
                (blocked(&addr), !live, n.id, n)
            })
            .min_by_key(|(blocked, idle, id, _)| (*blocked, *idle, *id))
            .filter(|(blocked, ..)| !blocked)
            .map(|(.., n)| n.clone());
        if let Some(n) = best {
            return st
                .nodes
                .entry(n.id)
                .or_insert_with(|| self.node_broker(&md, &n))
                .clone();
        }
        st.seeds
            .iter()
            .find(|b| !blocked(b.addr()))
            .or_else(|| st.seeds.first())
            .cloned()
            .unwrap_or_else(|| Arc::new(Broker::new(&self.bootstrap[0], None, self.client.clone())))
    }

    fn mark_unreachable(&self, addr: &str) {
        let until = Instant::now() + self.cfg.unreachable_for;
        self.lock().unreachable.insert(addr.to_string(), until);
    }

    fn throttle(&self, addr: &str, ms: u32) {
        let until = Instant::now() + Duration::from_millis(u64::from(ms));
        tracing::info!(broker = %addr, throttle_ms = ms, "broker throttles this client (KIP-219)");
        let mut st = self.lock();
        let t = st.throttled.entry(addr.to_string()).or_insert(until);
        if *t < until {
            *t = until;
        }
    }

    /// Closes every connection.
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Broker>> = {
            let st = self.lock();
            st.nodes.values().chain(st.seeds.iter()).cloned().collect()
        };
        for b in all {
            b.disconnect().await;
        }
    }
}
