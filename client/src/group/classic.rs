//! The classic group protocol's member state machine (KIP-62 heartbeats,
//! KIP-345 static membership, KIP-394 member ids, KIP-429 cooperative
//! rebalancing), sans-IO.
//!
//! A member joins with JoinGroup (the coordinator may first answer
//! MEMBER_ID_REQUIRED with an id to rejoin with, KIP-394), the elected
//! leader runs the group's assignor over every member's subscription and
//! hands the result to SyncGroup, every member reads its assignment from
//! the SyncGroup answer, then heartbeats until the coordinator says
//! REBALANCE_IN_PROGRESS and the next round starts.
//!
//! Rebalance protocol (KIP-429): eager when any configured assignor is
//! eager-only (every member revokes everything before joining), cooperative
//! when all support it (members keep their partitions through the
//! rebalance, revoke only what moved, and rejoin once so it can be
//! assigned to its new owner).
//!
//! Errors, as Kafka's `AbstractCoordinator` and `ConsumerCoordinator`:
//! REBALANCE_IN_PROGRESS rejoins keeping member id and generation;
//! UNKNOWN_MEMBER_ID forgets both and ILLEGAL_GENERATION the generation,
//! and the partitions are *lost*, not revoked (another member may own them
//! already); NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE look the
//! coordinator up again; COORDINATOR_LOAD_IN_PROGRESS retries;
//! FENCED_INSTANCE_ID (another process with the same `group.instance.id`),
//! authorization, INCONSISTENT_GROUP_PROTOCOL and the like are fatal.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire::messages::join_group_request::JoinGroupRequestProtocol;
use kwire::messages::join_group_response::JoinGroupResponseMember;
use kwire::messages::sync_group_request::SyncGroupRequestAssignment;
use kwire::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupResponse,
    SyncGroupRequest, SyncGroupResponse,
};
use kwire::{ApiKey, ErrorCode, StrBytes};

use super::assignor::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription, Assignor,
    ClusterTopics, Member, RebalanceProtocol, Subscription, ASSIGNMENT_VERSION,
    SUBSCRIPTION_VERSION,
};
use super::request::{range_from, LEAVE_GROUP_FIRST_MEMBER_LIST};
use super::{
    GroupError, GroupEvent, GroupMetadata, GroupRequest, GroupRequestBody, GroupResponse,
    LeaveGroupSpec, Poll, RequestId, TopicPartition,
};

/// The consumer protocol type in JoinGroup (Kafka's `ConsumerProtocol.PROTOCOL_TYPE`).
pub const PROTOCOL_TYPE: &str = "consumer";
/// JoinGroup carries `group.instance.id` from v5 (KIP-345).
pub const JOIN_GROUP_FIRST_STATIC: i16 = 5;
/// SyncGroup and Heartbeat carry `group.instance.id` from v3 (KIP-345).
pub const SYNC_HEARTBEAT_FIRST_STATIC: i16 = 3;
/// The margin Kafka adds to the rebalance timeout for a JoinGroup's wait.
pub const JOIN_GROUP_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// Configuration of one classic group member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicConfig {
    pub group_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    pub group_instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// Kafka's default `session.timeout.ms` since 3.0: 45 s (KIP-735).
    pub session_timeout: Duration,
    /// How long the coordinator waits for members to rejoin (Kafka uses
    /// `max.poll.interval.ms`, default 300 s).
    pub rebalance_timeout: Duration,
    /// Kafka's default `heartbeat.interval.ms`: 3 s.
    pub heartbeat_interval: Duration,
    pub retry_backoff: Duration,
    pub request_timeout: Duration,
}

impl ClassicConfig {
    pub fn new(group_id: impl Into<String>) -> Self {
        ClassicConfig {
            group_id: group_id.into(),
            group_instance_id: None,
            rack_id: None,
            session_timeout: Duration::from_secs(45),
            rebalance_timeout: Duration::from_secs(300),
            heartbeat_interval: Duration::from_secs(3),
            retry_backoff: Duration::from_millis(100),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Where the member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClassicState {
    /// No subscription yet.
    Unjoined,
    /// JoinGroup to send or in flight (or waiting for a revocation first).
    Joining,
    /// The leader waits for partition metadata to assign.
    AwaitingMetadata,
    /// SyncGroup to send or in flight.
    Syncing,
    /// Member of a generation; heartbeating.
    Stable,
    /// Revoking before LeaveGroup, or LeaveGroup in flight.
    Leaving,
    Left,
    Failed,
}

impl ClassicState {
    fn name(self) -> &'static str {
        match self {
            ClassicState::Unjoined => "unjoined",
            ClassicState::Joining => "joining",
            ClassicState::AwaitingMetadata => "awaiting metadata",
            ClassicState::Syncing => "syncing",
            ClassicState::Stable => "stable",
            ClassicState::Leaving => "leaving",
            ClassicState::Left => "left",
            ClassicState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Join,
    Sync,
    Heartbeat,
    Leave,
}

/// What waits for the application's `revocation_done`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AfterRevoke {
    Join,
    /// Cooperative: the new assignment, applied once the revocation is done.
    Apply {
        assignment: BTreeSet<TopicPartition>,
    },
    Leave,
}

/// The classic member. See the module docs.
#[derive(Debug)]
pub struct ClassicMember {
    cfg: ClassicConfig,
    assignors: Vec<Box<dyn Assignor>>,
    protocol: RebalanceProtocol,
    topics: BTreeSet<String>,
    state: ClassicState,
    member_id: String,
    generation: i32,
    protocol_name: Option<String>,
    owned: BTreeSet<TopicPartition>,
    /// A revocation waits for the application.
    revoking: Option<AfterRevoke>,
    /// The partitions of that revocation: still the application's until it
    /// is done.
    revoking_parts: BTreeSet<TopicPartition>,
    /// The leader's JoinGroup members while it waits for metadata.
    leader_members: Option<Vec<JoinGroupResponseMember>>,
    /// The leader's assignments, to send in SyncGroup.
    sync_assignments: Vec<(String, Bytes)>,
    in_flight: Option<(RequestId, Sent)>,
    next_id: u64,
    refresh_coordinator: bool,
    not_before: Option<Instant>,
    next_heartbeat: Option<Instant>,
    last_heartbeat_ok: Option<Instant>,
    /// A rejoin requested while something else was in flight.
    rejoin_pending: bool,
    leave_reason: Option<String>,
    events: VecDeque<GroupEvent>,
}

impl ClassicMember {
    /// A member offering `assignors` (preferred first).
    pub fn new(cfg: ClassicConfig, assignors: Vec<Box<dyn Assignor>>) -> Result<Self, GroupError> {
        if assignors.is_empty() {
            return Err(GroupError::NoAssignors);
        }
        // Kafka's rule: cooperative only when every assignor supports it.
        let protocol = if assignors.iter().all(|a| {
            a.supported_protocols()
                .contains(&RebalanceProtocol::Cooperative)
        }) {
            RebalanceProtocol::Cooperative
        } else {
            RebalanceProtocol::Eager
        };
        Ok(ClassicMember {
            cfg,
            assignors,
            protocol,
            topics: BTreeSet::new(),
            state: ClassicState::Unjoined,
            member_id: String::new(),
            generation: -1,
            protocol_name: None,
            owned: BTreeSet::new(),
            revoking: None,
            revoking_parts: BTreeSet::new(),
            leader_members: None,
            sync_assignments: Vec::new(),
            in_flight: None,
            next_id: 0,
            refresh_coordinator: true,
            not_before: None,
            next_heartbeat: None,
            last_heartbeat_ok: None,
            rejoin_pending: false,
            leave_reason: None,
            events: VecDeque::new(),
        })
    }

    pub fn state(&self) -> ClassicState {
        self.state
    }

    pub fn rebalance_protocol(&self) -> RebalanceProtocol {
        self.protocol
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The subscribed topics.
    pub fn topics(&self) -> &BTreeSet<String> {
        &self.topics
    }

    /// The partitions this member owns now (without those being revoked).
    pub fn owned(&self) -> &BTreeSet<TopicPartition> {
        &self.owned
    }

    /// What the application may still be consuming: the owned partitions
    /// and those whose revocation it has not finished.
    pub fn held(&self) -> BTreeSet<TopicPartition> {
        self.owned.union(&self.revoking_parts).cloned().collect()
    }

    /// What a transactional producer sends with TxnOffsetCommit (KIP-447).
    pub fn group_metadata(&self) -> GroupMetadata {
        GroupMetadata {
            group_id: self.cfg.group_id.clone(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
            group_instance_id: self.cfg.group_instance_id.clone(),
        }
    }

    pub fn next_event(&mut self) -> Option<GroupEvent> {
        self.events.pop_front()
    }

    fn invalid(&self, op: &'static str) -> GroupError {
        GroupError::InvalidState {
            op,
            state: self.state.name(),
        }
    }

    /// Sets the subscription. A change while in the group rejoins, so the
    /// leader can assign the new topics (and take the old ones away).
    pub fn subscribe(
        &mut self,
        topics: impl IntoIterator<Item = String>,
    ) -> Result<(), GroupError> {
        if matches!(
            self.state,
            ClassicState::Leaving | ClassicState::Left | ClassicState::Failed
        ) {
            return Err(self.invalid("subscribe"));
        }
        let topics: BTreeSet<String> = topics.into_iter().collect();
        let changed = topics != self.topics;
        self.topics = topics;
        match self.state {
            ClassicState::Unjoined => self.start_join(),
            _ if changed => self.request_rejoin(),
            _ => {}
        }
        Ok(())
    }

    /// Asks for a new rebalance (Kafka's `requestRejoin`).
    pub fn request_rejoin(&mut self) {
        match self.state {
            ClassicState::Stable => self.start_join(),
            ClassicState::Joining | ClassicState::AwaitingMetadata | ClassicState::Syncing => {
                self.rejoin_pending = true;
            }
            _ => {}
        }
    }

    /// Starts a join: first the revocations the protocol requires (Kafka's
    /// `onJoinPrepare`).
    fn start_join(&mut self) {
        if self.revoking.is_some() {
            // A revocation is still with the application; its completion
            // starts the join.
            self.rejoin_pending = true;
            return;
        }
        self.state = ClassicState::Joining;
        self.next_heartbeat = None;
        self.rejoin_pending = false;
        let revoke: Vec<TopicPartition> = match self.protocol {
            RebalanceProtocol::Eager => self.owned.iter().cloned().collect(),
            // Cooperative: only what the subscription no longer covers.
            RebalanceProtocol::Cooperative => self
                .owned
                .iter()
                .filter(|tp| !self.topics.contains(&tp.topic))
                .cloned()
                .collect(),
        };
        if !revoke.is_empty() {
            self.revoke(revoke, AfterRevoke::Join);
        }
    }

    /// The application finished the `Revoked` callback(s) it was given.
    /// Calling it with nothing pending does nothing.
    pub fn revocation_done(&mut self) {
        self.revoking_parts.clear();
        match self.revoking.take() {
            None | Some(AfterRevoke::Leave) => {}
            Some(AfterRevoke::Join) => {
                if self.rejoin_pending {
                    self.rejoin_pending = false;
                }
            }
            Some(AfterRevoke::Apply { assignment }) => self.apply_assignment(assignment, true),
        }
    }

    fn revoke(&mut self, parts: Vec<TopicPartition>, then: AfterRevoke) {
        for tp in &parts {
            self.owned.remove(tp);
        }
        self.revoking_parts.extend(parts.iter().cloned());
        self.events.push_back(GroupEvent::Revoked(parts));
        self.revoking = Some(then);
    }

    /// Whether a `Revoked` callback waits for `revocation_done`.
    pub fn revocation_pending(&self) -> bool {
        self.revoking.is_some()
    }

    /// Leaves the group: revokes what it owns, then LeaveGroup. A static
    /// member does not send LeaveGroup unless `force` (KIP-345: its
    /// partitions wait for it through a restart until the session times
    /// out).
    pub fn leave(&mut self, reason: impl Into<String>, force: bool) -> Result<(), GroupError> {
        self.leave_as(reason.into(), force, false)
    }

    /// Leaves at once, what it owns lost rather than revoked: the
    /// application stopped calling poll for longer than the rebalance
    /// timeout (KIP-62's `max.poll.interval.ms`), so no callback can run
    /// before the partitions move. Kafka's consumer does the same from its
    /// heartbeat thread and reports the partitions lost at the next poll
    /// (KIP-429). A static member sends no LeaveGroup (KIP-345).
    pub fn leave_lost(&mut self, reason: impl Into<String>) -> Result<(), GroupError> {
        self.leave_as(reason.into(), false, true)
    }

    fn leave_as(&mut self, reason: String, force: bool, lost: bool) -> Result<(), GroupError> {
        if matches!(
            self.state,
            ClassicState::Left | ClassicState::Failed | ClassicState::Leaving
        ) {
            return Err(self.invalid("leave"));
        }
        let joined = self.generation >= 0 && !self.member_id.is_empty();
        self.state = ClassicState::Leaving;
        self.next_heartbeat = None;
        self.leader_members = None;
        self.revoking = None;
        let mut owned: Vec<TopicPartition> = std::mem::take(&mut self.owned).into_iter().collect();
        owned.extend(std::mem::take(&mut self.revoking_parts));
        owned.sort();
        if !owned.is_empty() {
            if joined && !lost {
                self.revoke(owned, AfterRevoke::Leave);
            } else {
                self.events.push_back(GroupEvent::Lost(owned));
            }
        }
        let send = !self.member_id.is_empty() && (self.cfg.group_instance_id.is_none() || force);
        if send {
            self.leave_reason = Some(reason);
        } else {
            self.finish_leave();
        }
        Ok(())
    }

    fn finish_leave(&mut self) {
        self.state = ClassicState::Left;
        self.member_id.clear();
        self.generation = -1;
        self.events.push_back(GroupEvent::Left);
    }

    /// The leader's metadata for the topics it asked for.
    pub fn provide_metadata(&mut self, cluster: &ClusterTopics) -> Result<(), GroupError> {
        if self.state != ClassicState::AwaitingMetadata {
            return Err(self.invalid("provide_metadata"));
        }
        let Some(members) = self.leader_members.take() else {
            return Err(self.invalid("provide_metadata"));
        };
        let name = self.protocol_name.clone().unwrap_or_default();
        let Some(assignor) = self.assignors.iter().find(|a| a.name() == name) else {
            self.fail(GroupError::UnknownProtocol { got: name });
            return Ok(());
        };
        let subs = decode_members(&members, &mut self.events);
        match assignor.assign(cluster, &subs) {
            Ok(result) => {
                let mut out = Vec::new();
                for (member, asg) in result {
                    match encode_assignment(&asg, ASSIGNMENT_VERSION) {
                        Ok(b) => out.push((member, b)),
                        Err(e) => {
                            self.fail(GroupError::BadAssignment(e.to_string()));
                            return Ok(());
                        }
                    }
                }
                self.sync_assignments = out;
                self.state = ClassicState::Syncing;
            }
            Err(e) => self.fail(GroupError::BadAssignment(e.to_string())),
        }
        Ok(())
    }

    fn fail(&mut self, e: GroupError) {
        tracing::warn!(group = %crate::escape::escape(&self.cfg.group_id), error = %e, "group member failed");
        self.state = ClassicState::Failed;
        self.next_heartbeat = None;
        self.events.push_back(GroupEvent::Failed(e));
    }

    fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn min_static(&self, v: i16) -> i16 {
        if self.cfg.group_instance_id.is_some() {
            v
        } else {
            0
        }
    }

    fn request(
        &mut self,
        api: ApiKey,
        min: i16,
        timeout: Duration,
        body: GroupRequestBody,
        sent: Sent,
    ) -> Poll {
        let versions = match range_from(
            api,
            min,
            "a static member (KIP-345) needs JoinGroup v5+, SyncGroup, Heartbeat and LeaveGroup v3+",
        ) {
            Ok(v) => v,
            Err(e) => {
                self.fail(e);
                return Poll::Idle;
            }
        };
        let id = self.next_id();
        self.in_flight = Some((id, sent));
        let refresh = std::mem::take(&mut self.refresh_coordinator);
        Poll::Send(Box::new(GroupRequest {
            id,
            group_id: self.cfg.group_id.clone(),
            refresh_coordinator: refresh,
            api,
            versions,
            timeout,
            body,
        }))
    }

    /// The next request to send, if any.
    pub fn poll(&mut self, now: Instant) -> Poll {
        if self.in_flight.is_some() || self.revoking.is_some() && self.state != ClassicState::Stable
        {
            return Poll::Idle;
        }
        if let Some(t) = self.not_before {
            if t > now {
                return Poll::WaitUntil(t);
            }
            self.not_before = None;
        }
        match self.state {
            ClassicState::Joining => {
                let body = self.join_request();
                let timeout = self.cfg.rebalance_timeout + JOIN_GROUP_TIMEOUT_MARGIN;
                let min = self.min_static(JOIN_GROUP_FIRST_STATIC);
                self.request(
                    ApiKey::JOIN_GROUP,
                    min,
                    timeout,
                    GroupRequestBody::JoinGroup(body),
                    Sent::Join,
                )
            }
            ClassicState::Syncing => {
                let mut r = SyncGroupRequest::default();
                r.group_id = StrBytes::from(self.cfg.group_id.clone());
                r.generation_id = self.generation;
                r.member_id = StrBytes::from(self.member_id.clone());
                r.group_instance_id = self.cfg.group_instance_id.clone().map(StrBytes::from);
                r.protocol_type = Some(StrBytes::from_static(PROTOCOL_TYPE));
                r.protocol_name = self.protocol_name.clone().map(StrBytes::from);
                r.assignments = self
                    .sync_assignments
                    .iter()
                    .map(|(m, b)| {
                        let mut a = SyncGroupRequestAssignment::default();
                        a.member_id = StrBytes::from(m.clone());
                        a.assignment = b.clone();
                        a
                    })
                    .collect();
                let min = self.min_static(SYNC_HEARTBEAT_FIRST_STATIC);
                let timeout = self.cfg.request_timeout;
                self.request(
                    ApiKey::SYNC_GROUP,
                    min,
                    timeout,
                    GroupRequestBody::SyncGroup(r),
                    Sent::Sync,
                )
            }
            ClassicState::Stable => {
                let Some(at) = self.next_heartbeat else {
                    return Poll::Idle;
                };
                if at > now {
                    return Poll::WaitUntil(at);
                }
                if self
                    .last_heartbeat_ok
                    .is_some_and(|t| now.saturating_duration_since(t) > self.cfg.session_timeout)
                {
                    // No heartbeat got through for a session: the
                    // coordinator may have moved (Kafka marks it unknown).
                    self.refresh_coordinator = true;
                }
                let mut r = HeartbeatRequest::default();
                r.group_id = StrBytes::from(self.cfg.group_id.clone());
                r.generation_id = self.generation;
                r.member_id = StrBytes::from(self.member_id.clone());
                r.group_instance_id = self.cfg.group_instance_id.clone().map(StrBytes::from);
                self.next_heartbeat = None;
                let min = self.min_static(SYNC_HEARTBEAT_FIRST_STATIC);
                let timeout = self.cfg.request_timeout;
                self.request(
                    ApiKey::HEARTBEAT,
                    min,
                    timeout,
                    GroupRequestBody::Heartbeat(r),
                    Sent::Heartbeat,
                )
            }
            ClassicState::Leaving => {
                if self.revoking.is_some() {
                    return Poll::Idle;
                }
                let Some(reason) = self.leave_reason.take() else {
                    self.finish_leave();
                    return Poll::Idle;
                };
                let spec = LeaveGroupSpec {
                    group_id: self.cfg.group_id.clone(),
                    member_id: self.member_id.clone(),
                    group_instance_id: self.cfg.group_instance_id.clone(),
                    reason: Some(reason),
                };
                let min = self.min_static(LEAVE_GROUP_FIRST_MEMBER_LIST);
                let timeout = self.cfg.request_timeout;
                self.request(
                    ApiKey::LEAVE_GROUP,
                    min,
                    timeout,
                    GroupRequestBody::LeaveGroup(spec),
                    Sent::Leave,
                )
            }
            _ => Poll::Idle,
        }
    }

    fn join_request(&self) -> JoinGroupRequest {
        let mut r = JoinGroupRequest::default();
        r.group_id = StrBytes::from(self.cfg.group_id.clone());
        r.session_timeout_ms = millis(self.cfg.session_timeout);
        r.rebalance_timeout_ms = millis(self.cfg.rebalance_timeout);
        r.member_id = StrBytes::from(self.member_id.clone());
        r.group_instance_id = self.cfg.group_instance_id.clone().map(StrBytes::from);
        r.protocol_type = StrBytes::from_static(PROTOCOL_TYPE);
        r.protocols = self
            .assignors
            .iter()
            .filter_map(|a| {
                let sub = Subscription {
                    topics: self.topics.iter().cloned().collect(),
                    user_data: a.subscription_user_data(self.generation),
                    owned_partitions: self.owned.iter().cloned().collect(),
                    generation_id: (self.generation >= 0).then_some(self.generation),
                    rack_id: self.cfg.rack_id.clone(),
                };
                // Our own subscription always encodes; skip an assignor if not.
                let metadata = encode_subscription(&sub, SUBSCRIPTION_VERSION).ok()?;
                let mut p = JoinGroupRequestProtocol::default();
                p.name = StrBytes::from_static(a.name());
                p.metadata = metadata;
                Some(p)
            })
            .collect();
        r
    }

    fn take_in_flight(&mut self, id: RequestId) -> Result<Sent, GroupError> {
        match self.in_flight.take() {
            Some((got, sent)) if got == id => Ok(sent),
            other => {
                self.in_flight = other;
                Err(GroupError::UnknownRequest(id.0))
            }
        }
    }

    /// The request `id` failed without an answer (disconnect, timeout).
    pub fn on_send_failed(&mut self, id: RequestId, now: Instant) -> Result<(), GroupError> {
        let sent = self.take_in_flight(id)?;
        self.refresh_coordinator = true;
        self.not_before = Some(now + self.cfg.retry_backoff);
        match sent {
            Sent::Heartbeat => self.next_heartbeat = Some(now + self.cfg.retry_backoff),
            // The coordinator may have finished the round without us: join again.
            Sent::Join | Sent::Sync => {
                self.state = ClassicState::Joining;
            }
            Sent::Leave => self.finish_leave(),
        }
        Ok(())
    }

    /// The answer to request `id`.
    pub fn on_response(
        &mut self,
        id: RequestId,
        resp: GroupResponse,
        now: Instant,
    ) -> Result<(), GroupError> {
        let sent = self.take_in_flight(id)?;
        let expected = match sent {
            Sent::Join => ApiKey::JOIN_GROUP,
            Sent::Sync => ApiKey::SYNC_GROUP,
            Sent::Heartbeat => ApiKey::HEARTBEAT,
            Sent::Leave => ApiKey::LEAVE_GROUP,
        };
        if resp.api() != expected {
            self.in_flight = Some((id, sent));
            return Err(GroupError::WrongResponse {
                expected,
                got: resp.api(),
            });
        }
        if self.state == ClassicState::Leaving && sent != Sent::Leave {
            return Ok(()); // a round we no longer take part in
        }
        match resp {
            GroupResponse::JoinGroup(r) => self.on_join(r, now),
            GroupResponse::SyncGroup(r) => self.on_sync(r, now),
            GroupResponse::Heartbeat(r) => self.on_heartbeat(r, now),
            GroupResponse::LeaveGroup(r) => self.on_leave(r),
            GroupResponse::ConsumerGroupHeartbeat(_) => {}
        }
        Ok(())
    }

    /// Partitions are gone without a revocation: another member may have
    /// them already (KIP-429 `onPartitionsLost`).
    fn lose_all(&mut self) {
        let mut lost: Vec<TopicPartition> = std::mem::take(&mut self.owned).into_iter().collect();
        lost.extend(std::mem::take(&mut self.revoking_parts));
        lost.sort();
        if !lost.is_empty() {
            self.events.push_back(GroupEvent::Lost(lost));
        }
    }

    /// The error handling shared by JoinGroup, SyncGroup and Heartbeat.
    fn on_error(&mut self, api: ApiKey, code: ErrorCode, now: Instant) {
        match code {
            ErrorCode::REBALANCE_IN_PROGRESS => self.rejoin_now(),
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                self.generation = -1;
                self.lose_all();
                self.state = ClassicState::Joining;
                self.start_join();
            }
            ErrorCode::ILLEGAL_GENERATION => {
                self.generation = -1;
                self.lose_all();
                self.state = ClassicState::Joining;
                self.start_join();
            }
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                self.refresh_coordinator = true;
                self.retry(api, now);
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS => self.retry(api, now),
            ErrorCode::FENCED_INSTANCE_ID => self.fail(GroupError::FencedInstance {
                instance_id: self.cfg.group_instance_id.clone().unwrap_or_default(),
            }),
            code => self.fail(GroupError::Fatal {
                api,
                code,
                message: None,
            }),
        }
    }

    fn retry(&mut self, api: ApiKey, now: Instant) {
        self.not_before = Some(now + self.cfg.retry_backoff);
        match api {
            ApiKey::HEARTBEAT => self.next_heartbeat = Some(now + self.cfg.retry_backoff),
            // A SyncGroup cut short cannot be resent for the same round
            // safely: join again (Kafka rejoins after a failed sync).
            ApiKey::SYNC_GROUP => self.state = ClassicState::Joining,
            _ => {}
        }
    }

    fn rejoin_now(&mut self) {
        self.state = ClassicState::Stable; // so start_join revokes as from a stable member
        self.start_join();
    }

    fn on_join(&mut self, r: JoinGroupResponse, now: Instant) {
        let code = ErrorCode(r.error_code);
        if code == ErrorCode::MEMBER_ID_REQUIRED {
            // KIP-394: the coordinator hands out the id to join with.
            self.member_id = r.member_id.to_string();
            return;
        }
        if code == ErrorCode::REBALANCE_IN_PROGRESS {
            // A JoinGroup answered like this is simply retried.
            self.retry(ApiKey::JOIN_GROUP, now);
            return;
        }
        if code.is_err() {
            self.on_error(ApiKey::JOIN_GROUP, code, now);
            return;
        }
        if let Some(t) = r.protocol_type.as_deref() {
            if t != PROTOCOL_TYPE {
                self.fail(GroupError::Fatal {
                    api: ApiKey::JOIN_GROUP,
                    code: ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                    message: Some(format!("protocol type {t:?}")),
                });
                return;
            }
        }
        let name = r.protocol_name.as_deref().unwrap_or_default().to_string();
        if !self.assignors.iter().any(|a| a.name() == name) {
            self.fail(GroupError::UnknownProtocol { got: name });
            return;
        }
        self.member_id = r.member_id.to_string();
        self.generation = r.generation_id;
        self.protocol_name = Some(name.clone());
        let leader = r.leader == r.member_id;
        self.events.push_back(GroupEvent::Joined {
            generation: r.generation_id,
            member_id: self.member_id.clone(),
            leader,
            protocol: Some(name),
        });
        self.sync_assignments.clear();
        if leader && !r.skip_assignment {
            let mut topics: BTreeSet<String> = BTreeSet::new();
            for m in &r.members {
                if let Ok(s) = decode_subscription(&m.metadata) {
                    topics.extend(s.topics);
                }
            }
            self.leader_members = Some(r.members);
            self.state = ClassicState::AwaitingMetadata;
            self.events
                .push_back(GroupEvent::MetadataNeeded(topics.into_iter().collect()));
        } else {
            // A follower, or a static leader told to skip (KIP-814: the
            // assignment is computed elsewhere): sync with no assignments.
            self.state = ClassicState::Syncing;
        }
    }

    fn on_sync(&mut self, r: SyncGroupResponse, now: Instant) {
        let code = ErrorCode(r.error_code);
        if code.is_err() {
            self.on_error(ApiKey::SYNC_GROUP, code, now);
            return;
        }
        if let (Some(got), Some(ours)) = (r.protocol_name.as_deref(), self.protocol_name.as_deref())
        {
            if got != ours {
                self.fail(GroupError::Fatal {
                    api: ApiKey::SYNC_GROUP,
                    code: ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                    message: Some(format!("protocol {got:?} after joining with {ours:?}")),
                });
                return;
            }
        }
        let assignment = match decode_assignment(&r.assignment) {
            Ok(a) => a.partitions.into_iter().collect::<BTreeSet<_>>(),
            Err(e) => {
                self.fail(GroupError::BadAssignment(e.to_string()));
                return;
            }
        };
        self.state = ClassicState::Stable;
        self.last_heartbeat_ok = Some(now);
        self.next_heartbeat = Some(now + self.cfg.heartbeat_interval);
        let revoked: Vec<TopicPartition> = self.owned.difference(&assignment).cloned().collect();
        if !revoked.is_empty() {
            // KIP-429: revoke first; assign once the application is done.
            self.revoke(revoked, AfterRevoke::Apply { assignment });
        } else {
            self.apply_assignment(assignment, false);
        }
    }

    fn apply_assignment(&mut self, assignment: BTreeSet<TopicPartition>, revoked_some: bool) {
        let added: Vec<TopicPartition> = assignment.difference(&self.owned).cloned().collect();
        self.owned = assignment;
        self.events.push_back(GroupEvent::Assigned(added));
        if revoked_some && self.protocol == RebalanceProtocol::Cooperative || self.rejoin_pending {
            // The revoked partitions go to their new owner in a follow-up
            // rebalance that this member triggers (KIP-429).
            self.rejoin_pending = false;
            self.start_join();
        }
    }

    fn on_heartbeat(&mut self, r: HeartbeatResponse, now: Instant) {
        let code = ErrorCode(r.error_code);
        if code.is_ok() {
            self.last_heartbeat_ok = Some(now);
            if self.state == ClassicState::Stable {
                self.next_heartbeat = Some(now + self.cfg.heartbeat_interval);
            }
            return;
        }
        if self.state != ClassicState::Stable {
            return;
        }
        self.on_error(ApiKey::HEARTBEAT, code, now);
    }

    fn on_leave(&mut self, _r: LeaveGroupResponse) {
        // Best effort, as in Kafka: whatever the answer, the member is gone.
        self.finish_leave();
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// The leader's view of the members; an unreadable one subscribes to nothing.
fn decode_members(
    members: &[JoinGroupResponseMember],
    events: &mut VecDeque<GroupEvent>,
) -> Vec<Member> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for m in members {
        let member_id = m.member_id.to_string();
        if seen.insert(member_id.clone(), ()).is_some() {
            continue;
        }
        let subscription = match decode_subscription(&m.metadata) {
            Ok(s) => s,
            Err(e) => {
                events.push_back(GroupEvent::UnreadableMember {
                    member_id: member_id.clone(),
                    error: e.to_string(),
                });
                Subscription::default()
            }
        };
        out.push(Member {
            member_id,
            group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
            subscription,
        });
    }
    out
}
