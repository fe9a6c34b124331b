//! Historic versions (KIP-896 removed them in 4.0; kwire takes their layouts from 3.9.2's
//! schemas) against a REAL Kafka 2.3.1 broker, with kwire's codecs only (no client): CreateTopics
//! v0, Produce v0, v1 and v2 carrying legacy message sets written by
//! [`LegacyMessageSetBuilder`] (magic 0 for Produce v0/v1, magic 1 for v2, uncompressed and in
//! gzip, snappy and lz4 wrappers), then Fetch v0, v1, v2 and v3 of everything, checked record for
//! record: the broker (message format 2.3, so it stores record batches) converts what it stores
//! down to magic 0 for Fetch v0/v1 and magic 1 for v2/v3. Finally kcat (librdkafka, its own
//! negotiation) reads the topic back. The exchanges decoded at the version sent are checked against
//! `tests/exercised/kafka_historic.txt` (see docs/releases.md).
//!
//! The broker comes from `testsupport/kafka/broker start --release 2.3.1` and is stopped by a Drop
//! guard; kcat from `client/tests/peers/install.sh`. A missing JDK, Maven or kcat fails the test.

#[path = "support/exercised.rs"]
mod exercised;
#[path = "support/kafka.rs"]
mod kafka;

use std::process::Command;
use std::time::{Duration, Instant};

use kafka::{api_versions_request, lock, Broker, Conn};
use kwire::messages::create_topics_request::CreatableTopic;
use kwire::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire::messages::metadata_request::MetadataRequestTopic;
use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{CreateTopicsRequest, FetchRequest, MetadataRequest, ProduceRequest};
use kwire::records::{
    decode_batches, fetch_magic, produce_magic, Batch, Compression, DecodeOptions,
    LegacyMessageSetBuilder, NO_TIMESTAMP,
};
use kwire::{ApiKey, Bytes, ErrorCode, StrBytes};

const TOPIC: &str = "kwire-historic";
const TS: i64 = 1_700_000_000_000;

/// What each Produce request carries: (version, codec, first message number).
const PRODUCES: &[(i16, Compression, usize)] = &[
    (0, Compression::None, 0),
    (1, Compression::Gzip, 3),
    (2, Compression::None, 6),
    (2, Compression::Snappy, 9),
    (2, Compression::Lz4, 12),
    (0, Compression::Lz4, 15),
];
const PER_PRODUCE: usize = 3;

fn key(i: usize) -> String {
    format!("key-{i}")
}

fn value(i: usize) -> String {
    format!("value-{i} ✓")
}

fn records(version: i16, codec: Compression, first: usize) -> Bytes {
    let mut b = LegacyMessageSetBuilder::new(produce_magic(version), 0)
        .expect("legacy magic")
        .compression(codec);
    for i in first..first + PER_PRODUCE {
        b.append(
            TS + i as i64,
            Some(key(i).as_bytes()),
            Some(value(i).as_bytes()),
        )
        .expect("append");
    }
    b.build().expect("build")
}

fn err(code: i16) -> String {
    ErrorCode(code).to_string()
}

fn create_topic(c: &mut Conn) {
    let mut t = CreatableTopic::default();
    t.name = StrBytes::from_static(TOPIC);
    t.num_partitions = 1;
    t.replication_factor = 1;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 30_000;
    let resp = c.call(&r, 0, 0);
    assert_eq!(&*resp.topics[0].name, TOPIC);
    assert_eq!(
        resp.topics[0].error_code,
        0,
        "CreateTopics v0: {}",
        err(resp.topics[0].error_code)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut mt = MetadataRequestTopic::default();
        mt.name = Some(StrBytes::from_static(TOPIC));
        let mut m = MetadataRequest::default();
        m.topics = Some(vec![mt]);
        let resp = c.call(&m, 1, 1);
        let t = &resp.topics[0];
        if t.error_code == 0 && t.partitions.first().is_some_and(|p| p.leader_id >= 0) {
            return;
        }
        assert!(Instant::now() < deadline, "{TOPIC}: no leader after 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn produce(c: &mut Conn, version: i16, codec: Compression, first: usize) -> i64 {
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records(version, codec, first));
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from_static(TOPIC);
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = -1;
    r.timeout_ms = 30_000;
    r.topic_data = vec![t];
    let resp = c.call(&r, version, version);
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(
        p.error_code,
        0,
        "Produce v{version} ({codec:?}): {}",
        err(p.error_code)
    );
    p.base_offset
}

/// Every record of one Fetch at `version` from `offset`: (offset, timestamp, key, value), and the
/// magic of every message set entry (a trailing partial entry is left for the next Fetch).
/// (offset, timestamp, key, value).
type Fetched = (i64, i64, String, String);

fn fetch(c: &mut Conn, version: i16, offset: i64) -> (Vec<Fetched>, Vec<i8>) {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = StrBytes::from_static(TOPIC);
    t.partitions = vec![p];
    let mut r = FetchRequest::default();
    r.replica_id = -1;
    r.max_wait_ms = 500;
    r.min_bytes = 1;
    r.max_bytes = 1 << 20;
    r.topics = vec![t];
    let resp = c.call(&r, version, version);
    let part = &resp.responses[0].partitions[0];
    assert_eq!(
        part.error_code,
        0,
        "Fetch v{version}: {}",
        err(part.error_code)
    );
    let bytes = part.records.clone().expect("records");
    let opts = DecodeOptions::default();
    let decoded = decode_batches(bytes, &opts).expect("decode_batches");
    let mut magics = Vec::new();
    let mut out = Vec::new();
    for b in &decoded.batches {
        magics.push(b.magic());
        assert!(
            matches!(b, Batch::Legacy(_)),
            "Fetch v{version}: a record batch"
        );
        for r in b.records(&opts).expect("records") {
            let s =
                |b: Option<Bytes>| String::from_utf8(b.expect("present").to_vec()).expect("utf-8");
            out.push((r.offset, r.timestamp, s(r.key), s(r.value)));
        }
    }
    (out, magics)
}

fn kcat_reads(bootstrap: &str) -> Vec<String> {
    let kcat = std::env::var("KWIRE_KCAT").unwrap_or_else(|_| "kcat".into());
    let out = Command::new(&kcat)
        .args(["-C", "-b", bootstrap, "-t", TOPIC, "-o", "beginning", "-e", "-q"])
        .args(["-f", "%o %k %s\\n", "-m", "30"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {kcat}: {e}; install the test peers with `bash client/tests/peers/install.sh` \
                 (or set KWIRE_KCAT)"
            )
        });
    assert!(
        out.status.success(),
        "kcat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn broker_2_3_1_historic_produce_and_fetch() {
    let _one = lock();
    let broker = Broker::start("2.3.1");
    let mut c = broker.connect();
    let av = c.call(&api_versions_request(), 2, 2);
    assert_eq!(av.error_code, 0);
    let min = |key: ApiKey| {
        av.api_keys
            .iter()
            .find(|k| k.api_key == key.0)
            .map(|k| k.min_version)
    };
    assert_eq!(
        (min(ApiKey::PRODUCE), min(ApiKey::FETCH)),
        (Some(0), Some(0))
    );
    let ours = |key: ApiKey| key.versions().expect("versions").min;
    assert_eq!(
        (ours(ApiKey::PRODUCE), ours(ApiKey::FETCH)),
        (0, 0),
        "kwire's historic minima"
    );

    create_topic(&mut c);
    let mut next = 0;
    for &(version, codec, first) in PRODUCES {
        let base = produce(&mut c, version, codec, first);
        assert_eq!(base, next, "Produce v{version} ({codec:?}) base offset");
        next += PER_PRODUCE as i64;
    }
    let total = PRODUCES.len() * PER_PRODUCE;
    for version in 0..=3 {
        // A down-converted answer may end in a partial message that the next Fetch starts with
        // (KIP-283: the broker converts lazily, within the size it first estimated).
        let (mut got, mut magics) = (Vec::new(), Vec::new());
        for _ in 0..total {
            let from = got
                .last()
                .map_or(0, |r: &(i64, i64, String, String)| r.0 + 1);
            if from >= total as i64 {
                break;
            }
            let (more, m) = fetch(&mut c, version, from);
            assert!(
                !more.is_empty(),
                "Fetch v{version} from {from}: no progress"
            );
            got.extend(more);
            magics.extend(m);
        }
        assert!(
            magics.iter().all(|&m| m == fetch_magic(version)),
            "Fetch v{version}: magics {magics:?}, want {}",
            fetch_magic(version)
        );
        let want: Vec<(i64, i64, String, String)> = (0..total)
            .map(|i| {
                // Timestamps survive where a magic 1 message carried one (Produce v2) and the
                // answer has room for them (Fetch v2+).
                let produced_at = PRODUCES[i / PER_PRODUCE].0;
                let ts = if version >= 2 && produced_at >= 2 {
                    TS + i as i64
                } else {
                    NO_TIMESTAMP
                };
                (i as i64, ts, key(i), value(i))
            })
            .collect();
        assert_eq!(got, want, "Fetch v{version}");
    }

    let kcat: Vec<String> = kcat_reads(&format!("127.0.0.1:{}", broker.port));
    let want: Vec<String> = (0..total)
        .map(|i| format!("{i} {} {}", key(i), value(i)))
        .collect();
    assert_eq!(kcat, want, "kcat's view of the topic");

    exercised::check(
        "kafka_historic",
        "broker_2_3_1_historic",
        &broker.release,
        &c.exercised,
    );
}
