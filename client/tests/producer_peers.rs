//! The producer and consumer against non-Apache peers started by the tests:
//!
//! * librdkafka 2.16's mock cluster (3 brokers): NOT_LEADER_OR_FOLLOWER and
//!   REQUEST_TIMED_OUT injected on Produce, a leader moved, a broker set
//!   down mid-run and back up: an idempotent producer delivers every record
//!   once (distinct offsets, read back exactly once in send order);
//! * tansu (a Kafka-compatible broker, not Apache's): produce and consume.
//!
//! A missing peer fails with the install command.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kwire_client::consume::ConsumerConfig;
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
    let got = rt.block_on(read_all(
        c.clone(),
        "kw-mock",
        ConsumerConfig::default(),
        d.len(),
        Duration::from_secs(30),
    ));
    // With several batches in flight, order rests on the broker refusing a
    // sequence gap (OUT_OF_ORDER_SEQUENCE_NUMBER), which Apache Kafka does
    // (producer_cluster.rs) and this mock was seen not to: a batch retried
    // after REQUEST_TIMED_OUT landed behind later ones. Exactly once holds
    // either way; order is asserted with one batch in flight.
    check(&d, &got, 3, max_in_flight == 1);
    rt.block_on(c.shutdown());
}

#[test]
fn mock_cluster_injected_produce_errors_one_in_flight_keeps_order() {
    mock_run(1);
}

#[test]
fn mock_cluster_injected_produce_errors_five_in_flight_exactly_once() {
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
