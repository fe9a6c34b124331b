//! lz4 frames (lz4_flex), as Kafka's Lz4BlockInputStream reads them.

use std::io::Write;

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

/// The frame's largest block (FLG/BD, lz4 frame format 1.6.x).
fn block_max(bd: u8) -> Option<usize> {
    match (bd >> 4) & 7 {
        4 => Some(64 << 10),
        5 => Some(256 << 10),
        6 => Some(1 << 20),
        7 => Some(4 << 20),
        _ => None,
    }
}

/// Where the first frame ends and how large its output can be: each
/// block is at most the frame's block size (an uncompressed block is
/// exactly its size). `None` when the blocks run past the input.
fn first_frame(input: &[u8], mut pos: usize, block_max: usize) -> Option<(usize, usize)> {
    let flg = input[4];
    let block_checksum = flg & 0x10 != 0;
    let content_checksum = flg & 0x04 != 0;
    let mut bound = 0usize;
    loop {
        let b = input.get(pos..pos + 4)?;
        pos += 4;
        let word = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if word == 0 {
            break;
        }
        let n = (word & 0x7fff_ffff) as usize;
        bound = bound.saturating_add(if word & 0x8000_0000 != 0 {
            n
        } else {
            block_max
        });
        pos = pos.checked_add(n + if block_checksum { 4 } else { 0 })?;
        if pos > input.len() {
            return None;
        }
    }
    if content_checksum {
        pos += 4;
    }
    (pos <= input.len()).then_some((pos, bound))
}

pub fn decompress(input: &[u8], meter: &mut Meter, legacy: bool) -> Result<Vec<u8>, RecordsError> {
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
    let block_max =
        block_max(input[5]).ok_or_else(|| failed(codec, "invalid lz4 frame block size"))?;
    // lz4_flex holds one block in and one out; linked blocks keep two
    // and the 64 KiB window on the output side.
    let linked = input[4] & 0x20 == 0;
    let state = block_max
        + if linked {
            2 * block_max + (64 << 10)
        } else {
            block_max
        };
    // Kafka's KafkaLZ4BlockInputStream reads one frame and stops at its
    // end mark; so does this, and the frame's blocks size the output.
    let (end, bound) = first_frame(input, pos + 1, block_max).unwrap_or((input.len(), 0));
    let reader = (&header[..=pos]).chain(&input[pos + 1..end]);
    meter.with_working(state, |m| {
        read_metered(lz4_flex::frame::FrameDecoder::new(reader), m, bound)
    })
}
