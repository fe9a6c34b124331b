//! Corrupt input: every failure is a typed error, never a panic, and never
//! an allocation sized by a length the input cannot back.

use bytes::{Bytes, BytesMut};
use kwire::records::compression::{compress, CompressionOptions};
use kwire::records::legacy::encode_message;
use kwire::records::{
    decode_batches, Batches, BudgetUse, Compression, DecodeOptions, Header, RecordBatch,
    RecordBatchBuilder, RecordsError, ATTRIBUTES_OFFSET, CRC_OFFSET,
};
use proptest::prelude::*;

fn sample(codec: Compression) -> Bytes {
    let mut b = RecordBatchBuilder::new(5).compression(codec);
    for i in 0..10u8 {
        b.append(
            1000 + i64::from(i),
            Some(&[i; 3]),
            Some(&[i; 40]),
            &[Header::new(&b"h"[..], Some(vec![i]))],
        )
        .unwrap();
    }
    b.build().unwrap()
}

/// Rewrites the CRC after tampering, so the test reaches the check after it.
fn fix_crc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
    b[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
}

fn all_records(b: Bytes, opts: &DecodeOptions) -> Result<usize, RecordsError> {
    let out = decode_batches(b, opts)?;
    Ok(out.records(opts)?.len())
}

#[test]
fn any_flipped_byte_after_the_crc_field_or_in_it_is_a_crc_mismatch() {
    for codec in Compression::ALL {
        let good = sample(codec);
        let stored = u32::from_be_bytes(good[CRC_OFFSET..ATTRIBUTES_OFFSET].try_into().unwrap());
        for pos in CRC_OFFSET..good.len() {
            let mut bad = good.to_vec();
            bad[pos] ^= 0x5a;
            let err = RecordBatch::decode(Bytes::from(bad.clone())).unwrap_err();
            let expected =
                u32::from_be_bytes(bad[CRC_OFFSET..ATTRIBUTES_OFFSET].try_into().unwrap());
            let found = crc32c::crc32c(&bad[ATTRIBUTES_OFFSET..]);
            assert_eq!(
                err,
                RecordsError::CrcMismatch {
                    offset: 0,
                    expected,
                    found
                },
                "{codec} byte {pos}"
            );
            if pos >= ATTRIBUTES_OFFSET {
                assert_eq!(expected, stored);
            }
            let text = err.to_string();
            assert!(
                text.contains("expected") && text.contains("found"),
                "{text}"
            );
        }
    }
}

#[test]
fn every_truncation_is_an_error_alone_and_a_partial_in_a_field() {
    for codec in Compression::ALL {
        let good = sample(codec);
        for keep in 0..good.len() {
            let cut = good.slice(..keep);
            let err = RecordBatch::decode(cut.clone()).unwrap_err();
            assert!(
                matches!(
                    err,
                    RecordsError::Truncated { .. } | RecordsError::LengthExceedsInput { .. }
                ),
                "{codec} keep {keep}: {err:?}"
            );
            let out = decode_batches(cut, &DecodeOptions::default()).unwrap();
            assert!(out.batches.is_empty());
            assert_eq!(out.partial.is_some(), keep > 0);
        }
    }
}

#[test]
fn batch_length_beyond_the_buffer() {
    let mut b = sample(Compression::None).to_vec();
    b[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    let err = RecordBatch::decode(Bytes::from(b.clone())).unwrap_err();
    assert!(
        matches!(err, RecordsError::LengthExceedsInput { offset: 8, length, .. } if length == i64::from(i32::MAX))
    );
    // In a records field the same bytes are a (legitimate) partial batch.
    let out = decode_batches(Bytes::from(b), &DecodeOptions::default()).unwrap();
    assert_eq!(out.partial.unwrap().size, Some(12 + i32::MAX as usize));
}

#[test]
fn batch_length_below_the_header_and_negative() {
    for len in [-1i32, 0, 13, 48] {
        let mut b = sample(Compression::None).to_vec();
        b[8..12].copy_from_slice(&len.to_be_bytes());
        let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
        assert!(
            matches!(err, RecordsError::InvalidLength { offset: 8, .. }),
            "{len}: {err:?}"
        );
    }
}

#[test]
fn record_lengths_beyond_the_section() {
    // The first record starts at 61: its length varint, then attributes,
    // timestampDelta (0), offsetDelta (0), then the key length varint.
    let good = sample(Compression::None);
    let mut b = good.to_vec();
    b[61] = 0x7e; // record length 63, beyond... the record's real length
    b[61 + 4] = 0x7e; // key length 63 > what the record holds
    fix_crc(&mut b);
    let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(err, RecordsError::LengthExceedsInput { .. }),
        "{err:?}"
    );

    let mut b = good.to_vec();
    b[61] = 0xfe;
    b[62] = 0xff;
    b[63] = 0xff;
    b[64] = 0xff;
    b[65] = 0x07; // record length 2^30-ish
    fix_crc(&mut b);
    let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(err, RecordsError::LengthExceedsInput { .. }),
        "{err:?}"
    );
}

#[test]
fn record_count_mismatches() {
    for (count, what) in [(11, "ends before"), (9, "remain after"), (-1, "negative")] {
        let mut b = sample(Compression::Gzip).to_vec();
        b[57..61].copy_from_slice(&i32::to_be_bytes(count));
        fix_crc(&mut b);
        let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
        match err {
            RecordsError::RecordCount {
                declared, found, ..
            } => {
                assert_eq!(declared, count);
                assert!(found.contains(what), "{found}");
            }
            e => panic!("{count}: {e:?}"),
        }
    }
}

#[test]
fn huge_header_count_fails_before_allocating() {
    let mut b = RecordBatchBuilder::new(0);
    b.append(0, None, None, &[]).unwrap();
    let mut b = b.build().unwrap().to_vec();
    // Record: len, attrs, tsDelta, offDelta, key -1, value -1, headers 0.
    let n = b.len();
    assert_eq!(b[n - 1], 0);
    b[n - 1] = 0x7e; // 63 headers in zero remaining bytes
    fix_crc(&mut b);
    let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(err, RecordsError::LengthExceedsInput { length: 63, .. }),
        "{err:?}"
    );
}

fn bomb(codec: Compression, size: usize) -> Bytes {
    let zeros = vec![0u8; size];
    let mut b = RecordBatchBuilder::new(0).compression(codec);
    b.append(0, None, Some(&zeros), &[]).unwrap();
    b.build().unwrap()
}

#[test]
fn compression_bombs_stop_at_the_limit() {
    let opts = DecodeOptions::default().with_max_records_memory(1 << 20);
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let b = bomb(codec, 4 << 20);
        assert!(b.len() < 1 << 20, "{codec}: {} bytes", b.len());
        let err = all_records(b, &opts).unwrap_err();
        assert!(
            matches!(
                err,
                RecordsError::BudgetExceeded {
                    what: BudgetUse::Decompressed(c),
                    limit,
                    ..
                } if c == codec && limit == 1 << 20
            ),
            "{codec}: {err:?}"
        );
    }
}

#[test]
fn snappy_declaring_a_huge_length_is_refused_before_allocating() {
    // Raw snappy starts with the uncompressed length as a varint: 4 GiB-1.
    let mut data = vec![0xff, 0xff, 0xff, 0xff, 0x0f];
    data.extend_from_slice(&[0; 8]);
    let mut b = RecordBatchBuilder::new(0).compression(Compression::None);
    b.append(0, None, None, &[]).unwrap();
    let mut b = b.build().unwrap().to_vec();
    b.truncate(61);
    b.extend_from_slice(&data);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[22] = (b[22] & !7) | Compression::Snappy.id();
    fix_crc(&mut b);
    let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            RecordsError::BudgetExceeded {
                what: BudgetUse::Decompressed(Compression::Snappy),
                requested: 0xffff_ffff,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn legacy_gzip_wrapper_bomb_and_crc() {
    let mut inner = BytesMut::new();
    encode_message(
        &mut inner,
        0,
        1,
        0,
        Some(0),
        None,
        Some(&vec![0u8; 4 << 20]),
    )
    .unwrap();
    let mut z = Vec::new();
    compress(&CompressionOptions::from(Compression::Gzip), &inner, &mut z).unwrap();
    let mut field = BytesMut::new();
    encode_message(&mut field, 0, 1, 1, Some(0), None, Some(&z)).unwrap();
    let opts = DecodeOptions::default().with_max_records_memory(1 << 20);
    let err = all_records(field.clone().freeze(), &opts).unwrap_err();
    assert!(
        matches!(
            err,
            RecordsError::BudgetExceeded {
                what: BudgetUse::Decompressed(Compression::Gzip),
                ..
            }
        ),
        "{err:?}"
    );

    let mut bad = field.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = all_records(Bytes::from(bad), &opts).unwrap_err();
    assert!(
        matches!(err, RecordsError::CrcMismatch { offset: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn unknown_magic_and_codec() {
    let mut b = sample(Compression::None).to_vec();
    b[16] = 3;
    let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
    assert_eq!(
        err,
        RecordsError::UnsupportedMagic {
            offset: 16,
            magic: 3
        }
    );

    let mut b = sample(Compression::None).to_vec();
    b[22] |= 7;
    fix_crc(&mut b);
    let err = all_records(Bytes::from(b), &DecodeOptions::default()).unwrap_err();
    assert_eq!(err, RecordsError::UnknownCompression { id: 7 });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let opts = DecodeOptions {
            verify_crc: false,
            ..DecodeOptions::default().with_max_records_memory(1 << 16)
        };
        for b in Batches::with_options(Bytes::from(data), opts.clone()).flatten() {
            let _ = b.records(&opts);
        }
    }

    #[test]
    fn mutated_batches_never_panic(
        codec in proptest::sample::select(Compression::ALL.to_vec()),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut b = sample(codec).to_vec();
        for (i, v) in flips {
            let i = i.index(b.len());
            b[i] = v;
        }
        let opts = DecodeOptions {
            verify_crc: false,
            ..DecodeOptions::default().with_max_records_memory(1 << 16)
        };
        let _ = all_records(Bytes::from(b.clone()), &opts);
        fix_crc(&mut b);
        let _ = all_records(Bytes::from(b), &DecodeOptions::default());
    }
}
