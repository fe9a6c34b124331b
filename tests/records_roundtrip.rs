//! Round trips of the record layer: builder -> decode -> re-encode, for
//! every codec, control, transactional and idempotent batches, and null vs
//! empty keys, values and headers; plus multi-batch fields with a trailing
//! partial batch, legacy message sets and zero-copy decoding.

use bytes::{Bytes, BytesMut};
use kwire::records::legacy::{compress_wrapper_value, encode_message};
use kwire::records::{
    decode_batches, Batch, Batches, Compression, CompressionOptions, ControlRecordType,
    DecodeOptions, Header, RecordBatch, RecordBatchBuilder, SnappyFraming, TimestampType,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct In {
    ts: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        Just(Some(Vec::new())),
        proptest::collection::vec(any::<u8>(), 0..max).prop_map(Some),
    ]
}

fn record_in() -> impl Strategy<Value = In> {
    (
        1_600_000_000_000i64..1_800_000_000_000,
        opt_bytes(40),
        opt_bytes(300),
        proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..12), opt_bytes(20)),
            0..4,
        ),
    )
        .prop_map(|(ts, key, value, headers)| In {
            ts,
            key,
            value,
            headers,
        })
}

fn codec() -> impl Strategy<Value = Compression> {
    proptest::sample::select(Compression::ALL.to_vec())
}

fn headers_of(r: &In) -> Vec<Header> {
    r.headers
        .iter()
        .map(|(k, v)| Header::new(k.clone(), v.clone()))
        .collect()
}

#[derive(Debug, Clone)]
struct Params {
    base_offset: i64,
    codec: Compression,
    snappy_raw: bool,
    producer: Option<(i64, i16, i32)>,
    transactional: bool,
    log_append: bool,
    leader_epoch: i32,
}

fn params() -> impl Strategy<Value = Params> {
    (
        0i64..1 << 40,
        codec(),
        any::<bool>(),
        proptest::option::of((0i64..1 << 50, 0i16..i16::MAX, 0i32..i32::MAX / 2)),
        any::<bool>(),
        any::<bool>(),
        -1i32..1000,
    )
        .prop_map(
            |(
                base_offset,
                codec,
                snappy_raw,
                producer,
                transactional,
                log_append,
                leader_epoch,
            )| {
                Params {
                    base_offset,
                    codec,
                    snappy_raw,
                    producer,
                    transactional,
                    log_append,
                    leader_epoch,
                }
            },
        )
}

fn build(p: &Params, recs: &[In]) -> Bytes {
    let mut b = RecordBatchBuilder::new(p.base_offset)
        .compression(p.codec)
        .snappy_framing(if p.snappy_raw {
            SnappyFraming::Raw
        } else {
            SnappyFraming::Xerial
        })
        .transactional(p.transactional)
        .partition_leader_epoch(p.leader_epoch)
        .timestamp_type(if p.log_append {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        });
    if let Some((id, epoch, seq)) = p.producer {
        b = b.producer(id, epoch, seq);
    }
    for (i, r) in recs.iter().enumerate() {
        let off = b
            .append(r.ts, r.key.as_deref(), r.value.as_deref(), &headers_of(r))
            .unwrap();
        assert_eq!(off, p.base_offset + i as i64);
    }
    b.build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn builder_decode_reencode(p in params(), recs in proptest::collection::vec(record_in(), 0..20)) {
        let bytes = build(&p, &recs);
        let batch = RecordBatch::decode(bytes.clone()).unwrap();
        let h = &batch.header;
        prop_assert_eq!(h.magic, 2);
        prop_assert_eq!(h.base_offset, p.base_offset);
        prop_assert_eq!(h.partition_leader_epoch, p.leader_epoch);
        prop_assert_eq!(h.compression().unwrap(), p.codec);
        prop_assert_eq!(h.is_transactional(), p.transactional);
        prop_assert!(!h.is_control());
        prop_assert_eq!(h.records_count as usize, recs.len());
        prop_assert_eq!(h.size(), bytes.len());
        let (pid, pep, seq) = p.producer.unwrap_or((-1, -1, -1));
        prop_assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (pid, pep, seq));
        if recs.is_empty() {
            prop_assert_eq!((h.base_timestamp, h.max_timestamp, h.last_offset_delta), (-1, -1, 0));
        } else {
            prop_assert_eq!(h.base_timestamp, recs[0].ts);
            prop_assert_eq!(h.max_timestamp, recs.iter().map(|r| r.ts).max().unwrap());
            prop_assert_eq!(h.last_offset_delta as usize, recs.len() - 1);
        }
        let decoded = batch.decode_records(&DecodeOptions::default()).unwrap();
        prop_assert_eq!(decoded.len(), recs.len());
        for (i, (d, r)) in decoded.iter().zip(&recs).enumerate() {
            prop_assert_eq!(d.offset, p.base_offset + i as i64);
            let ts = if p.log_append { h.max_timestamp } else { r.ts };
            prop_assert_eq!(d.timestamp, ts);
            prop_assert_eq!(d.key.as_deref(), r.key.as_deref());
            prop_assert_eq!(d.value.as_deref(), r.value.as_deref());
            prop_assert_eq!(&d.headers, &headers_of(r));
        }
        // Re-encoding the decoded batch gives the same bytes, CRC included.
        let opts = CompressionOptions {
            codec: p.codec,
            snappy_framing: if p.snappy_raw { SnappyFraming::Raw } else { SnappyFraming::Xerial },
            ..Default::default()
        };
        let again = RecordBatch::encode(h, &decoded, &opts).unwrap();
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn partial_trailing_batch_is_reported_not_fatal(
        a in proptest::collection::vec(record_in(), 1..5),
        b in proptest::collection::vec(record_in(), 1..5),
        c in proptest::collection::vec(record_in(), 1..5),
        codec in codec(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut p = Params { base_offset: 100, codec, snappy_raw: false, producer: None,
            transactional: false, log_append: false, leader_epoch: 3 };
        let b1 = build(&p, &a);
        p.base_offset += a.len() as i64;
        let b2 = build(&p, &b);
        p.base_offset += b.len() as i64;
        let b3 = build(&p, &c);
        let keep = cut.index(b3.len()); // 0..len-1: always partial
        let mut field = BytesMut::new();
        field.extend_from_slice(&b1);
        field.extend_from_slice(&b2);
        field.extend_from_slice(&b3[..keep]);
        let out = decode_batches(field.freeze(), &DecodeOptions::default()).unwrap();
        prop_assert_eq!(out.batches.len(), 2);
        let all = out.records(&DecodeOptions::default()).unwrap();
        prop_assert_eq!(all.len(), a.len() + b.len());
        prop_assert_eq!(all.last().unwrap().offset, 100 + (a.len() + b.len()) as i64 - 1);
        if keep == 0 {
            prop_assert_eq!(out.partial, None);
        } else {
            let partial = out.partial.unwrap();
            prop_assert_eq!(partial.offset, b1.len() + b2.len());
            prop_assert_eq!(partial.available, keep);
            if keep >= 12 {
                prop_assert_eq!(partial.size, Some(b3.len()));
            }
            if keep >= 8 {
                prop_assert_eq!(partial.base_offset, Some(p.base_offset));
            }
        }
    }
}

#[test]
fn control_batches_round_trip() {
    for commit in [true, false] {
        let bytes =
            RecordBatchBuilder::end_txn_marker(42, 7000, 3, commit, 17, 1_700_000_000_123).unwrap();
        let batch = RecordBatch::decode(bytes.clone()).unwrap();
        assert!(batch.header.is_control());
        assert!(batch.header.is_transactional());
        assert_eq!(batch.header.producer_id, 7000);
        assert_eq!(batch.header.producer_epoch, 3);
        let recs = batch.decode_records(&DecodeOptions::default()).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].offset, 42);
        // Key: version 0, type 0 (abort) or 1 (commit); value: version 0,
        // coordinator epoch (KIP-98's EndTransactionMarker).
        let t = if commit { 1 } else { 0 };
        assert_eq!(recs[0].key.as_deref(), Some(&[0, 0, 0, t][..]));
        assert_eq!(recs[0].value.as_deref(), Some(&[0, 0, 0, 0, 0, 17][..]));
        let c = recs[0].control().unwrap();
        assert_eq!(c.is_commit(), commit);
        assert_eq!(c.is_abort(), !commit);
        assert_eq!(
            c.key.kind,
            if commit {
                ControlRecordType::Commit
            } else {
                ControlRecordType::Abort
            }
        );
        assert_eq!(c.marker.unwrap().coordinator_epoch, 17);
        let again =
            RecordBatch::encode(&batch.header, &recs, &CompressionOptions::default()).unwrap();
        assert_eq!(again, bytes);
    }
}

#[test]
fn uncompressed_decode_is_zero_copy_and_lazy() {
    let mut b = RecordBatchBuilder::new(0);
    for i in 0..100u32 {
        let v = vec![i as u8; 100];
        b.append(
            1000 + i64::from(i),
            Some(b"key"),
            Some(&v),
            &[Header::new(&b"h"[..], Some(&b"hv"[..]))],
        )
        .unwrap();
    }
    let bytes = b.build().unwrap();
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    let batch = RecordBatch::decode(bytes.clone()).unwrap();
    let mut it = batch.records(&DecodeOptions::default()).unwrap();
    let first = it.next().unwrap().unwrap();
    assert_eq!(it.declared_remaining(), 99);
    for r in std::iter::once(first).chain(it.map(Result::unwrap)) {
        for s in [
            r.key.as_ref().unwrap(),
            r.value.as_ref().unwrap(),
            &r.headers[0].key,
            r.headers[0].value.as_ref().unwrap(),
        ] {
            assert!(range.contains(&(s.as_ptr() as usize)), "slice copied");
        }
    }
}

#[test]
fn explicit_offsets_with_gaps_and_out_of_order_timestamps() {
    let mut b = RecordBatchBuilder::new(1000);
    b.append_with_offset(1000, 50, None, Some(b"a"), &[])
        .unwrap();
    b.append_with_offset(1005, 20, None, Some(b"b"), &[])
        .unwrap();
    assert!(b.append_with_offset(1005, 20, None, None, &[]).is_err());
    assert!(b.append_with_offset(999, 20, None, None, &[]).is_err());
    let batch = RecordBatch::decode(b.build().unwrap()).unwrap();
    assert_eq!(batch.header.last_offset_delta, 5);
    assert_eq!(batch.header.base_timestamp, 50);
    assert_eq!(batch.header.max_timestamp, 50);
    let recs = batch.decode_records(&DecodeOptions::default()).unwrap();
    assert_eq!(
        (recs[1].offset, recs[1].timestamp, recs[1].timestamp_delta),
        (1005, 20, -30)
    );
}

/// A legacy message set: two uncompressed messages, then a compressed
/// wrapper per codec, for magic 0 and 1.
fn legacy_set(magic: i8) -> (Bytes, Vec<(i64, Vec<u8>)>) {
    let ts = |t: i64| (magic == 1).then_some(t);
    let mut buf = BytesMut::new();
    let mut expect = Vec::new();
    encode_message(&mut buf, 0, magic, 0, ts(10), Some(b"k0"), Some(b"v0")).unwrap();
    encode_message(&mut buf, 1, magic, 0, ts(11), None, Some(b"")).unwrap();
    expect.push((0, b"v0".to_vec()));
    expect.push((1, b"".to_vec()));
    let mut next = 2i64;
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
        let mut inner = BytesMut::new();
        for i in 0..3i64 {
            // Magic 1 inner offsets are relative (KIP-31); magic 0 absolute.
            let off = if magic == 1 { i } else { next + i };
            let v = format!("{codec}-{i}").into_bytes();
            encode_message(&mut inner, off, magic, 0, ts(20 + i), None, Some(&v)).unwrap();
            expect.push((next + i, v));
        }
        let value = compress_wrapper_value(codec, magic, &inner).unwrap();
        encode_message(
            &mut buf,
            next + 2,
            magic,
            codec.id() as i8,
            ts(30),
            None,
            Some(&value),
        )
        .unwrap();
        next += 3;
    }
    (buf.freeze(), expect)
}

#[test]
fn legacy_message_sets_decode_including_compressed_wrappers() {
    for magic in [0i8, 1] {
        let (field, expect) = legacy_set(magic);
        let mut it = Batches::new(field);
        let mut got = Vec::new();
        for b in &mut it {
            let b = b.unwrap();
            assert!(matches!(b, Batch::Legacy(_)));
            assert_eq!(b.magic(), magic);
            for r in b.records(&DecodeOptions::default()).unwrap() {
                got.push((r.offset, r.value.unwrap().to_vec()));
                assert!(r.headers.is_empty());
                if magic == 0 {
                    assert_eq!(r.timestamp, -1);
                } else {
                    assert!(r.timestamp >= 10);
                }
            }
        }
        assert_eq!(it.partial(), None);
        assert_eq!(got, expect, "magic {magic}");
    }
}

#[test]
fn mixed_legacy_and_v2_in_one_field() {
    let (legacy, expect) = legacy_set(1);
    let mut b = RecordBatchBuilder::new(expect.len() as i64).compression(Compression::Zstd);
    b.append(5, None, Some(b"v2!"), &[]).unwrap();
    let mut field = BytesMut::from(&legacy[..]);
    field.extend_from_slice(&b.build().unwrap());
    let out = decode_batches(field.freeze(), &DecodeOptions::default()).unwrap();
    let recs = out.records(&DecodeOptions::default()).unwrap();
    assert_eq!(recs.len(), expect.len() + 1);
    assert_eq!(recs.last().unwrap().offset, expect.len() as i64);
    assert_eq!(recs.last().unwrap().value.as_deref(), Some(&b"v2!"[..]));
}

#[test]
fn header_keys_that_are_not_utf8_decode_as_bytes_and_survive_re_encoding() {
    // Kafka's reader replaces invalid UTF-8 in header keys instead of
    // failing the batch; kwire keeps the bytes and leaves the choice to the
    // caller (`key_str` checks, `key_lossy` reads as a Java consumer does).
    let key: &[u8] = b"trace\xff\xfe-id";
    let mut b = RecordBatchBuilder::new(0).compression(Compression::None);
    b.append(1, None, Some(b"v"), &[Header::new(key, Some(&b"x"[..]))])
        .unwrap();
    let bytes = b.build().unwrap();
    let batch = RecordBatch::decode(bytes.clone()).unwrap();
    let recs = batch.decode_records(&DecodeOptions::default()).unwrap();
    let h = &recs[0].headers[0];
    assert_eq!(&h.key[..], key);
    assert_eq!(h.key_str(), None);
    assert_eq!(h.key_lossy(), "trace\u{fffd}\u{fffd}-id");
    let again = RecordBatch::encode(&batch.header, &recs, &CompressionOptions::default()).unwrap();
    assert_eq!(again, bytes);

    let ok = Header::new(&b"trace-id"[..], None::<Bytes>);
    assert_eq!(ok.key_str(), Some("trace-id"));
}
