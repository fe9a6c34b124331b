//! Consumer groups and committed offsets against REAL Apache Kafka brokers
//! (started by the test through testsupport/kafka/broker on 127.0.0.1,
//! stopped from a Drop guard). One broker per release, several scenarios
//! on it. Without java/mvn the tests fail with the command to run.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kwire::ErrorCode;
use kwire_client::consume::offsets::{self, FetchOffsets, OffsetAndMetadata, OffsetsError};
use kwire_client::group::{GroupMetadata, TopicPartition};
use support::kafka::{lock, runtime, KafkaBroker};
use support::produce::{connect, create_topic};

const T: Duration = Duration::from_secs(30);

fn tp(t: &str, p: i32) -> TopicPartition {
    TopicPartition::new(t, p)
}

/// OffsetCommit then OffsetFetch (require_stable) for a group nobody joined:
/// what was committed comes back, a partition never committed comes back
/// empty, and a commit for a partition that does not exist names it.
async fn offsets_round_trip(kafka: &KafkaBroker, expect_version: i16) {
    let c = connect(&kafka.bootstrap).await;
    create_topic(&c, "off-a", 3, 1).await;
    let group = GroupMetadata::unjoined("off-g");
    let mut want = BTreeMap::new();
    want.insert(
        tp("off-a", 0),
        OffsetAndMetadata {
            offset: 17,
            leader_epoch: 0,
            metadata: Some("m0".into()),
        },
    );
    want.insert(tp("off-a", 2), OffsetAndMetadata::new(5));
    let done = offsets::commit(&c, &group, &want, T)
        .await
        .expect("OffsetCommit");
    assert_eq!(done.version, Some(expect_version), "{done:?}");
    assert_eq!(done.requests, 1);
    let parts = [tp("off-a", 0), tp("off-a", 1), tp("off-a", 2)];
    let how = FetchOffsets {
        require_stable: true,
        member: None,
    };
    let got = offsets::fetch(&c, "off-g", &parts, &how, T)
        .await
        .expect("OffsetFetch");
    assert_eq!(got[&tp("off-a", 0)].as_ref(), want.get(&tp("off-a", 0)));
    assert_eq!(got[&tp("off-a", 1)], None);
    assert_eq!(got[&tp("off-a", 2)].as_ref().map(|o| o.offset), Some(5));

    // A partition that does not exist: its own error, the others committed.
    let mut bad = BTreeMap::new();
    bad.insert(tp("off-a", 1), OffsetAndMetadata::new(3));
    bad.insert(tp("off-a", 9), OffsetAndMetadata::new(3));
    let err = offsets::commit(&c, &group, &bad, Duration::from_secs(5))
        .await
        .expect_err("partition 9 does not exist");
    match &err {
        OffsetsError::Partitions { failed, .. } => {
            assert_eq!(failed.len(), 1, "{err}");
            assert_eq!(failed[0].0, tp("off-a", 9));
            assert_eq!(failed[0].1, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "{err}");
        }
        other => panic!("{other}"),
    }
    let got = offsets::fetch(&c, "off-g", &[tp("off-a", 1)], &how, T)
        .await
        .expect("OffsetFetch");
    assert_eq!(got[&tp("off-a", 1)].as_ref().map(|o| o.offset), Some(3));
    c.shutdown().await;
}

#[test]
fn kafka_4_4_0_groups() {
    let _g = lock();
    let kafka = KafkaBroker::start("4.4.0", None);
    let rt = runtime();
    let t = std::time::Instant::now();
    // 4.4: OffsetCommit v10 names topics by id (KIP-848).
    rt.block_on(offsets_round_trip(&kafka, 10));
    eprintln!("4.4.0 offsets round trip: {:.1?}", t.elapsed());
}
