//! Consumer groups, sans-IO: the partition assignors the classic protocol's
//! leader runs ([`assignor`]), the classic membership state machine
//! ([`classic`]: JoinGroup / SyncGroup / Heartbeat / LeaveGroup) and the
//! KIP-848 member state machine ([`consumer`]: ConsumerGroupHeartbeat), plus
//! the rule that picks one of the two protocols ([`select`]).
//!
//! Nothing here opens a socket or starts a timer. Each state machine takes
//! events (a response, a deadline passing, the application's call) with the
//! current time as an argument and hands back the requests to send, the
//! coordinator they must go to and the version range each may use; the
//! caller does the I/O and the version choice within that range.

pub mod assignor;
pub mod classic;
pub mod consumer;
mod partition;
mod request;
pub mod select;

pub use partition::{java_cmp, TopicPartition};
pub use request::{
    GroupError, GroupEvent, GroupRequest, GroupRequestBody, GroupResponse, LeaveGroupSpec, Poll,
    RequestId, LEAVE_GROUP_FIRST_MEMBER_LIST,
};

/// What a consumer knows about its group membership, as
/// `ConsumerGroupMetadata` in Kafka's clients: the transactional producer
/// sends it with TxnOffsetCommit (KIP-447) so the group coordinator can fence
/// a zombie member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadata {
    pub group_id: String,
    /// The classic generation id, or the KIP-848 member epoch; -1 when
    /// unknown.
    pub generation_id: i32,
    /// Empty when unknown.
    pub member_id: String,
    /// The static member's `group.instance.id` (KIP-345).
    pub group_instance_id: Option<String>,
}

impl GroupMetadata {
    /// Metadata for a group the caller is not a member of (offsets committed
    /// without fencing, as Kafka's `new ConsumerGroupMetadata(groupId)`).
    pub fn unjoined(group_id: impl Into<String>) -> Self {
        GroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }

    /// Whether the coordinator can fence with it: TxnOffsetCommit carries
    /// member id and generation only from v3 (brokers 2.5+, KIP-447).
    pub fn has_member(&self) -> bool {
        self.generation_id >= 0 || !self.member_id.is_empty() || self.group_instance_id.is_some()
    }
}
