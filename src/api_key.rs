//! API keys and the per-API version table.
//!
//! The vocabulary is handwritten here; the facts come from the generated
//! table of the pinned release ([`API_TABLE`], and a named constant per key
//! such as `ApiKey::API_VERSIONS`), so this code never changes when Kafka
//! adds an API.

use std::fmt;

use crate::version::VersionRange;

pub use crate::generated::api_table::{API_TABLE, KAFKA_RELEASE};

/// A Kafka API key. Open: a key this build does not know (a newer
/// broker's) is kept as is, never a decode error.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct ApiKey(pub i16);

/// One row of the per-API version table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiInfo {
    pub key: ApiKey,
    pub name: &'static str,
    /// Every valid version; `None` when Kafka removed the API.
    pub versions: Option<VersionRange>,
    /// The last version is still under development.
    pub latest_version_unstable: bool,
    pub request_flexible_min: Option<i16>,
    pub response_flexible_min: Option<i16>,
    pub deprecated: Option<VersionRange>,
    /// Which listeners serve it (`broker`, `controller`, ...).
    pub listeners: &'static [&'static str],
    pub request_schema: &'static str,
    pub response_schema: &'static str,
}

impl ApiInfo {
    /// The version range for a client: the unstable latest version is left
    /// out unless `include_unstable`.
    pub fn versions_for(&self, include_unstable: bool) -> Option<VersionRange> {
        let v = self.versions?;
        if self.latest_version_unstable && !include_unstable {
            if v.max == v.min {
                None
            } else {
                Some(VersionRange::new(v.min, v.max - 1))
            }
        } else {
            Some(v)
        }
    }
}

impl ApiKey {
    /// The table entry, for keys this build knows.
    pub fn info(self) -> Option<&'static ApiInfo> {
        // Keys are dense from 0 in every release; the search covers gaps.
        match API_TABLE.get(self.0 as usize) {
            Some(i) if self.0 >= 0 && i.key == self => Some(i),
            _ => API_TABLE
                .binary_search_by_key(&self, |i| i.key)
                .ok()
                .map(|i| &API_TABLE[i]),
        }
    }

    /// The API's name, for keys this build knows.
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|i| i.name)
    }

    /// The key of the API called `name` (`ApiVersions`).
    pub fn from_name(name: &str) -> Option<ApiKey> {
        API_TABLE.iter().find(|i| i.name == name).map(|i| i.key)
    }

    /// The versions a client should use: every valid version except an
    /// unstable latest one. `None` for unknown or removed APIs.
    pub fn versions(self) -> Option<VersionRange> {
        self.info().and_then(|i| i.versions_for(false))
    }

    /// Every valid version, the unstable latest one included.
    pub fn versions_including_unstable(self) -> Option<VersionRange> {
        self.info().and_then(|i| i.versions_for(true))
    }

    /// The first flexible request version (KIP-482).
    pub fn request_flexible_min(self) -> Option<i16> {
        self.info().and_then(|i| i.request_flexible_min)
    }

    /// The first flexible response version (KIP-482).
    pub fn response_flexible_min(self) -> Option<i16> {
        self.info().and_then(|i| i.response_flexible_min)
    }

    /// Known to this build, with no valid versions left.
    pub fn is_removed(self) -> bool {
        self.info().is_some_and(|i| i.versions.is_none())
    }
}

impl From<i16> for ApiKey {
    fn from(v: i16) -> Self {
        ApiKey(v)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "ApiKey({})", self.0),
        }
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "unknown api key {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_lookups_agree() {
        assert!(API_TABLE.windows(2).all(|w| w[0].key < w[1].key));
        for i in API_TABLE {
            assert_eq!(i.key.info(), Some(i));
            assert_eq!(ApiKey::from_name(i.name), Some(i.key));
        }
        assert_eq!(ApiKey(-1).info(), None);
        assert_eq!(ApiKey(i16::MAX).name(), None);
        assert_eq!(ApiKey(i16::MAX).to_string(), "unknown api key 32767");
    }
}
