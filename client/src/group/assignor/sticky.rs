//! The cooperative sticky assignor (`cooperative-sticky`).
//!
//! Sticky (KIP-54): the assignment is as balanced as the subscriptions allow
//! and moves as few partitions as possible. Cooperative (KIP-429): a
//! partition that moves from one member to another is only taken from its
//! owner in this rebalance; its new owner gets it in the follow-up rebalance
//! the owner triggers after revoking it, so no partition is ever consumed by
//! two members at once.
//!
//! Ownership claims come from the members' `owned_partitions` and the
//! generation they were assigned in (the subscription's generation, v2+,
//! KIP-792; before that the 4-byte generation this assignor writes into its
//! user data). As in Kafka's `AbstractStickyAssignor`: a partition claimed
//! in two generations belongs to the newer claim; claimed twice in the same
//! generation, it belongs to neither (KIP-341's rule against trusting a
//! stale or corrupt view).
//!
//! Two algorithms, as in Kafka:
//!
//! * **equal subscriptions** (the common case): every member keeps up to its
//!   quota (`⌊P/N⌋` or `⌈P/N⌉`, with exactly `P mod N` members at the upper
//!   one) of what it owns, then the rest is dealt round-robin to members
//!   under quota, in member-id order (rack-matched first when racks are
//!   known, KIP-881). Kafka's own order of visiting members here is its
//!   hash-map order; kwire visits them in member-id order, so the two agree
//!   exactly on a fresh group and on every count, and may pick different
//!   (equally sticky) members when several could take the upper quota.
//! * **different subscriptions**: owned partitions are kept where the owner
//!   still subscribes, the rest is placed hardest-first (fewest possible
//!   owners) on the least-loaded eligible member, then partitions move from
//!   the most to the least loaded eligible member while that narrows the gap
//!   by more than one, newly placed partitions before owned ones.
//!
//! Which partitions are held back this round: any partition given to a
//! member that does not validly own it while another member claims it (or
//! two members claimed it in one generation). This is at least as cautious
//! as Kafka's rule; Kafka's also lets a partition whose owner lost it to a
//! rack mismatch, or one claimed by a stale-generation member, go straight
//! to its new owner.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use super::{
    empty_assignments, finish, member_rack, use_rack_aware, AssignError, Assignment, Assignor,
    ClusterTopics, Member, RebalanceProtocol,
};
use crate::group::{java_cmp, TopicPartition};

pub(super) const NAME: &str = "cooperative-sticky";

/// Kafka's `DEFAULT_GENERATION`.
const NO_GENERATION: i32 = -1;

/// The cooperative sticky assignor. See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CooperativeStickyAssignor;

/// The assignment before and after the cooperative hold-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyOutcome {
    /// Where every partition ends up once revocations are done.
    pub target: BTreeMap<String, Vec<TopicPartition>>,
    /// Partitions held back this round, and the member that gets each in the
    /// follow-up rebalance.
    pub held_back: BTreeMap<TopicPartition, String>,
    /// Whether every member had the same subscription (the quota algorithm).
    pub equal_subscriptions: bool,
}

impl StickyOutcome {
    /// What each member is sent now: the target minus held-back partitions.
    pub fn this_round(&self) -> BTreeMap<String, Vec<TopicPartition>> {
        self.target
            .iter()
            .map(|(m, ps)| {
                let v = ps
                    .iter()
                    .filter(|tp| !self.held_back.contains_key(*tp))
                    .cloned()
                    .collect();
                (m.clone(), v)
            })
            .collect()
    }
}

/// The generation of a member's owned partitions: the subscription's own
/// field (v2+), else this assignor's user data (a big-endian int32, as Kafka
/// writes it); user data too short to hold one counts as no generation,
/// absent user data as unknown.
pub(crate) fn member_generation(m: &Member) -> i32 {
    if let Some(g) = m.subscription.generation_id {
        return g;
    }
    match &m.subscription.user_data {
        None => NO_GENERATION,
        Some(b) if b.len() >= 4 => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        Some(_) => NO_GENERATION,
    }
}

/// Rack facts, used only when Kafka's rule says rack awareness helps.
struct Racks<'a> {
    consumer: BTreeMap<&'a str, &'a str>,
    partition: BTreeMap<TopicPartition, BTreeSet<&'a str>>,
    /// Per partition: how many members sit on one of its replicas' racks.
    consumers_on_racks: BTreeMap<TopicPartition, usize>,
}

impl<'a> Racks<'a> {
    fn new(cluster: &'a ClusterTopics, topics: &BTreeSet<&'a str>, members: &'a [Member]) -> Self {
        let mut by_rack: BTreeMap<&str, usize> = BTreeMap::new();
        let mut consumer = BTreeMap::new();
        for m in members {
            if let Some(r) = member_rack(m) {
                consumer.insert(m.member_id.as_str(), r);
                *by_rack.entry(r).or_insert(0) += 1;
            }
        }
        let none = Racks {
            consumer: BTreeMap::new(),
            partition: BTreeMap::new(),
            consumers_on_racks: BTreeMap::new(),
        };
        if consumer.is_empty() {
            return none;
        }
        let mut partition = BTreeMap::new();
        let mut all = BTreeSet::new();
        for t in topics {
            for p in cluster.partitions(t).unwrap_or_default() {
                let racks: BTreeSet<&str> = p.replica_racks.iter().map(String::as_str).collect();
                all.extend(racks.iter().copied());
                partition.insert(TopicPartition::new(*t, p.partition), racks);
            }
        }
        let consumer_racks: BTreeSet<&str> = consumer.values().copied().collect();
        if !use_rack_aware(&consumer_racks, &all, partition.values().cloned()) {
            return none;
        }
        let consumers_on_racks = partition
            .iter()
            .map(|(tp, rs)| {
                (
                    tp.clone(),
                    rs.iter()
                        .map(|r| by_rack.get(r).copied().unwrap_or(0))
                        .sum(),
                )
            })
            .collect();
        Racks {
            consumer,
            partition,
            consumers_on_racks,
        }
    }

    fn enabled(&self) -> bool {
        !self.consumer.is_empty()
    }

    /// The member has a rack and no replica of `tp` is on it.
    fn mismatch(&self, member: &str, tp: &TopicPartition) -> bool {
        match self.consumer.get(member) {
            None => false,
            Some(r) => !self.partition.get(tp).is_some_and(|rs| rs.contains(r)),
        }
    }

    /// The first member at or after `first` (wrapping) on a rack of `tp`.
    fn next_on_rack(&self, tp: &TopicPartition, list: &[&str], first: usize) -> Option<usize> {
        let racks = self.partition.get(tp).filter(|r| !r.is_empty())?;
        (0..list.len())
            .map(|i| (first + i) % list.len())
            .find(|&i| {
                self.consumer
                    .get(list[i])
                    .is_some_and(|r| racks.contains(r))
            })
    }
}

/// Ownership as the members claim it, after the generation rules.
struct Claims<'a> {
    /// Valid owned partitions per member (existing topics only).
    owned: BTreeMap<&'a str, Vec<TopicPartition>>,
    /// Partitions two members claimed in the same generation.
    contested: BTreeSet<TopicPartition>,
    /// Every member that listed each partition, valid or not.
    claimants: BTreeMap<TopicPartition, BTreeSet<&'a str>>,
}

fn claims<'a>(members: &'a [&'a Member], exists: impl Fn(&TopicPartition) -> bool) -> Claims<'a> {
    let mut owned: BTreeMap<&str, Vec<TopicPartition>> = BTreeMap::new();
    let mut contested = BTreeSet::new();
    let mut claimants: BTreeMap<TopicPartition, BTreeSet<&str>> = BTreeMap::new();
    let mut holder: BTreeMap<TopicPartition, (&str, i32)> = BTreeMap::new();
    for m in members {
        let id = m.member_id.as_str();
        let gen = member_generation(m);
        owned.entry(id).or_default();
        for tp in &m.subscription.owned_partitions {
            if !exists(tp) {
                continue;
            }
            claimants.entry(tp.clone()).or_default().insert(id);
            match holder.get(tp).copied() {
                None => {
                    owned.entry(id).or_default().push(tp.clone());
                    holder.insert(tp.clone(), (id, gen));
                }
                Some((other, other_gen)) if other == id => {
                    let _ = other_gen; // listed twice by one member
                }
                Some((other, other_gen)) => {
                    if gen == other_gen {
                        contested.insert(tp.clone());
                        if let Some(v) = owned.get_mut(other) {
                            v.retain(|x| x != tp);
                        }
                        holder.insert(tp.clone(), (id, gen));
                    } else if gen > other_gen {
                        owned.entry(id).or_default().push(tp.clone());
                        if let Some(v) = owned.get_mut(other) {
                            v.retain(|x| x != tp);
                        }
                        holder.insert(tp.clone(), (id, gen));
                    }
                }
            }
        }
    }
    for tp in &contested {
        for v in owned.values_mut() {
            v.retain(|x| x != tp);
        }
    }
    Claims {
        owned,
        contested,
        claimants,
    }
}

impl CooperativeStickyAssignor {
    /// The full outcome: the target assignment and what is held back.
    pub fn assign_detailed(
        &self,
        cluster: &ClusterTopics,
        members: &[Member],
    ) -> Result<StickyOutcome, AssignError> {
        let empty = empty_assignments(members)?;
        let mut sorted: Vec<&Member> = members.iter().collect();
        sorted.sort_by(|a, b| java_cmp(&a.member_id, &b.member_id));

        let topics: BTreeSet<&str> = members
            .iter()
            .flat_map(|m| m.subscription.topics.iter().map(String::as_str))
            .filter(|t| cluster.partitions(t).is_some())
            .collect();
        let mut all: Vec<TopicPartition> = topics
            .iter()
            .flat_map(|t| {
                cluster
                    .partitions(t)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |p| TopicPartition::new(*t, p.partition))
            })
            .collect();
        all.sort();
        let all_set: BTreeSet<TopicPartition> = all.iter().cloned().collect();
        let claims = claims(&sorted, |tp| all_set.contains(tp));
        let racks = Racks::new(cluster, &topics, members);

        let first: BTreeSet<&str> = sorted[0]
            .subscription
            .topics
            .iter()
            .map(String::as_str)
            .collect();
        let equal = sorted.iter().all(|m| {
            let s: BTreeSet<&str> = m.subscription.topics.iter().map(String::as_str).collect();
            s == first
        });

        let mut target = if equal {
            quota_assign(&sorted, &all, &claims, &racks)?
        } else {
            general_assign(&sorted, &all, &claims, &racks)
        };
        for (m, v) in empty {
            target.entry(m).or_insert(v);
        }
        for v in target.values_mut() {
            v.sort();
        }

        let mut held_back = BTreeMap::new();
        for (m, ps) in &target {
            let own = claims.owned.get(m.as_str());
            for tp in ps {
                if own.is_some_and(|o| o.contains(tp)) {
                    continue;
                }
                let other_claims = claims
                    .claimants
                    .get(tp)
                    .is_some_and(|c| c.iter().any(|x| *x != m.as_str()));
                if other_claims || claims.contested.contains(tp) {
                    held_back.insert(tp.clone(), m.clone());
                }
            }
        }
        Ok(StickyOutcome {
            target,
            held_back,
            equal_subscriptions: equal,
        })
    }
}

/// Equal subscriptions: keep owned partitions within quota, deal the rest.
fn quota_assign(
    members: &[&Member],
    all: &[TopicPartition],
    claims: &Claims,
    racks: &Racks,
) -> Result<BTreeMap<String, Vec<TopicPartition>>, AssignError> {
    let n = members.len();
    let total = all.len();
    let min_q = total / n;
    let max_q = total.div_ceil(n);
    let expected_over = total % n;
    let mut current_over = 0usize;

    let mut asg: BTreeMap<&str, Vec<TopicPartition>> = BTreeMap::new();
    let mut taken: BTreeSet<TopicPartition> = BTreeSet::new();
    let mut under: Vec<&str> = Vec::new();
    let mut exact: VecDeque<&str> = VecDeque::new();

    for m in members {
        let id = m.member_id.as_str();
        let mut owned: Vec<TopicPartition> = claims
            .owned
            .get(id)
            .map(|v| {
                v.iter()
                    .filter(|tp| !racks.mismatch(id, tp))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        // Kafka keeps the lowest partition indexes first, across topics.
        owned.sort_by(|a, b| {
            a.partition
                .cmp(&b.partition)
                .then(java_cmp(&a.topic, &b.topic))
        });
        let keep = if owned.len() < min_q {
            under.push(id);
            owned.len()
        } else if owned.len() >= max_q && current_over < expected_over {
            current_over += 1;
            if current_over == expected_over {
                exact.clear();
            }
            max_q
        } else {
            if current_over < expected_over {
                exact.push_back(id);
            }
            min_q
        };
        owned.truncate(keep);
        taken.extend(owned.iter().cloned());
        asg.insert(id, owned);
    }

    let mut unassigned: Vec<TopicPartition> = all
        .iter()
        .filter(|tp| !taken.contains(*tp))
        .cloned()
        .collect();
    under.sort_by(|a, b| java_cmp(a, b));
    exact.make_contiguous().sort_by(|a, b| java_cmp(a, b));
    if racks.enabled() {
        // Partitions few members can read rack-locally go first (stable).
        unassigned.sort_by_key(|tp| racks.consumers_on_racks.get(tp).copied().unwrap_or(0));

        let mut next = 0usize;
        let mut rest = Vec::with_capacity(unassigned.len());
        for tp in unassigned {
            let mut chosen = None;
            if let Some(mut i) = racks.next_on_rack(&tp, &under, next) {
                let c = under[i];
                let count = asg[c].len() + 1;
                if count >= min_q {
                    under.remove(i);
                    if count < max_q && current_over < expected_over {
                        exact.push_back(c);
                    }
                } else {
                    i += 1;
                }
                next = if under.is_empty() { 0 } else { i % under.len() };
                chosen = Some(c);
            } else if !exact.is_empty() {
                let list: Vec<&str> = exact.iter().copied().collect();
                if let Some(i) = racks.next_on_rack(&tp, &list, 0) {
                    let c = list[i];
                    if asg[c].len() + 1 == max_q {
                        exact.remove(i);
                        current_over += 1;
                        if current_over == expected_over {
                            exact.clear();
                        }
                    }
                    chosen = Some(c);
                }
            }
            match chosen {
                Some(c) => asg.entry(c).or_default().push(tp),
                None => rest.push(tp),
            }
        }
        unassigned = rest;
    }

    let mut cursor = 0usize;
    for tp in unassigned {
        let c = if cursor < under.len() {
            cursor += 1;
            under[cursor - 1]
        } else if under.is_empty() {
            match exact.pop_front() {
                Some(c) => c,
                None => return Err(AssignError::Internal("no member left under its quota")),
            }
        } else {
            cursor = 1;
            under[0]
        };
        let v = asg.entry(c).or_default();
        v.push(tp);
        let count = v.len();
        if count == min_q {
            if cursor > 0 && under.get(cursor - 1) == Some(&c) {
                cursor -= 1;
                under.remove(cursor);
            }
            exact.push_back(c);
        }
    }
    Ok(asg.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Different subscriptions: keep, place hardest-first, then even out.
fn general_assign(
    members: &[&Member],
    all: &[TopicPartition],
    claims: &Claims,
    racks: &Racks,
) -> BTreeMap<String, Vec<TopicPartition>> {
    // Members by index in member-id order (`members` is sorted); per topic,
    // the indexes that may take it, computed once.
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    let mut eligible: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        for t in &m.subscription.topics {
            let v = eligible.entry(t.as_str()).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }
    let no_one: Vec<usize> = Vec::new();
    let who = |topic: &str| eligible.get(topic).unwrap_or(&no_one);
    let owned: Vec<BTreeSet<&TopicPartition>> = ids
        .iter()
        .map(|m| {
            claims
                .owned
                .get(m)
                .map(|v| v.iter().collect())
                .unwrap_or_default()
        })
        .collect();

    let mut asg: Vec<Vec<TopicPartition>> = vec![Vec::new(); ids.len()];
    let mut taken = BTreeSet::new();
    for (i, own) in owned.iter().enumerate() {
        for tp in own {
            if who(&tp.topic).contains(&i) && taken.insert((*tp).clone()) {
                asg[i].push((*tp).clone());
            }
        }
    }

    let mut todo: Vec<(usize, &TopicPartition)> = all
        .iter()
        .filter(|tp| !taken.contains(*tp))
        .map(|tp| (who(&tp.topic).len(), tp))
        .filter(|(n, _)| *n > 0)
        .collect();
    todo.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    for (_, tp) in todo {
        let best = who(&tp.topic)
            .iter()
            .copied()
            .min_by_key(|m| (asg[*m].len(), racks.mismatch(ids[*m], tp)));
        if let Some(m) = best {
            asg[m].push(tp.clone());
        }
    }

    // Even out: a move from A to an eligible B with |B| + 1 < |A| lowers
    // the sum of squared counts, so this ends. Each pass takes the members
    // from the most loaded down and moves from each while it can, newly
    // placed partitions before owned ones, to the least loaded eligible
    // member (the first in member-id order among equals).
    loop {
        let mut by_load: Vec<usize> = (0..ids.len()).collect();
        by_load.sort_by(|a, b| asg[*b].len().cmp(&asg[*a].len()).then(a.cmp(b)));
        let mut moved = false;
        for a in by_load {
            let mut candidates = std::mem::take(&mut asg[a]);
            candidates.sort_by(|x, y| {
                owned[a]
                    .contains(x)
                    .cmp(&owned[a].contains(y))
                    .then(x.cmp(y))
            });
            let mut keep = Vec::with_capacity(candidates.len());
            let mut load_a = candidates.len();
            for tp in candidates {
                let target = who(&tp.topic)
                    .iter()
                    .copied()
                    .filter(|b| *b != a)
                    .min_by_key(|b| asg[*b].len());
                match target {
                    Some(b) if asg[b].len() + 1 < load_a => {
                        asg[b].push(tp);
                        load_a -= 1;
                        moved = true;
                    }
                    _ => keep.push(tp),
                }
            }
            asg[a] = keep;
        }
        if !moved {
            break;
        }
    }
    ids.iter()
        .zip(asg)
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

impl Assignor for CooperativeStickyAssignor {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supported_protocols(&self) -> &'static [RebalanceProtocol] {
        &[RebalanceProtocol::Cooperative, RebalanceProtocol::Eager]
    }

    /// The generation as a big-endian int32: what Kafka's assignor writes,
    /// so a leader on a pre-v2 subscription still learns it.
    fn subscription_user_data(&self, generation: i32) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&generation.to_be_bytes()))
    }

    fn assign(
        &self,
        cluster: &ClusterTopics,
        members: &[Member],
    ) -> Result<BTreeMap<String, Assignment>, AssignError> {
        Ok(finish(self.assign_detailed(cluster, members)?.this_round()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::assignor::Subscription;

    fn member(id: &str, topics: &[&str], owned: &[(&str, i32)], gen: Option<i32>) -> Member {
        Member {
            member_id: id.into(),
            group_instance_id: None,
            subscription: Subscription {
                topics: topics.iter().map(|t| t.to_string()).collect(),
                owned_partitions: owned
                    .iter()
                    .map(|(t, p)| TopicPartition::new(*t, *p))
                    .collect(),
                generation_id: gen,
                ..Default::default()
            },
        }
    }

    fn count(o: &StickyOutcome, m: &str) -> usize {
        o.target[m].len()
    }

    #[test]
    fn fresh_group_is_dealt_in_member_order() {
        let cluster = ClusterTopics::without_racks([("t", 5)]);
        let ms = [
            member("b", &["t"], &[], None),
            member("a", &["t"], &[], None),
        ];
        let o = CooperativeStickyAssignor
            .assign_detailed(&cluster, &ms)
            .unwrap();
        assert!(o.equal_subscriptions);
        assert!(o.held_back.is_empty());
        let show = |m: &str| {
            o.target[m]
                .iter()
                .map(|tp| tp.partition)
                .collect::<Vec<_>>()
        };
        assert_eq!(show("a"), [0, 2, 4]);
        assert_eq!(show("b"), [1, 3]);
    }

    #[test]
    fn a_new_member_gets_moved_partitions_only_next_round() {
        let cluster = ClusterTopics::without_racks([("t", 4)]);
        let ms = [
            member(
                "a",
                &["t"],
                &[("t", 0), ("t", 1), ("t", 2), ("t", 3)],
                Some(3),
            ),
            member("b", &["t"], &[], Some(-1)),
        ];
        let o = CooperativeStickyAssignor
            .assign_detailed(&cluster, &ms)
            .unwrap();
        assert_eq!(count(&o, "a"), 2);
        assert_eq!(count(&o, "b"), 2);
        // a keeps 0 and 1; 2 and 3 move to b, held back this round
        assert_eq!(o.held_back.len(), 2);
        let now = o.this_round();
        assert_eq!(now["a"].len(), 2);
        assert!(now["b"].is_empty());

        // the follow-up: a no longer claims 2 and 3
        let ms = [
            member("a", &["t"], &[("t", 0), ("t", 1)], Some(4)),
            member("b", &["t"], &[], Some(4)),
        ];
        let o = CooperativeStickyAssignor
            .assign_detailed(&cluster, &ms)
            .unwrap();
        assert!(o.held_back.is_empty());
        assert_eq!(o.target["b"].len(), 2);
        assert_eq!(
            o.target["a"],
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)]
        );
    }

    #[test]
    fn generations_decide_conflicting_claims() {
        let cluster = ClusterTopics::without_racks([("t", 2)]);
        // b's claim is newer: t-0 is b's; a (stale) cannot keep it.
        let ms = [
            member("a", &["t"], &[("t", 0)], Some(1)),
            member("b", &["t"], &[("t", 0)], Some(2)),
        ];
        let o = CooperativeStickyAssignor
            .assign_detailed(&cluster, &ms)
            .unwrap();
        assert_eq!(o.target["b"], vec![TopicPartition::new("t", 0)]);
        assert!(o.held_back.is_empty());
        // same generation: nobody owns it, and whoever gets it waits a round
        let ms = [
            member("a", &["t"], &[("t", 0)], Some(2)),
            member("b", &["t"], &[("t", 0)], Some(2)),
        ];
        let o = CooperativeStickyAssignor
            .assign_detailed(&cluster, &ms)
            .unwrap();
        assert_eq!(
            o.held_back.keys().cloned().collect::<Vec<_>>(),
            vec![TopicPartition::new("t", 0)]
        );
    }

    #[test]
    fn user_data_generation_for_old_subscriptions() {
        let mut m = member("a", &["t"], &[], None);
        assert_eq!(member_generation(&m), -1);
        m.subscription.user_data = CooperativeStickyAssignor.subscription_user_data(9);
        assert_eq!(member_generation(&m), 9);
        m.subscription.user_data = Some(Bytes::from_static(b"\x01"));
        assert_eq!(member_generation(&m), -1);
        m.subscription.generation_id = Some(4);
        assert_eq!(member_generation(&m), 4);
    }

    #[test]
    fn unequal_subscriptions_balance_where_they_can() {
        let cluster = ClusterTopics::without_racks([("x", 6), ("y", 2)]);
        let ms = [
            member(
                "a",
                &["x", "y"],
                &[("x", 0), ("x", 1), ("x", 2), ("x", 3), ("x", 4), ("x", 5)],
                Some(1),
            ),
            member("b", &["y"], &[], Some(1)),
            member("c", &["x"], &[], Some(1)),
        ];
        let o = CooperativeStickyAssignor
            .assign_detailed(&cluster, &ms)
            .unwrap();
        assert!(!o.equal_subscriptions);
        let counts: Vec<usize> = ["a", "b", "c"].iter().map(|m| count(&o, m)).collect();
        assert_eq!(counts.iter().sum::<usize>(), 8);
        assert!(
            counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1,
            "{counts:?}"
        );
        // everything c gets came from a: held back
        assert!(o.target["c"].iter().all(|tp| o.held_back.contains_key(tp)));
    }
}
