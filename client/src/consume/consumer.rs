//! The [`Consumer`]: assigned partitions, their positions, and one Fetch
//! per leader per [`Consumer::poll`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kwire::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kwire::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kwire::messages::{FetchRequest, FetchResponse, ListOffsetsRequest};
use kwire::records::{Batch, Batches, DecodeOptions, Header, RecordsBudget, TimestampType};
use kwire::{ErrorCode, StrBytes};

use super::config::{ConsumerConfig, Isolation, Offset, OffsetReset};
use super::error::ConsumeError;
use super::read_committed::{ReadCommitted, Verdict};
use super::session::{FetchPlan, Key, Sessions};
use crate::cluster::metadata::Metadata;
use crate::cluster::retry::{after_error, AfterError, STALE_METADATA};
use crate::cluster::{Cluster, ClusterError, Target};
use crate::escape::escape;
use crate::net::{ClientError, SendOptions};
use crate::protocol::route::TopicPartition;
use tokio::time::Instant;

/// ListOffsets' special timestamps (KIP-79).
const EARLIEST_TIMESTAMP: i64 = -2;
const LATEST_TIMESTAMP: i64 = -1;

/// One record as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    /// The batch's partition leader epoch (-1: none).
    pub leader_epoch: i32,
}

/// What the consumer knows of one assigned partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// The next offset to fetch; `None` until the start is resolved.
    pub position: Option<i64>,
    /// The leader epoch of the batch the position was last moved past, -1
    /// when unknown (a start, a seek, a v0/v1 message set). Committed with
    /// the position (KIP-320) so the next owner can detect log truncation.
    pub position_epoch: i32,
    /// Where to start when there is no position.
    pub start: Offset,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
}

/// How the consumer's fetches found their leaders: what a failover looks
/// like from the outside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingStats {
    /// Metadata refreshes the consumer asked for (stale leaders, fetches
    /// without an answer, partitions without a known leader).
    pub metadata_refreshes: u64,
    /// A partition fetched from one node, then from another.
    pub leader_changes: u64,
    /// Partition errors that said the leader moved or the epoch is stale
    /// (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...).
    pub stale_leader_errors: u64,
    /// Fetches that got no answer (connection refused, closed, reset).
    pub unanswered_fetches: u64,
}

/// A partition held back after a stale-leader error until metadata names
/// another leader or its backoff ends.
#[derive(Debug, Clone, Copy)]
struct Parked {
    node: i32,
    until: Instant,
    attempts: u32,
}

/// A consumer of assigned partitions (no group). Positions live here; a
/// group membership can drive [`Consumer::assign`] / [`Consumer::unassign`]
/// and commit [`Consumer::position`].
pub struct Consumer {
    cluster: Arc<Cluster>,
    cfg: ConsumerConfig,
    parts: BTreeMap<Key, PartitionState>,
    sessions: Sessions,
    /// Fetches sent, and of those, incremental ones (KIP-227).
    fetches: u64,
    incremental: u64,
    /// The node each partition was last fetched from.
    routes: BTreeMap<Key, i32>,
    /// Partitions held back after a stale-leader error.
    parked: BTreeMap<Key, Parked>,
    /// Nodes whose last Fetch got no answer: skipped until then, unless
    /// metadata moves their partitions elsewhere first.
    down: BTreeMap<i32, Parked>,
    stats: RoutingStats,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    pub fn new(cluster: Arc<Cluster>, cfg: ConsumerConfig) -> Consumer {
        Consumer {
            cluster,
            cfg,
            parts: BTreeMap::new(),
            sessions: Sessions::default(),
            fetches: 0,
            incremental: 0,
            routes: BTreeMap::new(),
            parked: BTreeMap::new(),
            down: BTreeMap::new(),
            stats: RoutingStats::default(),
        }
    }

    /// How fetches were routed so far (refreshes, leader changes, errors).
    pub fn routing_stats(&self) -> RoutingStats {
        self.stats.clone()
    }

    /// The node `topic`-`partition` was last fetched from.
    pub fn fetched_from(&self, topic: &str, partition: i32) -> Option<i32> {
        self.routes.get(&(topic.to_string(), partition)).copied()
    }

    /// The bounded, jittered wait before trying a leader again (the
    /// cluster's retry backoff: KIP-580's 100 ms doubling to 1 s).
    fn backoff(&self, attempts: u32) -> Duration {
        self.cluster
            .config()
            .backoff
            .delay(attempts, fastrand::f64())
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Fetch requests sent so far, and how many of them were incremental.
    pub fn fetch_counts(&self) -> (u64, u64) {
        (self.fetches, self.incremental)
    }

    /// The partitions of `topic` from metadata (fetched if unknown).
    pub async fn partitions(&self, topic: &str) -> Result<Vec<i32>, ConsumeError> {
        let known = |md: &Metadata| {
            md.topics
                .get(topic)
                .filter(|t| !t.partitions.is_empty())
                .map(|t| t.partitions.keys().copied().collect::<Vec<_>>())
        };
        if let Some(p) = known(&self.cluster.metadata()) {
            return Ok(p);
        }
        let md = self.cluster.refresh_metadata(&[topic]).await?;
        known(&md).ok_or_else(|| ConsumeError::Topic {
            topic: escape(topic).into_owned(),
            why: match md.topics.get(topic) {
                Some(t) if t.error.is_err() => format!("metadata says {}", t.error),
                _ => "not in the cluster's metadata".into(),
            },
        })
    }

    /// Adds (or restarts) a partition at `start`.
    pub fn assign(&mut self, topic: &str, partition: i32, start: Offset) {
        let position = match start {
            Offset::At(o) => Some(o),
            _ => None,
        };
        self.parts.insert(
            (topic.to_string(), partition),
            PartitionState {
                position,
                position_epoch: -1,
                start,
                high_watermark: -1,
                last_stable_offset: -1,
                log_start_offset: -1,
            },
        );
    }

    pub fn unassign(&mut self, topic: &str, partition: i32) {
        self.parts.remove(&(topic.to_string(), partition));
    }

    pub fn assignment(&self) -> Vec<(String, i32)> {
        self.parts.keys().cloned().collect()
    }

    pub fn state(&self, topic: &str, partition: i32) -> Option<&PartitionState> {
        self.parts.get(&(topic.to_string(), partition))
    }

    /// The next offset to fetch.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.state(topic, partition).and_then(|p| p.position)
    }

    /// Every assigned partition is at (or past) its end as last seen: the
    /// high watermark, or the last stable offset under read_committed.
    pub fn at_end(&self) -> bool {
        self.parts.values().all(|p| {
            let end = match self.cfg.isolation {
                Isolation::ReadCommitted => p.last_stable_offset,
                Isolation::ReadUncommitted => p.high_watermark,
            };
            end >= 0 && p.position.is_some_and(|pos| pos >= end)
        })
    }

    /// The offset ListOffsets gives for `timestamp` (-2 earliest, -1
    /// latest); `None` when no record has a timestamp at or after it.
    pub async fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> Result<Option<i64>, ConsumeError> {
        let mut p = ListOffsetsPartition::default();
        p.partition_index = partition;
        p.timestamp = timestamp;
        p.current_leader_epoch = -1;
        let mut t = ListOffsetsTopic::default();
        t.name = StrBytes::from(topic.to_string());
        t.partitions = vec![p];
        let mut req = ListOffsetsRequest::default();
        req.replica_id = -1;
        req.isolation_level = self.cfg.isolation.wire();
        req.topics = vec![t];
        req.timeout_ms = i32::try_from(self.cfg.request_timeout.as_millis()).unwrap_or(i32::MAX);
        let opts = SendOptions {
            timeout: Some(self.cfg.request_timeout),
            ..Default::default()
        };
        let r = self.cluster.send_with(&req, &opts).await?;
        let part = r
            .response
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|x| x.partition_index == partition);
        let Some(part) = part else {
            return Err(ConsumeError::Topic {
                topic: escape(topic).into_owned(),
                why: format!("partition {partition} missing from the ListOffsets answer"),
            });
        };
        let code = ErrorCode(part.error_code);
        if code.is_err() {
            return Err(ConsumeError::Broker {
                topic: escape(topic).into_owned(),
                partition,
                code,
            });
        }
        Ok((part.offset >= 0).then_some(part.offset))
    }

    /// Resolves start positions that need ListOffsets. A retriable broker
    /// error leaves the position unresolved for the next poll.
    async fn resolve_positions(&mut self) -> Result<(), ConsumeError> {
        let todo: Vec<(Key, Offset)> = self
            .parts
            .iter()
            .filter(|(_, p)| p.position.is_none())
            .map(|(k, p)| (k.clone(), p.start))
            .collect();
        for (key, start) in todo {
            let ts = match start {
                Offset::Earliest => EARLIEST_TIMESTAMP,
                Offset::Latest => LATEST_TIMESTAMP,
                Offset::Timestamp(t) => t,
                Offset::At(o) => {
                    self.set_position(&key, o);
                    continue;
                }
            };
            let found = match self.list_offset(&key.0, key.1, ts).await {
                Ok(f) => f,
                Err(ConsumeError::Broker { code, .. }) if code.is_retriable() => {
                    tracing::info!(topic = %escape(&key.0), partition = key.1, error = %code,
                        "consumer: ListOffsets will be asked again");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let offset = match found {
                Some(o) => o,
                // Nothing at or after the timestamp: the end, as Java's
                // consumer does for a seek past the last record.
                None => match self.list_offset(&key.0, key.1, LATEST_TIMESTAMP).await? {
                    Some(o) => o,
                    None => continue,
                },
            };
            tracing::debug!(topic = %escape(&key.0), partition = key.1, ?start, offset, "consumer: start position");
            self.set_position(&key, offset);
        }
        Ok(())
    }

    fn set_position(&mut self, key: &Key, offset: i64) {
        if let Some(p) = self.parts.get_mut(key) {
            p.position = Some(offset);
            p.position_epoch = -1;
        }
    }

    /// One round: a Fetch to every leader of an assigned partition (in
    /// parallel), the records in offset order per partition. Empty when
    /// nothing arrived within `max_wait`.
    pub async fn poll(&mut self) -> Result<Vec<ConsumedRecord>, ConsumeError> {
        self.resolve_positions().await?;
        let md = self.cluster.metadata();
        let now = Instant::now();
        let mut by_node: BTreeMap<i32, Vec<(Key, i64)>> = BTreeMap::new();
        let mut refresh: BTreeSet<String> = BTreeSet::new();
        for (key, p) in &self.parts {
            let Some(pos) = p.position else { continue };
            let node = match md.leader(&TopicPartition::new(&key.0, key.1)) {
                Ok(n) => n.id,
                Err(_) => {
                    refresh.insert(key.0.clone());
                    continue;
                }
            };
            // A stale-leader error or a dead node holds a partition back
            // (bounded backoff) until metadata, or a KIP-951 hint the
            // cluster applied, names another leader. The refresh was asked
            // for when the hold began; the next one comes when it ends and
            // the same leader fails again, so refreshes follow the backoff.
            let parked = self
                .parked
                .get(key)
                .is_some_and(|h| h.node == node && h.until > now);
            let down = self.down.get(&node).is_some_and(|h| h.until > now);
            let held = parked || down;
            if held {
                continue;
            }
            by_node.entry(node).or_default().push((key.clone(), pos));
        }
        for (node, wanted) in &by_node {
            for (key, _) in wanted {
                if let Some(old) = self.routes.insert(key.clone(), *node) {
                    if old != *node {
                        self.stats.leader_changes += 1;
                        self.parked.remove(key);
                        tracing::info!(topic = %escape(&key.0), partition = key.1, from = old, to = *node,
                            "consumer: partition leader moved; fetching from the new leader");
                    }
                }
            }
        }
        if !refresh.is_empty() {
            self.refresh(&refresh).await;
        }
        if by_node.is_empty() {
            // Nothing to fetch yet (leaders or start offsets unknown, or
            // every leader held back): a short pause, so a caller polling
            // in a loop does not spin.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            return Ok(Vec::new());
        }
        let mut tasks = Vec::new();
        for (node, wanted) in by_node {
            let plan = self.sessions.plan(node, &wanted, self.cfg.fetch_sessions);
            let req = self.fetch_request(&md, &plan);
            self.fetches += 1;
            if !plan.full {
                self.incremental += 1;
            }
            let cluster = self.cluster.clone();
            let opts = SendOptions {
                timeout: Some(self.cfg.request_timeout + self.cfg.max_wait),
                ..Default::default()
            };
            let task = tokio::spawn(async move { fetch_from(&cluster, node, &req, &opts).await });
            tasks.push((node, plan, task));
        }
        let mut out = Vec::new();
        let mut failures: Vec<ClusterError> = Vec::new();
        let mut stale: BTreeSet<String> = BTreeSet::new();
        let mut ok = 0;
        for (node, plan, task) in tasks {
            let res = match task.await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "consumer: fetch task failed");
                    self.sessions.reset(node);
                    continue;
                }
            };
            match res {
                Ok(routed) => {
                    ok += 1;
                    self.down.remove(&node);
                    let resp = routed.response;
                    let code = ErrorCode(resp.error_code);
                    self.sessions.answered(node, &plan, resp.session_id, code);
                    if code.is_err() {
                        tracing::info!(node, error = %code, "consumer: Fetch refused as a whole; the session starts over");
                        continue;
                    }
                    stale.extend(self.take_response(&md, node, resp, &mut out)?);
                }
                Err(e) => {
                    self.sessions.reset(node);
                    self.stats.unanswered_fetches += 1;
                    let attempts = self.down.get(&node).map_or(0, |d| d.attempts);
                    let wait = self.backoff(attempts);
                    tracing::info!(node, error = %escape(&e.to_string()), ?wait,
                        "consumer: Fetch got no answer; refreshing metadata, node held back");
                    self.down.insert(
                        node,
                        Parked {
                            node,
                            until: Instant::now() + wait,
                            attempts: attempts.saturating_add(1),
                        },
                    );
                    stale.extend(plan.include.iter().map(|(k, _)| k.0.clone()));
                    if !transient(&e) {
                        failures.push(e);
                    }
                }
            }
        }
        if !stale.is_empty() {
            // Awaited, not spawned: the next poll routes by what it says.
            self.refresh(&stale).await;
        }
        if ok == 0 {
            if let Some(e) = failures.into_iter().next() {
                return Err(e.into());
            }
        }
        Ok(out)
    }

    async fn refresh(&mut self, topics: &BTreeSet<String>) {
        self.stats.metadata_refreshes += 1;
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        if let Err(e) = self.cluster.refresh_metadata(&topics).await {
            tracing::info!(error = %escape(&e.to_string()), "consumer: metadata refresh failed");
        }
    }

    fn fetch_request(&self, md: &Metadata, plan: &FetchPlan) -> FetchRequest {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for ((topic, partition), offset) in &plan.include {
            let mut p = FetchPartition::default();
            p.partition = *partition;
            p.fetch_offset = *offset;
            p.partition_max_bytes = self.cfg.partition_max_bytes;
            p.log_start_offset = -1;
            p.last_fetched_epoch = -1;
            p.current_leader_epoch = md
                .partition(&TopicPartition::new(topic, *partition))
                .and_then(|i| i.leader_epoch)
                .unwrap_or(-1);
            topics.entry(topic).or_default().push(p);
        }
        let id = |name: &str| md.topics.get(name).and_then(|t| t.id).unwrap_or_default();
        let mut forgotten: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (topic, p) in &plan.forget {
            forgotten.entry(topic).or_default().push(*p);
        }
        let mut req = FetchRequest::default();
        req.replica_id = -1;
        req.max_wait_ms = i32::try_from(self.cfg.max_wait.as_millis()).unwrap_or(i32::MAX);
        req.min_bytes = self.cfg.min_bytes;
        req.max_bytes = self.cfg.max_bytes;
        req.isolation_level = self.cfg.isolation.wire();
        req.session_id = plan.session_id;
        req.session_epoch = plan.epoch;
        req.topics = topics
            .into_iter()
            .map(|(name, partitions)| {
                let mut t = FetchTopic::default();
                t.topic = StrBytes::from(name.to_string());
                // Fetch v13+ names topics by id (KIP-516); the version
                // chosen for the broker decides which one is encoded.
                t.topic_id = id(name);
                t.partitions = partitions;
                t
            })
            .collect();
        req.forgotten_topics_data = forgotten
            .into_iter()
            .map(|(name, partitions)| {
                let mut t = ForgottenTopic::default();
                t.topic = StrBytes::from(name.to_string());
                t.topic_id = id(name);
                t.partitions = partitions;
                t
            })
            .collect();
        req
    }

    /// Applies one Fetch response: positions, watermarks, records (one
    /// budget for the whole response).
    /// Returns the topics whose leaders are stale.
    fn take_response(
        &mut self,
        md: &Metadata,
        node: i32,
        resp: FetchResponse,
        out: &mut Vec<ConsumedRecord>,
    ) -> Result<BTreeSet<String>, ConsumeError> {
        let opts = DecodeOptions {
            verify_crc: self.cfg.check_crcs,
            ..DecodeOptions::default()
        }
        .with_budget(RecordsBudget::new(self.cfg.records_memory));
        let mut stale: BTreeSet<String> = BTreeSet::new();
        for t in resp.responses {
            let topic = if t.topic.is_empty() {
                match md.topic_name(&t.topic_id) {
                    Some(n) => n.to_string(),
                    None => continue,
                }
            } else {
                t.topic.to_string()
            };
            for p in t.partitions {
                let key = (topic.clone(), p.partition_index);
                let code = ErrorCode(p.error_code);
                let Some(state) = self.parts.get_mut(&key) else {
                    continue;
                };
                let Some(position) = state.position else {
                    continue;
                };
                if code == ErrorCode::OFFSET_OUT_OF_RANGE {
                    let start = match self.cfg.offset_reset {
                        OffsetReset::Earliest => Offset::Earliest,
                        OffsetReset::Latest => Offset::Latest,
                        OffsetReset::Fail => {
                            return Err(ConsumeError::OutOfRange {
                                topic: escape(&topic).into_owned(),
                                partition: key.1,
                                offset: position,
                            })
                        }
                    };
                    tracing::info!(topic = %escape(&topic), partition = key.1, position, ?start,
                        "consumer: offset out of range; resetting");
                    state.position = None;
                    state.start = start;
                    continue;
                }
                if STALE_METADATA.contains(&code) || code == ErrorCode::OFFSET_NOT_AVAILABLE {
                    // NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH (KIP-320:
                    // our epoch is older than the leader's), ...: held back
                    // from this node until metadata or the response's
                    // CurrentLeader (KIP-951, applied by the cluster) says
                    // where it went, at most one backoff.
                    self.stats.stale_leader_errors += 1;
                    let attempts = self.parked.get(&key).map_or(0, |h| h.attempts);
                    let until = Instant::now()
                        + self
                            .cluster
                            .config()
                            .backoff
                            .delay(attempts, fastrand::f64());
                    self.parked.insert(
                        key.clone(),
                        Parked {
                            node,
                            until,
                            attempts: attempts.saturating_add(1),
                        },
                    );
                    stale.insert(topic.clone());
                    continue;
                }
                if code.is_err() {
                    if code.is_retriable() {
                        continue;
                    }
                    return Err(ConsumeError::Broker {
                        topic: escape(&topic).into_owned(),
                        partition: key.1,
                        code,
                    });
                }
                self.parked.remove(&key);
                state.high_watermark = p.high_watermark;
                state.last_stable_offset = p.last_stable_offset;
                state.log_start_offset = p.log_start_offset;
                let mut filter = (self.cfg.isolation == Isolation::ReadCommitted)
                    .then(|| ReadCommitted::from_fetch(&p));
                let Some(bytes) = p.records else { continue };
                if bytes.is_empty() {
                    continue;
                }
                let err = |offset: i64| {
                    let topic = escape(&topic).into_owned();
                    move |source| ConsumeError::Records {
                        topic,
                        partition: key.1,
                        offset,
                        source,
                    }
                };
                let mut pos = position;
                let mut pos_epoch = state.position_epoch;
                let mut whole = 0usize;
                let mut batches = Batches::with_options(bytes, opts.clone());
                for b in batches.by_ref() {
                    let b = b.map_err(err(pos))?;
                    whole += 1;
                    match &b {
                        Batch::V2(rb) => {
                            let next = rb.header.next_offset();
                            let verdict = match &mut filter {
                                Some(f) => f.check(rb, &opts).map_err(err(pos))?,
                                None if rb.header.is_control() => Verdict::Control,
                                None => Verdict::Deliver,
                            };
                            if verdict == Verdict::Deliver && next > pos {
                                let ts_type = rb.header.timestamp_type();
                                let epoch = rb.header.partition_leader_epoch;
                                for r in rb.decode_records(&opts).map_err(err(pos))? {
                                    // A compressed batch comes whole: skip
                                    // what is before the position.
                                    if r.offset < pos {
                                        continue;
                                    }
                                    out.push(ConsumedRecord {
                                        topic: topic.clone(),
                                        partition: key.1,
                                        offset: r.offset,
                                        timestamp: r.timestamp,
                                        timestamp_type: ts_type,
                                        key: r.key,
                                        value: r.value,
                                        headers: r.headers,
                                        leader_epoch: epoch,
                                    });
                                }
                            }
                            if next > pos {
                                pos = next;
                                pos_epoch = rb.header.partition_leader_epoch;
                            }
                        }
                        Batch::Legacy(m) => {
                            let mut last = m.offset;
                            for r in b.records(&opts).map_err(err(pos))? {
                                last = last.max(r.offset);
                                if r.offset < pos {
                                    continue;
                                }
                                out.push(ConsumedRecord {
                                    topic: topic.clone(),
                                    partition: key.1,
                                    offset: r.offset,
                                    timestamp: r.timestamp,
                                    timestamp_type: m.timestamp_type(),
                                    key: r.key,
                                    value: r.value,
                                    headers: r.headers,
                                    leader_epoch: -1,
                                });
                            }
                            if last + 1 > pos {
                                pos = last + 1;
                                pos_epoch = -1;
                            }
                        }
                    }
                }
                if whole == 0 {
                    if let Some(partial) = batches.partial() {
                        // Before KIP-74 (Fetch v3) a first batch larger than
                        // the partition's size never comes whole.
                        if partial
                            .size
                            .is_some_and(|s| s > self.cfg.partition_max_bytes as usize)
                        {
                            return Err(ConsumeError::BatchTooLarge {
                                topic: escape(&topic).into_owned(),
                                partition: key.1,
                                offset: pos,
                                max: self.cfg.partition_max_bytes,
                            });
                        }
                    }
                }
                state.position = Some(pos);
                state.position_epoch = pos_epoch;
            }
        }
        if !stale.is_empty() {
            tracing::info!(topics = ?stale, "consumer: stale leaders; metadata will be refreshed");
        }
        Ok(stale)
    }
}

/// One Fetch to `node`, tried once: the connection first (a node that is
/// gone fails at once, instead of being retried until the Fetch's deadline
/// while its partitions already have another leader), then the request,
/// not resent after a close (the next poll routes it again).
async fn fetch_from(
    cluster: &Cluster,
    node: i32,
    req: &FetchRequest,
    opts: &SendOptions,
) -> Result<crate::cluster::Routed<FetchResponse>, ClusterError> {
    let broker = cluster.broker(node)?;
    if let Err(source) = broker.connection().await {
        return Err(ClusterError::Broker {
            broker: broker.name(),
            source,
        });
    }
    let opts = SendOptions {
        retry_safe: Some(false),
        ..opts.clone()
    };
    cluster.send_to(Target::Node(node), req, &opts).await
}

/// A failure that rerouting cures: nothing answered (the node is down or
/// its connection broke). Anything else is the caller's to see.
fn transient(e: &ClusterError) -> bool {
    match e {
        ClusterError::Broker { source, .. } => is_unanswered(source),
        ClusterError::Deadline { .. } | ClusterError::NoLeader { .. } => true,
        _ => false,
    }
}

fn is_unanswered(e: &ClientError) -> bool {
    !matches!(after_error(e, true), AfterError::Fail)
}
