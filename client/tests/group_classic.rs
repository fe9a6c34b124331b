//! The classic group member: single-member scenarios for each error path, and whole groups of
//! members around an in-memory coordinator (`group/mod.rs`), checked after every step for double
//! ownership (KIP-429) and at the end for a complete, balanced assignment.

mod group;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use group::Group;
use kwire::messages::{HeartbeatResponse, JoinGroupResponse, SyncGroupResponse};
use kwire::{ApiKey, ErrorCode, StrBytes};
use kwire_client::group::assignor::{
    encode_assignment, Assignment, Assignor, ClusterTopics, CooperativeStickyAssignor,
    RangeAssignor, RebalanceProtocol, RoundRobinAssignor,
};
use kwire_client::group::classic::{ClassicConfig, ClassicMember, ClassicState};
use kwire_client::group::{
    GroupError, GroupEvent, GroupRequest, GroupRequestBody, GroupResponse, Poll, TopicPartition,
};
use proptest::prelude::*;

fn sticky() -> Vec<Box<dyn Assignor>> {
    vec![Box::new(CooperativeStickyAssignor)]
}

fn eager() -> Vec<Box<dyn Assignor>> {
    vec![Box::new(RangeAssignor), Box::new(RoundRobinAssignor)]
}

fn member(cfg: ClassicConfig, assignors: Vec<Box<dyn Assignor>>, topics: &[&str]) -> ClassicMember {
    let mut m = ClassicMember::new(cfg, assignors).unwrap();
    m.subscribe(topics.iter().map(|t| t.to_string())).unwrap();
    m
}

fn send(m: &mut ClassicMember, now: Instant) -> GroupRequest {
    match m.poll(now) {
        Poll::Send(r) => *r,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn join_ok(member: &str, leader: &str, gen: i32) -> GroupResponse {
    let mut r = JoinGroupResponse::default();
    r.generation_id = gen;
    r.protocol_type = Some(StrBytes::from_static("consumer"));
    r.protocol_name = Some(StrBytes::from_static("cooperative-sticky"));
    r.leader = StrBytes::from(leader.to_string());
    r.member_id = StrBytes::from(member.to_string());
    GroupResponse::JoinGroup(r)
}

fn sync_with(parts: &[(&str, i32)]) -> GroupResponse {
    let a = Assignment {
        partitions: parts
            .iter()
            .map(|(t, p)| TopicPartition::new(*t, *p))
            .collect(),
        user_data: None,
    };
    let mut r = SyncGroupResponse::default();
    r.assignment = encode_assignment(&a, 3).unwrap();
    GroupResponse::SyncGroup(r)
}

fn heartbeat(code: ErrorCode) -> GroupResponse {
    let mut r = HeartbeatResponse::default();
    r.error_code = code.0;
    GroupResponse::Heartbeat(r)
}

fn events(m: &mut ClassicMember) -> Vec<GroupEvent> {
    std::iter::from_fn(|| m.next_event()).collect()
}

/// A follower joined at generation 1 owning t-0 and t-1.
fn stable_follower(now: Instant) -> ClassicMember {
    let mut m = member(ClassicConfig::new("g"), sticky(), &["t"]);
    let j = send(&mut m, now);
    m.on_response(j.id, join_ok("m-1", "m-0", 1), now).unwrap();
    let s = send(&mut m, now);
    m.on_response(s.id, sync_with(&[("t", 0), ("t", 1)]), now)
        .unwrap();
    assert_eq!(m.state(), ClassicState::Stable);
    events(&mut m);
    m
}

#[test]
fn member_id_required_rejoins_at_once_with_the_given_id() {
    let now = Instant::now();
    let mut m = member(ClassicConfig::new("g"), sticky(), &["t"]);
    let j = send(&mut m, now);
    let GroupRequestBody::JoinGroup(body) = &j.body else {
        panic!()
    };
    assert_eq!(body.member_id, "");
    assert_eq!(body.protocols[0].name, "cooperative-sticky");
    assert_eq!(
        j.timeout,
        Duration::from_secs(305),
        "rebalance timeout plus Kafka's margin"
    );
    assert!(j.refresh_coordinator, "the coordinator is looked up first");
    let mut r = JoinGroupResponse::default();
    r.error_code = ErrorCode::MEMBER_ID_REQUIRED.0;
    r.member_id = StrBytes::from_static("m-7");
    m.on_response(j.id, GroupResponse::JoinGroup(r), now)
        .unwrap();
    let j = send(&mut m, now);
    let GroupRequestBody::JoinGroup(body) = &j.body else {
        panic!()
    };
    assert_eq!(body.member_id, "m-7");
}

#[test]
fn follower_syncs_then_heartbeats_on_its_interval() {
    let now = Instant::now();
    let mut m = member(ClassicConfig::new("g"), sticky(), &["t"]);
    let j = send(&mut m, now);
    m.on_response(j.id, join_ok("m-1", "m-0", 4), now).unwrap();
    let s = send(&mut m, now);
    let GroupRequestBody::SyncGroup(body) = &s.body else {
        panic!()
    };
    assert!(
        body.assignments.is_empty(),
        "a follower sends no assignments"
    );
    assert_eq!(body.generation_id, 4);
    m.on_response(s.id, sync_with(&[("t", 2)]), now).unwrap();
    assert_eq!(
        events(&mut m).last(),
        Some(&GroupEvent::Assigned(vec![TopicPartition::new("t", 2)]))
    );
    assert_eq!(m.poll(now), Poll::WaitUntil(now + Duration::from_secs(3)));
    let h = send(&mut m, now + Duration::from_secs(3));
    assert_eq!(h.api, ApiKey::HEARTBEAT);
    assert_eq!(m.group_metadata().generation_id, 4);
}

#[test]
fn rebalance_in_progress_keeps_partitions_when_cooperative() {
    let now = Instant::now();
    let mut m = stable_follower(now);
    assert_eq!(m.rebalance_protocol(), RebalanceProtocol::Cooperative);
    let h = send(&mut m, now + Duration::from_secs(3));
    m.on_response(h.id, heartbeat(ErrorCode::REBALANCE_IN_PROGRESS), now)
        .unwrap();
    assert_eq!(m.state(), ClassicState::Joining);
    assert!(events(&mut m).is_empty(), "nothing revoked up front");
    let j = send(&mut m, now);
    let GroupRequestBody::JoinGroup(body) = &j.body else {
        panic!()
    };
    assert_eq!(body.member_id, "m-1", "same member id");
    // the subscription carries the owned partitions and the generation (KIP-429, KIP-792)
    let sub =
        kwire_client::group::assignor::decode_subscription(&body.protocols[0].metadata).unwrap();
    assert_eq!(sub.owned_partitions.len(), 2);
    assert_eq!(sub.generation_id, Some(1));
    // the new assignment moves t-1 away: revoked first, then a rejoin
    m.on_response(j.id, join_ok("m-1", "m-0", 2), now).unwrap();
    let s = send(&mut m, now);
    m.on_response(s.id, sync_with(&[("t", 0)]), now).unwrap();
    let ev = events(&mut m);
    assert!(
        matches!(
            ev[0],
            GroupEvent::Joined {
                generation: 2,
                leader: false,
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(
        ev[1..],
        [GroupEvent::Revoked(vec![TopicPartition::new("t", 1)])]
    );
    assert_eq!(m.owned().len(), 1);
    m.revocation_done();
    assert_eq!(events(&mut m), vec![GroupEvent::Assigned(vec![])]);
    assert_eq!(
        m.state(),
        ClassicState::Joining,
        "KIP-429: rejoin so t-1 reaches its new owner"
    );
}

#[test]
fn eager_members_revoke_everything_before_joining() {
    let now = Instant::now();
    let mut m = member(ClassicConfig::new("g"), eager(), &["t"]);
    assert_eq!(m.rebalance_protocol(), RebalanceProtocol::Eager);
    let j = send(&mut m, now);
    let mut r = JoinGroupResponse::default();
    r.generation_id = 1;
    r.protocol_name = Some(StrBytes::from_static("range"));
    r.leader = StrBytes::from_static("x");
    r.member_id = StrBytes::from_static("m-1");
    m.on_response(j.id, GroupResponse::JoinGroup(r), now)
        .unwrap();
    let s = send(&mut m, now);
    m.on_response(s.id, sync_with(&[("t", 0)]), now).unwrap();
    events(&mut m);
    m.request_rejoin();
    assert_eq!(
        events(&mut m),
        vec![GroupEvent::Revoked(vec![TopicPartition::new("t", 0)])]
    );
    assert_eq!(
        m.poll(now),
        Poll::Idle,
        "JoinGroup waits for the revocation"
    );
    m.revocation_done();
    assert_eq!(send(&mut m, now).api, ApiKey::JOIN_GROUP);
}

#[test]
fn unknown_member_loses_partitions_and_starts_over() {
    let now = Instant::now();
    let mut m = stable_follower(now);
    let h = send(&mut m, now + Duration::from_secs(3));
    m.on_response(h.id, heartbeat(ErrorCode::UNKNOWN_MEMBER_ID), now)
        .unwrap();
    assert_eq!(
        events(&mut m),
        vec![GroupEvent::Lost(vec![
            TopicPartition::new("t", 0),
            TopicPartition::new("t", 1)
        ])]
    );
    assert_eq!((m.member_id(), m.generation()), ("", -1));
    let j = send(&mut m, now);
    let GroupRequestBody::JoinGroup(body) = &j.body else {
        panic!()
    };
    assert_eq!(body.member_id, "");
}

#[test]
fn illegal_generation_keeps_the_member_id() {
    let now = Instant::now();
    let mut m = stable_follower(now);
    let h = send(&mut m, now + Duration::from_secs(3));
    m.on_response(h.id, heartbeat(ErrorCode::ILLEGAL_GENERATION), now)
        .unwrap();
    assert!(matches!(events(&mut m)[0], GroupEvent::Lost(_)));
    assert_eq!((m.member_id(), m.generation()), ("m-1", -1));
}

#[test]
fn coordinator_errors_look_it_up_again_and_retry() {
    let now = Instant::now();
    let mut m = stable_follower(now);
    let at = now + Duration::from_secs(3);
    let h = send(&mut m, at);
    assert!(!h.refresh_coordinator);
    m.on_response(h.id, heartbeat(ErrorCode::NOT_COORDINATOR), at)
        .unwrap();
    assert_eq!(m.poll(at), Poll::WaitUntil(at + Duration::from_millis(100)));
    let h = send(&mut m, at + Duration::from_millis(100));
    assert_eq!((h.api, h.refresh_coordinator), (ApiKey::HEARTBEAT, true));
    assert_eq!(m.owned().len(), 2, "nothing lost");
}

#[test]
fn static_members_need_newer_versions_and_do_not_leave_on_close() {
    let now = Instant::now();
    let mut cfg = ClassicConfig::new("g");
    cfg.group_instance_id = Some("host-1".into());
    let mut m = member(cfg, sticky(), &["t"]);
    let j = send(&mut m, now);
    assert!(
        j.versions.min >= 5,
        "JoinGroup v5+ carries group.instance.id"
    );
    m.on_response(j.id, join_ok("m-1", "m-0", 1), now).unwrap();
    let s = send(&mut m, now);
    assert!(s.versions.min >= 3);
    let GroupRequestBody::SyncGroup(body) = &s.body else {
        panic!()
    };
    assert_eq!(body.group_instance_id.as_deref(), Some("host-1"));
    m.on_response(s.id, sync_with(&[("t", 0)]), now).unwrap();
    assert!(send(&mut m, now + Duration::from_secs(3)).versions.min >= 3);
    // close: revoke, no LeaveGroup (the partitions wait for the restart, KIP-345)
    let mut m2 = stable_follower(now);
    m2.leave("shutdown", false).unwrap();
    let mut cfg = ClassicConfig::new("g");
    cfg.group_instance_id = Some("host-2".into());
    let mut s2 = member(cfg, sticky(), &["t"]);
    let j = send(&mut s2, now);
    s2.on_response(j.id, join_ok("m-2", "m-0", 1), now).unwrap();
    let s = send(&mut s2, now);
    s2.on_response(s.id, sync_with(&[("t", 3)]), now).unwrap();
    events(&mut s2);
    s2.leave("restart", false).unwrap();
    assert_eq!(
        events(&mut s2),
        vec![
            GroupEvent::Revoked(vec![TopicPartition::new("t", 3)]),
            GroupEvent::Left
        ]
    );
    assert_eq!(s2.poll(now), Poll::Idle);
    // a dynamic member sends LeaveGroup after its revocation
    assert_eq!(m2.poll(now), Poll::Idle, "waits for the revocation");
    m2.revocation_done();
    let l = send(&mut m2, now);
    assert_eq!(l.api, ApiKey::LEAVE_GROUP);
    assert_eq!(l.versions.min, 0);
}

#[test]
fn fenced_instance_is_fatal() {
    let now = Instant::now();
    let mut m = stable_follower(now);
    let h = send(&mut m, now + Duration::from_secs(3));
    m.on_response(h.id, heartbeat(ErrorCode::FENCED_INSTANCE_ID), now)
        .unwrap();
    assert_eq!(m.state(), ClassicState::Failed);
    assert!(matches!(
        events(&mut m)[0],
        GroupEvent::Failed(GroupError::FencedInstance { .. })
    ));
    assert_eq!(m.poll(now), Poll::Idle);
}

#[test]
fn a_protocol_we_did_not_offer_is_fatal() {
    let now = Instant::now();
    let mut m = member(ClassicConfig::new("g"), sticky(), &["t"]);
    let j = send(&mut m, now);
    let mut r = JoinGroupResponse::default();
    r.protocol_name = Some(StrBytes::from_static("range"));
    r.member_id = StrBytes::from_static("m");
    m.on_response(j.id, GroupResponse::JoinGroup(r), now)
        .unwrap();
    assert_eq!(m.state(), ClassicState::Failed);
}

#[test]
fn a_wrong_or_late_answer_is_refused() {
    let now = Instant::now();
    let mut m = member(ClassicConfig::new("g"), sticky(), &["t"]);
    let j = send(&mut m, now);
    assert!(matches!(
        m.on_response(j.id, heartbeat(ErrorCode::NONE), now),
        Err(GroupError::WrongResponse { .. })
    ));
    m.on_send_failed(j.id, now).unwrap();
    assert!(matches!(
        m.on_response(j.id, join_ok("m", "m", 1), now),
        Err(GroupError::UnknownRequest(_))
    ));
}

// ------------------------------------------------------------------------------------------------
// Whole groups

fn cluster() -> ClusterTopics {
    ClusterTopics::without_racks([("a", 6), ("b", 5)])
}

fn all_partitions() -> BTreeSet<TopicPartition> {
    (0..6)
        .map(|p| TopicPartition::new("a", p))
        .chain((0..5).map(|p| TopicPartition::new("b", p)))
        .collect()
}

fn check_settled(g: &Group) {
    let (owned, counts) = g.ownership();
    assert_eq!(
        owned,
        all_partitions(),
        "every partition owned once the group settles"
    );
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(max - min <= 1, "balanced: {counts:?}");
}

#[test]
fn a_cooperative_group_grows_and_shrinks_safely() {
    let mut g = Group::new(cluster());
    for i in 0..3 {
        g.members
            .push(member(ClassicConfig::new("g"), sticky(), &["a", "b"]));
        g.settle(500);
        check_settled(&g);
        assert_eq!(g.members.len(), i + 1);
    }
    let before: Vec<BTreeSet<TopicPartition>> =
        g.members.iter().map(|m| m.owned().clone()).collect();
    g.members[1].leave("bye", false).unwrap();
    g.settle(500);
    check_settled(&g);
    // stickiness: the survivors kept what they had
    for i in [0, 2] {
        assert!(
            before[i].is_subset(g.members[i].owned()),
            "member {i} lost partitions it kept"
        );
    }
    // no member was ever told to revoke while eager-style revoking everything
    let lost = g
        .events
        .iter()
        .filter(|(_, e)| matches!(e, GroupEvent::Lost(_)))
        .count();
    assert_eq!(lost, 0);
}

#[test]
fn an_eager_group_settles() {
    let mut g = Group::new(cluster());
    for _ in 0..3 {
        g.members
            .push(member(ClassicConfig::new("g"), eager(), &["a", "b"]));
    }
    g.settle(500);
    let (owned, _) = g.ownership();
    assert_eq!(owned, all_partitions());
}

#[test]
fn static_members_join_and_restart() {
    let mut g = Group::new(cluster());
    for i in 0..2 {
        let mut cfg = ClassicConfig::new("g");
        cfg.group_instance_id = Some(format!("host-{i}"));
        g.members.push(member(cfg, sticky(), &["a", "b"]));
    }
    g.settle(500);
    check_settled(&g);
    assert!(g
        .sent
        .iter()
        .all(|(_, r)| r.api != ApiKey::JOIN_GROUP || r.versions.min >= 5));
}

/// Whether a member's last JoinGroup subscribed to `topic`.
fn subscribes(m: &ClassicMember, topic: &str) -> bool {
    m.owned().iter().any(|tp| tp.topic == topic) || m.topics().contains(topic)
}

#[derive(Debug, Clone)]
enum Change {
    Join(bool),
    Leave(usize),
    Resubscribe(usize, bool),
    Steps(u8),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => any::<bool>().prop_map(Change::Join),
        1 => (0usize..8).prop_map(Change::Leave),
        1 => (0usize..8, any::<bool>()).prop_map(|(i, b)| Change::Resubscribe(i, b)),
        3 => (1u8..20).prop_map(Change::Steps),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Members join, leave and change subscriptions at random points of the protocol; at no step
    /// do two members own one partition, and once things stop changing the group settles with
    /// every partition owned.
    #[test]
    fn cooperative_groups_never_double_own(changes in prop::collection::vec(change(), 1..12)) {
        let mut g = Group::new(cluster());
        for c in changes {
            match c {
                Change::Join(both) => {
                    let topics: &[&str] = if both { &["a", "b"] } else { &["a"] };
                    g.members.push(member(ClassicConfig::new("g"), sticky(), topics));
                }
                Change::Leave(i) => {
                    if let Some(m) = g.members.get_mut(i) {
                        let _ = m.leave("test", false);
                    }
                }
                Change::Resubscribe(i, both) => {
                    if let Some(m) = g.members.get_mut(i) {
                        let topics = if both { vec!["a".to_string(), "b".to_string()] } else { vec!["b".to_string()] };
                        let _ = m.subscribe(topics);
                    }
                }
                Change::Steps(n) => {
                    for _ in 0..n {
                        if !g.step() {
                            g.advance();
                        }
                    }
                }
            }
        }
        g.settle(2000);
        // settled: a partition is owned iff an active member subscribes to its topic
        let active: Vec<&ClassicMember> = g.members.iter().filter(|m| m.state() == ClassicState::Stable).collect();
        let wanted: BTreeSet<TopicPartition> = all_partitions()
            .into_iter()
            .filter(|tp| active.iter().any(|m| subscribes(m, &tp.topic)))
            .collect();
        let (owned, _) = g.ownership();
        prop_assert_eq!(owned, wanted);
    }
}

/// KIP-62 / KIP-429: a member whose application stopped polling leaves at
/// once: what it owns is lost, not revoked (no `revocation_done` awaited),
/// and LeaveGroup goes out; its answer ends the membership.
#[test]
fn leaving_for_a_stuck_application_loses_the_partitions() {
    let now = Instant::now();
    let mut m = stable_follower(now);
    let owned: Vec<TopicPartition> = m.owned().iter().cloned().collect();
    assert!(!owned.is_empty());
    m.leave_lost("poll interval exceeded").unwrap();
    assert_eq!(events(&mut m), vec![GroupEvent::Lost(owned)]);
    assert!(!m.revocation_pending());
    let l = send(&mut m, now);
    assert!(
        matches!(l.body, GroupRequestBody::LeaveGroup(_)),
        "{:?}",
        l.body
    );
    m.on_response(l.id, GroupResponse::LeaveGroup(Default::default()), now)
        .unwrap();
    assert_eq!(events(&mut m), vec![GroupEvent::Left]);
    assert_eq!(m.state(), ClassicState::Left);
    assert!(m.leave_lost("again").is_err(), "a member leaves once");
}
