use bytes::{Buf, Bytes};
use bytestring::ByteString;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::uuid::Uuid;

/// A bounded reader over a `Bytes` buffer that knows its absolute offset.
///
/// Strings, bytes and records are returned as slices of the input
/// (`Bytes::split_to`), so decoding copies no payload.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    /// Absolute offset of the end of `buf` in the original input.
    end: usize,
}

impl Reader {
    pub fn new(buf: Bytes) -> Self {
        let end = buf.len();
        Self { buf, end }
    }

    /// A reader over `buf` that reports offsets as if `buf` started at `base`.
    pub fn with_base(buf: Bytes, base: usize) -> Self {
        let end = base + buf.len();
        Self { buf, end }
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub fn offset(&self) -> usize {
        self.end - self.buf.len()
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub fn peek_rest(&self) -> &Bytes {
        &self.buf
    }

    #[cold]
    fn eof(&self, needed: usize) -> DecodeError {
        DecodeError::new(
            DecodeErrorKind::UnexpectedEof {
                needed,
                remaining: self.buf.len(),
            },
            self.offset(),
        )
    }

    #[cold]
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    #[inline]
    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            Err(self.eof(n))
        } else {
            Ok(())
        }
    }

    /// Fails unless every byte has been consumed.
    pub fn expect_end(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.error(DecodeErrorKind::TrailingBytes {
                remaining: self.buf.len(),
            }))
        }
    }

    /// Takes the next `len` bytes as a slice of the input.
    pub fn take(&mut self, len: usize) -> Result<Bytes, DecodeError> {
        if len > self.buf.len() {
            return Err(self.error(DecodeErrorKind::LengthExceedsInput {
                length: len as u64,
                remaining: self.buf.len(),
            }));
        }
        Ok(self.buf.split_to(len))
    }

    /// A reader over the next `len` bytes, consuming them from this one.
    pub fn sub(&mut self, len: usize) -> Result<Reader, DecodeError> {
        let base = self.offset();
        let buf = self.take(len)?;
        Ok(Reader::with_base(buf, base))
    }

    /// Skips `len` bytes.
    pub fn skip(&mut self, len: usize) -> Result<(), DecodeError> {
        self.take(len).map(|_| ())
    }

    #[inline]
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_i8())
    }

    /// Kafka reads a boolean as "any non-zero byte is true".
    #[inline]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_u8() != 0)
    }

    #[inline]
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }

    #[inline]
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_u16())
    }

    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }

    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }

    #[inline]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_f64())
    }

    #[inline]
    pub fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        self.need(16)?;
        let mut b = [0u8; 16];
        self.buf.copy_to_slice(&mut b);
        Ok(Uuid(b))
    }

    /// An unsigned varint of at most 32 bits (5 bytes).
    #[inline]
    pub fn unsigned_varint(&mut self) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            self.need(1)?;
            let b = self.buf.get_u8();
            if i == 4 && b > 0x0f {
                return Err(self.error(DecodeErrorKind::InvalidVarint));
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(DecodeErrorKind::InvalidVarint))
    }

    /// A zig-zag signed varint of at most 32 bits.
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        let v = self.unsigned_varint()?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// An unsigned varint of at most 64 bits (10 bytes).
    pub fn unsigned_varlong(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            self.need(1)?;
            let b = self.buf.get_u8();
            if i == 9 && b > 0x01 {
                return Err(self.error(DecodeErrorKind::InvalidVarint));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(DecodeErrorKind::InvalidVarint))
    }

    /// A zig-zag signed varint of at most 64 bits.
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        let v = self.unsigned_varlong()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// Reads a length prefix: `int16`/`int32` classic or `uvarint(n+1)`
    /// compact. `None` is the null marker (-1, or 0 when compact).
    #[inline]
    fn length(&mut self, compact: bool, wide: bool) -> Result<Option<usize>, DecodeError> {
        let start = self.offset();
        let n: i64 = if compact {
            i64::from(self.unsigned_varint()?) - 1
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        if n == -1 {
            Ok(None)
        } else if n < -1 {
            Err(DecodeError::new(
                DecodeErrorKind::InvalidLength { length: n },
                start,
            ))
        } else {
            Ok(Some(n as usize))
        }
    }

    #[cold]
    fn null_error(&self) -> DecodeError {
        self.error(DecodeErrorKind::NullNotAllowed)
    }

    fn utf8(&self, raw: Bytes, start: usize) -> Result<ByteString, DecodeError> {
        ByteString::try_from(raw).map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8, start))
    }

    /// A nullable string: `int16` length (or compact `uvarint(n+1)`).
    #[inline]
    pub fn nullable_string(&mut self, compact: bool) -> Result<Option<ByteString>, DecodeError> {
        match self.length(compact, false)? {
            None => Ok(None),
            Some(n) => {
                let start = self.offset();
                let raw = self.take(n)?;
                self.utf8(raw, start).map(Some)
            }
        }
    }

    #[inline]
    pub fn string(&mut self, compact: bool) -> Result<ByteString, DecodeError> {
        self.nullable_string(compact)?
            .ok_or_else(|| self.null_error())
    }

    /// Nullable bytes: `int32` length (or compact `uvarint(n+1)`).
    #[inline]
    pub fn nullable_bytes(&mut self, compact: bool) -> Result<Option<Bytes>, DecodeError> {
        match self.length(compact, true)? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    #[inline]
    pub fn bytes(&mut self, compact: bool) -> Result<Bytes, DecodeError> {
        self.nullable_bytes(compact)?
            .ok_or_else(|| self.null_error())
    }

    /// A nullable array length. `min_element_size` is the fewest bytes one
    /// element can take at this version; a count the remaining input cannot
    /// hold fails here, before anything is allocated.
    #[inline]
    pub fn nullable_array_len(
        &mut self,
        compact: bool,
        min_element_size: usize,
    ) -> Result<Option<usize>, DecodeError> {
        let start = self.offset();
        let len = self.length(compact, true)?;
        if let Some(n) = len {
            // An element that could be zero bytes wide still counts as one,
            // so the count is always bounded by the input size.
            let per = min_element_size.max(1) as u64;
            if (n as u64).saturating_mul(per) > self.buf.len() as u64 {
                return Err(DecodeError::new(
                    DecodeErrorKind::LengthExceedsInput {
                        length: n as u64,
                        remaining: self.buf.len(),
                    },
                    start,
                ));
            }
        }
        Ok(len)
    }

    #[inline]
    pub fn array_len(
        &mut self,
        compact: bool,
        min_element_size: usize,
    ) -> Result<usize, DecodeError> {
        self.nullable_array_len(compact, min_element_size)?
            .ok_or_else(|| self.null_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_array_length_on_tiny_input_fails_before_allocating() {
        let mut r = Reader::new(Bytes::from_static(&[
            0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0,
        ]));
        let err = r.array_len(false, 4).unwrap_err();
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::LengthExceedsInput {
                length: 0x7fff_ffff,
                remaining: 6
            }
        );
        assert_eq!(err.offset(), 0);
    }

    #[test]
    fn varint_rejects_sixth_byte() {
        let mut r = Reader::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
        assert_eq!(
            r.unsigned_varint().unwrap_err().kind(),
            &DecodeErrorKind::InvalidVarint
        );
    }

    #[test]
    fn compact_null_string() {
        let mut r = Reader::new(Bytes::from_static(&[0x00, 0x03, b'h', b'i']));
        assert_eq!(r.nullable_string(true).unwrap(), None);
        assert_eq!(r.string(true).unwrap(), "hi");
        assert!(r.is_empty());
    }

    #[test]
    fn negative_string_length_is_an_error_with_offset() {
        let mut r = Reader::new(Bytes::from_static(&[0x00, 0xff, 0xfe]));
        r.i8().unwrap();
        let e = r.nullable_string(false).unwrap_err();
        assert_eq!(e.kind(), &DecodeErrorKind::InvalidLength { length: -2 });
        assert_eq!(e.offset(), 1);
    }

    #[test]
    fn offsets_are_absolute_in_sub_readers() {
        let mut r = Reader::new(Bytes::from_static(&[1, 2, 3, 4, 5]));
        r.i16().unwrap();
        let mut s = r.sub(2).unwrap();
        assert_eq!(s.offset(), 2);
        s.i8().unwrap();
        let e = s.i16().unwrap_err();
        assert_eq!(e.offset(), 3);
        assert_eq!(r.offset(), 4);
    }
}
