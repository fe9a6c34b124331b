//! What the group state machines hand out and take back.

use std::time::{Duration, Instant};

use kwire::messages::leave_group_request::MemberIdentity;
use kwire::messages::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
    SyncGroupRequest, SyncGroupResponse,
};
use kwire::{ApiKey, ErrorCode, StrBytes, VersionRange};

use super::TopicPartition;

/// Identifies one request handed out by a state machine's `poll`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// LeaveGroup changed shape at v3 (a member list, KIP-345), and neither
/// shape's fields are ignorable, so its body is built for the version the
/// negotiation picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupSpec {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub reason: Option<String>,
}

/// LeaveGroup v3 takes a list of members (KIP-345).
pub const LEAVE_GROUP_FIRST_MEMBER_LIST: i16 = 3;

impl LeaveGroupSpec {
    /// The request at `version`.
    pub fn message(&self, version: i16) -> LeaveGroupRequest {
        let mut r = LeaveGroupRequest::default();
        r.group_id = StrBytes::from(self.group_id.clone());
        if version < LEAVE_GROUP_FIRST_MEMBER_LIST {
            r.member_id = StrBytes::from(self.member_id.clone());
        } else {
            let mut m = MemberIdentity::default();
            m.member_id = StrBytes::from(self.member_id.clone());
            m.group_instance_id = self.group_instance_id.clone().map(StrBytes::from);
            m.reason = self.reason.clone().map(StrBytes::from);
            r.members = vec![m];
        }
        r
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupRequestBody {
    JoinGroup(JoinGroupRequest),
    SyncGroup(SyncGroupRequest),
    Heartbeat(HeartbeatRequest),
    LeaveGroup(LeaveGroupSpec),
    ConsumerGroupHeartbeat(ConsumerGroupHeartbeatRequest),
}

/// A response body, decoded by the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupResponse {
    JoinGroup(JoinGroupResponse),
    SyncGroup(SyncGroupResponse),
    Heartbeat(HeartbeatResponse),
    LeaveGroup(LeaveGroupResponse),
    ConsumerGroupHeartbeat(ConsumerGroupHeartbeatResponse),
}

impl GroupResponse {
    pub fn api(&self) -> ApiKey {
        match self {
            GroupResponse::JoinGroup(_) => ApiKey::JOIN_GROUP,
            GroupResponse::SyncGroup(_) => ApiKey::SYNC_GROUP,
            GroupResponse::Heartbeat(_) => ApiKey::HEARTBEAT,
            GroupResponse::LeaveGroup(_) => ApiKey::LEAVE_GROUP,
            GroupResponse::ConsumerGroupHeartbeat(_) => ApiKey::CONSUMER_GROUP_HEARTBEAT,
        }
    }
}

/// A request to send to the group's coordinator.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRequest {
    pub id: RequestId,
    /// Routed to this group's coordinator.
    pub group_id: String,
    /// Look the coordinator up (again) first: unknown, moved, or its
    /// connection failed.
    pub refresh_coordinator: bool,
    pub api: ApiKey,
    pub versions: VersionRange,
    /// How long to wait for the answer. A JoinGroup is held by the
    /// coordinator until the rebalance completes, so it gets the rebalance
    /// timeout plus a margin (Kafka's `joinGroupTimeoutMs`).
    pub timeout: Duration,
    pub body: GroupRequestBody,
}

/// What a group state machine's `poll` says.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    Send(Box<GroupRequest>),
    /// Nothing to send before this instant (a heartbeat, a backoff).
    WaitUntil(Instant),
    /// Nothing to send until something happens.
    Idle,
}

/// What the application learns: the rebalance callbacks and the rest.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupEvent {
    /// These partitions are being taken away. The application commits what
    /// it processed, then calls `revocation_done`; nothing proceeds before
    /// (Kafka's `onPartitionsRevoked` runs before the rebalance goes on).
    Revoked(Vec<TopicPartition>),
    /// These partitions are now this member's (Kafka's
    /// `onPartitionsAssigned`; may be empty).
    Assigned(Vec<TopicPartition>),
    /// These partitions were lost: another member may own them already, so
    /// nothing may be committed for them (KIP-429 `onPartitionsLost`).
    Lost(Vec<TopicPartition>),
    /// Joined a generation.
    Joined {
        generation: i32,
        member_id: String,
        leader: bool,
        protocol: Option<String>,
    },
    /// The leader needs partition metadata for these topics to assign; the
    /// caller answers with `provide_metadata`.
    MetadataNeeded(Vec<String>),
    /// A member's JoinGroup metadata could not be read; it was given nothing.
    UnreadableMember { member_id: String, error: String },
    /// KIP-848: the assignment names topics by id; the caller looks these
    /// up (Metadata) and answers with `provide_topic_names`.
    TopicNamesNeeded(Vec<kwire::Uuid>),
    /// An error the member continues after (the application should know,
    /// e.g. a subscribed topic it may not read).
    Warning(GroupError),
    /// The coordinator does not run this protocol for the group
    /// (ConsumerGroupHeartbeat answered UNSUPPORTED_VERSION): the caller
    /// falls back to the classic protocol.
    ProtocolUnsupported,
    /// Left the group.
    Left,
    /// The member cannot continue.
    Failed(GroupError),
}

/// Why a group operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("{op} is not allowed now ({state})")]
    InvalidState {
        op: &'static str,
        state: &'static str,
    },
    #[error("the group coordinator answered {api} with {code}{}", message.as_deref().map(|m| format!(": {}", crate::escape::escape(m))).unwrap_or_default())]
    Fatal {
        api: ApiKey,
        code: ErrorCode,
        message: Option<String>,
    },
    #[error(
        "another member with group.instance.id {:?} fenced this one (KIP-345)",
        crate::escape::escape(instance_id)
    )]
    FencedInstance { instance_id: String },
    #[error(
        "the group chose protocol {:?}, which this member does not offer",
        crate::escape::escape(got)
    )]
    UnknownProtocol { got: String },
    #[error("could not read the assignment: {0}")]
    BadAssignment(String),
    #[error("no usable version of {api}: {why}")]
    NoVersion { api: ApiKey, why: String },
    #[error("a response to request {0}, which is not the one in flight")]
    UnknownRequest(u64),
    #[error("a {got} response to a {expected} request")]
    WrongResponse { expected: ApiKey, got: ApiKey },
    #[error("at least one assignor is needed")]
    NoAssignors,
    #[error("ConsumerGroupHeartbeat v1+ (KIP-1082) needs a member id generated by the client; none was configured")]
    NoMemberId,
}

/// `ours ∩ min..` for `api`, or an error naming why.
pub(crate) fn range_from(api: ApiKey, min: i16, why: &str) -> Result<VersionRange, GroupError> {
    api.versions()
        .and_then(|ours| ours.intersect(&VersionRange::new(min, i16::MAX)))
        .ok_or_else(|| GroupError::NoVersion {
            api,
            why: why.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::Message;

    #[test]
    fn leave_group_is_built_per_version() {
        let spec = LeaveGroupSpec {
            group_id: "g".into(),
            member_id: "m".into(),
            group_instance_id: Some("i".into()),
            reason: Some("bye".into()),
        };
        for v in 0..=5 {
            let msg = spec.message(v);
            assert!(msg.encode_to_bytes(v).is_ok(), "v{v}");
        }
        assert_eq!(spec.message(2).member_id, "m");
        assert_eq!(
            spec.message(3).members[0].group_instance_id.as_deref(),
            Some("i")
        );
    }
}
