//! Typed errors of the record layer.

use crate::error::{DecodeError, DecodeErrorKind};

use super::budget::BudgetUse;
use super::compression::Compression;

/// Everything that can go wrong while decoding or encoding records.
///
/// Offsets are byte offsets from the start of the buffer handed to the
/// decoder; inside a compressed batch they count from the start of the
/// decompressed records section (the compressed bytes have no structure to
/// point into).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The stored CRC does not match the bytes (CRC-32C over attributes..end
    /// for magic 2, CRC-32 over magic..end for magic 0/1).
    #[error("CRC mismatch in the batch at offset {offset}: expected {expected:#010x} (stored), found {found:#010x} (computed)")]
    CrcMismatch {
        offset: usize,
        expected: u32,
        found: u32,
    },
    /// The input ends inside a value.
    #[error("truncated input at offset {offset}: needed {needed} bytes, {remaining} remain")]
    Truncated {
        offset: usize,
        needed: usize,
        remaining: usize,
    },
    /// A length field asks for more bytes than the input holds.
    #[error("length {length} at offset {offset} exceeds the {remaining} bytes that remain")]
    LengthExceedsInput {
        offset: usize,
        length: i64,
        remaining: usize,
    },
    /// A length field is negative (and not the null marker) or too small
    /// for the structure it frames.
    #[error("invalid length {length} at offset {offset}: {what}")]
    InvalidLength {
        offset: usize,
        length: i64,
        what: &'static str,
    },
    /// A varint runs past its maximum width.
    #[error("invalid varint at offset {offset}")]
    InvalidVarint { offset: usize },
    /// The magic byte names a format this crate does not know.
    #[error("unsupported magic {magic} at offset {offset}")]
    UnsupportedMagic { offset: usize, magic: i8 },
    /// The attributes name a compression codec Kafka does not define.
    #[error("unknown compression codec id {id}")]
    UnknownCompression { id: u8 },
    /// The codec is valid but its cargo feature is off in this build.
    #[error("compression codec {0} is not enabled in this build (cargo feature `{feature}`)", feature = .0.name())]
    CodecDisabled(Compression),
    /// Decompressing would exceed the caller's limit (a compression bomb,
    /// or a batch larger than the caller is prepared to hold).
    #[error("{codec} data decompresses to more than the limit of {limit} bytes")]
    DecompressedTooLarge { codec: Compression, limit: usize },
    /// Decoding would take the records budget past its limit: the input
    /// holds more (decompressed bytes, records, headers, messages) than the
    /// caller allowed one records field (or the fields sharing a budget)
    /// to cost. Nothing past the limit was allocated.
    #[error("records budget exceeded at offset {offset}: {what} need {requested} more bytes, {used} of the {limit} allowed are in use")]
    BudgetExceeded {
        offset: usize,
        what: BudgetUse,
        requested: usize,
        used: usize,
        limit: usize,
    },
    /// The compressed data is malformed.
    #[error("{codec} decompression failed: {reason}")]
    Decompress { codec: Compression, reason: String },
    /// The compressor failed (only I/O into memory, so this is rare).
    #[error("{codec} compression failed: {reason}")]
    Compress { codec: Compression, reason: String },
    /// A batch header field contradicts the records it frames.
    #[error("record count mismatch in the batch at offset {offset}: header declares {declared}, {found}")]
    RecordCount {
        offset: usize,
        declared: i32,
        found: &'static str,
    },
    /// A record, message or control record is malformed in some other way.
    #[error("malformed record data at offset {offset}: {reason}")]
    Malformed { offset: usize, reason: &'static str },
    /// Something cannot be encoded (a value outside what the format holds).
    #[error("cannot encode: {0}")]
    Encode(&'static str),
}

impl RecordsError {
    /// Converts a wire-level reader error into the record error of the
    /// same meaning.
    pub(crate) fn from_wire(e: DecodeError) -> Self {
        let offset = e.offset();
        match e.kind() {
            DecodeErrorKind::UnexpectedEof { needed, remaining } => RecordsError::Truncated {
                offset,
                needed: *needed,
                remaining: *remaining,
            },
            DecodeErrorKind::LengthExceedsInput { length, remaining } => {
                RecordsError::LengthExceedsInput {
                    offset,
                    length: i64::try_from(*length).unwrap_or(i64::MAX),
                    remaining: *remaining,
                }
            }
            DecodeErrorKind::InvalidLength { length } => RecordsError::InvalidLength {
                offset,
                length: *length,
                what: "negative length",
            },
            DecodeErrorKind::InvalidVarint => RecordsError::InvalidVarint { offset },
            _ => RecordsError::Malformed {
                offset,
                reason: "invalid wire value",
            },
        }
    }
}

impl From<DecodeError> for RecordsError {
    fn from(e: DecodeError) -> Self {
        RecordsError::from_wire(e)
    }
}
