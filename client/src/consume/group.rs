//! The [`GroupConsumer`]: a [`Consumer`] whose partitions a consumer group
//! assigns.
//!
//! It drives one of the sans-IO members of [`crate::group`] — the classic
//! protocol's [`ClassicMember`] or KIP-848's [`ConsumerMember`], chosen by
//! [`crate::group::select`] from the cluster's finalized `group.version` and
//! the coordinator's advertised ConsumerGroupHeartbeat, classic as the
//! fallback — and hands what they decide to the application.
//!
//! The application calls [`GroupConsumer::poll`] in a loop, as with Java's
//! `KafkaConsumer`: each call first handles what the group said (the
//! rebalance callbacks run there, before any fetch), then fetches once.
//! Positions are committed (auto-commit every `auto_commit` interval, and
//! [`GroupConsumer::commit`]) for the records the previous polls returned:
//! at least once. A partition being revoked has its position committed
//! before the member lets go of it (KIP-429: only then may another member
//! start it); a lost partition is not committed (another member may own it
//! already). A newly assigned partition starts at the group's committed
//! offset (OffsetFetch, `require_stable` under read_committed, KIP-447) or
//! by the reset policy.
//!
//! The member's requests run in a task of their own
//! (`membership.rs`, KIP-62): heartbeats keep going while the
//! application processes what a poll returned. An application that does
//! not poll again within the rebalance timeout (Java's
//! `max.poll.interval.ms`) is taken out of the group by that task; its
//! partitions are reported lost at the next poll, which rejoins.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kwire::{ApiKey, Uuid};
use tokio::time::Instant;

use super::config::{ConsumerConfig, Offset, OffsetReset};
use super::consumer::{ConsumedRecord, Consumer};
use super::error::ConsumeError;
use super::membership::{MemberTask, Membership};
use super::offsets::{self, FetchOffsets, OffsetAndMetadata, OffsetsError};
use crate::cluster::{Cluster, ClusterError};
use crate::escape::escape;
use crate::group::assignor::{self, Assignor, ClusterTopics, PartitionInfo};
use crate::group::classic::{ClassicConfig, ClassicMember};
use crate::group::consumer::{ConsumerConfig as MemberConfig, ConsumerMember};
use crate::group::select::{self, GroupProtocol, Preference, ProtocolChoice};
use crate::group::{GroupError, GroupEvent, GroupMetadata, TopicPartition};
use crate::protocol::route::CoordinatorKind;

/// `group.version` as the cluster finalizes it (KIP-848, KIP-584).
const GROUP_VERSION: &str = "group.version";

/// Settings of a group consumer; defaults are Java's consumer's.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub group_id: String,
    /// Kafka's `group.protocol`, plus automatic (the default here).
    pub protocol: Preference,
    /// `group.instance.id`: a static member (KIP-345).
    pub group_instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// Classic: the client-side assignors offered, preferred first (Java's
    /// default: range, then cooperative-sticky).
    pub assignors: Vec<String>,
    /// KIP-848: a server-side assignor (`uniform`, `range`); `None`: the
    /// group's default.
    pub server_assignor: Option<String>,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    /// Classic: how long the coordinator waits for members to rejoin;
    /// KIP-848: for a revocation. Also the longest the application may go
    /// between polls (Java's `max.poll.interval.ms`, which is both): past
    /// it the member leaves the group, and the next poll reports the
    /// partitions lost and rejoins (KIP-62).
    pub rebalance_timeout: Duration,
    /// Commit positions this often from `poll` (Java's
    /// `auto.commit.interval.ms`); `None`: only [`GroupConsumer::commit`]
    /// and before a revocation.
    pub auto_commit: Option<Duration>,
    /// Deadline of one OffsetCommit or OffsetFetch, retries included.
    pub offsets_timeout: Duration,
    /// The fetching side.
    pub consumer: ConsumerConfig,
}

impl GroupConfig {
    pub fn new(group_id: impl Into<String>) -> Self {
        GroupConfig {
            group_id: group_id.into(),
            protocol: Preference::Auto,
            group_instance_id: None,
            rack_id: None,
            assignors: vec!["range".into(), "cooperative-sticky".into()],
            server_assignor: None,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            rebalance_timeout: Duration::from_secs(300),
            auto_commit: Some(Duration::from_secs(5)),
            offsets_timeout: Duration::from_secs(30),
            consumer: ConsumerConfig::default(),
        }
    }
}

/// Why a group consumer failed. Broker text inside is escaped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GroupConsumerError {
    #[error("group {group}: {source}")]
    Group {
        group: String,
        #[source]
        source: GroupError,
    },
    #[error(transparent)]
    Consume(#[from] ConsumeError),
    #[error(transparent)]
    Offsets(#[from] OffsetsError),
    #[error("group {group}: {source}")]
    Cluster {
        group: String,
        #[source]
        source: Arc<ClusterError>,
    },
    #[error("group {group}: unknown assignor {name:?} (range, roundrobin, cooperative-sticky)")]
    UnknownAssignor { group: String, name: String },
    #[error("{tp}: the group has no committed offset and the reset policy is to fail")]
    NoOffset { tp: String },
    #[error("group {group}: the member has left the group")]
    Left { group: String },
}

/// The rebalance callbacks (Java's `ConsumerRebalanceListener`), called
/// from [`GroupConsumer::poll`] and [`GroupConsumer::close`].
pub trait RebalanceListener: Send {
    /// Newly assigned partitions, already positioned.
    fn on_assigned(&mut self, _partitions: &[TopicPartition]) {}
    /// Partitions about to be taken away; their positions were committed
    /// (auto-commit) just before.
    fn on_revoked(&mut self, _partitions: &[TopicPartition]) {}
    /// Partitions gone without a revocation: another member may own them.
    fn on_lost(&mut self, _partitions: &[TopicPartition]) {}
}

/// A consumer in a consumer group. See the module docs.
pub struct GroupConsumer {
    cluster: Arc<Cluster>,
    cfg: GroupConfig,
    consumer: Consumer,
    /// The member and its I/O task (heartbeats run while the application
    /// processes, KIP-62).
    member: MemberTask,
    choice: ProtocolChoice,
    topics: Vec<String>,
    listener: Option<Box<dyn RebalanceListener>>,
    /// Assigned partitions whose start could not be resolved yet.
    unstarted: BTreeSet<TopicPartition>,
    /// What was committed last, so unchanged positions are not sent again.
    committed: BTreeMap<TopicPartition, i64>,
    next_auto_commit: Option<Instant>,
    left: bool,
}

impl std::fmt::Debug for GroupConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupConsumer")
            .field("group", &self.cfg.group_id)
            .field("protocol", &self.choice)
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}

/// A member id generated by the client (KIP-1082): 16 random bytes in
/// URL-safe base64, as Kafka's `Uuid.randomUuid().toString()`.
fn client_member_id() -> String {
    use base64::Engine;
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        // No OS randomness: the id only has to be unique in the group.
        b = fastrand::u128(..).to_be_bytes();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl GroupConsumer {
    /// Chooses the protocol (which needs the coordinator's advertised
    /// versions) and sets the member up; nothing is joined before
    /// [`GroupConsumer::subscribe`].
    pub async fn new(
        cluster: Arc<Cluster>,
        cfg: GroupConfig,
    ) -> Result<GroupConsumer, GroupConsumerError> {
        let group = cfg.group_id.clone();
        let choice = if cfg.protocol == Preference::Classic {
            select::choose(Preference::Classic, 0, None, None)
        } else {
            let coordinator = cluster
                .coordinator(CoordinatorKind::Group, &group)
                .await
                .map_err(|e| GroupConsumerError::Cluster {
                    group: escape(&group).into_owned(),
                    source: Arc::new(e),
                })?;
            let advertised = match coordinator.connection().await {
                Ok(live) => live.versions.get(ApiKey::CONSUMER_GROUP_HEARTBEAT),
                Err(source) => {
                    return Err(GroupConsumerError::Cluster {
                        group: escape(&group).into_owned(),
                        source: Arc::new(ClusterError::Broker {
                            broker: coordinator.name(),
                            source,
                        }),
                    })
                }
            };
            let level = cluster.features().level(GROUP_VERSION);
            select::choose(cfg.protocol, level, advertised, None)
        }
        .map_err(|source| GroupConsumerError::Group {
            group: escape(&group).into_owned(),
            source,
        })?;
        tracing::info!(group = %escape(&group), protocol = %choice.protocol, why = %choice.why,
            "group consumer: protocol chosen");
        let member = MemberTask::start(
            cluster.clone(),
            Self::member(&cfg, choice.protocol)?,
            cfg.group_id.clone(),
            cfg.rebalance_timeout,
        );
        Ok(GroupConsumer {
            consumer: Consumer::new(cluster.clone(), cfg.consumer.clone()),
            cluster,
            member,
            choice,
            topics: Vec::new(),
            listener: None,
            unstarted: BTreeSet::new(),
            committed: BTreeMap::new(),
            next_auto_commit: None,
            left: false,
            cfg,
        })
    }

    fn member(cfg: &GroupConfig, p: GroupProtocol) -> Result<Membership, GroupConsumerError> {
        let group = || escape(&cfg.group_id).into_owned();
        let gerr = |source| GroupConsumerError::Group {
            group: group(),
            source,
        };
        Ok(match p {
            GroupProtocol::Classic => {
                let mut c = ClassicConfig::new(cfg.group_id.clone());
                c.group_instance_id = cfg.group_instance_id.clone();
                c.rack_id = cfg.rack_id.clone();
                c.session_timeout = cfg.session_timeout;
                c.heartbeat_interval = cfg.heartbeat_interval;
                c.rebalance_timeout = cfg.rebalance_timeout;
                c.request_timeout = cfg.consumer.request_timeout;
                let mut assignors: Vec<Box<dyn Assignor>> = Vec::new();
                for name in &cfg.assignors {
                    assignors.push(assignor::by_name(name).ok_or_else(|| {
                        GroupConsumerError::UnknownAssignor {
                            group: group(),
                            name: escape(name).into_owned(),
                        }
                    })?);
                }
                Membership::Classic(ClassicMember::new(c, assignors).map_err(gerr)?)
            }
            GroupProtocol::Consumer => {
                let mut c = MemberConfig::new(cfg.group_id.clone(), client_member_id());
                c.instance_id = cfg.group_instance_id.clone();
                c.rack_id = cfg.rack_id.clone();
                c.rebalance_timeout = cfg.rebalance_timeout;
                c.server_assignor = cfg.server_assignor.clone();
                c.request_timeout = cfg.consumer.request_timeout;
                Membership::Consumer(ConsumerMember::new(c).map_err(gerr)?)
            }
        })
    }

    fn gerr(&self, source: GroupError) -> GroupConsumerError {
        GroupConsumerError::Group {
            group: escape(&self.cfg.group_id).into_owned(),
            source,
        }
    }

    /// The protocol in use and why.
    pub fn protocol(&self) -> &ProtocolChoice {
        &self.choice
    }

    pub fn set_listener(&mut self, listener: Box<dyn RebalanceListener>) {
        self.listener = Some(listener);
    }

    /// Joins (or changes the subscription to) `topics`.
    pub fn subscribe(&mut self, topics: &[&str]) -> Result<(), GroupConsumerError> {
        self.topics = topics.iter().map(|t| t.to_string()).collect();
        let topics = self.topics.clone();
        self.member
            .with(|s| s.member.subscribe(topics))
            .map_err(|e| self.gerr(e))
    }

    /// Generation (or KIP-848 member epoch) and member id, for a
    /// transactional producer's TxnOffsetCommit (KIP-447).
    pub fn group_metadata(&self) -> GroupMetadata {
        self.member.peek(|s| s.member.group_metadata())
    }

    /// The partitions being consumed now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer
            .assignment()
            .into_iter()
            .map(|(t, p)| TopicPartition::new(t, p))
            .collect()
    }

    /// Moves an assigned partition's position (the next poll fetches from
    /// `offset`, the next commit commits it); `false` when the partition is
    /// not assigned. E.g. an application that stops mid-batch seeks back to
    /// the first record it did not process before [`GroupConsumer::close`].
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> bool {
        if self.consumer.state(&tp.topic, tp.partition).is_none() {
            return false;
        }
        self.consumer
            .assign(&tp.topic, tp.partition, Offset::At(offset));
        true
    }

    /// The inner consumer (positions, watermarks).
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// One round: the group's news first (callbacks, starts, commits), then
    /// one fetch when partitions are assigned. Returns within about
    /// `max_wait` (plus a request's deadline) with what arrived, possibly
    /// nothing while the group rebalances.
    pub async fn poll(&mut self) -> Result<Vec<ConsumedRecord>, GroupConsumerError> {
        if self.left {
            return Err(GroupConsumerError::Left {
                group: escape(&self.cfg.group_id).into_owned(),
            });
        }
        self.member
            .peek(|s| s.last_poll = std::time::Instant::now());
        let until = Instant::now() + self.cfg.consumer.max_wait;
        loop {
            self.drive().await?;
            self.maybe_auto_commit().await?;
            if !self.consumer.assignment().is_empty() {
                return Ok(self.consumer.poll().await?);
            }
            if Instant::now() >= until {
                return Ok(Vec::new());
            }
            self.member.news(until).await;
        }
    }

    /// Commits the position of every partition consumed (the records the
    /// polls so far returned), skipping those unchanged since the last
    /// commit.
    pub async fn commit(&mut self) -> Result<(), GroupConsumerError> {
        let parts: Vec<TopicPartition> = self.assignment();
        self.commit_parts(&parts).await
    }

    async fn commit_parts(&mut self, parts: &[TopicPartition]) -> Result<(), GroupConsumerError> {
        let mut todo = BTreeMap::new();
        for tp in parts {
            let Some(state) = self.consumer.state(&tp.topic, tp.partition) else {
                continue;
            };
            let Some(pos) = state.position else { continue };
            if self.committed.get(tp) == Some(&pos) {
                continue;
            }
            // KIP-320: the epoch of the last batch consumed goes with the
            // offset, so the next owner can detect a truncated log.
            todo.insert(
                tp.clone(),
                OffsetAndMetadata {
                    offset: pos,
                    leader_epoch: state.position_epoch,
                    metadata: None,
                },
            );
        }
        if todo.is_empty() {
            return Ok(());
        }
        let meta = self.group_metadata();
        tracing::debug!(group = %escape(&self.cfg.group_id), offsets = ?todo.iter().map(|(tp, o)| (tp.partition, o.offset, o.leader_epoch)).collect::<Vec<_>>(),
            "group consumer: commit");
        offsets::commit(&self.cluster, &meta, &todo, self.cfg.offsets_timeout).await?;
        for (tp, o) in todo {
            self.committed.insert(tp, o.offset);
        }
        Ok(())
    }

    async fn maybe_auto_commit(&mut self) -> Result<(), GroupConsumerError> {
        let Some(every) = self.cfg.auto_commit else {
            return Ok(());
        };
        let now = Instant::now();
        let due = *self.next_auto_commit.get_or_insert(now + every);
        if now < due {
            return Ok(());
        }
        self.next_auto_commit = Some(now + every);
        match self.commit().await {
            Ok(()) => Ok(()),
            // A rebalance is under way: the next generation commits.
            Err(GroupConsumerError::Offsets(e)) if e.is_fenced() => {
                tracing::info!(group = %escape(&self.cfg.group_id), error = %e, "group consumer: auto-commit refused; the rebalance decides");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Leaves the group (a static member only stops heartbeating, KIP-345)
    /// after committing, within `timeout`.
    pub async fn close(mut self, timeout: Duration) -> Result<(), GroupConsumerError> {
        let until = Instant::now() + timeout;
        if self.cfg.auto_commit.is_some() {
            if let Err(e) = self.commit().await {
                tracing::info!(group = %escape(&self.cfg.group_id), error = %e, "group consumer: commit on close failed");
            }
        }
        if !self.left {
            let left = self.member.with(|s| {
                s.closing = true;
                s.member.leave()
            });
            if let Err(e) = left {
                tracing::debug!(error = %e, "group consumer: leave");
            }
        }
        while !self.left && Instant::now() < until {
            self.drive().await?;
            if self.left {
                break;
            }
            self.member.news(until).await;
        }
        Ok(())
    }

    /// Hands the member's events to the application (callbacks, starts,
    /// commits before revocation) and returns a failure it recorded. The
    /// member's requests are the task's ([`MemberTask`]).
    async fn drive(&mut self) -> Result<(), GroupConsumerError> {
        loop {
            let (failed, ev) = self
                .member
                .peek(|s| (s.failed.take(), s.member.next_event()));
            if let Some(e) = failed {
                return Err(self.gerr(e));
            }
            let Some(ev) = ev else { break };
            self.on_event(ev).await?;
        }
        self.start_unstarted().await
    }

    async fn on_event(&mut self, ev: GroupEvent) -> Result<(), GroupConsumerError> {
        let group = escape(&self.cfg.group_id).into_owned();
        match ev {
            GroupEvent::Revoked(parts) => {
                tracing::info!(group = %group, partitions = ?parts, "group consumer: revoked");
                if self.cfg.auto_commit.is_some() {
                    // Commit before letting go: the next owner starts here.
                    if let Err(e) = self.commit_parts(&parts).await {
                        tracing::warn!(group = %group, error = %e, "group consumer: commit before revocation failed");
                    }
                }
                if let Some(l) = self.listener.as_mut() {
                    l.on_revoked(&parts);
                }
                self.drop_parts(&parts);
                self.member.with(|s| s.member.revocation_done());
            }
            GroupEvent::Lost(parts) => {
                tracing::info!(group = %group, partitions = ?parts, "group consumer: lost");
                if let Some(l) = self.listener.as_mut() {
                    l.on_lost(&parts);
                }
                self.drop_parts(&parts);
            }
            GroupEvent::Assigned(parts) => {
                tracing::info!(group = %group, partitions = ?parts, "group consumer: assigned");
                self.unstarted.extend(parts.iter().cloned());
                self.start_unstarted().await?;
                if let Some(l) = self.listener.as_mut() {
                    l.on_assigned(&parts);
                }
            }
            GroupEvent::Joined {
                generation,
                member_id,
                leader,
                protocol,
            } => {
                tracing::info!(group = %group, generation, member = %escape(&member_id), leader,
                    protocol = ?protocol.as_deref().map(escape), "group consumer: joined");
            }
            GroupEvent::MetadataNeeded(topics) => {
                let topics_ref: Vec<&str> = topics.iter().map(String::as_str).collect();
                let md = refresh(&self.cluster, &group, &topics_ref).await?;
                let mut ct = ClusterTopics::default();
                for t in &topics {
                    let Some(info) = md.topics.get(t).filter(|i| i.error.is_ok()) else {
                        continue;
                    };
                    let parts = info
                        .partitions
                        .iter()
                        .map(|(p, pi)| PartitionInfo {
                            partition: *p,
                            replica_racks: pi
                                .replicas
                                .iter()
                                .filter_map(|r| md.brokers.get(r)?.rack.clone())
                                .collect(),
                        })
                        .collect();
                    ct.topics.insert(t.clone(), parts);
                }
                self.member
                    .with(|s| match &mut s.member {
                        Membership::Classic(m) => m.provide_metadata(&ct),
                        Membership::Consumer(_) => Ok(()),
                    })
                    .map_err(|e| GroupConsumerError::Group {
                        group: group.clone(),
                        source: e,
                    })?;
            }
            GroupEvent::TopicNamesNeeded(ids) => {
                let topics_ref: Vec<&str> = self.topics.iter().map(String::as_str).collect();
                let md = refresh(&self.cluster, &group, &topics_ref).await?;
                let names: Vec<(Uuid, String)> = ids
                    .iter()
                    .filter_map(|id| Some((*id, md.topic_name(id)?.to_string())))
                    .collect();
                self.member.with(|s| {
                    if let Membership::Consumer(m) = &mut s.member {
                        m.provide_topic_names(names);
                    }
                });
            }
            GroupEvent::UnreadableMember { member_id, error } => {
                tracing::warn!(group = %group, member = %escape(&member_id), error = %escape(&error),
                    "group consumer: a member's subscription could not be read; it was given nothing");
            }
            GroupEvent::Warning(e) => {
                tracing::warn!(group = %group, error = %e, "group consumer");
            }
            GroupEvent::ProtocolUnsupported => {
                let choice =
                    select::after_unsupported(self.cfg.protocol).map_err(|e| self.gerr(e))?;
                tracing::info!(group = %group, why = %choice.why, "group consumer: falling back to the classic protocol");
                let mut m = Self::member(&self.cfg, choice.protocol)?;
                m.subscribe(self.topics.clone()).map_err(|e| self.gerr(e))?;
                self.member.with(|s| s.member = m);
                self.choice = choice;
            }
            GroupEvent::Left => {
                // Left for a stuck application (the task saw no poll within
                // the rebalance timeout): this poll is the application back,
                // so it rejoins as Kafka's consumer does. Its partitions
                // were reported lost just before.
                let expired = self
                    .member
                    .peek(|s| !s.closing && std::mem::take(&mut s.expired));
                if expired {
                    tracing::warn!(group = %group, "group consumer: rejoining after leaving for a late poll");
                    let mut m = Self::member(&self.cfg, self.choice.protocol)?;
                    m.subscribe(self.topics.clone()).map_err(|e| self.gerr(e))?;
                    self.member.with(|s| s.member = m);
                } else {
                    self.left = true;
                }
            }
            GroupEvent::Failed(e) => return Err(self.gerr(e)),
        }
        Ok(())
    }

    fn drop_parts(&mut self, parts: &[TopicPartition]) {
        for tp in parts {
            self.consumer.unassign(&tp.topic, tp.partition);
            self.unstarted.remove(tp);
            self.committed.remove(tp);
        }
    }

    /// Positions assigned partitions at the group's committed offsets, or
    /// by the reset policy where there is none. A failure leaves them for
    /// the next round.
    async fn start_unstarted(&mut self) -> Result<(), GroupConsumerError> {
        // Only what the member still holds (a later revocation may have
        // taken some away already).
        let held = self.member.peek(|s| s.member.held());
        self.unstarted.retain(|tp| held.contains(tp));
        if self.unstarted.is_empty() {
            return Ok(());
        }
        let parts: Vec<TopicPartition> = self.unstarted.iter().cloned().collect();
        let meta = self.group_metadata();
        let how = FetchOffsets {
            // KIP-447: a read_committed consumer must not start below a
            // pending transactional offset commit.
            require_stable: self.cfg.consumer.isolation == super::config::Isolation::ReadCommitted,
            member: Some(&meta),
        };
        let got = match offsets::fetch(
            &self.cluster,
            &self.cfg.group_id,
            &parts,
            &how,
            self.cfg.offsets_timeout,
        )
        .await
        {
            Ok(g) => g,
            Err(e) => {
                tracing::info!(group = %escape(&self.cfg.group_id), error = %e, "group consumer: committed offsets not fetched yet");
                return Ok(());
            }
        };
        for tp in parts {
            let start = match got.get(&tp).cloned().flatten() {
                Some(o) => {
                    self.committed.insert(tp.clone(), o.offset);
                    Offset::At(o.offset)
                }
                None => match self.cfg.consumer.offset_reset {
                    OffsetReset::Earliest => Offset::Earliest,
                    OffsetReset::Latest => Offset::Latest,
                    OffsetReset::Fail => {
                        return Err(GroupConsumerError::NoOffset {
                            tp: format!("{}-{}", escape(&tp.topic), tp.partition),
                        })
                    }
                },
            };
            tracing::debug!(topic = %escape(&tp.topic), partition = tp.partition, ?start, "group consumer: start");
            self.consumer.assign(&tp.topic, tp.partition, start);
            self.unstarted.remove(&tp);
        }
        Ok(())
    }
}

/// Metadata for `topics` (the group's leader assigns from it; KIP-848
/// assignments name topics by id).
async fn refresh(
    cluster: &Cluster,
    group: &str,
    topics: &[&str],
) -> Result<Arc<crate::cluster::Metadata>, GroupConsumerError> {
    cluster
        .refresh_metadata(topics)
        .await
        .map_err(|e| GroupConsumerError::Cluster {
            group: group.to_string(),
            source: Arc::new(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_random_and_url_safe() {
        let a = client_member_id();
        let b = client_member_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn unknown_assignors_are_named() {
        let mut cfg = GroupConfig::new("g");
        cfg.assignors = vec!["range".into(), "bogus".into()];
        match GroupConsumer::member(&cfg, GroupProtocol::Classic) {
            Err(GroupConsumerError::UnknownAssignor { name, .. }) => assert_eq!(name, "bogus"),
            other => panic!("{other:?}"),
        }
        cfg.assignors = vec!["cooperative-sticky".into()];
        assert!(matches!(
            GroupConsumer::member(&cfg, GroupProtocol::Classic),
            Ok(Membership::Classic(_))
        ));
        assert!(matches!(
            GroupConsumer::member(&cfg, GroupProtocol::Consumer),
            Ok(Membership::Consumer(_))
        ));
    }
}
