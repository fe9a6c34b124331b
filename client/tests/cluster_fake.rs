//! The cluster layer against the scripted fake broker, for what no real
//! peer here does on cue: FindCoordinator errors in both shapes (the mock's
//! error replies do not decode, cluster_mock.rs), throttling (KIP-219),
//! REBOOTSTRAP_REQUIRED from ApiVersions v5 (KIP-1242) and from Metadata
//! (KIP-1102), and the cluster-wide feature view across two brokers that
//! disagree.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kwire::messages::find_coordinator_response::Coordinator;
use kwire::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{
    FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest, MetadataResponse,
    ProduceRequest,
};
use kwire::{ApiKey, Bytes, ErrorCode, Message, StrBytes, Uuid};
use kwire_client::cluster::backoff::Backoff;
use kwire_client::cluster::Target;
use kwire_client::protocol::route::CoordinatorKind;
use kwire_client::{Cluster, ClusterConfig, ClusterError, FailureKind, SendOptions};
use support::{ApiVersionsMode, FakeBroker, FakeConfig, Responder, Table};

fn cfg() -> ClusterConfig {
    let mut c = ClusterConfig::default();
    c.client.conn.request_timeout = Duration::from_secs(5);
    c.client.api_versions_timeout = Duration::from_secs(5);
    c.timeout = Duration::from_secs(10);
    c.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        jitter: 0.2,
    };
    c
}

/// Where the fakes listen, known only once they run.
type Addrs = Arc<Mutex<Vec<String>>>;

/// Metadata naming the fakes in `addrs` as nodes 1, 2, ..., with topic `t`
/// (one partition led by `leader`) and `cluster`.
fn metadata(addrs: &Addrs, cluster: &str, leader: i32, version: i16, error: i16) -> Bytes {
    let mut r = MetadataResponse::default();
    r.cluster_id = Some(StrBytes::from(cluster.to_string()));
    r.controller_id = 1;
    r.error_code = error;
    for (i, a) in addrs.lock().unwrap().iter().enumerate() {
        let (host, port) = a.rsplit_once(':').unwrap();
        let mut b = MetadataResponseBroker::default();
        b.node_id = i as i32 + 1;
        b.host = StrBytes::from(host.to_string());
        b.port = port.parse().unwrap();
        r.brokers.push(b);
    }
    let mut t = MetadataResponseTopic::default();
    t.name = Some(StrBytes::from_static("t"));
    t.topic_id = Uuid::from_u128(42);
    let mut p = MetadataResponsePartition::default();
    p.leader_id = leader;
    p.leader_epoch = 1;
    t.partitions.push(p);
    r.topics.push(t);
    r.encode_to_bytes(version)
        .expect("metadata at the asked version")
}

fn metadata_responder(addrs: &Addrs, cluster: &str, leader: i32) -> Responder {
    let (addrs, cluster) = (addrs.clone(), cluster.to_string());
    Responder(Arc::new(move |v, _| {
        Some(metadata(&addrs, &cluster, leader, v, 0))
    }))
}

fn table(extra: &[(i16, i16, i16)]) -> Table {
    let mut t = vec![
        (ApiKey::METADATA.0, 0, 12),
        (ApiKey::PRODUCE.0, 3, 13),
        (ApiKey::API_VERSIONS.0, 0, 3),
    ];
    t.extend_from_slice(extra);
    t
}

async fn started(cfgs: Vec<FakeConfig>, addrs: &Addrs) -> Vec<FakeBroker> {
    let mut out = Vec::new();
    for c in cfgs {
        let f = FakeBroker::start(c).await;
        addrs.lock().unwrap().push(f.addr());
        out.push(f);
    }
    out
}

/// FindCoordinator answered with each retriable error once, then node 1.
fn coordinator_responder(addrs: &Addrs, calls: Arc<AtomicUsize>) -> Responder {
    let addrs = addrs.clone();
    Responder(Arc::new(move |v, body| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        let code = [
            ErrorCode::COORDINATOR_NOT_AVAILABLE,
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
            ErrorCode::NOT_COORDINATOR,
        ]
        .get(n)
        .copied()
        .unwrap_or(ErrorCode::NONE);
        let req = FindCoordinatorRequest::decode_bytes(body, v).ok()?;
        let a = addrs.lock().unwrap()[0].clone();
        let (host, port) = a.rsplit_once(':')?;
        let mut r = FindCoordinatorResponse::default();
        if v >= 4 {
            for k in &req.coordinator_keys {
                let mut c = Coordinator::default();
                c.key = k.clone();
                c.node_id = 1;
                c.host = StrBytes::from(host.to_string());
                c.port = port.parse().ok()?;
                c.error_code = code.0;
                r.coordinators.push(c);
            }
        } else {
            r.node_id = 1;
            r.host = StrBytes::from(host.to_string());
            r.port = port.parse().ok()?;
            r.error_code = code.0;
        }
        r.encode_to_bytes(v).ok()
    }))
}

#[tokio::test]
async fn find_coordinator_errors_are_retried_in_both_shapes() {
    for (max, batched) in [(3, false), (6, true)] {
        let addrs: Addrs = Default::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let fc = FakeConfig::kafka(table(&[(ApiKey::FIND_COORDINATOR.0, 0, max)]))
            .respond(ApiKey::METADATA, metadata_responder(&addrs, "kw", 1))
            .respond(
                ApiKey::FIND_COORDINATOR,
                coordinator_responder(&addrs, calls.clone()),
            );
        let fakes = started(vec![fc], &addrs).await;
        let c = Cluster::connect(&[fakes[0].addr()], cfg()).await.unwrap();
        let found = c
            .coordinators(CoordinatorKind::Transaction, &["tx-a", "tx-b"])
            .await
            .unwrap_or_else(|e| panic!("v{max}: {e}"));
        assert_eq!(found["tx-a"], 1);
        assert_eq!(found["tx-b"], 1);
        let versions = fakes[0].versions_of(ApiKey::FIND_COORDINATOR.0);
        if batched {
            // One batched request per round: three refusals, then the answer.
            assert_eq!(versions, vec![6; 4]);
        } else {
            // One request per key per round, each taking the next answer:
            // both keys refused, then one, then the last answered.
            assert_eq!(versions, vec![3; 5], "{versions:?}");
        }
        c.shutdown().await;
    }
}

#[tokio::test]
async fn throttled_brokers_are_left_alone_until_the_time_is_up() {
    let addrs: Addrs = Default::default();
    let ms = Arc::new(AtomicUsize::new(400));
    let throttling = {
        let (addrs, ms) = (addrs.clone(), ms.clone());
        Responder(Arc::new(move |v, _| {
            let mut r = MetadataResponse::decode_bytes(metadata(&addrs, "kw", 1, v, 0), v).ok()?;
            r.throttle_time_ms = ms.load(Ordering::SeqCst) as i32;
            r.encode_to_bytes(v).ok()
        }))
    };
    let fakes = started(
        vec![FakeConfig::kafka(table(&[])).respond(ApiKey::METADATA, throttling)],
        &addrs,
    )
    .await;
    let addr = fakes[0].addr();
    let c = Cluster::connect(&[addr.as_str()], cfg()).await.unwrap();
    // Metadata v6+: the broker answered first, the client waits (KIP-219).
    assert!(c.throttled_until(&addr).is_some());
    let t = Instant::now();
    c.send(&MetadataRequest::default()).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "sent {:?} after a 400 ms throttle",
        t.elapsed()
    );
    // A throttle that outlasts the call's deadline: nothing is sent.
    ms.store(60_000, Ordering::SeqCst);
    c.send(&MetadataRequest::default()).await.unwrap();
    let before = fakes[0].versions_of(ApiKey::METADATA.0).len();
    let opts = SendOptions {
        timeout: Some(Duration::from_secs(2)),
        ..Default::default()
    };
    let t = Instant::now();
    match c.send_with(&MetadataRequest::default(), &opts).await {
        Err(e @ ClusterError::Throttled { .. }) => assert_eq!(e.kind(), FailureKind::Throttled),
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(fakes[0].versions_of(ApiKey::METADATA.0).len(), before);
}

#[tokio::test]
async fn rebootstrap_when_the_address_is_another_clusters_node() {
    let addrs: Addrs = Default::default();
    let v5 = |cluster: &str| {
        let mut t = table(&[]);
        t.retain(|e| e.0 != ApiKey::API_VERSIONS.0);
        t.push((ApiKey::API_VERSIONS.0, 0, 5));
        let mut f = FakeConfig::new(ApiVersionsMode::Kip511 { max: 5 }, t)
            .respond(ApiKey::METADATA, metadata_responder(&addrs, cluster, 1));
        f.cluster_id = Some(cluster.to_string());
        f
    };
    let mut fakes = started(vec![v5("c1")], &addrs).await;
    let c = Cluster::connect(&[fakes[0].addr()], cfg()).await.unwrap();
    assert_eq!(c.metadata().cluster_id.as_deref(), Some("c1"));
    // Node 1's own connection carries the cluster id (KIP-1242).
    let r = c
        .send_to(
            Target::Node(1),
            &MetadataRequest::default(),
            &SendOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.node, Some(1));
    assert_eq!(c.rebootstraps(), 0);
    // Another cluster's broker now answers at that address.
    fakes[0].restart(v5("c2")).await;
    let r = c.send(&MetadataRequest::default()).await.unwrap();
    assert_eq!(c.rebootstraps(), 1, "{:?}", r.retries);
    assert!(
        r.retries.iter().any(|n| n.contains("REBOOTSTRAP_REQUIRED")),
        "{:?}",
        r.retries
    );
    assert_eq!(c.metadata().cluster_id.as_deref(), Some("c2"));
    assert_eq!(r.response.cluster_id.as_deref(), Some("c2"));
}

#[tokio::test]
async fn rebootstrap_when_metadata_says_so() {
    let addrs: Addrs = Default::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let responder = {
        let (addrs, calls) = (addrs.clone(), calls.clone());
        Responder(Arc::new(move |v, _| {
            // The second Metadata says REBOOTSTRAP_REQUIRED (v13, KIP-1102).
            let error = if calls.fetch_add(1, Ordering::SeqCst) == 1 {
                ErrorCode::REBOOTSTRAP_REQUIRED.0
            } else {
                0
            };
            Some(metadata(&addrs, "kw", 1, v, error))
        }))
    };
    let mut t = table(&[]);
    t.retain(|e| e.0 != ApiKey::METADATA.0);
    t.push((ApiKey::METADATA.0, 0, 13));
    let fakes = started(
        vec![FakeConfig::kafka(t).respond(ApiKey::METADATA, responder)],
        &addrs,
    )
    .await;
    let c = Cluster::connect(&[fakes[0].addr()], cfg()).await.unwrap();
    let md = c.refresh_metadata(&["t"]).await.unwrap();
    assert_eq!(c.rebootstraps(), 1);
    assert_eq!(md.topics["t"].id, Some(Uuid::from_u128(42)));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(fakes[0].versions_of(ApiKey::METADATA.0), vec![13, 13, 13]);
}

fn txn_produce() -> ProduceRequest {
    let mut p = PartitionProduceData::default();
    p.index = 0;
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from_static("t");
    t.topic_id = Uuid::from_u128(42);
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.transactional_id = Some(StrBytes::from_static("tx"));
    r.acks = -1;
    r.topic_data = vec![t];
    r
}

#[tokio::test]
async fn the_feature_view_is_the_highest_epochs_not_the_last_answer() {
    // Node 1 has seen transaction.version 2 (epoch 7); node 2, the leader
    // of t-0, still reports 1 (epoch 5): its metadata lags.
    let addrs: Addrs = Default::default();
    let fake = |tv: i16, epoch: i64| {
        let mut f = FakeConfig::kafka(table(&[]))
            .respond(ApiKey::METADATA, metadata_responder(&addrs, "kw", 2));
        f.finalized = vec![("transaction.version".into(), tv)];
        f.finalized_epoch = epoch;
        f
    };
    let fakes = started(vec![fake(2, 7), fake(1, 5)], &addrs).await;
    let meta = MetadataRequest::default();
    let none = SendOptions::default();

    // Node 2 first: the view is TV1, a transactional Produce stays at v11.
    let c = Cluster::connect(&[fakes[1].addr()], cfg()).await.unwrap();
    c.send_to(Target::Node(2), &meta, &none).await.unwrap();
    assert_eq!(
        (c.features().epoch(), c.features().transaction_version()),
        (Some(5), 1)
    );
    let r = c.send(&txn_produce()).await.unwrap();
    assert_eq!((r.node, r.version), (Some(2), 11), "{}", r.choice.why());
    // Node 1 answers with epoch 7: TV2 from now on, also towards node 2,
    // whose own connection still says 1.
    c.send_to(Target::Node(1), &meta, &none).await.unwrap();
    assert_eq!(c.features().transaction_version(), 2);
    let r = c.send(&txn_produce()).await.unwrap();
    assert_eq!((r.node, r.version), (Some(2), 13), "{}", r.choice.why());
    // Node 2 reconnects and answers last, with its older epoch: no change.
    c.broker(2).unwrap().disconnect().await;
    let r = c.send(&txn_produce()).await.unwrap();
    assert_eq!(r.version, 13);
    assert_eq!(c.features().epoch(), Some(7));
    assert_eq!(fakes[1].versions_of(ApiKey::PRODUCE.0), vec![11, 13, 13]);
    c.shutdown().await;
}
