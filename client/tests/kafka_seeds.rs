//! The seed scenarios (negotiation, produce/fetch, groups, transactions) against REAL Apache Kafka brokers, through kwire-client.
//!
//! Each test starts its own single-node broker with `testsupport/kafka/broker start --release R`
//! (see testsupport/kafka/README.md), one at a time behind a mutex (the machine has two cores), and
//! stops it from a Drop guard (`broker stop --dir D --clean`), also when an assertion fails. Every
//! request goes through [`kwire_client::Broker::send_with`]; the version the client chose is read
//! from the returned [`kwire_client::Sent`] (`version`, `choice`) and checked against the
//! connection's negotiated table (`Broker::connection().versions`), together with the broker's
//! answers.
//!
//! * [`seed_sarama_kafka_2_3_1`]: ApiVersions at our highest version gets error 35 with an empty list
//!   (pre-KIP-511), the client retries v0 on the same connection; Fetch ≤ 11, Produce ≤ 7,
//!   Metadata ≤ 8, each exactly min(ours, broker); CreateTopics → Produce (a kwire
//!   RecordBatchBuilder batch) → Fetch → decode_batches, keys and values compared.
//! * [`seed_franz_go_1_19_0_kafka_3_8_1`]: the KIP-511 reply (key 18 only, max 3) to our v5 → v3 →
//!   the same round trip at min(ours, broker) (Fetch v16 by topic id).
//! * [`seed_franz_go_1_19_1_kafka_4_4_0_tv1`]: 4.4.0 formatted with transaction.version=1 advertises
//!   Produce v13 / EndTxn v5, yet the transactional producer goes FindCoordinator(key type 1) →
//!   InitProducerId → AddPartitionsToTxn (v3) → Produce v11 → EndTxn v4 (commit, to the
//!   coordinator), and a read_committed Fetch returns the records.
//! * [`seed_kip_890_kafka_4_4_0_tv2`]: with transaction.version=2 no AddPartitionsToTxn is sent;
//!   Produce v13 adds the partition implicitly, EndTxn v5 commits and returns the bumped epoch.
//! * [`newest_4_4_0_every_client_api_at_min_of_ours_and_broker`]: ApiVersions, Metadata,
//!   CreateTopics, Produce, Fetch, ListOffsets, FindCoordinator, DescribeConfigs, DescribeCluster,
//!   DeleteTopics each answer at exactly min(ours, broker), no error 35 / 42 anywhere.
//!
//! Without java/mvn (or Maven Central for a cold cache) the tests fail, naming the command to run.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire::messages::create_topics_request::CreatableTopic;
use kwire::messages::delete_topics_request::DeleteTopicState;
use kwire::messages::describe_configs_request::DescribeConfigsResource;
use kwire::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kwire::messages::metadata_request::MetadataRequestTopic;
use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{
    AddPartitionsToTxnRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeClusterRequest,
    DescribeConfigsRequest, EndTxnRequest, FetchRequest, FetchResponse, FindCoordinatorRequest,
    InitProducerIdRequest, ListOffsetsRequest, MetadataRequest, MetadataResponse, ProduceRequest,
};
use kwire::records::{decode_batches, Batch, DecodeOptions, RecordBatchBuilder};
use kwire::{ApiKey, Bytes, ErrorCode, Request, StrBytes, Uuid};
use kwire_client::protocol::api::{api_name, our_range};
use kwire_client::{Broker, Choice, ClientConfig, Negotiated, SendOptions, Sent};
use support::kafka::{lock, runtime, KafkaBroker};

fn client(addr: &str) -> Broker {
    let mut cfg = ClientConfig::default();
    cfg.conn.request_timeout = Duration::from_secs(30);
    Broker::new(addr, None, Arc::new(cfg))
}

fn our_max(api: ApiKey) -> i16 {
    our_range(api)
        .unwrap_or_else(|| panic!("{}: not in our table", api_name(api)))
        .max
}

fn err(code: i16) -> String {
    ErrorCode(code).to_string()
}

/// Sends `req` with `opts`, failing the test with the client's error.
async fn send<R: Request + 'static>(b: &Broker, req: &R, opts: &SendOptions) -> Sent<R::Response> {
    b.send_with(req, opts)
        .await
        .unwrap_or_else(|e| panic!("{} to {}: {e}", api_name(R::API_KEY), b.name()))
}

/// The choice must be exactly min(ours, broker's advertised max on this connection), with no cap
/// or gate involved.
fn assert_min_of_ours_and_broker(n: &Negotiated, choice: &Choice) -> i16 {
    let api = choice.api;
    let broker = n
        .versions
        .get(api)
        .unwrap_or_else(|| panic!("{}: not advertised", api_name(api)));
    let want = our_max(api).min(broker.max);
    assert_eq!(
        choice.version,
        want,
        "{}: chose v{} but min(ours {}, broker {}) is v{want}: {}",
        api_name(api),
        choice.version,
        our_max(api),
        broker.max,
        choice.why()
    );
    assert_eq!(choice.highest_common, want, "{}", choice.why());
    assert!(
        !choice.gated(),
        "{}: gated: {}",
        api_name(api),
        choice.why()
    );
    want
}

fn assert_no_version_error(api: ApiKey, code: i16) {
    assert!(
        code != ErrorCode::UNSUPPORTED_VERSION.0 && code != ErrorCode::INVALID_REQUEST.0,
        "{}: {}",
        api_name(api),
        err(code)
    );
}

fn assert_ok(what: &str, code: i16, message: Option<&StrBytes>) {
    assert_eq!(code, 0, "{what}: {} ({message:?})", err(code));
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn records() -> Vec<(String, String)> {
    (0..5)
        .map(|i| (format!("key-{i}"), format!("value-{i} ✓")))
        .collect()
}

/// A v2 batch of [`records`], transactional when `producer` is given.
fn batch(producer: Option<(i64, i16)>) -> Bytes {
    let mut b = RecordBatchBuilder::new(0);
    if let Some((id, epoch)) = producer {
        b = b.producer(id, epoch, 0).transactional(true);
    }
    for (k, v) in records() {
        b.append(
            1_700_000_000_000,
            Some(k.as_bytes()),
            Some(v.as_bytes()),
            &[],
        )
        .expect("append");
    }
    b.build().expect("build batch")
}

fn create_topics_request(topic: &str) -> CreateTopicsRequest {
    let mut t = CreatableTopic::default();
    t.name = StrBytes::from(topic.to_string());
    t.num_partitions = 1;
    t.replication_factor = 1;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 30_000;
    r
}

fn metadata_request(topic: &str) -> MetadataRequest {
    let mut t = MetadataRequestTopic::default();
    t.name = Some(StrBytes::from(topic.to_string()));
    let mut r = MetadataRequest::default();
    r.topics = Some(vec![t]);
    r.allow_auto_topic_creation = false;
    r
}

/// Creates `topic` (1 partition) and waits until Metadata shows its leader; returns the
/// CreateTopics version and the last Metadata answer (with the topic id on 2.8+).
async fn create_topic(b: &Broker, n: &Negotiated, topic: &str) -> (i16, Sent<MetadataResponse>) {
    let sent = send(b, &create_topics_request(topic), &SendOptions::default()).await;
    let create_v = assert_min_of_ours_and_broker(n, &sent.choice);
    let t = &sent.response.topics[0];
    assert_eq!(&*t.name, topic);
    assert_ok("CreateTopics", t.error_code, t.error_message.as_ref());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = send(b, &metadata_request(topic), &SendOptions::default()).await;
        assert_min_of_ours_and_broker(n, &m.choice);
        let t = &m.response.topics[0];
        if t.error_code == 0 && t.partitions.first().is_some_and(|p| p.leader_id >= 0) {
            return (create_v, m);
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: no leader after 30 s: {}",
            err(t.error_code)
        );
        sleep_ms(200).await;
    }
}

fn produce_request(
    topic: &str,
    topic_id: Uuid,
    records: Bytes,
    transactional_id: Option<&str>,
) -> ProduceRequest {
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from(topic.to_string());
    t.topic_id = topic_id;
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.transactional_id = transactional_id.map(|s| StrBytes::from(s.to_string()));
    r.acks = -1;
    r.timeout_ms = 30_000;
    r.topic_data = vec![t];
    r
}

/// Produces; retries (a new request) while the leader is still being elected. Returns the
/// reply's base offset and how the version was chosen.
async fn produce(b: &Broker, req: &ProduceRequest) -> (i64, Choice) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = send(b, req, &SendOptions::default()).await;
        let p = &sent.response.responses[0].partition_responses[0];
        assert_no_version_error(ApiKey::PRODUCE, p.error_code);
        // UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER: not written.
        if [3, 5, 6].contains(&p.error_code) && Instant::now() < deadline {
            sleep_ms(200).await;
            continue;
        }
        assert_ok("Produce", p.error_code, p.error_message.as_ref());
        assert!(p.base_offset >= 0, "base offset {}", p.base_offset);
        return (p.base_offset, sent.choice);
    }
}

fn fetch_request(topic: &str, topic_id: Uuid, offset: i64, isolation_level: i8) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = StrBytes::from(topic.to_string());
    t.topic_id = topic_id;
    t.partitions = vec![p];
    let mut r = FetchRequest::default();
    r.max_wait_ms = 500;
    r.min_bytes = 1;
    r.max_bytes = 1 << 20;
    r.isolation_level = isolation_level;
    r.session_id = 0;
    r.session_epoch = -1;
    r.topics = vec![t];
    r
}

/// The data records (control batches skipped) of a Fetch answer's only partition.
fn fetched(resp: &FetchResponse) -> Vec<(String, String)> {
    assert_ok("Fetch (top level)", resp.error_code, None);
    let part = &resp.responses[0].partitions[0];
    assert_no_version_error(ApiKey::FETCH, part.error_code);
    assert_ok("Fetch", part.error_code, None);
    let Some(bytes) = part.records.clone() else {
        return Vec::new();
    };
    let decoded = decode_batches(bytes, &DecodeOptions::default()).expect("decode_batches");
    let mut out = Vec::new();
    for b in &decoded.batches {
        let Batch::V2(rb) = b else {
            panic!("a legacy message set from a v2 producer: {b:?}")
        };
        if rb.header.is_control() {
            continue;
        }
        for r in rb
            .decode_records(&DecodeOptions::default())
            .expect("records")
        {
            let s =
                |b: Option<Bytes>| String::from_utf8(b.expect("present").to_vec()).expect("utf-8");
            out.push((s(r.key), s(r.value)));
        }
    }
    out
}

/// Fetches from `offset` until the records appear (read_committed waits for the commit marker).
async fn fetch_until(
    b: &Broker,
    n: &Negotiated,
    req: &FetchRequest,
    gated_ok: bool,
) -> (Vec<(String, String)>, Sent<FetchResponse>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = send(b, req, &SendOptions::default()).await;
        if !gated_ok {
            assert_min_of_ours_and_broker(n, &sent.choice);
        }
        let got = fetched(&sent.response);
        if !got.is_empty() || Instant::now() >= deadline {
            return (got, sent);
        }
        sleep_ms(200).await;
    }
}

/// Produce then Fetch of [`records`] on a fresh topic, both at min(ours, broker).
async fn round_trip(b: &Broker, n: &Negotiated, topic: &str) -> (i16, i16, i16) {
    let (_, m) = create_topic(b, n, topic).await;
    let topic_id = m.response.topics[0].topic_id;
    let (base, produce_choice) =
        produce(b, &produce_request(topic, topic_id, batch(None), None)).await;
    let produce_v = assert_min_of_ours_and_broker(n, &produce_choice);
    let (got, f) = fetch_until(b, n, &fetch_request(topic, topic_id, base, 0), false).await;
    assert_eq!(got, records(), "Fetch v{} from offset {base}", f.version);
    (m.version, produce_v, f.version)
}

#[test]
fn seed_sarama_kafka_2_3_1() {
    let _g = lock();
    let kafka = KafkaBroker::start("2.3.1", None);
    runtime().block_on(async {
        let b = client(&kafka.bootstrap);
        let n = b.connection().await.expect("negotiate with 2.3.1");
        // Error 35 with an empty list to our highest version, then v0 on the same connection.
        let ours = our_max(ApiKey::API_VERSIONS);
        assert!(ours >= 3);
        assert_eq!(n.attempts.len(), 2, "{:?}", n.attempts);
        assert_eq!((n.attempts[0].connection, n.attempts[0].version), (1, ours));
        assert!(
            n.attempts[0]
                .result
                .contains("UNSUPPORTED_VERSION without key 18"),
            "{:?}",
            n.attempts
        );
        assert_eq!((n.attempts[1].connection, n.attempts[1].version), (1, 0));
        assert_eq!(n.attempts[1].result, "ok");
        assert_eq!(n.api_versions_sent, Some(0));
        let adv = |api| n.versions.get(api).expect("advertised").max;
        assert_eq!(
            (
                adv(ApiKey::FETCH),
                adv(ApiKey::PRODUCE),
                adv(ApiKey::METADATA)
            ),
            (11, 7, 8),
            "2.3's maxima"
        );

        let (metadata_v, produce_v, fetch_v) = round_trip(&b, &n, "kwire-seed-sarama").await;
        assert_eq!((metadata_v, produce_v, fetch_v), (8, 7, 11));
        assert_eq!(
            n.generation,
            b.connection().await.unwrap().generation,
            "no reconnect"
        );
    });
}

#[test]
fn seed_franz_go_1_19_0_kafka_3_8_1() {
    let _g = lock();
    let kafka = KafkaBroker::start("3.8.1", None);
    runtime().block_on(async {
        let b = client(&kafka.bootstrap);
        let n = b.connection().await.expect("negotiate with 3.8.1");
        let ours = our_max(ApiKey::API_VERSIONS);
        assert!(ours >= 4, "the seed needs ApiVersions v4+ on our side");
        assert_eq!(n.attempts.len(), 2, "{:?}", n.attempts);
        assert_eq!((n.attempts[0].connection, n.attempts[0].version), (1, ours));
        assert!(
            n.attempts[0]
                .result
                .contains("broker advertises ApiVersions max v3 (KIP-511)"),
            "{:?}",
            n.attempts
        );
        assert_eq!(
            (
                n.attempts[1].connection,
                n.attempts[1].version,
                n.attempts[1].result.as_str()
            ),
            (1, 3, "ok")
        );
        assert_eq!(n.api_versions_sent, Some(3));
        assert_eq!(n.versions.get(ApiKey::API_VERSIONS).map(|r| r.max), Some(3));

        let (metadata_v, produce_v, fetch_v) = round_trip(&b, &n, "kwire-seed-franz").await;
        // 3.8.1: Metadata 0-12, Produce 0-11, Fetch 0-16 (by topic id from Metadata v10+).
        assert_eq!((metadata_v, produce_v, fetch_v), (12, 11, 16));
        assert_eq!(
            n.generation,
            b.connection().await.unwrap().generation,
            "no reconnect"
        );
    });
}

/// FindCoordinator for a transactional id (key type 1), retried while the coordinator loads.
async fn find_txn_coordinator(b: &Broker, n: &Negotiated, txn: &str) -> (String, i16) {
    let mut req = FindCoordinatorRequest::default();
    req.key_type = 1;
    req.coordinator_keys = vec![StrBytes::from(txn.to_string())];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = send(b, &req, &SendOptions::default()).await;
        assert_min_of_ours_and_broker(n, &sent.choice);
        let r = &sent.response;
        let c = &r.coordinators[0];
        assert_no_version_error(ApiKey::FIND_COORDINATOR, c.error_code);
        // COORDINATOR_NOT_AVAILABLE while __transaction_state is created.
        if c.error_code == 15 && Instant::now() < deadline {
            sleep_ms(250).await;
            continue;
        }
        assert_ok("FindCoordinator", c.error_code, c.error_message.as_ref());
        assert_eq!(&*c.key, txn);
        return (format!("{}:{}", &*c.host, c.port), sent.version);
    }
}

/// InitProducerId for `txn`, retried on COORDINATOR_LOAD_IN_PROGRESS / CONCURRENT_TRANSACTIONS /
/// NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE.
async fn init_producer_id(b: &Broker, n: &Negotiated, txn: &str) -> (i64, i16) {
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = Some(StrBytes::from(txn.to_string()));
    req.transaction_timeout_ms = 60_000;
    req.producer_id = -1;
    req.producer_epoch = -1;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = send(b, &req, &SendOptions::default()).await;
        assert_min_of_ours_and_broker(n, &sent.choice);
        let r = &sent.response;
        assert_no_version_error(ApiKey::INIT_PRODUCER_ID, r.error_code);
        if [14, 15, 16, 51].contains(&r.error_code) && Instant::now() < deadline {
            sleep_ms(250).await;
            continue;
        }
        assert_ok("InitProducerId", r.error_code, None);
        assert!(r.producer_id >= 0 && r.producer_epoch >= 0, "{r:?}");
        return (r.producer_id, r.producer_epoch);
    }
}

/// The transactional seed on 4.4.0 with `transaction_version` finalized; returns the versions of
/// (Produce, EndTxn) used.
async fn transactional_commit(kafka: &KafkaBroker, tv: i16) -> (i16, i16) {
    let b = client(&kafka.bootstrap);
    let n = b.connection().await.expect("negotiate with 4.4.0");
    assert_eq!(
        n.versions.transaction_version(),
        tv,
        "finalized transaction.version"
    );
    let adv = |api| n.versions.get(api).expect("advertised").max;
    assert!(
        adv(ApiKey::PRODUCE) >= 12,
        "4.4 advertises Produce v12+ whatever the TV"
    );
    assert_eq!(
        adv(ApiKey::END_TXN),
        5,
        "4.4 advertises EndTxn v5 whatever the TV"
    );

    let topic = format!("kwire-seed-txn-tv{tv}");
    let txn = format!("kwire-seed-txn-tv{tv}");
    let (_, m) = create_topic(&b, &n, &topic).await;
    let topic_id = m.response.topics[0].topic_id;
    assert!(!topic_id.is_zero());

    let (coord_addr, fc_v) = find_txn_coordinator(&b, &n, &txn).await;
    assert!(fc_v >= 4, "batched FindCoordinator");
    // A single node: the coordinator is this broker (the address it advertises).
    assert_eq!(coord_addr, kafka.bootstrap, "coordinator address");
    let coord = client(&coord_addr);
    let cn = coord
        .connection()
        .await
        .expect("negotiate with the coordinator");
    let (pid, epoch) = init_producer_id(&coord, &cn, &txn).await;

    if tv < 2 {
        // KIP-890 part 1 clients add partitions explicitly. AddPartitionsToTxn v4+ is the
        // broker-to-broker batched form (JSON: "Versions 3 and below will be used by clients";
        // Java's forClient caps at v3): the client form must go at v3 although 4.4 advertises v5.
        let mut t = AddPartitionsToTxnTopic::default();
        t.name = StrBytes::from(topic.clone());
        t.partitions = vec![0];
        let mut req = AddPartitionsToTxnRequest::default();
        req.v3_and_below_transactional_id = StrBytes::from(txn.clone());
        req.v3_and_below_producer_id = pid;
        req.v3_and_below_producer_epoch = epoch;
        req.v3_and_below_topics = vec![t];
        let sent = send(&coord, &req, &SendOptions::default()).await;
        assert!(
            cn.versions
                .get(ApiKey::ADD_PARTITIONS_TO_TXN)
                .expect("advertised")
                .max
                > 3
        );
        assert_eq!(sent.version, 3, "{}", sent.choice.why());
        let r = &sent.response;
        assert_ok("AddPartitionsToTxn", r.error_code, None);
        let res = &r.results_by_topic_v3_and_below[0].results_by_partition[0];
        assert_ok(
            "AddPartitionsToTxn partition",
            res.partition_error_code,
            None,
        );
    }

    // The transactional batch goes to the partition leader (the same single node).
    let req = produce_request(&topic, topic_id, batch(Some((pid, epoch))), Some(&txn));
    let (base, produce_choice) = produce(&b, &req).await;
    let produce_max = our_max(ApiKey::PRODUCE).min(adv(ApiKey::PRODUCE));
    assert_eq!(
        produce_choice.highest_common,
        produce_max,
        "{}",
        produce_choice.why()
    );
    if tv < 2 {
        assert_eq!(produce_choice.version, 11, "{}", produce_choice.why());
        assert!(produce_choice.gated(), "{}", produce_choice.why());
    } else {
        assert_eq!(
            produce_choice.version,
            produce_max,
            "{}",
            produce_choice.why()
        );
        assert!(produce_choice.version >= 12 && !produce_choice.gated());
    }

    // Commit at the coordinator.
    let mut end = EndTxnRequest::default();
    end.transactional_id = StrBytes::from(txn.clone());
    end.producer_id = pid;
    end.producer_epoch = epoch;
    end.committed = true;
    let sent = send(&coord, &end, &SendOptions::default()).await;
    let r = &sent.response;
    assert_no_version_error(ApiKey::END_TXN, r.error_code);
    assert_ok("EndTxn", r.error_code, None);
    if tv < 2 {
        assert_eq!(sent.version, 4, "{}", sent.choice.why());
        assert!(sent.choice.gated(), "{}", sent.choice.why());
    } else {
        assert_eq!(sent.version, 5, "{}", sent.choice.why());
        assert!(!sent.choice.gated(), "{}", sent.choice.why());
        // KIP-890 part 2: the epoch is bumped at the end of every transaction.
        assert_eq!((r.producer_id, r.producer_epoch), (pid, epoch + 1), "{r:?}");
    }

    // read_committed sees the records once the commit marker is written.
    // The last stable offset is asked again until it passes the records
    // (a CI run under load saw records with the partition's LSO still 0 in
    // the same answer); 30 s at most.
    let deadline = Instant::now() + Duration::from_secs(30);
    let f = loop {
        let (got, f) = fetch_until(&b, &n, &fetch_request(&topic, topic_id, base, 1), false).await;
        assert_eq!(got, records(), "read_committed Fetch v{}", f.version);
        let lso = f.response.responses[0].partitions[0].last_stable_offset;
        if lso > base || Instant::now() >= deadline {
            break f;
        }
        eprintln!("read_committed Fetch v{}: the records, with the last stable offset still {lso}: asking again", f.version);
        sleep_ms(200).await;
    };
    let part = &f.response.responses[0].partitions[0];
    assert!(
        part.last_stable_offset > base,
        "last stable offset {} after the commit",
        part.last_stable_offset
    );
    assert!(part
        .aborted_transactions
        .as_ref()
        .map_or(true, |a| a.is_empty()));
    (produce_choice.version, sent.version)
}

#[test]
fn seed_franz_go_1_19_1_kafka_4_4_0_tv1() {
    let _g = lock();
    let kafka = KafkaBroker::start("4.4.0", Some(1));
    let used = runtime().block_on(transactional_commit(&kafka, 1));
    assert_eq!(used, (11, 4));
}

#[test]
fn seed_kip_890_kafka_4_4_0_tv2() {
    let _g = lock();
    let kafka = KafkaBroker::start("4.4.0", Some(2));
    let (produce_v, end_txn_v) = runtime().block_on(transactional_commit(&kafka, 2));
    assert!(produce_v >= 12);
    assert_eq!(end_txn_v, 5);
}

#[test]
fn newest_4_4_0_every_client_api_at_min_of_ours_and_broker() {
    let _g = lock();
    let kafka = KafkaBroker::start("4.4.0", None);
    runtime().block_on(async {
        let b = client(&kafka.bootstrap);
        let n = b.connection().await.expect("negotiate with 4.4.0");
        let mut seen = Vec::new();

        // ApiVersions: accepted at min(ours, broker) on the first attempt.
        let av = our_max(ApiKey::API_VERSIONS)
            .min(n.versions.get(ApiKey::API_VERSIONS).expect("key 18").max);
        assert_eq!(n.api_versions_sent, Some(av));
        assert_eq!(n.attempts.len(), 1, "{:?}", n.attempts);
        assert_eq!(
            av,
            our_max(ApiKey::API_VERSIONS),
            "4.4 knows our newest ApiVersions"
        );
        seen.push(("ApiVersions", av));

        // Metadata + CreateTopics (create_topic checks both versions).
        let topic = "kwire-seed-newest";
        let (create_v, m) = create_topic(&b, &n, topic).await;
        seen.push(("CreateTopics", create_v));
        seen.push(("Metadata", assert_min_of_ours_and_broker(&n, &m.choice)));
        let meta = &m.response;
        assert_eq!(meta.brokers.len(), 1);
        let topic_id = meta.topics[0].topic_id;
        assert!(!topic_id.is_zero(), "4.4 gives topic ids");

        // Produce and Fetch by topic id: the topic-id gate does not lower them.
        let (base, pc) = produce(&b, &produce_request(topic, topic_id, batch(None), None)).await;
        seen.push(("Produce", assert_min_of_ours_and_broker(&n, &pc)));
        let (got, f) = fetch_until(&b, &n, &fetch_request(topic, topic_id, base, 0), false).await;
        assert_eq!(got, records());
        seen.push(("Fetch", f.version));

        // ListOffsets: latest offset = base + 5.
        let mut lp = ListOffsetsPartition::default();
        lp.partition_index = 0;
        lp.timestamp = -1;
        let mut lt = ListOffsetsTopic::default();
        lt.name = StrBytes::from(topic);
        lt.partitions = vec![lp];
        let mut lo = ListOffsetsRequest::default();
        lo.replica_id = -1;
        lo.topics = vec![lt];
        lo.timeout_ms = 30_000;
        let s = send(&b, &lo, &SendOptions::default()).await;
        seen.push(("ListOffsets", assert_min_of_ours_and_broker(&n, &s.choice)));
        let p = &s.response.topics[0].partitions[0];
        assert_ok("ListOffsets", p.error_code, None);
        assert_eq!(p.offset, base + records().len() as i64);

        // FindCoordinator for a group (batched form, v4+).
        let mut fc = FindCoordinatorRequest::default();
        fc.key_type = 0;
        fc.coordinator_keys = vec![StrBytes::from_static("kwire-seed-group")];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = send(&b, &fc, &SendOptions::default()).await;
            let v = assert_min_of_ours_and_broker(&n, &s.choice);
            let c = &s.response.coordinators[0];
            assert_no_version_error(ApiKey::FIND_COORDINATOR, c.error_code);
            if c.error_code == 15 && Instant::now() < deadline {
                sleep_ms(250).await;
                continue;
            }
            assert_ok("FindCoordinator", c.error_code, c.error_message.as_ref());
            assert_eq!(format!("{}:{}", &*c.host, c.port), kafka.bootstrap);
            seen.push(("FindCoordinator", v));
            break;
        }

        // DescribeConfigs of the topic.
        let mut res = DescribeConfigsResource::default();
        res.resource_type = 2;
        res.resource_name = StrBytes::from(topic);
        res.configuration_keys = None;
        let mut dc = DescribeConfigsRequest::default();
        dc.resources = vec![res];
        let s = send(&b, &dc, &SendOptions::default()).await;
        seen.push((
            "DescribeConfigs",
            assert_min_of_ours_and_broker(&n, &s.choice),
        ));
        let r = &s.response.results[0];
        assert_ok("DescribeConfigs", r.error_code, r.error_message.as_ref());
        assert!(
            r.configs.iter().any(|c| &*c.name == "cleanup.policy"),
            "cleanup.policy among {} configs",
            r.configs.len()
        );

        // DescribeCluster: this broker, the same cluster id as Metadata.
        let s = send(
            &b,
            &DescribeClusterRequest::default(),
            &SendOptions::default(),
        )
        .await;
        seen.push((
            "DescribeCluster",
            assert_min_of_ours_and_broker(&n, &s.choice),
        ));
        let r = &s.response;
        assert_ok("DescribeCluster", r.error_code, r.error_message.as_ref());
        assert_eq!(Some(&r.cluster_id), meta.cluster_id.as_ref());
        assert_eq!(r.brokers.len(), 1);

        // DeleteTopics by name (v6 form).
        let mut st = DeleteTopicState::default();
        st.name = Some(StrBytes::from(topic));
        let mut dt = DeleteTopicsRequest::default();
        dt.topics = vec![st];
        dt.timeout_ms = 30_000;
        let s = send(&b, &dt, &SendOptions::default()).await;
        seen.push(("DeleteTopics", assert_min_of_ours_and_broker(&n, &s.choice)));
        let r = &s.response.responses[0];
        assert_ok("DeleteTopics", r.error_code, r.error_message.as_ref());

        eprintln!("4.4.0 versions used: {seen:?}");
        assert_eq!(
            n.generation,
            b.connection().await.unwrap().generation,
            "no reconnect"
        );
    });
}
