//! The transactional producer on librdkafka's mock cluster (2.16.0, three
//! brokers, through tests/peers/mock_harness.c), with errors injected on
//! FindCoordinator, InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! TxnOffsetCommit and EndTxn: the transaction still commits, and the mock's
//! own request log ("Broker N: Received <Api>RequestV<n>") shows that every
//! transactional request went to the transaction coordinator (broker 3) and
//! every TxnOffsetCommit to the group coordinator (broker 2).
//!
//! KIP-360 over the network: UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH
//! and TRANSACTION_ABORTABLE injected on a transactional Produce make the
//! transaction abortable; after the abort, InitProducerId v3+ with the
//! current producer id and epoch bumps the epoch (the mock logs "Bumped
//! PID" only for that form) and the next transaction commits under it. The
//! idempotent producer given UNKNOWN_PRODUCER_ID takes a new producer id
//! and every record is in the log once. A missing peer fails with the
//! install command.

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

/// Every data record of `topic` (every partition, from the start to the
/// high watermark), as (partition, value), sorted; fails with what it read when
/// the end is not reached within 20 s.
async fn read_to_end(c: &Arc<Cluster>, topic: &str) -> Vec<(i32, String)> {
    use kwire_client::consume::{Consumer, ConsumerConfig, Offset};
    let cfg = ConsumerConfig {
        max_wait: Duration::from_millis(100),
        // The mock writes its transaction markers (control batches) with
        // a CRC of 0.
        check_crcs: false,
        ..Default::default()
    };
    let mut consumer = Consumer::new(c.clone(), cfg);
    for p in consumer.partitions(topic).await.expect("partitions") {
        consumer.assign(topic, p, Offset::Earliest);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    loop {
        for r in consumer.poll().await.expect("poll") {
            let v = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
            out.push((r.partition, v));
        }
        if consumer.at_end() {
            out.sort();
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: not read to its end within 20 s; read {out:?}"
        );
    }
}

/// An error and its sources, joined with ": ".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(e) = src {
        s.push_str(": ");
        s.push_str(&e.to_string());
        src = e.source();
    }
    s
}

/// KIP-360 over the network: a transactional Produce answered
/// UNKNOWN_PRODUCER_ID, then (the next transaction) INVALID_PRODUCER_EPOCH
/// (KIP-588: a stale batch, not a fence), then TRANSACTION_ABORTABLE
/// (KIP-890 part 1). Each time the send fails, the transaction is
/// abortable (commit refused, the error naming Produce and the code),
/// abort_transaction succeeds, and the abort is followed by one
/// InitProducerId v3+ carrying the current producer id and epoch (the mock
/// bumps only when they match, "Bumped PID" in its log; as Kafka's
/// `maybeTransitionToErrorState`, every abortable Produce error of a
/// classic transaction asks for the bump), so the producer keeps its id
/// with the next epoch; the transaction after commits under it. The log
/// holds every acknowledged record once and none of the failed ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kip_360_produce_errors_abort_then_bump_the_epoch() {
    let t0 = Instant::now();
    const T360: &str = "kw-360";
    let mut mock = MockCluster::start(Librdkafka::V2_16, 3, &[]);
    mock.cmd(&format!("t {T360}:2:3"));
    mock.cmd(&format!("l {T360}:0:1"));
    mock.cmd(&format!("l {T360}:1:2"));
    mock.cmd("c transaction:kw-tx-360:3");
    let c = Arc::new(
        Cluster::connect(&mock.bootstrap, cfg())
            .await
            .expect("connect"),
    );
    let mut tc = TransactionalConfig::new("kw-tx-360");
    tc.max_block = Duration::from_secs(30);
    tc.txn.retry_backoff = Duration::from_millis(20);
    let p = TransactionalProducer::new(c.clone(), tc).expect("producer");
    p.init_transactions().await.expect("init_transactions");
    let first = p.producer_id();
    assert!(first.producer_id >= 0 && first.epoch >= 0, "{first:?}");

    let mut in_log = Vec::new();
    let send_two = |tag: String| {
        let p = &p;
        async move {
            let mut out = Vec::new();
            for part in 0..2 {
                let v = format!("{tag}-{part}");
                let rec = ProducerRecord::new(T360, v.clone().into_bytes()).partition(part);
                out.push((part, v, p.send(rec).await.expect("send")));
            }
            out
        }
    };
    // A clean transaction first.
    assert_eq!(
        p.begin_transaction().await.expect("begin"),
        TxnMode::Classic
    );
    let sent = send_two("c1".into()).await;
    p.commit_transaction().await.expect("commit 1");
    for (part, v, f) in sent {
        f.await.expect("committed record acknowledged");
        in_log.push((part, v));
    }

    let mut epoch = first.epoch;
    let mut bumps_seen = 0;
    for (i, code) in [
        (2, ErrorCode::UNKNOWN_PRODUCER_ID),
        (4, ErrorCode::INVALID_PRODUCER_EPOCH),
        (6, ErrorCode::TRANSACTION_ABORTABLE),
    ] {
        let inits_before = mock.received("InitProducerId").len();
        // The next Produce (there is one per leader: partition 0 at broker
        // 1, partition 1 at broker 2) meets the error.
        mock.cmd(&format!("e 0:{}", code.0));
        p.begin_transaction().await.expect("begin");
        let sent = send_two(format!("a{i}")).await;
        let commit = p.commit_transaction().await;
        let requests = p.requests();
        let e = commit.expect_err("a transaction whose Produce failed committed");
        let said = chain(&e);
        assert!(
            said.contains("must be aborted: Produce") && said.contains(&code.to_string()),
            "{code}: commit said {said}; {requests:?}"
        );
        assert_eq!(
            p.state(),
            kwire_client::txn::TxnState::AbortableError,
            "{code}: {requests:?}"
        );
        // The mock has no aborted-transaction index (read_committed sees
        // what read_uncommitted sees): in its log the aborted
        // transaction's records are exactly those acknowledged.
        let mut failed = 0;
        for (part, v, f) in sent {
            match f.await {
                Ok(_) => in_log.push((part, v)),
                Err(_) => failed += 1,
            }
        }
        assert!(failed >= 1, "{code}: no send failed");
        p.abort_transaction()
            .await
            .unwrap_or_else(|e| panic!("{code}: abort: {e}; {:?}", p.requests()));
        let after = p.producer_id();
        let log = p.requests();
        let t = log.iter().map(|r| r.transaction).max().unwrap();
        let end = log
            .iter()
            .rposition(|r| r.transaction == t && r.api == ApiKey::END_TXN)
            .unwrap_or_else(|| panic!("{code}: no EndTxn (abort): {log:?}"));
        let inits: Vec<i16> = log[end..]
            .iter()
            .filter(|r| r.api == ApiKey::INIT_PRODUCER_ID)
            .map(|r| r.version)
            .collect();
        let mock_inits = mock.received("InitProducerId");
        assert!(
            inits.len() == 1 && inits[0] >= 3,
            "{code}: one InitProducerId v3+ after the abort: {inits:?}; {log:?}"
        );
        assert_eq!(mock_inits.len(), inits_before + 1, "{mock_inits:?}");
        assert_eq!(
            (after.producer_id, after.epoch),
            (first.producer_id, epoch + 1),
            "{code}: KIP-360 keeps the id and bumps the epoch"
        );
        epoch += 1;
        bumps_seen += 1;
        let bumped = mock.log().matches("Bumped PID").count();
        assert_eq!(
            bumped, bumps_seen,
            "{code}: the mock bumped {bumped} times (it does only for an InitProducerId \
             carrying the current id and epoch); its InitProducerId versions {mock_inits:?}"
        );
        // The next transaction commits under the (bumped) epoch.
        assert_eq!(
            p.begin_transaction().await.expect("begin"),
            TxnMode::Classic
        );
        let sent = send_two(format!("c{}", i + 1)).await;
        p.commit_transaction()
            .await
            .unwrap_or_else(|e| panic!("{code}: commit after the abort: {e}; {:?}", p.requests()));
        for (part, v, f) in sent {
            f.await.expect("committed record acknowledged");
            in_log.push((part, v));
        }
        assert_eq!(p.producer_id().epoch, epoch, "classic: no bump on commit");
    }
    p.close().await;
    in_log.sort();
    assert_eq!(
        read_to_end(&c, T360).await,
        in_log,
        "the log: every acknowledged record once, no failed one"
    );
    c.shutdown().await;
    eprintln!("mock KIP-360: {:.1?}", t0.elapsed());
}

/// The idempotent producer (no transactions) given UNKNOWN_PRODUCER_ID on a
/// Produce: it takes a new producer id (a second InitProducerId), stamps
/// the unacknowledged batches again from sequence 0, and every record is
/// in the log exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer_unknown_producer_id_resets_and_delivers_once() {
    let t0 = Instant::now();
    const TOP: &str = "kw-idem";
    let mut mock = MockCluster::start(Librdkafka::V2_16, 1, &[]);
    mock.cmd(&format!("t {TOP}:2:1"));
    let c = Arc::new(
        Cluster::connect(&mock.bootstrap, cfg())
            .await
            .expect("connect"),
    );
    let pc = kwire_client::produce::ProducerConfig {
        linger: Duration::from_millis(5),
        ..Default::default()
    };
    let p = kwire_client::produce::Producer::new(c.clone(), pc).expect("producer");
    let mut want = Vec::new();
    let mut round = |tag: &'static str| {
        let p = &p;
        let mut out = Vec::new();
        for i in 0..10 {
            let v = format!("{tag}-{i}");
            want.push((i % 2, v.clone()));
            out.push((i % 2, v));
        }
        async move {
            let mut futs = Vec::new();
            for (part, v) in out {
                let rec = ProducerRecord::new(TOP, v.into_bytes()).partition(part);
                futs.push(p.send(rec).await.expect("send"));
            }
            p.flush().await;
            for f in futs {
                f.await.expect("delivered");
            }
        }
    };
    // Sequences established on both partitions first.
    round("before").await;
    assert_eq!(p.stats().producer_ids, 1, "{:?}", p.stats());
    mock.cmd(&format!("e 0:{}", ErrorCode::UNKNOWN_PRODUCER_ID.0));
    round("during").await;
    let stats = p.stats();
    assert_eq!(
        stats.producer_ids, 2,
        "UNKNOWN_PRODUCER_ID: a new producer id: {stats:?}"
    );
    assert!(
        stats
            .last_errors
            .iter()
            .any(|e| e.contains("UNKNOWN_PRODUCER_ID")),
        "{stats:?}"
    );
    round("after").await;
    p.close().await;
    assert_eq!(mock.received("InitProducerId").len(), 2);
    want.sort();
    assert_eq!(
        read_to_end(&c, TOP).await,
        want,
        "every record exactly once"
    );
    c.shutdown().await;
    eprintln!("mock idempotent reset: {:.1?}", t0.elapsed());
}
