//! Kafka releases: what every release from 0.8.0 to today (and trunk, as
//! `next`) accepted, per API key, and which feature levels (KIP-584) it can
//! finalize; and the guess of a broker's release from its ApiVersions
//! answer ([`guess()`]).
//!
//! A [`KafkaRelease`] is a release line (`3.8`: its newest patch release)
//! or one patch release of it (`4.0.0`). Patch releases of a line share
//! the line's table except where a row of `schemas/history/patches.toml`
//! says otherwise: 4.0.0 shipped JoinGroup 2-9 and 4.0.1 re-added v0-v1
//! (KAFKA-19444), so `"4.0.0"` and `"4.0"` differ there.
//!
//! Uses: a release pin for negotiation (a cap, never instead of it, like
//! Sarama's `config.Version`), and the fallback table for a broker that
//! never answers ApiVersions (0.8/0.9, some proxies).
//!
//! ```
//! use kwire::{ApiKey, KafkaRelease};
//! assert_eq!(KafkaRelease::V3_8.max_version(ApiKey::FETCH), Some(16));
//! let r: KafkaRelease = "4.0.0".parse().unwrap();
//! assert_eq!(r.versions(ApiKey::JOIN_GROUP).map(|v| v.min), Some(2));
//! assert_eq!(KafkaRelease::V2_0.versions(ApiKey::FETCH).map(|v| v.max), Some(8));
//! ```

pub mod guess;
pub(crate) mod table;

/// The api keys this module names. The runtime is compiled against any
/// schema set (the generator's golden tests build it with fixture schemas),
/// so it cannot rely on the generated `ApiKey` constants of Kafka's.
pub(crate) mod keys {
    use crate::ApiKey;
    pub const API_VERSIONS: ApiKey = ApiKey(18);
    pub const ADD_PARTITIONS_TO_TXN: ApiKey = ApiKey(24);
    pub const ADD_OFFSETS_TO_TXN: ApiKey = ApiKey(25);
    pub const END_TXN: ApiKey = ApiKey(26);
    pub const WRITE_TXN_MARKERS: ApiKey = ApiKey(27);
    pub const TXN_OFFSET_COMMIT: ApiKey = ApiKey(28);
    pub const ENVELOPE: ApiKey = ApiKey(58);
    pub const GET_TELEMETRY_SUBSCRIPTIONS: ApiKey = ApiKey(71);
    pub const PUSH_TELEMETRY: ApiKey = ApiKey(72);
}

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::generated::releases::{LINES, PATCHES};
use crate::{ApiKey, VersionRange};
use table::{Line, LineApi, BROKER, CONTROLLER, ZK_BROKER};

pub use guess::{guess, Advertised, Guess, Role, Verdict};

/// A Kafka release line, or one patch release of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KafkaRelease {
    line: u8,
    /// `None`: the line as a whole (its newest patch release).
    patch: Option<u16>,
}

/// Which listeners serve an API (from the schemas' `listeners`, 2.8 on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listeners(u8);

impl Listeners {
    /// A ZooKeeper-mode broker (before 2.8 every key is served by it).
    pub fn zk_broker(self) -> bool {
        self.0 == 0 || self.0 & ZK_BROKER != 0
    }
    /// A KRaft broker's client listener.
    pub fn broker(self) -> bool {
        self.0 & BROKER != 0
    }
    /// A KRaft controller's listener.
    pub fn controller(self) -> bool {
        self.0 & CONTROLLER != 0
    }
    /// The schemas of the line name no listeners (before 2.8).
    pub fn unspecified(self) -> bool {
        self.0 == 0
    }
}

/// One API of one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReleaseApi {
    pub key: ApiKey,
    /// The API's name in that release (key 43 was ElectPreferredLeaders
    /// before 2.4).
    pub name: &'static str,
    /// What a broker of that release accepts by default; `None` when the key
    /// is kept but the API was removed (KIP-896 removed 4-7 in 4.0), or its
    /// only version is unstable.
    pub versions: Option<VersionRange>,
    /// Every version of the schema, an unstable latest one included.
    pub versions_including_unstable: Option<VersionRange>,
    pub listeners: Listeners,
}

/// The levels of one feature a release supports (its SupportedFeatures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeatureSupport {
    pub name: &'static str,
    pub min: i16,
    pub max: i16,
}

/// Why a text is not a Kafka release this build knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseReleaseError {
    #[error(
        "{0:?} is not a Kafka release (expected e.g. \"3.8\", \"3.8.1\", \"0.10.2.1\" or \"next\")"
    )]
    Syntax(String),
    #[error("Kafka {line} is not a release line this build knows (oldest 0.8.0, newest {newest})")]
    UnknownLine { line: String, newest: &'static str },
}

fn line_api_versions(a: &LineApi, include_unstable: bool) -> Option<VersionRange> {
    if a.min < 0 {
        return None;
    }
    let max = if a.unstable && !include_unstable {
        a.max - 1
    } else {
        a.max
    };
    (max >= a.min).then_some(VersionRange::new(a.min, max))
}

impl KafkaRelease {
    pub(crate) const fn from_line(line: u8) -> KafkaRelease {
        KafkaRelease { line, patch: None }
    }

    fn data(self) -> &'static Line {
        &LINES[usize::from(self.line)]
    }

    /// Every release line, oldest first, `next` last.
    pub fn lines() -> impl Iterator<Item = KafkaRelease> {
        (0..LINES.len()).map(|i| KafkaRelease::from_line(i as u8))
    }

    /// Every released line (without `next`), oldest first.
    pub fn released() -> impl Iterator<Item = KafkaRelease> {
        KafkaRelease::lines().filter(|r| !r.is_next())
    }

    /// The line's name: `0.10.2`, `3.8`, `next`.
    pub fn line_name(self) -> &'static str {
        self.data().name
    }

    /// This release's line (the line's newest patch release).
    pub fn line(self) -> KafkaRelease {
        KafkaRelease::from_line(self.line)
    }

    pub fn patch(self) -> Option<u16> {
        self.patch
    }

    /// A patch release of this line: `KafkaRelease::V4_0.with_patch(0)` is 4.0.0.
    pub fn with_patch(self, patch: u16) -> KafkaRelease {
        KafkaRelease {
            line: self.line,
            patch: if self.is_next() { None } else { Some(patch) },
        }
    }

    /// Kafka's development line (trunk).
    pub fn is_next(self) -> bool {
        usize::from(self.line) + 1 == LINES.len() && self.data().name == "next"
    }

    /// The table comes from the line's JSON schemas (2.2 and later); before
    /// that only maxima were recorded (every minimum is 0).
    pub fn from_schemas(self) -> bool {
        self.data().json
    }

    /// Brokers of this release answer ApiVersions (KIP-35, 0.10.0 on).
    pub fn has_api_versions(self) -> bool {
        self.has_api(keys::API_VERSIONS)
    }

    /// (major, minor, patch-line) of the line's name; `next` sorts last.
    pub(crate) fn line_name_order(self) -> (u16, u16, u16) {
        if self.is_next() {
            return (u16::MAX, 0, 0);
        }
        let mut it = self
            .line_name()
            .split('.')
            .map(|p| p.parse::<u16>().unwrap_or(0));
        (
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
        )
    }

    /// The previous line (`None` for 0.8.0).
    pub fn previous_line(self) -> Option<KafkaRelease> {
        self.line.checked_sub(1).map(KafkaRelease::from_line)
    }

    /// The next line (`None` for `next`).
    pub fn next_line(self) -> Option<KafkaRelease> {
        let n = self.line + 1;
        (usize::from(n) < LINES.len()).then_some(KafkaRelease::from_line(n))
    }

    fn raw(self, key: ApiKey) -> Option<LineApi> {
        let apis = self.data().apis;
        let i = apis.binary_search_by_key(&key.0, |a| a.key).ok()?;
        let mut a = apis[i];
        if let Some(p) = self.patch {
            if let Some(o) = PATCHES
                .iter()
                .find(|o| o.line == self.line && o.key == key.0 && p <= o.through)
            {
                a.min = o.min;
                a.max = o.max;
            }
        }
        Some(a)
    }

    /// Whether the release knows the key (a removed API counts: its key stays reserved).
    pub fn has_api(self, key: ApiKey) -> bool {
        self.raw(key).is_some()
    }

    /// The versions a broker of this release accepts by default (an
    /// unstable latest version left out). `None`: no such API then.
    pub fn versions(self, key: ApiKey) -> Option<VersionRange> {
        self.raw(key).and_then(|a| line_api_versions(&a, false))
    }

    /// Every version of the release's schema, an unstable latest one included.
    pub fn versions_including_unstable(self, key: ApiKey) -> Option<VersionRange> {
        self.raw(key).and_then(|a| line_api_versions(&a, true))
    }

    pub fn max_version(self, key: ApiKey) -> Option<i16> {
        self.versions(key).map(|v| v.max)
    }

    pub fn min_version(self, key: ApiKey) -> Option<i16> {
        self.versions(key).map(|v| v.min)
    }

    /// `ours` capped by this release: the range a client pinned to this
    /// release may use (`None` when they do not meet).
    pub fn cap(self, key: ApiKey, ours: VersionRange) -> Option<VersionRange> {
        self.versions(key).and_then(|v| v.intersect(&ours))
    }

    /// Every API key of the release, sorted by key.
    pub fn apis(self) -> impl Iterator<Item = ReleaseApi> {
        self.data().apis.iter().filter_map(move |a| {
            let a = self.raw(ApiKey(a.key))?;
            Some(ReleaseApi {
                key: ApiKey(a.key),
                name: a.name,
                versions: line_api_versions(&a, false),
                versions_including_unstable: line_api_versions(&a, true),
                listeners: Listeners(a.listeners),
            })
        })
    }

    /// The feature levels (KIP-584) brokers of this release support and can
    /// finalize. Empty before 3.3 and for `next`.
    pub fn features(self) -> impl Iterator<Item = FeatureSupport> {
        self.data().features.iter().map(|f| FeatureSupport {
            name: f.name,
            min: f.min,
            max: f.max,
        })
    }

    pub fn feature(self, name: &str) -> Option<FeatureSupport> {
        self.features().find(|f| f.name == name)
    }

    /// Parses `3.8`, `3.8.1`, `v3.8.1`, `0.10.2`, `0.10.2.1`, `next` or `trunk`.
    pub fn parse(text: &str) -> Result<KafkaRelease, ParseReleaseError> {
        let t = text.trim();
        let syntax = || ParseReleaseError::Syntax(t.chars().take(40).collect());
        if t.eq_ignore_ascii_case("next") || t.eq_ignore_ascii_case("trunk") {
            return KafkaRelease::lines()
                .find(|r| r.is_next())
                .ok_or_else(syntax);
        }
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let parts: Vec<u16> = t
            .split('.')
            .map(|p| {
                if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    p.parse().ok()
                }
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(syntax)?;
        // 0.x releases have three-part line names (0.10.2) and a fourth for the patch.
        let n = if parts.first() == Some(&0) { 3 } else { 2 };
        if parts.len() < n || parts.len() > n + 1 {
            return Err(syntax());
        }
        let line_name = parts[..n]
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(".");
        let line = KafkaRelease::lines()
            .find(|r| r.line_name() == line_name)
            .ok_or(ParseReleaseError::UnknownLine {
                line: line_name,
                newest: KafkaRelease::LATEST.line_name(),
            })?;
        Ok(match parts.get(n) {
            Some(&p) => line.with_patch(p),
            None => line,
        })
    }
}

impl FromStr for KafkaRelease {
    type Err = ParseReleaseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KafkaRelease::parse(s)
    }
}

impl Ord for KafkaRelease {
    /// By line, then patch; the line itself (its newest patch) sorts after
    /// every numbered patch of it.
    fn cmp(&self, other: &Self) -> Ordering {
        self.line
            .cmp(&other.line)
            .then_with(|| match (self.patch, other.patch) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(&b),
            })
    }
}

impl PartialOrd for KafkaRelease {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for KafkaRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{p}", self.line_name()),
            None => f.write_str(self.line_name()),
        }
    }
}

impl fmt::Debug for KafkaRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KafkaRelease({self})")
    }
}
