//! Value generators for tests (the `testing` feature): every generated
//! struct implements [`Generate`] on top of [`Gen`], and every message has
//! `arbitrary(g, version)`.
//!
//! A small seeded generator rather than proptest strategies: one function
//! per struct keeps the generated crate quick to compile, and a proptest
//! test drives it by seed, so failures still come with a reproducible seed.

use bytes::Bytes;
use bytestring::ByteString;

use crate::uuid::Uuid;
use crate::wire::{Cx, UnknownTaggedFields};

/// A seeded generator of protocol values.
#[derive(Debug, Clone)]
pub struct Gen {
    state: u64,
    depth: u32,
    /// Largest array length at the top level (shrinks with nesting).
    pub max_array: usize,
    /// Longest string or bytes value.
    pub max_len: usize,
    /// Add unknown tagged fields to flexible structs.
    pub unknown_tags: bool,
    /// Produce records fields (random bytes); when false they stay empty.
    pub records: bool,
    /// Allow NaN and infinities in float64 fields.
    pub special_floats: bool,
    /// The adversarial shape of [`Gen::smallest`]: array lengths by depth.
    smallest: Option<Vec<usize>>,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
            depth: 0,
            max_array: 4,
            max_len: 12,
            unknown_tags: true,
            records: true,
            special_floats: false,
            smallest: None,
        }
    }

    /// The shape that makes decoding allocate the most per input byte:
    /// every value as small as the wire allows (zero, empty, null where the
    /// version allows it), arrays of `lengths[depth]` elements (1 below the
    /// listed depths), and one empty unknown tagged field on every flexible
    /// struct. For the decoder memory tests.
    pub fn smallest(lengths: Vec<usize>) -> Gen {
        Gen {
            smallest: Some(lengths),
            ..Gen::new(0)
        }
    }

    /// splitmix64.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Edge values come up often: they are where codecs break.
    fn int(&mut self, edges: &[i64], lo: i64, hi: i64) -> i64 {
        if self.smallest.is_some() {
            return 0;
        }
        match self.below(4) {
            0 => edges[self.below(edges.len())],
            1 => (self.below(256) as i64).clamp(lo, hi),
            _ => {
                let span = (hi as i128 - lo as i128 + 1) as u128;
                (lo as i128 + (self.next_u64() as u128 % span) as i128) as i64
            }
        }
    }

    pub fn bool(&mut self) -> bool {
        self.smallest.is_none() && self.next_u64() & 1 == 1
    }
    pub fn i8(&mut self) -> i8 {
        self.int(
            &[0, -1, 1, i8::MIN.into(), i8::MAX.into()],
            i8::MIN.into(),
            i8::MAX.into(),
        ) as i8
    }
    pub fn i16(&mut self) -> i16 {
        self.int(
            &[0, -1, 1, i16::MIN.into(), i16::MAX.into()],
            i16::MIN.into(),
            i16::MAX.into(),
        ) as i16
    }
    pub fn u16(&mut self) -> u16 {
        self.int(&[0, 1, u16::MAX.into()], 0, u16::MAX.into()) as u16
    }
    pub fn i32(&mut self) -> i32 {
        self.int(
            &[0, -1, 1, i32::MIN.into(), i32::MAX.into()],
            i32::MIN.into(),
            i32::MAX.into(),
        ) as i32
    }
    pub fn u32(&mut self) -> u32 {
        self.int(&[0, 1, u32::MAX.into()], 0, u32::MAX.into()) as u32
    }
    pub fn i64(&mut self) -> i64 {
        self.int(&[0, -1, 1, i64::MIN, i64::MAX], i64::MIN, i64::MAX)
    }
    pub fn f64(&mut self) -> f64 {
        if self.smallest.is_some() {
            return 0.0;
        }
        if self.special_floats && self.below(8) == 0 {
            return [f64::INFINITY, f64::NEG_INFINITY, -0.0][self.below(3)];
        }
        match self.below(3) {
            0 => 0.0,
            1 => self.i32() as f64 / 8.0,
            _ => {
                f64::from_bits(self.next_u64() & !(0x7ff << 52) | (0x3ff << 52)) * self.i16() as f64
            }
        }
    }
    pub fn uuid(&mut self) -> Uuid {
        if self.smallest.is_some() || self.below(4) == 0 {
            Uuid::ZERO
        } else {
            Uuid::from_u128((u128::from(self.next_u64()) << 64) | u128::from(self.next_u64()))
        }
    }
    /// Whether to make a nullable value null.
    pub fn null(&mut self) -> bool {
        self.smallest.is_some() || self.below(4) == 0
    }

    pub fn string(&mut self) -> ByteString {
        if self.smallest.is_some() {
            return ByteString::new();
        }
        const CHARS: &[&str] = &["a", "b", "Z", "0", "-", ".", "_", " ", "é", "ß", "日", "🦀"];
        let n = self.below(self.max_len + 1);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(CHARS[self.below(CHARS.len())]);
        }
        ByteString::from(s)
    }

    pub fn bytes(&mut self) -> Bytes {
        if self.smallest.is_some() {
            return Bytes::new();
        }
        let n = self.below(self.max_len + 1);
        Bytes::from((0..n).map(|_| self.next_u64() as u8).collect::<Vec<u8>>())
    }

    pub fn records(&mut self) -> Bytes {
        if self.records {
            self.bytes()
        } else {
            Bytes::new()
        }
    }

    /// An array length that shrinks with nesting depth.
    pub fn array_len(&mut self) -> usize {
        if let Some(lengths) = &self.smallest {
            return lengths.get(self.depth as usize).copied().unwrap_or(1);
        }
        let max = self.max_array >> self.depth.min(8);
        self.below(max + 1)
    }

    pub fn enter(&mut self) {
        self.depth += 1;
    }
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Unknown tagged fields with tags from `first_free` up.
    pub fn unknown_tagged_fields(&mut self, first_free: u32) -> UnknownTaggedFields {
        let mut u = UnknownTaggedFields::default();
        if self.smallest.is_some() {
            u.insert(first_free, Bytes::new());
            return u;
        }
        if self.unknown_tags && self.below(3) == 0 {
            for _ in 0..1 + self.below(2) {
                let tag = first_free + self.below(200) as u32;
                let v = self.bytes();
                u.insert(tag, v);
            }
        }
        u
    }
}

/// A value valid at a version, drawn from a [`Gen`]. Implemented here for
/// the wire types and by the generator for every struct.
pub trait Generate: Sized {
    fn generate(g: &mut Gen, cx: Cx) -> Self;
}

impl Gen {
    /// A value of any wire type valid at `cx.version`.
    pub fn value<T: Generate>(&mut self, cx: Cx) -> T {
        T::generate(self, cx)
    }
}

macro_rules! generate_with {
    ($($t:ty => $f:ident),*) => {$(
        impl Generate for $t {
            fn generate(g: &mut Gen, _cx: Cx) -> Self {
                g.$f()
            }
        }
    )*};
}

generate_with!(
    bool => bool, i8 => i8, i16 => i16, u16 => u16, i32 => i32, u32 => u32, i64 => i64,
    f64 => f64, Uuid => uuid, ByteString => string, Bytes => bytes
);

/// Arrays shrink with nesting depth.
impl<T: Generate> Generate for Vec<T> {
    fn generate(g: &mut Gen, cx: Cx) -> Self {
        let n = g.array_len();
        g.enter();
        let v = (0..n).map(|_| T::generate(g, cx)).collect();
        g.leave();
        v
    }
}
