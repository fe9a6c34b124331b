//! The range assignor (`range`): for each topic, the partitions in index
//! order are cut into contiguous ranges, one per subscribed member in member
//! order, the first `partitions % members` members getting one extra.
//!
//! Rack awareness (KIP-881): when members and replicas have racks and some
//! partition's replicas are not on every rack, partitions are first matched
//! to members on a replica's rack without breaking the per-topic balance;
//! topics with the same subscribers and partition count are matched
//! partition by partition together so co-partitioning survives; whatever
//! is left is assigned in ranges as usual.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    empty_assignments, finish, member_order, member_rack, use_rack_aware, AssignError, Assignment,
    Assignor, ClusterTopics, Member, RebalanceProtocol,
};
use crate::group::TopicPartition;

pub(super) const NAME: &str = "range";

/// The range assignor. See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

/// One topic's assignment in progress.
struct TopicState<'a> {
    topic: &'a str,
    /// Subscribed members in member order, with their rack.
    consumers: Vec<(&'a str, Option<&'a str>)>,
    /// Racks of each partition's replicas (empty when no subscriber has a
    /// rack).
    partition_racks: BTreeMap<i32, BTreeSet<&'a str>>,
    needs_rack_aware: bool,
    /// Partition indexes not yet assigned, in index order.
    unassigned: Vec<i32>,
    assigned: BTreeMap<&'a str, usize>,
    per_consumer: usize,
    remaining_with_extra: usize,
}

impl<'a> TopicState<'a> {
    fn max_assignable(&self, c: &str) -> usize {
        let extra = usize::from(self.remaining_with_extra > 0);
        (self.per_consumer + extra).saturating_sub(self.assigned.get(c).copied().unwrap_or(0))
    }

    fn racks_match(&self, c: &str, p: i32) -> bool {
        let rack = self
            .consumers
            .iter()
            .find(|(m, _)| *m == c)
            .and_then(|(_, r)| *r);
        match rack {
            None => true,
            Some(r) => self
                .partition_racks
                .get(&p)
                .is_some_and(|rs| rs.contains(r)),
        }
    }

    fn on_assigned(&mut self, c: &'a str, parts: &[i32]) {
        let n = self.assigned.entry(c).or_insert(0);
        *n += parts.len();
        if *n > self.per_consumer {
            self.remaining_with_extra = self.remaining_with_extra.saturating_sub(1);
        }
        self.unassigned.retain(|p| !parts.contains(p));
    }
}

fn assign_to<'a>(
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
    state: &mut TopicState<'a>,
    c: &'a str,
    parts: &[i32],
) {
    if let Some(v) = out.get_mut(c) {
        v.extend(parts.iter().map(|p| TopicPartition::new(state.topic, *p)));
    }
    state.on_assigned(c, parts);
}

/// Ranges in member order; `rack_only` restricts to rack-matching partitions.
fn assign_ranges<'a>(
    state: &mut TopicState<'a>,
    rack_only: bool,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    let consumers = state.consumers.clone();
    for (c, _) in consumers {
        if state.unassigned.is_empty() {
            break;
        }
        let max = state.max_assignable(c);
        let parts: Vec<i32> = state
            .unassigned
            .iter()
            .copied()
            .filter(|p| !rack_only || state.racks_match(c, *p))
            .take(max)
            .collect();
        if !parts.is_empty() {
            assign_to(out, state, c, &parts);
        }
    }
}

/// Co-partitioned topics (same subscribers, same partition count): partition
/// `p` of every topic goes to the first remaining member whose rack matches
/// `p` in all of them and that still has room in all of them.
fn assign_co_partitioned<'a>(
    states: &mut [&mut TopicState<'a>],
    num_partitions: usize,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    let Some(first) = states.first() else { return };
    let mut remaining: Vec<&'a str> = first.consumers.iter().map(|(c, _)| *c).collect();
    for p in 0..num_partitions {
        let p = p as i32;
        let found = remaining.iter().copied().find(|c| {
            states
                .iter()
                .all(|t| t.racks_match(c, p) && t.max_assignable(c) > 0)
        });
        if let Some(c) = found {
            for t in states.iter_mut() {
                assign_to(out, t, c, &[p]);
            }
            if states.iter().all(|t| t.max_assignable(c) == 0) {
                remaining.retain(|x| *x != c);
                if remaining.is_empty() {
                    break;
                }
            }
        }
    }
}

impl Assignor for RangeAssignor {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supported_protocols(&self) -> &'static [RebalanceProtocol] {
        &[RebalanceProtocol::Eager]
    }

    fn assign(
        &self,
        cluster: &ClusterTopics,
        members: &[Member],
    ) -> Result<BTreeMap<String, Assignment>, AssignError> {
        let mut out = empty_assignments(members)?;
        let mut sorted: Vec<&Member> = members.iter().collect();
        sorted.sort_by(|a, b| member_order(a, b));

        let mut states: Vec<TopicState> = Vec::new();
        let subscribed: BTreeSet<&str> = members
            .iter()
            .flat_map(|m| m.subscription.topics.iter().map(String::as_str))
            .collect();
        for topic in subscribed {
            let Some(parts) = cluster.partitions(topic) else {
                continue;
            };
            let consumers: Vec<(&str, Option<&str>)> = sorted
                .iter()
                .filter(|m| m.subscription.topics.iter().any(|t| t == topic))
                .map(|m| (m.member_id.as_str(), member_rack(m)))
                .collect();
            let consumer_racks: BTreeSet<&str> = consumers.iter().filter_map(|(_, r)| *r).collect();
            let mut partition_racks = BTreeMap::new();
            let mut all_partition_racks = BTreeSet::new();
            if !consumer_racks.is_empty() {
                for p in &parts {
                    let racks: BTreeSet<&str> =
                        p.replica_racks.iter().map(String::as_str).collect();
                    all_partition_racks.extend(racks.iter().copied());
                    partition_racks.insert(p.partition, racks);
                }
            }
            let needs_rack_aware = use_rack_aware(
                &consumer_racks,
                &all_partition_racks,
                partition_racks.values().cloned(),
            );
            let n = parts.len();
            let c = consumers.len();
            states.push(TopicState {
                topic,
                per_consumer: n.checked_div(c).unwrap_or(0),
                remaining_with_extra: n.checked_rem(c).unwrap_or(0),
                consumers,
                partition_racks,
                needs_rack_aware,
                unassigned: parts.iter().map(|p| p.partition).collect(),
                assigned: BTreeMap::new(),
            });
        }

        if states.iter().any(|s| s.needs_rack_aware) {
            // Group topics by their subscriber list, then by the number of
            // partitions with rack information (Kafka groups by the size of
            // its partition-racks map, which is 0 for topics whose
            // subscribers have no racks).
            let mut groups: BTreeMap<(Vec<&str>, usize), Vec<usize>> = BTreeMap::new();
            for (i, s) in states.iter().enumerate() {
                let key: Vec<&str> = s.consumers.iter().map(|(c, _)| *c).collect();
                groups
                    .entry((key, s.partition_racks.len()))
                    .or_default()
                    .push(i);
            }
            for ((_, num_partitions), idx) in groups {
                if idx.len() > 1 {
                    let mut group: Vec<&mut TopicState> = states
                        .iter_mut()
                        .enumerate()
                        .filter(|(i, _)| idx.contains(i))
                        .map(|(_, s)| s)
                        .collect();
                    assign_co_partitioned(&mut group, num_partitions, &mut out);
                } else if states[idx[0]].needs_rack_aware {
                    assign_ranges(&mut states[idx[0]], true, &mut out);
                }
            }
        }
        for s in states.iter_mut() {
            assign_ranges(s, false, &mut out);
        }
        Ok(finish(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::assignor::test_support::{member, parts};
    use crate::group::assignor::PartitionInfo;

    #[test]
    fn kafka_doc_example() {
        // RangeAssignor's javadoc: C0 gets t0p0, t0p1, t1p0, t1p1; C1 t0p2, t1p2.
        let cluster = ClusterTopics::without_racks([("t0", 3), ("t1", 3)]);
        let ms = [member("C1", &["t0", "t1"]), member("C0", &["t0", "t1"])];
        let a = RangeAssignor.assign(&cluster, &ms).unwrap();
        assert_eq!(parts(&a, "C0"), ["t0-0", "t0-1", "t1-0", "t1-1"]);
        assert_eq!(parts(&a, "C1"), ["t0-2", "t1-2"]);
    }

    #[test]
    fn static_members_sort_first_by_instance_id() {
        let cluster = ClusterTopics::without_racks([("t", 3)]);
        let mut a = member("a", &["t"]);
        let mut z = member("z", &["t"]);
        z.group_instance_id = Some("i0".into());
        a.group_instance_id = Some("i1".into());
        let out = RangeAssignor
            .assign(&cluster, &[a, z, member("m", &["t"])])
            .unwrap();
        assert_eq!(parts(&out, "z"), ["t-0"]);
        assert_eq!(parts(&out, "a"), ["t-1"]);
        assert_eq!(parts(&out, "m"), ["t-2"]);
    }

    #[test]
    fn rack_matching_keeps_balance() {
        let mut cluster = ClusterTopics::default();
        cluster.topics.insert(
            "t".into(),
            (0..4)
                .map(|p| PartitionInfo {
                    partition: p,
                    replica_racks: vec![if p % 2 == 0 { "r0" } else { "r1" }.into()],
                })
                .collect(),
        );
        let mut m0 = member("m0", &["t"]);
        m0.subscription.rack_id = Some("r1".into());
        let mut m1 = member("m1", &["t"]);
        m1.subscription.rack_id = Some("r0".into());
        let out = RangeAssignor.assign(&cluster, &[m0, m1]).unwrap();
        assert_eq!(parts(&out, "m0"), ["t-1", "t-3"]);
        assert_eq!(parts(&out, "m1"), ["t-0", "t-2"]);
    }

    #[test]
    fn unknown_topics_and_duplicates() {
        let cluster = ClusterTopics::without_racks([("t", 2)]);
        let out = RangeAssignor
            .assign(&cluster, &[member("m", &["t", "missing"])])
            .unwrap();
        assert_eq!(parts(&out, "m"), ["t-0", "t-1"]);
        assert_eq!(
            RangeAssignor.assign(&cluster, &[member("m", &["t"]), member("m", &["t"])]),
            Err(AssignError::DuplicateMember("m".into()))
        );
        assert_eq!(
            RangeAssignor.assign(&cluster, &[]),
            Err(AssignError::NoMembers)
        );
    }
}
