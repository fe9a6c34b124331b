//! Where a request must go, decided from what it is: its API key says which
//! kind of broker serves it ([`RouteKind`]), and its own content names the
//! partitions or the coordinator key ([`route_of`]). Never from a wrapper
//! type: wrapping EndTxn and TxnOffsetCommit to pin their version sent them
//! to an arbitrary broker in franz-go 1.19.2 (twmb/franz-go#1017, fixed by
//! #1021). A request whose kind needs a key that cannot be read from it is
//! [`Route::Unroutable`], never "any broker".
//!
//! The content is read through the request's generated typed view
//! ([`kwire::facts::RequestRef`]), like [`super::facts`]: which fields name
//! the route is semantics the schemas do not state, so these rules are
//! kept by hand. A request type without a view (one generated into another
//! crate, or a wrapper) routes only by kind.

use std::fmt;

use kwire::facts::RequestRef;
use kwire::{ApiKey, Request, Uuid};

use super::api::api_name;

/// Which coordinator a key is looked up for: FindCoordinator's `KeyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoordinatorKind {
    /// A consumer group (key type 0).
    Group,
    /// A transactional id (key type 1, FindCoordinator v1+).
    Transaction,
}

impl CoordinatorKind {
    /// FindCoordinator's `KeyType` for this kind.
    pub const fn key_type(self) -> i8 {
        match self {
            CoordinatorKind::Group => 0,
            CoordinatorKind::Transaction => 1,
        }
    }
}

impl fmt::Display for CoordinatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CoordinatorKind::Group => "group",
            CoordinatorKind::Transaction => "transaction",
        })
    }
}

/// A topic as a request names it: by name, or by id only (KIP-516).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TopicRef {
    Name(String),
    Id(Uuid),
}

impl fmt::Display for TopicRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicRef::Name(n) => f.write_str(n),
            TopicRef::Id(id) => write!(f, "topic id {id:?}"),
        }
    }
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: TopicRef,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: i32) -> Self {
        TopicPartition {
            topic: TopicRef::Name(topic.to_string()),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Which kind of broker serves an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Any broker: lookups and cluster-wide reads.
    Any,
    /// The leader of each partition the request names.
    Leader,
    /// The coordinator of a group.
    GroupCoordinator,
    /// The coordinator of a transactional id.
    TransactionCoordinator,
    /// The transaction coordinator when the request names a transactional
    /// id, any broker otherwise (InitProducerId: idempotent producers have
    /// none).
    TransactionCoordinatorIfTransactional,
    /// The controller: on KRaft clusters a broker forwards to the active
    /// controller (KIP-590), so this is Metadata's controller id.
    Controller,
}

/// The kind of broker that serves `api`, from the key alone.
pub fn route_kind(api: ApiKey) -> RouteKind {
    match api {
        ApiKey::PRODUCE
        | ApiKey::FETCH
        | ApiKey::LIST_OFFSETS
        | ApiKey::OFFSET_FOR_LEADER_EPOCH
        | ApiKey::DELETE_RECORDS => RouteKind::Leader,
        ApiKey::OFFSET_COMMIT
        | ApiKey::OFFSET_FETCH
        | ApiKey::JOIN_GROUP
        | ApiKey::HEARTBEAT
        | ApiKey::LEAVE_GROUP
        | ApiKey::SYNC_GROUP
        | ApiKey::DESCRIBE_GROUPS
        | ApiKey::DELETE_GROUPS
        | ApiKey::OFFSET_DELETE
        | ApiKey::CONSUMER_GROUP_HEARTBEAT
        | ApiKey::CONSUMER_GROUP_DESCRIBE
        // Offsets in a transaction are written by the group's coordinator.
        | ApiKey::TXN_OFFSET_COMMIT => RouteKind::GroupCoordinator,
        ApiKey::ADD_PARTITIONS_TO_TXN
        | ApiKey::ADD_OFFSETS_TO_TXN
        | ApiKey::END_TXN
        | ApiKey::DESCRIBE_TRANSACTIONS => RouteKind::TransactionCoordinator,
        ApiKey::INIT_PRODUCER_ID => RouteKind::TransactionCoordinatorIfTransactional,
        ApiKey::CREATE_TOPICS
        | ApiKey::DELETE_TOPICS
        | ApiKey::CREATE_PARTITIONS
        | ApiKey::ELECT_LEADERS
        | ApiKey::ALTER_PARTITION_REASSIGNMENTS
        | ApiKey::LIST_PARTITION_REASSIGNMENTS
        | ApiKey::UPDATE_FEATURES => RouteKind::Controller,
        _ => RouteKind::Any,
    }
}

/// Where one request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Any,
    /// The leader of these partitions (all of them: a request whose
    /// partitions have different leaders must be split by the caller).
    Leader(Vec<TopicPartition>),
    /// The coordinator of these keys (one key for all but the batched
    /// describe/delete APIs, whose keys must share a coordinator).
    Coordinator {
        kind: CoordinatorKind,
        keys: Vec<String>,
    },
    Controller,
    /// The kind needs something the request does not say (a coordinator
    /// key that cannot be read): never sent to an arbitrary broker.
    Unroutable {
        api: ApiKey,
        why: String,
    },
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Any => f.write_str("any broker"),
            Route::Leader(tps) => {
                write!(f, "the leader of ")?;
                for (i, tp) in tps.iter().take(4).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{tp}")?;
                }
                if tps.len() > 4 {
                    write!(f, " and {} more", tps.len() - 4)?;
                }
                Ok(())
            }
            Route::Coordinator { kind, keys } => {
                write!(f, "the {kind} coordinator of {}", keys.join(", "))
            }
            Route::Controller => f.write_str("the controller"),
            Route::Unroutable { api, why } => write!(f, "nowhere ({}: {why})", api_name(*api)),
        }
    }
}

fn name_or_id(name: &str, id: &Uuid) -> TopicRef {
    if name.is_empty() && !id.is_zero() {
        TopicRef::Id(*id)
    } else {
        TopicRef::Name(name.to_string())
    }
}

fn s(x: &kwire::StrBytes) -> String {
    x.to_string()
}

/// The partitions a leader-routed request names, from its typed view.
fn leader_partitions(view: Option<RequestRef<'_>>) -> Option<Vec<TopicPartition>> {
    let mut out = Vec::new();
    match view? {
        RequestRef::Produce(r) => {
            for t in &r.topic_data {
                for p in &t.partition_data {
                    out.push(TopicPartition {
                        topic: name_or_id(&t.name, &t.topic_id),
                        partition: p.index,
                    });
                }
            }
        }
        RequestRef::Fetch(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    out.push(TopicPartition {
                        topic: name_or_id(&t.topic, &t.topic_id),
                        partition: p.partition,
                    });
                }
            }
        }
        RequestRef::ListOffsets(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    out.push(TopicPartition::new(&t.name, p.partition_index));
                }
            }
        }
        RequestRef::OffsetForLeaderEpoch(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    out.push(TopicPartition::new(&t.topic, p.partition));
                }
            }
        }
        RequestRef::DeleteRecords(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    out.push(TopicPartition::new(&t.name, p.partition_index));
                }
            }
        }
        _ => return None,
    }
    Some(out)
}

/// The group(s) a group-coordinator request names, from its typed view.
fn group_keys(view: Option<RequestRef<'_>>) -> Option<Vec<String>> {
    let one = |g: &kwire::StrBytes| Some(vec![s(g)]);
    match view? {
        RequestRef::OffsetCommit(r) => one(&r.group_id),
        // v0-7 name one group at the top; v8+ batch them (KIP-709).
        RequestRef::OffsetFetch(r) if r.groups.is_empty() => one(&r.group_id),
        RequestRef::OffsetFetch(r) => Some(r.groups.iter().map(|g| s(&g.group_id)).collect()),
        RequestRef::JoinGroup(r) => one(&r.group_id),
        RequestRef::Heartbeat(r) => one(&r.group_id),
        RequestRef::LeaveGroup(r) => one(&r.group_id),
        RequestRef::SyncGroup(r) => one(&r.group_id),
        RequestRef::TxnOffsetCommit(r) => one(&r.group_id),
        RequestRef::OffsetDelete(r) => one(&r.group_id),
        RequestRef::ConsumerGroupHeartbeat(r) => one(&r.group_id),
        RequestRef::DescribeGroups(r) => Some(r.groups.iter().map(s).collect()),
        RequestRef::DeleteGroups(r) => Some(r.groups_names.iter().map(s).collect()),
        RequestRef::ConsumerGroupDescribe(r) => Some(r.group_ids.iter().map(s).collect()),
        _ => None,
    }
}

/// The transactional id(s) a transaction-coordinator request names.
/// `Some(vec![])`: the request names none (an idempotent InitProducerId).
fn transaction_keys(view: Option<RequestRef<'_>>) -> Option<Vec<String>> {
    match view? {
        // Null or empty: an idempotent producer's, no transaction.
        RequestRef::InitProducerId(r) => Some(
            r.transactional_id
                .iter()
                .filter(|t| !t.is_empty())
                .map(s)
                .collect(),
        ),
        RequestRef::EndTxn(r) => Some(vec![s(&r.transactional_id)]),
        RequestRef::AddOffsetsToTxn(r) => Some(vec![s(&r.transactional_id)]),
        // The client form (v3 and below) names one transaction; the batched
        // form is what brokers send each other (KIP-890).
        RequestRef::AddPartitionsToTxn(r) if r.transactions.is_empty() => {
            Some(vec![s(&r.v3_and_below_transactional_id)])
        }
        RequestRef::AddPartitionsToTxn(r) => Some(
            r.transactions
                .iter()
                .map(|t| s(&t.transactional_id))
                .collect(),
        ),
        RequestRef::DescribeTransactions(r) => Some(r.transactional_ids.iter().map(s).collect()),
        _ => None,
    }
}

fn unroutable(api: ApiKey, what: &str, type_name: &str) -> Route {
    Route::Unroutable {
        api,
        why: format!("its route needs the {what}, which cannot be read from a {type_name}"),
    }
}

/// Where `req` goes: its kind from its API key, the partitions or key from
/// its content.
pub fn route_of<R: Request + 'static>(req: &R) -> Route {
    let api = R::API_KEY;
    let view = req.view();
    let keyed = |kind: CoordinatorKind, keys: Option<Vec<String>>, what: &str| match keys {
        Some(keys) if !keys.is_empty() && keys.iter().all(|k| !k.is_empty()) => {
            Route::Coordinator { kind, keys }
        }
        Some(_) => Route::Unroutable {
            api,
            why: format!("it names no {what}"),
        },
        None => unroutable(api, what, std::any::type_name::<R>()),
    };
    match route_kind(api) {
        RouteKind::Any => Route::Any,
        RouteKind::Controller => Route::Controller,
        RouteKind::Leader => match leader_partitions(view) {
            Some(tps) if !tps.is_empty() => Route::Leader(tps),
            Some(_) => Route::Unroutable {
                api,
                why: "it names no partition".into(),
            },
            None => unroutable(api, "partitions", std::any::type_name::<R>()),
        },
        RouteKind::GroupCoordinator => keyed(CoordinatorKind::Group, group_keys(view), "group id"),
        RouteKind::TransactionCoordinator => keyed(
            CoordinatorKind::Transaction,
            transaction_keys(view),
            "transactional id",
        ),
        RouteKind::TransactionCoordinatorIfTransactional => match transaction_keys(view) {
            Some(keys) if keys.is_empty() => Route::Any,
            keys => keyed(CoordinatorKind::Transaction, keys, "transactional id"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::messages::fetch_request::{FetchPartition, FetchTopic};
    use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kwire::messages::{
        CreateTopicsRequest, EndTxnRequest, EndTxnResponse, FetchRequest, FindCoordinatorRequest,
        InitProducerIdRequest, MetadataRequest, OffsetFetchRequest, ProduceRequest,
        TxnOffsetCommitRequest,
    };
    use kwire::wire::Reader;
    use kwire::wire::{Cx, Writer};
    use kwire::{DecodeError, EncodeError, Message, VersionRange, VersionSet};

    #[test]
    fn kinds_from_the_key() {
        assert_eq!(route_kind(ApiKey::PRODUCE), RouteKind::Leader);
        assert_eq!(route_kind(ApiKey::FETCH), RouteKind::Leader);
        assert_eq!(route_kind(ApiKey::METADATA), RouteKind::Any);
        assert_eq!(route_kind(ApiKey::FIND_COORDINATOR), RouteKind::Any);
        assert_eq!(
            route_kind(ApiKey::TXN_OFFSET_COMMIT),
            RouteKind::GroupCoordinator
        );
        assert_eq!(
            route_kind(ApiKey::END_TXN),
            RouteKind::TransactionCoordinator
        );
        assert_eq!(route_kind(ApiKey::CREATE_TOPICS), RouteKind::Controller);
    }

    #[test]
    fn coordinator_keys_come_from_the_content() {
        let mut end = EndTxnRequest::default();
        end.transactional_id = "tx-1".into();
        assert_eq!(
            route_of(&end),
            Route::Coordinator {
                kind: CoordinatorKind::Transaction,
                keys: vec!["tx-1".into()]
            }
        );
        let mut toc = TxnOffsetCommitRequest::default();
        toc.transactional_id = "tx-1".into();
        toc.group_id = "g".into();
        assert_eq!(
            route_of(&toc),
            Route::Coordinator {
                kind: CoordinatorKind::Group,
                keys: vec!["g".into()]
            }
        );
        let mut ipi = InitProducerIdRequest::default();
        assert_eq!(route_of(&ipi), Route::Any, "idempotent: any broker");
        ipi.transactional_id = Some("tx-2".into());
        assert_eq!(
            route_of(&ipi),
            Route::Coordinator {
                kind: CoordinatorKind::Transaction,
                keys: vec!["tx-2".into()]
            }
        );
        // A coordinator request without its key is not sent anywhere.
        assert!(matches!(
            route_of(&EndTxnRequest::default()),
            Route::Unroutable { .. }
        ));
        let mut of = OffsetFetchRequest::default();
        of.groups = vec![Default::default(), Default::default()];
        of.groups[0].group_id = "a".into();
        of.groups[1].group_id = "b".into();
        assert_eq!(
            route_of(&of),
            Route::Coordinator {
                kind: CoordinatorKind::Group,
                keys: vec!["a".into(), "b".into()]
            }
        );
    }

    #[test]
    fn leader_routes_name_every_partition() {
        let mut p = ProduceRequest::default();
        let mut t = TopicProduceData::default();
        t.name = "t".into();
        for i in [0, 2] {
            let mut pd = PartitionProduceData::default();
            pd.index = i;
            t.partition_data.push(pd);
        }
        p.topic_data.push(t);
        assert_eq!(
            route_of(&p),
            Route::Leader(vec![
                TopicPartition::new("t", 0),
                TopicPartition::new("t", 2)
            ])
        );
        let mut f = FetchRequest::default();
        let mut ft = FetchTopic::default();
        ft.topic_id = Uuid::from_u128(9);
        let mut fp = FetchPartition::default();
        fp.partition = 1;
        ft.partitions.push(fp);
        f.topics.push(ft);
        assert_eq!(
            route_of(&f),
            Route::Leader(vec![TopicPartition {
                topic: TopicRef::Id(Uuid::from_u128(9)),
                partition: 1
            }])
        );
        assert!(matches!(
            route_of(&FetchRequest::default()),
            Route::Unroutable { .. }
        ));
        assert_eq!(route_of(&MetadataRequest::default()), Route::Any);
        assert_eq!(route_of(&FindCoordinatorRequest::default()), Route::Any);
        assert_eq!(route_of(&CreateTopicsRequest::default()), Route::Controller);
    }

    /// EndTxn wrapped to pin its version, as franz-go 1.19.2 did.
    #[derive(Debug, Clone, Default, PartialEq)]
    struct Pinned(EndTxnRequest);

    impl kwire::Encodable for Pinned {
        fn size(&self, cx: Cx) -> Result<usize, EncodeError> {
            self.0.size(cx)
        }
        fn write(&self, w: &mut Writer<'_>, cx: Cx) {
            self.0.write(w, cx)
        }
    }

    impl kwire::Decodable for Pinned {
        const MIN_SIZE: usize = EndTxnRequest::MIN_SIZE;
        fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError> {
            EndTxnRequest::read(r, cx).map(Pinned)
        }
    }

    impl Message for Pinned {
        const NAME: &'static str = "Pinned";
        const VERSIONS: VersionRange = EndTxnRequest::VERSIONS;
        const FLEXIBLE_MIN: Option<i16> = EndTxnRequest::FLEXIBLE_MIN;
        const LATEST_VERSION_UNSTABLE: bool = false;
    }

    impl kwire::facts::EncodeFacts for Pinned {
        fn fails_in(&self, at: VersionSet, flexible: VersionSet) -> VersionSet {
            self.0.fails_in(at, flexible)
        }
    }

    /// A wrapper has no typed view of its own.
    impl kwire::facts::RequestView for Pinned {}

    impl Request for Pinned {
        const API_KEY: ApiKey = ApiKey::END_TXN;
        type Response = EndTxnResponse;
    }

    #[test]
    fn a_wrapped_coordinator_request_is_never_sent_to_any_broker() {
        let mut end = EndTxnRequest::default();
        end.transactional_id = "tx".into();
        match route_of(&Pinned(end)) {
            Route::Unroutable { api, why } => {
                assert_eq!(api, ApiKey::END_TXN);
                assert!(why.contains("transactional id"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }
}
