//! Request facts against the encoder: for arbitrary values of every request
//! type, the generated `encodable_versions` is exactly the set of versions
//! at which encoding succeeds. Values come from `testing::Gen` at each
//! version (so they carry fields, nulls and unknown tagged fields other
//! versions cannot), plus hand-made values for the rules `Gen` never hits
//! (overlong strings, unknown tags that reuse a known tag).
//!
//! Response facts against the value's own JSON (module `response`): every
//! error code is reported once, where it sits, with the leader beside it.

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

// ---------------------------------------------------------------------
// Response facts: the generated walk against the value's own JSON.

mod response {
    use kwire::api_key::API_TABLE;
    use kwire::dispatch::ResponseKind;
    use kwire::facts::{ErrorSite, KeyKind, ResponseFacts};
    use kwire::testing::Gen;
    use kwire::wire::Reader;
    use kwire::BytesMut;
    use serde_json::{Map, Value};

    /// The JSON names of the fields that are an entry's error code: every
    /// `ErrorCode`, and AddPartitionsToTxn's `PartitionErrorCode` (a
    /// struct's only code). `TopicConfigErrorCode` (CreateTopics) and
    /// `AcknowledgeErrorCode` (ShareFetch) qualify an entry whose outcome
    /// is its `ErrorCode`.
    const CODE_KEYS: [&str; 2] = ["errorCode", "partitionErrorCode"];
    const PARTITION_KEYS: [&str; 4] = ["partitionIndex", "partition", "partitionId", "index"];
    const TOPIC_NAME_KEYS: [&str; 3] = ["name", "topic", "topicName"];

    /// Where one code sits in the JSON: its object and the objects above.
    struct Place {
        object: Map<String, Value>,
        ancestors: Vec<Map<String, Value>>,
    }

    /// Gives every nonzero code a distinct value (1, 2, ...) and records
    /// where it sits; zeros stay (a field absent at the version is zero).
    fn renumber(
        v: &mut Value,
        next: &mut i64,
        above: &mut Vec<Map<String, Value>>,
        out: &mut Vec<Place>,
    ) {
        match v {
            Value::Array(a) => {
                for x in a {
                    renumber(x, next, above, out);
                }
            }
            Value::Object(o) => {
                let mut own = false;
                for k in CODE_KEYS {
                    if let Some(c) = o.get_mut(k) {
                        if c.as_i64() != Some(0) {
                            *c = Value::from(*next);
                            *next += 1;
                            own = true;
                        }
                    }
                }
                let keys: Vec<String> = o.keys().cloned().collect();
                above.push(o.clone());
                for k in keys {
                    renumber(o.get_mut(&k).unwrap(), next, above, out);
                }
                let me = above.pop().unwrap();
                if own {
                    // The copy taken before the children were renumbered
                    // holds this object's own (already renumbered) code.
                    out.push(Place {
                        object: me,
                        ancestors: above.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    fn code_of(o: &Map<String, Value>) -> Option<i64> {
        CODE_KEYS.iter().find_map(|k| o.get(*k)?.as_i64())
    }

    fn str_field<'a>(o: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|k| o.get(*k)?.as_str())
    }

    /// Whether `o` names the topic `t` (by name, or by id where given).
    fn names_topic(o: &Map<String, Value>, t: &kwire::facts::TopicIdent<'_>) -> bool {
        let name_ok = match t.name {
            Some(n) => str_field(o, &TOPIC_NAME_KEYS) == Some(n),
            None => true,
        };
        let id_ok = match t.id {
            Some(id) => o.get("topicId") == Some(&serde_json::to_value(id).unwrap()),
            None => true,
        };
        name_ok && id_ok && (t.name.is_some() || t.id.is_some())
    }

    #[test]
    fn the_walk_reports_every_error_code_once_where_it_sits() {
        let (mut values, mut codes, mut partitions, mut hints) = (0, 0, 0, 0);
        let mut sites = std::collections::BTreeSet::new();
        for info in API_TABLE {
            let Some(range) = info.versions else { continue };
            for v in range.min..=range.max {
                for seed in 0..24u64 {
                    let mut g = Gen::new(seed << 24 ^ (info.key.0 as u64) << 8 ^ v as u64);
                    let r = ResponseKind::arbitrary(info.key, v, &mut g).unwrap();
                    let what = format!("{} v{v} seed {seed}", info.name);
                    let mut json = r.to_json().unwrap();
                    let (mut next, mut places) = (1, Vec::new());
                    renumber(&mut json, &mut next, &mut Vec::new(), &mut places);
                    let r = ResponseKind::from_json(info.key, json.clone()).unwrap();
                    // Every renumbered code is on the wire at `v`.
                    let mut buf = BytesMut::new();
                    r.encode(&mut buf, v)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    let mut rd = Reader::new(buf.freeze());
                    assert_eq!(
                        ResponseKind::decode(info.key, v, &mut rd).unwrap(),
                        r,
                        "{what}"
                    );

                    let root = json.as_object().unwrap();
                    let throttle = root.get("throttleTimeMs").and_then(Value::as_i64);
                    match r.throttle_time_ms(v) {
                        Some(ms) => assert_eq!(Some(ms as i64), throttle, "{what}: throttle"),
                        None => assert!(throttle.unwrap_or(0) == 0, "{what}: throttle missed"),
                    }

                    let mut facts = Vec::new();
                    r.errors(v, &mut |e| {
                        facts.push((
                            format!("{:?}", e.site),
                            e.site.clone_owned(),
                            e.code.0,
                            e.leader,
                        ))
                    });
                    let mut seen = vec![false; next as usize];
                    let alone = facts
                        .iter()
                        .any(|f| matches!(f.1, Site::Request { alone: true }));
                    for (dbg, site, code, leader) in &facts {
                        if *code == 0 {
                            continue;
                        }
                        let c = *code as usize;
                        assert!(
                            c < seen.len() && !seen[c],
                            "{what}: code {code} at {dbg} not given once"
                        );
                        seen[c] = true;
                        codes += 1;
                        sites.insert(dbg.split(['(', ' ', '{']).next().unwrap().to_string());
                        let p = places
                            .iter()
                            .find(|p| code_of(&p.object) == Some(*code as i64))
                            .unwrap_or_else(|| panic!("{what}: code {code} is in no object"));
                        let parent = p.ancestors.last();
                        let ok = match site {
                            Site::Request { .. } => p.ancestors.is_empty(),
                            Site::Partition { topic, partition } => {
                                partitions += 1;
                                PARTITION_KEYS.iter().any(|k| {
                                    p.object.get(*k).and_then(Value::as_i64)
                                        == Some(*partition as i64)
                                }) && p.ancestors.iter().any(|a| names_topic(a, &topic.as_ref()))
                            }
                            Site::Topic(t) => names_topic(&p.object, &t.as_ref()),
                            Site::Key { kind, key } => {
                                let k = match kind {
                                    KeyKind::GroupId => "groupId",
                                    KeyKind::TransactionalId => "transactionalId",
                                };
                                p.object.get(k).and_then(Value::as_str) == Some(key.as_str())
                            }
                            Site::Entry(name) => {
                                !name.is_empty()
                                    && parent.is_some()
                                    && ["groupId", "transactionalId", "topicId"]
                                        .iter()
                                        .all(|k| !p.object.contains_key(*k))
                            }
                        };
                        assert!(
                            ok,
                            "{what}: code {code} reported at {dbg}, but sits in {:?}",
                            p.object
                        );
                        if let Some((id, epoch)) = leader {
                            hints += 1;
                            let l = &p.object["currentLeader"];
                            assert_eq!(l["leaderId"].as_i64(), Some(*id as i64), "{what}");
                            assert_eq!(l["leaderEpoch"].as_i64(), Some(*epoch as i64), "{what}");
                        }
                    }
                    // Each renumbered code is reported: the walk misses none.
                    let missed: Vec<usize> = (1..next as usize).filter(|&c| !seen[c]).collect();
                    assert!(
                        missed.is_empty(),
                        "{what}: codes {missed:?} not reported: {json}"
                    );
                    if alone {
                        assert!(
                            facts.iter().all(|f| matches!(f.1, Site::Request { .. })),
                            "{what}: a request-level code marked alone beside others"
                        );
                    }
                    values += 1;
                }
            }
        }
        eprintln!("{values} responses, {codes} codes ({partitions} partitions, {hints} leader hints), sites {sites:?}");
        assert!(
            values > 5000 && codes > 10_000,
            "{values} values, {codes} codes"
        );
        assert_eq!(sites.len(), 5, "every kind of site is seen: {sites:?}");
    }

    /// An owned copy of a site, to check after the walk.
    enum Site {
        Request { alone: bool },
        Partition { topic: Topic, partition: i32 },
        Topic(Topic),
        Key { kind: KeyKind, key: String },
        Entry(&'static str),
    }

    struct Topic {
        name: Option<String>,
        id: Option<kwire::Uuid>,
    }

    impl Topic {
        fn as_ref(&self) -> kwire::facts::TopicIdent<'_> {
            kwire::facts::TopicIdent {
                name: self.name.as_deref(),
                id: self.id,
            }
        }
    }

    trait Owned {
        fn clone_owned(&self) -> Site;
    }

    impl Owned for ErrorSite<'_> {
        fn clone_owned(&self) -> Site {
            let topic = |t: &kwire::facts::TopicIdent<'_>| Topic {
                name: t.name.map(str::to_string),
                id: t.id,
            };
            match self {
                ErrorSite::Request { alone } => Site::Request { alone: *alone },
                ErrorSite::Partition {
                    topic: t,
                    partition,
                } => Site::Partition {
                    topic: topic(t),
                    partition: *partition,
                },
                ErrorSite::Topic(t) => Site::Topic(topic(t)),
                ErrorSite::Key { kind, key } => Site::Key {
                    kind: *kind,
                    key: key.to_string(),
                },
                ErrorSite::Entry(n) => Site::Entry(n),
            }
        }
    }
}
