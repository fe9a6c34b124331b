//! Fetching metadata and taking it in: which broker to ask (live nodes
//! first, then the others, then the bootstrap addresses: when every known
//! node is unreachable the client is back at its bootstrap list, KIP-899),
//! the request in the form that broker takes, and the merge into the cache
//! with its broker objects.

use std::sync::Arc;

use kwire::messages::metadata_request::MetadataRequestTopic;
use kwire::messages::{MetadataRequest, MetadataResponse};
use kwire::{ErrorCode, StrBytes};
use tokio::time::{timeout_at, Instant};

use super::metadata::Metadata;
use super::retry::{after_error, AfterError};
use super::{Cluster, ClusterError};
use crate::escape::escape;
use crate::net::{Broker, ClientError, ConnError, SendOptions};
use crate::protocol::reply::reply_facts;

impl Cluster {
    /// Fetches metadata for the topics of interest plus `topics` (which
    /// join the interest) and returns it. Concurrent callers share one
    /// fetch.
    pub async fn refresh_metadata(&self, topics: &[&str]) -> Result<Arc<Metadata>, ClusterError> {
        let deadline = Instant::now() + self.cfg.timeout;
        self.refresh_for(topics.iter().map(|t| t.to_string()), deadline)
            .await
    }

    pub(super) async fn refresh_for(
        &self,
        topics: impl IntoIterator<Item = String>,
        deadline: Instant,
    ) -> Result<Arc<Metadata>, ClusterError> {
        let added = {
            let mut st = self.lock();
            let before = st.interest.len();
            st.interest.extend(topics);
            st.interest.len() > before
        };
        let budget = deadline.saturating_duration_since(Instant::now());
        let run = self.refreshes.run((), || self.fetch_metadata(deadline));
        let md = match timeout_at(deadline, run).await {
            Ok(r) => r?,
            Err(_) => return Err(self.deadline_error("metadata refresh", budget, 1, None)),
        };
        // A refresh that was already running when our topics joined the
        // interest did not ask for them.
        if added
            && !self
                .lock()
                .interest
                .iter()
                .all(|t| md.topics.contains_key(t))
        {
            let again = self.refreshes.run((), || self.fetch_metadata(deadline));
            return match timeout_at(deadline, again).await {
                Ok(r) => r,
                Err(_) => Err(self.deadline_error("metadata refresh", budget, 2, None)),
            };
        }
        Ok(md)
    }

    pub(super) fn deadline_error(
        &self,
        what: &str,
        after: std::time::Duration,
        attempts: u32,
        last: Option<ClusterError>,
    ) -> ClusterError {
        ClusterError::Deadline {
            what: what.to_string(),
            after,
            attempts,
            last: last.map(Box::new),
        }
    }

    /// The brokers to ask, in order.
    fn metadata_candidates(&self) -> Vec<Arc<Broker>> {
        let mut st = self.lock();
        let first = self.pick_any(&mut st);
        let now = Instant::now();
        let mut others: Vec<Arc<Broker>> = st.nodes.values().cloned().collect();
        others.sort_by_key(|b| {
            (
                st.unreachable.get(b.addr()).is_some_and(|t| *t > now),
                b.node_id(),
            )
        });
        let mut out = vec![first];
        for b in others.into_iter().chain(st.seeds.iter().cloned()) {
            if !out.iter().any(|o| Arc::ptr_eq(o, &b)) {
                out.push(b);
            }
        }
        out
    }

    pub(super) async fn fetch_metadata(
        &self,
        deadline: Instant,
    ) -> Result<Arc<Metadata>, ClusterError> {
        let asked: Vec<String> = self.lock().interest.iter().cloned().collect();
        let mut candidates = self.metadata_candidates();
        let mut attempts: Vec<(String, ClientError)> = Vec::new();
        let mut i = 0;
        // Once per fetch: seeds that answer REBOOTSTRAP_REQUIRED too do
        // not send it round again.
        let mut rebooted = false;
        while i < candidates.len() && Instant::now() < deadline {
            let b = candidates[i].clone();
            i += 1;
            match self.metadata_from(&b, &asked, deadline).await {
                Ok(resp) if resp.error_code == ErrorCode::REBOOTSTRAP_REQUIRED.0 => {
                    tracing::warn!(broker = %b.name(), "Metadata says REBOOTSTRAP_REQUIRED (KIP-1102): back to the bootstrap addresses");
                    if !rebooted {
                        rebooted = true;
                        self.rebootstrap();
                        candidates = self.lock().seeds.clone();
                        i = 0;
                    }
                }
                Ok(resp) if resp.brokers.is_empty() => {
                    // A broker still starting answers with no brokers (Java
                    // ignores such a response too).
                    tracing::info!(broker = %b.name(), "Metadata lists no broker: ignored");
                }
                Ok(resp) => return Ok(self.install(&resp, &asked, &b)),
                Err(e) => {
                    tracing::info!(broker = %b.name(), error = %escape(&e.to_string()), "Metadata failed; trying the next broker");
                    match after_error(&e, true) {
                        AfterError::Retry { unreachable: true } => self.mark_unreachable(b.addr()),
                        AfterError::Rebootstrap if !rebooted => {
                            rebooted = true;
                            self.rebootstrap();
                            candidates = self.lock().seeds.clone();
                            i = 0;
                        }
                        _ => {}
                    }
                    attempts.push((b.name(), e));
                }
            }
        }
        Err(ClusterError::NoMetadata { attempts })
    }

    async fn metadata_from(
        &self,
        b: &Broker,
        asked: &[String],
        deadline: Instant,
    ) -> Result<MetadataResponse, ClientError> {
        let timeout = self
            .client
            .conn
            .request_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let live = match timeout_at(deadline, b.connection()).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(ClientError::Conn(ConnError::TimedOut {
                    addr: b.addr().to_string(),
                    what: "connecting for Metadata".into(),
                    after: timeout,
                }))
            }
        };
        let mut req = MetadataRequest::default();
        req.topics = Some(
            asked
                .iter()
                .map(|t| {
                    let mut rt = MetadataRequestTopic::default();
                    rt.name = Some(StrBytes::from(t.clone()));
                    rt
                })
                .collect(),
        );
        let opts = SendOptions {
            timeout: Some(timeout),
            ..Default::default()
        };
        req.allow_auto_topic_creation = self.cfg.auto_create_topics;
        if !req.allow_auto_topic_creation && b.choose_for(&req, &opts, &live.versions).is_err() {
            // Before Metadata v4 a request cannot say "do not create".
            req.allow_auto_topic_creation = true;
        }
        let sent = b.send_with(&req, &opts).await?;
        if let Some(ms) = reply_facts(&sent.response, sent.version).throttle_ms {
            self.throttle(b.addr(), ms);
        }
        Ok(sent.response)
    }

    /// Takes a response in: merges it, makes broker objects for new or
    /// moved nodes, drops those of nodes that left, and closes the
    /// bootstrap connections (nodes get their own, with an identity).
    fn install(&self, resp: &MetadataResponse, asked: &[String], from: &Broker) -> Arc<Metadata> {
        let fresh = Metadata::from_response(resp);
        let (md, gone, seeds) = {
            let mut st = self.lock();
            let (merged, changes) = st.metadata.merge(fresh, Some(asked));
            for (tp, old, new) in &changes.moved {
                tracing::info!(partition = %tp, ?old, ?new, "leader moved");
            }
            for tp in &changes.stale {
                tracing::debug!(partition = %tp, broker = %from.name(),
                    "older leader epoch than the cache: this broker's metadata lags; kept the cached leader");
            }
            if let (Some(old), Some(new)) = (&st.metadata.cluster_id, &merged.cluster_id) {
                if old != new {
                    tracing::warn!(old = %old, new = %new, "the cluster id changed: forgetting coordinators");
                    st.coordinators.clear();
                }
            }
            let mut gone = Vec::new();
            let ids: Vec<i32> = st.nodes.keys().copied().collect();
            for id in ids {
                // A node that left, moved, or now belongs to another
                // cluster id gets a new broker object.
                let keep = match (merged.brokers.get(&id), st.nodes.get(&id)) {
                    (Some(n), Some(b)) => {
                        b.addr() == n.addr()
                            && b.identity().map(|i| &i.cluster_id) == merged.cluster_id.as_ref()
                    }
                    _ => false,
                };
                if !keep {
                    if let Some(b) = st.nodes.remove(&id) {
                        gone.push(b);
                    }
                }
            }
            st.coordinators
                .retain(|_, node| merged.brokers.contains_key(node));
            st.metadata = Arc::new(merged);
            st.fetched_at = Some(Instant::now());
            let seeds = st.seeds.clone();
            (st.metadata.clone(), gone, seeds)
        };
        tracing::debug!(broker = %from.name(), brokers = md.brokers.len(), topics = md.topics.len(),
            cluster_id = ?md.cluster_id, "metadata taken in");
        // Closed in the background: each close is bounded by the shutdown
        // deadline, and nothing here waits for it.
        for b in gone
            .into_iter()
            .chain(seeds.into_iter().filter(|s| s.live().is_some()))
        {
            tokio::spawn(async move { b.disconnect().await });
        }
        md
    }

    /// Back to the bootstrap addresses: every node, coordinator and the
    /// metadata are forgotten (KIP-899, KIP-1102, KIP-1242).
    pub(super) fn rebootstrap(&self) {
        let gone: Vec<Arc<Broker>> = {
            let mut st = self.lock();
            st.rebootstraps += 1;
            st.metadata = Arc::new(Metadata::default());
            st.fetched_at = None;
            st.coordinators.clear();
            st.unreachable.clear();
            st.nodes.drain().map(|(_, b)| b).collect()
        };
        tracing::warn!(bootstrap = ?self.bootstrap, "rebootstrapping");
        for b in gone {
            tokio::spawn(async move { b.disconnect().await });
        }
    }
}
