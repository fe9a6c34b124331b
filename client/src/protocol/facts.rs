//! What a request's own content says about its version, in two parts:
//!
//! * Encodability, generated from the schemas: [`kwire::EncodableVersions`]
//!   gives exactly the versions the request's content can be encoded at (a
//!   non-default value in a non-ignorable field only some versions have,
//!   null where a version does not allow it, ...). That replaced the hand
//!   rules kept here before, which missed AddPartitionsToTxn's v4+ batched
//!   form (KIP-890): the client form carries `V3AndBelowTransactionalId`,
//!   which only v0-3 have, so the facts keep it at v3 and below.
//! * Semantics the encoder cannot see, by hand: whether the request belongs
//!   to a transaction, how many topics lack a topic id (the topic-ID gate),
//!   and that a topic given by id only needs a version that addresses
//!   topics by id (KIP-516; the name and id fields are ignorable, so an
//!   id-only topic would encode at an older version with an empty name).
//!
//! The request's concrete type is read through its generated typed view
//! ([`kwire::facts::RequestView`]), never through `Any` or a wrapper, so a
//! caller never wraps a request to influence its version: wrapping changed
//! where franz-go 1.19.2 routed EndTxn/TxnOffsetCommit (twmb/franz-go#1021,
//! fixed in 1.19.3). [`crate::net::SendOptions`] can override every fact.

use kwire::facts::RequestRef;
use kwire::{ApiKey, EncodableVersions, Request, Uuid, VersionRange, VersionSet};

use super::api::our_range;

/// `isolation_level` 0 (KIP-98): every record, committed or not.
pub const READ_UNCOMMITTED: i8 = 0;
/// `isolation_level` 1 (KIP-98): records of committed transactions only.
pub const READ_COMMITTED: i8 = 1;

/// Fetch and Produce address topics by id from v13 (KIP-516).
const FETCH_PRODUCE_TOPIC_IDS_FROM: i16 = 13;
/// OffsetCommit addresses topics by id from v10 (KIP-848).
const OFFSET_COMMIT_TOPIC_IDS_FROM: i16 = 10;

/// Facts read from one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// Our range for the request's API in this build (the latest unstable
    /// version left out).
    pub ours: VersionRange,
    /// The versions this request's content can be sent at (within `ours`):
    /// where it encodes, less what its semantics rule out. Not always an
    /// interval; the version chosen is its highest member the connection
    /// allows.
    pub allowed: VersionSet,
    pub transactional: bool,
    pub topics_without_id: usize,
    /// Why `allowed` is narrower than `ours`.
    pub reasons: Vec<String>,
}

impl RequestFacts {
    /// A semantic rule: the request needs `v` or higher.
    fn min(&mut self, v: i16, why: &str) {
        let keep = VersionSet::range(v, VersionSet::MAX_VERSION);
        if !self.allowed.minus(keep).is_empty() {
            self.allowed = self.allowed.intersect(keep);
            self.reasons.push(format!("needs v{v}+: {why}"));
        }
    }
}

fn zero(u: &Uuid) -> bool {
    u.is_zero()
}

/// Reads the facts of `req`.
pub fn request_facts<R: Request + 'static>(req: &R) -> RequestFacts {
    let ours = our_range(R::API_KEY).unwrap_or(VersionRange::new(R::VERSIONS.min, R::VERSIONS.max));
    let allowed = req.encodable_versions().intersect(VersionSet::of(ours));
    let mut f = RequestFacts {
        ours,
        allowed,
        transactional: false,
        topics_without_id: 0,
        reasons: encode_reasons(req, VersionSet::of(ours).minus(allowed)),
    };
    if let Some(view) = req.view() {
        semantics(view, &mut f);
    }
    f
}

/// Why `req` cannot be encoded at `excluded`: the encoder's own error (it
/// names the field) at the first version of each run.
fn encode_reasons<R: Request>(req: &R, excluded: VersionSet) -> Vec<String> {
    excluded
        .runs()
        .filter_map(|run| {
            let e = req.encoded_len(run.min).err()?;
            Some(format!("not v{run}: {e}"))
        })
        .collect()
}

/// The hand-kept facts that are not encodability.
fn semantics(view: RequestRef<'_>, f: &mut RequestFacts) {
    match view {
        RequestRef::Fetch(r) => {
            f.topics_without_id = r.topics.iter().filter(|t| zero(&t.topic_id)).count()
                + r.forgotten_topics_data
                    .iter()
                    .filter(|t| zero(&t.topic_id))
                    .count();
            if r.topics
                .iter()
                .any(|t| !zero(&t.topic_id) && t.topic.is_empty())
            {
                f.min(
                    FETCH_PRODUCE_TOPIC_IDS_FROM,
                    "topics given by id only (KIP-516)",
                );
            }
        }
        RequestRef::Produce(r) => {
            f.transactional = r.transactional_id.is_some();
            f.topics_without_id = r.topic_data.iter().filter(|t| zero(&t.topic_id)).count();
            if r.topic_data
                .iter()
                .any(|t| !zero(&t.topic_id) && t.name.is_empty())
            {
                f.min(
                    FETCH_PRODUCE_TOPIC_IDS_FROM,
                    "topics given by id only (KIP-516)",
                );
            }
        }
        RequestRef::OffsetCommit(r) => {
            f.topics_without_id = r.topics.iter().filter(|t| zero(&t.topic_id)).count();
            if r.topics
                .iter()
                .any(|t| !zero(&t.topic_id) && t.name.is_empty())
            {
                f.min(
                    OFFSET_COMMIT_TOPIC_IDS_FROM,
                    "topics given by id only (KIP-848)",
                );
            }
        }
        RequestRef::OffsetFetch(r) => {
            f.topics_without_id = r
                .groups
                .iter()
                .filter_map(|g| g.topics.as_ref())
                .flatten()
                .filter(|t| zero(&t.topic_id))
                .count();
        }
        RequestRef::TxnOffsetCommit(r) => {
            f.transactional = true;
            f.topics_without_id = r.topics.iter().filter(|t| zero(&t.topic_id)).count();
        }
        RequestRef::EndTxn(_) => f.transactional = true,
        _ => {}
    }
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
    use kwire::messages::{
        AddPartitionsToTxnRequest, EndTxnRequest, FetchRequest, FindCoordinatorRequest,
        MetadataRequest, OffsetCommitRequest, OffsetFetchRequest, ProduceRequest,
        TxnOffsetCommitRequest,
    };

    fn range(f: &RequestFacts) -> VersionRange {
        f.allowed.as_range().expect("an interval")
    }

    #[test]
    fn fetch_topics_without_ids() {
        let mut r = FetchRequest::default();
        let mut t = r.topics.first().cloned().unwrap_or_default();
        t.topic = "a".into();
        r.topics.push(t.clone());
        t.topic_id = Uuid::from_u128(7);
        r.topics.push(t.clone());
        let f = request_facts(&r);
        assert_eq!(f.topics_without_id, 1);
        assert!(!f.transactional);
        assert_eq!(f.allowed, VersionSet::of(f.ours), "names kept: any version");
        t.topic = "".into();
        r.topics = vec![t];
        let f = request_facts(&r);
        assert_eq!(range(&f).min, FETCH_PRODUCE_TOPIC_IDS_FROM);
        assert_eq!(f.reasons.len(), 1, "{:?}", f.reasons);
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
    fn field_driven_ranges_come_from_the_schemas() {
        let mut m = MetadataRequest::default();
        m.allow_auto_topic_creation = false;
        let f = request_facts(&m);
        assert_eq!(range(&f).min, 4);
        assert_eq!(f.reasons.len(), 1);
        assert!(
            f.reasons[0].contains("AllowAutoTopicCreation"),
            "{:?}",
            f.reasons
        );
        let mut fc = FindCoordinatorRequest::default();
        fc.coordinator_keys = vec!["a".into(), "b".into()];
        assert_eq!(range(&request_facts(&fc)).min, 4);
        let mut fc = FindCoordinatorRequest::default();
        fc.key = "g".into();
        assert_eq!(range(&request_facts(&fc)).max, 3);
        let mut ap = AddPartitionsToTxnRequest::default();
        ap.v3_and_below_transactional_id = "tx".into();
        assert_eq!(range(&request_facts(&ap)).max, 3);
        ap.transactions = vec![Default::default()];
        assert!(request_facts(&ap).allowed.is_empty(), "both forms at once");
        ap.v3_and_below_transactional_id = "".into();
        assert_eq!(range(&request_facts(&ap)).min, 4);
        let mut oc = OffsetCommitRequest::default();
        oc.group_instance_id = Some("i".into());
        assert_eq!(range(&request_facts(&oc)).min, 7);
        let mut of = OffsetFetchRequest::default();
        of.require_stable = true;
        of.group_id = "g".into();
        assert_eq!(range(&request_facts(&of)), VersionRange::new(7, 7));
        assert!(is_retry_safe(ApiKey::FETCH));
        assert!(!is_retry_safe(ApiKey::PRODUCE));
    }
}
