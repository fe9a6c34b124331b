//! What a response says the client must do next, whatever the API: how long
//! to leave the broker alone (KIP-219), which error codes it carries and
//! where they apply, and which leaders it reports (KIP-951).
//!
//! Read through facts generated from each response's schema
//! ([`kwire::facts::ResponseFacts`]): its `ThrottleTimeMs` and a walk over
//! every `ErrorCode` with where it sits (decided from the schema's
//! `entityType`s, topic ids, partition indexes and nesting) and the
//! `CurrentLeader` beside Produce and Fetch partition errors. No `Any`
//! downcasts and no per-API lists: an API gets its facts from its schema.
//! What stays by hand is [`client_throttles`], which the schemas state only
//! in prose.

use kwire::facts::{ErrorFact, ErrorSite, TopicIdent};
use kwire::{ApiKey, ErrorCode, Response};

use super::route::{TopicPartition, TopicRef};

/// Where an error code applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole request (a top-level error code).
    Request,
    /// One partition.
    Partition(TopicPartition),
    /// One topic (admin APIs).
    Topic(TopicRef),
    /// One group or transactional id (batched coordinator APIs).
    Key(String),
    /// An entry of another kind, by its schema struct's name: a config
    /// resource, an ACL, a quota entity, a group member, a coordinator
    /// key (batched FindCoordinator), a log directory, ...
    Entry(&'static str),
}

/// One error code of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedError {
    pub scope: Scope,
    pub code: ErrorCode,
}

/// A partition's current leader, as a Produce or Fetch error reports it
/// (KIP-951), so the client can move without a metadata round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderHint {
    pub partition: TopicPartition,
    pub leader_id: i32,
    pub leader_epoch: i32,
}

/// What one response says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplyFacts {
    /// How long the broker asked not to be sent anything, when the client
    /// must do the waiting at this version ([`client_throttles`]).
    pub throttle_ms: Option<u32>,
    /// Every error code other than NONE, with where it applies.
    pub errors: Vec<ScopedError>,
    /// Entries that succeeded: partitions, topics or keys, or the request
    /// itself for APIs whose only code is the top-level one.
    pub ok: usize,
    pub leader_hints: Vec<LeaderHint>,
}

impl ReplyFacts {
    fn code(&mut self, scope: Scope, code: i16) {
        if code == ErrorCode::NONE.0 {
            self.ok += 1;
        } else {
            self.errors.push(ScopedError {
                scope,
                code: ErrorCode(code),
            });
        }
    }

    /// A request-level code next to per-entry ones: an error counts, a
    /// NONE does not count as a success (the entries say what succeeded).
    fn top(&mut self, code: i16) {
        if code != ErrorCode::NONE.0 {
            self.errors.push(ScopedError {
                scope: Scope::Request,
                code: ErrorCode(code),
            });
        }
    }

    fn partition(&mut self, topic: TopicRef, partition: i32, code: i16) {
        self.code(Scope::Partition(TopicPartition { topic, partition }), code);
    }

    /// A partition of a Produce or Fetch response, whose error carries the
    /// current leader (KIP-951; a leader id below 0 means "no hint").
    fn led_partition(&mut self, topic: TopicRef, partition: i32, code: i16, leader: (i32, i32)) {
        let tp = TopicPartition { topic, partition };
        let (leader_id, leader_epoch) = leader;
        if code != ErrorCode::NONE.0 && leader_id >= 0 && leader_epoch >= 0 {
            self.leader_hints.push(LeaderHint {
                partition: tp.clone(),
                leader_id,
                leader_epoch,
            });
        }
        self.code(Scope::Partition(tp), code);
    }

    /// Whether any error is one of `codes`.
    pub fn any(&self, codes: &[ErrorCode]) -> bool {
        self.errors.iter().any(|e| codes.contains(&e.code))
    }
}

/// Whether the client must wait out `throttle_time_ms` itself at this
/// version. Before KIP-219 (Kafka 2.0) a broker delayed its response
/// instead; each API says from which version it answers first and lets the
/// client wait (the versions are those of Java's `shouldClientThrottle`,
/// stated in each response schema). APIs added after 2.0 always do.
pub fn client_throttles(api: ApiKey, version: i16) -> bool {
    let from = match api {
        ApiKey::PRODUCE | ApiKey::METADATA => 6,
        ApiKey::FETCH => 8,
        ApiKey::LIST_OFFSETS | ApiKey::JOIN_GROUP | ApiKey::CREATE_TOPICS => 3,
        ApiKey::OFFSET_COMMIT | ApiKey::OFFSET_FETCH => 4,
        ApiKey::FIND_COORDINATOR
        | ApiKey::HEARTBEAT
        | ApiKey::LEAVE_GROUP
        | ApiKey::SYNC_GROUP
        | ApiKey::DESCRIBE_GROUPS
        | ApiKey::LIST_GROUPS
        | ApiKey::API_VERSIONS
        | ApiKey::DELETE_TOPICS
        | ApiKey::DESCRIBE_CONFIGS => 2,
        ApiKey::DELETE_RECORDS
        | ApiKey::INIT_PRODUCER_ID
        | ApiKey::ADD_PARTITIONS_TO_TXN
        | ApiKey::ADD_OFFSETS_TO_TXN
        | ApiKey::END_TXN
        | ApiKey::TXN_OFFSET_COMMIT
        | ApiKey::DESCRIBE_ACLS
        | ApiKey::CREATE_ACLS
        | ApiKey::DELETE_ACLS
        | ApiKey::ALTER_CONFIGS
        | ApiKey::ALTER_REPLICA_LOG_DIRS
        | ApiKey::DESCRIBE_LOG_DIRS
        | ApiKey::CREATE_PARTITIONS
        | ApiKey::CREATE_DELEGATION_TOKEN
        | ApiKey::RENEW_DELEGATION_TOKEN
        | ApiKey::EXPIRE_DELEGATION_TOKEN
        | ApiKey::DESCRIBE_DELEGATION_TOKEN
        | ApiKey::DELETE_GROUPS => 1,
        _ => 0,
    };
    version >= from
}

fn topic(t: TopicIdent<'_>) -> TopicRef {
    match (t.name, t.id) {
        (Some(name), _) if !name.is_empty() => TopicRef::Name(name.to_string()),
        (_, Some(id)) if !id.is_zero() => TopicRef::Id(id),
        (name, _) => TopicRef::Name(name.unwrap_or_default().to_string()),
    }
}

impl ReplyFacts {
    /// One error code as the generated walk reports it.
    fn add(&mut self, e: ErrorFact<'_>) {
        let code = e.code.0;
        match e.site {
            ErrorSite::Request { alone: true } => self.code(Scope::Request, code),
            ErrorSite::Request { alone: false } => self.top(code),
            ErrorSite::Partition {
                topic: t,
                partition,
            } => match e.leader {
                Some(leader) => self.led_partition(topic(t), partition, code, leader),
                None => self.partition(topic(t), partition, code),
            },
            ErrorSite::Topic(t) => self.code(Scope::Topic(topic(t)), code),
            ErrorSite::Key { key, .. } => self.code(Scope::Key(key.to_string()), code),
            ErrorSite::Entry(kind) => self.code(Scope::Entry(kind), code),
        }
    }
}

/// What `resp`, received at `version`, says.
pub fn reply_facts<R: Response>(resp: &R, version: i16) -> ReplyFacts {
    let mut f = ReplyFacts::default();
    if let Some(ms) = resp.throttle_time_ms(version) {
        if ms > 0 && client_throttles(R::API_KEY, version) {
            f.throttle_ms = Some(ms as u32);
        }
    }
    resp.errors(version, &mut |e| f.add(e));
    f
}

#[cfg(test)]
mod hand;

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
    use kwire::messages::*;

    #[test]
    fn throttle_only_where_the_client_waits() {
        let mut m = MetadataResponse::default();
        m.throttle_time_ms = 250;
        assert_eq!(reply_facts(&m, 6).throttle_ms, Some(250));
        // Before v6 the broker delayed the response itself.
        assert_eq!(reply_facts(&m, 5).throttle_ms, None);
        m.throttle_time_ms = 0;
        assert_eq!(reply_facts(&m, 12).throttle_ms, None);
        let mut d = DescribeClusterResponse::default();
        d.throttle_time_ms = 10;
        assert_eq!(reply_facts(&d, 0).throttle_ms, Some(10));
        assert!(client_throttles(ApiKey::FETCH, 8) && !client_throttles(ApiKey::FETCH, 7));
    }

    #[test]
    fn partition_errors_and_kip_951_hints() {
        let mut r = ProduceResponse::default();
        let mut t = TopicProduceResponse::default();
        t.name = "t".into();
        for (i, code) in [(0, 0), (1, ErrorCode::NOT_LEADER_OR_FOLLOWER.0)] {
            let mut p = PartitionProduceResponse::default();
            p.index = i;
            p.error_code = code;
            if code != 0 {
                p.current_leader.leader_id = 3;
                p.current_leader.leader_epoch = 7;
            }
            t.partition_responses.push(p);
        }
        r.responses.push(t);
        let f = reply_facts(&r, 10);
        assert_eq!(f.ok, 1);
        assert_eq!(
            f.errors,
            vec![ScopedError {
                scope: Scope::Partition(TopicPartition::new("t", 1)),
                code: ErrorCode::NOT_LEADER_OR_FOLLOWER
            }]
        );
        assert_eq!(
            f.leader_hints,
            vec![LeaderHint {
                partition: TopicPartition::new("t", 1),
                leader_id: 3,
                leader_epoch: 7
            }]
        );
        assert!(f.any(&[ErrorCode::NOT_LEADER_OR_FOLLOWER]));
    }

    #[test]
    fn top_level_errors() {
        let mut e = EndTxnResponse::default();
        e.error_code = ErrorCode::NOT_COORDINATOR.0;
        let f = reply_facts(&e, 4);
        assert_eq!(f.errors[0].scope, Scope::Request);
        assert_eq!(f.errors[0].code, ErrorCode::NOT_COORDINATOR);
        let ok = reply_facts(&InitProducerIdResponse::default(), 4);
        assert!(ok.errors.is_empty());
        assert_eq!(ok.ok, 1);
    }

    /// The generated facts against the hand rules they replace, on
    /// arbitrary values of every response the hand rules read, at every
    /// version: the throttle time and the leader hints are the same, and
    /// every error the hand rules found is found with the same scope. What
    /// the generated facts find beyond that is counted and printed.
    #[test]
    fn generated_facts_agree_with_the_hand_rules() {
        use kwire::testing::{Gen, Generate};
        use std::collections::BTreeMap;

        #[derive(Default, Debug)]
        struct Diff {
            values: usize,
            more_errors: usize,
            ok_differs: usize,
            more_hints: usize,
            examples: Vec<String>,
        }

        fn key(e: &ScopedError) -> String {
            format!("{:?} {}", e.scope, e.code.0)
        }

        fn compare<R: Response + Generate + 'static>(out: &mut BTreeMap<&'static str, Diff>) {
            for v in R::VERSIONS.min..=R::VERSIONS.max {
                for seed in 0..60u64 {
                    let mut g = Gen::new(seed << 24 ^ (R::API_KEY.0 as u64) << 8 ^ v as u64);
                    let r = R::generate(&mut g, R::cx(v));
                    let old = hand::hand_reply_facts(&r, v);
                    let new = reply_facts(&r, v);
                    let what = format!("{} v{v} seed {seed}", R::NAME);
                    assert_eq!(old.throttle_ms, new.throttle_ms, "{what}: throttle");
                    let d = out.entry(R::NAME).or_default();
                    if old.leader_hints != new.leader_hints {
                        assert!(
                            old.leader_hints.is_empty(),
                            "{what}: leader hints {:?} -> {:?}",
                            old.leader_hints,
                            new.leader_hints
                        );
                        d.more_hints += 1;
                    }
                    let mut extra: Vec<String> = new.errors.iter().map(key).collect();
                    for e in &old.errors {
                        let k = key(e);
                        let Some(i) = extra.iter().position(|x| *x == k) else {
                            panic!(
                                "{what}: the generated facts lost {k}\n old {old:?}\n new {new:?}"
                            );
                        };
                        extra.remove(i);
                    }
                    d.values += 1;
                    if !extra.is_empty() {
                        d.more_errors += 1;
                        if d.examples.len() < 3 {
                            d.examples.push(format!("v{v}: {}", extra.join(", ")));
                        }
                    }
                    if old.ok != new.ok {
                        d.ok_differs += 1;
                        if d.examples.len() < 3 {
                            d.examples
                                .push(format!("v{v}: ok {} -> {}", old.ok, new.ok));
                        }
                    }
                }
            }
        }

        macro_rules! compare_all {
            ($($t:ident),* $(,)?) => {{
                let mut out = BTreeMap::new();
                $(compare::<$t>(&mut out);)*
                out
            }};
        }
        let out = compare_all!(
            AddOffsetsToTxnResponse,
            AddPartitionsToTxnResponse,
            AddRaftVoterResponse,
            AllocateProducerIdsResponse,
            AlterClientQuotasResponse,
            AlterConfigsResponse,
            AlterPartitionReassignmentsResponse,
            AlterPartitionResponse,
            AlterReplicaLogDirsResponse,
            AlterShareGroupOffsetsResponse,
            AlterUserScramCredentialsResponse,
            ApiVersionsResponse,
            AssignReplicasToDirsResponse,
            BrokerHeartbeatResponse,
            BrokerRegistrationResponse,
            ConsumerGroupDescribeResponse,
            ConsumerGroupHeartbeatResponse,
            ControllerRegistrationResponse,
            CreateAclsResponse,
            CreateDelegationTokenResponse,
            CreatePartitionsResponse,
            CreateTopicsResponse,
            DeleteAclsResponse,
            DeleteGroupsResponse,
            DeleteRecordsResponse,
            DeleteShareGroupOffsetsResponse,
            DeleteTopicsResponse,
            DescribeAclsResponse,
            DescribeClientQuotasResponse,
            DescribeClusterResponse,
            DescribeConfigsResponse,
            DescribeDelegationTokenResponse,
            DescribeGroupsResponse,
            DescribeLogDirsResponse,
            DescribeProducersResponse,
            DescribeShareGroupOffsetsResponse,
            DescribeTopicPartitionsResponse,
            DescribeTransactionsResponse,
            DescribeUserScramCredentialsResponse,
            ElectLeadersResponse,
            EndTxnResponse,
            ExpireDelegationTokenResponse,
            FetchResponse,
            FetchSnapshotResponse,
            FindCoordinatorResponse,
            GetTelemetrySubscriptionsResponse,
            HeartbeatResponse,
            IncrementalAlterConfigsResponse,
            InitProducerIdResponse,
            JoinGroupResponse,
            LeaveGroupResponse,
            ListConfigResourcesResponse,
            ListGroupsResponse,
            ListOffsetsResponse,
            ListPartitionReassignmentsResponse,
            ListTransactionsResponse,
            MetadataResponse,
            OffsetCommitResponse,
            OffsetDeleteResponse,
            OffsetFetchResponse,
            OffsetForLeaderEpochResponse,
            ProduceResponse,
            PushTelemetryResponse,
            RemoveRaftVoterResponse,
            RenewDelegationTokenResponse,
            ShareAcknowledgeResponse,
            ShareFetchResponse,
            ShareGroupDescribeResponse,
            ShareGroupHeartbeatResponse,
            StreamsGroupDescribeResponse,
            StreamsGroupHeartbeatResponse,
            StreamsGroupTopologyDescriptionUpdateResponse,
            SyncGroupResponse,
            TxnOffsetCommitResponse,
            UnregisterBrokerResponse,
            UnregisterControllerResponse,
            UpdateFeaturesResponse,
            UpdateRaftVoterResponse
        );
        // Where the hand rules read every error code the schema has, the
        // generated facts are the same in every value: errors, scopes,
        // successes and hints.
        let same = [
            "ProduceResponse",
            "FetchResponse",
            "ListOffsetsResponse",
            "OffsetForLeaderEpochResponse",
            "DeleteRecordsResponse",
            "OffsetCommitResponse",
            "OffsetFetchResponse",
            "TxnOffsetCommitResponse",
            "OffsetDeleteResponse",
            "DescribeGroupsResponse",
            "DeleteGroupsResponse",
            "ConsumerGroupDescribeResponse",
            "DescribeTransactionsResponse",
            "AddPartitionsToTxnResponse",
            "CreateTopicsResponse",
            "DeleteTopicsResponse",
            "CreatePartitionsResponse",
            "JoinGroupResponse",
            "HeartbeatResponse",
            "SyncGroupResponse",
            "ConsumerGroupHeartbeatResponse",
            "InitProducerIdResponse",
            "AddOffsetsToTxnResponse",
            "EndTxnResponse",
            "DescribeClusterResponse",
        ];
        for (name, d) in &out {
            let differs = d.more_errors + d.ok_differs + d.more_hints > 0;
            assert_eq!(differs, !same.contains(name), "{name}: {d:?}");
            if differs {
                eprintln!("{name}: {d:?}");
            }
        }
        assert_eq!(out.len(), 78);
    }
}
