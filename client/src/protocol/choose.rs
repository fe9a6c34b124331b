//! Choosing the version of one request: pure, no I/O.
//!
//! The version is the highest one in the intersection of
//!
//! * our generated range for the API (what we can encode),
//! * the broker's advertised range on this connection,
//! * the versions the request's own content allows (generated from the
//!   schemas: a request that carries a field only newer versions have
//!   raises its minimum; not always an interval, so the version is the
//!   highest member at or below the caps and gates),
//! * every cap (per-API maximums: user caps, later a Kafka release pin),
//!
//! and then *gates* are applied, which can only lower it
//! (KIP-890 part 2 transactions, KIP-516 topic ids). A data-driven cap that
//! raises instead of lowers is exactly the librdkafka 2.6.0 Fetch v12 bug
//! (confluentinc/librdkafka#4887), so a gate is `min`-ed with the
//! negotiated maximum and can never lift it.
//!
//! When nothing is left, the error names the API, every range involved and
//! the broker, and nothing is sent (KIP-35: "an error should be reported to
//! the user").

use std::fmt;

use kwire::VersionSet;

use super::api::{api_name, our_range, ApiKey, VersionRange};
use super::facts::RequestFacts;
pub use super::versions::Cap;
pub use super::versions::Floor;
use super::versions::{BrokerVersions, VersionCaps};

/// Which gate lowered (or would have lowered) a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateKind {
    /// KIP-890 part 2: transactional Produce v12+, TxnOffsetCommit v5+ and
    /// EndTxn v5 need the finalized `transaction.version` >= 2.
    TransactionV2,
    /// KIP-516: topic-ID versions (Fetch/Produce v13+, OffsetCommit and
    /// OffsetFetch v10+, TxnOffsetCommit v6) need every topic to have an id.
    TopicIds,
}

impl fmt::Display for GateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GateKind::TransactionV2 => "transaction.version gate (KIP-890)",
            GateKind::TopicIds => "topic-id gate (KIP-516)",
        })
    }
}

/// A gate that applies to this request: the version must be at most `max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub kind: GateKind,
    pub max: i16,
    /// Human-readable why, for logs and errors.
    pub why: String,
}

/// The transaction.version gate for `api`, if it applies.
///
/// `transactional`: the request belongs to a transaction (a Produce with a
/// transactional id; TxnOffsetCommit and EndTxn always are).
/// `transaction_version`: the finalized feature level (absent = 0: brokers
/// 3.9+ omit level-0 features: `ApiVersionsResponse.createFinalizedFeatureKeys`).
pub fn transaction_gate(
    api: ApiKey,
    transactional: bool,
    transaction_version: i16,
) -> Option<Gate> {
    if transaction_version >= 2 {
        return None;
    }
    let max = match api {
        ApiKey::PRODUCE if transactional => 11,
        ApiKey::TXN_OFFSET_COMMIT => 4,
        ApiKey::END_TXN => 4,
        _ => return None,
    };
    Some(Gate {
        kind: GateKind::TransactionV2,
        max,
        why: format!(
            "finalized transaction.version is {transaction_version} (< 2): \
             {} above v{max} would switch the transaction to KIP-890 part 2 semantics",
            api_name(api)
        ),
    })
}

/// The topic-id gate for `api`, if it applies: `topics_without_id` is how
/// many topics in the request have the zero id.
pub fn topic_id_gate(api: ApiKey, topics_without_id: usize) -> Option<Gate> {
    if topics_without_id == 0 {
        return None;
    }
    let max = match api {
        ApiKey::FETCH | ApiKey::PRODUCE => 12,
        ApiKey::OFFSET_COMMIT | ApiKey::OFFSET_FETCH => 9,
        ApiKey::TXN_OFFSET_COMMIT => 5,
        _ => return None,
    };
    Some(Gate {
        kind: GateKind::TopicIds,
        max,
        why: format!(
            "{topics_without_id} topic(s) without a topic id: {} above v{max} addresses topics by id only",
            api_name(api)
        ),
    })
}

/// Everything the choice depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraints {
    pub api: ApiKey,
    /// Our generated range (latest unstable excluded).
    pub ours: VersionRange,
    /// The broker's advertised range on this connection; `None` when the
    /// broker does not advertise the API at all.
    pub broker: Option<VersionRange>,
    /// Versions the broker advertises but refuses are below this.
    pub floor: Option<Floor>,
    /// The versions the request's content allows (fields it carries).
    pub request: VersionSet,
    /// Per-API maximums.
    pub caps: Vec<Cap>,
    /// Gates that apply; they can only lower the version.
    pub gates: Vec<Gate>,
    /// Names the broker in errors and logs (address and node id).
    pub broker_name: String,
}

/// One step of the reasoning, for logs and `kwire api-versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The intersection of ours, the broker's and the request's range.
    Intersection {
        ours: VersionRange,
        broker: VersionRange,
        request: VersionSet,
        result: VersionRange,
    },
    /// The broker's advertised minimum was raised to what it accepts.
    Floor {
        floor: Floor,
        advertised: VersionRange,
    },
    /// A cap lowered the maximum.
    Capped { cap: Cap, from: i16, to: i16 },
    /// A gate lowered the version.
    Gated { gate: Gate, from: i16, to: i16 },
    /// A gate applied but did not change anything.
    GateNoop { gate: Gate },
    /// The request's content cannot be encoded at `from`: the highest
    /// version below it that it can is `to`.
    NotEncodable { from: i16, to: i16 },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Intersection {
                ours,
                broker,
                request,
                result,
            } => {
                write!(f, "ours {ours} ∩ broker {broker}")?;
                if *request != VersionSet::of(*ours) {
                    write!(f, " ∩ request {request}")?;
                }
                write!(f, " = {result}")
            }
            Step::Floor { floor, advertised } => {
                write!(f, "broker advertises {advertised}, {floor}")
            }
            Step::Capped { cap, from, to } => write!(f, "{cap}: {from} -> {to}"),
            Step::Gated { gate, from, to } => {
                write!(f, "{}: {from} -> {to} ({})", gate.kind, gate.why)
            }
            Step::GateNoop { gate } => {
                write!(f, "{} (max {}) did not lower it", gate.kind, gate.max)
            }
            Step::NotEncodable { from, to } => {
                write!(
                    f,
                    "the request cannot be encoded at v{from}: {from} -> {to}"
                )
            }
        }
    }
}

/// The chosen version and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub api: ApiKey,
    pub version: i16,
    /// The highest version before caps and gates.
    pub highest_common: i16,
    pub steps: Vec<Step>,
}

impl Choice {
    /// One line: `v7 (ours 0-17 ∩ broker 0-7 = 0-7)`.
    pub fn why(&self) -> String {
        let steps: Vec<String> = self.steps.iter().map(|s| s.to_string()).collect();
        steps.join("; ")
    }

    /// Whether a gate lowered the version.
    pub fn gated(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Gated { .. }))
    }
}

/// No version can be used: nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoVersion {
    #[error(
        "{api} (key {key}): broker {broker} does not advertise this API \
         (ours {ours}); nothing was sent"
    )]
    NotAdvertised {
        api: String,
        key: i16,
        ours: VersionRange,
        broker: String,
    },
    #[error(
        "{api} (key {key}): no common version with broker {broker}: ours {ours}, \
         broker {broker_range}{floor}, request {request}{caps}; nothing was sent",
        caps = fmt_caps(caps),
        floor = floor.map(|f| format!(" {f}")).unwrap_or_default()
    )]
    Empty {
        api: String,
        key: i16,
        ours: VersionRange,
        broker_range: VersionRange,
        /// The broker refuses what it advertises below this.
        floor: Option<Floor>,
        request: VersionSet,
        caps: Vec<Cap>,
        broker: String,
    },
    #[error(
        "{api} (key {key}): {gate} limits it to v{gate_max} but the usable range \
         with broker {broker} is {usable} ({why}); nothing was sent"
    )]
    Gated {
        api: String,
        key: i16,
        gate: GateKind,
        gate_max: i16,
        usable: VersionRange,
        why: String,
        broker: String,
    },
}

fn fmt_caps(caps: &[Cap]) -> String {
    if caps.is_empty() {
        String::new()
    } else {
        let v: Vec<String> = caps.iter().map(|c| c.to_string()).collect();
        format!(", caps [{}]", v.join(", "))
    }
}

/// Chooses the version. Pure: the caller logs (see [`Choice::why`]).
pub fn choose(c: &Constraints) -> Result<Choice, NoVersion> {
    let api_s = api_name(c.api);
    let broker = c.broker.ok_or_else(|| NoVersion::NotAdvertised {
        api: api_s.clone(),
        key: c.api.0,
        ours: c.ours,
        broker: c.broker_name.clone(),
    })?;
    let empty = || NoVersion::Empty {
        api: api_s.clone(),
        key: c.api.0,
        ours: c.ours,
        broker_range: broker,
        floor: c.floor,
        request: c.request,
        caps: c.caps.clone(),
        broker: c.broker_name.clone(),
    };
    let usable = match c.floor {
        Some(f) if f.min > broker.min => {
            (f.min <= broker.max).then(|| VersionRange::new(f.min, broker.max))
        }
        _ => Some(broker),
    };
    let Some(usable_broker) = usable else {
        return Err(empty());
    };
    let common_set = c
        .ours
        .intersect(&usable_broker)
        .map_or(VersionSet::EMPTY, |r| {
            c.request.intersect(VersionSet::of(r))
        });
    let (Some(lo), Some(hi)) = (common_set.min(), common_set.max()) else {
        return Err(empty());
    };
    let common = VersionRange::new(lo, hi);
    let mut steps = Vec::new();
    if let Some(floor) = c.floor.filter(|_| usable_broker != broker) {
        steps.push(Step::Floor {
            floor,
            advertised: broker,
        });
    }
    steps.push(Step::Intersection {
        ours: c.ours,
        broker: usable_broker,
        request: c.request,
        result: common,
    });
    let mut version = common.max;
    for cap in &c.caps {
        if cap.max < version {
            steps.push(Step::Capped {
                cap: cap.clone(),
                from: version,
                to: cap.max,
            });
            version = cap.max;
        }
    }
    if version < common.min {
        return Err(empty());
    }
    let usable = VersionRange::new(common.min, version);
    for gate in &c.gates {
        if gate.max < version {
            if gate.max < common.min {
                return Err(NoVersion::Gated {
                    api: api_s,
                    key: c.api.0,
                    gate: gate.kind,
                    gate_max: gate.max,
                    usable,
                    why: gate.why.clone(),
                    broker: c.broker_name.clone(),
                });
            }
            steps.push(Step::Gated {
                gate: gate.clone(),
                from: version,
                to: gate.max,
            });
            version = gate.max;
        } else {
            steps.push(Step::GateNoop { gate: gate.clone() });
        }
    }
    // The request's versions need not be an interval: take the highest
    // member at or below what caps and gates left (common.min is one).
    let encodable = common_set
        .highest_in(VersionRange::new(common.min, version))
        .unwrap_or(common.min);
    if encodable < version {
        steps.push(Step::NotEncodable {
            from: version,
            to: encodable,
        });
        version = encodable;
    }
    Ok(Choice {
        api: c.api,
        version,
        highest_common: common.max,
        steps,
    })
}

/// What a caller may impose on one request on top of what its content
/// says ([`crate::protocol::facts`]). Each field defaults to "look at the
/// request".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The request needs a field that exists from this version on.
    pub min_version: Option<i16>,
    /// A cap for this request only.
    pub max_version: Option<i16>,
    /// Overrides the detection of "part of a transaction".
    pub transactional: Option<bool>,
    /// Overrides the count of topics without a topic id.
    pub topics_without_id: Option<usize>,
    /// The finalized `transaction.version` to gate on instead of this
    /// connection's: the cluster-wide value of the broker with the highest
    /// FinalizedFeaturesEpoch, as Java's client keeps it.
    pub transaction_version: Option<i16>,
    /// The range a transaction's locked plan gives this request
    /// ([`crate::txn::VersionPlan`]). The version lies inside it, and the
    /// per-request transaction.version gate gives way: the mode was decided
    /// once for the whole transaction, and a level that changes between its
    /// requests must not mix classic and KIP-890 part 2 versions in it (the
    /// mixes of twmb/franz-go#1017 and franz-go v1.21.4).
    pub transaction_plan: Option<VersionRange>,
}

/// The version of a request of `api` whose content says `facts`, on a
/// connection whose table is `versions`, under `caps` and `ov`.
pub fn choose_for(
    api: ApiKey,
    facts: &RequestFacts,
    ov: &Overrides,
    versions: &BrokerVersions,
    caps: &VersionCaps,
    broker_name: &str,
) -> Result<Choice, NoVersion> {
    let ours = facts.ours;
    let mut request = facts.allowed;
    if let Some(min) = ov.min_version {
        request = request.intersect(VersionSet::range(min, VersionSet::MAX_VERSION));
    }
    let mut caps = caps.for_api(api);
    if let Some(max) = ov.max_version {
        caps.push(Cap {
            source: "request option".into(),
            max,
        });
    }
    if let Some(plan) = ov.transaction_plan {
        request = request.intersect(VersionSet::range(plan.min, VersionSet::MAX_VERSION));
        caps.push(Cap {
            source: "the transaction's locked plan".into(),
            max: plan.max,
        });
    }
    let transactional = ov.transactional.unwrap_or(facts.transactional);
    let tv = ov
        .transaction_version
        .unwrap_or_else(|| versions.transaction_version());
    let without_id = ov.topics_without_id.unwrap_or(facts.topics_without_id);
    let gates = transaction_gate(api, transactional, tv)
        .filter(|_| ov.transaction_plan.is_none())
        .into_iter()
        .chain(topic_id_gate(api, without_id))
        .collect();
    choose(&Constraints {
        api,
        ours,
        broker: versions.get(api),
        floor: versions.floor(api),
        request,
        caps,
        gates,
        broker_name: broker_name.to_string(),
    })
}

/// One API's row of an overview (`kwire api-versions`): the broker's range,
/// ours, and the choice before any gate (gates depend on each request's
/// content).
#[derive(Debug, Clone)]
pub struct ApiChoice {
    pub api: ApiKey,
    pub name: String,
    pub broker: Option<VersionRange>,
    pub ours: Option<VersionRange>,
    /// `None` when this build does not know the API.
    pub choice: Option<Result<Choice, NoVersion>>,
}

/// Every API the broker advertises or we know, in key order, with the
/// version a request of it would get on this connection (before gates).
pub fn every_api(v: &BrokerVersions, caps: &VersionCaps, broker_name: &str) -> Vec<ApiChoice> {
    let mut keys: Vec<ApiKey> = v
        .apis()
        .map(|(k, _)| k)
        .chain(v.unknown_apis().map(|(k, _)| k))
        .collect();
    keys.extend(
        kwire::api_key::API_TABLE
            .iter()
            .filter(|i| i.versions.is_some())
            .map(|i| i.key),
    );
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|api| {
            let ours = our_range(api);
            let broker = v.get(api);
            let choice = ours.map(|ours| {
                choose(&Constraints {
                    api,
                    ours,
                    broker,
                    floor: v.floor(api),
                    request: VersionSet::of(ours),
                    caps: caps.for_api(api),
                    gates: vec![],
                    broker_name: broker_name.to_string(),
                })
            });
            ApiChoice {
                api,
                name: api_name(api),
                broker,
                ours,
                choice,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(min: i16, max: i16) -> VersionRange {
        VersionRange::new(min, max)
    }

    fn base(api: ApiKey, ours: VersionRange, broker: Option<VersionRange>) -> Constraints {
        Constraints {
            api,
            ours,
            broker,
            floor: None,
            request: VersionSet::of(ours),
            caps: vec![],
            gates: vec![],
            broker_name: "127.0.0.1:9092 (node 1)".into(),
        }
    }

    #[test]
    fn a_request_whose_versions_have_a_hole_takes_the_highest_below_the_caps() {
        let mut c = base(ApiKey::METADATA, r(0, 9), Some(r(0, 9)));
        c.request = [2, 5, 6].into_iter().collect();
        c.caps = vec![Cap {
            source: "test".into(),
            max: 4,
        }];
        let ch = choose(&c).unwrap();
        assert_eq!(ch.version, 2);
        assert!(ch.why().contains("cannot be encoded at v4"), "{}", ch.why());
        c.caps.clear();
        assert_eq!(choose(&c).unwrap().version, 6);
        c.broker = Some(r(3, 4));
        assert!(matches!(choose(&c), Err(NoVersion::Empty { .. })));
    }

    #[test]
    fn highest_common_version() {
        let c = base(ApiKey::FETCH, r(4, 17), Some(r(0, 7)));
        let ch = choose(&c).unwrap();
        assert_eq!(ch.version, 7);
        assert_eq!(ch.highest_common, 7);
        assert!(!ch.gated());
    }

    #[test]
    fn request_range_raises_the_minimum() {
        let mut c = base(ApiKey::METADATA, r(0, 12), Some(r(0, 2)));
        c.request = r(4, 12).into(); // e.g. allow_auto_topic_creation=false needs v4
        match choose(&c) {
            Err(NoVersion::Empty {
                broker_range,
                request,
                ..
            }) => {
                assert_eq!(broker_range, r(0, 2));
                assert_eq!(request, r(4, 12).into());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cap_lowers_and_can_empty() {
        let mut c = base(ApiKey::FETCH, r(4, 17), Some(r(4, 17)));
        c.caps.push(Cap {
            source: "user cap".into(),
            max: 10,
        });
        assert_eq!(choose(&c).unwrap().version, 10);
        c.caps.push(Cap {
            source: "release 0.10".into(),
            max: 3,
        });
        let e = choose(&c).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("Fetch"), "{text}");
        assert!(text.contains("release 0.10 <= 3"), "{text}");
        assert!(text.contains("127.0.0.1:9092"), "{text}");
    }

    #[test]
    fn not_advertised_is_an_error() {
        let c = base(ApiKey::CREATE_TOPICS, r(2, 7), None);
        let e = choose(&c).unwrap_err();
        assert!(
            matches!(e, NoVersion::NotAdvertised { key, .. } if key == ApiKey::CREATE_TOPICS.0),
            "{e:?}"
        );
    }

    /// A broker advertising EndTxn 0-5 whose connection still says
    /// transaction.version 1 (it has not caught up with an upgrade yet).
    fn end_txn_broker() -> BrokerVersions {
        use crate::protocol::negotiate::{AdvertisedApi, RawTable};
        BrokerVersions::from_raw(
            &RawTable {
                decoded_at: 3,
                apis: vec![AdvertisedApi {
                    api_key: ApiKey::END_TXN,
                    min: 0,
                    max: 5,
                }],
                finalized_features_epoch: 4,
                ..Default::default()
            },
            3,
        )
    }

    #[test]
    fn a_locked_plan_overrules_the_per_request_gate_and_bounds_the_version() {
        use crate::protocol::versions::VersionCaps;
        let mut req = kwire::messages::EndTxnRequest::default();
        req.transactional_id = kwire::StrBytes::from_static("t");
        let facts = crate::protocol::facts::request_facts(&req);
        let broker = end_txn_broker();
        let caps = VersionCaps::new();
        // No plan: the connection's level gates EndTxn to v4.
        let ch = choose_for(
            ApiKey::END_TXN,
            &facts,
            &Overrides::default(),
            &broker,
            &caps,
            "b",
        )
        .unwrap();
        assert_eq!(ch.version, 4);
        // A transaction locked in V2 sends v5 although this connection's
        // level lags; one locked classic stays at v4 whatever the level.
        let v2 = Overrides {
            transaction_plan: Some(r(5, 5)),
            ..Default::default()
        };
        let ch = choose_for(ApiKey::END_TXN, &facts, &v2, &broker, &caps, "b").unwrap();
        assert_eq!(ch.version, 5, "{}", ch.why());
        let classic = Overrides {
            transaction_plan: Some(r(0, 4)),
            transaction_version: Some(2),
            ..Default::default()
        };
        let ch = choose_for(ApiKey::END_TXN, &facts, &classic, &broker, &caps, "b").unwrap();
        assert_eq!(ch.version, 4);
        // A plan the broker cannot meet is an error, never a version outside it.
        let too_new = Overrides {
            transaction_plan: Some(r(6, 7)),
            ..Default::default()
        };
        assert!(choose_for(ApiKey::END_TXN, &facts, &too_new, &broker, &caps, "b").is_err());
    }

    #[test]
    fn transactional_produce_under_tv1_goes_at_11() {
        let mut c = base(ApiKey::PRODUCE, r(3, 13), Some(r(0, 12)));
        c.gates.extend(transaction_gate(ApiKey::PRODUCE, true, 1));
        let ch = choose(&c).unwrap();
        assert_eq!(ch.version, 11);
        assert!(ch.gated());
        // Non-transactional: no gate.
        assert!(transaction_gate(ApiKey::PRODUCE, false, 1).is_none());
        // TV2: no gate.
        assert!(transaction_gate(ApiKey::PRODUCE, true, 2).is_none());
        assert_eq!(transaction_gate(ApiKey::END_TXN, true, 0).unwrap().max, 4);
        assert_eq!(
            transaction_gate(ApiKey::TXN_OFFSET_COMMIT, true, 1)
                .unwrap()
                .max,
            4
        );
    }

    #[test]
    fn topic_id_gate_never_raises() {
        // librdkafka 2.6.0 raised Fetch to 12 against a 4-11 broker (#4887).
        let mut c = base(ApiKey::FETCH, r(4, 17), Some(r(4, 11)));
        c.gates.extend(topic_id_gate(ApiKey::FETCH, 1));
        let ch = choose(&c).unwrap();
        assert_eq!(ch.version, 11);
        assert!(!ch.gated());
        let mut c = base(ApiKey::FETCH, r(4, 17), Some(r(4, 17)));
        c.gates.extend(topic_id_gate(ApiKey::FETCH, 2));
        assert_eq!(choose(&c).unwrap().version, 12);
        assert_eq!(topic_id_gate(ApiKey::OFFSET_FETCH, 1).unwrap().max, 9);
        assert!(topic_id_gate(ApiKey::FETCH, 0).is_none());
        assert!(topic_id_gate(ApiKey::METADATA, 3).is_none());
    }

    #[test]
    fn gate_below_the_minimum_is_a_typed_error() {
        // A broker that only takes topic-id Fetch, topics without ids.
        let mut c = base(ApiKey::FETCH, r(4, 17), Some(r(13, 17)));
        c.gates.extend(topic_id_gate(ApiKey::FETCH, 1));
        match choose(&c) {
            Err(NoVersion::Gated {
                gate_max, usable, ..
            }) => {
                assert_eq!(gate_max, 12);
                assert_eq!(usable, r(13, 17));
            }
            other => panic!("{other:?}"),
        }
    }

    /// A connection's table from (key, min, max) triples.
    fn table(apis: &[(ApiKey, i16, i16)]) -> BrokerVersions {
        use crate::protocol::negotiate::{AdvertisedApi, RawTable};
        let raw = RawTable {
            decoded_at: 3,
            apis: apis
                .iter()
                .map(|&(api_key, min, max)| AdvertisedApi { api_key, min, max })
                .collect(),
            ..Default::default()
        };
        BrokerVersions::from_raw(&raw, 3)
    }

    fn produce_at_most(v: &BrokerVersions, max: Option<i16>) -> Result<Choice, NoVersion> {
        let req = kwire::messages::ProduceRequest::default();
        let facts = crate::protocol::facts::request_facts(&req);
        let ov = Overrides {
            max_version: max,
            ..Default::default()
        };
        choose_for(ApiKey::PRODUCE, &facts, &ov, v, &VersionCaps::new(), "b")
    }

    #[test]
    fn a_4x_broker_gets_no_produce_below_v3_whatever_it_advertises() {
        // What a real 4.4.0 broker advertises: Produce 0-13, Fetch 4-18.
        let kafka_44 = table(&[(ApiKey::PRODUCE, 0, 13), (ApiKey::FETCH, 4, 18)]);
        assert_eq!(kafka_44.floor(ApiKey::PRODUCE).map(|f| f.min), Some(3));
        assert_eq!(kafka_44.floor(ApiKey::FETCH), None);
        let e = produce_at_most(&kafka_44, Some(2)).unwrap_err();
        assert!(matches!(e, NoVersion::Empty { floor: Some(_), .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("usable from v3") && text.contains("KAFKA-18659"),
            "{text}"
        );
        let ok = produce_at_most(&kafka_44, Some(3)).unwrap();
        assert_eq!(ok.version, 3);
        assert!(matches!(ok.steps[0], Step::Floor { .. }), "{}", ok.why());
        assert_eq!(produce_at_most(&kafka_44, None).unwrap().version, 13);
    }

    #[test]
    fn brokers_that_still_take_old_fetch_keep_their_produce_floor() {
        // 3.x: Fetch from v0, Produce v0-2 really accepted.
        let kafka_38 = table(&[(ApiKey::PRODUCE, 0, 11), (ApiKey::FETCH, 0, 16)]);
        assert_eq!(kafka_38.floor(ApiKey::PRODUCE), None);
        assert_eq!(produce_at_most(&kafka_38, Some(2)).unwrap().version, 2);
        // A broker without Fetch at all (nothing says it is 4.x).
        let odd = table(&[(ApiKey::PRODUCE, 0, 9)]);
        assert_eq!(produce_at_most(&odd, Some(1)).unwrap().version, 1);
        // Already advertising v3+: nothing to raise.
        let newer = table(&[(ApiKey::PRODUCE, 3, 13), (ApiKey::FETCH, 4, 18)]);
        assert_eq!(newer.floor(ApiKey::PRODUCE), None);
    }

    fn range() -> impl Strategy<Value = VersionRange> {
        (-1i16..20, 0i16..20).prop_map(|(a, len)| VersionRange::new(a, a.saturating_add(len - 3)))
    }

    fn gate() -> impl Strategy<Value = Gate> {
        (
            prop_oneof![Just(GateKind::TransactionV2), Just(GateKind::TopicIds)],
            -1i16..20,
        )
            .prop_map(|(kind, max)| Gate {
                kind,
                max,
                why: "test".into(),
            })
    }

    proptest! {
        #[test]
        fn choice_is_inside_every_constraint(
            api in 0i16..80,
            ours in range(),
            broker in proptest::option::weighted(0.9, range()),
            request in range(),
            caps in proptest::collection::vec(-1i16..20, 0..3),
            gates in proptest::collection::vec(gate(), 0..3),
        ) {
            let c = Constraints {
                api: ApiKey(api),
                ours,
                broker,
                floor: None,
                request: request.into(),
                caps: caps.iter().map(|&max| Cap { source: "cap".into(), max }).collect(),
                gates: gates.clone(),
                broker_name: "b".into(),
            };
            let with = choose(&c);
            let without = choose(&Constraints { gates: vec![], ..c.clone() });
            match &with {
                Ok(ch) => {
                    let v = ch.version;
                    prop_assert!(ours.contains(v));
                    prop_assert!(broker.unwrap().contains(v));
                    prop_assert!(request.contains(v));
                    for cap in &caps { prop_assert!(v <= *cap); }
                    for g in &gates { prop_assert!(v <= g.max); }
                    // A gate never raises: the gated choice is at most the ungated one.
                    let ungated = without.as_ref().expect("ungated must succeed when gated does");
                    prop_assert!(v <= ungated.version);
                    // And it is the highest such version.
                    let bound = gates.iter().map(|g| g.max).fold(ungated.version, i16::min);
                    prop_assert_eq!(v, bound);
                }
                Err(_) => {
                    // Either nothing was usable without gates, or a gate fell
                    // below the usable minimum.
                    if let Ok(ungated) = &without {
                        let common_min = ours.min.max(broker.unwrap().min).max(request.min).max(0);
                        prop_assert!(gates.iter().any(|g| g.max < common_min));
                        prop_assert!(ungated.version >= common_min);
                    } else {
                        // No version satisfies ours ∩ broker ∩ request ∩ caps.
                        // (Versions are never negative: a range ending at -1 holds none.)
                        let ok = broker.is_some_and(|b| {
                            let lo = ours.min.max(b.min).max(request.min).max(0);
                            let hi = caps.iter().copied().fold(ours.max.min(b.max).min(request.max), i16::min);
                            lo <= hi
                        });
                        prop_assert!(!ok);
                    }
                }
            }
        }
    }
}
