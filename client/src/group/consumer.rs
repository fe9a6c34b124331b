//! The KIP-848 consumer group member (ConsumerGroupHeartbeat), sans-IO.
//!
//! The coordinator assigns (server-side assignors); the member heartbeats
//! with its member epoch and receives its target assignment, then
//! *reconciles*: revokes what is no longer its own first (the application
//! commits in its `Revoked` callback), then takes the new partitions, then
//! acknowledges by reporting what it owns in the next heartbeat. A
//! partition therefore only moves after its old owner said it let go.
//!
//! * Joining: member epoch 0, every field set (KIP-1082: the member id is
//!   the client's, kept for the life of the process; request v1+).
//! * Later heartbeats are incremental: a field is sent only when it changed
//!   since the last heartbeat the coordinator answered (null means
//!   unchanged); after any error the next heartbeat is full again.
//! * The heartbeat interval is the coordinator's (`HeartbeatIntervalMs`).
//! * FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID: the partitions are lost (not
//!   revoked: they may be someone else's already) and the member rejoins
//!   with epoch 0 and the same member id.
//! * Leaving: revoke everything, then epoch -1; a static member (KIP-345)
//!   sends -2, "leaving but coming back", and keeps its assignment on the
//!   coordinator until its session times out.
//! * UNSUPPORTED_VERSION in the body: the coordinator does not run this
//!   protocol for groups; the caller falls back to classic
//!   ([`super::select::after_unsupported`]).
//!
//! Assignments name topics by id; names come from the caller's metadata
//! (`provide_topic_names`). Partitions of a topic whose name is not known
//! yet wait, as in Kafka's `ConsumerMembershipManager`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use kwire::messages::consumer_group_heartbeat_request::TopicPartitions;
use kwire::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kwire::{ApiKey, ErrorCode, StrBytes, Uuid};

use super::request::range_from;
use super::select::CONSUMER_GROUP_HEARTBEAT_FIRST_RELEASED;
use super::{
    GroupError, GroupEvent, GroupMetadata, GroupRequest, GroupRequestBody, GroupResponse, Poll,
    RequestId, TopicPartition,
};

/// The epoch that joins.
pub const JOIN_EPOCH: i32 = 0;
/// The epoch that leaves.
pub const LEAVE_EPOCH: i32 = -1;
/// The epoch a static member leaves with when it will come back (KIP-848).
pub const LEAVE_STATIC_EPOCH: i32 = -2;

/// Configuration of one KIP-848 member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub group_id: String,
    /// Generated once per process by the client (KIP-1082), e.g. a random
    /// UUID in Kafka's base64 form.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// How long the coordinator waits for a revocation (Kafka:
    /// `max.poll.interval.ms`, 300 s).
    pub rebalance_timeout: Duration,
    /// A server-side assignor by name (`uniform`, `range`); `None`: the
    /// group's default.
    pub server_assignor: Option<String>,
    pub retry_backoff: Duration,
    pub request_timeout: Duration,
}

impl ConsumerConfig {
    pub fn new(group_id: impl Into<String>, member_id: impl Into<String>) -> Self {
        ConsumerConfig {
            group_id: group_id.into(),
            member_id: member_id.into(),
            instance_id: None,
            rack_id: None,
            rebalance_timeout: Duration::from_secs(300),
            server_assignor: None,
            retry_backoff: Duration::from_millis(100),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Where the member is (Kafka's `MemberState`, in short).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumerState {
    Unsubscribed,
    /// Heartbeating with epoch 0.
    Joining,
    /// A target assignment is being reconciled.
    Reconciling,
    /// Reconciled; the next heartbeat reports what it owns.
    Acknowledging,
    Stable,
    /// Revoking before the leave heartbeat.
    PrepareLeaving,
    /// The leave heartbeat is due or in flight.
    Leaving,
    Left,
    Failed,
}

impl ConsumerState {
    fn name(self) -> &'static str {
        match self {
            ConsumerState::Unsubscribed => "unsubscribed",
            ConsumerState::Joining => "joining",
            ConsumerState::Reconciling => "reconciling",
            ConsumerState::Acknowledging => "acknowledging",
            ConsumerState::Stable => "stable",
            ConsumerState::PrepareLeaving => "preparing to leave",
            ConsumerState::Leaving => "leaving",
            ConsumerState::Left => "left",
            ConsumerState::Failed => "failed",
        }
    }
}

/// The fields of the last heartbeat the coordinator answered: later ones
/// send only what differs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    topics: BTreeSet<String>,
    owned: BTreeSet<(Uuid, i32)>,
}

/// What waits for `revocation_done`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AfterRevoke {
    Reconcile,
    Leave,
}

/// The KIP-848 member. See the module docs.
#[derive(Debug)]
pub struct ConsumerMember {
    cfg: ConsumerConfig,
    state: ConsumerState,
    epoch: i32,
    topics: BTreeSet<String>,
    names: BTreeMap<Uuid, String>,
    /// Owned partitions, by topic id and partition.
    owned: BTreeSet<(Uuid, i32)>,
    /// The latest target from the coordinator, until reconciled.
    target: Option<BTreeSet<(Uuid, i32)>>,
    revoking: Option<AfterRevoke>,
    revoking_parts: BTreeSet<(Uuid, i32)>,
    interval: Duration,
    next_heartbeat: Option<Instant>,
    /// A heartbeat is due at once (join, acknowledgement, leave).
    due_now: bool,
    /// `None`: the next heartbeat sends every field.
    sent: Option<Sent>,
    /// What the heartbeat in flight carried, committed to `sent` on success.
    sending: Option<Sent>,
    in_flight: Option<RequestId>,
    next_id: u64,
    refresh_coordinator: bool,
    events: VecDeque<GroupEvent>,
    asked_names: BTreeSet<Uuid>,
    /// An `Assigned` event was emitted (see `reconcile`).
    announced: bool,
}

impl ConsumerMember {
    pub fn new(cfg: ConsumerConfig) -> Result<Self, GroupError> {
        if cfg.member_id.is_empty() {
            return Err(GroupError::NoMemberId);
        }
        Ok(ConsumerMember {
            cfg,
            state: ConsumerState::Unsubscribed,
            epoch: JOIN_EPOCH,
            topics: BTreeSet::new(),
            names: BTreeMap::new(),
            owned: BTreeSet::new(),
            target: None,
            revoking: None,
            revoking_parts: BTreeSet::new(),
            interval: Duration::ZERO,
            next_heartbeat: None,
            due_now: false,
            sent: None,
            sending: None,
            in_flight: None,
            next_id: 0,
            refresh_coordinator: true,
            events: VecDeque::new(),
            asked_names: BTreeSet::new(),
            announced: false,
        })
    }

    pub fn state(&self) -> ConsumerState {
        self.state
    }

    pub fn member_epoch(&self) -> i32 {
        self.epoch
    }

    /// The heartbeat interval the coordinator asked for.
    pub fn heartbeat_interval(&self) -> Duration {
        self.interval
    }

    fn name_of(&self, (id, p): &(Uuid, i32)) -> TopicPartition {
        let topic = self
            .names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string());
        TopicPartition::new(topic, *p)
    }

    /// Owned partitions, by name.
    pub fn owned(&self) -> BTreeSet<TopicPartition> {
        self.owned.iter().map(|x| self.name_of(x)).collect()
    }

    /// Owned partitions and those whose revocation the application has not
    /// finished.
    pub fn held(&self) -> BTreeSet<TopicPartition> {
        self.owned
            .union(&self.revoking_parts)
            .map(|x| self.name_of(x))
            .collect()
    }

    /// For TxnOffsetCommit: the member epoch stands in for the generation.
    pub fn group_metadata(&self) -> GroupMetadata {
        GroupMetadata {
            group_id: self.cfg.group_id.clone(),
            generation_id: self.epoch,
            member_id: self.cfg.member_id.clone(),
            group_instance_id: self.cfg.instance_id.clone(),
        }
    }

    pub fn next_event(&mut self) -> Option<GroupEvent> {
        self.events.pop_front()
    }

    /// Leaving, left or failed: the membership is over or ending.
    fn ending(&self) -> bool {
        matches!(
            self.state,
            ConsumerState::PrepareLeaving
                | ConsumerState::Leaving
                | ConsumerState::Left
                | ConsumerState::Failed
        )
    }

    fn invalid(&self, op: &'static str) -> GroupError {
        GroupError::InvalidState {
            op,
            state: self.state.name(),
        }
    }

    /// Subscribes (joins) or changes the subscription (sent with the next
    /// heartbeat; the coordinator answers with a new target).
    pub fn subscribe(
        &mut self,
        topics: impl IntoIterator<Item = String>,
    ) -> Result<(), GroupError> {
        if self.ending() {
            return Err(self.invalid("subscribe"));
        }
        self.topics = topics.into_iter().collect();
        if self.state == ConsumerState::Unsubscribed {
            self.join();
        } else {
            self.heartbeat_soon();
        }
        Ok(())
    }

    fn heartbeat_soon(&mut self) {
        self.next_heartbeat = None;
        self.due_now = true;
    }

    fn join(&mut self) {
        self.state = ConsumerState::Joining;
        self.epoch = JOIN_EPOCH;
        self.sent = None;
        self.target = None;
        self.heartbeat_soon();
    }

    /// Topic names for ids the coordinator assigned.
    pub fn provide_topic_names(&mut self, names: impl IntoIterator<Item = (Uuid, String)>) {
        self.names.extend(names);
        if self.revoking.is_none() && self.target.is_some() {
            self.reconcile();
        }
    }

    /// The application finished the `Revoked` callback.
    pub fn revocation_done(&mut self) {
        self.revoking_parts.clear();
        match self.revoking.take() {
            Some(AfterRevoke::Reconcile) => self.reconcile(),
            Some(AfterRevoke::Leave) => {
                self.state = ConsumerState::Leaving;
                self.heartbeat_soon();
            }
            None => {}
        }
    }

    /// Whether a `Revoked` callback waits for `revocation_done`.
    pub fn revocation_pending(&self) -> bool {
        self.revoking.is_some()
    }

    /// Leaves the group: revoke, then the leave heartbeat.
    pub fn leave(&mut self) -> Result<(), GroupError> {
        if self.ending() {
            return Err(self.invalid("leave"));
        }
        if self.state == ConsumerState::Unsubscribed
            || (self.epoch == JOIN_EPOCH && self.owned.is_empty())
        {
            self.finish_leave();
            return Ok(());
        }
        self.target = None;
        let mut parts: BTreeSet<(Uuid, i32)> = std::mem::take(&mut self.owned);
        parts.extend(std::mem::take(&mut self.revoking_parts));
        if parts.is_empty() {
            self.revoking = None;
            self.state = ConsumerState::Leaving;
            self.heartbeat_soon();
        } else {
            self.state = ConsumerState::PrepareLeaving;
            self.revoking_parts = parts.clone();
            self.revoking = Some(AfterRevoke::Leave);
            let names = parts.iter().map(|x| self.name_of(x)).collect();
            self.events.push_back(GroupEvent::Revoked(names));
        }
        Ok(())
    }

    /// Leaves at once with the leave heartbeat, what it owns lost rather
    /// than revoked: the application stopped calling poll for longer than
    /// the rebalance timeout (KIP-62's `max.poll.interval.ms`), so no
    /// callback can run before the partitions move (Kafka's consumer reports
    /// them lost at the next poll, KIP-429). A static member's leave epoch
    /// is -2 as in [`ConsumerMember::leave`]: its place waits for it.
    pub fn leave_lost(&mut self) -> Result<(), GroupError> {
        if self.ending() {
            return Err(self.invalid("leave"));
        }
        let mut parts: BTreeSet<(Uuid, i32)> = std::mem::take(&mut self.owned);
        parts.extend(std::mem::take(&mut self.revoking_parts));
        self.revoking = None;
        self.target = None;
        if !parts.is_empty() {
            let names = parts.iter().map(|x| self.name_of(x)).collect();
            self.events.push_back(GroupEvent::Lost(names));
        }
        if self.state == ConsumerState::Unsubscribed || self.epoch == JOIN_EPOCH {
            self.finish_leave();
        } else {
            self.state = ConsumerState::Leaving;
            self.heartbeat_soon();
        }
        Ok(())
    }

    fn finish_leave(&mut self) {
        self.state = ConsumerState::Left;
        self.next_heartbeat = None;
        self.due_now = false;
        self.events.push_back(GroupEvent::Left);
    }

    fn fail(&mut self, e: GroupError) {
        tracing::warn!(group = %crate::escape::escape(&self.cfg.group_id), error = %e, "consumer group member failed");
        self.state = ConsumerState::Failed;
        self.next_heartbeat = None;
        self.due_now = false;
        self.events.push_back(GroupEvent::Failed(e));
    }

    /// Revoke what the target leaves out, then take what it adds, then
    /// acknowledge (Kafka's `maybeReconcile`).
    fn reconcile(&mut self) {
        let Some(target) = self.target.clone() else {
            return;
        };
        if self.revoking.is_some()
            || !matches!(
                self.state,
                ConsumerState::Reconciling
                    | ConsumerState::Stable
                    | ConsumerState::Acknowledging
                    | ConsumerState::Joining
            )
        {
            return;
        }
        self.state = ConsumerState::Reconciling;
        let revoke: BTreeSet<(Uuid, i32)> = self.owned.difference(&target).cloned().collect();
        if !revoke.is_empty() {
            for x in &revoke {
                self.owned.remove(x);
            }
            self.revoking_parts = revoke.clone();
            self.revoking = Some(AfterRevoke::Reconcile);
            let names = revoke.iter().map(|x| self.name_of(x)).collect();
            self.events.push_back(GroupEvent::Revoked(names));
            // Reporting what it owns now lets the coordinator move on.
            return;
        }
        let unknown: BTreeSet<Uuid> = target
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !self.names.contains_key(id))
            .collect();
        let resolvable: BTreeSet<(Uuid, i32)> = target
            .iter()
            .filter(|(id, _)| self.names.contains_key(id))
            .cloned()
            .collect();
        let added: Vec<TopicPartition> = resolvable
            .difference(&self.owned)
            .map(|x| self.name_of(x))
            .collect();
        self.owned.extend(resolvable);
        // The first assignment is announced even when empty (the
        // application learns it is in the group); later rounds only when
        // they add something: a target waiting for topic names is
        // reconciled again at every heartbeat.
        if !added.is_empty() || !self.announced {
            self.announced = true;
            self.events.push_back(GroupEvent::Assigned(added));
        }
        let new_unknown: Vec<Uuid> = unknown.difference(&self.asked_names).cloned().collect();
        if !new_unknown.is_empty() {
            self.asked_names.extend(new_unknown.iter().cloned());
            self.events
                .push_back(GroupEvent::TopicNamesNeeded(new_unknown));
        }
        if unknown.is_empty() {
            self.target = None;
        }
        self.state = ConsumerState::Acknowledging;
        self.heartbeat_soon();
    }

    fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    /// The next heartbeat, when due.
    pub fn poll(&mut self, now: Instant) -> Poll {
        if self.in_flight.is_some() {
            return Poll::Idle;
        }
        let active = matches!(
            self.state,
            ConsumerState::Joining
                | ConsumerState::Reconciling
                | ConsumerState::Acknowledging
                | ConsumerState::Stable
                | ConsumerState::PrepareLeaving
                | ConsumerState::Leaving
        );
        if !active {
            return Poll::Idle;
        }
        if !self.due_now {
            match self.next_heartbeat {
                Some(t) if t > now => return Poll::WaitUntil(t),
                Some(_) => {}
                None => return Poll::Idle,
            }
        }
        let versions = match range_from(
            ApiKey::CONSUMER_GROUP_HEARTBEAT,
            CONSUMER_GROUP_HEARTBEAT_FIRST_RELEASED,
            "the consumer protocol needs ConsumerGroupHeartbeat v1+ (member ids from the client, KIP-1082)",
        ) {
            Ok(v) => v,
            Err(e) => {
                self.fail(e);
                return Poll::Idle;
            }
        };
        let body = self.heartbeat_request();
        self.due_now = false;
        self.next_heartbeat = None;
        let id = self.next_id();
        self.in_flight = Some(id);
        Poll::Send(Box::new(GroupRequest {
            id,
            group_id: self.cfg.group_id.clone(),
            refresh_coordinator: std::mem::take(&mut self.refresh_coordinator),
            api: ApiKey::CONSUMER_GROUP_HEARTBEAT,
            versions,
            timeout: self.cfg.request_timeout,
            body: GroupRequestBody::ConsumerGroupHeartbeat(body),
        }))
    }

    fn heartbeat_request(&mut self) -> ConsumerGroupHeartbeatRequest {
        let mut r = ConsumerGroupHeartbeatRequest::default();
        r.group_id = StrBytes::from(self.cfg.group_id.clone());
        r.member_id = StrBytes::from(self.cfg.member_id.clone());
        if self.state == ConsumerState::Leaving {
            r.member_epoch = if self.cfg.instance_id.is_some() {
                LEAVE_STATIC_EPOCH
            } else {
                LEAVE_EPOCH
            };
            r.instance_id = self.cfg.instance_id.clone().map(StrBytes::from);
            self.sending = None;
            return r;
        }
        r.member_epoch = self.epoch;
        let full = self.sent.is_none();
        if full {
            r.instance_id = self.cfg.instance_id.clone().map(StrBytes::from);
            r.rack_id = self.cfg.rack_id.clone().map(StrBytes::from);
            r.rebalance_timeout_ms =
                i32::try_from(self.cfg.rebalance_timeout.as_millis()).unwrap_or(i32::MAX);
            r.server_assignor = self.cfg.server_assignor.clone().map(StrBytes::from);
        }
        if full || self.sent.as_ref().is_some_and(|s| s.topics != self.topics) {
            r.subscribed_topic_names = Some(
                self.topics
                    .iter()
                    .map(|t| StrBytes::from(t.clone()))
                    .collect(),
            );
        }
        // Partitions being revoked are still reported as owned: the
        // coordinator must not hand them out before the application let go.
        let reported: BTreeSet<(Uuid, i32)> =
            self.owned.union(&self.revoking_parts).cloned().collect();
        if full || self.sent.as_ref().is_some_and(|s| s.owned != reported) {
            let mut by_topic: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
            for (id, p) in &reported {
                by_topic.entry(*id).or_default().push(*p);
            }
            r.topic_partitions = Some(
                by_topic
                    .into_iter()
                    .map(|(id, ps)| {
                        let mut t = TopicPartitions::default();
                        t.topic_id = id;
                        t.partitions = ps;
                        t
                    })
                    .collect(),
            );
        }
        self.sending = Some(Sent {
            topics: self.topics.clone(),
            owned: reported,
        });
        r
    }

    /// The heartbeat `id` failed without an answer.
    pub fn on_send_failed(&mut self, id: RequestId, now: Instant) -> Result<(), GroupError> {
        if self.in_flight != Some(id) {
            return Err(GroupError::UnknownRequest(id.0));
        }
        self.in_flight = None;
        self.refresh_coordinator = true;
        self.sent = None;
        if self.state == ConsumerState::Leaving {
            // Best effort: the coordinator times the member out anyway.
            self.finish_leave();
            return Ok(());
        }
        self.next_heartbeat = Some(now + self.cfg.retry_backoff);
        Ok(())
    }

    /// The answer to heartbeat `id`.
    pub fn on_response(
        &mut self,
        id: RequestId,
        resp: GroupResponse,
        now: Instant,
    ) -> Result<(), GroupError> {
        if self.in_flight != Some(id) {
            return Err(GroupError::UnknownRequest(id.0));
        }
        let GroupResponse::ConsumerGroupHeartbeat(r) = resp else {
            return Err(GroupError::WrongResponse {
                expected: ApiKey::CONSUMER_GROUP_HEARTBEAT,
                got: resp.api(),
            });
        };
        self.in_flight = None;
        let sending = self.sending.take();
        if matches!(
            self.state,
            ConsumerState::Left | ConsumerState::Failed | ConsumerState::Unsubscribed
        ) {
            return Ok(()); // the answer to a heartbeat of a membership already ended
        }
        if self.state == ConsumerState::Leaving {
            self.finish_leave();
            return Ok(());
        }
        let code = ErrorCode(r.error_code);
        if code.is_err() {
            self.on_error(code, &r, now);
            return Ok(());
        }
        self.on_success(r, sending, now);
        Ok(())
    }

    fn on_success(
        &mut self,
        r: ConsumerGroupHeartbeatResponse,
        sending: Option<Sent>,
        now: Instant,
    ) {
        if sending.is_some() {
            self.sent = sending;
        }
        let was_joining = self.epoch == JOIN_EPOCH;
        self.epoch = r.member_epoch;
        if r.heartbeat_interval_ms > 0 {
            self.interval = Duration::from_millis(r.heartbeat_interval_ms as u64);
        }
        if was_joining && self.epoch > JOIN_EPOCH {
            self.events.push_back(GroupEvent::Joined {
                generation: self.epoch,
                member_id: self.cfg.member_id.clone(),
                leader: false,
                protocol: self.cfg.server_assignor.clone(),
            });
        }
        if matches!(
            self.state,
            ConsumerState::Joining | ConsumerState::Acknowledging
        ) {
            self.state = ConsumerState::Stable;
        }
        if let Some(a) = r.assignment {
            let target: BTreeSet<(Uuid, i32)> = a
                .topic_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
                .collect();
            self.target = Some(target);
            self.reconcile();
        } else if self.target.is_some() && self.revoking.is_none() {
            self.reconcile();
        }
        if !self.due_now && self.state != ConsumerState::Failed {
            self.next_heartbeat = Some(now + self.interval);
        }
    }

    fn on_error(&mut self, code: ErrorCode, r: &ConsumerGroupHeartbeatResponse, now: Instant) {
        self.sent = None;
        let message = r.error_message.as_ref().map(|m| m.to_string());
        match code {
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                self.refresh_coordinator = true;
                self.next_heartbeat = Some(now + self.cfg.retry_backoff);
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS => {
                self.next_heartbeat = Some(now + self.cfg.retry_backoff);
            }
            ErrorCode::FENCED_MEMBER_EPOCH | ErrorCode::UNKNOWN_MEMBER_ID => {
                // Lost, not revoked: the coordinator may have given them away.
                let mut lost: BTreeSet<(Uuid, i32)> = std::mem::take(&mut self.owned);
                lost.extend(std::mem::take(&mut self.revoking_parts));
                self.revoking = None;
                if !lost.is_empty() {
                    let names = lost.iter().map(|x| self.name_of(x)).collect();
                    self.events.push_back(GroupEvent::Lost(names));
                }
                self.join();
            }
            ErrorCode::UNSUPPORTED_VERSION => {
                self.events.push_back(GroupEvent::ProtocolUnsupported);
                self.fail(GroupError::Fatal {
                    api: ApiKey::CONSUMER_GROUP_HEARTBEAT,
                    code,
                    message,
                });
            }
            ErrorCode::TOPIC_AUTHORIZATION_FAILED => {
                self.events
                    .push_back(GroupEvent::Warning(GroupError::Fatal {
                        api: ApiKey::CONSUMER_GROUP_HEARTBEAT,
                        code,
                        message,
                    }));
                self.next_heartbeat = Some(now + self.cfg.retry_backoff.max(self.interval));
            }
            code => self.fail(GroupError::Fatal {
                api: ApiKey::CONSUMER_GROUP_HEARTBEAT,
                code,
                message,
            }),
        }
    }
}
