//! What every broker connection of a client shares: identity, deadlines,
//! caps, fallback versions, and the authentication step.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kwire::KafkaRelease;

use super::auth::Authenticator;
use super::conn::ConnConfig;
use super::observe::Observer;
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
    /// Per-API maximums (user caps, a release pin: [`ClientConfig::release_pin`]).
    pub caps: VersionCaps,
    /// Used when a broker never answers ApiVersions (brokers before 0.10),
    /// like librdkafka's broker.version.fallback.
    pub fallback: Option<FallbackVersions>,
    /// Runs on every new connection after ApiVersions, before it carries
    /// any request (SASL: KIP-43, KIP-152); `None` = no authentication.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// Sees every negotiation and every answered request of every broker
    /// using this configuration ([`super::observe`]; [`super::WireLog`]
    /// keeps a bounded record); `None` = nobody watches (no cost).
    pub observer: Option<Arc<dyn Observer>>,
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
            observer: None,
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

    /// Pins a Kafka release: every API is capped at the highest version
    /// that release accepts by default (its unstable latest left out), and
    /// an API the release does not have is capped below v0, so it is never
    /// sent. A cap, not a table: negotiation still runs and the broker's
    /// own range still bounds every choice (KIP-35), so a pin newer than
    /// the broker changes nothing and an older one keeps the client to what
    /// clients of that release sent.
    pub fn release_pin(mut self, release: KafkaRelease) -> Self {
        self.caps = std::mem::take(&mut self.caps)
            .source(&format!("release {release}"), release_caps(release));
        self
    }

    /// Uses `release`'s table (the highest version of each API it has) when
    /// a broker never answers ApiVersions, as librdkafka's
    /// `broker.version.fallback` names a release. Only brokers before 0.10
    /// (KIP-35) stay silent, so a release with ApiVersions is accepted but
    /// mostly useful to say "assume this much" behind a proxy that eats
    /// the request.
    pub fn fallback_release(mut self, release: KafkaRelease) -> Self {
        self.fallback = Some(FallbackVersions {
            source: format!("release {release} (fallback)"),
            max: release
                .apis()
                .filter_map(|a| a.versions.map(|v| (a.key, v.max)))
                .collect(),
        });
        self
    }

    /// Adds a user cap for one API.
    pub fn cap(mut self, api: ApiKey, max: i16) -> Self {
        self.caps = std::mem::take(&mut self.caps).cap("user cap", api, max);
        self
    }
}

/// Per API this build knows: the release's highest default version, or -1
/// (below every version) when the release does not have the API.
fn release_caps(release: KafkaRelease) -> BTreeMap<ApiKey, i16> {
    kwire::api_key::API_TABLE
        .iter()
        .filter(|i| i.versions.is_some())
        .map(|i| (i.key, release.max_version(i.key).unwrap_or(-1)))
        .collect()
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
            .field("observer", &self.observer.is_some())
            .finish()
    }
}
