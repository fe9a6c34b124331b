//! Wire primitives: the encodings of Kafka's protocol types over `bytes`,
//! and the small generic helpers the generated code calls.
//!
//! * [`Reader`] never trusts a length prefix beyond the bytes present and
//!   charges what decoding allocates to a memory budget.
//! * [`Writer`] appends to a `BytesMut` reserved once from the size pass;
//!   in segmented mode it keeps records by reference ([`Segments`]).
//! * [`Encodable`]/[`Decodable`] are implemented here for every wire type
//!   (integers, strings, bytes, uuids, arrays, nullable forms), so a
//!   generated field is one call whose Rust type picks the encoding.
//! * [`tagged`]: tagged-field sections (KIP-482), known and unknown.
//!
//! [`Encodable`]: crate::Encodable
//! [`Decodable`]: crate::Decodable

mod codec;
mod reader;
pub mod tagged;
pub mod write;
mod writer;

pub use codec::{
    nullable_struct_size, read_nullable_struct, size, size_some, ByRef, Fixed, FixedRun, ReadInto,
};
pub use reader::Reader;
pub use tagged::{RawTaggedField, TaggedReader, TaggedSize, TaggedWriter, UnknownTaggedFields};
pub use writer::{Segments, Writer};

pub use bytes::BufMut;

use crate::error::{DecodeError, EncodeError, EncodeErrorKind};

/// Heap bytes a decode may allocate per input byte (see
/// [`Reader::with_budget`]).
pub const BUDGET_PER_INPUT_BYTE: usize = 16;
/// Heap bytes a decode may allocate on top of the per-byte allowance.
pub const BUDGET_BASE: usize = 64 * 1024;

/// What every field codec needs to know: the version being written or
/// read, and whether that version is flexible (KIP-482: compact lengths
/// and tagged-field sections). Set once per message from its schema and
/// passed down unchanged; flexibility is a property of the whole message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cx {
    pub version: i16,
    pub flexible: bool,
}

impl Cx {
    #[inline]
    pub const fn new(version: i16, flexible: bool) -> Self {
        Cx { version, flexible }
    }

    /// The same version with another length encoding: for a field whose
    /// schema overrides `flexibleVersions` (`RequestHeader.ClientId`).
    #[inline]
    pub const fn with_flexible(self, flexible: bool) -> Self {
        Cx {
            version: self.version,
            flexible,
        }
    }
}

/// What a generated `read` returns.
pub type ReadResult<T> = Result<T, DecodeError>;
/// What a generated `size` returns.
pub type SizeResult = Result<usize, EncodeError>;

/// A non-default value in a field the version lacks (size pass).
#[cold]
pub fn not_in_version(field: &'static str, cx: Cx) -> EncodeError {
    EncodeError::new(EncodeErrorKind::FieldNotInVersion {
        version: cx.version,
    })
    .in_field(field)
}

/// Unknown tagged fields on a struct at a version without tagged fields.
#[inline]
pub fn no_tagged_fields(unknown: &UnknownTaggedFields, cx: Cx) -> Result<(), EncodeError> {
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(EncodeError::new(EncodeErrorKind::TaggedFieldsNotFlexible {
            version: cx.version,
        }))
    }
}
