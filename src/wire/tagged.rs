//! Tagged-field sections (KIP-482): `uvarint count`, then per field
//! `uvarint tag`, `uvarint size` and the value.
//!
//! The generated code names the known tags; these helpers do the rest:
//! [`TaggedReader`] walks a section (each value in a window of exactly its
//! declared size), [`TaggedSize`] sizes one, [`TaggedWriter`] writes one
//! with unknown fields merged in tag order, as Kafka's
//! `RawTaggedFieldWriter` does.

use bytes::Bytes;

use super::write::unsigned_varint_len;
use super::{Cx, Reader, Writer};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind};
use crate::{Decodable, Encodable};

/// One tagged field this build does not know: its tag and raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTaggedField {
    pub tag: u32,
    pub data: Bytes,
}

/// Tagged fields this build does not know, kept as raw bytes and written
/// back in tag order, so a proxy or a newer peer loses nothing.
///
/// Absent (the usual case) it allocates nothing; present, it is one vector
/// sized for the section that held the fields. Ordered by tag; a tag that
/// came twice in one section is kept twice, in arrival order, as Kafka's
/// Java codec keeps its `RawTaggedField` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnknownTaggedFields(Vec<RawTaggedField>);

impl UnknownTaggedFields {
    pub const fn new() -> Self {
        UnknownTaggedFields(Vec::new())
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// In tag order.
    pub fn iter(&self) -> std::slice::Iter<'_, RawTaggedField> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[RawTaggedField] {
        &self.0
    }

    /// The value of the first field with `tag`.
    pub fn get(&self, tag: u32) -> Option<&Bytes> {
        self.0.iter().find(|f| f.tag == tag).map(|f| &f.data)
    }

    /// Sets the value of `tag` (its first field), returning the value it
    /// replaces.
    pub fn insert(&mut self, tag: u32, data: Bytes) -> Option<Bytes> {
        let i = self.0.partition_point(|f| f.tag < tag);
        match self.0.get_mut(i) {
            Some(f) if f.tag == tag => Some(std::mem::replace(&mut f.data, data)),
            _ => {
                self.0.insert(i, RawTaggedField { tag, data });
                None
            }
        }
    }

    /// Adds a field after any with the same tag (the decoder's order).
    pub fn push(&mut self, tag: u32, data: Bytes) {
        let at = self.0.partition_point(|f| f.tag <= tag);
        self.0.insert(at, RawTaggedField { tag, data });
    }

    /// Removes every field with `tag`, returning the first value.
    pub fn remove(&mut self, tag: u32) -> Option<Bytes> {
        let first = self.get(tag).cloned();
        self.0.retain(|f| f.tag != tag);
        first
    }

    /// Encoded size of these fields as (tag, size, bytes) triples.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        self.0
            .iter()
            .map(|f| tag_header_len(f.tag, f.data.len()) + f.data.len())
            .sum()
    }
}

impl<'a> IntoIterator for &'a UnknownTaggedFields {
    type Item = &'a RawTaggedField;
    type IntoIter = std::slice::Iter<'a, RawTaggedField>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<(u32, Bytes)> for UnknownTaggedFields {
    fn from_iter<I: IntoIterator<Item = (u32, Bytes)>>(iter: I) -> Self {
        let mut u = UnknownTaggedFields::new();
        for (tag, data) in iter {
            u.push(tag, data);
        }
        u
    }
}

#[inline]
pub const fn tag_header_len(tag: u32, size: usize) -> usize {
    unsigned_varint_len(tag) + unsigned_varint_len(size as u32)
}

// ------------------------------------------------------------ reading

/// Walks one tagged-field section of a [`Reader`].
#[derive(Debug)]
pub struct TaggedReader {
    left: u32,
    /// The reader's end outside the current field's window.
    outer: usize,
    tag: u32,
    size: usize,
}

impl TaggedReader {
    /// Reads the field count.
    #[inline]
    pub fn begin(r: &mut Reader) -> Result<Self, DecodeError> {
        let start = r.offset();
        let left = r.unsigned_varint().map_err(section)?;
        // Each field takes at least two bytes (tag and size): a count the
        // input cannot hold fails before anything is read or allocated.
        if (left as usize).saturating_mul(2) > r.remaining() {
            return Err(section(DecodeError::new(
                DecodeErrorKind::LengthExceedsInput {
                    length: u64::from(left),
                    remaining: r.remaining(),
                },
                start,
            )));
        }
        Ok(TaggedReader {
            left,
            outer: 0,
            tag: 0,
            size: 0,
        })
    }

    /// The next field's tag, its value now the reader's whole window; the
    /// caller reads it with [`TaggedReader::field`] or keeps it with
    /// [`TaggedReader::unknown`].
    ///
    /// Most sections are empty: that check is inlined into every struct's
    /// decoder, the field header is read out of line.
    #[inline(always)]
    pub fn next(&mut self, r: &mut Reader) -> Result<Option<u32>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.next_field(r)
    }

    #[inline(never)]
    fn next_field(&mut self, r: &mut Reader) -> Result<Option<u32>, DecodeError> {
        self.left -= 1;
        self.tag = r.unsigned_varint().map_err(section)?;
        self.size = r.unsigned_varint().map_err(section)? as usize;
        self.outer = r.open_window(self.size).map_err(section)?;
        Ok(Some(self.tag))
    }

    /// Reads known field `field`, whose value must fill its declared size.
    #[inline]
    pub fn field<T: Decodable>(
        &mut self,
        r: &mut Reader,
        cx: Cx,
        field: &'static str,
    ) -> Result<T, DecodeError> {
        let v = T::read(r, cx).and_then(|v| self.close(r).map(|()| v));
        v.map_err(|e| e.in_field(field))
    }

    /// Reads known nullable struct (KIP-893) field `field`.
    #[inline]
    pub fn nullable_struct_field<T: Decodable>(
        &mut self,
        r: &mut Reader,
        cx: Cx,
        field: &'static str,
    ) -> Result<Option<T>, DecodeError> {
        let v = super::read_nullable_struct(r, cx).and_then(|v| self.close(r).map(|()| v));
        v.map_err(|e| e.in_field(field))
    }

    #[inline]
    fn close(&mut self, r: &mut Reader) -> Result<(), DecodeError> {
        if !r.is_empty() {
            return Err(r.error(DecodeErrorKind::TaggedFieldSize {
                tag: self.tag,
                declared: self.size,
                used: self.size - r.remaining(),
            }));
        }
        r.close_window(self.outer);
        Ok(())
    }

    /// Keeps an unknown field's raw value.
    #[inline]
    pub fn unknown(
        &mut self,
        r: &mut Reader,
        into: &mut UnknownTaggedFields,
    ) -> Result<(), DecodeError> {
        let data = r.take(self.size).map_err(section)?;
        r.close_window(self.outer);
        if into.0.capacity() == into.0.len() {
            // Room for this field and every one left in the section, charged
            // to the budget; growth is not needed after this.
            let extra = self.left as usize + 1;
            r.charge(extra.saturating_mul(std::mem::size_of::<RawTaggedField>()))
                .map_err(section)?;
            into.0.reserve_exact(extra);
        }
        into.push(self.tag, data);
        Ok(())
    }
}

#[cold]
fn section(e: DecodeError) -> DecodeError {
    e.in_field("_tagged_fields")
}

// ------------------------------------------------------------ sizing

/// Sizes one tagged-field section: the unknown fields, then each known one
/// the generated code adds.
#[derive(Debug)]
pub struct TaggedSize {
    count: usize,
    bytes: usize,
}

impl TaggedSize {
    /// Starts with the unknown fields; `known` are the tags this struct
    /// knows at this version, which an unknown field may not reuse.
    #[inline]
    pub fn new(unknown: &UnknownTaggedFields, known: &[u32]) -> Result<Self, EncodeError> {
        if unknown.is_empty() {
            return Ok(TaggedSize { count: 0, bytes: 0 });
        }
        if let Some(f) = unknown.iter().find(|f| known.contains(&f.tag)) {
            return Err(
                EncodeError::new(EncodeErrorKind::UnknownTagIsKnown { tag: f.tag })
                    .in_field("_tagged_fields"),
            );
        }
        Ok(TaggedSize {
            count: unknown.len(),
            bytes: unknown.encoded_len(),
        })
    }

    /// Adds known field `field` (tag `tag`) with value `v`.
    #[inline]
    pub fn add<T: Encodable + ?Sized>(
        &mut self,
        tag: u32,
        v: &T,
        cx: Cx,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        let n = super::size(v, cx, field)?;
        self.add_size(tag, n);
        Ok(())
    }

    /// Adds a known field of a nullable type at versions where it may not
    /// be null.
    #[inline]
    pub fn add_some<T: Encodable>(
        &mut self,
        tag: u32,
        v: &Option<T>,
        cx: Cx,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        let n = super::size_some(v, cx, field)?;
        self.add_size(tag, n);
        Ok(())
    }

    /// Adds a known nullable struct (KIP-893) field.
    #[inline]
    pub fn add_nullable_struct<T: Encodable>(
        &mut self,
        tag: u32,
        v: &Option<T>,
        cx: Cx,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        let n = super::nullable_struct_size(v, cx, field)?;
        self.add_size(tag, n);
        Ok(())
    }

    /// Adds a known field whose value takes `n` bytes.
    #[inline]
    pub fn add_size(&mut self, tag: u32, n: usize) {
        self.count += 1;
        self.bytes += tag_header_len(tag, n) + n;
    }

    /// The section's size, count included.
    #[inline]
    pub fn total(&self) -> usize {
        unsigned_varint_len(self.count as u32) + self.bytes
    }
}

// ------------------------------------------------------------ writing

/// Writes one tagged-field section; unknown fields go in between the known
/// ones in tag order. The count and each size are patched in afterwards.
#[derive(Debug)]
pub struct TaggedWriter<'u> {
    count_at: usize,
    count: u32,
    unknown: &'u [RawTaggedField],
}

impl<'u> TaggedWriter<'u> {
    #[inline]
    pub fn begin(w: &mut Writer<'_>, unknown: &'u UnknownTaggedFields) -> Self {
        TaggedWriter {
            count_at: w.placeholder(),
            count: 0,
            unknown: unknown.as_slice(),
        }
    }

    #[inline]
    fn unknown_before(&mut self, w: &mut Writer<'_>, tag: u32) {
        while let Some((f, rest)) = self.unknown.split_first() {
            if f.tag >= tag {
                break;
            }
            w.unsigned_varint(f.tag);
            w.unsigned_varint(f.data.len() as u32);
            w.slice(&f.data);
            self.count += 1;
            self.unknown = rest;
        }
    }

    /// Writes known field `tag` with value `v`.
    #[inline]
    pub fn put<T: Encodable + ?Sized>(&mut self, w: &mut Writer<'_>, tag: u32, v: &T, cx: Cx) {
        self.unknown_before(w, tag);
        w.unsigned_varint(tag);
        let size_at = w.placeholder();
        w.enter_tagged();
        v.write(w, cx);
        w.leave_tagged();
        let size = w.len() - size_at - 1;
        w.patch_varint(size_at, size as u32);
        self.count += 1;
    }

    /// Writes a known field of a nullable struct type at versions where it
    /// may not be null (no marker byte).
    #[inline]
    pub fn put_some<T: Encodable>(&mut self, w: &mut Writer<'_>, tag: u32, v: &Option<T>, cx: Cx) {
        if let Some(v) = v {
            self.put(w, tag, v, cx);
        }
    }

    /// Writes a known nullable struct (KIP-893) field.
    #[inline]
    pub fn put_nullable_struct<T: Encodable>(
        &mut self,
        w: &mut Writer<'_>,
        tag: u32,
        v: &Option<T>,
        cx: Cx,
    ) {
        self.unknown_before(w, tag);
        w.unsigned_varint(tag);
        let size_at = w.placeholder();
        w.enter_tagged();
        w.put_nullable_struct(v, cx);
        w.leave_tagged();
        let size = w.len() - size_at - 1;
        w.patch_varint(size_at, size as u32);
        self.count += 1;
    }

    /// Writes the remaining unknown fields and the count.
    #[inline]
    pub fn finish(mut self, w: &mut Writer<'_>) {
        for f in self.unknown {
            w.unsigned_varint(f.tag);
            w.unsigned_varint(f.data.len() as u32);
            w.slice(&f.data);
            self.count += 1;
        }
        w.patch_varint(self.count_at, self.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    #[test]
    fn unknown_fields_are_ordered_by_tag_and_repeats_are_kept() {
        let mut u = UnknownTaggedFields::new();
        u.push(9, Bytes::from_static(b"b"));
        u.push(2, Bytes::from_static(b"a"));
        u.push(9, Bytes::from_static(b"c"));
        let tags: Vec<(u32, &[u8])> = u.iter().map(|f| (f.tag, &f.data[..])).collect();
        assert_eq!(tags, vec![(2, &b"a"[..]), (9, b"b"), (9, b"c")]);
        assert_eq!(
            u.insert(9, Bytes::from_static(b"d")),
            Some(Bytes::from_static(b"b"))
        );
        assert_eq!(u.remove(9), Some(Bytes::from_static(b"d")));
        assert_eq!(u.len(), 1);
    }

    #[test]
    fn a_section_round_trips_with_known_and_unknown_fields_merged() {
        let cx = Cx::new(3, true);
        let unknown: UnknownTaggedFields = [(1, Bytes::from_static(b"x")), (7, Bytes::new())]
            .into_iter()
            .collect();
        let long = Bytes::from(vec![5u8; 200]);
        let mut size = TaggedSize::new(&unknown, &[0, 4]).unwrap();
        size.add(0, &9i32, cx, "A").unwrap();
        size.add(4, &long, cx, "B").unwrap();

        let mut buf = BytesMut::new();
        let mut w = Writer::new(&mut buf);
        let mut t = TaggedWriter::begin(&mut w, &unknown);
        t.put(&mut w, 0, &9i32, cx);
        t.put(&mut w, 4, &long, cx);
        t.finish(&mut w);
        assert_eq!(buf.len(), size.total());
        // count 4; tag 0 (4 bytes); unknown 1; tag 4 (2-byte length + 200); unknown 7.
        assert_eq!(&buf[..7], &[4, 0, 4, 0, 0, 0, 9]);
        assert_eq!(&buf[7..10], &[1, 1, b'x']);
        assert_eq!(&buf[10..13], &[4, 0xca, 0x01]);

        let mut r = Reader::new(buf.freeze());
        let mut t = TaggedReader::begin(&mut r).unwrap();
        let mut kept = UnknownTaggedFields::new();
        let (mut a, mut b) = (0i32, Bytes::new());
        while let Some(tag) = t.next(&mut r).unwrap() {
            match tag {
                0 => a = t.field(&mut r, cx, "A").unwrap(),
                4 => b = t.field(&mut r, cx, "B").unwrap(),
                _ => t.unknown(&mut r, &mut kept).unwrap(),
            }
        }
        assert!(r.is_empty());
        assert_eq!((a, b, kept), (9, long, unknown));
    }

    #[test]
    fn an_unknown_field_may_not_reuse_a_known_tag() {
        let unknown: UnknownTaggedFields = [(3, Bytes::new())].into_iter().collect();
        let e = TaggedSize::new(&unknown, &[1, 3]).unwrap_err();
        assert_eq!(e.kind(), &EncodeErrorKind::UnknownTagIsKnown { tag: 3 });
    }

    #[test]
    fn a_value_shorter_than_its_declared_size_is_an_error() {
        // count 1, tag 0, size 5, but an int32 takes 4.
        let mut r = Reader::new(Bytes::from_static(&[1, 0, 5, 0, 0, 0, 1, 9]));
        let mut t = TaggedReader::begin(&mut r).unwrap();
        assert_eq!(t.next(&mut r).unwrap(), Some(0));
        let e = t.field::<i32>(&mut r, Cx::new(0, true), "A").unwrap_err();
        assert_eq!(e.field(), Some("A"));
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::TaggedFieldSize {
                tag: 0,
                declared: 5,
                used: 4
            }
        );
    }
}
