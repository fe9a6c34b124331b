//! The hand rules `reply_facts` used before the generated response facts,
//! kept (test builds only) as the reference the generated facts are
//! compared with: `super::tests::generated_facts_agree_with_the_hand_rules`.

use std::any::Any;

use kwire::messages::*;
use kwire::{Response, StrBytes, Uuid};

use super::{client_throttles, ReplyFacts, Scope};
use crate::protocol::route::TopicRef;

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
pub fn hand_reply_facts<R: Response + 'static>(resp: &R, version: i16) -> ReplyFacts {
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
