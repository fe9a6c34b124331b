//! The client's typed errors.

use crate::choose::NoVersion;
use crate::conn::ConnError;
use crate::negotiate::NegotiationError;
use crate::proto::VersionRange;

/// Anything a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("ApiVersions negotiation with {broker} failed: {source}")]
    Negotiation {
        broker: String,
        #[source]
        source: Box<NegotiationError>,
    },
    /// No version can be used; nothing was sent.
    #[error(transparent)]
    NoVersion(#[from] Box<NoVersion>),
    #[error("cannot encode {api} v{version}: {source}")]
    Encode {
        api: String,
        version: i16,
        #[source]
        source: kwire::EncodeError,
    },
    #[error("cannot decode the {api} v{version} response from {broker}: {source}")]
    Decode {
        api: String,
        version: i16,
        broker: String,
        #[source]
        source: kwire::DecodeError,
    },
    /// The broker closed the connection right after a request: how brokers
    /// answer a version they do not take (negotiation.md §1.5).
    #[error(
        "broker {broker} closed the connection right after {api} v{version} \
         (how brokers reject a version they do not take); {}",
        closed_detail(*retried, *retry_safe, *now_advertised)
    )]
    ClosedAfterRequest {
        broker: String,
        api: String,
        version: i16,
        /// The request was already retried once.
        retried: bool,
        /// Whether the request is safe to send twice.
        retry_safe: bool,
        /// The broker's range for the API after renegotiating, if it came back.
        now_advertised: Option<VersionRange>,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn closed_detail(retried: bool, retry_safe: bool, now: Option<VersionRange>) -> String {
    let now = match now {
        Some(r) => format!("after renegotiating the broker advertises {r}"),
        None => "the broker did not come back".to_string(),
    };
    if retried {
        format!("it closed again on the retry; {now}")
    } else if !retry_safe {
        format!("not retried because the request is not safe to send twice; {now}")
    } else {
        now
    }
}

impl From<NoVersion> for ClientError {
    fn from(e: NoVersion) -> Self {
        ClientError::NoVersion(Box::new(e))
    }
}
