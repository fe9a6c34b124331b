//! Compression codecs of record batches and legacy message sets, each
//! behind its cargo feature, with bounded decompression.
//!
//! Every decompressor stops at a limit, so a small input that expands
//! without bound (a "compression bomb") is an error, not an out-of-memory.
//! Records decoding charges the output buffer and the decompressor's own
//! buffers to the field's [`RecordsBudget`] before allocating them; the
//! standalone [`decompress`] bounds the output bytes alone.
//!
//! The output buffer is sized once from what the compressed data itself
//! says where it can: snappy declares each block's length, zstd frames
//! declare their content size or their blocks bound it (each block expands
//! to at most 128 KiB, as `ZSTD_decompressBound` computes), lz4 blocks are
//! at most the frame's block size, and gzip's trailer holds the length. A
//! stream that outgrows the estimate grows the buffer by doubling, each
//! step charged before it is taken, so the memory held never passes the
//! limit (a moving reallocation briefly holds the old block and the new one,
//! and both are counted).

use std::fmt;
use std::io::Read;

use super::budget::{BudgetUse, RecordsBudget};
use super::error::RecordsError;

/// The compression codecs Kafka defines (attributes bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    /// KIP-110; magic 2 only.
    Zstd,
}

impl Compression {
    /// Every codec, in id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The id stored in the attributes.
    pub const fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec with this attributes id.
    pub fn from_id(id: u8) -> Result<Self, RecordsError> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            _ => Err(RecordsError::UnknownCompression { id }),
        }
    }

    /// Kafka's name for the codec (`compression.type`), which is also the
    /// name of its cargo feature.
    pub const fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Whether this build can compress and decompress with the codec.
    pub const fn is_enabled(self) -> bool {
        match self {
            Compression::None => true,
            Compression::Gzip => cfg!(feature = "gzip"),
            Compression::Snappy => cfg!(feature = "snappy"),
            Compression::Lz4 => cfg!(feature = "lz4"),
            Compression::Zstd => cfg!(feature = "zstd"),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How snappy output is framed. Both are accepted on decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnappyFraming {
    /// snappy-java's stream format (a 16-byte header, then length-prefixed
    /// blocks of at most 32 KiB): what the Java client writes.
    #[default]
    Xerial,
    /// One raw snappy block: what librdkafka writes.
    Raw,
}

/// How to compress: the codec plus its knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompressionOptions {
    pub codec: Compression,
    /// gzip 0-9, zstd 1-22; `None` is Kafka's default (gzip 6, zstd 3).
    /// Ignored by snappy and lz4.
    pub level: Option<i32>,
    pub snappy_framing: SnappyFraming,
}

impl From<Compression> for CompressionOptions {
    fn from(codec: Compression) -> Self {
        CompressionOptions {
            codec,
            ..Default::default()
        }
    }
}

#[allow(dead_code)]
fn failed(codec: Compression, e: impl fmt::Display) -> RecordsError {
    RecordsError::Decompress {
        codec,
        reason: e.to_string(),
    }
}

#[allow(dead_code)]
fn compress_failed(codec: Compression, e: impl fmt::Display) -> RecordsError {
    RecordsError::Compress {
        codec,
        reason: e.to_string(),
    }
}

/// Compresses `input`, appending to `out`.
pub fn compress(
    opts: &CompressionOptions,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), RecordsError> {
    match opts.codec {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        Compression::Gzip => gzip::compress(opts.level, input, out),
        Compression::Snappy => snappy::compress(opts.snappy_framing, input, out),
        Compression::Lz4 => lz4::compress(input, out),
        Compression::Zstd => zstd_codec::compress(opts.level, input, out),
    }
}

/// Decompresses `input` for a magic 2 batch, failing with
/// [`RecordsError::DecompressedTooLarge`] once the output would exceed
/// `limit` bytes. (Records decoding goes through the field's budget
/// instead, which also counts the decompressor's buffers.)
pub fn decompress(codec: Compression, input: &[u8], limit: usize) -> Result<Vec<u8>, RecordsError> {
    decompress_for_magic(codec, 2, input, limit)
}

/// [`decompress`] for a given message format: magic 0 lz4 is the
/// KAFKA-3160 form whose frame header checksum was computed wrongly.
pub(crate) fn decompress_for_magic(
    codec: Compression,
    magic: i8,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, RecordsError> {
    decompress_metered(codec, magic, input, &mut Meter::Limit { codec, limit })
}

/// Decompresses a batch's or wrapper's records section, charging the
/// output and the decompressor's working memory to `budget`. `offset` is
/// where the batch starts, for the error.
pub(crate) fn decompress_charged(
    codec: Compression,
    magic: i8,
    input: &[u8],
    budget: &RecordsBudget,
    offset: usize,
) -> Result<Vec<u8>, RecordsError> {
    decompress_metered(
        codec,
        magic,
        input,
        &mut Meter::Budget {
            budget,
            codec,
            offset,
        },
    )
}

fn decompress_metered(
    codec: Compression,
    magic: i8,
    input: &[u8],
    meter: &mut Meter,
) -> Result<Vec<u8>, RecordsError> {
    match codec {
        Compression::None => {
            meter.grow(input.len())?;
            Ok(input.to_vec())
        }
        Compression::Gzip => gzip::decompress(input, meter),
        Compression::Snappy => snappy::decompress(input, meter),
        Compression::Lz4 => lz4::decompress(input, meter, magic == 0),
        Compression::Zstd => zstd_codec::decompress(input, meter),
    }
}

/// Where decompression takes its memory from.
pub(crate) enum Meter<'a> {
    /// At most `limit` output bytes; working memory is not counted.
    Limit { codec: Compression, limit: usize },
    /// A records budget: output capacity and working memory.
    Budget {
        budget: &'a RecordsBudget,
        codec: Compression,
        offset: usize,
    },
}

#[cfg_attr(
    not(any(feature = "gzip", feature = "lz4", feature = "zstd")),
    allow(dead_code)
)]
impl Meter<'_> {
    fn codec(&self) -> Compression {
        match self {
            Meter::Limit { codec, .. } | Meter::Budget { codec, .. } => *codec,
        }
    }

    /// The largest output buffer that could be allocated now.
    fn max_capacity(&self) -> usize {
        match self {
            Meter::Limit { limit, .. } => *limit,
            Meter::Budget { budget, .. } => budget.remaining(),
        }
    }

    /// Takes an output buffer of `capacity` bytes (a new one, or the grown
    /// block while the old one still exists).
    fn grow(&mut self, capacity: usize) -> Result<(), RecordsError> {
        match self {
            Meter::Limit { codec, limit } => {
                if capacity > *limit {
                    return Err(RecordsError::DecompressedTooLarge {
                        codec: *codec,
                        limit: *limit,
                    });
                }
                Ok(())
            }
            Meter::Budget {
                budget,
                codec,
                offset,
            } => budget.charge(capacity, BudgetUse::Decompressed(*codec), *offset),
        }
    }

    /// The old block of a grown output buffer is gone.
    fn shrunk(&mut self, freed: usize) {
        if let Meter::Budget { budget, .. } = self {
            budget.release(freed);
        }
    }

    /// Runs `f` with `bytes` of decompressor working memory taken from
    /// the budget, and gives them back after.
    fn with_working<T>(
        &mut self,
        bytes: usize,
        f: impl FnOnce(&mut Self) -> Result<T, RecordsError>,
    ) -> Result<T, RecordsError> {
        if let Meter::Budget {
            budget,
            codec,
            offset,
        } = self
        {
            budget.charge(bytes, BudgetUse::DecompressorState(*codec), *offset)?;
        }
        let out = f(self);
        if let Meter::Budget { budget, .. } = self {
            budget.release(bytes);
        }
        out
    }
}

/// Reads a decompressing stream to its end into a buffer first sized
/// `hint` (clamped to what the meter allows), growing by doubling, every
/// size taken from the meter before it is allocated.
#[cfg_attr(
    not(any(feature = "gzip", feature = "lz4", feature = "zstd")),
    allow(dead_code)
)]
fn read_metered<R: Read>(
    mut r: R,
    meter: &mut Meter,
    hint: usize,
) -> Result<Vec<u8>, RecordsError> {
    let codec = meter.codec();
    let mut out: Vec<u8> = Vec::new();
    let mut len = 0;
    loop {
        if len == out.len() {
            // Full (or not yet allocated): grow only if the stream has more.
            let mut probe = [0u8; 1];
            if read_some(&mut r, &mut probe, codec)? == 0 {
                break;
            }
            let old = out.len();
            let want = if old == 0 {
                hint.max(1)
            } else {
                old.saturating_mul(2)
            };
            let new = want.min(meter.max_capacity()).max(old + 1);
            meter.grow(new)?;
            out.reserve_exact(new - old);
            out.resize(new, 0);
            meter.shrunk(old);
            out[len] = probe[0];
            len += 1;
            continue;
        }
        let n = read_some(&mut r, &mut out[len..], codec)?;
        if n == 0 {
            break;
        }
        len += n;
    }
    out.truncate(len);
    Ok(out)
}

#[cfg_attr(
    not(any(feature = "gzip", feature = "lz4", feature = "zstd")),
    allow(dead_code)
)]
fn read_some<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    codec: Compression,
) -> Result<usize, RecordsError> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed(codec, e)),
        }
    }
}

#[cfg(feature = "gzip")]
mod gzip;
#[cfg(not(feature = "gzip"))]
mod gzip {
    use super::*;
    pub fn compress(_: Option<i32>, _: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Gzip))
    }
    pub fn decompress(_: &[u8], _: &mut Meter) -> Result<Vec<u8>, RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Gzip))
    }
}

#[cfg(feature = "snappy")]
mod snappy;
#[cfg(not(feature = "snappy"))]
mod snappy {
    use super::*;
    pub fn compress(_: SnappyFraming, _: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Snappy))
    }
    pub fn decompress(_: &[u8], _: &mut Meter) -> Result<Vec<u8>, RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Snappy))
    }
}

mod lz4_header;
pub(crate) use lz4_header::lz4_header_checksum_pos;
pub use lz4_header::{lz4_header_checksum, lz4_kafka3160_checksum, xxh32};

#[cfg(feature = "lz4")]
mod lz4;
#[cfg(not(feature = "lz4"))]
mod lz4 {
    use super::*;
    pub fn compress(_: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Lz4))
    }
    pub fn decompress(_: &[u8], _: &mut Meter, _: bool) -> Result<Vec<u8>, RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Lz4))
    }
}

#[cfg(feature = "zstd")]
mod zstd_codec;
#[cfg(not(feature = "zstd"))]
mod zstd_codec {
    use super::*;
    pub fn compress(_: Option<i32>, _: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Zstd))
    }
    pub fn decompress(_: &[u8], _: &mut Meter) -> Result<Vec<u8>, RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Zstd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh32_known_vectors() {
        assert_eq!(xxh32(b"", 0), 0x02CC_5D05);
        assert_eq!(xxh32(b"a", 0), 0x550D_7456);
        assert_eq!(xxh32(b"abc", 0), 0x32D1_53FF);
        assert_eq!(
            xxh32(b"Nobody inspects the spammish repetition", 0),
            0xE229_3B2F
        );
    }

    #[test]
    fn every_enabled_codec_round_trips_and_respects_the_limit() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for codec in Compression::ALL {
            if !codec.is_enabled() {
                continue;
            }
            let mut out = Vec::new();
            compress(&codec.into(), &data, &mut out).unwrap();
            assert_eq!(
                decompress(codec, &out, data.len()).unwrap(),
                data,
                "{codec}"
            );
            assert_eq!(
                decompress(codec, &out, data.len() - 1).unwrap_err(),
                RecordsError::DecompressedTooLarge {
                    codec,
                    limit: data.len() - 1
                },
                "{codec}"
            );
        }
    }

    #[cfg(feature = "snappy")]
    #[test]
    fn snappy_raw_and_xerial_both_decode() {
        let data = b"hello hello hello hello snappy".repeat(2000);
        for framing in [SnappyFraming::Raw, SnappyFraming::Xerial] {
            let mut out = Vec::new();
            let opts = CompressionOptions {
                codec: Compression::Snappy,
                snappy_framing: framing,
                ..Default::default()
            };
            compress(&opts, &data, &mut out).unwrap();
            assert_eq!(
                out.starts_with(&snappy::XERIAL_MAGIC),
                framing == SnappyFraming::Xerial
            );
            assert_eq!(
                decompress(Compression::Snappy, &out, usize::MAX).unwrap(),
                data
            );
        }
    }

    #[cfg(feature = "lz4")]
    #[test]
    fn lz4_kafka3160_header_is_accepted_for_magic_0_only() {
        let data = b"legacy lz4 legacy lz4".repeat(100);
        let mut out = Vec::new();
        compress(&Compression::Lz4.into(), &data, &mut out).unwrap();
        let pos = lz4_header_checksum_pos(&out).unwrap();
        out[pos] = lz4_kafka3160_checksum(&out[..pos]);
        assert_ne!(out[pos], lz4_header_checksum(&out[4..pos]));
        assert_eq!(
            decompress_for_magic(Compression::Lz4, 0, &out, usize::MAX).unwrap(),
            data
        );
        assert!(matches!(
            decompress_for_magic(Compression::Lz4, 1, &out, usize::MAX),
            Err(RecordsError::Decompress { .. })
        ));
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_frames_are_bounded_before_they_are_decoded() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 7) as u8).collect();
        // A one-shot compressor declares the content size: the bound is exact.
        let declared = zstd::bulk::compress(&data, 3).unwrap();
        assert_eq!(zstd_codec::frames(&declared).unwrap().bound, data.len());
        // A streaming one (as zstd-jni's ZstdOutputStream in the Java client)
        // does not: its blocks bound it, less than one block over.
        let streamed = zstd::stream::encode_all(&data[..], 3).unwrap();
        let bound = zstd_codec::frames(&streamed).unwrap().bound;
        assert!(
            bound >= data.len() && bound < data.len() + 128 * 1024,
            "{bound}"
        );
        assert_eq!(
            decompress(Compression::Zstd, &streamed, data.len()).unwrap(),
            data
        );
        // Several frames, with a skippable frame between them.
        let mut two = declared.clone();
        two.extend_from_slice(&[0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        two.extend_from_slice(&streamed);
        let both = [&data[..], &data[..]].concat();
        assert_eq!(
            decompress(Compression::Zstd, &two, both.len()).unwrap(),
            both
        );
        // Cut anywhere: an error (from the streaming fallback), never a panic.
        for cut in [1, 4, 5, 9, streamed.len() / 2, streamed.len() - 1] {
            assert!(decompress(Compression::Zstd, &streamed[..cut], 1 << 20).is_err());
        }
    }

    #[cfg(feature = "lz4")]
    #[test]
    fn lz4_reads_one_frame_as_kafka_does() {
        // Kafka's Lz4BlockInputStream stops at the first frame's end mark.
        let first = b"first frame ".repeat(10_000);
        let mut two = Vec::new();
        compress(&Compression::Lz4.into(), &first, &mut two).unwrap();
        compress(&Compression::Lz4.into(), b"second frame", &mut two).unwrap();
        assert_eq!(
            decompress(Compression::Lz4, &two, first.len()).unwrap(),
            first
        );
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn a_lying_gzip_trailer_only_misleads_the_first_guess() {
        let data = b"gzip gzip gzip".repeat(1000);
        let mut z = Vec::new();
        compress(&Compression::Gzip.into(), &data, &mut z).unwrap();
        for isize in [0u32, 1, u32::MAX] {
            let n = z.len();
            z[n - 4..].copy_from_slice(&isize.to_le_bytes());
            // flate2 checks ISIZE at the end of the member: the lie is an
            // error, whatever size the buffer started at.
            let err = decompress(Compression::Gzip, &z, 1 << 20).unwrap_err();
            assert!(matches!(err, RecordsError::Decompress { .. }), "{err:?}");
        }
    }
}
