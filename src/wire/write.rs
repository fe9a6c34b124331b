//! Encoders for the wire primitives, and their encoded sizes.
//!
//! These never fail: lengths are validated by the generated `size` pass
//! (which every public encode runs first), so writing is a straight copy.

use bytes::{BufMut, BytesMut};

use crate::uuid::Uuid;

#[inline]
pub fn put_bool(buf: &mut BytesMut, v: bool) {
    buf.put_u8(u8::from(v));
}

#[inline]
pub fn put_uuid(buf: &mut BytesMut, v: &Uuid) {
    buf.put_slice(&v.0);
}

#[inline]
pub fn put_unsigned_varint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

#[inline]
pub fn put_varint(buf: &mut BytesMut, v: i32) {
    put_unsigned_varint(buf, ((v << 1) ^ (v >> 31)) as u32);
}

#[inline]
pub fn put_unsigned_varlong(buf: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

#[inline]
pub fn put_varlong(buf: &mut BytesMut, v: i64) {
    put_unsigned_varlong(buf, ((v << 1) ^ (v >> 63)) as u64);
}

#[inline]
pub const fn unsigned_varint_len(v: u32) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0xfff_ffff => 4,
        _ => 5,
    }
}

#[inline]
pub const fn varint_len(v: i32) -> usize {
    unsigned_varint_len(((v << 1) ^ (v >> 31)) as u32)
}

#[inline]
pub const fn unsigned_varlong_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

#[inline]
pub const fn varlong_len(v: i64) -> usize {
    unsigned_varlong_len(((v << 1) ^ (v >> 63)) as u64)
}

/// Writes a length prefix for a string (`int16`), bytes or array (`int32`),
/// or its compact form `uvarint(n+1)`. `None` writes the null marker.
#[inline]
pub fn put_length(buf: &mut BytesMut, len: Option<usize>, compact: bool, wide: bool) {
    match (len, compact) {
        (None, true) => buf.put_u8(0),
        (Some(n), true) => put_unsigned_varint(buf, (n as u32).wrapping_add(1)),
        (None, false) if wide => buf.put_i32(-1),
        (None, false) => buf.put_i16(-1),
        (Some(n), false) if wide => buf.put_i32(n as i32),
        (Some(n), false) => buf.put_i16(n as i16),
    }
}

#[inline]
pub const fn length_len(len: Option<usize>, compact: bool, wide: bool) -> usize {
    match (len, compact) {
        (None, true) => 1,
        (Some(n), true) => unsigned_varint_len((n as u32).wrapping_add(1)),
        (_, false) if wide => 4,
        (_, false) => 2,
    }
}

/// Whether a length fits its prefix: `int16` strings, `int32` bytes and
/// arrays, and compact `uvarint(n+1)`.
#[inline]
pub const fn length_fits(len: usize, compact: bool, wide: bool) -> bool {
    if compact {
        len < u32::MAX as usize
    } else if wide {
        len <= i32::MAX as usize
    } else {
        len <= i16::MAX as usize
    }
}

#[inline]
pub fn put_string(buf: &mut BytesMut, s: &str, compact: bool) {
    put_length(buf, Some(s.len()), compact, false);
    buf.put_slice(s.as_bytes());
}

#[inline]
pub fn put_nullable_string(buf: &mut BytesMut, s: Option<&str>, compact: bool) {
    match s {
        Some(s) => put_string(buf, s, compact),
        None => put_length(buf, None, compact, false),
    }
}

#[inline]
pub fn put_bytes(buf: &mut BytesMut, b: &[u8], compact: bool) {
    put_length(buf, Some(b.len()), compact, true);
    buf.put_slice(b);
}

#[inline]
pub fn put_nullable_bytes(buf: &mut BytesMut, b: Option<&[u8]>, compact: bool) {
    match b {
        Some(b) => put_bytes(buf, b, compact),
        None => put_length(buf, None, compact, true),
    }
}

#[inline]
pub const fn string_len(len: usize, compact: bool) -> usize {
    length_len(Some(len), compact, false) + len
}

#[inline]
pub const fn bytes_len(len: usize, compact: bool) -> usize {
    length_len(Some(len), compact, true) + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Reader;

    #[test]
    fn varints_round_trip_at_every_width() {
        for v in [
            0u32,
            1,
            127,
            128,
            16383,
            16384,
            2_097_151,
            2_097_152,
            u32::MAX,
        ] {
            let mut b = BytesMut::new();
            put_unsigned_varint(&mut b, v);
            assert_eq!(b.len(), unsigned_varint_len(v), "{v}");
            assert_eq!(Reader::new(b.freeze()).unsigned_varint().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, 300, -300] {
            let mut b = BytesMut::new();
            put_varlong(&mut b, v);
            assert_eq!(b.len(), varlong_len(v), "{v}");
            assert_eq!(Reader::new(b.freeze()).varlong().unwrap(), v);
        }
        for v in [0i32, -1, 1, i32::MIN, i32::MAX] {
            let mut b = BytesMut::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v));
            assert_eq!(Reader::new(b.freeze()).varint().unwrap(), v);
        }
    }

    #[test]
    fn length_prefixes_match_kafka() {
        let mut b = BytesMut::new();
        put_nullable_string(&mut b, None, false);
        put_nullable_string(&mut b, None, true);
        put_string(&mut b, "ab", true);
        put_nullable_bytes(&mut b, None, false);
        assert_eq!(
            &b[..],
            &[0xff, 0xff, 0x00, 0x03, b'a', b'b', 0xff, 0xff, 0xff, 0xff]
        );
    }
}
