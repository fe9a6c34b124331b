//! Which versions a request's content can be encoded at, computed from the
//! value by code generated from the schemas (not kept by hand).
//!
//! Encoding at a version fails when the value holds something that version
//! cannot carry: a non-default value in a non-ignorable field the version
//! lacks, null where the version does not allow it, unknown tagged fields
//! at a version without tagged fields (or reusing a tag the version knows),
//! a length its prefix cannot say, or a version outside `validVersions`.
//! [`EncodeFacts`] answers the same question for every version at once:
//! the generated code mirrors the size pass clause by clause, so
//! [`EncodableVersions::encodable_versions`] is exactly the set of versions
//! at which [`crate::Message::encode`] succeeds (`tests/facts.rs` checks it
//! on arbitrary values).
//!
//! The answer is a [`VersionSet`], not a range: nothing in the rules keeps
//! it an interval (a field that exists in some middle versions only splits
//! it), so a caller picks the highest member inside its negotiated range.
//!
//! Hand-kept rules of this kind fail quietly: an AddPartitionsToTxn request
//! in its client (v3 and below) form was chosen at a broker's v5 and failed
//! to encode, because the rule did not know the v4+ batched form
//! (KIP-890). Java and franz-go keep such rules by hand.

use std::fmt;

use crate::version::VersionRange;
use crate::wire::write::length_fits;
use crate::wire::UnknownTaggedFields;

/// A set of protocol versions `0..=63` (every Kafka API so far stays far
/// below; the generator refuses a schema beyond it).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VersionSet(u64);

impl VersionSet {
    pub const EMPTY: VersionSet = VersionSet(0);
    /// The highest version a set can hold.
    pub const MAX_VERSION: i16 = 63;

    /// `lo..=hi`, clamped to `0..=63`; empty when `lo > hi`.
    pub const fn range(lo: i16, hi: i16) -> VersionSet {
        let lo = if lo < 0 { 0 } else { lo };
        let hi = if hi > Self::MAX_VERSION {
            Self::MAX_VERSION
        } else {
            hi
        };
        if lo > hi {
            return VersionSet::EMPTY;
        }
        let width = (hi - lo + 1) as u32;
        let ones = if width >= 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        VersionSet(ones << lo)
    }

    /// The versions of a [`VersionRange`].
    pub const fn of(r: VersionRange) -> VersionSet {
        VersionSet::range(r.min, r.max)
    }

    /// One version (empty outside `0..=63`).
    pub const fn single(v: i16) -> VersionSet {
        VersionSet::range(v, v)
    }

    /// Bit `v` stands for version `v`.
    pub const fn from_bits(bits: u64) -> VersionSet {
        VersionSet(bits)
    }

    pub const fn bits(self) -> u64 {
        self.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn contains(self, v: i16) -> bool {
        v >= 0 && v <= Self::MAX_VERSION && self.0 & (1u64 << v) != 0
    }

    pub const fn union(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 | other.0)
    }

    pub const fn intersect(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 & other.0)
    }

    /// The versions of `self` not in `other`.
    pub const fn minus(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 & !other.0)
    }

    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    pub fn min(self) -> Option<i16> {
        (!self.is_empty()).then(|| self.0.trailing_zeros() as i16)
    }

    pub fn max(self) -> Option<i16> {
        (!self.is_empty()).then(|| 63 - self.0.leading_zeros() as i16)
    }

    /// The highest member inside `r`: the version to send when `r` is what
    /// the two sides negotiated.
    pub fn highest_in(self, r: VersionRange) -> Option<i16> {
        self.intersect(VersionSet::of(r)).max()
    }

    /// The set as one range, when it is one.
    pub fn as_range(self) -> Option<VersionRange> {
        let (lo, hi) = (self.min()?, self.max()?);
        (VersionSet::range(lo, hi) == self).then_some(VersionRange::new(lo, hi))
    }

    /// The members, lowest first.
    pub fn iter(self) -> impl Iterator<Item = i16> {
        (0..=Self::MAX_VERSION).filter(move |&v| self.contains(v))
    }

    /// Maximal runs of consecutive members, lowest first.
    pub fn runs(self) -> impl Iterator<Item = VersionRange> {
        let mut rest = self;
        std::iter::from_fn(move || {
            let lo = rest.min()?;
            let mut hi = lo;
            while hi < Self::MAX_VERSION && rest.contains(hi + 1) {
                hi += 1;
            }
            rest = rest.minus(VersionSet::range(lo, hi));
            Some(VersionRange::new(lo, hi))
        })
    }
}

impl FromIterator<i16> for VersionSet {
    fn from_iter<I: IntoIterator<Item = i16>>(iter: I) -> Self {
        iter.into_iter()
            .fold(VersionSet::EMPTY, |s, v| s.union(VersionSet::single(v)))
    }
}

impl From<VersionRange> for VersionSet {
    fn from(r: VersionRange) -> Self {
        VersionSet::of(r)
    }
}

/// `none`, `3`, `0-3`, `0-3, 5, 7-9`.
impl fmt::Display for VersionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, r) in self.runs().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for VersionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionSet({self})")
    }
}

/// A value that can say at which versions its encoding fails. Implemented
/// here for the wire types and by the generator for every request struct.
pub trait EncodeFacts {
    /// The versions among `at` at which encoding this value fails, when
    /// `flexible` are the flexible versions (KIP-482: compact lengths and
    /// tagged fields). Nullability depends on the field, not the value, so
    /// the generated code of the enclosing struct checks null itself.
    fn fails_in(&self, at: VersionSet, flexible: VersionSet) -> VersionSet;
}

/// The versions at which a length prefix cannot say `len`: a classic
/// `int16` (strings) or `int32` (bytes, arrays) where not flexible, a
/// compact `uvarint(n+1)` where flexible.
pub fn length_fails(len: usize, wide: bool, at: VersionSet, flexible: VersionSet) -> VersionSet {
    let mut fails = VersionSet::EMPTY;
    if !length_fits(len, false, wide) {
        fails = fails.union(at.minus(flexible));
    }
    if !length_fits(len, true, wide) {
        fails = fails.union(at.intersect(flexible));
    }
    fails
}

/// The versions at which a struct's unknown tagged fields fail: every
/// version without tagged fields, and where a known field uses one of
/// their tags (`known`: each known tag with the versions it is tagged in).
pub fn unknown_tagged_fails(
    unknown: &UnknownTaggedFields,
    at: VersionSet,
    flexible: VersionSet,
    known: &[(u32, VersionSet)],
) -> VersionSet {
    if unknown.is_empty() {
        return VersionSet::EMPTY;
    }
    let mut fails = at.minus(flexible);
    for f in unknown.iter() {
        for &(tag, tagged) in known {
            if tag == f.tag {
                fails = fails.union(at.intersect(flexible).intersect(tagged));
            }
        }
    }
    fails
}

macro_rules! never_fails {
    ($($t:ty),*) => {$(
        impl EncodeFacts for $t {
            #[inline]
            fn fails_in(&self, _at: VersionSet, _flexible: VersionSet) -> VersionSet {
                VersionSet::EMPTY
            }
        }
    )*};
}

never_fails!(bool, i8, i16, u16, i32, u32, i64, f64, crate::uuid::Uuid);

impl EncodeFacts for bytestring::ByteString {
    #[inline]
    fn fails_in(&self, at: VersionSet, flexible: VersionSet) -> VersionSet {
        length_fails(self.len(), false, at, flexible)
    }
}

impl EncodeFacts for bytes::Bytes {
    #[inline]
    fn fails_in(&self, at: VersionSet, flexible: VersionSet) -> VersionSet {
        length_fails(self.len(), true, at, flexible)
    }
}

impl<T: EncodeFacts> EncodeFacts for Vec<T> {
    fn fails_in(&self, at: VersionSet, flexible: VersionSet) -> VersionSet {
        let mut fails = length_fails(self.len(), true, at, flexible);
        for v in self {
            if fails == at {
                break;
            }
            fails = fails.union(v.fails_in(at.minus(fails), flexible));
        }
        fails
    }
}

/// A value's failures; null is checked by the enclosing struct.
impl<T: EncodeFacts> EncodeFacts for Option<T> {
    #[inline]
    fn fails_in(&self, at: VersionSet, flexible: VersionSet) -> VersionSet {
        match self {
            Some(v) => v.fails_in(at, flexible),
            None => VersionSet::EMPTY,
        }
    }
}

/// The versions a whole message can be encoded at.
pub trait EncodableVersions: crate::Message + EncodeFacts {
    /// Exactly the versions `v` at which `self.encode(buf, v)` succeeds.
    fn encodable_versions(&self) -> VersionSet {
        let all = VersionSet::of(Self::VERSIONS);
        let flexible = match Self::FLEXIBLE_MIN {
            Some(f) => VersionSet::range(f, Self::VERSIONS.max),
            None => VersionSet::EMPTY,
        };
        all.minus(self.fails_in(all, flexible))
    }
}

impl<T: crate::Message + EncodeFacts> EncodableVersions for T {}

/// Which request a value is, as a typed reference: what code that is
/// generic over [`crate::Request`] matches on to read a request's content
/// (its route, whether it is transactional) without `Any` downcasts.
#[cfg(feature = "messages")]
pub use crate::generated::facts::RequestRef;

/// Without kwire's own messages (a runtime for vendored codecs) no request
/// is kwire's: the view is an empty enum, so `RequestView::view` is `None`.
#[cfg(not(feature = "messages"))]
#[derive(Debug, Clone, Copy)]
pub enum RequestRef<'a> {
    #[doc(hidden)]
    Never(std::convert::Infallible, std::marker::PhantomData<&'a ()>),
}

/// The typed view of a request. kwire's own generated requests answer with
/// their [`RequestRef`] variant; request types generated into another crate
/// (a vendored copy) are not kwire's types and keep the default, `None`.
pub trait RequestView {
    fn view(&self) -> Option<RequestRef<'_>> {
        None
    }
}

// ---------------------------------------------------------------------
// Response facts: what every response says, whatever its API.

/// What a response says the client must act on, generated for every
/// response from its schema (never kept by hand per API):
///
/// * the throttle time, where the schema has `ThrottleTimeMs` (KIP-219:
///   whether the client or the broker waits it out depends on the version,
///   which the schemas state only in prose, so callers keep that table);
/// * every error code (`ErrorCode`, NONE included) with where it applies:
///   the whole request, a partition of a topic, a topic, a group or
///   transactional id, or another kind of entry; a partition's code comes
///   with its `CurrentLeader` where the schema has one (KIP-951).
///
/// A supertrait of [`crate::Response`]: generated code implements it for
/// every response (one without a throttle time or an error code keeps the
/// defaults), kwire's own and vendored alike, and
/// `dispatch::ResponseKind` by key. `tests/facts.rs` checks the walk
/// against arbitrary values of every response at every version.
pub trait ResponseFacts {
    /// `ThrottleTimeMs` at `version`; `None` where the schema has none.
    fn throttle_time_ms(&self, _version: i16) -> Option<i32> {
        None
    }

    /// Calls `sink` once for each error code the response holds at
    /// `version` (NONE included), in field order, each struct's own code
    /// before the codes below it.
    fn errors(&self, _version: i16, _sink: &mut dyn FnMut(ErrorFact<'_>)) {}
}

/// The topic of a partition or topic error, as the response names it at
/// that version: by name, by id (KIP-516), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicIdent<'a> {
    /// `None` where the schema has no name at this version, or it is null.
    pub name: Option<&'a str>,
    /// `None` where the id does not name the topic at this version: the
    /// schema has none, or the name is always there beside it (CreateTopics
    /// v7+ reports the new topic's id, but its name is what identifies it).
    pub id: Option<crate::uuid::Uuid>,
}

/// What a keyed entry is keyed by (its field's `entityType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    GroupId,
    TransactionalId,
}

/// Where an error code applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSite<'a> {
    /// The top-level code. `alone`: no error code below the request level
    /// exists at this version, so this one is the outcome of the request.
    Request { alone: bool },
    /// One partition (its index) of a topic.
    Partition {
        topic: TopicIdent<'a>,
        partition: i32,
    },
    /// One topic (admin APIs).
    Topic(TopicIdent<'a>),
    /// One group or transactional id (batched coordinator APIs).
    Key { kind: KeyKind, key: &'a str },
    /// An entry of another kind (a config resource, an ACL, a quota
    /// entity, a member, a coordinator key, ...), by its struct's schema
    /// name.
    Entry(&'static str),
}

/// One error code of a response, where it applies, and (Produce and Fetch
/// partitions, KIP-951) the current leader id and epoch reported beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorFact<'a> {
    pub site: ErrorSite<'a>,
    pub code: crate::ErrorCode,
    /// `(leader_id, leader_epoch)` as the response carries them (-1 when
    /// the broker gives no hint); `None` where the schema has no leader.
    pub leader: Option<(i32, i32)>,
}

/// A string field that can name a topic or key: nullable or not.
pub trait NameField {
    fn name(&self) -> Option<&str>;
}

impl NameField for str {
    fn name(&self) -> Option<&str> {
        Some(self)
    }
}

impl NameField for bytestring::ByteString {
    fn name(&self) -> Option<&str> {
        Some(self)
    }
}

impl NameField for Option<bytestring::ByteString> {
    fn name(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// The error codes at and below a struct: generated for every response
/// struct that has one, or has one below it.
pub trait ErrorFacts {
    fn walk_errors<'v>(&'v self, w: &mut ErrorWalk<'_, 'v>);
}

impl<T: ErrorFacts> ErrorFacts for Vec<T> {
    fn walk_errors<'v>(&'v self, w: &mut ErrorWalk<'_, 'v>) {
        for v in self {
            v.walk_errors(w);
        }
    }
}

impl<T: ErrorFacts> ErrorFacts for Option<T> {
    fn walk_errors<'v>(&'v self, w: &mut ErrorWalk<'_, 'v>) {
        if let Some(v) = self {
            v.walk_errors(w);
        }
    }
}

/// The walk the generated [`ErrorFacts`] drive: the version, the topic
/// the enclosing struct names, and the sink.
pub struct ErrorWalk<'s, 'v> {
    version: i16,
    alone: bool,
    topic: TopicIdent<'v>,
    sink: &'s mut dyn FnMut(ErrorFact<'_>),
}

impl<'s, 'v> ErrorWalk<'s, 'v> {
    /// A walk at `version` of a response whose error codes below the
    /// request level exist at `entries`.
    pub fn new(version: i16, entries: VersionSet, sink: &'s mut dyn FnMut(ErrorFact<'_>)) -> Self {
        ErrorWalk {
            version,
            alone: !entries.contains(version),
            topic: TopicIdent::default(),
            sink,
        }
    }

    pub fn version(&self) -> i16 {
        self.version
    }

    /// Whether a field present at `versions` is there at this version.
    #[inline]
    pub fn has(&self, versions: VersionSet) -> bool {
        versions.contains(self.version)
    }

    /// `value` when its field is present at this version.
    #[inline]
    pub fn at<T>(&self, versions: VersionSet, value: T) -> Option<T> {
        self.has(versions).then_some(value)
    }

    /// The walk below a struct that names a topic.
    pub fn in_topic<N: NameField + ?Sized>(
        &mut self,
        name: Option<&'v N>,
        id: Option<&crate::uuid::Uuid>,
    ) -> ErrorWalk<'_, 'v> {
        ErrorWalk {
            version: self.version,
            alone: self.alone,
            topic: TopicIdent {
                name: name.and_then(NameField::name),
                id: id.copied(),
            },
            sink: &mut *self.sink,
        }
    }

    /// Walks into a nested struct (or an array or option of them).
    #[inline]
    pub fn walk<T: ErrorFacts + ?Sized>(&mut self, value: &'v T) {
        value.walk_errors(self);
    }

    fn report(&mut self, site: ErrorSite<'_>, code: i16, leader: Option<(i32, i32)>) {
        (self.sink)(ErrorFact {
            site,
            code: crate::ErrorCode(code),
            leader,
        });
    }

    /// The response's top-level code.
    pub fn request(&mut self, code: i16) {
        let alone = self.alone;
        self.report(ErrorSite::Request { alone }, code, None);
    }

    /// A partition's code, in the topic of the enclosing struct.
    pub fn partition(&mut self, partition: i32, code: i16) {
        let topic = self.topic;
        self.report(ErrorSite::Partition { topic, partition }, code, None);
    }

    /// A partition's code with the leader reported beside it (KIP-951).
    pub fn led_partition(&mut self, partition: i32, code: i16, leader: Option<(i32, i32)>) {
        let topic = self.topic;
        self.report(ErrorSite::Partition { topic, partition }, code, leader);
    }

    /// A topic's code: the topic the walk is in ([`Self::in_topic`]).
    pub fn topic(&mut self, code: i16) {
        let topic = self.topic;
        self.report(ErrorSite::Topic(topic), code, None);
    }

    /// The code of a group or transactional id.
    pub fn key<N: NameField + ?Sized>(&mut self, kind: KeyKind, key: &N, code: i16) {
        let key = key.name().unwrap_or("");
        self.report(ErrorSite::Key { kind, key }, code, None);
    }

    /// The code of an entry of another kind, by its struct's name.
    pub fn entry(&mut self, name: &'static str, code: i16) {
        self.report(ErrorSite::Entry(name), code, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets() {
        let s = VersionSet::range(2, 5);
        assert_eq!(s.to_string(), "2-5");
        assert_eq!((s.min(), s.max()), (Some(2), Some(5)));
        let holes = s.minus(VersionSet::single(3));
        assert_eq!(holes.to_string(), "2, 4-5");
        assert_eq!(holes.as_range(), None);
        assert_eq!(holes.highest_in(VersionRange::new(0, 3)), Some(2));
        assert_eq!(holes.highest_in(VersionRange::new(3, 3)), None);
        assert_eq!(VersionSet::range(0, i16::MAX).len(), 64);
        assert_eq!(VersionSet::range(5, 4), VersionSet::EMPTY);
        assert_eq!(VersionSet::EMPTY.to_string(), "none");
        assert!(!VersionSet::range(0, 63).contains(64));
        assert_eq!(holes.iter().collect::<VersionSet>(), holes);
    }

    #[test]
    fn lengths() {
        let all = VersionSet::range(0, 9);
        let flex = VersionSet::range(5, 9);
        assert_eq!(length_fails(32767, false, all, flex), VersionSet::EMPTY);
        assert_eq!(
            length_fails(32768, false, all, flex),
            VersionSet::range(0, 4)
        );
        assert_eq!(length_fails(32768, true, all, flex), VersionSet::EMPTY);
    }
}
