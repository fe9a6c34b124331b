//! Differential tests against the `kafka-protocol` crate's record codec:
//! batches encoded by one decode in the other, with every codec, in both
//! directions; uncompressed encodings must match byte for byte. Also the
//! error table against kafka-protocol's `ResponseError`.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as KCompression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as KTimestampType,
};
use kwire::records::{
    Compression, DecodeOptions, Header, RecordBatch, RecordBatchBuilder, TimestampType,
};
use kwire::ErrorCode;
use proptest::prelude::*;

fn kcodec(c: Compression) -> KCompression {
    match c {
        Compression::None => KCompression::None,
        Compression::Gzip => KCompression::Gzip,
        Compression::Snappy => KCompression::Snappy,
        Compression::Lz4 => KCompression::Lz4,
        Compression::Zstd => KCompression::Zstd,
    }
}

#[derive(Debug, Clone)]
struct Rec {
    ts_step: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    /// Unique UTF-8 keys: kafka-protocol keeps headers in a map of strings.
    headers: Vec<(String, Option<Vec<u8>>)>,
}

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        Just(Some(Vec::new())),
        proptest::collection::vec(any::<u8>(), 0..max).prop_map(Some),
    ]
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        0i64..5000,
        opt_bytes(30),
        opt_bytes(200),
        proptest::collection::btree_map("[a-z]{0,6}", opt_bytes(16), 0..3),
    )
        .prop_map(|(ts_step, key, value, headers)| Rec {
            ts_step,
            key,
            value,
            headers: headers.into_iter().collect(),
        })
}

#[derive(Debug, Clone)]
struct Batch {
    base_offset: i64,
    base_ts: i64,
    codec: Compression,
    producer: (i64, i16, i32),
    transactional: bool,
    leader_epoch: i32,
    recs: Vec<Rec>,
}

fn batch() -> impl Strategy<Value = Batch> {
    (
        0i64..1 << 40,
        1_600_000_000_000i64..1_700_000_000_000,
        proptest::sample::select(Compression::ALL.to_vec()),
        prop_oneof![
            Just((-1i64, -1i16, -1i32)),
            (0i64..1 << 40, 0i16..100, 0i32..1 << 20)
        ],
        any::<bool>(),
        -1i32..50,
        proptest::collection::vec(rec(), 1..25),
    )
        .prop_map(
            |(base_offset, base_ts, codec, producer, transactional, leader_epoch, recs)| Batch {
                base_offset,
                base_ts,
                codec,
                producer,
                transactional,
                leader_epoch,
                recs,
            },
        )
}

/// Non-decreasing timestamps, so "first" (Kafka, kwire) and "minimum"
/// (kafka-protocol) agree on the base timestamp.
fn timestamps(b: &Batch) -> Vec<i64> {
    let mut t = b.base_ts;
    b.recs
        .iter()
        .map(|r| {
            t += r.ts_step;
            t
        })
        .collect()
}

fn kwire_encode(b: &Batch) -> Bytes {
    let mut bb = RecordBatchBuilder::new(b.base_offset)
        .compression(b.codec)
        .producer(b.producer.0, b.producer.1, b.producer.2)
        .transactional(b.transactional)
        .partition_leader_epoch(b.leader_epoch);
    for (r, ts) in b.recs.iter().zip(timestamps(b)) {
        let hs: Vec<Header> = r
            .headers
            .iter()
            .map(|(k, v)| Header::new(k.clone().into_bytes(), v.clone()))
            .collect();
        bb.append(ts, r.key.as_deref(), r.value.as_deref(), &hs)
            .unwrap();
    }
    bb.build().unwrap()
}

fn krecords(b: &Batch) -> Vec<KRecord> {
    b.recs
        .iter()
        .zip(timestamps(b))
        .enumerate()
        .map(|(i, (r, ts))| {
            let mut headers = IndexMap::new();
            for (k, v) in &r.headers {
                headers.insert(StrBytes::from_string(k.clone()), v.clone().map(Bytes::from));
            }
            KRecord {
                transactional: b.transactional,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: b.leader_epoch,
                producer_id: b.producer.0,
                producer_epoch: b.producer.1,
                timestamp_type: KTimestampType::Creation,
                offset: b.base_offset + i as i64,
                // kafka-protocol groups records into one batch while
                // offset - sequence stays constant, and decodes a record's
                // sequence as baseSequence + offsetDelta even for -1.
                sequence: b.producer.2.wrapping_add(i as i32),
                timestamp: ts,
                key: r.key.clone().map(Bytes::from),
                value: r.value.clone().map(Bytes::from),
                headers,
            }
        })
        .collect()
}

fn check_kwire_records(b: &Batch, bytes: Bytes) -> Result<(), TestCaseError> {
    let batch = RecordBatch::decode(bytes).unwrap();
    prop_assert_eq!(batch.header.compression().unwrap(), b.codec);
    prop_assert_eq!(batch.header.producer_id, b.producer.0);
    prop_assert_eq!(batch.header.producer_epoch, b.producer.1);
    prop_assert_eq!(batch.header.partition_leader_epoch, b.leader_epoch);
    prop_assert_eq!(batch.header.is_transactional(), b.transactional);
    let recs = batch.decode_records(&DecodeOptions::default()).unwrap();
    prop_assert_eq!(recs.len(), b.recs.len());
    for (i, ((got, want), ts)) in recs.iter().zip(&b.recs).zip(timestamps(b)).enumerate() {
        prop_assert_eq!(got.offset, b.base_offset + i as i64);
        prop_assert_eq!(got.timestamp, ts);
        prop_assert_eq!(got.key.as_deref(), want.key.as_deref());
        prop_assert_eq!(got.value.as_deref(), want.value.as_deref());
        let hs: Vec<(String, Option<Vec<u8>>)> = got
            .headers
            .iter()
            .map(|h| {
                (
                    h.key_str().unwrap().to_owned(),
                    h.value.as_ref().map(|v| v.to_vec()),
                )
            })
            .collect();
        prop_assert_eq!(&hs, &want.headers);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// kafka-protocol encodes, kwire decodes.
    #[test]
    fn kafka_protocol_to_kwire(b in batch()) {
        let mut buf = BytesMut::new();
        let opts = RecordEncodeOptions { version: 2, compression: kcodec(b.codec) };
        RecordBatchEncoder::encode(&mut buf, &krecords(&b), &opts).unwrap();
        let theirs = buf.freeze();
        check_kwire_records(&b, theirs.clone())?;
        if b.codec == Compression::None {
            prop_assert_eq!(&kwire_encode(&b), &theirs, "uncompressed bytes differ");
        }
    }

    /// kwire encodes, kafka-protocol decodes.
    #[test]
    fn kwire_to_kafka_protocol(b in batch()) {
        let mut ours = kwire_encode(&b);
        check_kwire_records(&b, ours.clone())?;
        let set = RecordBatchDecoder::decode(&mut ours).unwrap();
        prop_assert_eq!(set.version, 2);
        prop_assert_eq!(set.compression, kcodec(b.codec));
        prop_assert_eq!(set.records.len(), b.recs.len());
        let want = krecords(&b);
        for (got, want) in set.records.iter().zip(&want) {
            prop_assert_eq!(got.offset, want.offset);
            prop_assert_eq!(got.timestamp, want.timestamp);
            prop_assert_eq!(got.sequence, want.sequence);
            prop_assert_eq!(got.producer_id, want.producer_id);
            prop_assert_eq!(got.producer_epoch, want.producer_epoch);
            prop_assert_eq!(got.transactional, want.transactional);
            prop_assert_eq!(got.partition_leader_epoch, want.partition_leader_epoch);
            prop_assert_eq!(&got.key, &want.key);
            prop_assert_eq!(&got.value, &want.value);
            prop_assert_eq!(&got.headers, &want.headers);
        }
    }
}

#[test]
fn log_append_time_and_control_flags_reach_kafka_protocol() {
    let mut b = RecordBatchBuilder::new(10)
        .timestamp_type(TimestampType::LogAppendTime)
        .compression(Compression::Lz4);
    b.append(500, None, Some(b"x"), &[]).unwrap();
    let mut bytes = b.build().unwrap();
    let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
    assert_eq!(set.records[0].timestamp_type, KTimestampType::LogAppend);

    let mut marker = RecordBatchBuilder::end_txn_marker(7, 99, 1, true, 5, 1000).unwrap();
    let set = RecordBatchDecoder::decode(&mut marker).unwrap();
    assert!(set.records[0].control && set.records[0].transactional);
    assert_eq!(set.records[0].key.as_deref(), Some(&[0, 0, 0, 1][..]));
}

/// Codes, names and retriable flags agree with kafka-protocol's table
/// (which it, like us, takes from Kafka's Errors.java).
#[test]
fn error_table_matches_kafka_protocol() {
    let mut compared = 0;
    for code in ErrorCode::all() {
        let Some(theirs) = kafka_protocol::ResponseError::try_from_code(code.0) else {
            assert_eq!(code, ErrorCode::NONE);
            continue;
        };
        if let kafka_protocol::ResponseError::Unknown(_) = theirs {
            continue; // a code newer than kafka-protocol 0.18
        }
        let camel: String = code
            .name()
            .unwrap()
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                let first = c.next().unwrap();
                first.to_string() + &c.as_str().to_lowercase()
            })
            .collect();
        assert_eq!(format!("{theirs:?}"), camel, "code {}", code.0);
        if code == ErrorCode::CONCURRENT_TRANSACTIONS {
            // KAFKA-14417 (Kafka 3.4) made it retriable; kafka-protocol 0.18's
            // table still has the older flag.
            assert!(code.is_retriable() && !theirs.is_retriable(), "{code}");
        } else {
            assert_eq!(theirs.is_retriable(), code.is_retriable(), "{code}");
        }
        compared += 1;
    }
    assert!(compared >= 130, "only {compared} codes compared");
}
