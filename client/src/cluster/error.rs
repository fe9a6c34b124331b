//! The cluster layer's typed errors.

use std::time::Duration;

use kwire::ErrorCode;

use crate::net::{ClientError, FailureKind};
use crate::protocol::route::{CoordinatorKind, TopicPartition, TopicRef};

/// Anything a [`super::Cluster`] call can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// No broker (known node or bootstrap address) gave metadata.
    #[error("no broker answered Metadata: {}", fmt_attempts(attempts))]
    NoMetadata {
        attempts: Vec<(String, ClientError)>,
    },
    /// A request to one broker failed.
    #[error("{broker}: {source}")]
    Broker {
        broker: String,
        #[source]
        source: ClientError,
    },
    /// The call's deadline passed; `last` is the last failure, if any.
    #[error(
        "{what}: not done within {after:?} ({attempts} attempt(s)){}",
        last.as_ref().map(|l| format!("; last: {l}")).unwrap_or_default()
    )]
    Deadline {
        what: String,
        after: Duration,
        attempts: u32,
        #[source]
        last: Option<Box<ClusterError>>,
    },
    /// Metadata does not know the topic.
    #[error("unknown topic: {topic}")]
    UnknownTopic { topic: TopicRef },
    /// The partition has no leader metadata can name.
    #[error("{partition} has no leader")]
    NoLeader { partition: TopicPartition },
    /// The request names partitions (or keys) served by different brokers;
    /// nothing was sent.
    #[error(
        "{what} are served by different brokers ({}): send one request per broker; nothing was sent",
        fmt_split(split)
    )]
    SplitRequired {
        what: String,
        split: Vec<(i32, Vec<String>)>,
    },
    /// FindCoordinator answered an error that looking again does not fix
    /// (an authorization failure, an invalid key). The broker's message is
    /// escaped when shown.
    #[error(
        "the {kind} coordinator of {}: {code}{}",
        crate::escape::name(key),
        message.as_deref().map(|m| format!(" ({})", crate::escape::name(m))).unwrap_or_default()
    )]
    Coordinator {
        kind: CoordinatorKind,
        key: String,
        code: ErrorCode,
        message: Option<String>,
    },
    /// The broker throttles this client (KIP-219) beyond the deadline.
    #[error("{broker} throttles this client for {remaining:?} more, past the deadline; nothing was sent")]
    Throttled { broker: String, remaining: Duration },
    /// The request cannot be routed (a key its kind needs is unreadable).
    #[error("cannot route the request: {0}")]
    Unroutable(String),
    /// A node id that metadata does not list.
    #[error("node {0} is not in the cluster's metadata")]
    UnknownNode(i32),
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn fmt_attempts(a: &[(String, ClientError)]) -> String {
    let v: Vec<String> = a.iter().map(|(addr, e)| format!("{addr}: {e}")).collect();
    v.join("; ")
}

fn fmt_split(s: &[(i32, Vec<String>)]) -> String {
    let v: Vec<String> = s
        .iter()
        .map(|(node, what)| format!("node {node}: {}", what.join(", ")))
        .collect();
    v.join("; ")
}

impl ClusterError {
    /// The kind of this failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            ClusterError::NoMetadata { attempts } => attempts
                .first()
                .map_or(FailureKind::Connect, |(_, e)| e.kind()),
            ClusterError::Broker { source, .. } => source.kind(),
            ClusterError::Deadline { last, .. } => {
                last.as_ref().map_or(FailureKind::NoReply, |l| l.kind())
            }
            ClusterError::UnknownTopic { .. }
            | ClusterError::NoLeader { .. }
            | ClusterError::SplitRequired { .. }
            | ClusterError::Unroutable(_)
            | ClusterError::UnknownNode(_) => FailureKind::Routing,
            ClusterError::Coordinator { .. } => FailureKind::BrokerRefused,
            ClusterError::Throttled { .. } => FailureKind::Throttled,
            ClusterError::Config(_) => FailureKind::Config,
        }
    }

    /// The broker error underneath, if any.
    pub fn client_error(&self) -> Option<&ClientError> {
        match self {
            ClusterError::Broker { source, .. } => Some(source),
            ClusterError::Deadline { last, .. } => last.as_ref().and_then(|l| l.client_error()),
            _ => None,
        }
    }
}
