//! The producer and consumer against REAL Apache Kafka single brokers
//! (4.4.0, 3.8.1, 2.3.1), started by each test through
//! testsupport/kafka/broker and stopped from a Drop guard.
//!
//! Each run produces keyed records with headers through `Producer`
//! (idempotent, acks=all) in every codec, reads them back with `Consumer`
//! from the earliest offset and checks every record: per partition in
//! send order, at the offset its delivery reported, byte for byte. Then:
//! acks=1 and acks=0 without idempotence, a start by timestamp and by
//! offset, `latest`, OFFSET_OUT_OF_RANGE reset, and the versions the
//! cluster negotiated (Produce, Fetch, ListOffsets at each broker's own).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kwire::records::Compression;
use kwire::ApiKey;
use kwire_client::consume::{Consumer, ConsumerConfig, Offset, OffsetReset};
use kwire_client::produce::{Acks, Delivery, Producer, ProducerConfig, ProducerRecord};
use support::kafka::{lock, runtime, KafkaBroker};
use support::produce::{connect, create_topic, read_all};

fn record(topic: &str, i: usize) -> ProducerRecord {
    ProducerRecord::new(topic, format!("value-{i}-{}", "x".repeat(i % 50)))
        .key(format!("key-{}", i % 17))
        .header("seq", Some(i.to_string()))
        .header("null-header", None::<Bytes>)
}

/// Produces `n` records, returns their deliveries in send order.
async fn produce_n(p: &Producer, topic: &str, n: usize) -> Vec<Delivery> {
    let mut futs = Vec::with_capacity(n);
    for i in 0..n {
        futs.push(p.send(record(topic, i)).await.expect("send"));
    }
    p.flush().await;
    let mut out = Vec::with_capacity(n);
    for f in futs {
        match f.await {
            Ok(d) => out.push(d),
            Err(e) => panic!("not delivered: {e}; producer stats: {:?}", p.stats()),
        }
    }
    out
}

/// Every delivered record read back exactly once, at its offset, in send
/// order per partition, keys/values/headers intact.
fn check_read_back(
    topic: &str,
    deliveries: &[Delivery],
    got: &[kwire_client::consume::ConsumedRecord],
) {
    assert_eq!(got.len(), deliveries.len(), "{topic}: record count");
    let mut by_offset = BTreeMap::new();
    for r in got {
        assert!(
            by_offset.insert((r.partition, r.offset), r).is_none(),
            "{topic}: offset {}-{} read twice",
            r.partition,
            r.offset
        );
    }
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for (i, d) in deliveries.iter().enumerate() {
        assert!(d.offset >= 0, "{topic}: record {i} has no offset");
        let prev = last.insert(d.partition, d.offset);
        assert!(
            prev.map_or(true, |p| p < d.offset),
            "{topic}: record {i} out of send order"
        );
        let r = by_offset.get(&(d.partition, d.offset)).unwrap_or_else(|| {
            panic!(
                "{topic}: record {i} at {}-{} not read back",
                d.partition, d.offset
            )
        });
        let want = record(topic, i);
        assert_eq!(r.key, want.key, "{topic}: key of record {i}");
        assert_eq!(r.value, want.value, "{topic}: value of record {i}");
        assert_eq!(r.headers, want.headers, "{topic}: headers of record {i}");
    }
}

/// The whole story on one broker; returns (Produce, Fetch) versions.
async fn story(kafka: &KafkaBroker) -> (i16, i16) {
    let c = connect(&kafka.bootstrap).await;
    for (i, codec) in Compression::ALL.iter().enumerate().rev() {
        let topic = format!("kw-produce-{i}");
        create_topic(&c, &topic, 3, 1).await;
        let cfg = ProducerConfig {
            compression: *codec,
            batch_size: 16 * 1024,
            ..Default::default()
        };
        let p = Producer::new(c.clone(), cfg).expect("producer");
        let d = produce_n(&p, &topic, 3000).await;
        p.close().await;
        let st = p.stats();
        assert_eq!(st.producer_ids, 1, "{codec:?}: one producer id");
        assert!(st.requests > 3, "{codec:?}: {st:?}");
        let got = read_all(
            c.clone(),
            &topic,
            ConsumerConfig::default(),
            d.len(),
            Duration::from_secs(60),
        )
        .await;
        check_read_back(&topic, &d, &got);
        eprintln!(
            "{}: {codec:?}: 3000 records in {} requests, read back",
            kafka.release, st.requests
        );
    }
    // acks=1 and acks=0, no idempotence.
    for acks in [Acks::Leader, Acks::None] {
        let topic = format!("kw-acks-{}", acks.wire());
        create_topic(&c, &topic, 1, 1).await;
        let cfg = ProducerConfig {
            acks,
            idempotent: false,
            ..Default::default()
        };
        let p = Producer::new(c.clone(), cfg).expect("producer");
        let d = produce_n(&p, &topic, 500).await;
        p.close().await;
        assert_eq!(p.stats().producer_ids, 0);
        let got = read_all(
            c.clone(),
            &topic,
            ConsumerConfig::default(),
            500,
            Duration::from_secs(30),
        )
        .await;
        if acks == Acks::None {
            // No answer, so no offsets: order and content only.
            assert!(d.iter().all(|d| d.offset == -1));
            let values: Vec<_> = got.iter().map(|r| r.value.clone()).collect();
            let want: Vec<_> = (0..500).map(|i| record(&topic, i).value).collect();
            assert_eq!(values, want, "acks=0: read back in order");
        } else {
            check_read_back(&topic, &d, &got);
        }
    }
    // Starts: by timestamp, by offset, latest; an out-of-range offset.
    let topic = "kw-starts";
    create_topic(&c, topic, 1, 1).await;
    let p = Producer::new(c.clone(), ProducerConfig::default()).unwrap();
    let mut futs = vec![];
    for i in 0..10i64 {
        let r = ProducerRecord::new(topic, format!("t{i}"))
            .partition(0)
            .timestamp(1_700_000_000_000 + i * 1000);
        futs.push(p.send(r).await.unwrap());
    }
    p.close().await;
    let mut offsets = vec![];
    for f in futs {
        offsets.push(f.await.unwrap().offset);
    }
    let first = |start: Offset, reset: OffsetReset| {
        let c = c.clone();
        async move {
            let cfg = ConsumerConfig {
                offset_reset: reset,
                max_wait: Duration::from_millis(200),
                ..Default::default()
            };
            let mut k = Consumer::new(c, cfg);
            k.assign(topic, 0, start);
            for _ in 0..20 {
                let got = k.poll().await.expect("poll");
                if let Some(r) = got.first() {
                    return Some(r.value.clone().unwrap());
                }
                if k.at_end() {
                    return None;
                }
            }
            None
        }
    };
    assert_eq!(
        first(Offset::Timestamp(1_700_000_004_500), OffsetReset::Fail)
            .await
            .as_deref(),
        Some(&b"t5"[..])
    );
    assert_eq!(
        first(Offset::At(offsets[7]), OffsetReset::Fail)
            .await
            .as_deref(),
        Some(&b"t7"[..])
    );
    assert_eq!(first(Offset::Latest, OffsetReset::Fail).await, None);
    assert_eq!(
        first(Offset::Timestamp(1_800_000_000_000), OffsetReset::Fail).await,
        None
    );
    assert_eq!(
        first(Offset::At(1_000_000), OffsetReset::Earliest)
            .await
            .as_deref(),
        Some(&b"t0"[..])
    );
    let mut k = Consumer::new(
        c.clone(),
        ConsumerConfig {
            offset_reset: OffsetReset::Fail,
            ..Default::default()
        },
    );
    k.assign(topic, 0, Offset::At(1_000_000));
    let e = k
        .poll()
        .await
        .expect_err("out of range must fail with reset=fail");
    assert!(e.to_string().contains("out of range"), "{e}");

    // The CLI, both ways.
    create_topic(&c, "kw-cli", 2, 1).await;
    let input: String = (0..50).map(|i| format!("k{i}:v{i}\n")).collect();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args([
            "produce",
            "-b",
            &kafka.bootstrap,
            "-t",
            "kw-cli",
            "--key-separator",
            ":",
            "-z",
            "zstd",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("kwire produce");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "kwire produce: {status}");
    let out = tokio::task::spawn_blocking({
        let b = kafka.bootstrap.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_kwire"))
                .args(["consume", "-b", &b, "-t", "kw-cli", "-e", "--print-key"])
                .output()
                .expect("kwire consume")
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "kwire consume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..50).map(|i| format!("k{i}\tv{i}")).collect();
    want.sort();
    assert_eq!(
        got, want,
        "{}: kwire consume reads what kwire produce wrote",
        kafka.release
    );

    // Versions: what the broker's connection allows.
    let node = *c.metadata().brokers.keys().next().unwrap();
    let live = c.broker(node).unwrap().connection().await.unwrap();
    let ours = |k| kwire_client::protocol::api::our_range(k).unwrap().max;
    let pv = live
        .versions
        .get(ApiKey::PRODUCE)
        .unwrap()
        .max
        .min(ours(ApiKey::PRODUCE));
    let fv = live
        .versions
        .get(ApiKey::FETCH)
        .unwrap()
        .max
        .min(ours(ApiKey::FETCH));
    c.shutdown().await;
    (pv, fv)
}

#[test]
fn kafka_4_4_0() {
    let _g = lock();
    let kafka = KafkaBroker::start("4.4.0", None);
    let (pv, fv) = runtime().block_on(story(&kafka));
    assert_eq!((pv, fv), (13, 18), "4.4.0 versions");
}

#[test]
fn kafka_3_8_1() {
    let _g = lock();
    let kafka = KafkaBroker::start("3.8.1", None);
    let (pv, fv) = runtime().block_on(story(&kafka));
    assert_eq!((pv, fv), (11, 16), "3.8.1 versions");
}

#[test]
fn kafka_2_3_1() {
    let _g = lock();
    let kafka = KafkaBroker::start("2.3.1", None);
    let (pv, fv) = runtime().block_on(story(&kafka));
    assert_eq!((pv, fv), (7, 11), "2.3.1 versions");
}
