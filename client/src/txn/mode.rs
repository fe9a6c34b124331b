//! Which transaction protocol one transaction runs, decided once and locked.
//!
//! KIP-890 part 2 ("transaction V2") moved the work of AddPartitionsToTxn and
//! AddOffsetsToTxn into Produce v12+ and TxnOffsetCommit v5+ and bumps the
//! producer epoch at every EndTxn (v5+). A broker decides which semantics a
//! request gets from its version alone, so a client that picks versions per
//! request can mix the two inside one transaction and fail:
//!
//! * franz-go v1.19.0-1.19.1 chose Produce v12 / EndTxn v5 because brokers
//!   advertised them, although the cluster's finalized `transaction.version`
//!   was below 2 (twmb/franz-go#1017);
//! * franz-go v1.21.4 fixed the opposite mix: V2 opted into while a user cap
//!   kept Produce at v11, so AddPartitionsToTxn was skipped for a request
//!   that still needed it (INVALID_TXN_STATE).
//!
//! So the mode is a property of the transaction, not of a request: [`decide`]
//! runs once when a transaction begins and returns a [`VersionPlan`] with the
//! version range of every request of that transaction. V2 needs all of: the
//! cluster-wide finalized `transaction.version` >= 2 (from the broker with
//! the highest FinalizedFeaturesEpoch, as Kafka's `ApiVersions` keeps it),
//! every user cap allowing the V2 versions of Produce, TxnOffsetCommit and
//! EndTxn, and the coordinator advertising EndTxn v5 and TxnOffsetCommit v5
//! when its versions are known. Anything less is classic for the whole
//! transaction; a level that rises later applies from the next transaction.

use std::fmt;

use kwire::{ApiKey, VersionRange};

use super::TxnError;

/// The finalized `transaction.version` level that enables KIP-890 part 2.
pub const TV2_LEVEL: i16 = 2;
/// Produce carries the transactional id from v3 (magic v2 batches, KIP-98).
pub const PRODUCE_FIRST_TRANSACTIONAL: i16 = 3;
/// Produce v12 adds the partition to the transaction (KIP-890 part 2).
pub const PRODUCE_FIRST_TV2: i16 = 12;
/// TxnOffsetCommit v5 adds the group to the transaction (KIP-890 part 2).
pub const TXN_OFFSET_COMMIT_FIRST_TV2: i16 = 5;
/// TxnOffsetCommit v6 addresses topics by id only; kwire's requests carry
/// names, so they stop at v5.
pub const TXN_OFFSET_COMMIT_LAST_BY_NAME: i16 = 5;
/// TxnOffsetCommit carries member id, generation and instance id from v3
/// (KIP-447, brokers 2.5+).
pub const TXN_OFFSET_COMMIT_FIRST_GROUP_METADATA: i16 = 3;
/// EndTxn v5 bumps the epoch on every transaction (KIP-890 part 2).
pub const END_TXN_FIRST_TV2: i16 = 5;
/// AddPartitionsToTxn v4+ is for brokers only (KIP-890 part 1).
pub const ADD_PARTITIONS_LAST_CLIENT: i16 = 3;
/// InitProducerId carries the current producer id and epoch from v3, which
/// lets a producer bump its own epoch (KIP-360).
pub const INIT_PRODUCER_ID_FIRST_EPOCH_BUMP: i16 = 3;

/// The protocol one transaction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnMode {
    /// Transaction V1: AddPartitionsToTxn and AddOffsetsToTxn from the
    /// client, Produce <= v11, TxnOffsetCommit <= v4, EndTxn <= v4.
    Classic,
    /// Transaction V2 (KIP-890 part 2): no AddPartitionsToTxn or
    /// AddOffsetsToTxn, Produce v12+, TxnOffsetCommit v5, EndTxn v5+, a new
    /// epoch after every transaction.
    Tv2,
}

impl fmt::Display for TxnMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TxnMode::Classic => "classic (transaction V1)",
            TxnMode::Tv2 => "transaction V2 (KIP-890 part 2)",
        })
    }
}

/// The cluster's finalized `transaction.version`, with the
/// FinalizedFeaturesEpoch it was read at (-1: not known). Brokers learn a
/// new level through metadata and may briefly disagree; the newest epoch
/// wins (Kafka's `ApiVersions.update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedLevel {
    /// Absent from the broker's list means 0 (brokers 3.9+ omit level 0).
    pub level: i16,
    pub epoch: i64,
}

impl FinalizedLevel {
    /// Nothing known yet: level 0.
    pub const UNKNOWN: FinalizedLevel = FinalizedLevel {
        level: 0,
        epoch: -1,
    };

    /// The newer of two views (higher epoch; a tie keeps `self`).
    pub fn newest(self, other: FinalizedLevel) -> FinalizedLevel {
        if other.epoch > self.epoch {
            other
        } else {
            self
        }
    }
}

/// The user's per-API maximum versions (`None`: no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxnCaps {
    pub produce: Option<i16>,
    pub txn_offset_commit: Option<i16>,
    pub end_txn: Option<i16>,
    pub add_partitions_to_txn: Option<i16>,
    pub add_offsets_to_txn: Option<i16>,
    pub init_producer_id: Option<i16>,
}

impl TxnCaps {
    fn cap(&self, api: ApiKey) -> Option<i16> {
        match api {
            ApiKey::PRODUCE => self.produce,
            ApiKey::TXN_OFFSET_COMMIT => self.txn_offset_commit,
            ApiKey::END_TXN => self.end_txn,
            ApiKey::ADD_PARTITIONS_TO_TXN => self.add_partitions_to_txn,
            ApiKey::ADD_OFFSETS_TO_TXN => self.add_offsets_to_txn,
            ApiKey::INIT_PRODUCER_ID => self.init_producer_id,
            _ => None,
        }
    }
}

/// What the transaction coordinator advertised on its connection (`None`:
/// not known yet, or not advertised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoordinatorApis {
    pub init_producer_id: Option<VersionRange>,
    pub end_txn: Option<VersionRange>,
    pub txn_offset_commit: Option<VersionRange>,
}

impl CoordinatorApis {
    /// KIP-360: the coordinator takes InitProducerId with the current id and
    /// epoch, so a producer can recover from an abortable error by bumping
    /// its epoch.
    pub fn supports_epoch_bump(&self) -> bool {
        self.init_producer_id
            .is_some_and(|r| r.max >= INIT_PRODUCER_ID_FIRST_EPOCH_BUMP)
    }
}

/// The version range of every request of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionPlan {
    pub mode: TxnMode,
    pub produce: VersionRange,
    pub txn_offset_commit: VersionRange,
    pub end_txn: VersionRange,
    /// `None` in V2: the client sends none.
    pub add_partitions_to_txn: Option<VersionRange>,
    /// `None` in V2: the client sends none.
    pub add_offsets_to_txn: Option<VersionRange>,
    /// Why this mode, for logs and `explain` output.
    pub why: String,
}

/// Our generated range for `api` (latest unstable version excluded) within
/// `lo..=hi` and the user's cap; `None` when empty.
fn range(api: ApiKey, lo: i16, hi: i16, caps: &TxnCaps) -> Option<VersionRange> {
    let ours = api.versions()?;
    let hi = caps.cap(api).map_or(hi, |c| c.min(hi));
    ours.intersect(&VersionRange::new(lo, hi))
}

fn need(
    api: ApiKey,
    r: Option<VersionRange>,
    mode: TxnMode,
    caps: &TxnCaps,
) -> Result<VersionRange, TxnError> {
    r.ok_or_else(|| TxnError::NoVersion {
        api,
        why: format!(
            "no version of {api} usable in {mode} is left by the user cap ({})",
            caps.cap(api)
                .map_or("none".to_string(), |c| format!("<= {c}"))
        ),
    })
}

/// The InitProducerId range: any version for the first call, v3+ to bump an
/// existing epoch.
pub fn init_producer_id_range(caps: &TxnCaps, bump: bool) -> Result<VersionRange, TxnError> {
    let lo = if bump {
        INIT_PRODUCER_ID_FIRST_EPOCH_BUMP
    } else {
        0
    };
    range(ApiKey::INIT_PRODUCER_ID, lo, i16::MAX, caps).ok_or_else(|| TxnError::NoVersion {
        api: ApiKey::INIT_PRODUCER_ID,
        why: if bump {
            "bumping the epoch (KIP-360) needs InitProducerId v3+, which the user cap forbids"
                .into()
        } else {
            "the user cap leaves no InitProducerId version".into()
        },
    })
}

/// Decides the mode of a transaction that begins now. See the module docs.
pub fn decide(
    level: FinalizedLevel,
    caps: &TxnCaps,
    coordinator: &CoordinatorApis,
) -> Result<VersionPlan, TxnError> {
    let tv2 = (
        range(ApiKey::PRODUCE, PRODUCE_FIRST_TV2, i16::MAX, caps),
        range(
            ApiKey::TXN_OFFSET_COMMIT,
            TXN_OFFSET_COMMIT_FIRST_TV2,
            TXN_OFFSET_COMMIT_LAST_BY_NAME,
            caps,
        ),
        range(ApiKey::END_TXN, END_TXN_FIRST_TV2, i16::MAX, caps),
    );
    let mut blockers = Vec::new();
    if level.level < TV2_LEVEL {
        blockers.push(format!(
            "the cluster's finalized transaction.version is {} (feature epoch {})",
            level.level, level.epoch
        ));
    }
    for (api, r, first) in [
        (ApiKey::PRODUCE, tv2.0, PRODUCE_FIRST_TV2),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            tv2.1,
            TXN_OFFSET_COMMIT_FIRST_TV2,
        ),
        (ApiKey::END_TXN, tv2.2, END_TXN_FIRST_TV2),
    ] {
        if r.is_none() {
            blockers.push(format!("the user cap on {api} forbids v{first}+"));
        }
    }
    for (api, adv, first) in [
        (ApiKey::END_TXN, coordinator.end_txn, END_TXN_FIRST_TV2),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            coordinator.txn_offset_commit,
            TXN_OFFSET_COMMIT_FIRST_TV2,
        ),
    ] {
        if let Some(r) = adv {
            if r.max < first {
                blockers.push(format!(
                    "the transaction coordinator advertises {api} only up to v{}",
                    r.max
                ));
            }
        }
    }
    if let ((Some(produce), Some(txn_offset_commit), Some(end_txn)), true) =
        (tv2, blockers.is_empty())
    {
        return Ok(VersionPlan {
            mode: TxnMode::Tv2,
            produce,
            txn_offset_commit,
            end_txn,
            add_partitions_to_txn: None,
            add_offsets_to_txn: None,
            why: format!(
                "finalized transaction.version {} (feature epoch {})",
                level.level, level.epoch
            ),
        });
    }
    let mode = TxnMode::Classic;
    Ok(VersionPlan {
        mode,
        produce: need(
            ApiKey::PRODUCE,
            range(
                ApiKey::PRODUCE,
                PRODUCE_FIRST_TRANSACTIONAL,
                PRODUCE_FIRST_TV2 - 1,
                caps,
            ),
            mode,
            caps,
        )?,
        txn_offset_commit: need(
            ApiKey::TXN_OFFSET_COMMIT,
            range(
                ApiKey::TXN_OFFSET_COMMIT,
                0,
                TXN_OFFSET_COMMIT_FIRST_TV2 - 1,
                caps,
            ),
            mode,
            caps,
        )?,
        end_txn: need(
            ApiKey::END_TXN,
            range(ApiKey::END_TXN, 0, END_TXN_FIRST_TV2 - 1, caps),
            mode,
            caps,
        )?,
        add_partitions_to_txn: Some(need(
            ApiKey::ADD_PARTITIONS_TO_TXN,
            range(
                ApiKey::ADD_PARTITIONS_TO_TXN,
                0,
                ADD_PARTITIONS_LAST_CLIENT,
                caps,
            ),
            mode,
            caps,
        )?),
        add_offsets_to_txn: Some(need(
            ApiKey::ADD_OFFSETS_TO_TXN,
            range(ApiKey::ADD_OFFSETS_TO_TXN, 0, i16::MAX, caps),
            mode,
            caps,
        )?),
        why: blockers.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TV2: FinalizedLevel = FinalizedLevel { level: 2, epoch: 7 };

    #[test]
    fn tv2_needs_the_level() {
        let p = decide(TV2, &TxnCaps::default(), &CoordinatorApis::default()).unwrap();
        assert_eq!(p.mode, TxnMode::Tv2);
        assert_eq!(p.produce.min, 12);
        assert_eq!(p.txn_offset_commit, VersionRange::new(5, 5));
        assert_eq!(p.end_txn.min, 5);
        assert_eq!(p.add_partitions_to_txn, None);

        let p = decide(
            FinalizedLevel { level: 1, epoch: 7 },
            &TxnCaps::default(),
            &CoordinatorApis::default(),
        )
        .unwrap();
        assert_eq!(p.mode, TxnMode::Classic);
        assert_eq!(p.produce, VersionRange::new(3, 11));
        assert_eq!(p.txn_offset_commit, VersionRange::new(0, 4));
        assert_eq!(p.end_txn, VersionRange::new(0, 4));
        assert_eq!(p.add_partitions_to_txn, Some(VersionRange::new(0, 3)));
        assert!(p.why.contains("transaction.version is 1"), "{}", p.why);
    }

    #[test]
    fn a_cap_below_v2_versions_forces_classic_for_everything() {
        for caps in [
            TxnCaps {
                produce: Some(11),
                ..Default::default()
            },
            TxnCaps {
                end_txn: Some(4),
                ..Default::default()
            },
            TxnCaps {
                txn_offset_commit: Some(4),
                ..Default::default()
            },
        ] {
            let p = decide(TV2, &caps, &CoordinatorApis::default()).unwrap();
            assert_eq!(p.mode, TxnMode::Classic, "{caps:?}");
            assert!(p.produce.max <= 11 && p.end_txn.max <= 4 && p.txn_offset_commit.max <= 4);
            assert!(p.why.contains("user cap"), "{}", p.why);
        }
    }

    #[test]
    fn a_coordinator_without_end_txn_v5_forces_classic() {
        let coord = CoordinatorApis {
            end_txn: Some(VersionRange::new(0, 4)),
            ..Default::default()
        };
        let p = decide(TV2, &TxnCaps::default(), &coord).unwrap();
        assert_eq!(p.mode, TxnMode::Classic);
        assert!(
            p.why.contains("advertises EndTxn") && p.why.contains("only up to v4"),
            "{}",
            p.why
        );
    }

    #[test]
    fn an_impossible_classic_cap_is_an_error() {
        let caps = TxnCaps {
            produce: Some(2),
            ..Default::default()
        };
        let e = decide(FinalizedLevel::UNKNOWN, &caps, &CoordinatorApis::default()).unwrap_err();
        assert!(
            matches!(
                e,
                TxnError::NoVersion {
                    api: ApiKey::PRODUCE,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn newest_feature_epoch_wins() {
        let old = FinalizedLevel { level: 1, epoch: 3 };
        assert_eq!(old.newest(TV2), TV2);
        assert_eq!(TV2.newest(old), TV2);
        assert_eq!(FinalizedLevel::UNKNOWN.newest(old), old);
    }

    #[test]
    fn epoch_bump_needs_init_producer_id_v3() {
        assert_eq!(
            init_producer_id_range(&TxnCaps::default(), true)
                .unwrap()
                .min,
            3
        );
        let caps = TxnCaps {
            init_producer_id: Some(2),
            ..Default::default()
        };
        assert!(init_producer_id_range(&caps, true).is_err());
        assert_eq!(
            init_producer_id_range(&caps, false).unwrap(),
            VersionRange::new(0, 2)
        );
    }
}
