//! Committed offsets: OffsetCommit and OffsetFetch, sent to the group's
//! coordinator.
//!
//! The cluster layer routes both by their group id, looks the coordinator up
//! again on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE and backs off on
//! COORDINATOR_LOAD_IN_PROGRESS, resending while nothing in the answer took
//! effect. On top of that, this module retries what stays retriable per
//! partition (an OffsetFetch with `require_stable` answered
//! UNSTABLE_OFFSET_COMMIT while a transaction is pending, KIP-447; a commit
//! timed out on the coordinator) within one deadline, and hands back every
//! partition's own result.
//!
//! Versions: OffsetCommit v10 and OffsetFetch v10 name topics by id only
//! (KIP-848); the requests carry both name and id, and a topic whose id
//! metadata does not know keeps the version at v9 (the choice's topic-id
//! gate). OffsetFetch v8 moved to a list of groups (KIP-709) whose fields are
//! not ignorable, so its shape follows the coordinator's advertised range.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kwire::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kwire::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kwire::messages::{OffsetCommitRequest, OffsetFetchRequest, OffsetFetchResponse};
use kwire::{ApiKey, ErrorCode, StrBytes, Uuid};
use tokio::time::{sleep, Instant};

use crate::cluster::metadata::Metadata;
use crate::cluster::retry::COORDINATOR_MOVED;
use crate::cluster::{Cluster, ClusterError};
use crate::escape::escape;
use crate::group::{GroupMetadata, TopicPartition};
use crate::net::SendOptions;
use crate::protocol::route::CoordinatorKind;

/// OffsetFetch v8 asks for a list of groups (KIP-709).
const OFFSET_FETCH_FIRST_GROUPS: i16 = 8;

/// Partition errors worth another OffsetCommit within the deadline (Java's
/// `ConsumerCoordinator` retries these in `commitSync`). Fencing errors
/// (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
/// STALE_MEMBER_EPOCH) and REBALANCE_IN_PROGRESS are the caller's: they need
/// a new generation first.
const COMMIT_RETRIABLE: &[ErrorCode] = &[
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::COORDINATOR_NOT_AVAILABLE,
    ErrorCode::NOT_COORDINATOR,
    ErrorCode::REQUEST_TIMED_OUT,
];

/// Partition errors worth another OffsetFetch: the coordinator's, and a
/// pending transaction's offsets under `require_stable` (KIP-447).
const FETCH_RETRIABLE: &[ErrorCode] = &[
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::COORDINATOR_NOT_AVAILABLE,
    ErrorCode::NOT_COORDINATOR,
    ErrorCode::UNSTABLE_OFFSET_COMMIT,
];

/// An offset to commit, or one committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    /// The next offset to consume.
    pub offset: i64,
    /// The leader epoch of the last record consumed (KIP-320); -1: unknown.
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

impl OffsetAndMetadata {
    pub fn new(offset: i64) -> Self {
        OffsetAndMetadata {
            offset,
            leader_epoch: -1,
            metadata: None,
        }
    }
}

/// Why committing or fetching offsets failed as a whole. Broker text inside
/// is escaped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OffsetsError {
    #[error("offsets of group {group}: {source}")]
    Cluster {
        group: String,
        #[source]
        source: Arc<ClusterError>,
    },
    /// A group-level error in the answer (OffsetFetch).
    #[error("offsets of group {group}: the coordinator answered {code}")]
    Group { group: String, code: ErrorCode },
    /// Some partitions failed; each names its error.
    #[error("offsets of group {group}: {}", describe(failed))]
    Partitions {
        group: String,
        failed: Vec<(TopicPartition, ErrorCode)>,
    },
}

fn describe(failed: &[(TopicPartition, ErrorCode)]) -> String {
    let mut s: Vec<String> = failed
        .iter()
        .take(5)
        .map(|(tp, c)| format!("{}-{}: {c}", escape(&tp.topic), tp.partition))
        .collect();
    if failed.len() > 5 {
        s.push(format!("and {} more", failed.len() - 5));
    }
    s.join(", ")
}

impl OffsetsError {
    /// The commit was refused because the member is not (or no longer) in
    /// the generation it committed for: Java's `CommitFailedException` and
    /// `RebalanceInProgressException`. The partitions may be someone else's.
    pub fn is_fenced(&self) -> bool {
        match self {
            OffsetsError::Partitions { failed, .. } => failed.iter().any(|(_, c)| {
                [
                    ErrorCode::ILLEGAL_GENERATION,
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    ErrorCode::FENCED_INSTANCE_ID,
                    ErrorCode::STALE_MEMBER_EPOCH,
                    ErrorCode::REBALANCE_IN_PROGRESS,
                ]
                .contains(c)
            }),
            _ => false,
        }
    }
}

/// A commit that took effect for every partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitDone {
    /// The OffsetCommit version of the last request (`None`: nothing to
    /// commit, nothing sent).
    pub version: Option<i16>,
    /// OffsetCommit requests this module sent (the cluster layer's own
    /// resends not counted).
    pub requests: u32,
}

/// One partition's committed offset: `None` when the group has none.
pub type Committed = BTreeMap<TopicPartition, Option<OffsetAndMetadata>>;

/// The topic ids metadata knows for `topics`, refreshing it once for the
/// missing ones. A topic without a known id keeps the zero id (and the
/// request below v10).
async fn topic_ids<'a>(
    cluster: &Cluster,
    topics: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, Uuid> {
    let topics: Vec<&str> = topics.collect();
    let known = |md: &Metadata| -> BTreeMap<String, Uuid> {
        topics
            .iter()
            .filter_map(|t| Some((t.to_string(), md.topics.get(*t)?.id?)))
            .collect()
    };
    let ids = known(&cluster.metadata());
    if ids.len() == topics.len() {
        return ids;
    }
    match cluster.refresh_metadata(&topics).await {
        Ok(md) => known(&md),
        Err(e) => {
            tracing::debug!(error = %escape(&e.to_string()), "offsets: no topic ids; names are used (v9 and below)");
            ids
        }
    }
}

fn cluster_err(group: &str, e: ClusterError) -> OffsetsError {
    OffsetsError::Cluster {
        group: escape(group).into_owned(),
        source: Arc::new(e),
    }
}

/// Commits `offsets` for `member`'s group within `timeout`. Partitions
/// answered with a retriable error are committed again (after the
/// cluster's backoff) until the deadline; the others' errors come back in
/// [`OffsetsError::Partitions`].
pub async fn commit(
    cluster: &Cluster,
    member: &GroupMetadata,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    timeout: Duration,
) -> Result<CommitDone, OffsetsError> {
    if offsets.is_empty() {
        return Ok(CommitDone {
            version: None,
            requests: 0,
        });
    }
    let group = member.group_id.as_str();
    let deadline = Instant::now() + timeout;
    let ids = topic_ids(cluster, offsets.keys().map(|tp| tp.topic.as_str())).await;
    let mut todo: BTreeMap<TopicPartition, OffsetAndMetadata> = offsets.clone();
    let mut attempt = 0u32;
    loop {
        let req = commit_request(member, &todo, &ids);
        let left = deadline.saturating_duration_since(Instant::now());
        let opts = SendOptions {
            timeout: Some(left),
            ..Default::default()
        };
        let r = cluster
            .send_with(&req, &opts)
            .await
            .map_err(|e| cluster_err(group, e))?;
        let md = cluster.metadata();
        let mut again = BTreeMap::new();
        let mut failed = Vec::new();
        let mut answered = 0usize;
        for t in &r.response.topics {
            let name = if t.name.is_empty() {
                md.topic_name(&t.topic_id).map(str::to_string)
            } else {
                Some(t.name.to_string())
            };
            let Some(name) = name else { continue };
            for p in &t.partitions {
                let tp = TopicPartition::new(name.clone(), p.partition_index);
                let Some(o) = todo.get(&tp) else { continue };
                answered += 1;
                let code = ErrorCode(p.error_code);
                if code.is_ok() {
                    continue;
                }
                if COMMIT_RETRIABLE.contains(&code) {
                    again.insert(tp.clone(), o.clone());
                }
                failed.push((tp, code));
            }
        }
        if answered < todo.len() {
            // A partition left out of the answer is not committed.
            for tp in todo.keys() {
                let named = r.response.topics.iter().any(|t| {
                    (&*t.name == tp.topic.as_str()
                        || ids.get(&tp.topic).is_some_and(|id| *id == t.topic_id))
                        && t.partitions
                            .iter()
                            .any(|p| p.partition_index == tp.partition)
                });
                if !named {
                    failed.push((tp.clone(), ErrorCode::UNKNOWN_SERVER_ERROR));
                }
            }
        }
        if failed.is_empty() {
            return Ok(CommitDone {
                version: Some(r.version),
                requests: attempt + 1,
            });
        }
        let retriable = again.len();
        back_off_or_fail(
            cluster,
            group,
            attempt,
            deadline,
            failed,
            retriable,
            "OffsetCommit",
        )
        .await?;
        todo = again;
        attempt += 1;
    }
}

/// After a round whose `failed` partitions include `retriable` that may be
/// asked again: when all of them may and time is left, waits the backoff
/// (forgetting a coordinator that moved); otherwise the failures are the
/// answer.
async fn back_off_or_fail(
    cluster: &Cluster,
    group: &str,
    attempt: u32,
    deadline: Instant,
    failed: Vec<(TopicPartition, ErrorCode)>,
    retriable: usize,
    what: &str,
) -> Result<(), OffsetsError> {
    let left = deadline.saturating_duration_since(Instant::now());
    match cluster.config().backoff.next(attempt, left) {
        Some(wait) if retriable == failed.len() => {
            tracing::info!(group = %escape(group), partitions = retriable, error = %failed[0].1,
                "offsets: {what} asked again");
            if failed.iter().any(|(_, c)| COORDINATOR_MOVED.contains(c)) {
                cluster.forget_coordinator(CoordinatorKind::Group, group);
            }
            sleep(wait).await;
            Ok(())
        }
        _ => Err(OffsetsError::Partitions {
            group: escape(group).into_owned(),
            failed,
        }),
    }
}

fn commit_request(
    member: &GroupMetadata,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ids: &BTreeMap<String, Uuid>,
) -> OffsetCommitRequest {
    let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for (tp, o) in offsets {
        let mut p = OffsetCommitRequestPartition::default();
        p.partition_index = tp.partition;
        p.committed_offset = o.offset;
        p.committed_leader_epoch = o.leader_epoch;
        p.committed_metadata = o.metadata.clone().map(StrBytes::from);
        by_topic.entry(&tp.topic).or_default().push(p);
    }
    let mut req = OffsetCommitRequest::default();
    req.group_id = StrBytes::from(member.group_id.clone());
    req.generation_id_or_member_epoch = member.generation_id;
    req.member_id = StrBytes::from(member.member_id.clone());
    req.group_instance_id = member.group_instance_id.clone().map(StrBytes::from);
    req.topics = by_topic
        .into_iter()
        .map(|(name, partitions)| {
            let mut t = OffsetCommitRequestTopic::default();
            // Both: the version chosen for the coordinator encodes one
            // (names up to v9, ids from v10), and a missing id gates v10.
            t.name = StrBytes::from(name.to_string());
            t.topic_id = ids.get(name).copied().unwrap_or_default();
            t.partitions = partitions;
            t
        })
        .collect();
    req
}

/// What [`fetch`] asks.
#[derive(Debug, Clone, Default)]
pub struct FetchOffsets<'a> {
    /// KIP-447: while a transaction that commits offsets for a partition is
    /// pending, answer UNSTABLE_OFFSET_COMMIT instead of the last stable
    /// offset (retried here until the deadline). Needs OffsetFetch v7
    /// (Kafka 2.5); older coordinators are asked without it.
    pub require_stable: bool,
    /// The member asking (OffsetFetch v9+, KIP-848: the coordinator checks a
    /// consumer-protocol member's epoch).
    pub member: Option<&'a GroupMetadata>,
}

/// The committed offsets of `partitions` in `group`, within `timeout`.
pub async fn fetch(
    cluster: &Cluster,
    group: &str,
    partitions: &[TopicPartition],
    how: &FetchOffsets<'_>,
    timeout: Duration,
) -> Result<Committed, OffsetsError> {
    let deadline = Instant::now() + timeout;
    let mut out = Committed::new();
    if partitions.is_empty() {
        return Ok(out);
    }
    let ids = topic_ids(cluster, partitions.iter().map(|tp| tp.topic.as_str())).await;
    let mut attempt = 0u32;
    let mut todo: Vec<TopicPartition> = partitions.to_vec();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let coordinator = cluster
            .coordinator(CoordinatorKind::Group, group)
            .await
            .map_err(|e| cluster_err(group, e))?;
        let advertised = match coordinator.connection().await {
            Ok(live) => live.versions.get(ApiKey::OFFSET_FETCH),
            Err(source) => {
                return Err(cluster_err(
                    group,
                    ClusterError::Broker {
                        broker: coordinator.name(),
                        source,
                    },
                ))
            }
        };
        let grouped = advertised.is_some_and(|r| r.max >= OFFSET_FETCH_FIRST_GROUPS);
        let req = fetch_request(group, &todo, &ids, how, grouped, advertised.map(|r| r.max));
        let opts = SendOptions {
            timeout: Some(left),
            ..Default::default()
        };
        let r = cluster
            .send_with(&req, &opts)
            .await
            .map_err(|e| cluster_err(group, e))?;
        let (group_code, got) = read_fetch(&r.response, group, &cluster.metadata());
        let mut retry = Vec::new();
        let mut failed = Vec::new();
        if group_code.is_err() {
            if FETCH_RETRIABLE.contains(&group_code) {
                retry = todo.clone();
                failed = todo.iter().map(|tp| (tp.clone(), group_code)).collect();
            } else {
                return Err(OffsetsError::Group {
                    group: escape(group).into_owned(),
                    code: group_code,
                });
            }
        } else {
            for tp in &todo {
                match got.get(tp) {
                    Some(Ok(c)) => {
                        out.insert(tp.clone(), c.clone());
                    }
                    Some(Err(code)) => {
                        if FETCH_RETRIABLE.contains(code) {
                            retry.push(tp.clone());
                        }
                        failed.push((tp.clone(), *code));
                    }
                    None => failed.push((tp.clone(), ErrorCode::UNKNOWN_SERVER_ERROR)),
                }
            }
        }
        if failed.is_empty() {
            return Ok(out);
        }
        let retriable = retry.len();
        back_off_or_fail(
            cluster,
            group,
            attempt,
            deadline,
            failed,
            retriable,
            "OffsetFetch",
        )
        .await?;
        todo = retry;
        attempt += 1;
    }
}

/// OffsetFetch v7 adds `require_stable` (KIP-447).
const OFFSET_FETCH_FIRST_REQUIRE_STABLE: i16 = 7;

fn fetch_request(
    group: &str,
    partitions: &[TopicPartition],
    ids: &BTreeMap<String, Uuid>,
    how: &FetchOffsets<'_>,
    grouped: bool,
    advertised_max: Option<i16>,
) -> OffsetFetchRequest {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    let mut req = OffsetFetchRequest::default();
    req.require_stable = how.require_stable
        && advertised_max.is_some_and(|m| m >= OFFSET_FETCH_FIRST_REQUIRE_STABLE);
    if grouped {
        let mut g = OffsetFetchRequestGroup::default();
        g.group_id = StrBytes::from(group.to_string());
        if let Some(m) = how.member {
            if !m.member_id.is_empty() {
                g.member_id = Some(StrBytes::from(m.member_id.clone()));
                g.member_epoch = m.generation_id;
            }
        }
        g.topics = Some(
            by_topic
                .into_iter()
                .map(|(name, partition_indexes)| {
                    let mut t = OffsetFetchRequestTopics::default();
                    t.name = StrBytes::from(name.to_string());
                    t.topic_id = ids.get(name).copied().unwrap_or_default();
                    t.partition_indexes = partition_indexes;
                    t
                })
                .collect(),
        );
        req.groups = vec![g];
        req.topics = Some(Vec::new());
    } else {
        req.group_id = StrBytes::from(group.to_string());
        req.topics = Some(
            by_topic
                .into_iter()
                .map(|(name, partition_indexes)| {
                    let mut t = OffsetFetchRequestTopic::default();
                    t.name = StrBytes::from(name.to_string());
                    t.partition_indexes = partition_indexes;
                    t
                })
                .collect(),
        );
    }
    req
}

type FetchAnswer = BTreeMap<TopicPartition, Result<Option<OffsetAndMetadata>, ErrorCode>>;

/// The group's error and each partition's answer, from either shape.
fn read_fetch(resp: &OffsetFetchResponse, group: &str, md: &Metadata) -> (ErrorCode, FetchAnswer) {
    let mut out = FetchAnswer::new();
    let entry = |offset: i64, epoch: i32, meta: &Option<StrBytes>, code: i16| {
        let code = ErrorCode(code);
        if code.is_err() {
            return Err(code);
        }
        // -1: nothing committed for the partition.
        Ok((offset >= 0).then(|| OffsetAndMetadata {
            offset,
            leader_epoch: epoch,
            metadata: meta.as_ref().map(|m| m.to_string()),
        }))
    };
    if let Some(g) = resp.groups.iter().find(|g| &*g.group_id == group) {
        for t in &g.topics {
            let name = if t.name.is_empty() {
                match md.topic_name(&t.topic_id) {
                    Some(n) => n.to_string(),
                    None => continue,
                }
            } else {
                t.name.to_string()
            };
            for p in &t.partitions {
                out.insert(
                    TopicPartition::new(name.clone(), p.partition_index),
                    entry(
                        p.committed_offset,
                        p.committed_leader_epoch,
                        &p.metadata,
                        p.error_code,
                    ),
                );
            }
        }
        return (ErrorCode(g.error_code), out);
    }
    for t in &resp.topics {
        for p in &t.partitions {
            out.insert(
                TopicPartition::new(t.name.to_string(), p.partition_index),
                entry(
                    p.committed_offset,
                    p.committed_leader_epoch,
                    &p.metadata,
                    p.error_code,
                ),
            );
        }
    }
    (ErrorCode(resp.error_code), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::messages::offset_fetch_response::{
        OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
    };
    use kwire::Message;

    fn member() -> GroupMetadata {
        GroupMetadata {
            group_id: "g".into(),
            generation_id: 7,
            member_id: "m-1".into(),
            group_instance_id: Some("i".into()),
        }
    }

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    #[test]
    fn commit_carries_names_and_ids_and_encodes_at_every_version() {
        let mut offsets = BTreeMap::new();
        offsets.insert(tp("a", 0), OffsetAndMetadata::new(5));
        offsets.insert(tp("a", 1), OffsetAndMetadata::new(9));
        offsets.insert(tp("b", 0), OffsetAndMetadata::new(1));
        let id = Uuid::from_u128(42);
        let ids: BTreeMap<String, Uuid> = [("a".to_string(), id), ("b".to_string(), id)].into();
        let req = commit_request(&member(), &offsets, &ids);
        assert_eq!(req.topics.len(), 2);
        assert_eq!(&*req.topics[0].name, "a");
        assert_eq!(req.topics[0].topic_id, id);
        assert_eq!(req.topics[0].partitions.len(), 2);
        assert_eq!(req.generation_id_or_member_epoch, 7);
        let range = ApiKey::OFFSET_COMMIT.versions().expect("OffsetCommit");
        for v in range.min..=range.max {
            // v7+ carries the instance id; below, a static member cannot
            // commit with it (and the encoder says so).
            let r = req.encode_to_bytes(v);
            assert_eq!(r.is_ok(), v >= 7, "v{v}: {r:?}");
        }
    }

    #[test]
    fn a_topic_without_id_keeps_commit_below_v10() {
        let mut offsets = BTreeMap::new();
        offsets.insert(tp("a", 0), OffsetAndMetadata::new(5));
        let req = commit_request(&GroupMetadata::unjoined("g"), &offsets, &BTreeMap::new());
        let facts = crate::protocol::facts::request_facts(&req);
        assert_eq!(facts.topics_without_id, 1);
    }

    #[test]
    fn fetch_request_follows_the_advertised_shape() {
        let parts = [tp("a", 0), tp("a", 2), tp("b", 1)];
        let m = member();
        let how = FetchOffsets {
            require_stable: true,
            member: Some(&m),
        };
        let ids = BTreeMap::new();
        let new = fetch_request("g", &parts, &ids, &how, true, Some(10));
        assert!(new.group_id.is_empty());
        assert_eq!(new.groups.len(), 1);
        assert_eq!(new.groups[0].topics.as_ref().unwrap().len(), 2);
        assert_eq!(new.groups[0].member_epoch, 7);
        assert!(new.require_stable);
        for v in 8..=9 {
            new.encode_to_bytes(v)
                .expect("grouped shape encodes at v8-9");
        }
        let old = fetch_request("g", &parts, &ids, &how, false, Some(6));
        assert_eq!(&*old.group_id, "g");
        assert!(old.groups.is_empty());
        // v6 has no require_stable: it is left out rather than failing.
        assert!(!old.require_stable);
        for v in 1..=6 {
            old.encode_to_bytes(v)
                .expect("legacy shape encodes at v1-6");
        }
    }

    #[test]
    fn fetch_answer_is_read_per_partition() {
        let mut resp = OffsetFetchResponse::default();
        let mut g = OffsetFetchResponseGroup::default();
        g.group_id = "g".into();
        let mut t = OffsetFetchResponseTopics::default();
        t.name = "a".into();
        let mut p0 = OffsetFetchResponsePartitions::default();
        p0.partition_index = 0;
        p0.committed_offset = 12;
        p0.committed_leader_epoch = 3;
        let mut p1 = OffsetFetchResponsePartitions::default();
        p1.partition_index = 1;
        p1.committed_offset = -1;
        let mut p2 = OffsetFetchResponsePartitions::default();
        p2.partition_index = 2;
        p2.committed_offset = -1;
        p2.error_code = ErrorCode::UNSTABLE_OFFSET_COMMIT.0;
        t.partitions = vec![p0, p1, p2];
        g.topics = vec![t];
        resp.groups = vec![g];
        let (code, got) = read_fetch(&resp, "g", &Metadata::default());
        assert!(code.is_ok());
        assert_eq!(got[&tp("a", 0)].clone().unwrap().unwrap().offset, 12);
        assert_eq!(got[&tp("a", 0)].clone().unwrap().unwrap().leader_epoch, 3);
        assert_eq!(got[&tp("a", 1)], Ok(None));
        assert_eq!(got[&tp("a", 2)], Err(ErrorCode::UNSTABLE_OFFSET_COMMIT));
    }

    #[test]
    fn fencing_errors_are_told_apart() {
        let e = OffsetsError::Partitions {
            group: "g".into(),
            failed: vec![(tp("a", 0), ErrorCode::ILLEGAL_GENERATION)],
        };
        assert!(e.is_fenced());
        let e = OffsetsError::Partitions {
            group: "g".into(),
            failed: vec![(tp("a", 0), ErrorCode::OFFSET_METADATA_TOO_LARGE)],
        };
        assert!(!e.is_fenced());
        assert!(e.to_string().contains("a-0"), "{e}");
    }
}
