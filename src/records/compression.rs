//! Compression codecs of record batches and legacy message sets, each
//! behind its cargo feature, with bounded decompression.
//!
//! Every decompressor stops at a caller-set limit, so a small input that
//! expands without bound (a "compression bomb") is an error, not an
//! out-of-memory: streams are read through `Read::take(limit + 1)`, and
//! formats that declare their decompressed size up front (snappy) are
//! checked before anything is allocated.

use std::fmt;

use super::error::RecordsError;

/// Decompressed size limit used when the caller does not set one. Brokers
/// cap a batch at `message.max.bytes` (about 1 MiB by default) and a fetch
/// at `fetch.max.bytes` (50 MiB), so 64 MiB holds any batch a default
/// cluster serves while keeping a bomb from taking the process down.
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 64 * 1024 * 1024;

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

/// Decompresses `input` for a magic 2 batch, failing once the output would
/// exceed `limit` bytes.
pub fn decompress(codec: Compression, input: &[u8], limit: usize) -> Result<Vec<u8>, RecordsError> {
    decompress_for_magic(codec, 2, input, limit)
}

/// Decompresses for a given message format: magic 0 lz4 is the
/// KAFKA-3160 form whose frame header checksum was computed wrongly.
pub(crate) fn decompress_for_magic(
    codec: Compression,
    magic: i8,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, RecordsError> {
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(RecordsError::DecompressedTooLarge { codec, limit });
            }
            Ok(input.to_vec())
        }
        Compression::Gzip => gzip::decompress(input, limit),
        Compression::Snappy => snappy::decompress(input, limit),
        Compression::Lz4 => lz4::decompress(input, limit, magic == 0),
        Compression::Zstd => zstd_codec::decompress(input, limit),
    }
}

/// Reads a decompressing stream to its end, at most `limit` bytes.
#[allow(dead_code)]
fn read_bounded<R: std::io::Read>(
    r: R,
    codec: Compression,
    limit: usize,
    compressed_len: usize,
) -> Result<Vec<u8>, RecordsError> {
    use std::io::Read;
    // A modest first guess; `read_to_end` grows as data actually arrives,
    // so the allocation follows real output, never a declared size.
    let mut out = Vec::with_capacity(compressed_len.saturating_mul(4).min(limit).min(1 << 20));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    r.take(cap)
        .read_to_end(&mut out)
        .map_err(|e| failed(codec, e))?;
    if out.len() > limit {
        return Err(RecordsError::DecompressedTooLarge { codec, limit });
    }
    Ok(out)
}

#[cfg(feature = "gzip")]
mod gzip {
    use std::io::Write;

    use super::*;

    pub fn compress(
        level: Option<i32>,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RecordsError> {
        // java.util.zip's default level is 6, as is flate2's.
        let level = level.map_or(flate2::Compression::default(), |l| {
            flate2::Compression::new(l.clamp(0, 9) as u32)
        });
        let mut enc = flate2::write::GzEncoder::new(out, level);
        enc.write_all(input)
            .map_err(|e| compress_failed(Compression::Gzip, e))?;
        enc.finish()
            .map_err(|e| compress_failed(Compression::Gzip, e))?;
        Ok(())
    }

    pub fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, RecordsError> {
        // GZIPInputStream, which Kafka reads with, accepts concatenated
        // members, so the multi-member decoder matches it.
        read_bounded(
            flate2::read::MultiGzDecoder::new(input),
            Compression::Gzip,
            limit,
            input.len(),
        )
    }
}

#[cfg(not(feature = "gzip"))]
mod gzip {
    use super::*;
    pub fn compress(_: Option<i32>, _: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Gzip))
    }
    pub fn decompress(_: &[u8], _: usize) -> Result<Vec<u8>, RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Gzip))
    }
}

#[cfg(feature = "snappy")]
mod snappy {
    use super::*;

    /// snappy-java's stream header: magic, then version 1 and
    /// min-compatible version 1 (big-endian int32 each).
    pub const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
    const XERIAL_HEADER_LEN: usize = 16;
    /// SnappyOutputStream's default block size.
    const XERIAL_BLOCK: usize = 32 * 1024;

    pub fn compress(
        framing: SnappyFraming,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RecordsError> {
        let mut enc = snap::raw::Encoder::new();
        let mut block = |chunk: &[u8], out: &mut Vec<u8>| -> Result<usize, RecordsError> {
            let start = out.len();
            out.resize(start + snap::raw::max_compress_len(chunk.len()), 0);
            let n = enc
                .compress(chunk, &mut out[start..])
                .map_err(|e| compress_failed(Compression::Snappy, e))?;
            out.truncate(start + n);
            Ok(n)
        };
        match framing {
            SnappyFraming::Raw => {
                block(input, out)?;
            }
            SnappyFraming::Xerial => {
                out.extend_from_slice(&XERIAL_MAGIC);
                out.extend_from_slice(&1i32.to_be_bytes());
                out.extend_from_slice(&1i32.to_be_bytes());
                for chunk in input.chunks(XERIAL_BLOCK) {
                    let len_at = out.len();
                    out.extend_from_slice(&[0; 4]);
                    let n = block(chunk, out)?;
                    let n = u32::try_from(n)
                        .map_err(|_| RecordsError::Encode("snappy block too large"))?;
                    out[len_at..len_at + 4].copy_from_slice(&n.to_be_bytes());
                }
            }
        }
        Ok(())
    }

    /// Decompresses one raw block, appending to `out`, within `limit`.
    fn raw_block(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), RecordsError> {
        let codec = Compression::Snappy;
        let n = snap::raw::decompress_len(block).map_err(|e| failed(codec, e))?;
        // The declared length is checked before it sizes anything.
        if n > limit.saturating_sub(out.len()) {
            return Err(RecordsError::DecompressedTooLarge { codec, limit });
        }
        let start = out.len();
        out.resize(start + n, 0);
        let written = snap::raw::Decoder::new()
            .decompress(block, &mut out[start..])
            .map_err(|e| failed(codec, e))?;
        out.truncate(start + written);
        Ok(())
    }

    pub fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, RecordsError> {
        let codec = Compression::Snappy;
        let mut out = Vec::new();
        // Like snappy-java's SnappyInputStream (which Kafka reads with):
        // without the stream magic the whole input is one raw block. That
        // is how librdkafka's snappy batches arrive.
        if input.len() < XERIAL_HEADER_LEN || input[..8] != XERIAL_MAGIC {
            raw_block(input, &mut out, limit)?;
            return Ok(out);
        }
        let mut rest = &input[XERIAL_HEADER_LEN..];
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(failed(codec, "truncated xerial block length"));
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            rest = &rest[4..];
            if len > rest.len() {
                return Err(failed(
                    codec,
                    format_args!("xerial block of {len} bytes but {} remain", rest.len()),
                ));
            }
            raw_block(&rest[..len], &mut out, limit)?;
            rest = &rest[len..];
        }
        Ok(out)
    }
}

#[cfg(not(feature = "snappy"))]
mod snappy {
    use super::*;
    pub fn compress(_: SnappyFraming, _: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Snappy))
    }
    pub fn decompress(_: &[u8], _: usize) -> Result<Vec<u8>, RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Snappy))
    }
}

/// xxHash32, needed to check and repair LZ4 frame header checksums
/// (lz4_flex does not expose its own).
pub fn xxh32(data: &[u8], seed: u32) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    fn word(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn round(acc: u32, input: u32) -> u32 {
        acc.wrapping_add(input.wrapping_mul(P2))
            .rotate_left(13)
            .wrapping_mul(P1)
    }
    let mut chunks = data.chunks_exact(16);
    let mut h = if data.len() >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        for c in &mut chunks {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, word(&c[i * 4..]));
            }
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(data.len() as u32);
    let tail = if data.len() >= 16 {
        chunks.remainder()
    } else {
        data
    };
    let mut words = tail.chunks_exact(4);
    for w in &mut words {
        h = h
            .wrapping_add(word(w).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
    }
    for &b in words.remainder() {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^= h >> 16;
    h
}

/// Where an LZ4 frame's header checksum byte sits, after checking that the
/// whole frame descriptor is present.
pub(crate) fn lz4_header_checksum_pos(input: &[u8]) -> Result<usize, &'static str> {
    const MAGIC: [u8; 4] = 0x184D_2204u32.to_le_bytes();
    if input.len() < 7 {
        return Err("lz4 frame shorter than its header");
    }
    if input[..4] != MAGIC {
        return Err("not an lz4 frame (bad magic)");
    }
    let flg = input[4];
    let mut pos = 6;
    if flg & 0x08 != 0 {
        pos += 8; // content size
    }
    if flg & 0x01 != 0 {
        pos += 4; // dictionary id
    }
    if input.len() <= pos {
        return Err("lz4 frame header is truncated");
    }
    Ok(pos)
}

/// The header checksum byte as Kafka before KAFKA-3160 wrote it: the hash
/// wrongly included the 4 magic bytes. Magic 0 messages keep that form
/// (Kafka 0.10 fixed it for magic 1 only, for compatibility).
pub fn lz4_kafka3160_checksum(frame_header_up_to_checksum: &[u8]) -> u8 {
    (xxh32(frame_header_up_to_checksum, 0) >> 8) as u8
}

/// The correct LZ4 frame header checksum over the descriptor (FLG..).
pub fn lz4_header_checksum(descriptor: &[u8]) -> u8 {
    (xxh32(descriptor, 0) >> 8) as u8
}

#[cfg(feature = "lz4")]
mod lz4 {
    use std::io::{Read, Write};

    use super::*;

    pub fn compress(input: &[u8], out: &mut Vec<u8>) -> Result<(), RecordsError> {
        // What Kafka's KafkaLZ4BlockOutputStream and librdkafka write: 64 KiB
        // independent blocks (Kafka's reader cannot follow linked blocks).
        let info = lz4_flex::frame::FrameInfo::new()
            .block_size(lz4_flex::frame::BlockSize::Max64KB)
            .block_mode(lz4_flex::frame::BlockMode::Independent);
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, out);
        enc.write_all(input)
            .map_err(|e| compress_failed(Compression::Lz4, e))?;
        enc.finish()
            .map_err(|e| compress_failed(Compression::Lz4, e))?;
        Ok(())
    }

    pub fn decompress(input: &[u8], limit: usize, legacy: bool) -> Result<Vec<u8>, RecordsError> {
        let codec = Compression::Lz4;
        // The header is validated here first: it must be complete (lz4_flex
        // assumes so for the content-size field) and its checksum right,
        // except for magic 0 whose checksum Kafka does not verify
        // (KAFKA-3160): it is repaired so the decoder accepts the frame.
        let pos = lz4_header_checksum_pos(input).map_err(|e| failed(codec, e))?;
        let good = lz4_header_checksum(&input[4..pos]);
        let mut header = [0u8; 19];
        header[..=pos].copy_from_slice(&input[..=pos]);
        if input[pos] != good {
            if !legacy {
                return Err(failed(
                    codec,
                    format_args!(
                        "frame header checksum {:#04x}, expected {good:#04x}",
                        input[pos]
                    ),
                ));
            }
            header[pos] = good;
        }
        let reader = (&header[..=pos]).chain(&input[pos + 1..]);
        read_bounded(
            lz4_flex::frame::FrameDecoder::new(reader),
            codec,
            limit,
            input.len(),
        )
    }
}

#[cfg(not(feature = "lz4"))]
mod lz4 {
    use super::*;
    pub fn compress(_: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Lz4))
    }
    pub fn decompress(_: &[u8], _: usize, _: bool) -> Result<Vec<u8>, RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Lz4))
    }
}

#[cfg(feature = "zstd")]
mod zstd_codec {
    use super::*;

    pub fn compress(
        level: Option<i32>,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RecordsError> {
        // Kafka's default zstd level is 3 (KIP-390), as is zstd's own.
        let compressed = zstd::bulk::compress(input, level.unwrap_or(3))
            .map_err(|e| compress_failed(Compression::Zstd, e))?;
        out.extend_from_slice(&compressed);
        Ok(())
    }

    pub fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, RecordsError> {
        let codec = Compression::Zstd;
        let mut dec =
            zstd::stream::read::Decoder::with_buffer(input).map_err(|e| failed(codec, e))?;
        // The window a frame may demand is memory the decoder allocates
        // before producing output; cap it at what the limit could need
        // (never below 8 MiB, which covers every level's default window for
        // batch-sized inputs, never above zstd's own default cap of 128 MiB).
        let need = usize::BITS - limit.max(1).saturating_sub(1).leading_zeros();
        dec.window_log_max(need.clamp(23, 27))
            .map_err(|e| failed(codec, e))?;
        read_bounded(dec, codec, limit, input.len())
    }
}

#[cfg(not(feature = "zstd"))]
mod zstd_codec {
    use super::*;
    pub fn compress(_: Option<i32>, _: &[u8], _: &mut Vec<u8>) -> Result<(), RecordsError> {
        Err(RecordsError::CodecDisabled(Compression::Zstd))
    }
    pub fn decompress(_: &[u8], _: usize) -> Result<Vec<u8>, RecordsError> {
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
}
