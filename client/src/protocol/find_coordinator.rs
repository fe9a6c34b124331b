//! FindCoordinator in both of its shapes, normalised into one.
//!
//! v0-3 ask for one `Key` and answer with top-level `NodeId`/`Host`/`Port`/
//! `ErrorCode` (no key: the answer is for the key that was asked, as Java's
//! `TransactionManager` notes "for older versions without batching, obtain
//! key from request data"). v4+ (KIP-699, Kafka 3.0) ask for
//! `CoordinatorKeys` and answer one `Coordinators` entry per key. Which
//! shape goes out is decided by the version choice: the batched request
//! needs v4+, the single-key one v3 or lower ([`super::facts`]), so a
//! caller builds the batched form and falls back to one single-key request
//! per key (each with its own key: franz-go 1.19.5 sent the batched request
//! again when it split one, twmb/franz-go#1034) when no version fits.

use kwire::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
use kwire::{ErrorCode, StrBytes};

use super::api::host_port;
use super::route::CoordinatorKind;

/// The first version of the batched form (KIP-699).
pub const BATCHED_FROM: i16 = 4;

/// One key's answer, whatever shape it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordinatorAnswer {
    pub key: String,
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub error: ErrorCode,
    pub message: Option<String>,
}

impl CoordinatorAnswer {
    /// `host:port` of the coordinator.
    pub fn addr(&self) -> String {
        host_port(&self.host, self.port)
    }
}

/// Null and empty both mean "no message".
fn message(m: &Option<StrBytes>) -> Option<String> {
    m.as_ref().filter(|m| !m.is_empty()).map(|m| m.to_string())
}

/// The batched request for `keys` (v4+).
pub fn batched(kind: CoordinatorKind, keys: &[String]) -> FindCoordinatorRequest {
    let mut r = FindCoordinatorRequest::default();
    r.key_type = kind.key_type();
    r.coordinator_keys = keys.iter().map(|k| StrBytes::from(k.clone())).collect();
    r
}

/// The single-key request for `key` (v0-3; a transactional id needs v1+).
pub fn single(kind: CoordinatorKind, key: &str) -> FindCoordinatorRequest {
    let mut r = FindCoordinatorRequest::default();
    r.key_type = kind.key_type();
    r.key = StrBytes::from(key.to_string());
    r
}

/// The answers in `resp`, read at `version`, to a request that asked for
/// `asked`. A batched response may leave a key out (the caller asks again)
/// and only keys that were asked are kept.
pub fn answers(
    resp: &FindCoordinatorResponse,
    version: i16,
    asked: &[String],
) -> Vec<CoordinatorAnswer> {
    if version >= BATCHED_FROM {
        return resp
            .coordinators
            .iter()
            .filter(|c| asked.iter().any(|k| **k == *c.key))
            .map(|c| CoordinatorAnswer {
                key: c.key.to_string(),
                node_id: c.node_id,
                host: c.host.to_string(),
                port: c.port,
                error: ErrorCode(c.error_code),
                message: message(&c.error_message),
            })
            .collect();
    }
    match asked {
        [key] => vec![CoordinatorAnswer {
            key: key.clone(),
            node_id: resp.node_id,
            host: resp.host.to_string(),
            port: resp.port,
            error: ErrorCode(resp.error_code),
            message: message(&resp.error_message),
        }],
        // A single-key answer cannot say which of several keys it is for.
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::facts::request_facts;
    use kwire::messages::find_coordinator_response::Coordinator;
    use kwire::{Message, VersionRange};

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_two_request_shapes_need_their_versions() {
        let b = batched(CoordinatorKind::Transaction, &keys(&["a", "b"]));
        assert_eq!(request_facts(&b).allowed.min(), Some(BATCHED_FROM));
        let b1 = batched(CoordinatorKind::Group, &keys(&["a"]));
        assert_eq!(request_facts(&b1).allowed.min(), Some(BATCHED_FROM));
        let s = single(CoordinatorKind::Group, "g");
        assert_eq!(request_facts(&s).allowed.max(), Some(BATCHED_FROM - 1));
        let t = single(CoordinatorKind::Transaction, "tx");
        let f = request_facts(&t);
        assert_eq!(
            f.allowed.as_range(),
            Some(VersionRange::new(1, BATCHED_FROM - 1))
        );
        // Each shape encodes in its own versions.
        assert!(s.encode_to_bytes(0).is_ok());
        assert!(b.encode_to_bytes(BATCHED_FROM).is_ok());
        assert!(b.encode_to_bytes(BATCHED_FROM - 1).is_err());
    }

    #[test]
    fn both_response_shapes_normalise_to_one() {
        let mut old = FindCoordinatorResponse::default();
        old.node_id = 3;
        old.host = "b3".into();
        old.port = 9092;
        for v in 0..BATCHED_FROM {
            // The old shape carries no key: it is the one asked for.
            let a = answers(&old, v, &keys(&["g1"]));
            assert_eq!(
                a,
                vec![CoordinatorAnswer {
                    key: "g1".into(),
                    node_id: 3,
                    host: "b3".into(),
                    port: 9092,
                    error: ErrorCode::NONE,
                    message: None
                }]
            );
            assert!(answers(&old, v, &keys(&["a", "b"])).is_empty());
        }
        let mut new = FindCoordinatorResponse::default();
        for (k, node, err) in [("g1", 1, 0), ("g2", -1, 15), ("stranger", 2, 0)] {
            let mut c = Coordinator::default();
            c.key = k.into();
            c.node_id = node;
            c.host = format!("b{node}").into();
            c.port = 9092;
            c.error_code = err;
            new.coordinators.push(c);
        }
        let a = answers(&new, BATCHED_FROM, &keys(&["g1", "g2"]));
        assert_eq!(a.len(), 2, "keys that were not asked are dropped");
        assert_eq!((a[0].key.as_str(), a[0].node_id), ("g1", 1));
        assert_eq!(a[1].error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
        assert_eq!(a[0].addr(), "b1:9092");
    }
}
