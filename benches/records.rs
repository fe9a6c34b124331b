//! Record batch encode/decode, kwire next to kafka-protocol in one run:
//! 1 MiB of small (100 B) and of large (64 KiB) records, uncompressed and
//! with every codec; plus a 1 MiB memcpy as the memory-bandwidth yardstick.
//!
//! cargo bench --bench records -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression as KCompression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as KTimestampType,
};
use kwire::records::{Compression, DecodeOptions, RecordBatch, RecordBatchBuilder};

const TOTAL: usize = 1 << 20;

fn kcodec(c: Compression) -> KCompression {
    match c {
        Compression::None => KCompression::None,
        Compression::Gzip => KCompression::Gzip,
        Compression::Snappy => KCompression::Snappy,
        Compression::Lz4 => KCompression::Lz4,
        Compression::Zstd => KCompression::Zstd,
    }
}

/// Payloads from a 16-letter alphabet: compressible about 2:1, like text.
fn values(size: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..TOTAL / size)
        .map(|_| {
            (0..size)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    b'a' + (x >> 60) as u8
                })
                .collect()
        })
        .collect()
}

/// The encoded size a producer expects before it fills a batch (it fills
/// up to `batch.size`): the values plus a generous per-record overhead.
/// Both libraries get it.
fn size_hint(vals: &[Vec<u8>]) -> usize {
    vals.iter().map(|v| v.len() + 16).sum::<usize>() + 64
}

fn kwire_encode(vals: &[Vec<u8>], codec: Compression) -> Bytes {
    let mut b = RecordBatchBuilder::with_capacity(0, size_hint(vals)).compression(codec);
    for (i, v) in vals.iter().enumerate() {
        b.append(1_700_000_000_000 + i as i64, None, Some(v), &[])
            .unwrap();
    }
    b.build().unwrap()
}

fn krecords(vals: &[Vec<u8>]) -> Vec<KRecord> {
    vals.iter()
        .enumerate()
        .map(|(i, v)| KRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: KTimestampType::Creation,
            offset: i as i64,
            sequence: (-1i32).wrapping_add(i as i32),
            timestamp: 1_700_000_000_000 + i as i64,
            key: None,
            value: Some(Bytes::copy_from_slice(v)),
            headers: IndexMap::new(),
        })
        .collect()
}

fn kp_encode(recs: &[KRecord], codec: Compression, hint: usize) -> Bytes {
    let mut buf = BytesMut::with_capacity(hint);
    let opts = RecordEncodeOptions {
        version: 2,
        compression: kcodec(codec),
    };
    RecordBatchEncoder::encode(&mut buf, recs, &opts).unwrap();
    buf.freeze()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("memcpy");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    let src = vec![7u8; TOTAL];
    let mut dst = vec![0u8; TOTAL];
    g.bench_function("1MiB", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        })
    });
    g.finish();

    for (label, size) in [("small-100B", 100usize), ("large-64KiB", 64 * 1024)] {
        let vals = values(size);
        let krecs = krecords(&vals);
        for codec in Compression::ALL {
            let ours = kwire_encode(&vals, codec);
            let hint = size_hint(&vals);
            let theirs = kp_encode(&krecs, codec, hint);

            let mut g = c.benchmark_group(format!("decode/{label}"));
            g.throughput(Throughput::Bytes(TOTAL as u64));
            let opts = DecodeOptions::default();
            g.bench_with_input(BenchmarkId::new("kwire", codec), &ours, |b, input| {
                b.iter(|| {
                    let batch = RecordBatch::decode(input.clone()).unwrap();
                    let mut n = 0usize;
                    for r in batch.records(&opts).unwrap() {
                        n += r.unwrap().value.map_or(0, |v| v.len());
                    }
                    assert_eq!(n, TOTAL / size * size);
                    n
                })
            });
            g.bench_with_input(
                BenchmarkId::new("kafka-protocol", codec),
                &ours,
                |b, input| {
                    b.iter(|| {
                        let mut buf = input.clone();
                        let set = RecordBatchDecoder::decode(&mut buf).unwrap();
                        let n: usize = set
                            .records
                            .iter()
                            .map(|r| r.value.as_ref().map_or(0, |v| v.len()))
                            .sum();
                        assert_eq!(n, TOTAL / size * size);
                        n
                    })
                },
            );
            // Both decoders also read what the other wrote (checked once).
            assert_eq!(
                RecordBatch::decode(theirs.clone())
                    .unwrap()
                    .header
                    .records_count as usize,
                vals.len()
            );
            g.finish();

            let mut g = c.benchmark_group(format!("encode/{label}"));
            g.throughput(Throughput::Bytes(TOTAL as u64));
            g.bench_function(BenchmarkId::new("kwire", codec), |b| {
                b.iter(|| kwire_encode(black_box(&vals), codec))
            });
            g.bench_function(BenchmarkId::new("kafka-protocol", codec), |b| {
                b.iter(|| kp_encode(black_box(&krecs), codec, hint))
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
