//! The transactional producer on librdkafka's mock cluster (2.16.0, three
//! brokers, through tests/peers/mock_harness.c), with errors injected on
//! FindCoordinator, InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! TxnOffsetCommit and EndTxn: the transaction still commits, and the mock's
//! own request log ("Broker N: Received <Api>RequestV<n>") shows that every
//! transactional request went to the transaction coordinator (broker 3) and
//! every TxnOffsetCommit to the group coordinator (broker 2). A missing peer
//! fails with the install command.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::{ApiKey, ErrorCode};
use kwire_client::cluster::backoff::Backoff;
use kwire_client::group::{GroupMetadata, TopicPartition};
use kwire_client::produce::{ProducerRecord, TransactionalConfig, TransactionalProducer};
use kwire_client::txn::{OffsetAndMetadata, TxnMode};
use kwire_client::{Cluster, ClusterConfig};
use support::peers::{Librdkafka, MockCluster};

const TOPIC: &str = "kwt";
const TXN: &str = "kw-tx";
const GROUP: &str = "kw-group";

fn cfg() -> ClusterConfig {
    let mut c = ClusterConfig::default();
    c.client.conn.request_timeout = Duration::from_secs(5);
    c.client.conn.connect_timeout = Duration::from_secs(5);
    c.client.api_versions_timeout = Duration::from_secs(5);
    c.timeout = Duration::from_secs(15);
    c.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        jitter: 0.2,
    };
    c.unreachable_for = Duration::from_millis(300);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_coordinator_errors_and_every_request_at_its_coordinator() {
    let t0 = Instant::now();
    let mut mock = MockCluster::start(Librdkafka::V2_16, 3, &[]);
    mock.cmd(&format!("t {TOPIC}:3:3"));
    for (p, b) in [(0, 1), (1, 2), (2, 3)] {
        mock.cmd(&format!("l {TOPIC}:{p}:{b}"));
    }
    mock.cmd(&format!("c transaction:{TXN}:3"));
    mock.cmd(&format!("c group:{GROUP}:2"));
    let c = Arc::new(
        Cluster::connect(&mock.bootstrap, cfg())
            .await
            .expect("connect"),
    );

    // The first lookup fails (the mock's error reply is malformed: a null
    // Host), InitProducerId meets loading, then a moved coordinator.
    mock.cmd("e 10:COORDINATOR_NOT_AVAILABLE");
    mock.cmd("e 22:COORDINATOR_LOAD_IN_PROGRESS,NOT_COORDINATOR");
    let mut tc = TransactionalConfig::new(TXN);
    tc.max_block = Duration::from_secs(30);
    tc.txn.retry_backoff = Duration::from_millis(20);
    let p = TransactionalProducer::new(c.clone(), tc).expect("producer");
    p.init_transactions().await.expect("init_transactions");

    // A transaction whose every coordinator request meets errors first.
    mock.cmd("e 24:CONCURRENT_TRANSACTIONS,NOT_COORDINATOR");
    mock.cmd("e 25:COORDINATOR_LOAD_IN_PROGRESS");
    mock.cmd("e 28:NOT_COORDINATOR,COORDINATOR_LOAD_IN_PROGRESS");
    mock.cmd("e 26:CONCURRENT_TRANSACTIONS,NOT_COORDINATOR");
    // The mock finalizes no features: classic.
    assert_eq!(
        p.begin_transaction().await.expect("begin"),
        TxnMode::Classic
    );
    let mut out = Vec::new();
    for i in 0..6 {
        let rec = ProducerRecord::new(TOPIC, format!("v{i}").into_bytes()).partition(i % 3);
        out.push(p.send(rec).await.expect("send"));
    }
    let offsets = BTreeMap::from([(
        TopicPartition::new(TOPIC, 0),
        OffsetAndMetadata {
            offset: 42,
            leader_epoch: None,
            metadata: None,
        },
    )]);
    p.send_offsets_to_transaction(offsets, GroupMetadata::unjoined(GROUP))
        .await
        .expect("send_offsets_to_transaction");
    p.commit_transaction()
        .await
        .unwrap_or_else(|e| panic!("commit: {e}; {:?}", p.requests()));
    for f in out {
        let d = f.await.expect("delivered");
        assert!(d.offset >= 0, "{d:?}");
    }
    // A second transaction, aborted, after errors on EndTxn again.
    mock.cmd("e 26:NOT_COORDINATOR");
    p.begin_transaction().await.expect("begin 2");
    let f = p
        .send(ProducerRecord::new(TOPIC, b"gone".to_vec()).partition(1))
        .await
        .expect("send");
    p.flush().await.expect("flush");
    f.await.expect("written before the abort");
    p.abort_transaction().await.expect("abort");
    p.close().await;

    // Routing: every request of the transaction coordinator at broker 3,
    // TxnOffsetCommit at broker 2 (the group's), each injected error
    // answered by sending again.
    let at = |api: &str| mock.brokers_of(api);
    for (api, broker, at_least) in [
        ("InitProducerId", 3, 3),
        ("AddPartitionsToTxn", 3, 3),
        ("AddOffsetsToTxn", 3, 2),
        ("EndTxn", 3, 5),
        ("TxnOffsetCommit", 2, 3),
    ] {
        let got = at(api);
        assert!(
            got.len() >= at_least && got.iter().all(|b| *b == broker),
            "{api}: brokers {got:?} (want >= {at_least}, all at {broker}); requests {:?}",
            p.requests()
        );
    }
    // The retriable answers reached the transaction manager, which sent
    // the same request again (NOT_COORDINATOR and loading are handled
    // inside the cluster layer, which looks the coordinator up again).
    let log = p.requests();
    for api in [ApiKey::ADD_PARTITIONS_TO_TXN, ApiKey::END_TXN] {
        assert!(
            log.iter()
                .any(|r| r.api == api && r.error == ErrorCode::CONCURRENT_TRANSACTIONS),
            "{api}: {log:?}"
        );
    }
    assert!(
        at("FindCoordinator").len() >= 3,
        "{:?}",
        at("FindCoordinator")
    );
    // Produce went to each partition's leader, with the transactional id.
    let mut leaders = at("Produce");
    leaders.sort();
    leaders.dedup();
    assert_eq!(leaders, vec![1, 2, 3]);
    c.shutdown().await;
    eprintln!("mock transactions: {:.1?}", t0.elapsed());
}
