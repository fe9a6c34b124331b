//! kwire: Apache Kafka protocol codecs generated from Kafka's own JSON
//! message schemas, plus the handwritten runtime they stand on.
//!
//! * [`messages`]: one module per message schema (generated), each type
//!   implementing [`Message`] (and [`Request`] / [`Response`]).
//! * [`ApiKey`] and [`api_key::API_TABLE`]: the per-API min/max version table.
//! * [`dispatch`]: decode and encode any request or response given its api
//!   key and version (what a proxy or a decode tool needs).
//! * [`KafkaRelease`] and [`release`]: what every Kafka release (0.8.0 to
//!   trunk) accepted, its feature levels, and the guess of a broker's release.
//! * [`wire`]: the wire primitives; [`error`]: typed codec errors.

#![forbid(unsafe_code)]

pub mod api_key;
pub mod error;
mod error_code;
pub mod headers;
pub mod message;
pub mod records;
pub mod release;
#[cfg(feature = "serde")]
#[doc(hidden)]
pub mod serde_support;
#[cfg(feature = "testing")]
pub mod testing;
pub mod uuid;
pub mod version;
pub mod wire;

// Printed by prettyplease in kwire-codegen; `kwire-codegen check` keeps it
// byte-identical to the generator's output, so rustfmt must leave it alone.
#[rustfmt::skip]
#[path = "../generated/mod.rs"]
mod generated;

pub use api_key::ApiKey;
pub use bytes::{Bytes, BytesMut};
pub use bytestring::ByteString as StrBytes;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind};
pub use error_code::ErrorCode;
#[cfg(feature = "messages")]
pub use generated::{dispatch, messages};
pub use message::{Decodable, Encodable, Message, Request, Response};
pub use release::KafkaRelease;
pub use uuid::Uuid;
pub use version::VersionRange;
