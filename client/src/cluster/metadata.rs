//! The metadata cache: brokers, the controller, topics with their ids and
//! partitions with their leaders. Pure: built from Metadata responses and
//! merged, never fetched here.
//!
//! * Topic ids (KIP-516, Metadata v10+) are kept; the zero id means "no
//!   id" (older brokers, and topics from before a cluster had ids).
//! * A partition whose cached leader epoch is newer than the one a response
//!   carries keeps the cached leader: that response came from a broker whose
//!   metadata lags (Java's `Metadata.updateLatestMetadata`, KIP-320).
//! * A leader a Produce or Fetch error reports (KIP-951) moves the partition
//!   when its epoch is newer, without waiting for a metadata round trip.

use std::collections::{BTreeMap, HashMap};

use kwire::messages::MetadataResponse;
use kwire::{ErrorCode, Uuid};

use crate::protocol::api::{host_port, valid_host};
use crate::protocol::reply::LeaderHint;
use crate::protocol::route::{TopicPartition, TopicRef};

/// A broker as metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl Node {
    /// `host:port` (IPv6 literals in brackets).
    pub fn addr(&self) -> String {
        host_port(&self.host, self.port)
    }
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// `None`: no leader right now (an election, an offline partition).
    pub leader: Option<i32>,
    /// Metadata v7+ (KIP-320); `None` from older brokers.
    pub leader_epoch: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: ErrorCode,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    /// `None` when the broker gave none or the zero id.
    pub id: Option<Uuid>,
    pub internal: bool,
    pub error: ErrorCode,
    pub partitions: BTreeMap<i32, PartitionInfo>,
}

/// What the client knows of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Metadata v2+.
    pub cluster_id: Option<String>,
    /// Metadata v1+; on KRaft clusters a broker that forwards to the active
    /// controller (KIP-590).
    pub controller: Option<i32>,
    pub brokers: BTreeMap<i32, Node>,
    pub topics: BTreeMap<String, TopicInfo>,
    ids: HashMap<Uuid, String>,
}

/// Why a partition has no leader to send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoLeader {
    /// The topic (or id) is not in the cache.
    UnknownTopic,
    /// The topic is, the partition is not.
    UnknownPartition,
    /// The partition has no leader right now.
    Leaderless,
    /// The leader is not among the brokers metadata lists.
    UnknownBroker(i32),
}

/// What a merge changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// Partitions whose leader moved: (partition, old, new).
    pub moved: Vec<(TopicPartition, Option<i32>, Option<i32>)>,
    /// Partitions whose update was older than the cache (by leader epoch)
    /// and was not taken.
    pub stale: Vec<TopicPartition>,
}

fn known(id: Uuid) -> Option<Uuid> {
    (!id.is_zero()).then_some(id)
}

impl Metadata {
    /// The metadata one response carries.
    pub fn from_response(resp: &MetadataResponse) -> Metadata {
        let brokers = resp
            .brokers
            .iter()
            .filter(|b| {
                let ok = valid_host(&b.host);
                if !ok {
                    tracing::warn!(node = b.node_id, host = %crate::escape::name(&b.host),
                        "metadata names a broker host that is no host name: node left out");
                }
                ok
            })
            .map(|b| {
                (
                    b.node_id,
                    Node {
                        id: b.node_id,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.as_ref().map(|r| r.to_string()),
                    },
                )
            })
            .collect();
        let mut topics = BTreeMap::new();
        for t in &resp.topics {
            // v12+ may answer a topic asked for by id without its name.
            let Some(name) = t.name.as_ref().map(|n| n.to_string()) else {
                continue;
            };
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        PartitionInfo {
                            leader: (p.leader_id >= 0).then_some(p.leader_id),
                            leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                            replicas: p.replica_nodes.clone(),
                            isr: p.isr_nodes.clone(),
                            error: ErrorCode(p.error_code),
                        },
                    )
                })
                .collect();
            topics.insert(
                name.clone(),
                TopicInfo {
                    name,
                    id: known(t.topic_id),
                    internal: t.is_internal,
                    error: ErrorCode(t.error_code),
                    partitions,
                },
            );
        }
        let mut m = Metadata {
            cluster_id: resp.cluster_id.as_ref().map(|c| c.to_string()),
            controller: (resp.controller_id >= 0).then_some(resp.controller_id),
            brokers,
            topics,
            ids: HashMap::new(),
        };
        m.index_ids();
        m
    }

    fn index_ids(&mut self) {
        self.ids = self
            .topics
            .values()
            .filter_map(|t| t.id.map(|id| (id, t.name.clone())))
            .collect();
    }

    /// The name of the topic with id `id`.
    pub fn topic_name(&self, id: &Uuid) -> Option<&str> {
        self.ids.get(id).map(String::as_str)
    }

    /// The topic a request names, by name or id.
    pub fn topic(&self, t: &TopicRef) -> Option<&TopicInfo> {
        match t {
            TopicRef::Name(n) => self.topics.get(n),
            TopicRef::Id(id) => self.topic_name(id).and_then(|n| self.topics.get(n)),
        }
    }

    /// The partition's entry, if cached.
    pub fn partition(&self, tp: &TopicPartition) -> Option<&PartitionInfo> {
        self.topic(&tp.topic)?.partitions.get(&tp.partition)
    }

    /// The broker that leads `tp`.
    pub fn leader(&self, tp: &TopicPartition) -> Result<&Node, NoLeader> {
        let t = self.topic(&tp.topic).ok_or(NoLeader::UnknownTopic)?;
        let p = t
            .partitions
            .get(&tp.partition)
            .ok_or(NoLeader::UnknownPartition)?;
        let id = p.leader.ok_or(NoLeader::Leaderless)?;
        self.brokers.get(&id).ok_or(NoLeader::UnknownBroker(id))
    }

    /// Merges a fresh response's metadata. Brokers, the cluster id and the
    /// controller come from `fresh`. Topics in `fresh` replace the cached
    /// ones, except partitions whose cached leader epoch is newer. Topics
    /// that were `asked` for (`None`: every topic) but are missing or
    /// answered UNKNOWN_TOPIC_OR_PARTITION are dropped; other cached topics
    /// stay.
    pub fn merge(&self, fresh: Metadata, asked: Option<&[String]>) -> (Metadata, Changes) {
        let mut changes = Changes::default();
        let mut topics = match asked {
            None => BTreeMap::new(),
            Some(asked) => {
                let mut keep = self.topics.clone();
                for a in asked {
                    keep.remove(a);
                }
                keep
            }
        };
        for (name, mut t) in fresh.topics {
            if t.error == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION {
                continue;
            }
            // A topic deleted and created again under its name has a new
            // id and epochs that start over: nothing cached applies.
            let recreated = |old: &TopicInfo| old.id.is_some() && t.id.is_some() && old.id != t.id;
            if let Some(old) = self.topics.get(&name).filter(|o| !recreated(o)) {
                for (&i, p) in t.partitions.iter_mut() {
                    let tp = TopicPartition::new(&name, i);
                    let Some(o) = old.partitions.get(&i) else {
                        continue;
                    };
                    if let (Some(old_epoch), Some(new_epoch)) = (o.leader_epoch, p.leader_epoch) {
                        if new_epoch < old_epoch {
                            *p = o.clone();
                            changes.stale.push(tp);
                            continue;
                        }
                    }
                    if o.leader != p.leader {
                        changes.moved.push((tp, o.leader, p.leader));
                    }
                }
            }
            topics.insert(name, t);
        }
        let mut m = Metadata {
            cluster_id: fresh.cluster_id,
            controller: fresh.controller,
            brokers: fresh.brokers,
            topics,
            ids: HashMap::new(),
        };
        m.index_ids();
        (m, changes)
    }

    /// Moves a partition to the leader a response reported (KIP-951) if
    /// its epoch is newer than the cached one; returns whether it moved.
    pub fn apply_hint(&mut self, hint: &LeaderHint) -> bool {
        let name = match &hint.partition.topic {
            TopicRef::Name(n) => n.clone(),
            TopicRef::Id(id) => match self.topic_name(id) {
                Some(n) => n.to_string(),
                None => return false,
            },
        };
        let Some(p) = self
            .topics
            .get_mut(&name)
            .and_then(|t| t.partitions.get_mut(&hint.partition.partition))
        else {
            return false;
        };
        if p.leader_epoch.is_some_and(|e| e >= hint.leader_epoch) {
            return false;
        }
        p.leader = Some(hint.leader_id);
        p.leader_epoch = Some(hint.leader_epoch);
        true
    }

    /// Forgets a partition's leader (after NOT_LEADER_OR_FOLLOWER and its
    /// kin) so nothing is sent there until metadata says where it went.
    pub fn forget_leader(&mut self, tp: &TopicPartition) {
        let name = match &tp.topic {
            TopicRef::Name(n) => n.clone(),
            TopicRef::Id(id) => match self.topic_name(id) {
                Some(n) => n.to_string(),
                None => return,
            },
        };
        if let Some(p) = self
            .topics
            .get_mut(&name)
            .and_then(|t| t.partitions.get_mut(&tp.partition))
        {
            p.leader = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    fn response(topic: &str, id: u128, leaders: &[(i32, i32, i32)]) -> MetadataResponse {
        let mut r = MetadataResponse::default();
        r.cluster_id = Some("c1".into());
        r.controller_id = 2;
        for n in 1..=3 {
            let mut b = MetadataResponseBroker::default();
            b.node_id = n;
            b.host = "127.0.0.1".into();
            b.port = 9090 + n;
            r.brokers.push(b);
        }
        let mut t = MetadataResponseTopic::default();
        t.name = Some(topic.into());
        t.topic_id = Uuid::from_u128(id);
        for &(i, leader, epoch) in leaders {
            let mut p = MetadataResponsePartition::default();
            p.partition_index = i;
            p.leader_id = leader;
            p.leader_epoch = epoch;
            t.partitions.push(p);
        }
        r.topics.push(t);
        r
    }

    #[test]
    fn ids_are_kept_and_zero_is_absent() {
        let m = Metadata::from_response(&response("t", 7, &[(0, 1, 0)]));
        assert_eq!(m.topics["t"].id, Some(Uuid::from_u128(7)));
        assert_eq!(m.topic_name(&Uuid::from_u128(7)), Some("t"));
        let by_id = TopicPartition {
            topic: TopicRef::Id(Uuid::from_u128(7)),
            partition: 0,
        };
        assert_eq!(m.leader(&by_id).unwrap().id, 1);
        assert_eq!(m.leader(&by_id).unwrap().addr(), "127.0.0.1:9091");
        let old = Metadata::from_response(&response("t", 0, &[(0, 1, -1)]));
        assert_eq!(old.topics["t"].id, None);
        assert_eq!(old.topics["t"].partitions[&0].leader_epoch, None);
        assert_eq!(old.topic_name(&Uuid::from_u128(0)), None);
        assert_eq!(
            (m.cluster_id.as_deref(), m.controller),
            (Some("c1"), Some(2))
        );
    }

    #[test]
    fn a_host_that_is_no_host_name_is_left_out() {
        let mut r = response("t", 7, &[(0, 1, 0)]);
        r.brokers[1].host = "evil\u{1b}]0;x\u{7}".into();
        let m = Metadata::from_response(&r);
        assert_eq!(m.brokers.keys().copied().collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn a_lagging_broker_cannot_move_a_leader_back() {
        let m = Metadata::from_response(&response("t", 7, &[(0, 1, 5), (1, 2, 5)]));
        // Partition 0 moved to 3 at epoch 6; partition 1's update is from
        // a broker that still has epoch 4.
        let fresh = Metadata::from_response(&response("t", 7, &[(0, 3, 6), (1, 1, 4)]));
        let (m, ch) = m.merge(fresh, Some(&["t".to_string()]));
        assert_eq!(m.topics["t"].partitions[&0].leader, Some(3));
        assert_eq!(m.topics["t"].partitions[&1].leader, Some(2));
        assert_eq!(
            ch.moved,
            vec![(TopicPartition::new("t", 0), Some(1), Some(3))]
        );
        assert_eq!(ch.stale, vec![TopicPartition::new("t", 1)]);
    }

    #[test]
    fn merge_keeps_topics_not_asked_and_drops_unknown_ones() {
        let a = Metadata::from_response(&response("a", 1, &[(0, 1, 0)]));
        let b = Metadata::from_response(&response("b", 2, &[(0, 2, 0)]));
        let (m, _) = a.merge(b, Some(&["b".to_string()]));
        assert_eq!(m.topics.keys().collect::<Vec<_>>(), vec!["a", "b"]);
        let mut gone = response("a", 1, &[]);
        gone.topics[0].error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0;
        let (m, _) = m.merge(Metadata::from_response(&gone), Some(&["a".to_string()]));
        assert_eq!(m.topics.keys().collect::<Vec<_>>(), vec!["b"]);
        assert_eq!(m.topic_name(&Uuid::from_u128(1)), None);
        // Every topic asked: whatever is not in the answer is gone.
        let (m, _) = m.merge(Metadata::from_response(&response("c", 3, &[])), None);
        assert_eq!(m.topics.keys().collect::<Vec<_>>(), vec!["c"]);
    }

    #[test]
    fn hints_move_only_forward() {
        let mut m = Metadata::from_response(&response("t", 7, &[(0, 1, 5)]));
        let hint = |leader, epoch| LeaderHint {
            partition: TopicPartition::new("t", 0),
            leader_id: leader,
            leader_epoch: epoch,
        };
        assert!(!m.apply_hint(&hint(2, 5)));
        assert!(m.apply_hint(&hint(2, 6)));
        assert_eq!(m.leader(&TopicPartition::new("t", 0)).unwrap().id, 2);
        m.forget_leader(&TopicPartition::new("t", 0));
        assert_eq!(
            m.leader(&TopicPartition::new("t", 0)),
            Err(NoLeader::Leaderless)
        );
        assert_eq!(
            m.leader(&TopicPartition::new("t", 9)),
            Err(NoLeader::UnknownPartition)
        );
        assert_eq!(
            m.leader(&TopicPartition::new("x", 0)),
            Err(NoLeader::UnknownTopic)
        );
    }
}
