//! What every broker connection of a client shares: identity, deadlines,
//! caps, fallback versions, and the authentication step.

use std::sync::Arc;
use std::time::Duration;

use super::auth::Authenticator;
use super::conn::ConnConfig;
use crate::protocol::api::ApiKey;
use crate::protocol::apiversions::{self, CLIENT_SOFTWARE_NAME, CLIENT_SOFTWARE_VERSION};
use crate::protocol::negotiate::FallbackVersions;
use crate::protocol::versions::VersionCaps;

/// Client-wide settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// The request header's client id.
    pub client_id: Option<String>,
    /// ClientSoftwareName/Version sent with ApiVersions v3+; sanitized to
    /// Kafka's pattern when set through [`ClientConfig::software`].
    pub software_name: String,
    pub software_version: String,
    pub conn: ConnConfig,
    /// How long to wait for an ApiVersions reply before treating the
    /// connection as "no reply" (librdkafka: api.version.request.timeout.ms).
    pub api_versions_timeout: Duration,
    /// Per-API maximums (user caps; later release pins).
    pub caps: VersionCaps,
    /// Used when a broker never answers ApiVersions (brokers before 0.10),
    /// like librdkafka's broker.version.fallback.
    pub fallback: Option<FallbackVersions>,
    /// Runs on every new connection after ApiVersions, before it carries
    /// any request (SASL: KIP-43, KIP-152); `None` = no authentication.
    pub authenticator: Option<Arc<dyn Authenticator>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            client_id: Some("kwire".to_string()),
            software_name: CLIENT_SOFTWARE_NAME.to_string(),
            software_version: CLIENT_SOFTWARE_VERSION.to_string(),
            conn: ConnConfig::default(),
            api_versions_timeout: Duration::from_secs(10),
            caps: VersionCaps::default(),
            fallback: None,
            authenticator: None,
        }
    }
}

impl ClientConfig {
    /// Sets the software name and version, made valid for Kafka's pattern.
    pub fn software(mut self, name: &str, version: &str) -> Self {
        self.software_name = apiversions::sanitize_software_field(name);
        self.software_version = apiversions::sanitize_software_field(version);
        self
    }

    /// Sets per-API fallback maximums used when ApiVersions gets no reply.
    pub fn fallback_versions(mut self, max: impl IntoIterator<Item = (ApiKey, i16)>) -> Self {
        self.fallback = Some(FallbackVersions {
            source: "configured fallback".to_string(),
            max: max.into_iter().collect(),
        });
        self
    }

    /// Adds a user cap for one API.
    pub fn cap(mut self, api: ApiKey, max: i16) -> Self {
        self.caps = std::mem::take(&mut self.caps).cap("user cap", api, max);
        self
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("client_id", &self.client_id)
            .field("software_name", &self.software_name)
            .field("software_version", &self.software_version)
            .field("conn", &self.conn)
            .field("api_versions_timeout", &self.api_versions_timeout)
            .field("caps", &self.caps)
            .field("fallback", &self.fallback)
            .field(
                "authenticator",
                &self.authenticator.as_ref().map(|a| a.name()),
            )
            .finish()
    }
}
