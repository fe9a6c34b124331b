//! Typed codec errors.
//!
//! Both directions carry what went wrong and the path of message/field
//! names leading to it, pushed as the error travels back up the generated
//! code (in the manner of prost's `DecodeError`); a decode error also has
//! the byte offset in the input. Errors are boxed so that a `Result` stays
//! one word wide on the hot path.

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
    /// No message type of this name is known to this build.
    UnknownMessage,
    /// A known tagged field did not consume exactly the bytes it declared.
    TaggedFieldSize {
        tag: u32,
        declared: usize,
        used: usize,
    },
    /// Decoding would allocate more than the reader's memory budget
    /// ([`crate::wire::Reader::with_budget`]; by default 16 bytes per input
    /// byte plus 64 KiB).
    MemoryBudgetExceeded { needed: usize, remaining: usize },
    /// Bytes were left over after a complete message or frame.
    TrailingBytes { remaining: usize },
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
            Self::UnknownMessage => f.write_str("no message type of that name"),
            Self::TaggedFieldSize {
                tag,
                declared,
                used,
            } => write!(
                f,
                "tagged field {tag} declared {declared} bytes but its value used {used}"
            ),
            Self::MemoryBudgetExceeded { needed, remaining } => write!(
                f,
                "decoding needs {needed} more bytes of memory, {remaining} remain in the budget"
            ),
            Self::TrailingBytes { remaining } => {
                write!(f, "{remaining} bytes left over after the message")
            }
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

/// Innermost segment first (pushed while unwinding); shown outermost first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Path(Vec<PathSegment>);

impl Path {
    fn iter(&self) -> impl Iterator<Item = &PathSegment> {
        self.0.iter().rev()
    }

    fn field(&self) -> Option<&'static str> {
        self.0.iter().find_map(|s| match s {
            PathSegment::Field(f) => Some(*f),
            _ => None,
        })
    }

    fn render(&self) -> String {
        let mut s = String::new();
        for seg in self.iter() {
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DecodeErrorInner {
    kind: DecodeErrorKind,
    offset: usize,
    path: Path,
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
            path: Path::default(),
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
        self.0.path.iter()
    }

    /// The innermost field on the path.
    pub fn field(&self) -> Option<&'static str> {
        self.0.path.field()
    }

    /// The path as text, e.g. `ProduceRequest v9.TopicData[3].Name`.
    pub fn path_string(&self) -> String {
        self.0.path.render()
    }

    #[cold]
    pub fn in_field(mut self, name: &'static str) -> Self {
        self.0.path.0.push(PathSegment::Field(name));
        self
    }

    #[cold]
    pub fn at_index(mut self, index: usize) -> Self {
        self.0.path.0.push(PathSegment::Index(index));
        self
    }

    #[cold]
    pub fn in_message(mut self, name: &'static str, version: i16) -> Self {
        self.0.path.0.push(PathSegment::Message { name, version });
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

/// What is wrong with a value that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeErrorKind {
    /// The version is outside the message's valid versions.
    UnsupportedVersion { version: i16, valid: VersionRange },
    /// A non-ignorable field holds a non-default value at a version that
    /// lacks the field (Kafka's `UnsupportedVersionException`).
    FieldNotInVersion { version: i16 },
    /// A field is null at a version that does not allow null.
    NullNotAllowed { version: i16 },
    /// A string, bytes or array is longer than its length prefix can say.
    TooLong { length: usize },
    /// Unknown tagged fields are set but the version has no tagged fields.
    TaggedFieldsNotFlexible { version: i16 },
    /// An unknown tagged field uses a tag this struct knows at this version
    /// (Kafka's `RawTaggedFieldWriter` refuses the same).
    UnknownTagIsKnown { tag: u32 },
}

impl fmt::Display for EncodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedVersion { version, valid } => {
                write!(f, "version {version} is outside the valid versions {valid}")
            }
            Self::FieldNotInVersion { version } => write!(
                f,
                "set to a non-default value but version {version} cannot carry it (the field is not ignorable)"
            ),
            Self::NullNotAllowed { version } => {
                write!(f, "null but version {version} does not allow null")
            }
            Self::TooLong { length } => {
                write!(f, "length {length} does not fit the wire type")
            }
            Self::TaggedFieldsNotFlexible { version } => write!(
                f,
                "unknown tagged fields are set but version {version} is not flexible"
            ),
            Self::UnknownTagIsKnown { tag } => write!(
                f,
                "unknown tagged field {tag} uses the tag of a known field"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct EncodeErrorInner {
    kind: EncodeErrorKind,
    path: Path,
}

/// An encode failure: what, and in which field. Encoding appends nothing
/// to the buffer when it fails.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodeError(Box<EncodeErrorInner>);

impl EncodeError {
    #[cold]
    pub fn new(kind: EncodeErrorKind) -> Self {
        Self(Box::new(EncodeErrorInner {
            kind,
            path: Path::default(),
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &EncodeErrorKind {
        &self.0.kind
    }

    /// Path from the outermost message to the failing value.
    pub fn path(&self) -> impl Iterator<Item = &PathSegment> {
        self.0.path.iter()
    }

    /// The innermost field on the path (`None` for message-level errors).
    pub fn field(&self) -> Option<&'static str> {
        self.0.path.field()
    }

    /// The path as text, e.g. `MetadataRequest v3.AllowAutoTopicCreation`.
    pub fn path_string(&self) -> String {
        self.0.path.render()
    }

    #[cold]
    pub fn in_field(mut self, name: &'static str) -> Self {
        self.0.path.0.push(PathSegment::Field(name));
        self
    }

    #[cold]
    pub fn at_index(mut self, index: usize) -> Self {
        self.0.path.0.push(PathSegment::Index(index));
        self
    }

    #[cold]
    pub fn in_message(mut self, name: &'static str, version: i16) -> Self {
        self.0.path.0.push(PathSegment::Message { name, version });
        self
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path_string();
        if path.is_empty() {
            write!(f, "encode error: {}", self.0.kind)
        } else {
            write!(f, "encode error in {path}: {}", self.0.kind)
        }
    }
}

impl fmt::Debug for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_errors_print_their_path() {
        let e = EncodeError::new(EncodeErrorKind::TooLong { length: 40_000 })
            .in_field("Name")
            .at_index(3)
            .in_field("Topics")
            .in_message("MetadataRequest", 4);
        assert_eq!(e.path_string(), "MetadataRequest v4.Topics[3].Name");
        assert_eq!(e.field(), Some("Name"));
        assert_eq!(
            e.to_string(),
            "encode error in MetadataRequest v4.Topics[3].Name: length 40000 does not fit the wire type"
        );
    }
}
