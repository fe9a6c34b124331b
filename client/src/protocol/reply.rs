//! What a response says the client must do next, whatever the API: how long
//! to leave the broker alone (KIP-219), which error codes it carries and
//! where they apply, and which leaders it reports (KIP-951).
//!
//! Read through facts generated from each response's schema
//! ([`kwire::facts::ResponseFacts`]): its `ThrottleTimeMs` and a walk over
//! every `ErrorCode` with where it sits (decided from the schema's
//! `entityType`s, topic ids, partition indexes and nesting) and the
//! `CurrentLeader` beside partition errors (Produce and Fetch, KIP-951;
//! ShareFetch and ShareAcknowledge, KIP-932; KRaft's FetchSnapshot). No `Any`
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
/// (KIP-951; ShareFetch and ShareAcknowledge too, KIP-932), so the client
/// can move without a metadata round trip.
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
    /// Entries that succeeded: partitions, topics, keys or other entries,
    /// or the request itself at versions where its top-level code is the
    /// response's only one.
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

    /// A partition whose error carries the current leader (KIP-951; a
    /// leader id below 0 means "no hint").
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
/// client wait (the versions are those of Java's `shouldClientThrottle`).
/// APIs added after 2.0 always do. Kept by hand: each response schema
/// states it only in a comment ("Starting in version N, on quota
/// violation, brokers send out responses before throttling"), not in a
/// field the generator could read.
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

    #[test]
    fn metadata_topic_and_partition_errors() {
        use kwire::messages::metadata_response::{
            MetadataResponsePartition, MetadataResponseTopic,
        };
        let mut m = MetadataResponse::default();
        let mut t = MetadataResponseTopic::default();
        t.name = Some("t".into());
        t.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0;
        let mut p = MetadataResponsePartition::default();
        p.partition_index = 2;
        p.error_code = ErrorCode::LEADER_NOT_AVAILABLE.0;
        t.partitions.push(p);
        m.topics.push(t);
        let f = reply_facts(&m, 12);
        assert_eq!(
            f.errors,
            vec![
                ScopedError {
                    scope: Scope::Topic(TopicRef::Name("t".into())),
                    code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                },
                ScopedError {
                    scope: Scope::Partition(TopicPartition::new("t", 2)),
                    code: ErrorCode::LEADER_NOT_AVAILABLE
                },
            ]
        );
        // The top-level code (v13+) is not an entry beside the topics.
        assert_eq!(reply_facts(&MetadataResponse::default(), 13).ok, 0);
    }

    #[test]
    fn topic_ids_name_topics_only_where_the_name_may_be_missing() {
        use kwire::messages::create_topics_response::CreatableTopicResult;
        use kwire::messages::delete_topics_response::DeletableTopicResult;
        use kwire::Uuid;
        let id = Uuid::from_u128(7);
        let mut d = DeleteTopicsResponse::default();
        let mut t = DeletableTopicResult::default();
        t.name = None;
        t.topic_id = id;
        t.error_code = ErrorCode::UNKNOWN_TOPIC_ID.0;
        d.responses.push(t);
        assert_eq!(
            reply_facts(&d, 6).errors[0].scope,
            Scope::Topic(TopicRef::Id(id))
        );
        // CreateTopics v7+ reports the id beside the name, which names it.
        let mut c = CreateTopicsResponse::default();
        let mut t = CreatableTopicResult::default();
        t.topic_id = id;
        t.error_code = ErrorCode::TOPIC_ALREADY_EXISTS.0;
        c.topics.push(t);
        let f = reply_facts(&c, 7);
        assert_eq!(
            f.errors[0].scope,
            Scope::Topic(TopicRef::Name(String::new()))
        );
    }

    #[test]
    fn keys_and_other_entries() {
        use kwire::messages::describe_groups_response::DescribedGroup;
        use kwire::messages::leave_group_response::MemberResponse;
        let mut d = DescribeGroupsResponse::default();
        let mut g = DescribedGroup::default();
        g.group_id = "g".into();
        g.error_code = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS.0;
        d.groups.push(g);
        d.groups.push(DescribedGroup::default());
        let f = reply_facts(&d, 5);
        assert_eq!(f.errors[0].scope, Scope::Key("g".into()));
        assert_eq!(f.ok, 1);
        // LeaveGroup v3+ answers per member: the members are the entries.
        let mut l = LeaveGroupResponse::default();
        let mut m = MemberResponse::default();
        m.error_code = ErrorCode::UNKNOWN_MEMBER_ID.0;
        l.members.push(m);
        let f = reply_facts(&l, 3);
        assert_eq!(f.errors[0].scope, Scope::Entry("MemberResponse"));
        assert_eq!(f.ok, 0);
        // Before v3 the top-level code is the whole answer.
        assert_eq!(reply_facts(&LeaveGroupResponse::default(), 2).ok, 1);
    }
}
