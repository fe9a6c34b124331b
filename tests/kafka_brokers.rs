//! kwire's codecs against real Apache Kafka brokers (2.3 … 4.4).
//!
//! Each test starts one broker with `testsupport/kafka/broker start --release R` (single node on
//! 127.0.0.1, see testsupport/kafka/README.md; its JSON answer gives the port), stops it with `broker
//! stop --dir D --clean` from a Drop guard, and talks to it over a plain `std::net::TcpStream` using
//! only kwire's codecs: frame = int32 size + request header (v1/v2 per
//! `kwire::headers::request_header_version`) + body; the answer = int32 size + response header
//! (v0/v1 per `kwire::headers::response_header_version`) + body. Brokers run one at a time (a
//! mutex): the machine has two cores.
//!
//! What each release really does (asserted below):
//! * 4.4.0: ApiVersions at kwire's highest stable version (v5) and v0 both answer error 0 with the
//!   same 77 ranges; every advertised key is known to kwire and no advertised max exceeds kwire's.
//!   Nothing is advertised below kwire's minimum: 4.x still advertises Produce v0-v2, which
//!   KIP-896 removed from the 4.4 schema, and kwire has them from 3.9.2 (historic). Metadata at
//!   min(kwire's, the broker's highest) = v13 lists exactly this broker and its cluster id.
//! * 3.8.1 (ApiVersions 0-3): ApiVersions v4 answers error 35 (UNSUPPORTED_VERSION) in the v0 body
//!   layout, listing only key 18 with 0-3 (KIP-511); v3 answers error 0.
//! * 2.3.1 (ApiVersions 0-2, before KIP-511): see [`broker_2_3_1`].
//!
//! Without java/mvn (or Maven Central for a cold cache) the tests fail, naming the command to run.

#[path = "support/exercised.rs"]
mod exercised;
#[path = "support/kafka.rs"]
mod kafka;

use kafka::{api_versions_request, lock, Broker, UNSUPPORTED_VERSION};
use kwire::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kwire::messages::metadata_request::MetadataRequest;
use kwire::{ApiKey, Message};

/// Checks every advertised range: a known api key, min <= max, inside kwire's versions (kwire is
/// generated from the newest schemas, so no release may advertise more than it knows).
/// Returns the api keys advertised with a lower minimum than kwire's.
fn check_advertised(release: &str, keys: &[ApiVersion]) -> Vec<i16> {
    let mut below = Vec::new();
    assert!(!keys.is_empty(), "{release}: no api keys advertised");
    let mut table = String::new();
    for k in keys {
        let key = ApiKey(k.api_key);
        table.push_str(&format!(
            " {}:{}-{}",
            k.api_key, k.min_version, k.max_version
        ));
        assert!(
            key.name().is_some(),
            "{release}: advertises api key {} unknown to kwire",
            k.api_key
        );
        assert!(
            k.min_version <= k.max_version,
            "{release}: {key:?} advertises {}-{}",
            k.min_version,
            k.max_version
        );
        // Removed APIs (LeaderAndIsr & co. on ZooKeeper brokers) have no versions in kwire.
        if let Some(ours) = key.versions_including_unstable() {
            if k.min_version < ours.min {
                below.push(k.api_key);
            }
            assert!(
                k.max_version <= ours.max,
                "{release}: {key:?} advertises up to v{}, kwire knows up to v{}",
                k.max_version,
                ours.max
            );
        }
    }
    eprintln!(
        "{release}: {} api keys:{table}; below kwire's minimum: {below:?}",
        keys.len()
    );
    below
}

#[test]
fn broker_4_4_0() {
    let _one = lock();
    let broker = Broker::start("4.4.0");
    let mut c = broker.connect();

    let ours = ApiKey::API_VERSIONS
        .versions()
        .expect("ApiVersions versions");
    let av = c.call(&api_versions_request(), ours.max, ours.max);
    assert_eq!(av.error_code, 0, "4.4.0: ApiVersions v{}", ours.max);
    // 4.4.0 still advertises Produce v0-v2, which KIP-896 removed from the 4.x schemas; kwire has
    // them from 3.9.2 (historic versions), so nothing is advertised below kwire's minimum.
    assert_eq!(
        check_advertised("4.4.0", &av.api_keys),
        [0i16; 0],
        "4.4.0: nothing is advertised below kwire's minimum"
    );
    assert_eq!(
        ApiKey::PRODUCE.versions().map(|v| v.min),
        Some(0),
        "kwire's Produce starts at v0 (historic)"
    );
    let advertised = |key: ApiKey| {
        av.api_keys
            .iter()
            .find(|k| k.api_key == key.0)
            .unwrap_or_else(|| panic!("4.4.0 does not advertise {key:?}"))
    };
    assert_eq!(
        advertised(ApiKey::API_VERSIONS).max_version,
        ours.max,
        "4.4.0's highest ApiVersions is kwire's highest stable one"
    );
    // The broker's JSON (from its own ApiVersions v0 probe) agrees with what kwire decoded.
    for k in &av.api_keys {
        let want = &broker.info["api_versions"][k.api_key.to_string()];
        assert_eq!(
            (want[0].as_i64(), want[1].as_i64()),
            (Some(k.min_version.into()), Some(k.max_version.into())),
            "4.4.0: api key {} in kafkawire.py's ApiVersions v0",
            k.api_key
        );
    }

    // v0: no header tagged fields, no client software; the same list.
    let av0 = c.call(&api_versions_request(), 0, 0);
    assert_eq!(av0.error_code, 0);
    assert_eq!(
        av0.api_keys, av.api_keys,
        "ApiVersions v0 and v{}",
        ours.max
    );

    let meta = advertised(ApiKey::METADATA);
    let v = meta
        .max_version
        .min(ApiKey::METADATA.versions().expect("Metadata").max);
    let m = c.call(&MetadataRequest::default(), v, v);
    eprintln!(
        "4.4.0: Metadata v{v}: cluster {:?}, controller {}, brokers {:?}",
        m.cluster_id, m.controller_id, m.brokers
    );
    assert_eq!(m.error_code, 0, "Metadata v{v}");
    assert_eq!(m.brokers.len(), 1, "Metadata v{v}: one broker");
    assert_eq!(m.brokers[0].host, "127.0.0.1");
    assert_eq!(m.brokers[0].port, i32::from(broker.port));
    assert_eq!(
        m.cluster_id.as_deref(),
        broker.info["cluster_id"].as_str(),
        "Metadata v{v}: cluster id"
    );
    exercised::check(
        "kafka_brokers",
        "broker_4_4_0",
        &broker.release,
        &c.exercised,
    );
}

#[test]
fn broker_3_8_1() {
    let _one = lock();
    let broker = Broker::start("3.8.1");
    let mut c = broker.connect();

    // KIP-511: an ApiVersions version the broker does not know gets error 35 and the broker's own
    // ApiVersions range, in the v0 body layout (the response header is v0 for ApiVersions anyway).
    let av = c.call(&api_versions_request(), 4, 0);
    assert_eq!(av.error_code, UNSUPPORTED_VERSION, "3.8.1: ApiVersions v4");
    assert_eq!(
        av.api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect::<Vec<_>>(),
        [(18, 0, 3)],
        "3.8.1: ApiVersions v4 lists only ApiVersions 0-3"
    );

    let av = c.call(&api_versions_request(), 3, 3);
    assert_eq!(av.error_code, 0, "3.8.1: ApiVersions v3");
    check_advertised("3.8.1", &av.api_keys);
    exercised::check(
        "kafka_brokers",
        "broker_3_8_1",
        &broker.release,
        &c.exercised,
    );
}

/// 2.3.1 predates KIP-511 (ApiVersions 0-2, no flexible versions at all). Asked for ApiVersions v3,
/// it answers error 35 in the v0 body layout, like later releases, but with an empty api list
/// (KIP-511 added the ApiVersions entry); its own v2 answers normally.
#[test]
fn broker_2_3_1() {
    let _one = lock();
    let broker = Broker::start("2.3.1");
    let mut c = broker.connect();

    let raw = c.call_raw(&api_versions_request(), 3);
    eprintln!("2.3.1: ApiVersions v3 answer body: {}", hex::encode(&raw));
    let av = ApiVersionsResponse::decode_bytes(raw.clone(), 0).unwrap_or_else(|e| {
        panic!(
            "2.3.1: ApiVersions v3 answer is not a v0 body: {e}: {}",
            hex::encode(&raw)
        )
    });
    assert_eq!(av.error_code, UNSUPPORTED_VERSION, "2.3.1: ApiVersions v3");
    assert_eq!(av.api_keys, [], "2.3.1: ApiVersions v3 lists no api keys");

    let av = c.call(&api_versions_request(), 2, 2);
    assert_eq!(av.error_code, 0, "2.3.1: ApiVersions v2");
    check_advertised("2.3.1", &av.api_keys);
    let ours = ApiKey::API_VERSIONS.versions().expect("versions");
    assert!(ours.min <= 2, "kwire still speaks ApiVersions v2");
    exercised::check(
        "kafka_brokers",
        "broker_2_3_1",
        &broker.release,
        &c.exercised,
    );
}
