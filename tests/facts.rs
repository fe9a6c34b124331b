//! Request facts against the encoder: for arbitrary values of every request
//! type, the generated `encodable_versions` is exactly the set of versions
//! at which encoding succeeds. Values come from `testing::Gen` at each
//! version (so they carry fields, nulls and unknown tagged fields other
//! versions cannot), plus hand-made values for the rules `Gen` never hits
//! (overlong strings, unknown tags that reuse a known tag).

use kwire::api_key::API_TABLE;
use kwire::dispatch::RequestKind;
use kwire::messages::{AddPartitionsToTxnRequest, FetchRequest, MetadataRequest};
use kwire::testing::Gen;
use kwire::{Bytes, EncodableVersions, Message, VersionRange, VersionSet};

const SEEDS: u64 = 40;

/// The versions of `range` (and one past each end) at which `req` encodes.
fn encodes_at(req: &RequestKind, range: VersionRange) -> VersionSet {
    (range.min..=range.max)
        .filter(|&v| req.encoded_len(v).is_ok())
        .collect()
}

fn check(req: &RequestKind, range: VersionRange, what: &str) -> VersionSet {
    let facts = req.encodable_versions();
    assert_eq!(
        facts,
        encodes_at(req, range),
        "{what}: generated facts differ from where encode succeeds for {req:?}"
    );
    assert!(
        req.encoded_len(range.max + 1).is_err(),
        "{what}: encodes above its valid versions"
    );
    assert_eq!(facts.minus(VersionSet::of(range)), VersionSet::EMPTY);
    facts
}

#[test]
fn generated_facts_are_exactly_where_encode_succeeds() {
    let mut requests = 0;
    let mut narrowed = 0;
    let mut holes = 0;
    for info in API_TABLE {
        let Some(range) = info.versions else { continue };
        for v in range.min..=range.max {
            for seed in 0..SEEDS {
                let mut g = Gen::new(seed << 24 ^ (info.key.0 as u64) << 8 ^ v as u64);
                let req = RequestKind::arbitrary(info.key, v, &mut g)
                    .unwrap_or_else(|| panic!("no request type for {}", info.name));
                let what = format!("{} v{v} seed {seed}", info.name);
                let facts = check(&req, range, &what);
                assert!(
                    facts.contains(v),
                    "{what}: a value made for v{v} must encode at v{v}"
                );
                assert_eq!(req.view().encodable_versions(), facts);
                requests += 1;
                narrowed += usize::from(facts != VersionSet::of(range));
                holes += usize::from(facts.as_range().is_none());
            }
        }
    }
    // The test must be able to fail: most values are narrower than their
    // API's range, and the comparison saw them.
    assert!(requests > 5000, "only {requests} requests compared");
    assert!(
        narrowed * 3 > requests,
        "only {narrowed} of {requests} values narrowed the range"
    );
    eprintln!("{requests} requests, {narrowed} narrowed, {holes} not an interval");
}

#[test]
fn smallest_shape_agrees_too() {
    for info in API_TABLE {
        let Some(range) = info.versions else { continue };
        for v in range.min..=range.max {
            let mut g = Gen::smallest(vec![3, 2]);
            let req = RequestKind::arbitrary(info.key, v, &mut g).unwrap();
            check(&req, range, &format!("{} v{v} (smallest)", info.name));
        }
    }
}

#[test]
fn overlong_strings_fail_only_where_the_length_prefix_is_classic() {
    let mut m = MetadataRequest::default();
    let mut t = kwire::messages::metadata_request::MetadataRequestTopic::default();
    t.name = Some("x".repeat(i16::MAX as usize + 1).into());
    m.topics = Some(vec![t]);
    let facts = m.encodable_versions();
    let flexible = MetadataRequest::FLEXIBLE_MIN.unwrap();
    assert_eq!(
        facts,
        VersionSet::range(flexible, MetadataRequest::VERSIONS.max)
    );
    for v in MetadataRequest::VERSIONS.min..=MetadataRequest::VERSIONS.max {
        assert_eq!(m.encoded_len(v).is_ok(), facts.contains(v), "v{v}");
    }
}

#[test]
fn an_unknown_tag_that_a_version_knows_fails_there() {
    let known = 1; // FetchRequest's ReplicaState: tagged from v15 (KIP-903).
    let mut f = FetchRequest::default();
    f.unknown_tagged_fields
        .insert(known, Bytes::from_static(b"x"));
    let facts = f.encodable_versions();
    let flexible = FetchRequest::FLEXIBLE_MIN.unwrap();
    assert!(facts.min() >= Some(flexible), "{facts}");
    assert!(
        !facts.is_empty() && facts.max() < FetchRequest::VERSIONS.max.into(),
        "{facts}"
    );
    for v in FetchRequest::VERSIONS.min..=FetchRequest::VERSIONS.max {
        assert_eq!(f.encoded_len(v).is_ok(), facts.contains(v), "v{v}: {facts}");
    }
}

#[test]
fn add_partitions_to_txn_forms_come_from_the_schema() {
    // The client form (v3 and below) and the batched broker form (v4+,
    // KIP-890) are told apart by which fields hold values.
    let mut client = AddPartitionsToTxnRequest::default();
    client.v3_and_below_transactional_id = "tx".into();
    assert_eq!(client.encodable_versions(), VersionSet::range(0, 3));
    let mut batched = AddPartitionsToTxnRequest::default();
    batched.transactions = vec![Default::default()];
    assert_eq!(
        batched.encodable_versions(),
        VersionSet::range(4, AddPartitionsToTxnRequest::VERSIONS.max)
    );
    let mut both = batched.clone();
    both.v3_and_below_transactional_id = "tx".into();
    assert!(both.encodable_versions().is_empty());
}
