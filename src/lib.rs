#![doc = include_str!("../README.md")]
//!
//! # The `kwire` crate
//!
//! Apache Kafka protocol codecs generated from Kafka's own JSON message
//! schemas, plus the handwritten runtime they stand on.
//!
//! * [`messages`]: one module per message schema (generated), each type
//!   implementing [`Message`] (and [`Request`] / [`Response`]).
//! * [`ApiKey`] and [`api_key::API_TABLE`]: the per-API min/max version table.
//! * [`dispatch`]: decode and encode any request or response given its api
//!   key and version (what a proxy or a decode tool needs).
//! * [`records`]: record batches v2 (and legacy message sets) to build and
//!   decode, with compression behind features.
//! * [`KafkaRelease`] and [`release`]: what every Kafka release (0.8.0 to
//!   trunk) accepted, its feature levels, and the guess of a broker's release.
//! * [`wire`]: the wire primitives; [`error`]: typed codec errors.
//!
//! The negotiating async client is the `kwire-client` crate; vendoring a
//! selection of messages into your own crate (against this crate with
//! `default-features = false`, the runtime alone) is `kwire-codegen`'s
//! `Builder`.
//!
//! ## Encode and decode a message
//!
//! ```
//! use kwire::messages::ApiVersionsRequest;
//! use kwire::{Message, Request, StrBytes};
//!
//! let mut req = ApiVersionsRequest::default();
//! req.client_software_name = StrBytes::from_static("my-app");
//! req.client_software_version = StrBytes::from_static("1.0.0");
//! let body = req.encode_to_bytes(3)?; // an EncodeError outside the valid versions
//! assert_eq!(ApiVersionsRequest::request_header_version(3), 2);
//! let back = ApiVersionsRequest::decode_bytes(body, 3)?; // a DecodeError names field and offset
//! assert_eq!(back, req);
//! assert!(ApiVersionsRequest::decode_bytes(kwire::Bytes::from_static(&[9]), 3).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Api keys and the version table
//!
//! ```
//! use kwire::{ApiKey, VersionRange};
//!
//! assert_eq!(ApiKey::API_VERSIONS, ApiKey(18));
//! // Produce v0-2 are the historic versions Kafka 4.0 removed (KIP-896).
//! assert_eq!(ApiKey::PRODUCE.versions(), Some(VersionRange::new(0, 13)));
//! assert_eq!(ApiKey::API_VERSIONS.info().map(|i| i.name), Some("ApiVersions"));
//! // A newer broker's key is kept, not an error.
//! assert!(ApiKey(999).info().is_none());
//! ```
//!
//! ## Dispatch by api key
//!
//! ```
//! use kwire::dispatch::RequestKind;
//! use kwire::messages::MetadataRequest;
//! use kwire::{ApiKey, Message};
//!
//! let body = MetadataRequest::default().encode_to_bytes(12)?;
//! let mut r = kwire::wire::Reader::new(body);
//! let any = RequestKind::decode(ApiKey::METADATA, 12, &mut r)?;
//! assert_eq!(any.api_key(), ApiKey::METADATA);
//! assert!(matches!(any, RequestKind::Metadata(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Record batches
//!
//! ```
//! use kwire::records::{decode_batches, DecodeOptions, RecordBatchBuilder};
//!
//! let mut batch = RecordBatchBuilder::new(100);
//! batch.append(1_700_000_000_000, Some(b"key"), Some(b"value"), &[])?;
//! let bytes = batch.build()?;
//! let opts = DecodeOptions::default();
//! let records = decode_batches(bytes, &opts)?.records(&opts)?;
//! assert_eq!(records[0].offset, 100);
//! assert_eq!(records[0].value.as_deref(), Some(&b"value"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Kafka releases and the guess of a broker's
//!
//! ```
//! use kwire::release::{guess, Advertised, Role, Verdict};
//! use kwire::{ApiKey, KafkaRelease};
//!
//! let pin: KafkaRelease = "3.8.1".parse()?;
//! assert_eq!(pin.max_version(ApiKey::FETCH), Some(16));
//! // What a 3.8 KRaft broker advertises in ApiVersions names its release.
//! let g = guess(&Advertised::of_release(pin.line(), Role::KRaftBroker));
//! assert_eq!(g.verdict, Verdict::Exact(pin.line()));
//! println!("{}", g.explain());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//!
//! `messages` (the generated types and [`dispatch`]), `client` (request
//! encoders, response decoders) and `broker` (the opposite), `gzip`,
//! `snappy`, `lz4`, `zstd`: on by default. `serde` adds JSON in Kafka's
//! field names, `testing` value generators for every message.
//! `default-features = false` is the runtime alone.

#![forbid(unsafe_code)]

pub mod api_key;
pub mod error;
mod error_code;
pub mod facts;
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
pub use facts::{EncodableVersions, VersionSet};
#[cfg(feature = "messages")]
pub use generated::{dispatch, messages};
pub use message::{Decodable, Encodable, Message, Request, Response};
pub use release::KafkaRelease;
pub use uuid::Uuid;
pub use version::VersionRange;
