//! What a request's own content says about its version: the range it can
//! be encoded at (a field only newer versions have raises the minimum; a
//! field only older versions have lowers the maximum), whether it belongs
//! to a transaction, and how many topics lack a topic id.
//!
//! Detection goes by the request's concrete type at run time, so a caller
//! never wraps a request to influence its version: wrapping changed where
//! franz-go 1.19.2 routed EndTxn/TxnOffsetCommit (twmb/franz-go#1021, fixed
//! in 1.19.3). [`crate::net::SendOptions`] can override every fact.
//!
//! [`request_facts`] is the one entry point: the hand rules behind it are a
//! stand-in for facts generated from the schemas (for every request type,
//! the versions its current content can be encoded at), which replace the
//! body of this module without touching its callers.

use std::any::Any;

use kwire::messages::add_partitions_to_txn_request::AddPartitionsToTxnRequest;
use kwire::messages::end_txn_request::EndTxnRequest;
use kwire::messages::fetch_request::FetchRequest;
use kwire::messages::find_coordinator_request::FindCoordinatorRequest;
use kwire::messages::list_offsets_request::ListOffsetsRequest;
use kwire::messages::metadata_request::MetadataRequest;
use kwire::messages::offset_commit_request::OffsetCommitRequest;
use kwire::messages::offset_fetch_request::OffsetFetchRequest;
use kwire::messages::produce_request::ProduceRequest;
use kwire::messages::txn_offset_commit_request::TxnOffsetCommitRequest;
use kwire::{ApiKey, Request, Uuid, VersionRange};

use super::api::our_range;
use super::route::CoordinatorKind;

/// `isolation_level` 0 (KIP-98): every record, committed or not.
pub const READ_UNCOMMITTED: i8 = 0;
/// `isolation_level` 1 (KIP-98): records of committed transactions only.
pub const READ_COMMITTED: i8 = 1;

/// Facts read from one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// Our range for the request's API in this build (the latest unstable
    /// version left out).
    pub ours: VersionRange,
    /// The versions this request's content can be sent at (within `ours`).
    pub allowed: VersionRange,
    pub transactional: bool,
    pub topics_without_id: usize,
    /// Why `allowed` is narrower than the API's range.
    pub reasons: Vec<String>,
}

impl RequestFacts {
    fn min(&mut self, v: i16, why: &str) {
        if v > self.allowed.min {
            self.allowed.min = v;
            self.reasons.push(format!("needs v{v}+: {why}"));
        }
    }

    fn max(&mut self, v: i16, why: &str) {
        if v < self.allowed.max {
            self.allowed.max = v;
            self.reasons.push(format!("needs v{v} or lower: {why}"));
        }
    }
}

fn zero(u: &Uuid) -> bool {
    u.is_zero()
}

/// Reads the facts of `req`.
pub fn request_facts<R: Request + 'static>(req: &R) -> RequestFacts {
    let range =
        our_range(R::API_KEY).unwrap_or(VersionRange::new(R::VERSIONS.min, R::VERSIONS.max));
    let mut f = RequestFacts {
        ours: range,
        allowed: range,
        transactional: false,
        topics_without_id: 0,
        reasons: Vec::new(),
    };
    let any = req as &dyn Any;
    if let Some(r) = any.downcast_ref::<FetchRequest>() {
        f.topics_without_id = r.topics.iter().filter(|t| zero(&t.topic_id)).count()
            + r.forgotten_topics_data
                .iter()
                .filter(|t| zero(&t.topic_id))
                .count();
        if r.topics
            .iter()
            .any(|t| !zero(&t.topic_id) && t.topic.is_empty())
        {
            f.min(13, "topics given by id only (KIP-516)");
        }
    } else if let Some(r) = any.downcast_ref::<ProduceRequest>() {
        f.transactional = r.transactional_id.is_some();
        f.topics_without_id = r.topic_data.iter().filter(|t| zero(&t.topic_id)).count();
        if r.topic_data
            .iter()
            .any(|t| !zero(&t.topic_id) && t.name.is_empty())
        {
            f.min(13, "topics given by id only (KIP-516)");
        }
    } else if let Some(r) = any.downcast_ref::<OffsetCommitRequest>() {
        f.topics_without_id = r.topics.iter().filter(|t| zero(&t.topic_id)).count();
        if r.group_instance_id.is_some() {
            f.min(7, "group_instance_id (KIP-345)");
        }
    } else if let Some(r) = any.downcast_ref::<OffsetFetchRequest>() {
        let groups = &r.groups;
        f.topics_without_id = groups
            .iter()
            .filter_map(|g| g.topics.as_ref())
            .flatten()
            .filter(|t| zero(&t.topic_id))
            .count();
        if groups.len() > 1 {
            f.min(8, "more than one group (KIP-709 batching)");
        } else if !groups.is_empty() && r.group_id.is_empty() {
            f.min(8, "groups given in the batched form (KIP-709)");
        }
        if !r.group_id.is_empty() {
            f.max(7, "group given in the single-group form");
        }
        if r.require_stable {
            f.min(7, "require_stable (KIP-447)");
        }
    } else if let Some(r) = any.downcast_ref::<TxnOffsetCommitRequest>() {
        f.transactional = true;
        f.topics_without_id = r.topics.iter().filter(|t| zero(&t.topic_id)).count();
    } else if any.downcast_ref::<EndTxnRequest>().is_some() {
        f.transactional = true;
    } else if let Some(r) = any.downcast_ref::<AddPartitionsToTxnRequest>() {
        // v4+ is the batched broker-to-broker form (KIP-890 part 1): its
        // schema says "Versions 3 and below will be used by clients" and
        // Java's `forClient` caps at v3. Without this, a client-form request
        // would be chosen at the broker's v5 and fail to encode (the
        // v3_and_below fields do not exist there). Seen against a real
        // 4.4.0 broker in tests/kafka_seeds.rs.
        if r.transactions.is_empty() {
            f.max(3, "transaction given in the client (v3 and below) form");
        } else {
            f.min(4, "transactions given in the batched broker form (KIP-890)");
        }
    } else if let Some(r) = any.downcast_ref::<FindCoordinatorRequest>() {
        if r.key_type != CoordinatorKind::Group.key_type() {
            f.min(1, "key type other than group");
        }
        if r.coordinator_keys.len() > 1 {
            f.min(4, "more than one key (KIP-699 batching)");
        } else if !r.coordinator_keys.is_empty() && r.key.is_empty() {
            f.min(4, "key given in the batched form (KIP-699)");
        }
        if !r.key.is_empty() {
            f.max(3, "key given in the single-key form");
        }
    } else if let Some(r) = any.downcast_ref::<MetadataRequest>() {
        if !r.allow_auto_topic_creation {
            f.min(4, "allow_auto_topic_creation = false");
        }
    } else if let Some(r) = any.downcast_ref::<ListOffsetsRequest>() {
        if r.isolation_level != READ_UNCOMMITTED {
            f.min(2, "read_committed isolation");
        }
    }
    f
}

/// Requests that are safe to send twice after a close: reads and lookups.
/// Anything that changes state (Produce, commits, transactions, admin
/// writes) is not retried automatically.
pub fn is_retry_safe(api: ApiKey) -> bool {
    matches!(
        api,
        ApiKey::FETCH
            | ApiKey::LIST_OFFSETS
            | ApiKey::METADATA
            | ApiKey::OFFSET_FETCH
            | ApiKey::FIND_COORDINATOR
            | ApiKey::DESCRIBE_GROUPS
            | ApiKey::LIST_GROUPS
            | ApiKey::API_VERSIONS
            | ApiKey::OFFSET_FOR_LEADER_EPOCH
            | ApiKey::DESCRIBE_ACLS
            | ApiKey::DESCRIBE_CONFIGS
            | ApiKey::DESCRIBE_LOG_DIRS
            | ApiKey::DESCRIBE_DELEGATION_TOKEN
            | ApiKey::LIST_PARTITION_REASSIGNMENTS
            | ApiKey::DESCRIBE_CLIENT_QUOTAS
            | ApiKey::DESCRIBE_USER_SCRAM_CREDENTIALS
            | ApiKey::DESCRIBE_QUORUM
            | ApiKey::DESCRIBE_CLUSTER
            | ApiKey::DESCRIBE_PRODUCERS
            | ApiKey::DESCRIBE_TRANSACTIONS
            | ApiKey::LIST_TRANSACTIONS
            | ApiKey::CONSUMER_GROUP_DESCRIBE
            | ApiKey::DESCRIBE_TOPIC_PARTITIONS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_topics_without_ids() {
        let mut r = FetchRequest::default();
        let mut t = r.topics.first().cloned().unwrap_or_default();
        t.topic = "a".into();
        r.topics.push(t.clone());
        t.topic_id = Uuid::from_u128(7);
        r.topics.push(t);
        let f = request_facts(&r);
        assert_eq!(f.topics_without_id, 1);
        assert!(!f.transactional);
    }

    #[test]
    fn transactional_detection() {
        let mut p = ProduceRequest::default();
        assert!(!request_facts(&p).transactional);
        p.transactional_id = Some("tx".into());
        assert!(request_facts(&p).transactional);
        assert!(request_facts(&EndTxnRequest::default()).transactional);
        assert!(request_facts(&TxnOffsetCommitRequest::default()).transactional);
    }

    #[test]
    fn field_driven_ranges() {
        let mut m = MetadataRequest::default();
        m.allow_auto_topic_creation = false;
        let f = request_facts(&m);
        assert_eq!(f.allowed.min, 4);
        assert_eq!(f.reasons.len(), 1);
        let mut fc = FindCoordinatorRequest::default();
        fc.coordinator_keys = vec!["a".into(), "b".into()];
        assert_eq!(request_facts(&fc).allowed.min, 4);
        let mut fc = FindCoordinatorRequest::default();
        fc.key = "g".into();
        assert_eq!(request_facts(&fc).allowed.max, 3);
        let mut ap = AddPartitionsToTxnRequest::default();
        ap.v3_and_below_transactional_id = "tx".into();
        assert_eq!(request_facts(&ap).allowed.max, 3);
        ap.transactions = vec![Default::default()];
        assert_eq!(request_facts(&ap).allowed.min, 4);
        assert!(is_retry_safe(ApiKey::FETCH));
        assert!(!is_retry_safe(ApiKey::PRODUCE));
    }
}
