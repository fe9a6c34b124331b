//! Which Kafka release a broker most likely runs, from its ApiVersions
//! answer (API ranges, and SupportedFeatures from v3 on).
//!
//! A broker's table is compared with what each release line advertises in
//! each role: a ZooKeeper-mode broker (every key before 2.8; the
//! `zkBroker` listener after), a KRaft broker or a KRaft controller (the
//! schemas' `listeners`, 2.8 on), and the release's whole schema table.
//! Only maxima decide (minimums are advertised loosely: 4.x advertises
//! Produce v0 it no longer accepts, KAFKA-18659), except that a line's
//! patch releases are told apart by the minimums they differ in.
//! Keys whose presence depends on broker configuration are not held
//! against a release when absent: the KIP-714 telemetry keys (advertised
//! only with a telemetry reporter), the transaction keys (hidden below
//! message format v2 until 4.0) and Envelope (KIP-590 forwarding).
//!
//! Outcomes: `4.1` (exact), `3.3 or 3.4` (the tables are identical and no
//! feature levels tell them apart), `between 3.5 and 3.6` (newer than one
//! line, older than the next: a snapshot or unstable versions enabled),
//! `at least 4.4` (newer than every line known), `not Apache Kafka` (no
//! line is consistent with it). Every outcome says which keys and features
//! decided it.

use std::collections::BTreeMap;
use std::fmt;

use super::keys;
use super::KafkaRelease;
use crate::{ApiKey, VersionRange};

/// What a broker advertised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertised {
    apis: BTreeMap<i16, VersionRange>,
    duplicates: Vec<i16>,
    /// `None`: unknown (an ApiVersions answer below v3 carries no features).
    features: Option<BTreeMap<String, VersionRange>>,
}

impl Advertised {
    pub fn new() -> Advertised {
        Advertised::default()
    }

    /// Adds an advertised API range (a key given twice keeps the last and is
    /// noted: Apache Kafka never does that).
    pub fn api(&mut self, key: ApiKey, min: i16, max: i16) -> &mut Self {
        if self
            .apis
            .insert(key.0, VersionRange::new(min, max))
            .is_some()
        {
            self.duplicates.push(key.0);
        }
        self
    }

    /// Adds a supported feature range (SupportedFeatures); the broker's
    /// features are then known, even if this is never called with any.
    pub fn feature(&mut self, name: &str, min: i16, max: i16) -> &mut Self {
        self.features
            .get_or_insert_with(BTreeMap::new)
            .insert(name.to_string(), VersionRange::new(min, max));
        self
    }

    /// The broker's features are known to be none (a v3+ answer without any).
    pub fn no_features(&mut self) -> &mut Self {
        self.features.get_or_insert_with(BTreeMap::new);
        self
    }

    /// What a broker of `release` in `role` advertises by default (no
    /// unstable versions, every configuration-dependent key present), with
    /// its supported features.
    pub fn of_release(release: KafkaRelease, role: Role) -> Advertised {
        let mut a = Advertised::new();
        for api in release.apis() {
            if let Some(v) = api.versions {
                if role.serves(api.listeners) {
                    a.api(api.key, v.min, v.max);
                }
            }
        }
        if release.features().next().is_some() {
            a.no_features();
            for f in release.features() {
                a.feature(f.name, f.min, f.max);
            }
        }
        a
    }

    pub fn apis(&self) -> impl Iterator<Item = (ApiKey, VersionRange)> + '_ {
        self.apis.iter().map(|(k, v)| (ApiKey(*k), *v))
    }
}

/// The role whose table a broker's answer is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A KRaft broker's client listener (2.8 on).
    KRaftBroker,
    /// A ZooKeeper-mode broker (up to 3.9).
    ZooKeeper,
    /// A KRaft controller's listener (KIP-919 lets clients bootstrap there).
    KRaftController,
    /// The release's whole table, every listener at once (what
    /// [`Advertised::of_release`] with this role gives).
    Schema,
}

impl Role {
    fn serves(self, l: super::Listeners) -> bool {
        match self {
            Role::KRaftBroker => l.broker(),
            Role::ZooKeeper => l.zk_broker(),
            Role::KRaftController => l.controller(),
            Role::Schema => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::KRaftBroker => "KRaft broker",
            Role::ZooKeeper => "ZooKeeper-mode broker",
            Role::KRaftController => "KRaft controller",
            Role::Schema => "whole schema table",
        })
    }
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Exact(KafkaRelease),
    /// Consecutive lines whose tables are identical: one of `oldest..=newest`.
    OneOf {
        oldest: KafkaRelease,
        newest: KafkaRelease,
    },
    /// Newer than `above`, older than `below`.
    Between {
        above: KafkaRelease,
        below: KafkaRelease,
    },
    /// Newer than every line this build knows, or equal to the newest.
    AtLeast(KafkaRelease),
    /// No release line is consistent with the table.
    NotApacheKafka {
        closest: Option<KafkaRelease>,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Exact(r) => write!(f, "{r}"),
            Verdict::OneOf { oldest, newest } if oldest.next_line() == Some(*newest) => {
                write!(f, "{oldest} or {newest}")
            }
            Verdict::OneOf { oldest, newest } => write!(f, "one of {oldest} to {newest}"),
            Verdict::Between { above, below } => write!(f, "between {above} and {below}"),
            Verdict::AtLeast(r) => write!(f, "at least {r}"),
            Verdict::NotApacheKafka { closest: Some(c) } => {
                write!(f, "not Apache Kafka (closest: {c})")
            }
            Verdict::NotApacheKafka { closest: None } => f.write_str("not Apache Kafka"),
        }
    }
}

/// A guess and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guess {
    pub verdict: Verdict,
    /// The role whose tables decided (`None` for "not Apache Kafka").
    pub role: Option<Role>,
    /// How many API keys were compared.
    pub compared: usize,
    /// The deciding facts, one per line, in plain text (broker-supplied
    /// names escaped).
    pub reasons: Vec<String>,
}

impl Guess {
    /// The verdict and its reasons, one per line.
    pub fn explain(&self) -> String {
        let mut s = format!("Kafka release: {}", self.verdict);
        if let Some(r) = self.role {
            s.push_str(&format!(" (as a {r})"));
        }
        for r in &self.reasons {
            s.push_str("\n  ");
            s.push_str(r);
        }
        s
    }
}

/// Keys whose absence says nothing: their presence depends on broker
/// configuration.
fn absence_tolerated(key: ApiKey, release: KafkaRelease) -> bool {
    match key {
        // KIP-714: advertised only when a telemetry reporter is configured.
        keys::GET_TELEMETRY_SUBSCRIPTIONS | keys::PUSH_TELEMETRY => true,
        // KIP-590: forwarding to the controller, configuration-dependent in 2.x/3.x.
        keys::ENVELOPE => true,
        // Hidden when the inter-broker message format is below v2 (KIP-98), until 4.0.
        keys::ADD_PARTITIONS_TO_TXN
        | keys::ADD_OFFSETS_TO_TXN
        | keys::END_TXN
        | keys::WRITE_TXN_MARKERS
        | keys::TXN_OFFSET_COMMIT => {
            release.line_name_order() >= (0, 11, 0) && release.line_name_order() < (4, 0, 0)
        }
        _ => false,
    }
}

/// How a broker's table compares with one (release, role) table.
#[derive(Debug, Default)]
struct Fit {
    /// Keys the broker has higher, or the release does not have at all.
    over: Vec<(i16, Option<VersionRange>)>,
    /// Keys the broker has lower, or lacks.
    under: Vec<(i16, Option<VersionRange>)>,
    /// Keys this role never serves in any release (another role's).
    foreign: Vec<i16>,
    matched: usize,
}

impl Fit {
    fn exact(&self) -> bool {
        self.over.is_empty() && self.under.is_empty() && self.foreign.is_empty()
    }
    fn misses(&self) -> usize {
        self.over.len() + self.under.len() + self.foreign.len()
    }
}

/// Per role, each line's advertised table (maxima decide) and, per key,
/// the last line serving it: computed once from the static tables.
struct RoleTables {
    /// Indexed by line.
    expected: Vec<BTreeMap<i16, VersionRange>>,
    last_line_with: BTreeMap<i16, KafkaRelease>,
}

fn tables(role: Role) -> &'static RoleTables {
    static TABLES: std::sync::OnceLock<Vec<RoleTables>> = std::sync::OnceLock::new();
    let all = TABLES.get_or_init(|| {
        ROLES
            .iter()
            .map(|role| {
                let mut last_line_with = BTreeMap::new();
                let expected = KafkaRelease::lines()
                    .map(|r| {
                        let t: BTreeMap<i16, VersionRange> = r
                            .apis()
                            .filter(|a| role.serves(a.listeners))
                            .filter_map(|a| a.versions.map(|v| (a.key.0, v)))
                            .collect();
                        for k in t.keys() {
                            last_line_with.insert(*k, r);
                        }
                        t
                    })
                    .collect();
                RoleTables {
                    expected,
                    last_line_with,
                }
            })
            .collect()
    });
    &all[ROLES.iter().position(|r| *r == role).unwrap_or(0)]
}

const ROLES: [Role; 4] = [
    Role::KRaftBroker,
    Role::ZooKeeper,
    Role::KRaftController,
    Role::Schema,
];

fn expected(release: KafkaRelease, role: Role) -> &'static BTreeMap<i16, VersionRange> {
    &tables(role).expected[usize::from(release.line)]
}

fn role_applies(release: KafkaRelease, role: Role) -> bool {
    release.has_api_versions() && !expected(release, role).is_empty()
}

fn fit(adv: &Advertised, release: KafkaRelease, role: Role) -> Fit {
    let want = expected(release, role);
    let mut f = Fit::default();
    for (&k, have) in &adv.apis {
        match want.get(&k) {
            Some(w) if have.max == w.max => f.matched += 1,
            Some(w) if have.max > w.max => f.over.push((k, Some(*w))),
            Some(w) => f.under.push((k, Some(*w))),
            None => {
                let later = tables(role)
                    .last_line_with
                    .get(&k)
                    .is_some_and(|last| *last > release);
                if later {
                    f.over.push((k, None));
                } else {
                    f.foreign.push(k);
                }
            }
        }
    }
    for (&k, w) in want {
        if !adv.apis.contains_key(&k) && !absence_tolerated(ApiKey(k), release) {
            f.under.push((k, Some(*w)));
        }
    }
    f
}

/// Feature levels that contradict `release` (broker text escaped).
fn feature_conflicts(adv: &Advertised, release: KafkaRelease) -> Vec<String> {
    let Some(features) = &adv.features else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, have) in features {
        match release.feature(name) {
            Some(f) if f.max == have.max => {}
            Some(f) => out.push(format!(
                "{} {}-{} ({release}: {}-{})",
                printable(name),
                have.min,
                have.max,
                f.min,
                f.max
            )),
            // Test features (`test.feature.version`) are not release facts.
            None if name.starts_with("test.") || name.starts_with("unit.test.") => {}
            None => out.push(format!(
                "{} {}-{} ({release} has no such feature)",
                printable(name),
                have.min,
                have.max
            )),
        }
    }
    out
}

/// Escapes text that came from a broker before it reaches a terminal or a log.
fn printable(s: &str) -> String {
    s.chars().take(64).flat_map(char::escape_default).collect()
}

fn key_name(k: i16) -> String {
    match ApiKey(k).name() {
        Some(n) => format!("{n} ({k})"),
        None => format!("api key {k}"),
    }
}

fn describe(k: i16, adv: &Advertised, release: KafkaRelease, has: Option<VersionRange>) -> String {
    let broker = adv
        .apis
        .get(&k)
        .map_or("absent".to_string(), |v| format!("max {}", v.max));
    let rel = has.map_or("absent".to_string(), |v| format!("max {}", v.max));
    format!("{}: broker {broker}, {release} {rel}", key_name(k))
}

fn deciding(fit: &Fit, adv: &Advertised, release: KafkaRelease) -> String {
    let mut parts: Vec<String> = fit
        .over
        .iter()
        .chain(fit.under.iter())
        .take(3)
        .map(|(k, w)| describe(*k, adv, release, *w))
        .collect();
    parts.extend(
        fit.foreign
            .iter()
            .take(2)
            .map(|k| format!("{} is not served in this role", key_name(*k))),
    );
    let more = fit.misses().saturating_sub(parts.len());
    if more > 0 {
        parts.push(format!("{more} more"));
    }
    parts.join("; ")
}

/// One role's answer.
struct RoleAnswer {
    role: Role,
    verdict: Verdict,
    rank: u8,
    compared: usize,
    reasons: Vec<String>,
}

fn answer_for(adv: &Advertised, role: Role) -> Option<RoleAnswer> {
    let lines: Vec<KafkaRelease> = KafkaRelease::lines()
        .filter(|r| role_applies(*r, role))
        .collect();
    if lines.is_empty() {
        return None;
    }
    let fits: Vec<(KafkaRelease, Fit)> = lines.iter().map(|r| (*r, fit(adv, *r, role))).collect();
    let compared = adv.apis.len();
    let mut reasons = Vec::new();
    let exact: Vec<KafkaRelease> = fits
        .iter()
        .filter(|(_, f)| f.exact())
        .map(|(r, _)| *r)
        .collect();
    if !exact.is_empty() {
        let first = exact[0];
        let last = *exact.last().unwrap_or(&first);
        reasons.push(format!(
            "all {compared} advertised API keys match the {role} table of {}",
            if first == last {
                first.to_string()
            } else {
                format!("{first} to {last}")
            }
        ));
        // The neighbours, and why they are out.
        for (r, f) in &fits {
            if !f.exact() && (r.next_line() == Some(first) || r.previous_line() == Some(last)) {
                reasons.push(format!("not {r}: {}", deciding(f, adv, *r)));
            }
        }
        let mut by_features: Vec<KafkaRelease> = exact
            .iter()
            .copied()
            .filter(|r| feature_conflicts(adv, *r).is_empty())
            .collect();
        if adv.features.is_some() && by_features.len() < exact.len() {
            for r in &exact {
                let c = feature_conflicts(adv, *r);
                if !c.is_empty() {
                    reasons.push(format!("not {r} by its feature levels: {}", c.join(", ")));
                }
            }
        }
        if by_features.is_empty() {
            reasons.push(
                "the feature levels match none of them (unstable feature versions enabled?): decided by API keys only"
                    .into(),
            );
            by_features = exact.clone();
        } else if adv.features.is_some() && by_features.len() == 1 && exact.len() > 1 {
            reasons.push(format!("feature levels single out {}", by_features[0]));
        }
        let verdict = if by_features.len() == 1 {
            Verdict::Exact(refine_patch(adv, by_features[0], &mut reasons))
        } else {
            if adv.features.is_none() {
                reasons.push(
                    "identical API tables; feature levels (ApiVersions v3+) could tell them apart"
                        .into(),
                );
            }
            Verdict::OneOf {
                oldest: by_features[0],
                newest: *by_features.last().unwrap_or(&by_features[0]),
            }
        };
        let rank = if matches!(verdict, Verdict::Exact(_)) {
            0
        } else {
            1
        };
        return Some(RoleAnswer {
            role,
            verdict,
            rank,
            compared,
            reasons,
        });
    }
    // Newest line the broker is at or above everywhere, oldest it is at or below.
    let above = fits
        .iter()
        .rev()
        .find(|(_, f)| f.under.is_empty() && f.foreign.is_empty())
        .map(|(r, _)| *r);
    let above = above?;
    let below = fits
        .iter()
        .find(|(r, f)| *r > above && f.over.is_empty() && f.foreign.is_empty())
        .map(|(r, _)| *r);
    let af = &fits.iter().find(|(r, _)| *r == above)?.1;
    reasons.push(format!("newer than {above}: {}", deciding(af, adv, above)));
    let verdict = match below {
        Some(b) => {
            let bf = &fits.iter().find(|(r, _)| *r == b)?.1;
            reasons.push(format!("older than {b}: {}", deciding(bf, adv, b)));
            Verdict::Between { above, below: b }
        }
        None => Verdict::AtLeast(above),
    };
    let rank = if matches!(verdict, Verdict::Between { .. }) {
        2
    } else {
        3
    };
    Some(RoleAnswer {
        role,
        verdict,
        rank,
        compared,
        reasons,
    })
}

/// A line's patch releases differ only where `patches.toml` says; their
/// minimums tell them apart.
fn refine_patch(adv: &Advertised, line: KafkaRelease, reasons: &mut Vec<String>) -> KafkaRelease {
    for p in super::PATCHES.iter().filter(|p| p.line == line.line) {
        let Some(have) = adv.apis.get(&p.key) else {
            continue;
        };
        let patched = line.with_patch(p.through);
        if have.min == p.min && line.min_version(ApiKey(p.key)) != Some(p.min) {
            reasons.push(format!(
                "{} min {} as in {patched} and earlier patch releases",
                key_name(p.key),
                have.min
            ));
            return if p.through == 0 { patched } else { line };
        }
        reasons.push(format!(
            "{} min {}: a patch release after {patched}",
            key_name(p.key),
            have.min
        ));
    }
    line
}

/// Guesses the release of a broker from what it advertised.
pub fn guess(adv: &Advertised) -> Guess {
    if adv.apis.is_empty() {
        return Guess {
            verdict: Verdict::NotApacheKafka { closest: None },
            role: None,
            compared: 0,
            reasons: vec!["no API keys advertised".into()],
        };
    }
    let roles = ROLES;
    let best = roles
        .iter()
        .filter_map(|r| answer_for(adv, *r))
        .min_by_key(|a| (a.rank, a.role));
    let mut g = match best {
        Some(a) => Guess {
            verdict: a.verdict,
            role: Some(a.role),
            compared: a.compared,
            reasons: a.reasons,
        },
        None => {
            // Closest line in any role, for the explanation.
            let closest = roles
                .iter()
                .flat_map(|role| {
                    KafkaRelease::lines()
                        .filter(move |r| role_applies(*r, *role))
                        .map(move |r| (fit(adv, r, *role), r, *role))
                })
                .min_by_key(|(f, r, _)| {
                    (
                        std::cmp::Reverse(f.matched),
                        f.misses(),
                        std::cmp::Reverse(*r),
                    )
                });
            let mut reasons = vec![
                "no release line is consistent with the table: it is above some line in some keys and below it in others"
                    .to_string(),
            ];
            if let Some((f, r, role)) = &closest {
                reasons.push(format!(
                    "closest: {r} as a {role}, {} of {} advertised keys match it, {} differences: {}",
                    f.matched,
                    adv.apis.len(),
                    f.misses(),
                    deciding(f, adv, *r)
                ));
            }
            Guess {
                verdict: Verdict::NotApacheKafka {
                    closest: closest.map(|(_, r, _)| r),
                },
                role: None,
                compared: adv.apis.len(),
                reasons,
            }
        }
    };
    if !adv.duplicates.is_empty() {
        let keys: Vec<String> = adv.duplicates.iter().map(|k| key_name(*k)).collect();
        g.reasons.push(format!(
            "advertised more than once (Apache Kafka never does): {}",
            keys.join(", ")
        ));
    }
    g
}
