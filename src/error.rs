//! Typed codec errors.
//!
//! A decode error carries what went wrong, the byte offset in the input where
//! it went wrong, and the path of message/field names leading to it (pushed
//! as the error travels back up the generated decoders, in the manner of
//! prost's `DecodeError`). Errors are boxed so that `Result<T, DecodeError>`
//! stays one word wide on the hot path.

use std::fmt;

use crate::version::VersionRange;

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Fewer bytes remain than the next value needs.
    UnexpectedEof { needed: usize, remaining: usize },
    /// A length prefix asks for more bytes (or elements) than the input holds.
    LengthExceedsInput { length: u64, remaining: usize },
    /// A length prefix is negative (and not the null marker) or does not fit.
    InvalidLength { length: i64 },
    /// A varint runs past five (or ten) bytes.
    InvalidVarint,
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A null was read where this version does not allow one.
    NullNotAllowed,
    /// The version is outside the message's valid versions.
    UnsupportedVersion {
        version: i16,
        valid: Option<VersionRange>,
    },
    /// The API key is unknown to this build, or names an API that Kafka removed.
    UnknownApi { api_key: i16 },
    /// A known tagged field did not consume exactly the bytes it declared.
    TaggedFieldSize {
        tag: u32,
        declared: usize,
        used: usize,
    },
    /// A tag appeared twice in one tagged-field section.
    DuplicateTag { tag: u32 },
    /// Bytes were left over after a complete message or frame.
    TrailingBytes { remaining: usize },
    /// Anything else; the text says what.
    Invalid(&'static str),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEof { needed, remaining } => {
                write!(f, "needed {needed} bytes, {remaining} remain")
            }
            Self::LengthExceedsInput { length, remaining } => {
                write!(
                    f,
                    "length {length} exceeds the {remaining} bytes that remain"
                )
            }
            Self::InvalidLength { length } => write!(f, "invalid length {length}"),
            Self::InvalidVarint => f.write_str("varint is too long"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::NullNotAllowed => f.write_str("null where this version does not allow one"),
            Self::UnsupportedVersion { version, valid } => match valid {
                Some(r) => write!(f, "version {version} is outside the valid versions {r}"),
                None => write!(f, "version {version}: this message has no valid versions"),
            },
            Self::UnknownApi { api_key } => write!(f, "unknown or removed api key {api_key}"),
            Self::TaggedFieldSize {
                tag,
                declared,
                used,
            } => write!(
                f,
                "tagged field {tag} declared {declared} bytes but its value used {used}"
            ),
            Self::DuplicateTag { tag } => write!(f, "tag {tag} appears twice"),
            Self::TrailingBytes { remaining } => {
                write!(f, "{remaining} bytes left over after the message")
            }
            Self::Invalid(what) => f.write_str(what),
        }
    }
}

/// One step of the path to the failing value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A message or struct name, with the version being decoded.
    Message { name: &'static str, version: i16 },
    /// A field name as the schema spells it.
    Field(&'static str),
    /// An index into an array.
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DecodeErrorInner {
    kind: DecodeErrorKind,
    offset: usize,
    /// Innermost first; reversed for display.
    path: Vec<PathSegment>,
}

/// A decode failure: what, where (byte offset) and in which field.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError(Box<DecodeErrorInner>);

impl DecodeError {
    #[cold]
    pub fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self(Box::new(DecodeErrorInner {
            kind,
            offset,
            path: Vec::new(),
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// Byte offset, from the start of the buffer given to the decoder.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// Path from the outermost message to the failing value.
    pub fn path(&self) -> impl Iterator<Item = &PathSegment> {
        self.0.path.iter().rev()
    }

    /// The path as text, e.g. `ProduceRequest v9 .TopicData[3].Name`.
    pub fn path_string(&self) -> String {
        let mut s = String::new();
        for seg in self.path() {
            match seg {
                PathSegment::Message { name, version } => {
                    if s.is_empty() {
                        s.push_str(&format!("{name} v{version}"));
                    }
                }
                PathSegment::Field(name) => {
                    s.push('.');
                    s.push_str(name);
                }
                PathSegment::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }

    #[cold]
    pub fn in_field(mut self, name: &'static str) -> Self {
        self.0.path.push(PathSegment::Field(name));
        self
    }

    #[cold]
    pub fn at_index(mut self, index: usize) -> Self {
        self.0.path.push(PathSegment::Index(index));
        self
    }

    #[cold]
    pub fn in_message(mut self, name: &'static str, version: i16) -> Self {
        self.0.path.push(PathSegment::Message { name, version });
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path_string();
        if path.is_empty() {
            write!(f, "decode error at byte {}: {}", self.0.offset, self.0.kind)
        } else {
            write!(
                f,
                "decode error in {path} at byte {}: {}",
                self.0.offset, self.0.kind
            )
        }
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for DecodeError {}

/// An encode failure. Encoding writes nothing on failure: the buffer is
/// truncated back to where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("{message} v{version}: version is outside the valid versions {valid}")]
    UnsupportedVersion {
        message: &'static str,
        version: i16,
        valid: VersionRange,
    },
    #[error("{message} has no valid versions (removed from Kafka)")]
    NoValidVersions { message: &'static str },
    #[error("{message}.{field} is set to a non-default value but version {version} cannot carry it (the field is not ignorable)")]
    FieldNotInVersion {
        message: &'static str,
        field: &'static str,
        version: i16,
    },
    #[error("{message}.{field} is null but version {version} does not allow null")]
    NullNotAllowed {
        message: &'static str,
        field: &'static str,
        version: i16,
    },
    #[error("{message}.{field}: length {length} does not fit the wire type at version {version}")]
    TooLong {
        message: &'static str,
        field: &'static str,
        version: i16,
        length: usize,
    },
    #[error("{message} v{version} has unknown tagged fields but the version is not flexible")]
    TaggedFieldsNotFlexible { message: &'static str, version: i16 },
    #[error("unknown or removed api key {api_key}")]
    UnknownApi { api_key: i16 },
    #[error("{0}")]
    Invalid(&'static str),
}
