//! Request and response header versions, with every known quirk in one
//! table.
//!
//! The rule (KIP-482): a flexible request body goes with request header v2
//! (tagged fields after the client id), otherwise v1; a flexible response
//! body goes with response header v1, otherwise v0. The exceptions below are
//! the only places the rule does not hold.

use crate::api_key::ApiKey;

/// One exception to the header-version rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderQuirk {
    pub api_key: ApiKey,
    /// The body versions the quirk covers (inclusive).
    pub versions: (i16, i16),
    pub request_header: Option<i16>,
    pub response_header: Option<i16>,
    pub why: &'static str,
}

/// The exceptions, in one place.
pub const HEADER_QUIRKS: &[HeaderQuirk] = &[
    HeaderQuirk {
        api_key: ApiKey(18), // ApiVersions
        versions: (0, i16::MAX),
        request_header: None,
        // KIP-511: a client that sent a version the broker does not know
        // must still be able to read the error reply, so the ApiVersions
        // response header never carries tagged fields.
        response_header: Some(0),
        why: "KIP-511: ApiVersions responses always use response header v0",
    },
    HeaderQuirk {
        api_key: ApiKey(7), // ControlledShutdown
        versions: (0, 0),
        // ControlledShutdown v0 predates the client id field (KAFKA-4507):
        // its header is api key, version and correlation id only.
        request_header: Some(0),
        response_header: None,
        why: "ControlledShutdown v0 uses request header v0 (no client id)",
    },
];

fn quirk(api_key: ApiKey, version: i16) -> Option<&'static HeaderQuirk> {
    HEADER_QUIRKS
        .iter()
        .find(|q| q.api_key == api_key && q.versions.0 <= version && version <= q.versions.1)
}

/// The request header version to use with `api_key` at body `version`.
pub fn request_header_version(api_key: ApiKey, version: i16) -> i16 {
    if let Some(v) = quirk(api_key, version).and_then(|q| q.request_header) {
        return v;
    }
    match api_key.request_flexible_min() {
        Some(min) if version >= min => 2,
        _ => 1,
    }
}

/// The response header version that comes back for `api_key` at `version`.
pub fn response_header_version(api_key: ApiKey, version: i16) -> i16 {
    if let Some(v) = quirk(api_key, version).and_then(|q| q.response_header) {
        return v;
    }
    match api_key.response_flexible_min() {
        Some(min) if version >= min => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_response_header_is_always_v0() {
        assert_eq!(response_header_version(ApiKey::API_VERSIONS, 3), 0);
        assert_eq!(response_header_version(ApiKey::API_VERSIONS, 4), 0);
        assert_eq!(request_header_version(ApiKey::API_VERSIONS, 3), 2);
        assert_eq!(request_header_version(ApiKey::API_VERSIONS, 2), 1);
    }

    #[test]
    fn flexible_rule() {
        // Metadata became flexible at v9.
        assert_eq!(request_header_version(ApiKey::METADATA, 8), 1);
        assert_eq!(request_header_version(ApiKey::METADATA, 9), 2);
        assert_eq!(response_header_version(ApiKey::METADATA, 8), 0);
        assert_eq!(response_header_version(ApiKey::METADATA, 9), 1);
    }
}
