//! Finalized features (KIP-584): describe them, update them, and wait
//! until every broker reports the new level.
//!
//! Kafka has no DescribeFeatures request: features travel in ApiVersions
//! v3+ (Java's `describeFeatures` asks one broker's ApiVersions too). A
//! rolling upgrade raises `metadata.version`, `transaction.version` and
//! `group.version` with UpdateFeatures at the controller; brokers learn the
//! new level from the metadata log at their own pace, so
//! [`Admin::wait_for_finalized`] asks every broker until all agree.

use std::collections::BTreeMap;
use std::time::Duration;

use kwire::messages::update_features_request::FeatureUpdateKey;
use kwire::messages::{ApiVersionsRequest, ApiVersionsResponse, UpdateFeaturesRequest};
use kwire::{StrBytes, VersionRange};
use tokio::time::{sleep, Instant};

use super::{text, Admin, AdminError, ItemError};
use crate::cluster::Target;
use crate::net::SendOptions;

/// How a level may move (UpdateFeatures v1+'s `UpgradeType`, KIP-778).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeType {
    Upgrade,
    /// A lossless downgrade (the broker refuses one that would lose data).
    SafeDowngrade,
    /// A lossy downgrade.
    UnsafeDowngrade,
}

impl UpgradeType {
    fn wire(self) -> i8 {
        match self {
            UpgradeType::Upgrade => 1,
            UpgradeType::SafeDowngrade => 2,
            UpgradeType::UnsafeDowngrade => 3,
        }
    }
}

/// One feature to move to `level` (0 removes the finalized feature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureUpdate {
    pub feature: String,
    pub level: i16,
    pub upgrade: UpgradeType,
}

/// One feature's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureResult {
    pub feature: String,
    pub result: Result<(), ItemError>,
}

/// One broker's feature levels (its ApiVersions v3+ answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureLevels {
    pub node: Option<i32>,
    pub broker: String,
    /// The levels this broker's software supports.
    pub supported: BTreeMap<String, VersionRange>,
    /// The cluster-wide finalized levels as this broker knows them (only
    /// when its epoch is known, >= 0); a feature at level 0 may be absent
    /// (3.9+ brokers leave level-0 features out).
    pub finalized: BTreeMap<String, VersionRange>,
    pub epoch: Option<i64>,
}

impl FeatureLevels {
    /// The finalized level of `name` (0 when absent).
    pub fn level(&self, name: &str) -> i16 {
        self.finalized.get(name).map_or(0, |r| r.max)
    }

    fn from_response(node: Option<i32>, broker: String, r: &ApiVersionsResponse) -> Self {
        let epoch = (r.finalized_features_epoch >= 0).then_some(r.finalized_features_epoch);
        FeatureLevels {
            node,
            broker,
            supported: r
                .supported_features
                .iter()
                .map(|f| {
                    (
                        text(&f.name),
                        VersionRange::new(f.min_version, f.max_version),
                    )
                })
                .collect(),
            finalized: if epoch.is_some() {
                r.finalized_features
                    .iter()
                    .map(|f| {
                        (
                            text(&f.name),
                            VersionRange::new(f.min_version_level, f.max_version_level),
                        )
                    })
                    .collect()
            } else {
                BTreeMap::new()
            },
            epoch,
        }
    }
}

/// What [`Admin::wait_for_finalized`] saw when every broker agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedWait {
    pub brokers: Vec<FeatureLevels>,
    pub polls: u32,
    pub took: Duration,
}

impl Admin {
    fn api_versions_request(&self) -> ApiVersionsRequest {
        let c = &self.cluster.config().client;
        super::build(|m: &mut ApiVersionsRequest| {
            m.client_software_name = StrBytes::from(c.software_name.clone());
            m.client_software_version = StrBytes::from(c.software_version.clone());
        })
    }

    /// One broker's features (`node`), or any broker's (`None`), from a
    /// fresh ApiVersions request (v3+ carries features).
    pub async fn describe_features(&self, node: Option<i32>) -> Result<FeatureLevels, AdminError> {
        let target = match node {
            Some(n) => Target::Node(n),
            None => Target::Route(crate::protocol::route::Route::Any),
        };
        let opts = SendOptions {
            min_version: Some(3),
            ..Default::default()
        };
        let r = self
            .cluster
            .send_to(target, &self.api_versions_request(), &opts)
            .await?;
        ItemError::check(r.response.error_code, None).map_err(|error| AdminError::Refused {
            api: "ApiVersions",
            error,
        })?;
        Ok(FeatureLevels::from_response(r.node, r.broker, &r.response))
    }

    /// UpdateFeatures at the controller. `validate_only` (v1+) checks
    /// without changing. Downgrades and validate-only need v1+ (v0 had
    /// only `AllowDowngrade`, which kwire does not send). From v2 the
    /// broker gives no per-feature results: the top-level error is every
    /// feature's.
    pub async fn update_features(
        &self,
        updates: &[FeatureUpdate],
        validate_only: bool,
        timeout: Duration,
    ) -> Result<Vec<FeatureResult>, AdminError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let needs_v1 = validate_only || updates.iter().any(|u| u.upgrade != UpgradeType::Upgrade);
        let req = super::build(|m: &mut UpdateFeaturesRequest| {
            m.timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
            m.feature_updates = updates
                .iter()
                .map(|u| {
                    super::build(|m: &mut FeatureUpdateKey| {
                        m.feature = StrBytes::from(u.feature.clone());
                        m.max_version_level = u.level;
                        m.upgrade_type = u.upgrade.wire();
                    })
                })
                .collect();
            m.validate_only = validate_only;
        });
        let opts = SendOptions {
            min_version: needs_v1.then_some(1),
            ..Default::default()
        };
        let r = self.cluster.send_with(&req, &opts).await?;
        let resp = &r.response;
        let top = ItemError::check(resp.error_code, resp.error_message.as_deref());
        Ok(updates
            .iter()
            .map(|u| {
                let own = resp
                    .results
                    .iter()
                    .find(|x| x.feature.as_ref() == u.feature);
                let result = match (&top, own) {
                    (Err(e), _) => Err(e.clone()),
                    (Ok(()), Some(x)) => ItemError::check(x.error_code, x.error_message.as_deref()),
                    // v2+: no per-feature results; no top-level error is success.
                    (Ok(()), None) if r.version >= 2 => Ok(()),
                    (Ok(()), None) => Err(ItemError {
                        code: kwire::ErrorCode::UNKNOWN_SERVER_ERROR,
                        message: Some("the broker's answer left this feature out".to_string()),
                    }),
                };
                FeatureResult {
                    feature: u.feature.clone(),
                    result,
                }
            })
            .collect())
    }

    /// Polls every broker in metadata (ApiVersions v3+) until each reports
    /// `feature` finalized at `level`, or `within` passes (then the error
    /// names the brokers that lag and what they report).
    pub async fn wait_for_finalized(
        &self,
        feature: &str,
        level: i16,
        within: Duration,
    ) -> Result<FinalizedWait, AdminError> {
        let start = Instant::now();
        let deadline = start + within;
        let mut polls = 0u32;
        loop {
            polls += 1;
            let md = self.cluster.refresh_metadata(&[]).await?;
            let mut seen = Vec::new();
            let mut lagging = Vec::new();
            for id in md.brokers.keys() {
                match self.describe_features(Some(*id)).await {
                    Ok(f) => {
                        if f.level(feature) != level {
                            lagging.push(format!(
                                "node {id} reports {} (epoch {:?})",
                                f.level(feature),
                                f.epoch
                            ));
                        }
                        seen.push(f);
                    }
                    Err(e) => lagging.push(format!("node {id}: {e}")),
                }
            }
            if lagging.is_empty() && !seen.is_empty() {
                return Ok(FinalizedWait {
                    brokers: seen,
                    polls,
                    took: start.elapsed(),
                });
            }
            if Instant::now() + Duration::from_millis(200) > deadline {
                return Err(AdminError::Timeout(format!(
                    "{} did not reach level {level} on every broker within {within:?}: {}",
                    crate::escape::name(feature),
                    lagging.join("; ")
                )));
            }
            sleep(Duration::from_millis(200)).await;
        }
    }
}
