//! snappy: snappy-java's xerial stream framing and raw blocks.

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
                let n =
                    u32::try_from(n).map_err(|_| RecordsError::Encode("snappy block too large"))?;
                out[len_at..len_at + 4].copy_from_slice(&n.to_be_bytes());
            }
        }
    }
    Ok(())
}

/// Calls `f` with each raw block: the xerial stream's blocks, or the
/// whole input when it is one raw block. Like snappy-java's
/// SnappyInputStream (which Kafka reads with), input without the stream
/// magic is one raw block: that is how librdkafka's batches arrive.
fn blocks<'a>(
    input: &'a [u8],
    mut f: impl FnMut(&'a [u8]) -> Result<(), RecordsError>,
) -> Result<(), RecordsError> {
    let codec = Compression::Snappy;
    if input.len() < XERIAL_HEADER_LEN || input[..8] != XERIAL_MAGIC {
        return f(input);
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
        f(&rest[..len])?;
        rest = &rest[len..];
    }
    Ok(())
}

pub fn decompress(input: &[u8], meter: &mut Meter) -> Result<Vec<u8>, RecordsError> {
    let codec = Compression::Snappy;
    // Every block declares its length: the sum is checked against the
    // meter before it sizes anything, and the output is allocated once.
    let mut total = 0usize;
    blocks(input, |b| {
        let n = snap::raw::decompress_len(b).map_err(|e| failed(codec, e))?;
        total = total.saturating_add(n);
        Ok(())
    })?;
    meter.grow(total)?;
    let mut out = vec![0u8; total];
    let mut at = 0;
    let mut dec = snap::raw::Decoder::new();
    blocks(input, |b| {
        let n = snap::raw::decompress_len(b).map_err(|e| failed(codec, e))?;
        let written = dec
            .decompress(b, &mut out[at..at + n])
            .map_err(|e| failed(codec, e))?;
        at += written;
        Ok(())
    })?;
    out.truncate(at);
    Ok(out)
}
