//! The ApiVersions request and the classification of its reply, on the
//! generated codecs. Feeds [`super::negotiate`].

use bytes::Bytes;
use kwire::messages::api_versions_request::ApiVersionsRequest;
use kwire::messages::api_versions_response::ApiVersionsResponse;
use kwire::{ApiKey, ErrorCode, Message, StrBytes};

use super::negotiate::{AdvertisedApi, FinalizedFeature, RawTable, Reply, SupportedFeature};

/// Our ClientSoftwareName (KIP-511, ApiVersions v3+).
pub const CLIENT_SOFTWARE_NAME: &str = "kwire-client";
/// Our ClientSoftwareVersion.
pub const CLIENT_SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether `s` matches Kafka's required pattern for ClientSoftwareName and
/// ClientSoftwareVersion, `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`
/// (`ApiVersionsRequest.isValid`); a broker answers INVALID_REQUEST (42)
/// otherwise (IBM/sarama#2291).
pub fn valid_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: u8| c.is_ascii_alphanumeric();
    let inner = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
    match b {
        [] => false,
        [only] => edge(*only),
        [first, mid @ .., last] => edge(*first) && edge(*last) && mid.iter().all(|&c| inner(c)),
    }
}

/// Makes any string valid for the pattern: invalid characters become `-`,
/// invalid edges are trimmed; an empty result becomes `unknown`.
pub fn sanitize_software_field(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "unknown".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The node a connection is expected to reach, known from metadata: sent
/// with ApiVersions v5+ so a broker that is not that node of that cluster
/// answers REBOOTSTRAP_REQUIRED instead of serving a client whose metadata
/// is stale (KIP-1242). Bootstrap connections have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub cluster_id: String,
    pub node_id: i32,
}

/// The first ApiVersions version that carries ClusterId and NodeId.
const IDENTITY_VERSION: i16 = 5;
/// The first version with ClientSoftwareName/Version (KIP-511).
const SOFTWARE_VERSION: i16 = 3;

/// The request we send at `version` (fields a version lacks are left at
/// their defaults, which the encoder drops below that version).
pub fn request(
    version: i16,
    software_name: &str,
    software_version: &str,
    identity: Option<&Identity>,
) -> ApiVersionsRequest {
    let mut r = ApiVersionsRequest::default();
    if version >= SOFTWARE_VERSION {
        r.client_software_name = StrBytes::from(software_name.to_string());
        r.client_software_version = StrBytes::from(software_version.to_string());
    }
    if let (Some(id), true) = (identity, version >= IDENTITY_VERSION) {
        r.cluster_id = Some(StrBytes::from(id.cluster_id.clone()));
        r.node_id = id.node_id;
    }
    r
}

fn raw_table(resp: &ApiVersionsResponse, decoded_at: i16) -> RawTable {
    RawTable {
        decoded_at,
        apis: resp
            .api_keys
            .iter()
            .map(|a| AdvertisedApi {
                api_key: ApiKey(a.api_key),
                min: a.min_version,
                max: a.max_version,
            })
            .collect(),
        supported_features: resp
            .supported_features
            .iter()
            .map(|f| SupportedFeature {
                name: f.name.to_string(),
                min: f.min_version,
                max: f.max_version,
            })
            .collect(),
        finalized_features_epoch: resp.finalized_features_epoch,
        finalized_features: resp
            .finalized_features
            .iter()
            .map(|f| FinalizedFeature {
                name: f.name.to_string(),
                min_level: f.min_version_level,
                max_level: f.max_version_level,
            })
            .collect(),
        throttle_time_ms: resp.throttle_time_ms,
    }
}

/// Classifies the body of the reply to ApiVersions sent at `requested`.
///
/// * Error 35: the body is read as v0, as KIP-511 says (a 2.4+ broker
///   writes v0 whatever was asked); not valid v0 = `advertised: None`.
/// * Otherwise the body is read at `requested`, then at each lower version
///   (tansu answers v5 with a v3 body; Java's `ApiVersionsResponse.parse`
///   also falls back). The first clean decode wins.
/// * A non-zero error is surfaced, never a table (franz-go commit 582e0f21).
pub fn classify(requested: i16, body: Bytes) -> Reply {
    if body.len() < 2 {
        return Reply::Malformed {
            detail: format!("{} byte body, no error code", body.len()),
        };
    }
    let code = ErrorCode(i16::from_be_bytes([body[0], body[1]]));
    if code == ErrorCode::UNSUPPORTED_VERSION {
        let advertised = ApiVersionsResponse::decode_bytes(body, 0)
            .ok()
            .map(|r| raw_table(&r, 0).apis);
        return Reply::UnsupportedVersion { advertised };
    }
    let top = requested.min(ApiVersionsResponse::VERSIONS.max);
    let mut first_err = None;
    for v in (0..=top).rev() {
        match ApiVersionsResponse::decode_bytes(body.clone(), v) {
            Ok(r) if r.error_code != ErrorCode::NONE.0 => {
                return Reply::Error {
                    code: ErrorCode(r.error_code),
                }
            }
            Ok(r) => return Reply::Table(raw_table(&r, v)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if code != ErrorCode::NONE {
        return Reply::Error { code };
    }
    Reply::Malformed {
        detail: first_err.map(|e| e.to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::messages::api_versions_response::ApiVersion;

    #[test]
    fn software_pattern() {
        for ok in ["kwire-client", "0.1.0", "a", "1.0.0-rc1", "librdkafka"] {
            assert!(valid_software_field(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "bad name!", "a_b", ".x", "devel ", "é"] {
            assert!(!valid_software_field(bad), "{bad}");
        }
        assert!(valid_software_field(CLIENT_SOFTWARE_NAME));
        assert!(valid_software_field(CLIENT_SOFTWARE_VERSION));
        assert_eq!(sanitize_software_field("(devel)"), "devel");
        assert_eq!(sanitize_software_field("my app 1"), "my-app-1");
        assert_eq!(sanitize_software_field("!!"), "unknown");
        assert!(valid_software_field(&sanitize_software_field(
            "go1.22 devel +abc"
        )));
    }

    fn resp(error_code: i16, keys: &[(i16, i16, i16)]) -> ApiVersionsResponse {
        let mut r = ApiVersionsResponse::default();
        r.error_code = error_code;
        for &(k, min, max) in keys {
            let mut a = ApiVersion::default();
            a.api_key = k;
            a.min_version = min;
            a.max_version = max;
            r.api_keys.push(a);
        }
        r
    }

    #[test]
    fn kip511_reply_is_read_as_v0() {
        // The exact bytes of a 2.4+ broker's reply (after the header):
        // error 35, int32 count 1, key 18 min 0 max 4.
        let body = Bytes::from_static(&[0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 4]);
        assert_eq!(
            classify(5, body),
            Reply::UnsupportedVersion {
                advertised: Some(vec![AdvertisedApi {
                    api_key: ApiKey::API_VERSIONS,
                    min: 0,
                    max: 4
                }])
            }
        );
        let empty = resp(ErrorCode::UNSUPPORTED_VERSION.0, &[])
            .encode_to_bytes(0)
            .unwrap();
        assert_eq!(
            classify(3, empty),
            Reply::UnsupportedVersion {
                advertised: Some(vec![])
            }
        );
    }

    #[test]
    fn librdkafka_mock_error_body_is_not_v0() {
        // librdkafka's mock: 17 bytes after the 4-byte correlation id.
        let body = Bytes::from_static(&[
            0x00, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0,
        ]);
        assert_eq!(
            classify(3, body),
            Reply::UnsupportedVersion { advertised: None }
        );
    }

    #[test]
    fn lower_shaped_success_body_is_accepted() {
        let r = resp(
            ErrorCode::NONE.0,
            &[
                (ApiKey::DESCRIBE_CLUSTER.0, 0, 1),
                (ApiKey::FETCH.0, 0, 17),
                (ApiKey::API_VERSIONS.0, 0, 4),
            ],
        );
        let v3 = r.encode_to_bytes(3).unwrap();
        match classify(4.min(ApiVersionsResponse::VERSIONS.max), v3.clone()) {
            Reply::Table(t) => {
                assert!(t.decoded_at >= 3);
                assert_eq!(t.apis.len(), 3);
                assert_eq!(t.apis[0].api_key, ApiKey::DESCRIBE_CLUSTER);
            }
            other => panic!("{other:?}"),
        }
        // A v0 body answered to v3.
        let v0 = r.encode_to_bytes(0).unwrap();
        match classify(3, v0) {
            Reply::Table(t) => assert_eq!(t.decoded_at, 0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_are_surfaced() {
        let b = resp(ErrorCode::INVALID_REQUEST.0, &[])
            .encode_to_bytes(3)
            .unwrap();
        assert_eq!(
            classify(3, b),
            Reply::Error {
                code: ErrorCode::INVALID_REQUEST
            }
        );
        // Undecodable body with a non-zero code: still the code.
        assert_eq!(
            classify(3, Bytes::from_static(&[0, 58, 1])),
            Reply::Error {
                code: ErrorCode::SASL_AUTHENTICATION_FAILED
            }
        );
        assert!(matches!(
            classify(3, Bytes::from_static(&[0])),
            Reply::Malformed { .. }
        ));
        assert!(matches!(
            classify(3, Bytes::from_static(&[0, 0, 9, 9, 9])),
            Reply::Malformed { .. }
        ));
    }

    #[test]
    fn request_fields_by_version() {
        let r = request(3, "kwire-client", "0.1.0", None);
        assert_eq!(&*r.client_software_name, "kwire-client");
        assert!(r.encode_to_bytes(3).is_ok());
        let r0 = request(0, "kwire-client", "0.1.0", None);
        assert_eq!(r0.encode_to_bytes(0).unwrap().len(), 0);
        let id = Identity {
            cluster_id: "c1".into(),
            node_id: 3,
        };
        // Below v5 the identity is not sent (the fields stay at their
        // defaults, so the encoder accepts the request).
        let r4 = request(4, "kwire-client", "0.1.0", Some(&id));
        assert_eq!((r4.cluster_id.as_deref(), r4.node_id), (None, -1));
        assert!(r4.encode_to_bytes(4).is_ok());
        if ApiVersionsRequest::VERSIONS.max >= 5 {
            let r5 = request(5, "kwire-client", "0.1.0", Some(&id));
            assert_eq!((r5.cluster_id.as_deref(), r5.node_id), (Some("c1"), 3));
            assert!(r5.encode_to_bytes(5).is_ok());
        }
    }
}
