use bytes::Bytes;
use bytestring::ByteString;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::uuid::Uuid;

use super::{BUDGET_BASE, BUDGET_PER_INPUT_BYTE};

/// A bounded reader over a `Bytes` buffer that knows its absolute offset
/// and carries a memory budget.
///
/// Strings, bytes and records are returned as slices of the input
/// (`Bytes::slice`), so decoding copies no payload. A tagged field is read
/// inside a window of the same buffer (no sub-buffer is split off).
///
/// **Memory budget.** What a decode allocates (array storage, unknown
/// tagged fields) is charged before it is allocated; a decode that would
/// go over fails with [`DecodeErrorKind::MemoryBudgetExceeded`]. The
/// default, [`Reader::new`], is 16 bytes per input byte plus 64 KiB, less
/// 1 KiB kept for the few allocations that are not charged (the error
/// value, `Bytes` sharing its buffer once): decoding never holds more than
/// that much heap, whatever the input says.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    /// Next byte to read.
    pos: usize,
    /// End of the current window (`buf.len()` outside tagged fields).
    end: usize,
    /// Absolute offset of `buf[0]` in the original input.
    base: usize,
    /// Heap bytes the decode may still allocate.
    budget: usize,
}

/// Uncharged allocations a decode may make: the boxed error and its path,
/// and the one-time shared header `Bytes` adds when first sliced.
const UNCHARGED_RESERVE: usize = 1024;

impl Reader {
    /// A reader with the default memory budget.
    pub fn new(buf: Bytes) -> Self {
        Self::with_base(buf, 0)
    }

    /// A reader over `buf` that reports offsets as if `buf` started at `base`.
    pub fn with_base(buf: Bytes, base: usize) -> Self {
        let budget = Self::default_budget(buf.len());
        Self::with_base_and_budget(buf, base, budget)
    }

    /// A reader that may allocate at most `budget` heap bytes while
    /// decoding (for example a larger one for a trusted peer).
    pub fn with_budget(buf: Bytes, budget: usize) -> Self {
        Self::with_base_and_budget(buf, 0, budget)
    }

    fn with_base_and_budget(buf: Bytes, base: usize, budget: usize) -> Self {
        let end = buf.len();
        Self {
            buf,
            pos: 0,
            end,
            base,
            budget,
        }
    }

    /// The default budget for `len` input bytes: 16 × `len` + 64 KiB, less
    /// what uncharged allocations may take.
    pub fn default_budget(len: usize) -> usize {
        len.saturating_mul(BUDGET_PER_INPUT_BYTE)
            .saturating_add(BUDGET_BASE - UNCHARGED_RESERVE)
    }

    /// Heap bytes this decode may still allocate.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Charges `bytes` of heap against the budget before they are allocated.
    #[inline]
    pub fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        if bytes > self.budget {
            return Err(self.error(DecodeErrorKind::MemoryBudgetExceeded {
                needed: bytes,
                remaining: self.budget,
            }));
        }
        self.budget -= bytes;
        Ok(())
    }

    /// An empty vector with room for exactly `n` elements, charged first.
    #[inline]
    pub fn vec_with_capacity<T>(&mut self, n: usize) -> Result<Vec<T>, DecodeError> {
        self.charge(n.saturating_mul(std::mem::size_of::<T>()))?;
        Ok(Vec::with_capacity(n))
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes left in the current window.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// The unread bytes of the current window, without consuming them.
    pub fn peek_rest(&self) -> Bytes {
        self.buf.slice(self.pos..self.end)
    }

    #[cold]
    fn eof(&self, needed: usize) -> DecodeError {
        self.error(DecodeErrorKind::UnexpectedEof {
            needed,
            remaining: self.remaining(),
        })
    }

    #[cold]
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    /// Fails unless every byte has been consumed.
    pub fn expect_end(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(DecodeErrorKind::TrailingBytes {
                remaining: self.remaining(),
            }))
        }
    }

    /// The next `n` bytes, consumed, as a borrowed slice.
    #[inline]
    fn slice(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.eof(n));
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.slice(N)?);
        Ok(a)
    }

    /// The next `n × width` bytes of a fixed-width array whose count was
    /// already checked against the input.
    #[inline]
    pub(crate) fn raw(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        self.slice(n)
    }

    /// Takes the next `len` bytes as a slice of the input.
    #[inline]
    pub fn take(&mut self, len: usize) -> Result<Bytes, DecodeError> {
        if len > self.remaining() {
            return Err(self.error(DecodeErrorKind::LengthExceedsInput {
                length: len as u64,
                remaining: self.remaining(),
            }));
        }
        let start = self.pos;
        self.pos += len;
        Ok(self.buf.slice(start..start + len))
    }

    /// A reader over the next `len` bytes, consuming them from this one.
    /// The new reader starts with its own default budget.
    pub fn sub(&mut self, len: usize) -> Result<Reader, DecodeError> {
        let base = self.offset();
        let buf = self.take(len)?;
        Ok(Reader::with_base(buf, base))
    }

    /// Narrows the reader to the next `len` bytes (a tagged field's value);
    /// returns the outer end for [`Reader::close_window`].
    #[inline]
    pub(crate) fn open_window(&mut self, len: usize) -> Result<usize, DecodeError> {
        if len > self.remaining() {
            return Err(self.error(DecodeErrorKind::LengthExceedsInput {
                length: len as u64,
                remaining: self.remaining(),
            }));
        }
        let outer = self.end;
        self.end = self.pos + len;
        Ok(outer)
    }

    /// Skips what is left of the window and restores the outer end.
    #[inline]
    pub(crate) fn close_window(&mut self, outer: usize) {
        self.pos = self.end;
        self.end = outer;
    }

    /// Skips `len` bytes.
    pub fn skip(&mut self, len: usize) -> Result<(), DecodeError> {
        if len > self.remaining() {
            return Err(self.error(DecodeErrorKind::LengthExceedsInput {
                length: len as u64,
                remaining: self.remaining(),
            }));
        }
        self.pos += len;
        Ok(())
    }

    #[inline]
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// Kafka reads a boolean as "any non-zero byte is true".
    #[inline]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.u8()? != 0)
    }

    #[inline]
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    #[inline]
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    #[inline]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_be_bytes(self.array()?))
    }

    #[inline]
    pub fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid(self.array()?))
    }

    /// An unsigned varint of at most 32 bits (5 bytes).
    #[inline]
    pub fn unsigned_varint(&mut self) -> Result<u32, DecodeError> {
        // One-byte values (lengths below 127, tag counts) are the common case.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 && self.pos < self.end {
                self.pos += 1;
                return Ok(u32::from(b));
            }
        }
        self.unsigned_varint_slow()
    }

    #[inline(never)]
    fn unsigned_varint_slow(&mut self) -> Result<u32, DecodeError> {
        let window = &self.buf[self.pos..self.end];
        let mut value: u32 = 0;
        for (i, &b) in window.iter().take(5).enumerate() {
            if i == 4 && b > 0x0f {
                self.pos += i + 1;
                return Err(self.error(DecodeErrorKind::InvalidVarint));
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.pos += i + 1;
                return Ok(value);
            }
        }
        // Fewer than five bytes left, each with the continuation bit (a
        // fifth one would have ended the loop above).
        self.pos = self.end;
        Err(self.eof(1))
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
            let b = self.u8()?;
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
    ///
    /// The compact form (every flexible version, KIP-482) is inlined at each
    /// call: it cannot be invalid, only null.
    #[inline(always)]
    fn length(&mut self, compact: bool, wide: bool) -> Result<Option<usize>, DecodeError> {
        if compact {
            let v = self.unsigned_varint()?;
            Ok(v.checked_sub(1).map(|n| n as usize))
        } else {
            self.classic_length(wide)
        }
    }

    /// `int16`/`int32` length: -1 is null, any other negative is invalid.
    fn classic_length(&mut self, wide: bool) -> Result<Option<usize>, DecodeError> {
        let start = self.offset();
        let n: i32 = if wide {
            self.i32()?
        } else {
            i32::from(self.i16()?)
        };
        match usize::try_from(n) {
            Ok(n) => Ok(Some(n)),
            Err(_) if n == -1 => Ok(None),
            Err(_) => Err(DecodeError::new(
                DecodeErrorKind::InvalidLength {
                    length: i64::from(n),
                },
                start,
            )),
        }
    }

    #[cold]
    fn null_error(&self) -> DecodeError {
        self.error(DecodeErrorKind::NullNotAllowed)
    }

    fn utf8(raw: Bytes, start: usize) -> Result<ByteString, DecodeError> {
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
                Self::utf8(raw, start).map(Some)
            }
        }
    }

    #[inline]
    pub fn string(&mut self, compact: bool) -> Result<ByteString, DecodeError> {
        match self.nullable_string(compact)? {
            Some(s) => Ok(s),
            None => Err(self.null_error()),
        }
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
        match self.nullable_bytes(compact)? {
            Some(b) => Ok(b),
            None => Err(self.null_error()),
        }
    }

    /// A nullable array length. `min_element_size` is the fewest bytes one
    /// element can take at this version; a count the remaining input cannot
    /// hold fails here, before anything is allocated.
    ///
    /// Inlined at every array (one call per array was ~40 instructions of a
    /// ~90-instruction `int32` array decode); the error is built out of line.
    #[inline(always)]
    pub fn nullable_array_len(
        &mut self,
        compact: bool,
        min_element_size: usize,
    ) -> Result<Option<usize>, DecodeError> {
        let start = self.pos;
        let len = self.length(compact, true)?;
        if let Some(n) = len {
            // An element that could be zero bytes wide still counts as one,
            // so the count is always bounded by the input size.
            let per = min_element_size.max(1) as u64;
            if (n as u64).saturating_mul(per) > self.remaining() as u64 {
                return Err(self.count_exceeds_input(n, start));
            }
        }
        Ok(len)
    }

    #[cold]
    #[inline(never)]
    fn count_exceeds_input(&self, n: usize, start: usize) -> DecodeError {
        DecodeError::new(
            DecodeErrorKind::LengthExceedsInput {
                length: n as u64,
                remaining: self.remaining(),
            },
            self.base + start,
        )
    }

    #[inline(always)]
    pub fn array_len(
        &mut self,
        compact: bool,
        min_element_size: usize,
    ) -> Result<usize, DecodeError> {
        match self.nullable_array_len(compact, min_element_size)? {
            Some(n) => Ok(n),
            None => Err(self.null_error()),
        }
    }

    /// Reads any wire value; the Rust type picks the encoding.
    #[inline]
    pub fn read<T: crate::Decodable>(&mut self, cx: super::Cx) -> Result<T, DecodeError> {
        T::read(self, cx)
    }

    /// Reads field `field` (the generated code's one call per field; an
    /// error names the field).
    #[inline]
    pub fn field<T: crate::Decodable>(
        &mut self,
        cx: super::Cx,
        field: &'static str,
    ) -> Result<T, DecodeError> {
        T::read(self, cx).map_err(|e| e.in_field(field))
    }

    /// Reads nullable struct field `field` (KIP-893).
    #[inline]
    pub fn nullable_struct_field<T: crate::Decodable>(
        &mut self,
        cx: super::Cx,
        field: &'static str,
    ) -> Result<Option<T>, DecodeError> {
        super::read_nullable_struct(self, cx).map_err(|e| e.in_field(field))
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

    #[test]
    fn a_window_ends_reads_at_its_end_and_restores_the_outer_end() {
        let mut r = Reader::new(Bytes::from_static(&[1, 2, 3, 4, 5]));
        r.i8().unwrap();
        let outer = r.open_window(2).unwrap();
        assert_eq!(r.remaining(), 2);
        let e = r.i32().unwrap_err();
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::UnexpectedEof {
                needed: 4,
                remaining: 2
            }
        );
        r.close_window(outer);
        assert_eq!(r.offset(), 3);
        assert_eq!(r.remaining(), 2);
        // A one-byte varint does not look past the window either.
        let outer = r.open_window(0).unwrap();
        assert!(r.unsigned_varint().is_err());
        r.close_window(outer);
    }

    #[test]
    fn the_budget_is_charged_before_allocating() {
        let mut r = Reader::with_budget(Bytes::new(), 100);
        let v: Vec<u64> = r.vec_with_capacity(10).unwrap();
        assert_eq!(v.capacity(), 10);
        assert_eq!(r.budget(), 20);
        let e = r.vec_with_capacity::<u64>(3).unwrap_err();
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::MemoryBudgetExceeded {
                needed: 24,
                remaining: 20
            }
        );
        assert_eq!(Reader::default_budget(10), 160 + 63 * 1024);
    }
}
