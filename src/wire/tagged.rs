//! Tagged-field sections (KIP-482).

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use super::write::{put_unsigned_varint, unsigned_varint_len};

/// Tagged fields this build does not know, kept as raw bytes and written
/// back in tag order, so a proxy or a newer peer loses nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnknownTaggedFields(pub BTreeMap<u32, Bytes>);

impl UnknownTaggedFields {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn insert(&mut self, tag: u32, value: Bytes) -> Option<Bytes> {
        self.0.insert(tag, value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&u32, &Bytes)> {
        self.0.iter()
    }

    /// Encoded size of these fields as (tag, size, bytes) triples.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        // Almost always empty: skip the iterator on the hot path.
        if self.0.is_empty() {
            return 0;
        }
        self.0
            .iter()
            .map(|(tag, v)| {
                unsigned_varint_len(*tag) + unsigned_varint_len(v.len() as u32) + v.len()
            })
            .sum()
    }
}

/// Writes one tagged field's `tag` and `size` header.
#[inline]
pub fn put_tag_header(buf: &mut BytesMut, tag: u32, size: usize) {
    put_unsigned_varint(buf, tag);
    put_unsigned_varint(buf, size as u32);
}

#[inline]
pub const fn tag_header_len(tag: u32, size: usize) -> usize {
    unsigned_varint_len(tag) + unsigned_varint_len(size as u32)
}

/// Writes an unknown field verbatim.
#[inline]
pub fn put_raw_tagged(buf: &mut BytesMut, tag: u32, value: &Bytes) {
    put_tag_header(buf, tag, value.len());
    buf.extend_from_slice(value);
}
