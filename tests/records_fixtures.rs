//! Record batches written by an independent client: librdkafka (through
//! kcat, Debian's 2.0.2 and 2.16.0 from the confluent-kafka wheel) producing
//! to librdkafka's mock cluster with each codec, fetched back raw. See
//! tests/fixtures/records/README.md for how they were captured.

use std::path::PathBuf;

use bytes::Bytes;
use kwire::records::{
    decode_batches, Batch, Compression, CompressionOptions, DecodeOptions, RecordBatch,
};

fn fixture(name: &str) -> Bytes {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/records")
        .join(name);
    Bytes::from(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

const VERSIONS: [&str; 2] = ["rdkafka-2.0.2", "rdkafka-2.16.0"];

fn check(name: &str, codec: Compression, idempotent: bool) {
    let field = fixture(name);
    let opts = DecodeOptions::default();
    let out = decode_batches(field.clone(), &opts).unwrap();
    assert_eq!(out.partial, None, "{name}");
    assert_eq!(
        out.batches.len(),
        1,
        "{name}: kcat with linger.ms=200 sends one batch"
    );
    let Batch::V2(batch) = &out.batches[0] else {
        panic!("{name}: not a v2 batch")
    };
    let h = &batch.header;
    assert_eq!(h.compression().unwrap(), codec, "{name}");
    assert_eq!(h.base_offset, 0);
    assert_eq!(h.records_count, 4);
    assert_eq!(h.last_offset_delta, 3);
    assert!(!h.is_transactional() && !h.is_control());
    assert_eq!(h.has_producer_id(), idempotent, "{name}");
    if idempotent {
        assert!(h.producer_epoch >= 0);
        assert_eq!(h.base_sequence, 0);
    } else {
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (-1, -1, -1)
        );
    }
    assert!(
        h.base_timestamp > 1_600_000_000_000,
        "{name}: a real wall-clock time"
    );
    let recs = batch.decode_records(&opts).unwrap();
    let kv: Vec<KeyValue> = recs
        .iter()
        .map(|r| (r.key.as_deref(), r.value.as_deref()))
        .collect();
    let big = vec![b'x'; 300];
    assert_eq!(
        kv,
        vec![
            (Some(&b"k1"[..]), Some(&b"hello"[..])),
            (Some(&b"k2"[..]), Some(&b"world"[..])),
            // kcat -Z sends an empty key and value as NULL.
            (None, None),
            (Some(&b"k4"[..]), Some(&big[..])),
        ],
        "{name}"
    );
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        let hs: Vec<(&str, Option<&[u8]>)> = r
            .headers
            .iter()
            .map(|h| (h.key_str().unwrap(), h.value.as_deref()))
            .collect();
        assert_eq!(
            hs,
            vec![("h1", Some(&b"v1"[..])), ("h2", HEADER_H2)],
            "{name}"
        );
    }
    // Our encoder, given the same header and records, must reproduce the
    // batch byte for byte when uncompressed (librdkafka and kwire agree on
    // every field), and decode to the same records for every codec.
    let again = RecordBatch::encode(h, &recs, &CompressionOptions::from(codec)).unwrap();
    if codec == Compression::None {
        assert_eq!(again, field, "{name}");
    }
    let re = RecordBatch::decode(again).unwrap();
    assert_eq!(re.decode_records(&opts).unwrap(), recs);
}

/// What kcat sends for `-H h2=`.
const HEADER_H2: Option<&[u8]> = Some(b"");

#[test]
fn librdkafka_uncompressed() {
    for v in VERSIONS {
        check(&format!("{v}-none.bin"), Compression::None, false);
    }
}

#[test]
fn librdkafka_gzip() {
    for v in VERSIONS {
        check(&format!("{v}-gzip.bin"), Compression::Gzip, false);
    }
}

/// librdkafka writes raw snappy, not the xerial framing of the Java client.
#[test]
fn librdkafka_snappy_raw() {
    for v in VERSIONS {
        let name = format!("{v}-snappy.bin");
        let b = RecordBatch::decode(fixture(&name)).unwrap();
        assert_ne!(&b.records_data[..8], b"\x82SNAPPY\0", "{name}");
        check(&name, Compression::Snappy, false);
    }
}

#[test]
fn librdkafka_lz4() {
    for v in VERSIONS {
        check(&format!("{v}-lz4.bin"), Compression::Lz4, false);
    }
}

#[test]
fn librdkafka_zstd() {
    for v in VERSIONS {
        check(&format!("{v}-zstd.bin"), Compression::Zstd, false);
    }
}

#[test]
fn librdkafka_idempotent_producer() {
    for v in VERSIONS {
        check(&format!("{v}-lz4-idempotent.bin"), Compression::Lz4, true);
    }
}
