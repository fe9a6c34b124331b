//! `Encodable`/`Decodable` for every wire type, so a generated field is one
//! call and its Rust type picks the encoding:
//!
//! | Rust type | wire type |
//! | --- | --- |
//! | `bool`, `i8`, `i16`, `u16`, `i32`, `u32`, `i64`, `f64`, `Uuid` | fixed width, big-endian |
//! | `StrBytes` / `Option<StrBytes>` | (nullable) string: `int16` length, compact `uvarint(n+1)` |
//! | `Bytes` / `Option<Bytes>` | (nullable) bytes or records: `int32` length, compact `uvarint(n+1)` |
//! | `Vec<T>` / `Option<Vec<T>>` | (nullable) array: `int32` count, compact `uvarint(n+1)` |
//! | a generated struct | its fields (generated) |
//!
//! Nullable structs (KIP-893: an `int8` marker) and values that are
//! nullable only in some versions go through the helpers at the bottom.

use bytes::Bytes;
use bytestring::ByteString;

use super::write::{length_fits, length_len};
use super::{Cx, Reader, Writer};
use crate::error::{DecodeError, EncodeError, EncodeErrorKind};
use crate::uuid::Uuid;
use crate::{Decodable, Encodable};

#[cold]
fn too_long(length: usize) -> EncodeError {
    EncodeError::new(EncodeErrorKind::TooLong { length })
}

#[cold]
fn null_not_allowed(cx: Cx) -> EncodeError {
    EncodeError::new(EncodeErrorKind::NullNotAllowed {
        version: cx.version,
    })
}

#[inline]
fn put_length(w: &mut Writer<'_>, len: Option<usize>, compact: bool, wide: bool) {
    match (len, compact) {
        (None, true) => w.array([0]),
        (Some(n), true) => w.unsigned_varint((n as u32).wrapping_add(1)),
        (None, false) if wide => w.array((-1i32).to_be_bytes()),
        (None, false) => w.array((-1i16).to_be_bytes()),
        (Some(n), false) if wide => w.array((n as i32).to_be_bytes()),
        (Some(n), false) => w.array((n as i16).to_be_bytes()),
    }
}

#[inline]
fn checked_len(len: usize, compact: bool, wide: bool) -> Result<usize, EncodeError> {
    if length_fits(len, compact, wide) {
        Ok(length_len(Some(len), compact, wide))
    } else {
        Err(too_long(len))
    }
}

// ------------------------------------------------------------ fixed width

/// A fixed-width value: written big-endian into a run buffer.
pub trait Fixed: Copy {
    const WIDTH: usize;
    fn put_be(self, out: &mut [u8]);
}

macro_rules! fixed_int {
    ($($t:ty => $read:ident),*) => {$(
        impl Fixed for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn put_be(self, out: &mut [u8]) {
                out[..Self::WIDTH].copy_from_slice(&self.to_be_bytes());
            }
        }

        impl Encodable for $t {
            const FIXED_SIZE: Option<usize> = Some(<$t as Fixed>::WIDTH);

            #[inline]
            fn size(&self, _cx: Cx) -> Result<usize, EncodeError> {
                Ok(<$t as Fixed>::WIDTH)
            }

            #[inline]
            fn write(&self, w: &mut Writer<'_>, _cx: Cx) {
                w.array(self.to_be_bytes());
            }
        }

        impl Decodable for $t {
            const MIN_SIZE: usize = <$t as Fixed>::WIDTH;

            #[inline]
            fn read(r: &mut Reader, _cx: Cx) -> Result<Self, DecodeError> {
                r.$read()
            }

            /// The count was checked against the input: one bounds check
            /// for the whole array. Inlined: most such arrays are a few
            /// elements (replicas, ISR, partitions), where the call itself
            /// was a fifth of the work.
            #[inline(always)]
            fn read_array(r: &mut Reader, n: usize, _cx: Cx) -> Result<Vec<Self>, DecodeError> {
                const W: usize = <$t as Fixed>::WIDTH;
                let mut v = r.vec_with_capacity(n)?;
                let raw = r.raw(n.saturating_mul(W))?;
                v.extend(raw.chunks_exact(W).map(|c| {
                    let mut a = [0u8; W];
                    a.copy_from_slice(c);
                    <$t>::from_be_bytes(a)
                }));
                Ok(v)
            }
        }
    )*};
}

fixed_int!(i8 => i8, i16 => i16, u16 => u16, i32 => i32, u32 => u32, i64 => i64, f64 => f64);

impl Fixed for bool {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn put_be(self, out: &mut [u8]) {
        out[0] = u8::from(self);
    }
}

impl Encodable for bool {
    const FIXED_SIZE: Option<usize> = Some(1);

    #[inline]
    fn size(&self, _cx: Cx) -> Result<usize, EncodeError> {
        Ok(1)
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, _cx: Cx) {
        w.array([u8::from(*self)]);
    }
}

impl Decodable for bool {
    const MIN_SIZE: usize = 1;

    #[inline]
    fn read(r: &mut Reader, _cx: Cx) -> Result<Self, DecodeError> {
        r.bool()
    }
}

impl Fixed for Uuid {
    const WIDTH: usize = 16;
    #[inline(always)]
    fn put_be(self, out: &mut [u8]) {
        out[..16].copy_from_slice(&self.0);
    }
}

impl Encodable for Uuid {
    const FIXED_SIZE: Option<usize> = Some(16);

    #[inline]
    fn size(&self, _cx: Cx) -> Result<usize, EncodeError> {
        Ok(16)
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, _cx: Cx) {
        w.array(self.0);
    }
}

impl Decodable for Uuid {
    const MIN_SIZE: usize = 16;

    #[inline]
    fn read(r: &mut Reader, _cx: Cx) -> Result<Self, DecodeError> {
        r.uuid()
    }
}

/// A run of consecutive fixed-width fields, written as one array instead
/// of one append per field (`w.fixed((self.a, self.b, self.c))`).
pub trait FixedRun {
    fn write_run(self, w: &mut Writer<'_>);
}

macro_rules! fixed_run {
    ($($n:ident),+) => {
        impl<$($n: Fixed),+> FixedRun for ($($n,)+) {
            #[inline]
            #[allow(non_snake_case)]
            fn write_run(self, w: &mut Writer<'_>) {
                const MAX: usize = 128;
                let ($($n,)+) = self;
                let mut buf = [0u8; MAX];
                let mut at = 0;
                $(
                    $n.put_be(&mut buf[at..]);
                    at += <$n as Fixed>::WIDTH;
                )+
                w.slice(&buf[..at]);
            }
        }
    };
}

fixed_run!(A, B);
fixed_run!(A, B, C);
fixed_run!(A, B, C, D);
fixed_run!(A, B, C, D, E);
fixed_run!(A, B, C, D, E, F);
fixed_run!(A, B, C, D, E, F, G);
fixed_run!(A, B, C, D, E, F, G, H);

// ------------------------------------------------------------ strings

impl Encodable for ByteString {
    #[inline]
    fn size(&self, cx: Cx) -> Result<usize, EncodeError> {
        Ok(checked_len(self.len(), cx.flexible, false)? + self.len())
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, cx: Cx) {
        put_length(w, Some(self.len()), cx.flexible, false);
        w.slice(self.as_bytes());
    }
}

impl Decodable for ByteString {
    const MIN_SIZE: usize = 1;

    #[inline]
    fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError> {
        r.string(cx.flexible)
    }
}

impl Encodable for Option<ByteString> {
    #[inline]
    fn size(&self, cx: Cx) -> Result<usize, EncodeError> {
        match self {
            Some(s) => s.size(cx),
            None => Ok(length_len(None, cx.flexible, false)),
        }
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, cx: Cx) {
        match self {
            Some(s) => s.write(w, cx),
            None => put_length(w, None, cx.flexible, false),
        }
    }
}

impl Decodable for Option<ByteString> {
    const MIN_SIZE: usize = 1;

    #[inline]
    fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError> {
        r.nullable_string(cx.flexible)
    }
}

// ------------------------------------------------------------ bytes

impl Encodable for Bytes {
    #[inline]
    fn size(&self, cx: Cx) -> Result<usize, EncodeError> {
        Ok(checked_len(self.len(), cx.flexible, true)? + self.len())
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, cx: Cx) {
        put_length(w, Some(self.len()), cx.flexible, true);
        w.slice(self);
    }
}

impl Decodable for Bytes {
    const MIN_SIZE: usize = 1;

    #[inline]
    fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError> {
        r.bytes(cx.flexible)
    }
}

impl Encodable for Option<Bytes> {
    #[inline]
    fn size(&self, cx: Cx) -> Result<usize, EncodeError> {
        match self {
            Some(b) => b.size(cx),
            None => Ok(length_len(None, cx.flexible, true)),
        }
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, cx: Cx) {
        match self {
            Some(b) => b.write(w, cx),
            None => put_length(w, None, cx.flexible, true),
        }
    }
}

impl Decodable for Option<Bytes> {
    const MIN_SIZE: usize = 1;

    #[inline]
    fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError> {
        r.nullable_bytes(cx.flexible)
    }
}

/// Records and `zeroCopy` bytes: the same encoding as bytes, but a
/// segmented encode keeps the value by reference.
pub trait ByRef {
    fn write_by_ref(&self, w: &mut Writer<'_>, cx: Cx);
}

impl ByRef for Bytes {
    #[inline]
    fn write_by_ref(&self, w: &mut Writer<'_>, cx: Cx) {
        put_length(w, Some(self.len()), cx.flexible, true);
        w.shared(self);
    }
}

impl ByRef for Option<Bytes> {
    #[inline]
    fn write_by_ref(&self, w: &mut Writer<'_>, cx: Cx) {
        match self {
            Some(b) => b.write_by_ref(w, cx),
            None => put_length(w, None, cx.flexible, true),
        }
    }
}

// ------------------------------------------------------------ arrays

#[inline]
fn elements_size<T: Encodable>(v: &[T], cx: Cx) -> Result<usize, EncodeError> {
    if let Some(width) = T::FIXED_SIZE {
        return Ok(v.len() * width);
    }
    let mut n = 0;
    for (i, e) in v.iter().enumerate() {
        n += e.size(cx).map_err(|err| err.at_index(i))?;
    }
    Ok(n)
}

impl<T: Encodable> Encodable for Vec<T> {
    #[inline]
    fn size(&self, cx: Cx) -> Result<usize, EncodeError> {
        Ok(checked_len(self.len(), cx.flexible, true)? + elements_size(self, cx)?)
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, cx: Cx) {
        put_length(w, Some(self.len()), cx.flexible, true);
        for e in self {
            e.write(w, cx);
        }
    }
}

impl<T: Decodable> Decodable for Vec<T> {
    const MIN_SIZE: usize = 1;

    // Inlined into the struct that holds the array: out of line, the call
    // with its `Result` through memory cost about a third of a small
    // `int32` array's decode (callgrind, MetadataResponse).
    #[inline(always)]
    fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError> {
        let n = r.array_len(cx.flexible, T::MIN_SIZE)?;
        T::read_array(r, n, cx)
    }
}

impl<T: Encodable> Encodable for Option<Vec<T>> {
    #[inline]
    fn size(&self, cx: Cx) -> Result<usize, EncodeError> {
        match self {
            Some(v) => v.size(cx),
            None => Ok(length_len(None, cx.flexible, true)),
        }
    }

    #[inline]
    fn write(&self, w: &mut Writer<'_>, cx: Cx) {
        match self {
            Some(v) => v.write(w, cx),
            None => put_length(w, None, cx.flexible, true),
        }
    }
}

impl<T: Decodable> Decodable for Option<Vec<T>> {
    const MIN_SIZE: usize = 1;

    #[inline]
    fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError> {
        match r.nullable_array_len(cx.flexible, T::MIN_SIZE)? {
            None => Ok(None),
            Some(n) => T::read_array(r, n, cx).map(Some),
        }
    }
}

// ------------------------------------------------------------ helpers

/// Size of field `field`'s value (the generated size pass, one call per
/// field; an error names the field).
#[inline]
pub fn size<T: Encodable + ?Sized>(
    v: &T,
    cx: Cx,
    field: &'static str,
) -> Result<usize, EncodeError> {
    v.size(cx).map_err(|e| e.in_field(field))
}

/// Size of a nullable type at a version where it may not be null.
#[inline]
pub fn size_some<T: Encodable>(
    v: &Option<T>,
    cx: Cx,
    field: &'static str,
) -> Result<usize, EncodeError> {
    match v {
        Some(v) => size(v, cx, field),
        None => Err(null_not_allowed(cx).in_field(field)),
    }
}

/// Size of a nullable struct (KIP-893): the marker byte and the struct.
#[inline]
pub fn nullable_struct_size<T: Encodable>(
    v: &Option<T>,
    cx: Cx,
    field: &'static str,
) -> Result<usize, EncodeError> {
    match v {
        Some(v) => Ok(1 + size(v, cx, field)?),
        None => Ok(1),
    }
}

/// Reads a nullable struct (KIP-893): an `int8` marker, negative for null.
#[inline]
pub fn read_nullable_struct<T: Decodable>(
    r: &mut Reader,
    cx: Cx,
) -> Result<Option<T>, DecodeError> {
    if r.i8()? < 0 {
        Ok(None)
    } else {
        T::read(r, cx).map(Some)
    }
}

// ------------------------------------------------------------ structs

/// A generated struct, decoded in place: into a value that starts as the
/// struct's default, which is what a field absent in a version keeps (the
/// generator writes the schema's defaults into both).
///
/// In place, an array of structs is read straight into its vector's slots:
/// a value returned through `Result<Self>` was copied twice (into the
/// result, then into the vector), a third of a small struct's decode
/// (callgrind, MetadataResponse partitions; BENCHMARKS.md).
///
/// Every `ReadInto` is [`Decodable`] through the impl below, so the
/// generated code holds only the field reads.
pub trait ReadInto: Default {
    /// [`Decodable::MIN_SIZE`].
    const MIN_SIZE: usize;

    /// Reads the fields present at `cx` over `self`'s defaults. On an error
    /// `self` is left partly read; callers drop it.
    fn read_into(&mut self, r: &mut Reader, cx: Cx) -> Result<(), DecodeError>;
}

impl<T: ReadInto> Decodable for T {
    const MIN_SIZE: usize = <T as ReadInto>::MIN_SIZE;

    #[inline]
    fn read(r: &mut Reader, cx: Cx) -> Result<T, DecodeError> {
        let mut this = T::default();
        this.read_into(r, cx)?;
        Ok(this)
    }

    /// Each element is read in its slot. `n` was checked against the input
    /// (`Reader::array_len`).
    #[inline]
    fn read_array(r: &mut Reader, n: usize, cx: Cx) -> Result<Vec<T>, DecodeError> {
        let mut v: Vec<T> = r.vec_with_capacity(n)?;
        for i in 0..n {
            v.push(T::default());
            if let Some(slot) = v.last_mut() {
                slot.read_into(r, cx).map_err(|e| e.at_index(i))?;
            }
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn encode<T: Encodable + ?Sized>(v: &T, cx: Cx) -> Vec<u8> {
        let mut buf = BytesMut::new();
        let n = v.size(cx).unwrap();
        let mut w = Writer::new(&mut buf);
        w.put(v, cx);
        assert_eq!(buf.len(), n);
        buf.to_vec()
    }

    #[test]
    fn arrays_strings_and_nulls_match_kafka() {
        let classic = Cx::new(0, false);
        let flexible = Cx::new(9, true);
        assert_eq!(
            encode(&vec![1i32, -1], classic),
            [0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(encode(&vec![7i16], flexible), [2, 0, 7]);
        assert_eq!(encode(&None::<Vec<i32>>, flexible), [0]);
        assert_eq!(encode(&None::<Vec<i32>>, classic), [0xff; 4]);
        assert_eq!(encode(&ByteString::from("ab"), classic), [0, 2, b'a', b'b']);
        assert_eq!(encode(&None::<ByteString>, classic), [0xff, 0xff]);
        assert_eq!(encode(&Some(Bytes::from_static(b"z")), flexible), [2, b'z']);
        let mut r = Reader::new(Bytes::from(encode(&vec![3i64, 4], flexible)));
        assert_eq!(r.read::<Vec<i64>>(flexible).unwrap(), vec![3, 4]);
        assert!(r.is_empty());
    }

    #[test]
    fn a_run_of_fixed_fields_is_one_array() {
        let mut buf = BytesMut::new();
        let mut w = Writer::new(&mut buf);
        w.fixed((1i16, true, 0x0102_0304u32, Uuid::ZERO));
        assert_eq!(&buf[..7], &[0, 1, 1, 1, 2, 3, 4]);
        assert_eq!(buf.len(), 2 + 1 + 4 + 16);
    }

    #[test]
    fn null_where_the_version_forbids_it_is_an_encode_error() {
        let e = size_some(&None::<ByteString>, Cx::new(2, false), "Name").unwrap_err();
        assert_eq!(e.kind(), &EncodeErrorKind::NullNotAllowed { version: 2 });
        assert_eq!(e.field(), Some("Name"));
    }
}
