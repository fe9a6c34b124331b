//! The client's typed errors.

use super::conn::{Closed, ConnError};
use crate::protocol::api::VersionRange;
use crate::protocol::choose::NoVersion;
use crate::protocol::negotiate::{NegotiationError, NoReply};

/// Anything a client call can fail with.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// answer a version they do not take).
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
    /// The connection's authenticator failed (SASL).
    #[error("authentication ({mechanism}) with {broker} failed: {source}")]
    Auth {
        broker: String,
        mechanism: String,
        #[source]
        source: Box<AuthError>,
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

/// What kind of failure an error is: what a caller reacts to (retry,
/// reconnect, report) and what the CLI's exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// Bad configuration; nothing was sent.
    Config,
    /// The TCP connection or the TLS handshake failed or timed out.
    Connect,
    /// No reply within the deadline, and no byte of one arrived.
    NoReply,
    /// The broker closed the connection (FIN) before a reply.
    Closed,
    /// The broker reset the connection (RST) before a reply.
    Reset,
    /// Part of a reply arrived, then the connection ended or the deadline
    /// passed.
    TruncatedReply,
    /// A reply whose correlation id matches no request sent on the
    /// connection: a reply to a different request.
    UnexpectedReply,
    /// A reply larger than the limit for its API, or than the frame limit.
    ReplyTooLarge,
    /// A reply that does not decode.
    MalformedReply,
    /// The broker answered with an error or would not negotiate.
    BrokerRefused,
    /// No version both sides can use; nothing was sent.
    NoVersion,
    /// Our request could not be encoded; nothing was sent.
    InvalidRequest,
    /// The request could not be written within its deadline: the broker
    /// is not reading.
    WriteStalled,
    /// This client shut the connection down.
    Shutdown,
    /// Authentication (SASL) failed.
    Auth,
    /// The broker says the client's metadata is stale (KIP-1242,
    /// KIP-1102); the cluster layer bootstraps again.
    RebootstrapRequired,
    /// The request cannot be routed as one request: unknown topic, no
    /// leader, partitions or keys served by different brokers, a key that
    /// cannot be read.
    Routing,
    /// The broker throttles this client (KIP-219) past the deadline.
    Throttled,
}

impl ConnError {
    /// The kind of this connection failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            ConnError::Connect { .. }
            | ConnError::ConnectTimeout { .. }
            | ConnError::Tls { .. } => FailureKind::Connect,
            ConnError::Closed { how, .. } => closed_kind(*how),
            ConnError::TimedOut { .. } => FailureKind::NoReply,
            ConnError::WriteTimedOut { .. } => FailureKind::WriteStalled,
            ConnError::TruncatedReply { .. } => FailureKind::TruncatedReply,
            ConnError::UnexpectedReply { .. } => FailureKind::UnexpectedReply,
            ConnError::ReplyTooLarge { .. } => FailureKind::ReplyTooLarge,
            ConnError::Frame { .. } => FailureKind::MalformedReply,
            ConnError::Shutdown { .. } => FailureKind::Shutdown,
        }
    }
}

fn closed_kind(how: Closed) -> FailureKind {
    match how {
        Closed::Eof => FailureKind::Closed,
        Closed::Reset => FailureKind::Reset,
        Closed::TimedOut => FailureKind::NoReply,
    }
}

fn no_reply_kind(how: NoReply) -> FailureKind {
    match how {
        NoReply::Eof => FailureKind::Closed,
        NoReply::Reset => FailureKind::Reset,
        NoReply::TimedOut => FailureKind::NoReply,
    }
}

impl ClientError {
    /// The kind of this failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            ClientError::Conn(e) => e.kind(),
            ClientError::Negotiation { source, .. } => match &**source {
                NegotiationError::ClosedBeforeReply { how, .. } => no_reply_kind(*how),
                NegotiationError::Malformed { .. } => FailureKind::MalformedReply,
                NegotiationError::UnsupportedAtV0 { .. }
                | NegotiationError::NonDowngrade { .. }
                | NegotiationError::BrokerError { .. }
                | NegotiationError::TooManyAttempts(_) => FailureKind::BrokerRefused,
                NegotiationError::RebootstrapRequired { .. } => FailureKind::RebootstrapRequired,
            },
            ClientError::NoVersion(_) => FailureKind::NoVersion,
            ClientError::Encode { .. } => FailureKind::InvalidRequest,
            ClientError::Decode { .. } => FailureKind::MalformedReply,
            ClientError::ClosedAfterRequest { .. } => FailureKind::Closed,
            ClientError::Auth { .. } => FailureKind::Auth,
            ClientError::Config(_) => FailureKind::Config,
        }
    }
}

/// Why authentication failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The broker refused (a SASL error code, a wrong password, a mechanism
    /// the listener does not enable).
    #[error("{0}")]
    Refused(String),
    /// The broker answered a step of the exchange with an error code
    /// (SASL_AUTHENTICATION_FAILED for a wrong password,
    /// UNSUPPORTED_SASL_MECHANISM); `message` is the broker's, escaped.
    #[error("{step}: {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Broker {
        step: &'static str,
        code: kwire::ErrorCode,
        message: Option<String>,
    },
    /// The SCRAM exchange failed on the client's side (a malformed or
    /// forged server message, a wrong server signature).
    #[error(transparent)]
    Scram(#[from] super::sasl::ScramError),
    /// A request of the exchange failed.
    #[error(transparent)]
    Request(#[from] Box<ClientError>),
}

impl From<ClientError> for AuthError {
    fn from(e: ClientError) -> Self {
        AuthError::Request(Box::new(e))
    }
}
