//! What a response says the client must do next, whatever the API: how long
//! to leave the broker alone (KIP-219), which error codes it carries and
//! where they apply, and which leaders it reports (KIP-951).
//!
//! Read by the response's concrete type at run time, like
//! [`super::facts`]; facts generated from the schemas replace these hand
//! rules behind the same function ([`reply_facts`]).

use std::any::Any;

use kwire::messages::*;
use kwire::{ApiKey, ErrorCode, Response, StrBytes, Uuid};

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

/// `throttle_time_ms` of any response that has one.
fn throttle_time_ms(any: &dyn Any) -> Option<i32> {
    macro_rules! throttled {
        ($($t:ty),* $(,)?) => {
            $(if let Some(r) = any.downcast_ref::<$t>() {
                return Some(r.throttle_time_ms);
            })*
        };
    }
    throttled!(
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
        UpdateRaftVoterResponse,
    );
    None
}

fn topic(name: &StrBytes, id: &Uuid) -> TopicRef {
    if name.is_empty() && !id.is_zero() {
        TopicRef::Id(*id)
    } else {
        TopicRef::Name(name.to_string())
    }
}

fn named(name: &StrBytes) -> TopicRef {
    TopicRef::Name(name.to_string())
}

/// The errors of the APIs the cluster layer routes, by concrete type.
fn errors(any: &dyn Any, f: &mut ReplyFacts) {
    if let Some(r) = any.downcast_ref::<ProduceResponse>() {
        for t in &r.responses {
            for p in &t.partition_responses {
                let l = &p.current_leader;
                let at = topic(&t.name, &t.topic_id);
                f.led_partition(at, p.index, p.error_code, (l.leader_id, l.leader_epoch));
            }
        }
    } else if let Some(r) = any.downcast_ref::<FetchResponse>() {
        f.top(r.error_code);
        for t in &r.responses {
            for p in &t.partitions {
                let l = &p.current_leader;
                let at = topic(&t.topic, &t.topic_id);
                f.led_partition(
                    at,
                    p.partition_index,
                    p.error_code,
                    (l.leader_id, l.leader_epoch),
                );
            }
        }
    } else if let Some(r) = any.downcast_ref::<ListOffsetsResponse>() {
        for t in &r.topics {
            for p in &t.partitions {
                f.partition(named(&t.name), p.partition_index, p.error_code);
            }
        }
    } else if let Some(r) = any.downcast_ref::<OffsetForLeaderEpochResponse>() {
        for t in &r.topics {
            for p in &t.partitions {
                f.partition(named(&t.topic), p.partition, p.error_code);
            }
        }
    } else if let Some(r) = any.downcast_ref::<DeleteRecordsResponse>() {
        for t in &r.topics {
            for p in &t.partitions {
                f.partition(named(&t.name), p.partition_index, p.error_code);
            }
        }
    } else if let Some(r) = any.downcast_ref::<OffsetCommitResponse>() {
        for t in &r.topics {
            for p in &t.partitions {
                f.partition(topic(&t.name, &t.topic_id), p.partition_index, p.error_code);
            }
        }
    } else if let Some(r) = any.downcast_ref::<OffsetFetchResponse>() {
        f.top(r.error_code);
        for t in &r.topics {
            for p in &t.partitions {
                f.partition(named(&t.name), p.partition_index, p.error_code);
            }
        }
        for g in &r.groups {
            f.code(Scope::Key(g.group_id.to_string()), g.error_code);
            for t in &g.topics {
                for p in &t.partitions {
                    f.partition(topic(&t.name, &t.topic_id), p.partition_index, p.error_code);
                }
            }
        }
    } else if let Some(r) = any.downcast_ref::<TxnOffsetCommitResponse>() {
        for t in &r.topics {
            for p in &t.partitions {
                f.partition(topic(&t.name, &t.topic_id), p.partition_index, p.error_code);
            }
        }
    } else if let Some(r) = any.downcast_ref::<OffsetDeleteResponse>() {
        f.top(r.error_code);
        for t in &r.topics {
            for p in &t.partitions {
                f.partition(named(&t.name), p.partition_index, p.error_code);
            }
        }
    } else if let Some(r) = any.downcast_ref::<DescribeGroupsResponse>() {
        for g in &r.groups {
            f.code(Scope::Key(g.group_id.to_string()), g.error_code);
        }
    } else if let Some(r) = any.downcast_ref::<DeleteGroupsResponse>() {
        for g in &r.results {
            f.code(Scope::Key(g.group_id.to_string()), g.error_code);
        }
    } else if let Some(r) = any.downcast_ref::<ConsumerGroupDescribeResponse>() {
        for g in &r.groups {
            f.code(Scope::Key(g.group_id.to_string()), g.error_code);
        }
    } else if let Some(r) = any.downcast_ref::<DescribeTransactionsResponse>() {
        for t in &r.transaction_states {
            f.code(Scope::Key(t.transactional_id.to_string()), t.error_code);
        }
    } else if let Some(r) = any.downcast_ref::<AddPartitionsToTxnResponse>() {
        f.top(r.error_code);
        for t in &r.results_by_topic_v3_and_below {
            for p in &t.results_by_partition {
                f.partition(named(&t.name), p.partition_index, p.partition_error_code);
            }
        }
        for x in &r.results_by_transaction {
            for t in &x.topic_results {
                for p in &t.results_by_partition {
                    f.partition(named(&t.name), p.partition_index, p.partition_error_code);
                }
            }
        }
    } else if let Some(r) = any.downcast_ref::<CreateTopicsResponse>() {
        for t in &r.topics {
            f.code(Scope::Topic(named(&t.name)), t.error_code);
        }
    } else if let Some(r) = any.downcast_ref::<DeleteTopicsResponse>() {
        for t in &r.responses {
            let name = t.name.clone().unwrap_or_default();
            f.code(Scope::Topic(topic(&name, &t.topic_id)), t.error_code);
        }
    } else if let Some(r) = any.downcast_ref::<CreatePartitionsResponse>() {
        for t in &r.results {
            f.code(Scope::Topic(named(&t.name)), t.error_code);
        }
    } else {
        single_error(any, f);
    }
}

/// APIs whose only error code is the top-level one.
fn single_error(any: &dyn Any, f: &mut ReplyFacts) {
    macro_rules! top_level {
        ($($t:ty),* $(,)?) => {
            $(if let Some(r) = any.downcast_ref::<$t>() {
                f.code(Scope::Request, r.error_code);
                return;
            })*
        };
    }
    top_level!(
        JoinGroupResponse,
        HeartbeatResponse,
        LeaveGroupResponse,
        SyncGroupResponse,
        ConsumerGroupHeartbeatResponse,
        InitProducerIdResponse,
        AddOffsetsToTxnResponse,
        EndTxnResponse,
        MetadataResponse,
        FindCoordinatorResponse,
        DescribeClusterResponse,
    );
}

/// What `resp`, received at `version`, says.
pub fn reply_facts<R: Response + 'static>(resp: &R, version: i16) -> ReplyFacts {
    let any = resp as &dyn Any;
    let mut f = ReplyFacts::default();
    if let Some(ms) = throttle_time_ms(any) {
        if ms > 0 && client_throttles(R::API_KEY, version) {
            f.throttle_ms = Some(ms as u32);
        }
    }
    errors(any, &mut f);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};

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
}
