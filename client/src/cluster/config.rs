//! What a [`super::Cluster`] adds to the per-connection configuration.

use std::time::Duration;

use super::backoff::Backoff;
use crate::net::ClientConfig;

/// Cluster-wide settings.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// What every broker connection uses.
    pub client: ClientConfig,
    /// The deadline of one call, retries included (Java's
    /// default.api.timeout.ms is 60 s; 30 s here, like request.timeout.ms).
    /// [`crate::net::SendOptions::timeout`] overrides it per call.
    pub timeout: Duration,
    /// Waits between retries.
    pub backoff: Backoff,
    /// A broker that could not be reached is not picked as "any broker"
    /// for this long (Java's reconnect.backoff.max.ms, 1 s).
    pub unreachable_for: Duration,
    /// Metadata older than this is refreshed before it routes a request
    /// (Java's metadata.max.age.ms, 5 minutes).
    pub metadata_max_age: Duration,
    /// Whether Metadata may create the topics it asks for. Brokers before
    /// Metadata v4 (0.11) cannot be told not to, and decide by their own
    /// `auto.create.topics.enable`.
    pub auto_create_topics: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            client: ClientConfig::default(),
            timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            unreachable_for: Duration::from_secs(1),
            metadata_max_age: Duration::from_secs(300),
            auto_create_topics: false,
        }
    }
}

impl ClusterConfig {
    /// With `client` for the connections.
    pub fn with_client(client: ClientConfig) -> Self {
        ClusterConfig {
            client,
            ..Default::default()
        }
    }
}
