//! Cluster administration on [`Cluster`]: topics, partitions, configs, the
//! cluster's description, finalized features, consumer groups.
//!
//! Every call negotiates like any other request (the version is the
//! highest the answering broker, our codecs and the caps allow) and is
//! routed by what it is: topic creation, deletion, partition creation and
//! feature updates go to the controller (Metadata's controller id; a KRaft
//! broker forwards to the active controller, KIP-590, and a ZooKeeper-era
//! broker that is not the controller answers NOT_CONTROLLER, which
//! refreshes metadata and tries again); a broker's own configs go to that
//! broker; group descriptions to each group's coordinator; group listings
//! to every broker.
//!
//! Batch calls answer one typed result per item (topic, resource, feature,
//! group): a failed item carries its error code's name and the broker's
//! message, escaped for a terminal ([`ItemError`]); a failure of the whole
//! call is an [`AdminError`].

mod configs;
mod describe;
mod features;
mod groups;
mod topics;

use std::fmt;
use std::sync::Arc;

use kwire::ErrorCode;

use crate::cluster::{Cluster, ClusterError};
use crate::escape;
use crate::net::FailureKind;

pub use configs::{
    AlterOp, ConfigEntry, ConfigResource, ConfigSource, ResourceConfigs, ResourceResult,
};
pub use describe::{ClusterBroker, ClusterDescription};
pub use features::{FeatureLevels, FeatureResult, FeatureUpdate, FinalizedWait, UpgradeType};
pub use groups::{GroupDescription, GroupListing, GroupMember, ListedGroups};
pub use topics::{
    CreatedTopic, DeletedTopic, NewPartitions, NewTopic, PartitionsResult, TopicDescription,
    TopicResult,
};

/// One item's failure, as the broker reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub code: ErrorCode,
    /// The broker's message, escaped for a terminal and bounded in length.
    pub message: Option<String>,
}

impl ItemError {
    /// `None` for NONE; the error otherwise (the message escaped).
    pub fn check(code: i16, message: Option<&str>) -> Result<(), ItemError> {
        let code = ErrorCode(code);
        if code.is_ok() {
            return Ok(());
        }
        Err(ItemError {
            code,
            message: message.filter(|m| !m.is_empty()).map(escape::name),
        })
    }

    /// The code's name (`TOPIC_ALREADY_EXISTS`), or its number.
    pub fn name(&self) -> String {
        self.code
            .name()
            .map_or_else(|| format!("error {}", self.code.0), str::to_string)
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code.0)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ItemError {}

/// A failure of a whole admin call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdminError {
    /// The request could not be sent or answered.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The broker refused the whole request (a top-level error code).
    #[error("{api}: {error}")]
    Refused { api: &'static str, error: ItemError },
    /// The request is not valid as given; nothing was sent.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A wait ended before the cluster reached the state asked for.
    #[error("{0}")]
    Timeout(String),
}

impl AdminError {
    pub fn kind(&self) -> FailureKind {
        match self {
            AdminError::Cluster(e) => e.kind(),
            AdminError::Refused { .. } => FailureKind::BrokerRefused,
            AdminError::Invalid(_) => FailureKind::Config,
            AdminError::Timeout(_) => FailureKind::NoReply,
        }
    }
}

/// Administration of one cluster.
#[derive(Clone)]
pub struct Admin {
    cluster: Arc<Cluster>,
}

impl Admin {
    pub fn new(cluster: Arc<Cluster>) -> Admin {
        Admin { cluster }
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }
}

/// A broker string (a name, a host) as the broker sent it, as text.
pub(crate) fn text(s: &kwire::StrBytes) -> String {
    s.to_string()
}

fn is_no_version(e: &ClusterError) -> bool {
    e.kind() == FailureKind::NoVersion
}

/// A generated message (non-exhaustive: new fields may come with new
/// schema versions) from its default and the fields set by `f`.
pub(crate) fn build<T: Default>(f: impl FnOnce(&mut T)) -> T {
    let mut t = T::default();
    f(&mut t);
    t
}
