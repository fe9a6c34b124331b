//! The traits every generated message implements.
//!
//! [`Encodable`] and [`Decodable`] are the codec of one wire value at a
//! [`Cx`] (version and flexibility): the runtime implements them for
//! every wire type (see [`crate::wire`]). The generator implements
//! `Encodable` for every struct, and [`crate::wire::ReadInto`] (its field
//! reads, in place), from which the runtime's blanket impl gives `Decodable`.
//! [`Message`] is what users call: version checks, one exact reservation,
//! error paths that start at the message.
//!
//! ## Side features
//!
//! A client encodes requests and decodes responses; a broker does the
//! opposite. With the `client` feature the generated code has request
//! encoders and response decoders, with `broker` the other two; the
//! default has both. [`Request`] and [`Response`] carry the bounds of the
//! build through the `Client*`/`Broker*` traits below, so code generic over
//! `R: Request` can call `encode` on a request and `decode` on
//! `R::Response` whenever the `client` feature is on.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};

use crate::api_key::ApiKey;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind};
use crate::version::VersionRange;
use crate::wire::{Cx, Reader, Segments, Writer};

/// A wire value that can be written at a [`Cx`]. `size` validates
/// everything `write` relies on.
pub trait Encodable {
    /// The size when it never depends on the value (fixed-width types).
    const FIXED_SIZE: Option<usize> = None;

    /// Encoded size; fails where encoding would fail.
    fn size(&self, cx: Cx) -> Result<usize, EncodeError>;

    /// Writes the value. Callers run `size` first: `write` assumes the value
    /// was validated for this version and does not fail.
    fn write(&self, w: &mut Writer<'_>, cx: Cx);
}

/// A wire value that can be read at a [`Cx`].
pub trait Decodable: Sized {
    /// The fewest bytes one value takes on the wire, at any version: bounds
    /// an array count by the input before anything is allocated.
    const MIN_SIZE: usize;

    fn read(r: &mut Reader, cx: Cx) -> Result<Self, DecodeError>;

    /// Reads `n` values (an array whose count was checked against the
    /// input) into a vector of exactly that capacity, charged to the
    /// reader's memory budget first.
    fn read_array(r: &mut Reader, n: usize, cx: Cx) -> Result<Vec<Self>, DecodeError> {
        let mut v = r.vec_with_capacity(n)?;
        for i in 0..n {
            v.push(Self::read(r, cx).map_err(|e| e.at_index(i))?);
        }
        Ok(v)
    }
}

/// A top-level message: a request, response, header or data message.
pub trait Message: Default + Clone + Debug + PartialEq {
    /// The schema name, e.g. `ApiVersionsRequest`.
    const NAME: &'static str;
    /// `validVersions`, all of them (including an unstable latest version).
    const VERSIONS: VersionRange;
    /// The first flexible version (KIP-482), if any.
    const FLEXIBLE_MIN: Option<i16>;
    /// The last version is still under development (`latestVersionUnstable`).
    const LATEST_VERSION_UNSTABLE: bool;

    /// The codec context of `version`.
    fn cx(version: i16) -> Cx {
        Cx::new(version, Self::FLEXIBLE_MIN.is_some_and(|f| version >= f))
    }

    /// Checks `version` against the valid versions.
    fn check_version(version: i16) -> Result<(), EncodeError> {
        if Self::VERSIONS.contains(version) {
            Ok(())
        } else {
            Err(EncodeError::new(EncodeErrorKind::UnsupportedVersion {
                version,
                valid: Self::VERSIONS,
            })
            .in_message(Self::NAME, version))
        }
    }

    /// Encoded size at `version`, validating the value for that version.
    fn encoded_len(&self, version: i16) -> Result<usize, EncodeError>
    where
        Self: Encodable,
    {
        Self::check_version(version)?;
        self.size(Self::cx(version))
            .map_err(|e| e.in_message(Self::NAME, version))
    }

    /// Appends the encoding at `version` to `buf`: one size pass, one exact
    /// reservation, one write pass. On error nothing is appended.
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError>
    where
        Self: Encodable,
    {
        let len = self.encoded_len(version)?;
        buf.reserve(len);
        self.write(&mut Writer::new(buf), Self::cx(version));
        Ok(())
    }

    /// Encodes into a new buffer.
    fn encode_to_bytes(&self, version: i16) -> Result<Bytes, EncodeError>
    where
        Self: Encodable,
    {
        let mut buf = BytesMut::new();
        self.encode(&mut buf, version)?;
        Ok(buf.freeze())
    }

    /// Encodes without copying records and `zeroCopy` bytes fields: the
    /// result holds the encoder's own bytes and references to those values,
    /// in order, for vectored I/O (as Kafka's `SendBuilder` sends them).
    /// Concatenated, the pieces are exactly what [`Message::encode`] writes.
    fn encode_segments(&self, version: i16) -> Result<Segments, EncodeError>
    where
        Self: Encodable,
    {
        let len = self.encoded_len(version)?;
        // The encoder's own bytes are a small part of a message that carries
        // records; start small and let the buffer grow.
        let mut buf = BytesMut::with_capacity(len.min(4096));
        let mut w = Writer::segmented(&mut buf);
        self.write(&mut w, Self::cx(version));
        let refs = w.take_refs();
        Ok(Segments::from_parts(buf, refs))
    }

    /// Decodes one message at `version` from the reader, leaving what follows.
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError>
    where
        Self: Decodable,
    {
        if !Self::VERSIONS.contains(version) {
            return Err(r
                .error(DecodeErrorKind::UnsupportedVersion {
                    version,
                    valid: Some(Self::VERSIONS),
                })
                .in_message(Self::NAME, version));
        }
        Self::read(r, Self::cx(version)).map_err(|e| e.in_message(Self::NAME, version))
    }

    /// Decodes a message that must fill `bytes` exactly, under the default
    /// memory budget ([`Reader::new`]).
    fn decode_bytes(bytes: Bytes, version: i16) -> Result<Self, DecodeError>
    where
        Self: Decodable,
    {
        let mut r = Reader::new(bytes);
        let m = Self::decode(&mut r, version)?;
        r.expect_end()
            .map_err(|e| e.in_message(Self::NAME, version))?;
        Ok(m)
    }
}

/// A request: tied to its API key, its response type and header versions.
pub trait Request:
    Message + ClientEncodable + BrokerDecodable + crate::facts::EncodeFacts + crate::facts::RequestView
{
    const API_KEY: ApiKey;
    type Response: Response + ClientDecodable + BrokerEncodable;

    /// Request header version for a body version (flexible: v2, else v1;
    /// quirks in [`crate::headers`]).
    fn request_header_version(version: i16) -> i16 {
        crate::headers::request_header_version(Self::API_KEY, version)
    }

    /// Response header version for a body version (flexible: v1, else v0;
    /// ApiVersions is always v0, KIP-511).
    fn response_header_version(version: i16) -> i16 {
        crate::headers::response_header_version(Self::API_KEY, version)
    }
}

/// A response, tied back to its API key.
pub trait Response: Message + crate::facts::ResponseFacts {
    const API_KEY: ApiKey;
}

macro_rules! side_trait {
    ($(#[$doc:meta])* $name:ident: $feature:literal => $bound:ident) => {
        $(#[$doc])*
        #[cfg(feature = $feature)]
        pub trait $name: $bound {}
        #[cfg(feature = $feature)]
        impl<T: $bound + ?Sized> $name for T {}

        $(#[$doc])*
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T: ?Sized> $name for T {}
    };
}

side_trait!(
    /// [`Encodable`] in builds with the `client` feature (clients encode
    /// requests); no bound otherwise.
    ClientEncodable: "client" => Encodable
);
side_trait!(
    /// [`Decodable`] in builds with the `client` feature (clients decode
    /// responses); no bound otherwise.
    ClientDecodable: "client" => Decodable
);
side_trait!(
    /// [`Encodable`] in builds with the `broker` feature (brokers encode
    /// responses); no bound otherwise.
    BrokerEncodable: "broker" => Encodable
);
side_trait!(
    /// [`Decodable`] in builds with the `broker` feature (brokers decode
    /// requests); no bound otherwise.
    BrokerDecodable: "broker" => Decodable
);

// Vendored code (kwire-codegen's `Builder`) wraps the other side's codecs
// in these: `Request`'s side bounds above follow kwire's features, which
// are unified across a user's whole build and visible only from inside
// kwire, so those codecs must compile exactly when kwire has that side.

/// Keeps its items when kwire has the `client` feature (for vendored code).
#[cfg(feature = "client")]
#[macro_export]
#[doc(hidden)]
macro_rules! __if_client {
    ($($item:tt)*) => { $($item)* };
}

/// Drops its items: this kwire has no `client` feature (for vendored code).
#[cfg(not(feature = "client"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __if_client {
    ($($item:tt)*) => {};
}

/// Keeps its items when kwire has the `broker` feature (for vendored code).
#[cfg(feature = "broker")]
#[macro_export]
#[doc(hidden)]
macro_rules! __if_broker {
    ($($item:tt)*) => { $($item)* };
}

/// Drops its items: this kwire has no `broker` feature (for vendored code).
#[cfg(not(feature = "broker"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __if_broker {
    ($($item:tt)*) => {};
}
