use bytes::{Bytes, BytesMut};

use super::write::unsigned_varint_len;
use super::Cx;
use crate::Encodable;

/// Appends an encoding to a `BytesMut`.
///
/// The public encoders run the size pass first and reserve exactly, so the
/// appends never reallocate; runs of fixed-width fields go in as one array
/// ([`Writer::fixed`]). A tagged field's size prefix is patched in after
/// its value is written, so no size is computed twice.
///
/// In segmented mode ([`crate::Message::encode_segments`]) records and
/// `zeroCopy` bytes fields are not copied: the writer remembers where they
/// go and hands back the pieces, as Kafka's `SendBuilder` does with
/// `writeRecords`/`writeByteBuffer`.
pub struct Writer<'a> {
    buf: &'a mut BytesMut,
    /// Segmented mode: (offset in `buf`, bytes that go there).
    by_ref: Option<Vec<(usize, Bytes)>>,
    /// Inside a tagged field, whose size is patched afterwards: values are
    /// always copied there.
    tagged_depth: u32,
}

impl<'a> Writer<'a> {
    /// A writer that appends everything to `buf`.
    pub fn new(buf: &'a mut BytesMut) -> Self {
        Writer {
            buf,
            by_ref: None,
            tagged_depth: 0,
        }
    }

    /// A writer that keeps records and `zeroCopy` bytes by reference.
    pub(crate) fn segmented(buf: &'a mut BytesMut) -> Self {
        Writer {
            buf,
            by_ref: Some(Vec::new()),
            tagged_depth: 0,
        }
    }

    /// Bytes appended to the buffer so far (by-reference pieces excluded).
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Writes any wire value; the Rust type picks the encoding.
    #[inline]
    pub fn put<T: Encodable + ?Sized>(&mut self, v: &T, cx: Cx) {
        v.write(self, cx);
    }

    /// Writes the value of a nullable type at a version where it may not be
    /// null (the size pass refused `None` already).
    #[inline]
    pub fn put_some<T: Encodable>(&mut self, v: &Option<T>, cx: Cx) {
        if let Some(v) = v {
            v.write(self, cx);
        }
    }

    /// A records or `zeroCopy` bytes value: by reference in segmented mode.
    #[inline]
    pub fn put_by_ref<T: super::codec::ByRef + ?Sized>(&mut self, v: &T, cx: Cx) {
        v.write_by_ref(self, cx);
    }

    /// A nullable struct (KIP-893): an int8 marker, -1 for null, then the struct.
    #[inline]
    pub fn put_nullable_struct<T: Encodable>(&mut self, v: &Option<T>, cx: Cx) {
        match v {
            None => self.array([0xff]),
            Some(v) => {
                self.array([1]);
                v.write(self, cx);
            }
        }
    }

    /// A run of fixed-width values, written as one array.
    #[inline]
    pub fn fixed<R: super::codec::FixedRun>(&mut self, run: R) {
        run.write_run(self);
    }

    #[inline(always)]
    pub fn array<const N: usize>(&mut self, a: [u8; N]) {
        self.buf.extend_from_slice(&a);
    }

    #[inline]
    pub fn slice(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// `bytes` appended, or in segmented mode outside tagged fields kept by
    /// reference.
    #[inline]
    pub(crate) fn shared(&mut self, bytes: &Bytes) {
        match &mut self.by_ref {
            Some(refs) if self.tagged_depth == 0 && !bytes.is_empty() => {
                refs.push((self.buf.len(), bytes.clone()));
            }
            _ => self.buf.extend_from_slice(bytes),
        }
    }

    #[inline]
    pub fn unsigned_varint(&mut self, mut v: u32) {
        if v < 0x80 {
            return self.array([v as u8]);
        }
        let mut tmp = [0u8; 5];
        let mut n = 0;
        while v >= 0x80 {
            tmp[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        tmp[n] = v as u8;
        self.slice(&tmp[..=n]);
    }

    /// Writes a one-byte placeholder for a varint patched later.
    #[inline]
    pub(crate) fn placeholder(&mut self) -> usize {
        let at = self.buf.len();
        self.array([0]);
        at
    }

    /// Sets the placeholder at `at` to `value`, shifting what follows when
    /// the varint needs more than one byte.
    pub(crate) fn patch_varint(&mut self, at: usize, value: u32) {
        if value < 0x80 {
            self.buf[at] = value as u8;
            return;
        }
        let n = unsigned_varint_len(value);
        let end = self.buf.len();
        self.buf.extend_from_slice(&[0u8; 4][..n - 1]);
        self.buf.copy_within(at + 1..end, at + n);
        let mut v = value;
        for i in 0..n {
            let last = i + 1 == n;
            self.buf[at + i] = if last { v as u8 } else { (v as u8) | 0x80 };
            v >>= 7;
        }
    }

    #[inline]
    pub(crate) fn enter_tagged(&mut self) {
        self.tagged_depth += 1;
    }

    #[inline]
    pub(crate) fn leave_tagged(&mut self) {
        self.tagged_depth -= 1;
    }

    /// Ends a segmented write: the by-reference pieces recorded so far.
    pub(crate) fn take_refs(&mut self) -> Vec<(usize, Bytes)> {
        self.by_ref.take().unwrap_or_default()
    }
}

/// An encoded message in pieces: the encoder's own bytes interleaved with
/// the records and `zeroCopy` bytes values of the message, referenced, not
/// copied. Write them in order with vectored I/O
/// ([`Segments::io_slices`]); their concatenation is exactly what
/// [`crate::Message::encode`] writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segments {
    parts: Vec<Bytes>,
    len: usize,
}

impl Segments {
    pub(crate) fn from_parts(mut head: BytesMut, refs: Vec<(usize, Bytes)>) -> Segments {
        let mut parts = Vec::with_capacity(refs.len() * 2 + 1);
        let mut len = 0;
        let mut done = 0;
        for (at, bytes) in refs {
            let piece = head.split_to(at - done).freeze();
            done = at;
            if !piece.is_empty() {
                len += piece.len();
                parts.push(piece);
            }
            len += bytes.len();
            parts.push(bytes);
        }
        if !head.is_empty() {
            len += head.len();
            parts.push(head.freeze());
        }
        Segments { parts, len }
    }

    /// Total encoded length.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces, in order.
    pub fn parts(&self) -> &[Bytes] {
        &self.parts
    }

    pub fn into_parts(self) -> Vec<Bytes> {
        self.parts
    }

    /// The pieces as `IoSlice`s for `write_vectored`.
    pub fn io_slices(&self) -> Vec<std::io::IoSlice<'_>> {
        self.parts
            .iter()
            .map(|p| std::io::IoSlice::new(p))
            .collect()
    }

    /// Everything in one buffer (copies).
    pub fn to_bytes(&self) -> Bytes {
        if self.parts.len() == 1 {
            return self.parts[0].clone();
        }
        let mut b = BytesMut::with_capacity(self.len);
        for p in &self.parts {
            b.extend_from_slice(p);
        }
        b.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patched_varint_moves_what_follows() {
        let mut buf = BytesMut::new();
        let mut w = Writer::new(&mut buf);
        w.array([9]);
        let at = w.placeholder();
        w.slice(&[7u8; 300]);
        w.patch_varint(at, 300);
        assert_eq!(buf.len(), 1 + 2 + 300);
        assert_eq!(&buf[..3], &[9, 0xac, 0x02]);
        assert!(buf[3..].iter().all(|&b| b == 7));
    }

    #[test]
    fn segments_interleave_own_bytes_and_references() {
        let mut buf = BytesMut::new();
        let mut w = Writer::segmented(&mut buf);
        let big = Bytes::from_static(b"records!");
        w.array([1, 2]);
        w.shared(&big);
        w.array([3]);
        w.shared(&big);
        let refs = w.take_refs();
        let s = Segments::from_parts(buf, refs);
        assert_eq!(s.parts().len(), 4);
        assert_eq!(s.len(), 2 + 8 + 1 + 8);
        assert_eq!(&s.to_bytes()[..], b"\x01\x02records!\x03records!");
        // The references share the caller's buffer.
        assert_eq!(s.parts()[1].as_ptr(), big.as_ptr());
    }
}
