//! The producer and consumer against non-Apache peers started by the tests:
//!
//! * librdkafka 2.16's mock cluster (3 brokers): NOT_LEADER_OR_FOLLOWER and
//!   REQUEST_TIMED_OUT injected on Produce, a leader moved, a broker set
//!   down mid-run and back up: an idempotent producer delivers every record
//!   (each at the offset its delivery reports, in send order with one batch
//!   in flight). The mock does not deduplicate idempotent retries (see
//!   `check_mock_log`), so exactly-once in the log is a real-Kafka test;
//! * tansu (a Kafka-compatible broker, not Apache's): produce and consume.
//!
//! A missing peer fails with the install command.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kwire_client::consume::{Consumer, ConsumerConfig, Offset};
use kwire_client::produce::{Delivery, Producer, ProducerConfig, ProducerRecord};
use support::peers::{Librdkafka, MockCluster, Tansu};
use support::produce::{connect, create_topic, read_all};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn send_all(p: &Producer, topic: &str, n: usize, partitions: i32) -> Vec<Delivery> {
    let mut futs = Vec::new();
    for i in 0..n {
        let r = ProducerRecord::new(topic, format!("{i}")).partition((i as i32) % partitions);
        futs.push(p.send(r).await.expect("send"));
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let mut out = Vec::new();
    for (i, f) in futs.into_iter().enumerate() {
        out.push(
            f.await
                .unwrap_or_else(|e| panic!("record {i}: {e}; {:?}", p.stats())),
        );
    }
    out
}

/// Every delivery at its own offset; the read-back has each exactly once,
/// in send order per partition (`ordered`), or in any order.
fn check(
    d: &[Delivery],
    got: &[kwire_client::consume::ConsumedRecord],
    partitions: i32,
    ordered: bool,
) {
    let offs: BTreeSet<(i32, i64)> = d.iter().map(|d| (d.partition, d.offset)).collect();
    assert_eq!(offs.len(), d.len(), "two records at one offset");
    // A record read twice at one offset is the consumer's fault; twice at
    // two offsets, the log's (a retry written again).
    let mut seen = BTreeSet::new();
    for r in got {
        assert!(
            seen.insert((r.partition, r.offset)),
            "the consumer returned partition {} offset {} twice",
            r.partition,
            r.offset
        );
    }
    assert_eq!(got.len(), d.len(), "read back");
    for p in 0..partitions {
        let mut vals: Vec<usize> = got
            .iter()
            .filter(|r| r.partition == p)
            .map(|r| {
                std::str::from_utf8(r.value.as_deref().unwrap())
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        let want: Vec<usize> = (0..d.len())
            .filter(|i| (*i as i32) % partitions == p)
            .collect();
        if !ordered {
            vals.sort_unstable();
        }
        assert_eq!(vals, want, "partition {p}: each record once, in send order");
    }
}

/// Every partition of `topic` read from the start to its high watermark
/// (at least `want` records; 90 s at most, then the test fails).
async fn read_to_end(
    c: Arc<kwire_client::Cluster>,
    topic: &str,
    want: usize,
) -> Vec<kwire_client::consume::ConsumedRecord> {
    let mut k = Consumer::new(c, ConsumerConfig::default());
    for p in k.partitions(topic).await.expect("partitions") {
        k.assign(topic, p, Offset::Earliest);
    }
    let within = Duration::from_secs(90);
    let deadline = tokio::time::Instant::now() + within;
    let mut out = Vec::new();
    while (out.len() < want || !k.at_end()) && tokio::time::Instant::now() < deadline {
        out.extend(k.poll().await.expect("poll"));
    }
    // A partial read would fail the checks below with a misleading
    // "not at the offset its delivery reported".
    assert!(
        out.len() >= want && k.at_end(),
        "{topic}: {} records read in {within:?}, {want} delivered, at the end: {}",
        out.len(),
        k.at_end()
    );
    out
}

/// What can be asserted on librdkafka's mock: it checks producer sequences
/// only for transactional producers (its `rd_kafka_mock_validate_records`
/// returns early without a transactional id), so an idempotent batch whose
/// first attempt was written but whose answer was lost (a client-side
/// timeout, a connection closed by `d 2`) is written again on retry. Real
/// Kafka drops it (DUPLICATE_SEQUENCE_NUMBER): exactly once in the log is
/// asserted on real brokers (`producer_cluster.rs`). Here: every record is
/// in the log at the offset its delivery reported, the log holds nothing
/// else, and, with one batch in flight, the reported offsets follow send
/// order per partition.
fn check_mock_log(
    d: &[Delivery],
    log: &[kwire_client::consume::ConsumedRecord],
    partitions: i32,
    ordered: bool,
) {
    let offs: BTreeSet<(i32, i64)> = d.iter().map(|d| (d.partition, d.offset)).collect();
    assert_eq!(offs.len(), d.len(), "two records at one offset");
    let mut at = std::collections::BTreeMap::new();
    for r in log {
        let v: usize = std::str::from_utf8(r.value.as_deref().expect("a value"))
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a record not produced by this test at {}", r.offset));
        assert!(v < d.len(), "a record not produced by this test: {v}");
        assert!(
            at.insert((r.partition, r.offset), v).is_none(),
            "the consumer returned partition {} offset {} twice",
            r.partition,
            r.offset
        );
    }
    for (i, del) in d.iter().enumerate() {
        assert_eq!(
            del.partition,
            (i as i32) % partitions,
            "record {i}'s partition"
        );
        assert_eq!(
            at.get(&(del.partition, del.offset)),
            Some(&i),
            "record {i} is not at the offset its delivery reported ({}-{})",
            del.partition,
            del.offset
        );
    }
    if ordered {
        for p in 0..partitions {
            let o: Vec<i64> = d
                .iter()
                .filter(|x| x.partition == p)
                .map(|x| x.offset)
                .collect();
            assert!(
                o.windows(2).all(|w| w[0] < w[1]),
                "partition {p}: offsets out of send order"
            );
        }
    }
    let written_twice = log.len() - d.len();
    eprintln!("mock log: {} records for {} deliveries ({written_twice} written twice by retries the mock could not recognise)", log.len(), d.len());
}

/// One run on a fresh mock: errors injected on Produce, a leader moved, a
/// broker down and back.
fn mock_run(max_in_flight: usize) {
    let mut mock = MockCluster::start(Librdkafka::V2_16, 3, &[]);
    mock.cmd("t kw-mock:3:3");
    let rt = rt();
    let c = rt.block_on(connect(&mock.bootstrap.join(",")));
    // The mock has no CreateTopics: `t` made the topic.
    rt.block_on(c.refresh_metadata(&["kw-mock"]))
        .expect("metadata");
    let _ctx = rt.enter();
    // Cluster-wide, for the next Produce requests (api key 0):
    // 6 NOT_LEADER_OR_FOLLOWER, 7 REQUEST_TIMED_OUT.
    mock.cmd("e 0:6,7,6,7");
    let cfg = ProducerConfig {
        request_timeout: Duration::from_secs(5),
        batch_size: 4096,
        max_in_flight,
        ..Default::default()
    };
    let p = Arc::new(Producer::new(c.clone(), cfg).unwrap());
    let task = {
        let p = p.clone();
        rt.spawn(async move { send_all(&p, "kw-mock", 3000, 3).await })
    };
    rt.block_on(tokio::time::sleep(Duration::from_millis(300)));
    mock.cmd("l kw-mock:0:3");
    mock.cmd("d 2");
    rt.block_on(tokio::time::sleep(Duration::from_millis(1500)));
    mock.cmd("u 2");
    let d = rt.block_on(task).unwrap();
    rt.block_on(p.close());
    let st = p.stats();
    eprintln!("max_in_flight {max_in_flight}: {st:?}");
    assert!(
        st.retried_batches >= 2,
        "the injected errors were retried: {st:?}"
    );
    assert_eq!(st.producer_ids, 1, "{st:?}");
    let log = rt.block_on(read_to_end(c.clone(), "kw-mock", d.len()));
    check_mock_log(&d, &log, 3, max_in_flight == 1);
    rt.block_on(c.shutdown());
}

#[test]
fn mock_cluster_injected_produce_errors_one_in_flight_keeps_order() {
    mock_run(1);
}

#[test]
fn mock_cluster_injected_produce_errors_five_in_flight_nothing_lost() {
    mock_run(5);
}

#[test]
fn tansu_produce_and_consume() {
    let t = Tansu::start();
    let rt = rt();
    let c = rt.block_on(connect(&t.addr));
    rt.block_on(create_topic(&c, "kw-tansu", 1, 1));
    let _ctx = rt.enter();
    let cfg = ProducerConfig::default();
    let p = Producer::new(c.clone(), cfg).unwrap();
    let d = rt.block_on(send_all(&p, "kw-tansu", 500, 1));
    rt.block_on(p.close());
    let got = rt.block_on(read_all(
        c.clone(),
        "kw-tansu",
        ConsumerConfig::default(),
        500,
        Duration::from_secs(30),
    ));
    check(&d, &got, 1, true);
    rt.block_on(c.shutdown());
}
