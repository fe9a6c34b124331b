//! zstd (KIP-110): one-shot decoding into the frames' bound.

use super::*;

pub fn compress(level: Option<i32>, input: &[u8], out: &mut Vec<u8>) -> Result<(), RecordsError> {
    // Kafka's default zstd level is 3 (KIP-390), as is zstd's own.
    let compressed = zstd::bulk::compress(input, level.unwrap_or(3))
        .map_err(|e| compress_failed(Compression::Zstd, e))?;
    out.extend_from_slice(&compressed);
    Ok(())
}

/// A zstd block expands to at most 128 KiB (RFC 8878, Block_Maximum_Size).
const BLOCK_MAX: usize = 128 << 10;
/// The decompression context lives on the C heap, outside Rust's
/// allocator (ZSTD_estimateDCtxSize: about 160 KiB in zstd 1.5).
const DCTX: usize = 256 << 10;
const FRAME_MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |v, x| (v << 8) | u64::from(*x))
}

/// What the frames of `input` say about their output.
pub(super) struct Frames {
    /// The most they can decompress to, as ZSTD_decompressBound
    /// computes it: a frame's declared content size, else the sum of
    /// its blocks' maxima.
    pub bound: usize,
    /// The largest window a frame asks the streaming decoder for.
    pub window: usize,
    /// Every frame declared its content size: `bound` is the size.
    pub exact: bool,
}

/// Walks the frames and block headers of `input`. `None` for anything
/// this walk does not know (left to the decoder to report).
pub(super) fn frames(mut s: &[u8]) -> Option<Frames> {
    let mut total = 0usize;
    let mut window = 0usize;
    let mut exact = true;
    if s.is_empty() {
        return None;
    }
    while !s.is_empty() {
        let magic = u32::try_from(le(s.get(..4)?)).ok()?;
        if magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
            let n = usize::try_from(le(s.get(4..8)?)).ok()?;
            s = s.get(8usize.checked_add(n)?..)?;
            continue;
        }
        if magic != FRAME_MAGIC {
            return None;
        }
        let fhd = *s.get(4)?;
        if fhd & 0x08 != 0 {
            return None; // reserved bit
        }
        let single_segment = fhd & 0x20 != 0;
        let frame_window = if single_segment {
            None
        } else {
            // RFC 8878 Window_Descriptor: 2^(10 + exponent) plus eighths.
            let wd = *s.get(5)?;
            let base = 1usize.checked_shl(10 + u32::from(wd >> 3))?;
            Some(base.saturating_add(base / 8 * usize::from(wd & 7)))
        };
        let mut pos = 5 + usize::from(!single_segment) + [0, 1, 2, 4][usize::from(fhd & 3)];
        let fcs_len = match fhd >> 6 {
            0 => usize::from(single_segment),
            1 => 2,
            2 => 4,
            _ => 8,
        };
        let content_size = match fcs_len {
            0 => None,
            2 => Some(le(s.get(pos..pos + 2)?) + 256),
            n => Some(le(s.get(pos..pos + n)?)),
        };
        pos += fcs_len;
        let mut blocks = 0usize;
        loop {
            let h = u32::try_from(le(s.get(pos..pos + 3)?)).ok()?;
            pos += 3;
            let size = (h >> 3) as usize;
            let (out, consumed) = match (h >> 1) & 3 {
                0 => (size, size),
                1 => (size, 1),
                2 => (BLOCK_MAX, size),
                _ => return None,
            };
            blocks = blocks.saturating_add(out);
            pos = pos.checked_add(consumed)?;
            if pos > s.len() {
                return None;
            }
            if h & 1 != 0 {
                break;
            }
        }
        if fhd & 0x04 != 0 {
            pos += 4;
        }
        let frame = content_size
            .and_then(|n| usize::try_from(n).ok())
            .map_or(blocks, |n| n.min(blocks));
        total = total.saturating_add(frame);
        exact &= content_size.is_some();
        // A single-segment frame's window is its content.
        window = window.max(frame_window.unwrap_or(frame));
        s = s.get(pos..)?;
    }
    Some(Frames {
        bound: total,
        window,
        exact,
    })
}

pub fn decompress(input: &[u8], meter: &mut Meter) -> Result<Vec<u8>, RecordsError> {
    let codec = Compression::Zstd;
    let frames = frames(input);
    if let Some(f) = frames
        .as_ref()
        .filter(|f| f.exact || f.bound <= meter.max_capacity())
    {
        // One pass into a buffer of the bound (refused here when the
        // declared sizes pass the limit): zstd then uses the output as
        // its window and allocates none of its own.
        return meter.with_working(DCTX, |m| {
            m.grow(f.bound)?;
            let mut out = Vec::with_capacity(f.bound);
            zstd::bulk::Decompressor::new()
                .and_then(|mut d| d.decompress_to_buffer(input, &mut out))
                .map_err(|e| failed(codec, e))?;
            Ok(out)
        });
    }
    // Frames whose bound passes the limit while their real size may
    // not, and frames the walk does not know, are streamed. The window
    // is memory the streaming decoder allocates before any output: the
    // frame's own (8 MiB when unknown, which covers every level's
    // default for batch-sized inputs), charged with a block beside it,
    // and never above zstd's default cap of 128 MiB.
    let window = frames.as_ref().map_or(8 << 20, |f| f.window).max(1 << 10);
    let window_log = (usize::BITS - (window - 1).leading_zeros()).min(27);
    meter.with_working(DCTX + BLOCK_MAX + window, |m| {
        let mut dec =
            zstd::stream::read::Decoder::with_buffer(input).map_err(|e| failed(codec, e))?;
        dec.window_log_max(window_log)
            .map_err(|e| failed(codec, e))?;
        read_metered(dec, m, frames.as_ref().map_or(0, |f| f.bound))
    })
}
