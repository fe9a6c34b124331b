//! A group coordinator for the classic protocol, in memory, after Kafka's `GroupCoordinator`: join
//! barrier (the round completes when every known member has rejoined), MEMBER_ID_REQUIRED for new
//! dynamic members (KIP-394), static members by instance id (KIP-345), leader election, SyncGroup
//! held until the leader's assignment arrives, REBALANCE_IN_PROGRESS / UNKNOWN_MEMBER_ID /
//! ILLEGAL_GENERATION on heartbeats. It drives several `ClassicMember`s so the tests can check a
//! whole group: nobody ever owns a partition another member owns (KIP-429), and the group settles.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire::messages::join_group_response::JoinGroupResponseMember;
use kwire::messages::{
    HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse, SyncGroupResponse,
};
use kwire::{ErrorCode, StrBytes};
use kwire_client::group::assignor::ClusterTopics;
use kwire_client::group::classic::{ClassicMember, ClassicState};
use kwire_client::group::{
    GroupEvent, GroupRequest, GroupRequestBody, GroupResponse, Poll, RequestId, TopicPartition,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Stable,
    Preparing,
    Completing,
}

struct Known {
    instance: Option<String>,
    protocols: Vec<(String, Bytes)>,
}

pub struct Coordinator {
    pub generation: i32,
    phase: Phase,
    members: BTreeMap<String, Known>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    required: BTreeSet<String>,
    joins: BTreeMap<String, (usize, RequestId)>,
    syncs: BTreeMap<String, (usize, RequestId)>,
    leader: Option<String>,
    protocol: Option<String>,
    assignments: BTreeMap<String, Bytes>,
    next_member: u32,
    pub rebalances: u32,
    /// Answers ready to deliver: (member index, request id, answer).
    pub ready: Vec<(usize, RequestId, GroupResponse)>,
}

impl Default for Coordinator {
    fn default() -> Self {
        Coordinator {
            generation: 0,
            phase: Phase::Stable,
            members: BTreeMap::new(),
            required: BTreeSet::new(),
            joins: BTreeMap::new(),
            syncs: BTreeMap::new(),
            leader: None,
            protocol: None,
            assignments: BTreeMap::new(),
            next_member: 0,
            rebalances: 0,
            ready: Vec::new(),
        }
    }
}

fn join_error(code: ErrorCode, member_id: &str) -> GroupResponse {
    let mut r = JoinGroupResponse::default();
    r.error_code = code.0;
    r.member_id = StrBytes::from(member_id.to_string());
    GroupResponse::JoinGroup(r)
}

impl Coordinator {
    pub fn is_stable(&self) -> bool {
        self.phase == Phase::Stable && self.joins.is_empty() && self.syncs.is_empty()
    }

    fn start_rebalance(&mut self) {
        if self.phase != Phase::Preparing {
            self.phase = Phase::Preparing;
            self.rebalances += 1;
            // a round in completion is abandoned: held syncs are told to rejoin
            for (_, (who, id)) in std::mem::take(&mut self.syncs) {
                let mut r = SyncGroupResponse::default();
                r.error_code = ErrorCode::REBALANCE_IN_PROGRESS.0;
                self.ready.push((who, id, GroupResponse::SyncGroup(r)));
            }
        }
    }

    fn maybe_complete_join(&mut self) {
        if self.phase != Phase::Preparing || self.members.is_empty() {
            return;
        }
        if !self.members.keys().all(|m| self.joins.contains_key(m)) {
            return;
        }
        self.generation += 1;
        // the protocol every member offers, in the first member's order
        let first = self.members.values().next().unwrap();
        let protocol = first
            .protocols
            .iter()
            .map(|(n, _)| n.clone())
            .find(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(x, _)| x == n))
            })
            .expect("a common protocol");
        self.protocol = Some(protocol.clone());
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        let leader = self.leader.clone().unwrap();
        for (member, (who, id)) in std::mem::take(&mut self.joins) {
            let mut r = JoinGroupResponse::default();
            r.generation_id = self.generation;
            r.protocol_type = Some(StrBytes::from_static("consumer"));
            r.protocol_name = Some(StrBytes::from(protocol.clone()));
            r.leader = StrBytes::from(leader.clone());
            r.member_id = StrBytes::from(member.clone());
            if member == leader {
                r.members = self
                    .members
                    .iter()
                    .map(|(id, k)| {
                        let mut m = JoinGroupResponseMember::default();
                        m.member_id = StrBytes::from(id.clone());
                        m.group_instance_id = k.instance.clone().map(StrBytes::from);
                        m.metadata = k
                            .protocols
                            .iter()
                            .find(|(n, _)| *n == protocol)
                            .unwrap()
                            .1
                            .clone();
                        m
                    })
                    .collect();
            }
            self.ready.push((who, id, GroupResponse::JoinGroup(r)));
        }
        self.phase = Phase::Completing;
    }

    pub fn handle(&mut self, who: usize, req: GroupRequest) {
        match req.body {
            GroupRequestBody::JoinGroup(j) => {
                let mut member_id = j.member_id.to_string();
                let instance = j.group_instance_id.as_ref().map(|s| s.to_string());
                if member_id.is_empty() {
                    self.next_member += 1;
                    let fresh = format!("member-{}", self.next_member);
                    match &instance {
                        Some(i) => {
                            // KIP-345: a static member's new id replaces the old one
                            let old: Vec<String> = self
                                .members
                                .iter()
                                .filter(|(_, k)| k.instance.as_ref() == Some(i))
                                .map(|(m, _)| m.clone())
                                .collect();
                            for o in old {
                                self.members.remove(&o);
                                if let Some((w, id)) = self.joins.remove(&o) {
                                    self.ready.push((
                                        w,
                                        id,
                                        join_error(ErrorCode::FENCED_INSTANCE_ID, &o),
                                    ));
                                }
                            }
                            member_id = fresh;
                        }
                        None => {
                            self.required.insert(fresh.clone());
                            self.ready.push((
                                who,
                                req.id,
                                join_error(ErrorCode::MEMBER_ID_REQUIRED, &fresh),
                            ));
                            return;
                        }
                    }
                } else if !self.members.contains_key(&member_id)
                    && !self.required.remove(&member_id)
                {
                    self.ready.push((
                        who,
                        req.id,
                        join_error(ErrorCode::UNKNOWN_MEMBER_ID, &member_id),
                    ));
                    return;
                }
                let protocols = j
                    .protocols
                    .iter()
                    .map(|p| (p.name.to_string(), p.metadata.clone()))
                    .collect();
                let changed = self
                    .members
                    .get(&member_id)
                    .map_or(true, |k| k.protocols != protocols);
                self.members.insert(
                    member_id.clone(),
                    Known {
                        instance,
                        protocols,
                    },
                );
                if changed || self.phase != Phase::Preparing {
                    self.start_rebalance();
                }
                self.joins.insert(member_id, (who, req.id));
                self.maybe_complete_join();
            }
            GroupRequestBody::SyncGroup(s) => {
                let member = s.member_id.to_string();
                let mut err = None;
                if !self.members.contains_key(&member) {
                    err = Some(ErrorCode::UNKNOWN_MEMBER_ID);
                } else if self.phase == Phase::Preparing {
                    err = Some(ErrorCode::REBALANCE_IN_PROGRESS);
                } else if s.generation_id != self.generation {
                    err = Some(ErrorCode::ILLEGAL_GENERATION);
                }
                if let Some(code) = err {
                    let mut r = SyncGroupResponse::default();
                    r.error_code = code.0;
                    self.ready.push((who, req.id, GroupResponse::SyncGroup(r)));
                    return;
                }
                self.syncs.insert(member.clone(), (who, req.id));
                if Some(&member) == self.leader.as_ref() {
                    self.assignments = s
                        .assignments
                        .iter()
                        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
                        .collect();
                    self.phase = Phase::Stable;
                }
                if self.phase == Phase::Stable {
                    for (m, (w, id)) in std::mem::take(&mut self.syncs) {
                        let mut r = SyncGroupResponse::default();
                        r.protocol_type = Some(StrBytes::from_static("consumer"));
                        r.protocol_name = self.protocol.clone().map(StrBytes::from);
                        r.assignment = self.assignments.get(&m).cloned().unwrap_or_default();
                        self.ready.push((w, id, GroupResponse::SyncGroup(r)));
                    }
                }
            }
            GroupRequestBody::Heartbeat(h) => {
                let member = h.member_id.to_string();
                let code = if !self.members.contains_key(&member) {
                    ErrorCode::UNKNOWN_MEMBER_ID
                } else if self.phase == Phase::Preparing {
                    ErrorCode::REBALANCE_IN_PROGRESS
                } else if h.generation_id != self.generation {
                    ErrorCode::ILLEGAL_GENERATION
                } else {
                    ErrorCode::NONE
                };
                let mut r = HeartbeatResponse::default();
                r.error_code = code.0;
                self.ready.push((who, req.id, GroupResponse::Heartbeat(r)));
            }
            GroupRequestBody::LeaveGroup(spec) => {
                if self.members.remove(&spec.member_id).is_some() {
                    self.joins.remove(&spec.member_id);
                    self.syncs.remove(&spec.member_id);
                    if !self.members.is_empty() {
                        self.start_rebalance();
                        self.maybe_complete_join();
                    } else {
                        self.phase = Phase::Stable;
                    }
                }
                self.ready.push((
                    who,
                    req.id,
                    GroupResponse::LeaveGroup(LeaveGroupResponse::default()),
                ));
            }
            GroupRequestBody::ConsumerGroupHeartbeat(_) => panic!("classic coordinator"),
        }
    }
}

/// A group of classic members around one coordinator, the application acknowledging every
/// revocation at once.
pub struct Group {
    pub coord: Coordinator,
    pub members: Vec<ClassicMember>,
    pub cluster: ClusterTopics,
    pub now: Instant,
    pub events: Vec<(usize, GroupEvent)>,
    /// Every request sent, for checks on versions and fields.
    pub sent: Vec<(usize, GroupRequest)>,
    /// Members whose application finishes its revocation at the next step.
    to_ack: Vec<usize>,
}

impl Group {
    pub fn new(cluster: ClusterTopics) -> Group {
        Group {
            coord: Coordinator::default(),
            members: Vec::new(),
            cluster,
            now: Instant::now(),
            events: Vec::new(),
            sent: Vec::new(),
            to_ack: Vec::new(),
        }
    }

    /// One round: everything due is sent, every answer delivered, every event handled. Returns
    /// whether anything happened.
    pub fn step(&mut self) -> bool {
        let mut busy = false;
        // The application takes a step to revoke (commit, close state): meanwhile the partitions
        // are still its own, and nobody else may have them.
        for i in std::mem::take(&mut self.to_ack) {
            busy = true;
            self.members[i].revocation_done();
        }
        for i in 0..self.members.len() {
            if let Poll::Send(req) = self.members[i].poll(self.now) {
                busy = true;
                self.sent.push((i, (*req).clone()));
                self.coord.handle(i, *req);
            }
        }
        for (i, id, resp) in std::mem::take(&mut self.coord.ready) {
            busy = true;
            self.members[i]
                .on_response(id, resp, self.now)
                .expect("answer to the request in flight");
        }
        for i in 0..self.members.len() {
            while let Some(e) = self.members[i].next_event() {
                busy = true;
                match &e {
                    GroupEvent::Revoked(_) => self.to_ack.push(i),
                    GroupEvent::MetadataNeeded(_) => {
                        self.members[i].provide_metadata(&self.cluster).unwrap()
                    }
                    _ => {}
                }
                self.events.push((i, e));
            }
        }
        self.check_no_double_ownership();
        busy
    }

    /// Time moves to the next heartbeat or backoff when nothing else is going on.
    pub fn advance(&mut self) {
        let next = self
            .members
            .iter_mut()
            .filter_map(|m| match m.poll(self.now) {
                Poll::WaitUntil(t) => Some(t),
                _ => None,
            })
            .min();
        self.now = next
            .unwrap_or(self.now + Duration::from_secs(1))
            .max(self.now);
    }

    /// KIP-429's promise: at no point do two members own one partition.
    pub fn check_no_double_ownership(&self) {
        let mut seen: BTreeMap<TopicPartition, usize> = BTreeMap::new();
        for (i, m) in self.members.iter().enumerate() {
            for tp in m.held() {
                if let Some(other) = seen.insert(tp.clone(), i) {
                    panic!("{tp} owned by members {other} and {i} at once");
                }
            }
        }
    }

    /// Runs until the group is stable: every active member stable, the coordinator between
    /// rounds, and ten seconds of heartbeats (three rounds) without a new rebalance. Panics after
    /// `max` steps.
    pub fn settle(&mut self, max: usize) {
        let mut since: Option<(Instant, u32)> = None;
        for _ in 0..max {
            let busy = self.step();
            let stable = self.coord.is_stable()
                && self
                    .members
                    .iter()
                    .filter(|m| !matches!(m.state(), ClassicState::Left | ClassicState::Failed))
                    .all(|m| m.state() == ClassicState::Stable && !m.revocation_pending());
            match (stable, since) {
                (false, _) => since = None,
                (true, None) => since = Some((self.now, self.coord.rebalances)),
                (true, Some((t, r))) => {
                    if r != self.coord.rebalances {
                        since = Some((self.now, self.coord.rebalances));
                    } else if self.now.duration_since(t) >= Duration::from_secs(10) {
                        return;
                    }
                }
            }
            if !busy {
                self.advance();
            }
        }
        panic!(
            "the group did not settle: states {:?}",
            self.members.iter().map(|m| m.state()).collect::<Vec<_>>()
        );
    }

    /// Partitions owned across active members, and per-member counts.
    pub fn ownership(&self) -> (BTreeSet<TopicPartition>, Vec<usize>) {
        let mut all = BTreeSet::new();
        let mut counts = Vec::new();
        for m in &self.members {
            if matches!(m.state(), ClassicState::Stable) {
                all.extend(m.owned().iter().cloned());
                counts.push(m.owned().len());
            }
        }
        (all, counts)
    }
}
