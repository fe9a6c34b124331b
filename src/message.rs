//! The traits every generated message implements.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};

use crate::api_key::ApiKey;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::version::VersionRange;
use crate::wire::Reader;

/// A generated struct (a message or a struct nested in one) that can be
/// written at a version. `size` validates everything `write` relies on.
pub trait Encodable {
    /// Encoded size at `version`; fails where encoding would fail.
    fn size(&self, version: i16) -> Result<usize, EncodeError>;
    /// Writes the value. Callers run `size` first: `write` assumes the value
    /// was validated for this version and does not fail.
    #[doc(hidden)]
    fn write(&self, buf: &mut BytesMut, version: i16);
}

/// A generated struct that can be read at a version.
pub trait Decodable: Sized {
    fn read(r: &mut Reader, version: i16) -> Result<Self, DecodeError>;
}

/// A top-level message: a request, response, header or data message.
pub trait Message: Encodable + Decodable + Default + Clone + Debug + PartialEq {
    /// The schema name, e.g. `ApiVersionsRequest`.
    const NAME: &'static str;
    /// `validVersions`, all of them (including an unstable latest version).
    const VERSIONS: VersionRange;
    /// The first flexible version (KIP-482), if any.
    const FLEXIBLE_MIN: Option<i16>;
    /// The last version is still under development (`latestVersionUnstable`).
    const LATEST_VERSION_UNSTABLE: bool;

    /// Checks `version` against the valid versions.
    fn check_version(version: i16) -> Result<(), EncodeError> {
        if Self::VERSIONS.contains(version) {
            Ok(())
        } else {
            Err(EncodeError::UnsupportedVersion {
                message: Self::NAME,
                version,
                valid: Self::VERSIONS,
            })
        }
    }

    /// Encoded size at `version`, validating the value for that version.
    fn encoded_len(&self, version: i16) -> Result<usize, EncodeError> {
        Self::check_version(version)?;
        self.size(version)
    }

    /// Appends the encoding at `version` to `buf`. On error nothing is
    /// appended.
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        let len = self.encoded_len(version)?;
        buf.reserve(len);
        self.write(buf, version);
        Ok(())
    }

    /// Encodes into a new buffer.
    fn encode_to_bytes(&self, version: i16) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::new();
        self.encode(&mut buf, version)?;
        Ok(buf.freeze())
    }

    /// Decodes one message at `version` from the reader, leaving what follows.
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        if !Self::VERSIONS.contains(version) {
            return Err(r
                .error(DecodeErrorKind::UnsupportedVersion {
                    version,
                    valid: Some(Self::VERSIONS),
                })
                .in_message(Self::NAME, version));
        }
        Self::read(r, version).map_err(|e| e.in_message(Self::NAME, version))
    }

    /// Decodes a message that must fill `bytes` exactly.
    fn decode_bytes(bytes: Bytes, version: i16) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let m = Self::decode(&mut r, version)?;
        r.expect_end()
            .map_err(|e| e.in_message(Self::NAME, version))?;
        Ok(m)
    }
}

/// A request: tied to its API key, its response type and header versions.
pub trait Request: Message {
    const API_KEY: ApiKey;
    type Response: Response;

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
pub trait Response: Message {
    const API_KEY: ApiKey;
}
