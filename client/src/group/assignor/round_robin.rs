//! The round-robin assignor (`roundrobin`): every partition of every
//! subscribed topic (topics in name order, partitions in index order) is
//! dealt to the next member in member order that subscribes to its topic.
//! With identical subscriptions the counts differ by at most one.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    empty_assignments, finish, member_order, AssignError, Assignment, Assignor, ClusterTopics,
    Member, RebalanceProtocol,
};
use crate::group::{java_cmp, TopicPartition};

pub(super) const NAME: &str = "roundrobin";

/// The round-robin assignor. See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssignor;

impl Assignor for RoundRobinAssignor {
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
        let subs: Vec<BTreeSet<&str>> = sorted
            .iter()
            .map(|m| m.subscription.topics.iter().map(String::as_str).collect())
            .collect();

        let mut topics: Vec<&str> = subs.iter().flatten().copied().collect();
        topics.sort_by(|a, b| java_cmp(a, b));
        topics.dedup();

        // A cursor over the members that wraps around: each partition goes
        // to the first member at or after the cursor subscribed to its topic,
        // and the cursor moves past that member.
        let mut cursor = 0usize;
        for topic in topics {
            let Some(parts) = cluster.partitions(topic) else {
                continue;
            };
            for p in parts {
                let Some(step) =
                    (0..sorted.len()).find(|i| subs[(cursor + i) % sorted.len()].contains(topic))
                else {
                    continue;
                };
                let at = (cursor + step) % sorted.len();
                if let Some(v) = out.get_mut(&sorted[at].member_id) {
                    v.push(TopicPartition::new(topic, p.partition));
                }
                cursor = (at + 1) % sorted.len();
            }
        }
        Ok(finish(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::assignor::test_support::{member, parts};

    #[test]
    fn kafka_doc_examples() {
        // RoundRobinAssignor's javadoc, identical subscriptions.
        let cluster = ClusterTopics::without_racks([("t0", 3), ("t1", 3)]);
        let a = RoundRobinAssignor
            .assign(
                &cluster,
                &[member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])],
            )
            .unwrap();
        assert_eq!(parts(&a, "C0"), ["t0-0", "t0-2", "t1-1"]);
        assert_eq!(parts(&a, "C1"), ["t0-1", "t1-0", "t1-2"]);

        // ...and the unequal one: C2 takes what the others cannot.
        let cluster = ClusterTopics::without_racks([("t0", 1), ("t1", 2), ("t2", 3)]);
        let a = RoundRobinAssignor
            .assign(
                &cluster,
                &[
                    member("C0", &["t0"]),
                    member("C1", &["t0", "t1"]),
                    member("C2", &["t0", "t1", "t2"]),
                ],
            )
            .unwrap();
        assert_eq!(parts(&a, "C0"), ["t0-0"]);
        assert_eq!(parts(&a, "C1"), ["t1-0"]);
        assert_eq!(parts(&a, "C2"), ["t1-1", "t2-0", "t2-1", "t2-2"]);
    }
}
