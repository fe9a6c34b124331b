//! The cluster-wide feature view (KIP-584).
//!
//! Finalized features are cluster-wide, but each broker learns them from the
//! metadata log, so brokers can disagree for a moment (during an upgrade, or
//! right after `UpdateFeatures`). Java's client keeps the finalized map of
//! the broker with the highest FinalizedFeaturesEpoch it has seen
//! (`ApiVersions.update`, KIP-584), and so does this view: a connection
//! that answers later with an older epoch cannot roll it back. An epoch of
//! -1 means unknown (brokers without KIP-584, Azure Event Hubs): such a
//! table is never adopted.

use std::collections::BTreeMap;

use crate::protocol::api::VersionRange;
use crate::protocol::versions::{BrokerVersions, TRANSACTION_VERSION};

/// The finalized features of the broker with the highest epoch seen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeatureView {
    epoch: Option<i64>,
    finalized: BTreeMap<String, VersionRange>,
    source: Option<String>,
}

impl FeatureView {
    /// Takes `versions` (negotiated with `broker`) if its epoch is known and
    /// higher than the one held; returns whether it was taken.
    pub fn observe(&mut self, broker: &str, versions: &BrokerVersions) -> bool {
        let Some(epoch) = versions.finalized_epoch else {
            return false;
        };
        if self.epoch.is_some_and(|held| epoch <= held) {
            return false;
        }
        self.epoch = Some(epoch);
        self.finalized = versions.finalized_features.clone();
        self.source = Some(broker.to_string());
        true
    }

    /// The epoch held (`None`: no broker reported a known epoch yet).
    pub fn epoch(&self) -> Option<i64> {
        self.epoch
    }

    /// The broker whose table is held.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Every finalized feature (min and max level).
    pub fn finalized(&self) -> &BTreeMap<String, VersionRange> {
        &self.finalized
    }

    /// A feature's finalized max level; absent = 0 (brokers 3.9+ leave out
    /// level-0 features: `ApiVersionsResponse.createFinalizedFeatureKeys`).
    pub fn level(&self, name: &str) -> i16 {
        self.finalized.get(name).map_or(0, |r| r.max)
    }

    /// `transaction.version` (KIP-890 part 2 needs 2).
    pub fn transaction_version(&self) -> i16 {
        self.level(TRANSACTION_VERSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::negotiate::{FinalizedFeature, RawTable};
    use proptest::prelude::*;

    fn table(epoch: i64, tv: Option<i16>) -> BrokerVersions {
        BrokerVersions::from_raw(
            &RawTable {
                decoded_at: 3,
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
            },
            3,
        )
    }

    #[test]
    fn the_highest_epoch_wins_not_the_last_answer() {
        let mut v = FeatureView::default();
        assert_eq!(v.transaction_version(), 0);
        assert!(v.observe("b1", &table(10, Some(1))));
        assert!(v.observe("b2", &table(12, Some(2))));
        // b3 answers last, with an older epoch: ignored.
        assert!(!v.observe("b3", &table(11, Some(1))));
        assert_eq!((v.epoch(), v.transaction_version()), (Some(12), 2));
        assert_eq!(v.source(), Some("b2"));
        // The same epoch again is not newer.
        assert!(!v.observe("b4", &table(12, Some(1))));
        // An unknown epoch never counts.
        assert!(!v.observe("b5", &table(-1, Some(1))));
        assert_eq!(v.transaction_version(), 2);
    }

    proptest! {
        #[test]
        fn the_view_is_the_first_table_with_the_highest_epoch(
            seen in proptest::collection::vec((-1i64..20, proptest::option::of(0i16..3)), 0..12),
        ) {
            let mut v = FeatureView::default();
            for (i, (epoch, tv)) in seen.iter().enumerate() {
                v.observe(&format!("b{i}"), &table(*epoch, *tv));
            }
            let max = seen.iter().map(|(e, _)| *e).filter(|e| *e >= 0).max();
            prop_assert_eq!(v.epoch(), max);
            match max {
                None => prop_assert_eq!(v.transaction_version(), 0),
                Some(m) => {
                    let first = seen.iter().position(|(e, _)| *e == m).unwrap();
                    let name = format!("b{first}");
                    prop_assert_eq!(v.source(), Some(name.as_str()));
                    prop_assert_eq!(v.transaction_version(), seen[first].1.unwrap_or(0));
                }
            }
        }
    }
}
