//! The legacy message-set builder (magic 0 and 1, for Produce v0-2): what it
//! writes reads back through kwire's decoder with every codec, with the
//! offsets, timestamps and attributes Kafka's `MemoryRecordsBuilder` gives
//! (absolute inner offsets for magic 0, relative ones for magic 1 per
//! KIP-31), and its CRC-32s are checked on the way.

use bytes::Bytes;
use kwire::records::{
    decode_batches, fetch_magic, produce_magic, Batch, Compression, DecodeOptions,
    LegacyMessageSetBuilder, RecordsError, TimestampType, MAGIC_V0, MAGIC_V1, MAGIC_V2,
};

const CODECS: [Compression; 4] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
];

/// (timestamp, key, value).
type Input = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

fn inputs() -> Vec<Input> {
    vec![
        (
            1_700_000_000_000,
            Some(b"k0".to_vec()),
            Some(b"v0".to_vec()),
        ),
        (
            1_700_000_000_500,
            None,
            Some(b"value without a key".to_vec()),
        ),
        (1_699_999_999_000, Some(Vec::new()), None),
        (
            1_700_000_001_000,
            Some(b"k3".to_vec()),
            Some(vec![7u8; 300]),
        ),
    ]
}

fn build(magic: i8, codec: Compression, base: i64) -> Bytes {
    let mut b = LegacyMessageSetBuilder::new(magic, base)
        .unwrap()
        .compression(codec);
    for (i, (ts, k, v)) in inputs().iter().enumerate() {
        let off = b.append(*ts, k.as_deref(), v.as_deref()).unwrap();
        assert_eq!(off, base + i as i64);
    }
    assert_eq!(b.len(), 4);
    b.build().unwrap()
}

#[test]
fn every_magic_and_codec_reads_back_with_offsets_and_timestamps() {
    let opts = DecodeOptions::default();
    for magic in [MAGIC_V0, MAGIC_V1] {
        for codec in CODECS {
            let base = 42;
            let bytes = build(magic, codec, base);
            let decoded = decode_batches(bytes, &opts).unwrap();
            assert!(decoded.partial.is_none());
            let what = format!("magic {magic} {codec:?}");
            let n_entries = if codec == Compression::None { 4 } else { 1 };
            assert_eq!(decoded.batches.len(), n_entries, "{what}");
            let mut records = Vec::new();
            for batch in &decoded.batches {
                let Batch::Legacy(m) = batch else {
                    panic!("{what}: not a legacy message")
                };
                assert_eq!(m.magic, magic, "{what}");
                assert_eq!(m.compression().unwrap(), codec, "{what}");
                if codec != Compression::None {
                    // The wrapper: the last inner offset, the largest timestamp, no key.
                    assert_eq!(m.offset, base + 3, "{what}");
                    assert_eq!(m.key, None, "{what}");
                    let want_ts = (magic == MAGIC_V1).then_some(1_700_000_001_000);
                    assert_eq!(m.timestamp, want_ts, "{what}");
                }
                records.extend(batch.records(&opts).unwrap());
            }
            assert_eq!(records.len(), 4, "{what}");
            for (i, (r, (ts, k, v))) in records.iter().zip(inputs()).enumerate() {
                assert_eq!(r.offset, base + i as i64, "{what} #{i}");
                let want_ts = if magic == MAGIC_V0 { -1 } else { ts };
                assert_eq!(r.timestamp, want_ts, "{what} #{i}");
                assert_eq!(r.key.as_deref(), k.as_deref(), "{what} #{i}");
                assert_eq!(r.value.as_deref(), v.as_deref(), "{what} #{i}");
            }
        }
    }
}

/// Inner offsets inside a compressed wrapper: absolute for magic 0, relative
/// (0..n) for magic 1 (KIP-31). Read straight from the decompressed value.
#[test]
fn inner_offsets_are_absolute_for_magic_0_and_relative_for_magic_1() {
    let opts = DecodeOptions::default();
    for (magic, want) in [(MAGIC_V0, [100, 101, 102, 103]), (MAGIC_V1, [0, 1, 2, 3])] {
        let bytes = build(magic, Compression::Gzip, 100);
        let decoded = decode_batches(bytes, &opts).unwrap();
        let Batch::Legacy(w) = &decoded.batches[0] else {
            panic!("not legacy")
        };
        let inner = kwire::records::compression::decompress(
            Compression::Gzip,
            w.value.as_deref().unwrap(),
            1 << 20,
        )
        .unwrap();
        let mut offsets = Vec::new();
        let mut at = 0;
        while at < inner.len() {
            offsets.push(i64::from_be_bytes(inner[at..at + 8].try_into().unwrap()));
            let size = i32::from_be_bytes(inner[at + 8..at + 12].try_into().unwrap());
            at += 12 + size as usize;
        }
        assert_eq!(offsets, want, "magic {magic}");
    }
}

#[test]
fn log_append_time_sets_the_timestamp_type_on_wrapper_and_inner_messages() {
    let opts = DecodeOptions::default();
    for codec in [Compression::None, Compression::Gzip] {
        let mut b = LegacyMessageSetBuilder::new(MAGIC_V1, 0)
            .unwrap()
            .compression(codec)
            .log_append_time(1_234);
        b.append(99, Some(b"a"), Some(b"b")).unwrap();
        b.append(98, None, Some(b"c")).unwrap();
        let decoded = decode_batches(b.build().unwrap(), &opts).unwrap();
        for batch in &decoded.batches {
            let Batch::Legacy(m) = batch else { panic!() };
            assert_eq!(
                m.timestamp_type(),
                TimestampType::LogAppendTime,
                "{codec:?}"
            );
            assert_eq!(m.timestamp, Some(1_234), "{codec:?}");
            for r in batch.records(&opts).unwrap() {
                assert_eq!(r.timestamp, 1_234, "{codec:?}");
            }
        }
    }
}

#[test]
fn a_flipped_bit_fails_the_crc() {
    let bytes = build(MAGIC_V1, Compression::None, 0);
    let mut v = bytes.to_vec();
    let last = v.len() - 1;
    v[last] ^= 1;
    let err = decode_batches(Bytes::from(v), &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err, RecordsError::CrcMismatch { .. }), "{err:?}");
}

#[test]
fn bad_magic_and_zstd_are_refused() {
    assert!(matches!(
        LegacyMessageSetBuilder::new(MAGIC_V2, 0),
        Err(RecordsError::Encode(_))
    ));
    let mut b = LegacyMessageSetBuilder::new(MAGIC_V1, 0)
        .unwrap()
        .compression(Compression::Zstd);
    b.append(0, None, Some(b"x")).unwrap();
    assert!(matches!(b.build(), Err(RecordsError::Encode(_))));
}

#[test]
fn produce_and_fetch_versions_name_their_message_format() {
    assert_eq!(
        (0..=3).map(produce_magic).collect::<Vec<_>>(),
        [MAGIC_V0, MAGIC_V0, MAGIC_V1, MAGIC_V2]
    );
    assert_eq!(
        (0..=4).map(fetch_magic).collect::<Vec<_>>(),
        [MAGIC_V0, MAGIC_V0, MAGIC_V1, MAGIC_V1, MAGIC_V2]
    );
}

/// An uncompressed magic 0 message, byte for byte as Kafka 0.8 lays it out.
#[test]
fn an_uncompressed_magic_0_message_has_kafkas_layout() {
    let mut b = LegacyMessageSetBuilder::new(MAGIC_V0, 5).unwrap();
    b.append(777, Some(b"k"), Some(b"vv")).unwrap();
    let bytes = b.build().unwrap();
    let body: Vec<u8> = [
        &[0u8, 0][..],       // magic 0, attributes 0
        &1i32.to_be_bytes(), // key length
        b"k",
        &2i32.to_be_bytes(), // value length
        b"vv",
    ]
    .concat();
    let mut want = Vec::new();
    want.extend_from_slice(&5i64.to_be_bytes());
    want.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    want.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    want.extend_from_slice(&body);
    assert_eq!(bytes.as_ref(), want.as_slice());
}
