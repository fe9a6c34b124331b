//! The cluster layer against REAL Apache Kafka brokers (one at a time,
//! started by each test through testsupport/kafka/broker and stopped from a
//! Drop guard): bootstrap from several addresses with a dead one first,
//! metadata with topic ids on 3.8 and 4.x and without on 2.3.1, a
//! Produce/Fetch pair routed through the cluster at each broker's own
//! versions, coordinators found in the batched (v4+) and single-key (v0-3)
//! shapes and coordinator requests routed to them, the cluster feature view
//! on 4.4.0 with transaction.version 1 and 2, and REBOOTSTRAP_REQUIRED from
//! a broker of another cluster at a known node's address (KIP-1242).
//!
//! The 2.3.1 test and the three-node cluster test are the long variant
//! (`KWIRE_LONG=1`): CI meets 2.3.1 and three-node clusters in other tests,
//! and FindCoordinator's single-key shape on librdkafka's mock.
//!
//! Every request goes through `Cluster::send`; the version is read from
//! the returned `Routed` and checked against that broker's negotiated table.
//! Without java/mvn the tests fail with the command to run (never skip).

mod support;

use std::time::{Duration, Instant};

use kwire::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire::messages::create_topics_request::CreatableTopic;
use kwire::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{
    AddPartitionsToTxnRequest, CreateTopicsRequest, EndTxnRequest, FetchRequest,
    InitProducerIdRequest, MetadataRequest, OffsetFetchRequest, ProduceRequest,
};
use kwire::records::{decode_batches, Batch, DecodeOptions, RecordBatchBuilder};
use kwire::{ErrorCode, Request, StrBytes, Uuid};
use kwire_client::cluster::backoff::Backoff;
use kwire_client::cluster::Target;
use kwire_client::protocol::api::{api_name, our_range};
use kwire_client::protocol::find_coordinator::{answers, batched, single};
use kwire_client::protocol::route::{CoordinatorKind, TopicPartition};
use kwire_client::{Cluster, ClusterConfig, NoVersion, Routed, SendOptions};
use support::kafka::{
    cluster_cmd, cluster_cmd_async, lock, runtime, KafkaBroker, KafkaNodes, Start,
};

fn cfg() -> ClusterConfig {
    let mut c = ClusterConfig::default();
    c.client.conn.request_timeout = Duration::from_secs(30);
    c.timeout = Duration::from_secs(60);
    c.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
        jitter: 0.2,
    };
    c
}

/// A port nothing listens on.
fn dead_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Bootstraps with a dead address first.
async fn connect(kafka: &KafkaBroker) -> Cluster {
    let addrs = [dead_address(), kafka.bootstrap.clone()];
    Cluster::connect(&addrs, cfg())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", kafka.release))
}

async fn send<R: Request + 'static>(c: &Cluster, req: &R) -> Routed<R::Response> {
    c.send(req)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", api_name(R::API_KEY)))
}

/// The version is min(ours, what the answering broker's connection
/// advertises), ungated.
async fn assert_negotiated<T>(c: &Cluster, r: &Routed<T>) -> i16 {
    let api = r.choice.api;
    let node = r.node.expect("a node answered");
    let live = c.broker(node).unwrap().connection().await.unwrap();
    let broker = live.versions.get(api).expect("advertised").max;
    let want = our_range(api).expect("ours").max.min(broker);
    assert_eq!(r.version, want, "{}: {}", api_name(api), r.choice.why());
    assert!(!r.choice.gated(), "{}", r.choice.why());
    want
}

async fn create_topic(c: &Cluster, topic: &str) {
    let mut t = CreatableTopic::default();
    t.name = StrBytes::from(topic.to_string());
    t.num_partitions = 1;
    t.replication_factor = 1;
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 30_000;
    let r = send(c, &req).await;
    let res = &r.response.topics[0];
    assert_eq!(
        res.error_code,
        0,
        "CreateTopics: {}",
        ErrorCode(res.error_code)
    );
    assert_negotiated(c, &r).await;
    // The leader is elected shortly after.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let md = c.refresh_metadata(&[topic]).await.unwrap();
        if md
            .partition(&TopicPartition::new(topic, 0))
            .is_some_and(|p| p.leader.is_some())
        {
            return;
        }
        assert!(Instant::now() < deadline, "{topic}: no leader after 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn records() -> Vec<String> {
    (0..3).map(|i| format!("value-{i}")).collect()
}

fn produce(topic: &str, id: Option<Uuid>, producer: Option<(&str, i64, i16)>) -> ProduceRequest {
    let mut b = RecordBatchBuilder::new(0);
    if let Some((_, pid, epoch)) = producer {
        b = b.producer(pid, epoch, 0).transactional(true);
    }
    for v in records() {
        b.append(1_700_000_000_000, Some(b"k"), Some(v.as_bytes()), &[])
            .unwrap();
    }
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(b.build().unwrap());
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from(topic.to_string());
    t.topic_id = id.unwrap_or_default();
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.transactional_id = producer.map(|(tx, _, _)| StrBytes::from(tx.to_string()));
    r.acks = -1;
    r.timeout_ms = 30_000;
    r.topic_data = vec![t];
    r
}

fn fetch(topic: &str, id: Option<Uuid>, offset: i64, isolation: i8) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = StrBytes::from(topic.to_string());
    t.topic_id = id.unwrap_or_default();
    t.partitions = vec![p];
    let mut r = FetchRequest::default();
    r.replica_id = -1;
    r.max_wait_ms = 500;
    r.min_bytes = 1;
    r.max_bytes = 1 << 20;
    r.isolation_level = isolation;
    r.session_epoch = -1;
    r.topics = vec![t];
    r
}

/// Produce then Fetch through the cluster; returns (Produce, Fetch)
/// versions.
async fn produce_fetch(c: &Cluster, topic: &str, expect_id: bool) -> (i16, i16) {
    create_topic(c, topic).await;
    let md = c.metadata();
    let id = md.topics[topic].id;
    assert_eq!(id.is_some(), expect_id, "{topic}: topic id {id:?}");
    let leader = md.leader(&TopicPartition::new(topic, 0)).unwrap().id;
    // Retried by the cluster while the new leader settles
    // (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION).
    let p = send(c, &produce(topic, id, None)).await;
    let part = &p.response.responses[0].partition_responses[0];
    assert_eq!(
        part.error_code,
        0,
        "Produce: {}",
        ErrorCode(part.error_code)
    );
    assert_eq!(p.node, Some(leader));
    let pv = assert_negotiated(c, &p).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let f = send(c, &fetch(topic, id, part.base_offset, 0)).await;
        assert_eq!(f.node, Some(leader));
        let got = values(&f.response);
        if !got.is_empty() || Instant::now() > deadline {
            assert_eq!(got, records());
            return (pv, assert_negotiated(c, &f).await);
        }
    }
}

fn values(resp: &kwire::messages::FetchResponse) -> Vec<String> {
    let part = &resp.responses[0].partitions[0];
    assert_eq!(part.error_code, 0, "Fetch: {}", ErrorCode(part.error_code));
    let Some(bytes) = part.records.clone() else {
        return vec![];
    };
    let mut out = vec![];
    for b in decode_batches(bytes, &DecodeOptions::default())
        .unwrap()
        .batches
    {
        let Batch::V2(rb) = b else {
            panic!("legacy batch")
        };
        if rb.header.is_control() {
            continue;
        }
        for r in rb.decode_records(&DecodeOptions::default()).unwrap() {
            out.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    out
}

/// FindCoordinator for two groups in the batched shape (v4+), asked again
/// while the offsets topic is being created; returns the version.
async fn batched_lookup(c: &Cluster, bootstrap: &str) -> i16 {
    let keys = vec!["kw-g1".to_string(), "kw-g2".to_string()];
    let req = batched(CoordinatorKind::Group, &keys);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = send(c, &req).await;
        assert!(r.version >= 4, "{}", r.choice.why());
        let a = answers(&r.response, r.version, &keys);
        assert_eq!(a.len(), 2, "{:?}", r.response);
        if a.iter().all(|x| x.error == ErrorCode::NONE) {
            assert!(a.iter().all(|x| x.addr() == bootstrap), "{a:?}");
            return assert_negotiated(c, &r).await;
        }
        assert!(Instant::now() < deadline, "{a:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn offset_fetch_at_the_coordinator(c: &Cluster) {
    let mut of = OffsetFetchRequest::default();
    of.group_id = StrBytes::from_static("kw-g1");
    of.topics = None;
    let r = send(c, &of).await;
    assert_eq!(
        r.response.error_code,
        0,
        "{}",
        ErrorCode(r.response.error_code)
    );
    assert_eq!(
        r.node,
        c.cached_coordinator(CoordinatorKind::Group, "kw-g1")
    );
}

#[test]
fn kafka_4_4_0_through_the_cluster() {
    let _g = lock();
    let kafka = KafkaBroker::start("4.4.0", None);
    runtime().block_on(async {
        let c = connect(&kafka).await;
        let md = c.metadata();
        assert_eq!(md.brokers.len(), 1);
        assert_eq!(md.cluster_id.as_deref(), Some(kafka.cluster_id.as_str()));
        assert!(md.controller.is_some());
        // ApiVersions v5 on the node's own connection carried its identity.
        let node = *md.brokers.keys().next().unwrap();
        let b = c.broker(node).unwrap();
        assert_eq!(
            b.identity().map(|i| (i.cluster_id.as_str(), i.node_id)),
            Some((kafka.cluster_id.as_str(), node))
        );
        let (pv, fv) = produce_fetch(&c, "kw-cluster-44", true).await;
        eprintln!("4.4.0: Produce v{pv}, Fetch v{fv}");
        assert!(pv >= 13 && fv >= 13, "topic-id versions");
        let v = batched_lookup(&c, &kafka.bootstrap).await;
        assert!(v >= 4);
        let found = c
            .coordinators(CoordinatorKind::Group, &["kw-g1", "kw-g2"])
            .await
            .unwrap();
        assert_eq!(
            found.values().copied().collect::<Vec<_>>(),
            vec![node, node]
        );
        offset_fetch_at_the_coordinator(&c).await;
        // 4.4.0 formats with transaction.version 2 by default.
        let f = c.features();
        assert!(f.epoch().is_some());
        assert_eq!(f.transaction_version(), 2);
        c.shutdown().await;
    });
}

/// A transaction through the cluster on 4.4.0 at transaction version `tv`;
/// returns the Produce and EndTxn versions.
async fn transaction(c: &Cluster, tv: i16) -> (i16, i16) {
    let topic = format!("kw-cluster-txn-tv{tv}");
    let txn = format!("kw-cluster-txn-tv{tv}");
    create_topic(c, &topic).await;
    let id = c.metadata().topics[&topic].id;
    let mut ipi = InitProducerIdRequest::default();
    ipi.transactional_id = Some(StrBytes::from(txn.clone()));
    ipi.transaction_timeout_ms = 60_000;
    ipi.producer_id = -1;
    ipi.producer_epoch = -1;
    // The transaction coordinator is found (and asked again while the
    // transaction log is created) by the cluster; CONCURRENT_TRANSACTIONS
    // is the caller's to retry.
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = send(c, &ipi).await;
        if r.response.error_code != ErrorCode::CONCURRENT_TRANSACTIONS.0
            || Instant::now() > deadline
        {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        r.response.error_code,
        0,
        "{}",
        ErrorCode(r.response.error_code)
    );
    assert_eq!(
        r.node,
        c.cached_coordinator(CoordinatorKind::Transaction, &txn)
    );
    let (pid, epoch) = (r.response.producer_id, r.response.producer_epoch);
    if tv < 2 {
        let mut t = AddPartitionsToTxnTopic::default();
        t.name = StrBytes::from(topic.clone());
        t.partitions = vec![0];
        let mut ap = AddPartitionsToTxnRequest::default();
        ap.v3_and_below_transactional_id = StrBytes::from(txn.clone());
        ap.v3_and_below_producer_id = pid;
        ap.v3_and_below_producer_epoch = epoch;
        ap.v3_and_below_topics = vec![t];
        let r = send(c, &ap).await;
        assert_eq!(r.version, 3, "{}", r.choice.why());
        let res = &r.response.results_by_topic_v3_and_below[0].results_by_partition[0];
        assert_eq!(res.partition_error_code, 0);
    }
    let p = send(c, &produce(&topic, id, Some((&txn, pid, epoch)))).await;
    let part = &p.response.responses[0].partition_responses[0];
    assert_eq!(part.error_code, 0, "{}", ErrorCode(part.error_code));
    let mut end = EndTxnRequest::default();
    end.transactional_id = StrBytes::from(txn.clone());
    end.producer_id = pid;
    end.producer_epoch = epoch;
    end.committed = true;
    let e = send(c, &end).await;
    assert_eq!(
        e.response.error_code,
        0,
        "{}",
        ErrorCode(e.response.error_code)
    );
    assert_eq!(
        e.node,
        c.cached_coordinator(CoordinatorKind::Transaction, &txn),
        "EndTxn goes to the transaction coordinator"
    );
    // read_committed sees the records once the marker is written.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let f = send(c, &fetch(&topic, id, part.base_offset, 1)).await;
        let got = values(&f.response);
        if !got.is_empty() || Instant::now() > deadline {
            assert_eq!(got, records());
            break;
        }
    }
    (p.version, e.version)
}

#[test]
fn kafka_4_4_0_feature_view_tv1_and_tv2() {
    let _g = lock();
    for tv in [1u8, 2] {
        let kafka = KafkaBroker::start("4.4.0", Some(tv));
        runtime().block_on(async {
            let c = connect(&kafka).await;
            let f = c.features();
            assert!(f.epoch().is_some(), "tv{tv}");
            assert_eq!(
                f.transaction_version(),
                i16::from(tv),
                "{:?}",
                f.finalized()
            );
            let (produce_v, end_txn_v) = transaction(&c, i16::from(tv)).await;
            if tv < 2 {
                // 4.4 advertises Produce v13 / EndTxn v5 whatever the TV.
                assert_eq!((produce_v, end_txn_v), (11, 4));
            } else {
                assert!(produce_v >= 12);
                assert_eq!(end_txn_v, 5);
            }
            c.shutdown().await;
        });
    }
}

#[test]
fn kafka_3_8_1_through_the_cluster() {
    let _g = lock();
    let kafka = KafkaBroker::start("3.8.1", None);
    runtime().block_on(async {
        let c = connect(&kafka).await;
        let (pv, fv) = produce_fetch(&c, "kw-cluster-38", true).await;
        // 3.8.1: Produce 0-11, Fetch 0-16 (by topic id).
        assert_eq!((pv, fv), (11, 16));
        let v = batched_lookup(&c, &kafka.bootstrap).await;
        assert_eq!(v, 5, "3.8's FindCoordinator max");
        offset_fetch_at_the_coordinator(&c).await;
        c.shutdown().await;
    });
}

#[test]
#[ignore = "long: KWIRE_LONG=1 scripts/test.sh runs it (a ZooKeeper broker; CI meets 2.3.1 in producer, admin and kafka_brokers)"]
fn kafka_2_3_1_through_the_cluster() {
    let _g = lock();
    let kafka = KafkaBroker::start("2.3.1", None);
    runtime().block_on(async {
        let c = connect(&kafka).await;
        let md = c.metadata();
        // Before KIP-516 there are no topic ids; a ZooKeeper cluster has a
        // controller and (Metadata v2+) a cluster id.
        assert!(md.controller.is_some() && md.cluster_id.is_some());
        let (pv, fv) = produce_fetch(&c, "kw-cluster-23", false).await;
        assert_eq!((pv, fv), (7, 11));
        // FindCoordinator 0-2: the batched shape has no version here...
        let node = *md.brokers.keys().next().unwrap();
        let b = c.broker(node).unwrap();
        let live = b.connection().await.unwrap();
        let keys = vec!["kw-g1".to_string(), "kw-g2".to_string()];
        match b.choose_for(
            &batched(CoordinatorKind::Group, &keys),
            &SendOptions::default(),
            &live.versions,
        ) {
            Err(kwire_client::ClientError::NoVersion(e)) => {
                assert!(matches!(*e, NoVersion::Empty { .. }), "{e}")
            }
            other => panic!("{other:?}"),
        }
        // ...so each key goes in its own single-key request.
        let r = send(&c, &single(CoordinatorKind::Group, "kw-g1")).await;
        assert_eq!(r.version, 2);
        let found = c
            .coordinators(CoordinatorKind::Group, &["kw-g1", "kw-g2"])
            .await
            .unwrap();
        assert_eq!(found.len(), 2);
        offset_fetch_at_the_coordinator(&c).await;
        // No finalized features before KIP-584: transaction.version 0.
        assert_eq!(c.features().epoch(), None);
        c.shutdown().await;
    });
}

#[test]
fn kafka_4_4_0_rebootstrap_when_another_cluster_takes_the_address() {
    let _g = lock();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = || {
        KafkaBroker::start_with(Start {
            release: "4.4.0",
            transaction_version: None,
            port: Some(port),
            ..Default::default()
        })
    };
    let first = start();
    let rt = runtime();
    let c = rt.block_on(connect(&first));
    let node = *c.metadata().brokers.keys().next().unwrap();
    rt.block_on(async {
        let r = c
            .send_to(
                Target::Node(node),
                &MetadataRequest::default(),
                &SendOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(r.node, Some(node));
    });
    let old = first.cluster_id.clone();
    drop(first);
    // Same address, same node id, another cluster.
    let second = start();
    assert_ne!(second.cluster_id, old);
    rt.block_on(async {
        // The node's reconnect sends ApiVersions v5 with the old cluster id:
        // REBOOTSTRAP_REQUIRED, and the client bootstraps again.
        let r = send(&c, &MetadataRequest::default()).await;
        assert_eq!(c.rebootstraps(), 1, "{:?}", r.retries);
        assert!(
            r.retries.iter().any(|n| n.contains("REBOOTSTRAP_REQUIRED")),
            "{:?}",
            r.retries
        );
        assert_eq!(
            r.response.cluster_id.as_deref(),
            Some(second.cluster_id.as_str())
        );
        assert_eq!(
            c.metadata().cluster_id.as_deref(),
            Some(second.cluster_id.as_str())
        );
        c.shutdown().await;
    });
}

#[test]
#[ignore = "long: KWIRE_LONG=1 scripts/test.sh runs it (a three-node cluster; CI's three-node runs are producer_cluster and admin)"]
fn kafka_4_4_0_three_nodes_routing_coordinators_features_failover() {
    let _g = lock();
    let nodes = KafkaNodes::start("4.4.0", 3, Some(1));
    runtime().block_on(async {
        let mut addrs = vec![dead_address()];
        addrs.extend(nodes.addrs());
        let c = Cluster::connect(&addrs, cfg()).await.unwrap();
        let md = c.metadata();
        assert_eq!(md.brokers.len(), 3);
        assert_eq!(md.cluster_id.as_deref(), Some(nodes.cluster_id.as_str()));

        // Three partitions, replicated three times: each Produce goes to its
        // partition's leader.
        let topic = "kw-nodes";
        let mut t = CreatableTopic::default();
        t.name = StrBytes::from_static("kw-nodes");
        t.num_partitions = 3;
        t.replication_factor = 3;
        let mut ct = CreateTopicsRequest::default();
        ct.topics = vec![t];
        ct.timeout_ms = 30_000;
        let r = send(&c, &ct).await;
        assert_eq!(r.response.topics[0].error_code, 0);
        let deadline = Instant::now() + Duration::from_secs(60);
        let leaders = loop {
            let md = c.refresh_metadata(&[topic]).await.unwrap();
            let l: Vec<Option<i32>> = (0..3)
                .map(|p| {
                    md.partition(&TopicPartition::new(topic, p))
                        .and_then(|x| x.leader)
                })
                .collect();
            if l.iter().all(Option::is_some) {
                break l.into_iter().flatten().collect::<Vec<i32>>();
            }
            assert!(Instant::now() < deadline, "no leaders: {l:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let id = c.metadata().topics[topic].id;
        for (p, leader) in leaders.iter().enumerate() {
            let mut req = produce(topic, id, None);
            req.topic_data[0].partition_data[0].index = p as i32;
            let r = send(&c, &req).await;
            let part = &r.response.responses[0].partition_responses[0];
            assert_eq!(part.error_code, 0, "{}", ErrorCode(part.error_code));
            assert_eq!(r.node, Some(*leader), "partition {p}");
        }

        // Groups spread over the coordinators; each OffsetFetch goes to its
        // group's.
        let groups: Vec<String> = (0..6).map(|i| format!("kw-nodes-g{i}")).collect();
        let keys: Vec<&str> = groups.iter().map(String::as_str).collect();
        let found = c.coordinators(CoordinatorKind::Group, &keys).await.unwrap();
        let distinct: std::collections::BTreeSet<i32> = found.values().copied().collect();
        assert!(distinct.len() >= 2, "{found:?}");
        for g in &groups {
            let mut of = OffsetFetchRequest::default();
            of.group_id = StrBytes::from(g.clone());
            of.topics = None;
            let r = send(&c, &of).await;
            assert_eq!(r.response.error_code, 0);
            assert_eq!(r.node, Some(found[g]), "{g}");
        }

        // transaction.version 1, then upgraded to 2 while the client runs:
        // the view follows the higher epoch once a broker reports it.
        let before = c.features();
        assert_eq!(before.transaction_version(), 1);
        assert_eq!(transaction(&c, 1).await, (11, 4));
        cluster_cmd(&[
            "features",
            "--dir",
            &nodes.dir,
            "--upgrade",
            "transaction.version=2",
        ]);
        for n in c.metadata().brokers.keys() {
            c.broker(*n).unwrap().disconnect().await;
            c.send_to(
                Target::Node(*n),
                &MetadataRequest::default(),
                &SendOptions::default(),
            )
            .await
            .unwrap();
        }
        let after = c.features();
        assert!(after.epoch() > before.epoch(), "{before:?} -> {after:?}");
        assert_eq!(after.transaction_version(), 2);
        let (produce_v, end_v) = transaction(&c, 2).await;
        assert!(produce_v >= 12 && end_v == 5, "{produce_v} {end_v}");

        // The leader of partition 0 goes away: the next Produce finds the
        // new one.
        let tp = TopicPartition::new(topic, 0);
        let old = c.metadata().partition(&tp).and_then(|p| p.leader).unwrap();
        cluster_cmd_async(&["node-stop", "--dir", &nodes.dir, "--node", &old.to_string()]).await;
        let r = send(&c, &produce(topic, id, None)).await;
        let part = &r.response.responses[0].partition_responses[0];
        assert_eq!(part.error_code, 0, "{}", ErrorCode(part.error_code));
        assert_ne!(r.node, Some(old), "{:?}", r.retries);
        assert_eq!(r.node, c.metadata().partition(&tp).and_then(|p| p.leader));
        eprintln!("failover from node {old}: {:?}", r.retries);
        cluster_cmd(&[
            "node-start",
            "--dir",
            &nodes.dir,
            "--node",
            &old.to_string(),
        ]);
        c.shutdown().await;
    });
}
