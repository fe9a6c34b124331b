//! The broker's version table for ONE connection, and the user's caps.
//!
//! Versions are valid only for the connection they were obtained on
//! (KIP-35): brokers in a cluster differ
//! during rolling upgrades, forwardable APIs change with the active
//! controller. So every connection keeps its own table
//! and a reconnect renegotiates.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;

use super::api::{ApiKey, VersionRange};
use super::negotiate::{FallbackVersions, RawTable};
use crate::limits::SAMPLE_KEYS;

/// The finalized feature KIP-890 part 2 transactions depend on.
pub const TRANSACTION_VERSION: &str = "transaction.version";

/// Where a table came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSource {
    /// An ApiVersions reply: the version sent and the version its body
    /// decoded at (lower when the broker answered with an older shape).
    ApiVersions { sent: i16, decoded_at: i16 },
    /// No reply; configured fallback versions.
    Fallback { source: String },
}

/// One connection's view of the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerVersions {
    apis: BTreeMap<ApiKey, VersionRange>,
    /// Keys this build does not know: kept aside, not fatal (a newer broker).
    unknown: BTreeMap<ApiKey, VersionRange>,
    /// This broker's software range per feature (v3+ replies).
    pub supported_features: BTreeMap<String, VersionRange>,
    /// Cluster-wide finalized levels (`min_level..=max_level`), only when
    /// the epoch is known (>= 0): "valid only if FinalizedFeaturesEpoch >= 0".
    pub finalized_features: BTreeMap<String, VersionRange>,
    pub finalized_epoch: Option<i64>,
    pub source: TableSource,
    /// Keys that appear more than once in the reply (the first entry wins):
    /// a count and the first few, so a hostile reply costs a counter.
    pub duplicates: KeySample,
}

/// How many api keys of some sort a reply carried, and the first few of
/// them (at most [`SAMPLE_KEYS`]): what one reply can put in a log line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeySample {
    pub count: usize,
    pub first: Vec<ApiKey>,
}

impl KeySample {
    pub fn push(&mut self, key: ApiKey) {
        self.count += 1;
        if self.first.len() < SAMPLE_KEYS {
            self.first.push(key);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl FromIterator<ApiKey> for KeySample {
    fn from_iter<I: IntoIterator<Item = ApiKey>>(iter: I) -> Self {
        let mut s = KeySample::default();
        for k in iter {
            s.push(k);
        }
        s
    }
}

impl std::fmt::Display for KeySample {
    /// `3 (1, 1, 7)` or `4000 (first 8: 1, 1, ...)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self.first.iter().map(|k| k.0.to_string()).collect();
        if self.count > self.first.len() {
            write!(
                f,
                "{} (first {}: {})",
                self.count,
                keys.len(),
                keys.join(", ")
            )
        } else {
            write!(f, "{} ({})", self.count, keys.join(", "))
        }
    }
}

/// A minimum above the advertised one: versions a broker lists but
/// refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Floor {
    pub min: i16,
    pub why: &'static str,
}

impl fmt::Display for Floor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "usable from v{} ({})", self.min, self.why)
    }
}

/// Kafka 4.0 removed Produce v0-2 (KIP-896) yet still advertises them, so
/// that librdkafka keeps producing compressed records (KAFKA-18659), and
/// closes the connection on each. 4.0 also removed Fetch v0-3 and does not
/// advertise those: a Fetch minimum of 4 or more marks such a broker.
const PRODUCE_FLOOR_4X: Floor = Floor {
    min: 3,
    why: "Produce v0-2 are advertised but refused by Kafka 4.x brokers: KIP-896, KAFKA-18659",
};
const FETCH_MIN_4X: i16 = 4;

impl BrokerVersions {
    /// The versions of `api` below which this broker refuses what it
    /// advertises, if any.
    pub fn floor(&self, api: ApiKey) -> Option<Floor> {
        match api {
            ApiKey::PRODUCE
                if self
                    .get(ApiKey::FETCH)
                    .is_some_and(|f| f.min >= FETCH_MIN_4X) =>
            {
                Some(PRODUCE_FLOOR_4X).filter(|fl| self.get(api).is_some_and(|r| r.min < fl.min))
            }
            _ => None,
        }
    }

    /// From an ApiVersions reply. The key order does not matter (tansu
    /// sends HashMap order).
    pub fn from_raw(raw: &RawTable, sent: i16) -> Self {
        let mut apis = BTreeMap::new();
        let mut unknown = BTreeMap::new();
        let mut duplicates = KeySample::default();
        for a in &raw.apis {
            let range = VersionRange::new(a.min, a.max);
            // Known = named in this build (removed APIs included).
            let map = if a.api_key.name().is_some() {
                &mut apis
            } else {
                &mut unknown
            };
            match map.entry(a.api_key) {
                Entry::Occupied(_) => duplicates.push(a.api_key),
                Entry::Vacant(v) => {
                    v.insert(range);
                }
            }
        }
        let finalized_epoch =
            (raw.finalized_features_epoch >= 0).then_some(raw.finalized_features_epoch);
        let finalized_features = if finalized_epoch.is_some() {
            raw.finalized_features
                .iter()
                .map(|f| (f.name.clone(), VersionRange::new(f.min_level, f.max_level)))
                .collect()
        } else {
            BTreeMap::new()
        };
        BrokerVersions {
            apis,
            unknown,
            supported_features: raw
                .supported_features
                .iter()
                .map(|f| (f.name.clone(), VersionRange::new(f.min, f.max)))
                .collect(),
            finalized_features,
            finalized_epoch,
            source: TableSource::ApiVersions {
                sent,
                decoded_at: raw.decoded_at,
            },
            duplicates,
        }
    }

    /// From configured fallback maximums: the broker's minimum is unknown,
    /// so 0 is assumed (our own minimum still applies when choosing).
    pub fn from_fallback(fb: &FallbackVersions) -> Self {
        BrokerVersions {
            apis: fb
                .max
                .iter()
                .map(|(&k, &max)| (k, VersionRange::new(0, max)))
                .collect(),
            unknown: BTreeMap::new(),
            supported_features: BTreeMap::new(),
            finalized_features: BTreeMap::new(),
            finalized_epoch: None,
            source: TableSource::Fallback {
                source: fb.source.clone(),
            },
            duplicates: KeySample::default(),
        }
    }

    /// The broker's range for `api` on this connection.
    pub fn get(&self, api: ApiKey) -> Option<VersionRange> {
        self.apis
            .get(&api)
            .or_else(|| self.unknown.get(&api))
            .copied()
    }

    /// Known APIs the broker advertises, by key.
    pub fn apis(&self) -> impl Iterator<Item = (ApiKey, VersionRange)> + '_ {
        self.apis.iter().map(|(&k, &r)| (k, r))
    }

    /// Advertised keys this build does not know.
    pub fn unknown_apis(&self) -> impl Iterator<Item = (ApiKey, VersionRange)> + '_ {
        self.unknown.iter().map(|(&k, &r)| (k, r))
    }

    /// The finalized max level of a feature; absent = 0 (brokers 3.9+ omit
    /// level-0 features: `ApiVersionsResponse.createFinalizedFeatureKeys`).
    pub fn finalized_level(&self, name: &str) -> i16 {
        self.finalized_features
            .get(name)
            .map(|r| r.max)
            .unwrap_or(0)
    }

    /// `transaction.version` (KIP-890 part 2 needs >= 2).
    pub fn transaction_version(&self) -> i16 {
        self.finalized_level(TRANSACTION_VERSION)
    }
}

/// A per-API maximum from a named source (a user cap, a release pin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    /// Where the cap comes from, e.g. `user cap` or `release 3.8`.
    pub source: String,
    pub max: i16,
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <= {}", self.source, self.max)
    }
}

/// Per-API maximums from named sources: user caps today, a Kafka release's
/// max table later (a release is just another source).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionCaps {
    sources: Vec<(String, BTreeMap<ApiKey, i16>)>,
}

impl VersionCaps {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one cap under `source` (e.g. `user cap`).
    pub fn cap(mut self, source: &str, api: ApiKey, max: i16) -> Self {
        match self.sources.iter_mut().find(|(s, _)| s == source) {
            Some((_, m)) => {
                m.insert(api, max);
            }
            None => self
                .sources
                .push((source.to_string(), [(api, max)].into_iter().collect())),
        }
        self
    }

    /// Adds a whole table (e.g. a release's per-API maximums).
    pub fn source(mut self, source: &str, max: BTreeMap<ApiKey, i16>) -> Self {
        self.sources.push((source.to_string(), max));
        self
    }

    /// The caps that apply to `api`.
    pub fn for_api(&self, api: ApiKey) -> Vec<Cap> {
        self.sources
            .iter()
            .filter_map(|(s, m)| {
                m.get(&api).map(|&max| Cap {
                    source: s.clone(),
                    max,
                })
            })
            .collect()
    }

    /// The lowest cap for `api`, if any.
    pub fn max_for(&self, api: ApiKey) -> Option<i16> {
        self.for_api(api).iter().map(|c| c.max).min()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.iter().all(|(_, m)| m.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::negotiate::{AdvertisedApi, FinalizedFeature};

    fn raw(apis: &[(i16, i16, i16)], epoch: i64, tv: Option<i16>) -> RawTable {
        RawTable {
            decoded_at: 3,
            apis: apis
                .iter()
                .map(|&(key, min, max)| AdvertisedApi {
                    api_key: ApiKey(key),
                    min,
                    max,
                })
                .collect(),
            finalized_features_epoch: epoch,
            finalized_features: tv
                .map(|l| FinalizedFeature {
                    name: TRANSACTION_VERSION.into(),
                    min_level: l,
                    max_level: l,
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn unsorted_duplicates_and_unknown_keys() {
        let t = BrokerVersions::from_raw(
            &raw(
                &[(60, 0, 1), (1, 0, 17), (9999, 0, 3), (0, 0, 11), (1, 0, 2)],
                -1,
                None,
            ),
            4,
        );
        assert_eq!(t.get(ApiKey::FETCH), Some(VersionRange::new(0, 17)));
        assert_eq!(t.get(ApiKey::PRODUCE), Some(VersionRange::new(0, 11)));
        assert_eq!(t.apis().count(), 3);
        assert_eq!(
            t.unknown_apis().collect::<Vec<_>>(),
            vec![(ApiKey(9999), VersionRange::new(0, 3))]
        );
        assert_eq!(
            t.duplicates,
            KeySample {
                count: 1,
                first: vec![ApiKey::FETCH]
            }
        );
        assert_eq!(
            t.source,
            TableSource::ApiVersions {
                sent: 4,
                decoded_at: 3
            }
        );
    }

    #[test]
    fn many_duplicates_cost_a_counter() {
        let apis: Vec<(i16, i16, i16)> = std::iter::repeat((1, 0, 3)).take(10_001).collect();
        let t = BrokerVersions::from_raw(&raw(&apis, -1, None), 4);
        assert_eq!(t.duplicates.count, 10_000);
        assert_eq!(t.duplicates.first.len(), SAMPLE_KEYS);
        assert_eq!(
            t.duplicates.to_string(),
            "10000 (first 8: 1, 1, 1, 1, 1, 1, 1, 1)"
        );
        let few: KeySample = [ApiKey::METADATA, ApiKey::LEADER_AND_ISR]
            .into_iter()
            .collect();
        assert_eq!(few.to_string(), "2 (3, 4)");
    }

    #[test]
    fn finalized_features_need_a_known_epoch() {
        let t = BrokerVersions::from_raw(&raw(&[], 7, Some(2)), 4);
        assert_eq!(t.transaction_version(), 2);
        assert_eq!(t.finalized_epoch, Some(7));
        // Epoch -1 (Event Hubs): not valid.
        let t = BrokerVersions::from_raw(&raw(&[], -1, Some(2)), 4);
        assert_eq!(t.transaction_version(), 0);
        let t = BrokerVersions::from_raw(&raw(&[], 3, None), 4);
        assert_eq!(t.transaction_version(), 0);
    }

    #[test]
    fn caps_by_source() {
        let c = VersionCaps::new()
            .cap("user cap", ApiKey::FETCH, 7)
            .cap("user cap", ApiKey::PRODUCE, 9)
            .source(
                "release 2.0",
                [(ApiKey::FETCH, 8), (ApiKey::METADATA, 6)]
                    .into_iter()
                    .collect(),
            );
        assert_eq!(c.for_api(ApiKey::FETCH).len(), 2);
        assert_eq!(c.max_for(ApiKey::FETCH), Some(7));
        assert_eq!(c.max_for(ApiKey::METADATA), Some(6));
        assert_eq!(c.max_for(ApiKey::LIST_OFFSETS), None);
    }

    #[test]
    fn fallback_table() {
        let t = BrokerVersions::from_fallback(&FallbackVersions {
            source: "user fallback".into(),
            max: [(ApiKey::METADATA, 0), (ApiKey::FETCH, 2)]
                .into_iter()
                .collect(),
        });
        assert_eq!(t.get(ApiKey::FETCH), Some(VersionRange::new(0, 2)));
        assert!(matches!(t.source, TableSource::Fallback { .. }));
    }
}
