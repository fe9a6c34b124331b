//! The KIP-848 member (ConsumerGroupHeartbeat): scenario tests for the heartbeat fields, epochs and
//! errors, and whole groups around an in-memory coordinator that assigns server-side and, like
//! Kafka's, hands a partition to its new owner only once no other member reports owning it. The
//! application takes a step to revoke; no partition is ever held by two members, and groups settle.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kwire::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kwire::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kwire::{ApiKey, ErrorCode, StrBytes, Uuid};
use kwire_client::group::consumer::{ConsumerConfig, ConsumerMember, ConsumerState};
use kwire_client::group::{
    GroupEvent, GroupRequest, GroupRequestBody, GroupResponse, Poll, TopicPartition,
};
use proptest::prelude::*;

fn id(n: u8) -> Uuid {
    Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 | u128::from(n))
}

fn send(m: &mut ConsumerMember, now: Instant) -> (GroupRequest, ConsumerGroupHeartbeatRequest) {
    match m.poll(now) {
        Poll::Send(r) => {
            let GroupRequestBody::ConsumerGroupHeartbeat(b) = r.body.clone() else {
                panic!()
            };
            (*r, b)
        }
        other => panic!("expected a heartbeat, got {other:?}"),
    }
}

fn ok(epoch: i32, assignment: Option<&[(u8, &[i32])]>) -> GroupResponse {
    let mut r = ConsumerGroupHeartbeatResponse::default();
    r.member_id = Some(StrBytes::from_static("m-1"));
    r.member_epoch = epoch;
    r.heartbeat_interval_ms = 5000;
    r.assignment = assignment.map(|parts| {
        let mut a = Assignment::default();
        a.topic_partitions = parts
            .iter()
            .map(|(t, ps)| {
                let mut tp = TopicPartitions::default();
                tp.topic_id = id(*t);
                tp.partitions = ps.to_vec();
                tp
            })
            .collect();
        a
    });
    GroupResponse::ConsumerGroupHeartbeat(r)
}

fn err(code: ErrorCode) -> GroupResponse {
    let mut r = ConsumerGroupHeartbeatResponse::default();
    r.error_code = code.0;
    r.error_message = Some(StrBytes::from_static("no\u{1b}[31m"));
    GroupResponse::ConsumerGroupHeartbeat(r)
}

fn events(m: &mut ConsumerMember) -> Vec<GroupEvent> {
    std::iter::from_fn(|| m.next_event()).collect()
}

fn member() -> ConsumerMember {
    let mut m = ConsumerMember::new(ConsumerConfig::new("g", "m-1")).unwrap();
    m.provide_topic_names([(id(1), "a".to_string()), (id(2), "b".to_string())]);
    m.subscribe(["a".to_string(), "b".to_string()]).unwrap();
    m
}

#[test]
fn joins_with_epoch_zero_and_every_field() {
    let now = Instant::now();
    let mut cfg = ConsumerConfig::new("g", "m-1");
    cfg.rack_id = Some("r1".into());
    cfg.server_assignor = Some("uniform".into());
    let mut m = ConsumerMember::new(cfg).unwrap();
    m.subscribe(["b".to_string(), "a".to_string()]).unwrap();
    let (req, b) = send(&mut m, now);
    assert_eq!(req.api, ApiKey::CONSUMER_GROUP_HEARTBEAT);
    assert!(
        req.versions.min >= 1,
        "member ids from the client need v1 (KIP-1082)"
    );
    assert!(req.refresh_coordinator);
    assert_eq!((b.member_id.as_ref(), b.member_epoch), ("m-1", 0));
    assert_eq!(b.rack_id.as_deref(), Some("r1"));
    assert_eq!(b.rebalance_timeout_ms, 300_000);
    assert_eq!(b.server_assignor.as_deref(), Some("uniform"));
    assert_eq!(b.subscribed_topic_names.as_ref().unwrap().len(), 2);
    assert_eq!(
        b.topic_partitions,
        Some(vec![]),
        "owns nothing, said explicitly"
    );
}

#[test]
fn reconciles_then_acknowledges_and_sends_only_what_changed() {
    let now = Instant::now();
    let mut m = member();
    let (r, _) = send(&mut m, now);
    m.on_response(r.id, ok(3, Some(&[(1, &[0, 1])])), now)
        .unwrap();
    let ev = events(&mut m);
    assert!(
        matches!(ev[0], GroupEvent::Joined { generation: 3, .. }),
        "{ev:?}"
    );
    assert_eq!(
        ev[1],
        GroupEvent::Assigned(vec![
            TopicPartition::new("a", 0),
            TopicPartition::new("a", 1)
        ])
    );
    assert_eq!(m.state(), ConsumerState::Acknowledging);
    // the acknowledgement goes out at once, reporting what it owns
    let (r, b) = send(&mut m, now);
    assert_eq!(b.member_epoch, 3);
    assert_eq!(b.subscribed_topic_names, None, "unchanged");
    assert_eq!(b.rebalance_timeout_ms, -1, "unchanged");
    assert_eq!(
        b.topic_partitions.as_ref().unwrap()[0].partitions,
        vec![0, 1]
    );
    m.on_response(r.id, ok(3, None), now).unwrap();
    assert_eq!(m.state(), ConsumerState::Stable);
    assert_eq!(m.heartbeat_interval(), Duration::from_secs(5));
    assert_eq!(m.poll(now), Poll::WaitUntil(now + Duration::from_secs(5)));
    let (_, b) = send(&mut m, now + Duration::from_secs(5));
    assert_eq!(
        (b.subscribed_topic_names, b.topic_partitions),
        (None, None),
        "nothing changed"
    );
}

#[test]
fn revokes_before_it_assigns_and_reports_revoking_partitions_until_done() {
    let now = Instant::now();
    let mut m = member();
    let (r, _) = send(&mut m, now);
    m.on_response(r.id, ok(3, Some(&[(1, &[0, 1])])), now)
        .unwrap();
    let (r, _) = send(&mut m, now);
    m.on_response(r.id, ok(3, None), now).unwrap();
    events(&mut m);
    // new target: a-1 goes, b-0 comes
    let t = now + Duration::from_secs(5);
    let (r, _) = send(&mut m, t);
    m.on_response(r.id, ok(4, Some(&[(1, &[0]), (2, &[0])])), t)
        .unwrap();
    assert_eq!(
        events(&mut m),
        vec![GroupEvent::Revoked(vec![TopicPartition::new("a", 1)])]
    );
    assert_eq!(m.state(), ConsumerState::Reconciling);
    // a heartbeat meanwhile still reports a-1: the application has not let go
    let t = t + Duration::from_secs(5);
    let (r, b) = send(&mut m, t);
    assert_eq!(b.member_epoch, 4);
    assert!(
        b.topic_partitions.is_none(),
        "unchanged since acknowledged: a-0, a-1"
    );
    m.on_response(r.id, ok(4, None), t).unwrap();
    m.revocation_done();
    assert_eq!(
        events(&mut m),
        vec![GroupEvent::Assigned(vec![TopicPartition::new("b", 0)])]
    );
    let (_, b) = send(&mut m, t);
    let reported: Vec<(Uuid, Vec<i32>)> = b
        .topic_partitions
        .unwrap()
        .into_iter()
        .map(|t| (t.topic_id, t.partitions))
        .collect();
    assert_eq!(reported, vec![(id(1), vec![0]), (id(2), vec![0])]);
}

#[test]
fn fenced_loses_partitions_and_rejoins_with_epoch_zero() {
    let now = Instant::now();
    for code in [ErrorCode::FENCED_MEMBER_EPOCH, ErrorCode::UNKNOWN_MEMBER_ID] {
        let mut m = member();
        let (r, _) = send(&mut m, now);
        m.on_response(r.id, ok(3, Some(&[(1, &[0])])), now).unwrap();
        let (r, _) = send(&mut m, now);
        m.on_response(r.id, err(code), now).unwrap();
        let ev = events(&mut m);
        assert_eq!(
            ev.last(),
            Some(&GroupEvent::Lost(vec![TopicPartition::new("a", 0)])),
            "{code}"
        );
        let (_, b) = send(&mut m, now);
        assert_eq!(
            (b.member_id.as_ref(), b.member_epoch),
            ("m-1", 0),
            "same id, epoch 0"
        );
        assert!(
            b.subscribed_topic_names.is_some() && b.rebalance_timeout_ms > 0,
            "full again"
        );
    }
}

#[test]
fn leaving_revokes_then_sends_epoch_minus_one_or_minus_two() {
    let now = Instant::now();
    for instance in [None, Some("host-1".to_string())] {
        let mut cfg = ConsumerConfig::new("g", "m-1");
        cfg.instance_id = instance.clone();
        let mut m = ConsumerMember::new(cfg).unwrap();
        m.provide_topic_names([(id(1), "a".to_string())]);
        m.subscribe(["a".to_string()]).unwrap();
        let (r, b) = send(&mut m, now);
        assert_eq!(b.instance_id.as_deref(), instance.as_deref());
        m.on_response(r.id, ok(2, Some(&[(1, &[0])])), now).unwrap();
        events(&mut m);
        m.leave().unwrap();
        assert_eq!(
            events(&mut m),
            vec![GroupEvent::Revoked(vec![TopicPartition::new("a", 0)])]
        );
        m.revocation_done();
        let (r, b) = send(&mut m, now);
        assert_eq!(b.member_epoch, if instance.is_some() { -2 } else { -1 });
        m.on_response(r.id, ok(-1, None), now).unwrap();
        assert_eq!(m.state(), ConsumerState::Left);
        assert_eq!(m.poll(now), Poll::Idle);
    }
}

/// KIP-62 / KIP-429: a member whose application stopped polling sends the
/// leave heartbeat at once (-1, a static member -2); its partitions are
/// lost, not revoked, and no `revocation_done` is awaited.
#[test]
fn leaving_for_a_stuck_application_loses_the_partitions() {
    for instance in [None, Some("i-1".to_string())] {
        let now = Instant::now();
        let mut m = ConsumerMember::new({
            let mut c = ConsumerConfig::new("g", "m-1");
            c.instance_id = instance.clone();
            c
        })
        .unwrap();
        m.subscribe(vec!["a".into()]).unwrap();
        m.provide_topic_names([(id(1), "a".to_string())]);
        let (r, _) = send(&mut m, now);
        m.on_response(r.id, ok(2, Some(&[(1, &[0])])), now).unwrap();
        events(&mut m);
        assert_eq!(m.owned().len(), 1);
        m.leave_lost().unwrap();
        assert_eq!(
            events(&mut m),
            vec![GroupEvent::Lost(vec![TopicPartition::new("a", 0)])]
        );
        assert!(!m.revocation_pending());
        let (r, b) = send(&mut m, now);
        assert_eq!(b.member_epoch, if instance.is_some() { -2 } else { -1 });
        m.on_response(r.id, ok(-1, None), now).unwrap();
        assert_eq!(m.state(), ConsumerState::Left);
        assert!(m.leave_lost().is_err(), "a member leaves once");
    }
}

#[test]
fn unsupported_version_in_the_body_asks_for_classic() {
    let now = Instant::now();
    let mut m = member();
    let (r, _) = send(&mut m, now);
    m.on_response(r.id, err(ErrorCode::UNSUPPORTED_VERSION), now)
        .unwrap();
    let ev = events(&mut m);
    assert_eq!(ev[0], GroupEvent::ProtocolUnsupported);
    let GroupEvent::Failed(e) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert!(
        e.to_string().contains("no\\u{1b}[31m"),
        "broker text escaped: {e}"
    );
    assert_eq!(m.state(), ConsumerState::Failed);
}

#[test]
fn coordinator_moves_and_loading() {
    let now = Instant::now();
    let mut m = member();
    let (r, _) = send(&mut m, now);
    m.on_response(r.id, err(ErrorCode::NOT_COORDINATOR), now)
        .unwrap();
    assert_eq!(
        m.poll(now),
        Poll::WaitUntil(now + Duration::from_millis(100))
    );
    let (r, b) = send(&mut m, now + Duration::from_millis(100));
    assert!(r.refresh_coordinator);
    assert_eq!(b.member_epoch, 0);
    m.on_response(r.id, err(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS), now)
        .unwrap();
    let (r, _) = send(&mut m, now + Duration::from_millis(200));
    assert!(!r.refresh_coordinator);
    m.on_response(r.id, err(ErrorCode::GROUP_AUTHORIZATION_FAILED), now)
        .unwrap();
    assert_eq!(m.state(), ConsumerState::Failed);
}

#[test]
fn partitions_of_unknown_topics_wait_for_their_names() {
    let now = Instant::now();
    let mut m = ConsumerMember::new(ConsumerConfig::new("g", "m-1")).unwrap();
    m.subscribe(["a".to_string(), "c".to_string()]).unwrap();
    m.provide_topic_names([(id(1), "a".to_string())]);
    let (r, _) = send(&mut m, now);
    m.on_response(r.id, ok(2, Some(&[(1, &[0]), (9, &[4])])), now)
        .unwrap();
    let ev = events(&mut m);
    assert!(ev.contains(&GroupEvent::Assigned(vec![TopicPartition::new("a", 0)])));
    assert!(ev.contains(&GroupEvent::TopicNamesNeeded(vec![id(9)])));
    m.provide_topic_names([(id(9), "c".to_string())]);
    assert_eq!(
        events(&mut m),
        vec![GroupEvent::Assigned(vec![TopicPartition::new("c", 4)])]
    );
    assert_eq!(m.owned().len(), 2);
}

#[test]
fn a_member_id_is_required() {
    assert!(ConsumerMember::new(ConsumerConfig::new("g", "")).is_err());
}

// ------------------------------------------------------------------------------------------------
// Whole groups

struct CMember {
    epoch: i32,
    subscribed: BTreeSet<String>,
    reported: BTreeSet<(Uuid, i32)>,
    target: BTreeSet<(Uuid, i32)>,
}

/// Server-side assignment: each partition of a subscribed topic to the eligible member with the
/// fewest so far; a member is told only partitions no other member reports owning or was told to
/// own (Kafka's coordinator keeps a partition pending revocation the same way).
struct Coordinator {
    topics: BTreeMap<Uuid, (String, i32)>,
    members: BTreeMap<String, CMember>,
    group_epoch: i32,
}

impl Coordinator {
    fn desired(&self) -> BTreeMap<String, BTreeSet<(Uuid, i32)>> {
        let mut out: BTreeMap<String, BTreeSet<(Uuid, i32)>> = self
            .members
            .keys()
            .map(|m| (m.clone(), BTreeSet::new()))
            .collect();
        for (tid, (name, n)) in &self.topics {
            for p in 0..*n {
                let best = self
                    .members
                    .iter()
                    .filter(|(_, m)| m.subscribed.contains(name))
                    .map(|(k, _)| k)
                    .min_by_key(|k| (out[*k].len(), (*k).clone()));
                if let Some(k) = best {
                    out.get_mut(k).unwrap().insert((*tid, p));
                }
            }
        }
        out
    }

    fn handle(&mut self, b: ConsumerGroupHeartbeatRequest) -> ConsumerGroupHeartbeatResponse {
        let mut r = ConsumerGroupHeartbeatResponse::default();
        r.heartbeat_interval_ms = 1000;
        let mid = b.member_id.to_string();
        r.member_id = Some(b.member_id.clone());
        if b.member_epoch < 0 {
            self.members.remove(&mid);
            r.member_epoch = b.member_epoch;
            return r;
        }
        if b.member_epoch == 0 {
            self.members.insert(
                mid.clone(),
                CMember {
                    epoch: 0,
                    subscribed: BTreeSet::new(),
                    reported: BTreeSet::new(),
                    target: BTreeSet::new(),
                },
            );
        }
        let Some(m) = self.members.get_mut(&mid) else {
            r.error_code = ErrorCode::UNKNOWN_MEMBER_ID.0;
            return r;
        };
        if b.member_epoch != m.epoch {
            r.error_code = ErrorCode::FENCED_MEMBER_EPOCH.0;
            return r;
        }
        if let Some(t) = &b.subscribed_topic_names {
            m.subscribed = t.iter().map(|s| s.to_string()).collect();
        }
        if let Some(tps) = &b.topic_partitions {
            m.reported = tps
                .iter()
                .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
                .collect();
        }
        let desired = self.desired();
        let others: BTreeSet<(Uuid, i32)> = self
            .members
            .iter()
            .filter(|(k, _)| **k != mid)
            // what others report owning, and what they were told and may not have seen yet
            .flat_map(|(_, m)| m.reported.union(&m.target).cloned().collect::<Vec<_>>())
            .collect();
        let m = self.members.get_mut(&mid).unwrap();
        let target: BTreeSet<(Uuid, i32)> = desired[&mid].difference(&others).cloned().collect();
        if target != m.target || m.epoch == 0 {
            self.group_epoch += 1;
            m.epoch = self.group_epoch;
            m.target = target.clone();
            let mut by: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
            for (t, p) in target {
                by.entry(t).or_default().push(p);
            }
            let mut a = Assignment::default();
            a.topic_partitions = by
                .into_iter()
                .map(|(t, ps)| {
                    let mut x = TopicPartitions::default();
                    x.topic_id = t;
                    x.partitions = ps;
                    x
                })
                .collect();
            r.assignment = Some(a);
        }
        r.member_epoch = m.epoch;
        r
    }
}

struct Group {
    coord: Coordinator,
    members: Vec<ConsumerMember>,
    names: Vec<(Uuid, String)>,
    now: Instant,
    to_ack: Vec<usize>,
}

impl Group {
    fn new() -> Group {
        let topics: BTreeMap<Uuid, (String, i32)> =
            [(id(1), ("a".to_string(), 6)), (id(2), ("b".to_string(), 4))]
                .into_iter()
                .collect();
        let names = topics.iter().map(|(k, (n, _))| (*k, n.clone())).collect();
        Group {
            coord: Coordinator {
                topics,
                members: BTreeMap::new(),
                group_epoch: 0,
            },
            members: Vec::new(),
            names,
            now: Instant::now(),
            to_ack: Vec::new(),
        }
    }

    fn add(&mut self, n: usize, topics: &[&str]) {
        let mut m = ConsumerMember::new(ConsumerConfig::new("g", format!("member-{n}"))).unwrap();
        m.subscribe(topics.iter().map(|t| t.to_string())).unwrap();
        self.members.push(m);
    }

    fn step(&mut self) -> bool {
        let mut busy = false;
        for i in std::mem::take(&mut self.to_ack) {
            busy = true;
            self.members[i].revocation_done();
        }
        for i in 0..self.members.len() {
            if let Poll::Send(req) = self.members[i].poll(self.now) {
                busy = true;
                let GroupRequestBody::ConsumerGroupHeartbeat(b) = req.body else {
                    panic!()
                };
                let resp = self.coord.handle(b);
                self.members[i]
                    .on_response(
                        req.id,
                        GroupResponse::ConsumerGroupHeartbeat(resp),
                        self.now,
                    )
                    .unwrap();
            }
            while let Some(e) = self.members[i].next_event() {
                busy = true;
                match e {
                    GroupEvent::Revoked(_) => self.to_ack.push(i),
                    GroupEvent::TopicNamesNeeded(_) => {
                        let names = self.names.clone();
                        self.members[i].provide_topic_names(names);
                    }
                    GroupEvent::Failed(e) => panic!("member {i} failed: {e}"),
                    _ => {}
                }
            }
        }
        let mut seen: BTreeMap<TopicPartition, usize> = BTreeMap::new();
        for (i, m) in self.members.iter().enumerate() {
            for tp in m.held() {
                if let Some(o) = seen.insert(tp.clone(), i) {
                    panic!("{tp} held by members {o} and {i} at once");
                }
            }
        }
        busy
    }

    fn advance(&mut self) {
        let next = self
            .members
            .iter_mut()
            .filter_map(|m| match m.poll(self.now) {
                Poll::WaitUntil(t) => Some(t),
                _ => None,
            })
            .min();
        self.now = next.unwrap_or(self.now + Duration::from_secs(1));
    }

    /// Until every member owns exactly what the coordinator wants for it.
    fn settle(&mut self, max: usize) {
        for _ in 0..max {
            if !self.step() {
                self.advance();
            }
            let desired = self.coord.desired();
            let done = self.members.iter().all(|m| match m.state() {
                ConsumerState::Left => true,
                ConsumerState::Stable => {
                    let key = m.group_metadata().member_id;
                    let want: BTreeSet<TopicPartition> = desired
                        .get(&key)
                        .map(|s| {
                            s.iter()
                                .map(|(t, p)| {
                                    TopicPartition::new(if *t == id(1) { "a" } else { "b" }, *p)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    m.owned() == want && !m.revocation_pending()
                }
                _ => false,
            });
            if done {
                return;
            }
        }
        panic!(
            "did not settle: {:?}",
            self.members.iter().map(|m| m.state()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_group_grows_and_shrinks_without_double_ownership() {
    let mut g = Group::new();
    for n in 0..3 {
        g.add(n, &["a", "b"]);
        g.settle(500);
    }
    let counts: Vec<usize> = g.members.iter().map(|m| m.owned().len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 10);
    g.members[0].leave().unwrap();
    g.settle(500);
    let counts: Vec<usize> = g.members[1..].iter().map(|m| m.owned().len()).collect();
    assert_eq!(counts, vec![5, 5]);
}

#[derive(Debug, Clone)]
enum Change {
    Join(bool),
    Leave(usize),
    Resubscribe(usize, bool),
    Steps(u8),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn groups_never_double_own(changes in prop::collection::vec(prop_oneof![
        3 => any::<bool>().prop_map(Change::Join),
        1 => (0usize..8).prop_map(Change::Leave),
        1 => (0usize..8, any::<bool>()).prop_map(|(i, b)| Change::Resubscribe(i, b)),
        3 => (1u8..20).prop_map(Change::Steps),
    ], 1..14)) {
        let mut g = Group::new();
        let mut n = 0;
        for c in changes {
            match c {
                Change::Join(both) => {
                    g.add(n, if both { &["a", "b"] } else { &["a"] });
                    n += 1;
                }
                Change::Leave(i) => {
                    if let Some(m) = g.members.get_mut(i) {
                        let _ = m.leave();
                    }
                }
                Change::Resubscribe(i, both) => {
                    if let Some(m) = g.members.get_mut(i) {
                        let t = if both { vec!["a".to_string(), "b".to_string()] } else { vec!["b".to_string()] };
                        let _ = m.subscribe(t);
                    }
                }
                Change::Steps(k) => {
                    for _ in 0..k {
                        if !g.step() {
                            g.advance();
                        }
                    }
                }
            }
        }
        g.settle(3000);
    }
}
