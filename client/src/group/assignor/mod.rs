//! Client-side partition assignors for the classic group protocol: the
//! group leader decodes every member's `ConsumerProtocolSubscription`, runs
//! the assignor the group agreed on, and sends each member a
//! `ConsumerProtocolAssignment` through SyncGroup.
//!
//! * [`RangeAssignor`] (`range`): per topic, contiguous ranges to members in
//!   order, rack-aware when racks are known (KIP-881);
//! * [`RoundRobinAssignor`] (`roundrobin`): all partitions dealt in turn;
//! * [`CooperativeStickyAssignor`] (`cooperative-sticky`): balanced and
//!   sticky (KIP-54, KIP-341), and incremental: a partition that changes
//!   owner is first only revoked, and assigned in a follow-up rebalance
//!   (KIP-429).
//!
//! Members are ordered as Kafka's Java assignors order them (static members
//! by `group.instance.id` first, KIP-345; then member ids, compared as Java
//! compares strings), so a kwire leader and a Java leader hand out the same
//! range and round-robin assignments; the differential test
//! (`client/tests/assignors_java.rs`) checks this against kafka-clients.

mod protocol;
mod range;
mod round_robin;
mod sticky;

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;

use super::{java_cmp, TopicPartition};

pub use protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription, ProtocolError,
    ASSIGNMENT_VERSION, SUBSCRIPTION_VERSION,
};
pub use range::RangeAssignor;
pub use round_robin::RoundRobinAssignor;
pub use sticky::{CooperativeStickyAssignor, StickyOutcome};

/// What one member sent in its JoinGroup metadata, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Assignor-specific bytes.
    pub user_data: Option<Bytes>,
    /// Partitions the member owns now (v1+, KIP-429).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation of `owned_partitions` (v2+, KIP-792); `None` when the
    /// subscription was written below v2.
    pub generation_id: Option<i32>,
    /// The member's rack (v3+, KIP-881); empty counts as none.
    pub rack_id: Option<String>,
}

/// One member of the group as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub member_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    pub group_instance_id: Option<String>,
    pub subscription: Subscription,
}

/// One partition and the racks of its replicas, from Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    /// Racks of all replicas (offline and out-of-sync ones included, as
    /// Kafka's assignors do: they are expected back soon).
    pub replica_racks: Vec<String>,
}

/// The topics the leader knows, with their partitions. A subscribed topic
/// missing here (or with no partitions) is not assigned, as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterTopics {
    pub topics: BTreeMap<String, Vec<PartitionInfo>>,
}

impl ClusterTopics {
    /// Topics of `count` partitions each, without rack information.
    pub fn without_racks<'a>(counts: impl IntoIterator<Item = (&'a str, i32)>) -> Self {
        let topics = counts
            .into_iter()
            .map(|(t, n)| {
                let parts = (0..n.max(0))
                    .map(|p| PartitionInfo {
                        partition: p,
                        replica_racks: Vec::new(),
                    })
                    .collect();
                (t.to_string(), parts)
            })
            .collect();
        ClusterTopics { topics }
    }

    /// The partitions of `topic` sorted by index; `None` when unknown or
    /// empty.
    pub(crate) fn partitions(&self, topic: &str) -> Option<Vec<&PartitionInfo>> {
        let parts = self.topics.get(topic)?;
        if parts.is_empty() {
            return None;
        }
        let mut v: Vec<&PartitionInfo> = parts.iter().collect();
        v.sort_by_key(|p| p.partition);
        Some(v)
    }
}

/// What one member gets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// Sorted by topic, then partition.
    pub partitions: Vec<TopicPartition>,
    pub user_data: Option<Bytes>,
}

/// How the group rebalances (KIP-429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RebalanceProtocol {
    /// Every member revokes everything before each rebalance.
    Eager,
    /// Members keep what they keep; only moved partitions are revoked, and
    /// they are assigned to their new owner in a follow-up rebalance.
    Cooperative,
}

/// Why an assignment could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    #[error("the group has no members to assign to")]
    NoMembers,
    #[error("member id {0:?} appears more than once in the JoinGroup response")]
    DuplicateMember(String),
    #[error("assignor invariant broken: {0}")]
    Internal(&'static str),
}

/// A client-side assignor.
pub trait Assignor: fmt::Debug + Send + Sync {
    /// The protocol name members advertise in JoinGroup.
    fn name(&self) -> &'static str;
    /// Rebalance protocols it supports, preferred first.
    fn supported_protocols(&self) -> &'static [RebalanceProtocol] {
        &[RebalanceProtocol::Eager]
    }
    /// User data this member adds to its subscription, given the generation
    /// of its last assignment (-1 before the first).
    fn subscription_user_data(&self, _generation: i32) -> Option<Bytes> {
        None
    }
    /// Assigns the partitions of `cluster` to `members`. Every member gets an
    /// entry, possibly empty.
    fn assign(
        &self,
        cluster: &ClusterTopics,
        members: &[Member],
    ) -> Result<BTreeMap<String, Assignment>, AssignError>;
}

/// Looks an assignor up by its protocol name.
pub fn by_name(name: &str) -> Option<Box<dyn Assignor>> {
    match name {
        range::NAME => Some(Box::new(RangeAssignor)),
        round_robin::NAME => Some(Box::new(RoundRobinAssignor)),
        sticky::NAME => Some(Box::new(CooperativeStickyAssignor)),
        _ => None,
    }
}

/// Kafka's member order (`AbstractPartitionAssignor.MemberInfo`): members
/// with a `group.instance.id` first, by instance id, then the others by
/// member id (KIP-345: a static member keeps its place across restarts,
/// which keeps range and round-robin assignments stable).
pub(crate) fn member_order(a: &Member, b: &Member) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => java_cmp(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_cmp(&a.member_id, &b.member_id),
    }
}

/// Checks member ids are unique and returns an empty assignment per member.
pub(crate) fn empty_assignments(
    members: &[Member],
) -> Result<BTreeMap<String, Vec<TopicPartition>>, AssignError> {
    if members.is_empty() {
        return Err(AssignError::NoMembers);
    }
    let mut out = BTreeMap::new();
    for m in members {
        if out.insert(m.member_id.clone(), Vec::new()).is_some() {
            return Err(AssignError::DuplicateMember(m.member_id.clone()));
        }
    }
    Ok(out)
}

/// A member's rack, if it has a non-empty one (Kafka ignores empty racks).
pub(crate) fn member_rack(m: &Member) -> Option<&str> {
    m.subscription.rack_id.as_deref().filter(|r| !r.is_empty())
}

/// Kafka's `useRackAwareAssignment`: only when some consumer has a rack that
/// some replica lives on, and the partitions do not all have replicas on
/// every rack (then every choice is rack-local anyway).
pub(crate) fn use_rack_aware<'a>(
    consumer_racks: &std::collections::BTreeSet<&'a str>,
    all_partition_racks: &std::collections::BTreeSet<&'a str>,
    per_partition: impl IntoIterator<Item = std::collections::BTreeSet<&'a str>>,
) -> bool {
    if consumer_racks.is_empty() || consumer_racks.is_disjoint(all_partition_racks) {
        return false;
    }
    !per_partition
        .into_iter()
        .all(|racks| &racks == all_partition_racks)
}

pub(crate) fn finish(map: BTreeMap<String, Vec<TopicPartition>>) -> BTreeMap<String, Assignment> {
    map.into_iter()
        .map(|(k, mut v)| {
            v.sort();
            (
                k,
                Assignment {
                    partitions: v,
                    user_data: None,
                },
            )
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn member(id: &str, topics: &[&str]) -> Member {
        Member {
            member_id: id.into(),
            group_instance_id: None,
            subscription: Subscription {
                topics: topics.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            },
        }
    }

    pub(crate) fn parts(a: &BTreeMap<String, Assignment>, m: &str) -> Vec<String> {
        a[m].partitions.iter().map(|tp| tp.to_string()).collect()
    }
}
