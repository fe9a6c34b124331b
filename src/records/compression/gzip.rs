//! gzip (RFC 1952), as Kafka's GZIPInputStream reads it.

use std::io::Write;

use super::*;

pub fn compress(level: Option<i32>, input: &[u8], out: &mut Vec<u8>) -> Result<(), RecordsError> {
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

/// flate2's inflate state (miniz_oxide's 32 KiB window and its
/// tables), with room to spare.
const STATE: usize = 64 * 1024;
/// Deflate's best ratio is about 1032:1.
const MAX_RATIO: usize = 1032;

pub fn decompress(input: &[u8], meter: &mut Meter) -> Result<Vec<u8>, RecordsError> {
    // The trailer's ISIZE (RFC 1952) is the last member's length mod
    // 2^32: a first size for the buffer, never trusted beyond the ratio
    // deflate can reach.
    let hint = match input.len() {
        n if n >= 18 => {
            let t = &input[n - 4..];
            (u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize).min(n.saturating_mul(MAX_RATIO))
        }
        _ => 0,
    };
    // GZIPInputStream, which Kafka reads with, accepts concatenated
    // members, so the multi-member decoder matches it. A member header's
    // name, comment and extra field are held while it is read: at most
    // the input's own length.
    meter.with_working(STATE + input.len(), |m| {
        read_metered(flate2::bufread::MultiGzDecoder::new(input), m, hint)
    })
}
