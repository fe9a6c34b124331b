//! kwire-client at the historic versions Kafka 4.0 removed (KIP-896), on real peers:
//!
//! * [`kafka_2_3_1_capped_to_produce_2_fetch_3`]: a REAL Kafka 2.3.1 broker (it advertises Produce
//!   0-7, Fetch 0-11), the client capped to Produce v2 and Fetch v3 (`ClientConfig::cap`): Produce
//!   v0, v1 and v2 (per-request caps below that) carry legacy message sets (magic 0 for v0/v1,
//!   magic 1 for v2; [`LegacyMessageSetBuilder`]); Fetch v3 and, per-request capped, v0 read them
//!   back (magic 1 and 0); kcat reads the topic back too. Uncapped, the same client negotiates the
//!   highest common version (Produce 7, Fetch 11), so the historic versions in kwire's table never
//!   displace newer ones.
//! * [`librdkafka_mock_restricted_to_produce_0_2_fetch_0_3`]: librdkafka's mock cluster (2.0.2 and
//!   2.16.0) restricted to Produce 0..2 and Fetch 0..3: the client negotiates exactly v2 and v3.
//!   A record batch at Produce v2 is stored by both; a legacy magic 1 set at Produce v2 is refused
//!   by 2.0.2's mock (UNSUPPORTED_VERSION: it stores only MsgVersion 2) and stored by 2.16.0's.
//!   Fetch v3 (one stored entry per answer) returns what was stored, both formats for 2.16.0, and
//!   kcat reads it back.
//!
//! Brokers start on 127.0.0.1 and stop from Drop guards; a missing JDK, Maven, kcat or mock harness
//! fails the test with the command to run.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::messages::create_topics_request::CreatableTopic;
use kwire::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire::messages::metadata_request::MetadataRequestTopic;
use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{
    CreateTopicsRequest, FetchRequest, FetchResponse, MetadataRequest, ProduceRequest,
};
use kwire::records::{
    decode_batches, produce_magic, Compression, DecodeOptions, LegacyMessageSetBuilder,
    RecordBatchBuilder,
};
use kwire::{ApiKey, Bytes, ErrorCode, Request, StrBytes};
use kwire_client::{Broker, ClientConfig, SendOptions, Sent};
use support::kafka::{lock, runtime, KafkaBroker};
use support::peers::{Librdkafka, MockCluster};

const TS: i64 = 1_700_000_000_000;

fn client(addr: &str, caps: &[(ApiKey, i16)]) -> Broker {
    let mut cfg = ClientConfig::default();
    for &(api, max) in caps {
        cfg = cfg.cap(api, max);
    }
    cfg.conn.request_timeout = Duration::from_secs(30);
    Broker::new(addr, None, Arc::new(cfg))
}

fn capped(max: i16) -> SendOptions {
    SendOptions {
        max_version: Some(max),
        ..SendOptions::default()
    }
}

async fn send<R: Request + 'static>(b: &Broker, req: &R, opts: &SendOptions) -> Sent<R::Response> {
    b.send_with(req, opts)
        .await
        .unwrap_or_else(|e| panic!("{:?} to {}: {e}", R::API_KEY, b.name()))
}

fn err(code: i16) -> String {
    ErrorCode(code).to_string()
}

fn kv(i: usize) -> (String, String) {
    (format!("key-{i}"), format!("value-{i} ✓"))
}

fn legacy(version: i16, codec: Compression, range: std::ops::Range<usize>) -> Bytes {
    let mut b = LegacyMessageSetBuilder::new(produce_magic(version), 0)
        .expect("legacy magic")
        .compression(codec);
    for i in range {
        let (k, v) = kv(i);
        b.append(TS + i as i64, Some(k.as_bytes()), Some(v.as_bytes()))
            .expect("append");
    }
    b.build().expect("build")
}

fn produce_request(topic: &str, records: Bytes) -> ProduceRequest {
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from(topic.to_string());
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = -1;
    r.timeout_ms = 30_000;
    r.topic_data = vec![t];
    r
}

fn fetch_request(topic: &str, offset: i64) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = StrBytes::from(topic.to_string());
    t.partitions = vec![p];
    let mut r = FetchRequest::default();
    r.replica_id = -1;
    r.max_wait_ms = 500;
    r.min_bytes = 1;
    r.max_bytes = 1 << 20;
    r.topics = vec![t];
    r
}

/// (magic, offset, key, value) of every record of a Fetch answer's only partition.
fn fetched(resp: &FetchResponse) -> Vec<(i8, i64, String, String)> {
    let part = &resp.responses[0].partitions[0];
    assert_eq!(part.error_code, 0, "Fetch: {}", err(part.error_code));
    let Some(bytes) = part.records.clone() else {
        return Vec::new();
    };
    let opts = DecodeOptions::default();
    let decoded = decode_batches(bytes, &opts).expect("decode_batches");
    let mut out = Vec::new();
    for b in &decoded.batches {
        for r in b.records(&opts).expect("records") {
            let s =
                |b: Option<Bytes>| String::from_utf8(b.expect("present").to_vec()).expect("utf-8");
            out.push((b.magic(), r.offset, s(r.key), s(r.value)));
        }
    }
    out
}

fn kcat_reads(bootstrap: &str, topic: &str) -> Vec<String> {
    let kcat = std::env::var("KWIRE_KCAT").unwrap_or_else(|_| "kcat".into());
    let out = Command::new(&kcat)
        .args(["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"])
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

async fn create_topic(b: &Broker, topic: &str) {
    let mut t = CreatableTopic::default();
    t.name = StrBytes::from(topic.to_string());
    t.num_partitions = 1;
    t.replication_factor = 1;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 30_000;
    let sent = send(b, &r, &SendOptions::default()).await;
    let code = sent.response.topics[0].error_code;
    assert_eq!(code, 0, "CreateTopics: {}", err(code));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut mt = MetadataRequestTopic::default();
        mt.name = Some(StrBytes::from(topic.to_string()));
        let mut m = MetadataRequest::default();
        m.topics = Some(vec![mt]);
        let sent = send(b, &m, &SendOptions::default()).await;
        let t = &sent.response.topics[0];
        if t.error_code == 0 && t.partitions.first().is_some_and(|p| p.leader_id >= 0) {
            return;
        }
        assert!(Instant::now() < deadline, "{topic}: no leader after 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn kafka_2_3_1_capped_to_produce_2_fetch_3() {
    let _g = lock();
    let kafka = KafkaBroker::start("2.3.1", None);
    let topic = "kwire-historic-client";
    runtime().block_on(async {
        // Uncapped: the historic versions in kwire's table change nothing, the highest common
        // version wins.
        let free = client(&kafka.bootstrap, &[]);
        let n = free.connection().await.expect("negotiate with 2.3.1");
        let adv = |api: ApiKey| n.versions.get(api).expect("advertised");
        assert_eq!((adv(ApiKey::PRODUCE).min, adv(ApiKey::PRODUCE).max), (0, 7));
        assert_eq!((adv(ApiKey::FETCH).min, adv(ApiKey::FETCH).max), (0, 11));
        create_topic(&free, topic).await;
        let f = send(&free, &fetch_request(topic, 0), &SendOptions::default()).await;
        assert_eq!(f.version, 11, "uncapped Fetch: {}", f.choice.why());

        let b = client(
            &kafka.bootstrap,
            &[(ApiKey::PRODUCE, 2), (ApiKey::FETCH, 3)],
        );
        let mut produced = 0usize;
        // kwire-client builds kwire without codecs: uncompressed sets here (the codecs are
        // covered against 2.3.1 by the protocol crate's tests/kafka_historic.rs).
        for (max, codec) in [
            (2, Compression::None),
            (1, Compression::None),
            (0, Compression::None),
        ] {
            let version = max;
            let req = produce_request(topic, legacy(version, codec, produced..produced + 3));
            let sent = send(&b, &req, &capped(max)).await;
            assert_eq!(sent.version, version, "Produce: {}", sent.choice.why());
            let p = &sent.response.responses[0].partition_responses[0];
            assert_eq!(
                p.error_code,
                0,
                "Produce v{version} {codec:?}: {}",
                err(p.error_code)
            );
            assert_eq!(
                p.base_offset, produced as i64,
                "Produce v{version} base offset"
            );
            produced += 3;
        }

        for (opts, want_version, want_magic) in
            [(SendOptions::default(), 3, 1i8), (capped(0), 0, 0i8)]
        {
            // A down-converted answer may end in a partial message that the next Fetch starts
            // with (KIP-283: the broker converts lazily, within the size it first estimated).
            let mut got: Vec<(i8, i64, String, String)> = Vec::new();
            while got.len() < produced {
                let from = got.last().map_or(0, |r| r.1 + 1);
                let f = send(&b, &fetch_request(topic, from), &opts).await;
                assert_eq!(f.version, want_version, "Fetch: {}", f.choice.why());
                let more = fetched(&f.response);
                assert!(
                    !more.is_empty(),
                    "Fetch v{want_version} from {from}: no progress"
                );
                got.extend(more);
            }
            let want: Vec<(i8, i64, String, String)> = (0..produced)
                .map(|i| {
                    let (k, v) = kv(i);
                    (want_magic, i as i64, k, v)
                })
                .collect();
            assert_eq!(got, want, "Fetch v{want_version}");
        }
    });
    let want: Vec<String> = (0..9)
        .map(|i| {
            let (k, v) = kv(i);
            format!("{i} {k} {v}")
        })
        .collect();
    assert_eq!(kcat_reads(&kafka.bootstrap, topic), want, "kcat");
}

/// Records the mock stores: the batch of 5, and with 2.16.0 the legacy message after it.
fn stored(lib: Librdkafka) -> usize {
    match lib {
        Librdkafka::V2_0 => 5,
        Librdkafka::V2_16 => 6,
    }
}

#[test]
fn librdkafka_mock_restricted_to_produce_0_2_fetch_0_3() {
    for lib in [Librdkafka::V2_0, Librdkafka::V2_16] {
        let mut mock = MockCluster::start(lib, 1, &["0:0:2", "1:0:3"]);
        let topic = "kwire-historic-mock";
        mock.cmd(&format!("t {topic}:1:1"));
        let bootstrap = mock.bootstrap[0].clone();
        runtime().block_on(async {
            let b = client(&bootstrap, &[]);
            let n = b.connection().await.expect("negotiate with the mock");
            let adv = |api: ApiKey| n.versions.get(api).expect("advertised");
            assert_eq!((adv(ApiKey::PRODUCE).min, adv(ApiKey::PRODUCE).max), (0, 2));
            assert_eq!((adv(ApiKey::FETCH).min, adv(ApiKey::FETCH).max), (0, 3));
            let mut batch = RecordBatchBuilder::new(0);
            for i in 0..5 {
                let (k, v) = kv(i);
                batch
                    .append(TS + i as i64, Some(k.as_bytes()), Some(v.as_bytes()), &[])
                    .expect("append");
            }
            let req = produce_request(topic, batch.build().expect("batch"));
            let sent = send(&b, &req, &SendOptions::default()).await;
            assert_eq!(sent.version, 2, "{lib:?} Produce: {}", sent.choice.why());
            let p = &sent.response.responses[0].partition_responses[0];
            assert_eq!(p.error_code, 0, "{lib:?} Produce v2: {}", err(p.error_code));
            // A legacy (magic 1) set at Produce v2: librdkafka 2.0.2's mock stores only
            // MsgVersion 2 and refuses it with UNSUPPORTED_VERSION (appending nothing); 2.16.0's
            // stores it (magic 1, at offset 5).
            let legacy_req = produce_request(topic, legacy(2, Compression::None, 5..6));
            let answer = send(&b, &legacy_req, &SendOptions::default()).await;
            assert_eq!(answer.version, 2);
            let want_code = match lib {
                Librdkafka::V2_0 => ErrorCode::UNSUPPORTED_VERSION.0,
                Librdkafka::V2_16 => 0,
            };
            assert_eq!(
                answer.response.responses[0].partition_responses[0].error_code, want_code,
                "{lib:?}: a legacy message set at Produce v2"
            );
            // The mock answers one stored batch (or message) per Fetch: fetch on from the next
            // offset until everything stored came back.
            let mut got: Vec<(i64, String, String)> = Vec::new();
            let mut magics = Vec::new();
            while got.len() < stored(lib) {
                let from = got.last().map_or(0, |r| r.0 + 1);
                let f = send(&b, &fetch_request(topic, from), &SendOptions::default()).await;
                assert_eq!(f.version, 3, "{lib:?} Fetch: {}", f.choice.why());
                let more = fetched(&f.response);
                assert!(
                    !more.is_empty(),
                    "{lib:?} Fetch v3 from {from}: no progress"
                );
                for (m, o, k, v) in more {
                    magics.push(m);
                    got.push((o, k, v));
                }
            }
            let want_magics: Vec<i8> = (0..stored(lib))
                .map(|i| if i < 5 { 2 } else { 1 })
                .collect();
            assert_eq!(magics, want_magics, "{lib:?}: what the mock stored");
            let want: Vec<(i64, String, String)> = (0..stored(lib))
                .map(|i| {
                    let (k, v) = kv(i);
                    (i as i64, k, v)
                })
                .collect();
            assert_eq!(got, want, "{lib:?} Fetch v3");
        });
        assert_eq!(
            mock.received("Produce"),
            [2, 2],
            "{lib:?}: Produce versions the mock got"
        );
        assert!(
            mock.received("Fetch").contains(&3),
            "{lib:?}: {:?}",
            mock.received("Fetch")
        );
        let want: Vec<String> = (0..stored(lib))
            .map(|i| {
                let (k, v) = kv(i);
                format!("{i} {k} {v}")
            })
            .collect();
        assert_eq!(kcat_reads(&bootstrap, topic), want, "{lib:?}: kcat");
    }
}
