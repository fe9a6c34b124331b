//! The history files: their types, how they are read and how
//! `lines.toml` is written (deterministically, so CI can compare).

use std::fmt::Write as _;

use serde::Deserialize;

use super::{cmp_lines, line_order, TRUNK};
use crate::error::GenError;
use crate::versions::Versions;

/// One API key in one release line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRow {
    pub key: i16,
    /// The name in that line (key 43 was ElectPreferredLeaders until 2.4).
    pub name: String,
    /// The request's valid versions; empty when the key is kept but removed.
    pub versions: Versions,
    /// The highest version is `latestVersionUnstable`: brokers neither
    /// advertise nor accept it by default.
    pub latest_unstable: bool,
    /// The schema's `listeners` (2.8 on): `zkBroker`, `broker`, `controller`.
    pub listeners: Vec<String>,
}

impl ApiRow {
    /// What a broker of that line accepts by default.
    pub fn stable(&self) -> Versions {
        if self.latest_unstable && !self.versions.is_empty() {
            if self.versions.lo == self.versions.hi {
                Versions::NONE
            } else {
                Versions::new(self.versions.lo, self.versions.hi - 1)
            }
        } else {
            self.versions
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSource {
    /// 0.8.0 – 2.1: recorded by hand in `pre-json.toml`.
    PreJson,
    /// 2.2 on: derived from the line's schemas into `lines.toml`.
    Schemas,
}

/// A release line: `0.10.2`, `2.8`, `4.4`, or `trunk`. Its table is the
/// line's newest patch release (patch differences are [`Patch`] rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub release: String,
    pub source: LineSource,
    /// Sorted by key.
    pub apis: Vec<ApiRow>,
}

impl Line {
    pub fn api(&self, key: i16) -> Option<&ApiRow> {
        self.apis.iter().find(|a| a.key == key)
    }
}

/// A KIP-584 feature and the levels each line supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub name: String,
    pub kip: String,
    pub levels: Vec<FeatureLevels>,
}

/// The levels brokers of one line support (their SupportedFeatures range,
/// production levels only): what that line can finalize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureLevels {
    pub release: String,
    pub min: i16,
    pub max: i16,
    pub source: String,
}

/// Patch releases of a line whose range for one API differs from the
/// line's newest patch release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub line: String,
    /// Patches `0..=through` of the line have `versions`.
    pub through: u16,
    pub key: i16,
    pub versions: Versions,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReleaseHistory {
    /// Oldest first; trunk last.
    pub lines: Vec<Line>,
    pub features: Vec<Feature>,
    pub patches: Vec<Patch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreJsonFile {
    releases: Vec<String>,
    api: Vec<PreJsonApi>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreJsonApi {
    key: i16,
    name: String,
    /// One per release; -1: the key does not exist in that release.
    max: Vec<i16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinesFile {
    #[serde(default)]
    line: Vec<LinesEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinesEntry {
    release: String,
    apis: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeaturesFile {
    feature: Vec<FeatureEntry>,
    level: Vec<LevelEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureEntry {
    name: String,
    kip: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelEntry {
    feature: String,
    release: String,
    min: i16,
    max: i16,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchesFile {
    #[serde(default)]
    patch: Vec<PatchEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchEntry {
    line: String,
    /// The last patch release with `versions`, e.g. "4.0.0".
    through: String,
    key: i16,
    versions: String,
    source: String,
}

fn bad(file: &str, problem: impl Into<String>) -> GenError {
    GenError::History {
        file: file.to_string(),
        problem: problem.into(),
    }
}

fn toml_err(file: &str, e: toml::de::Error) -> GenError {
    bad(file, e.to_string())
}

/// Parses one `lines.toml` row: `KEY NAME VERSIONS [unstable] [listeners=a,b]`.
pub fn parse_row(file: &str, row: &str) -> Result<ApiRow, GenError> {
    let mut it = row.split_whitespace();
    let err = || {
        bad(
            file,
            format!("row {row:?}: expected `KEY NAME VERSIONS [unstable] [listeners=a,b]`"),
        )
    };
    let key: i16 = it.next().and_then(|k| k.parse().ok()).ok_or_else(err)?;
    let name = it.next().ok_or_else(err)?.to_string();
    let versions = it.next().and_then(Versions::parse).ok_or_else(err)?;
    let mut latest_unstable = false;
    let mut listeners = Vec::new();
    for extra in it {
        if extra == "unstable" {
            latest_unstable = true;
        } else if let Some(l) = extra.strip_prefix("listeners=") {
            listeners = l.split(',').map(str::to_string).collect();
        } else {
            return Err(err());
        }
    }
    Ok(ApiRow {
        key,
        name,
        versions,
        latest_unstable,
        listeners,
    })
}

pub fn format_row(a: &ApiRow) -> String {
    let mut s = format!("{} {} {}", a.key, a.name, a.versions);
    if a.latest_unstable {
        s.push_str(" unstable");
    }
    if !a.listeners.is_empty() {
        let _ = write!(s, " listeners={}", a.listeners.join(","));
    }
    s
}

/// Splits `4.0.0` into its line (`4.0`) and patch (0); `0.10.2.1` into
/// (`0.10.2`, 1).
pub fn split_release(release: &str) -> Option<(String, u16)> {
    let parts: Vec<&str> = release.split('.').collect();
    if parts.iter().any(|p| p.parse::<u32>().is_err()) {
        return None;
    }
    let n = if parts.first() == Some(&"0") { 3 } else { 2 };
    if parts.len() != n + 1 {
        return None;
    }
    Some((parts[..n].join("."), parts[n].parse().ok()?))
}

impl ReleaseHistory {
    /// Parses and checks the four files.
    pub fn from_texts(
        pre_json: &str,
        lines: &str,
        features: &str,
        patches: &str,
    ) -> Result<ReleaseHistory, GenError> {
        let h = ReleaseHistory::parse_texts(pre_json, lines, features, patches)?;
        h.validate()?;
        Ok(h)
    }

    /// Parses the four files without checking that they agree (the
    /// `history` command refreshes the lines before checking).
    pub fn parse_texts(
        pre_json: &str,
        lines: &str,
        features: &str,
        patches: &str,
    ) -> Result<ReleaseHistory, GenError> {
        let mut h = ReleaseHistory::default();
        let pre: PreJsonFile =
            toml::from_str(pre_json).map_err(|e| toml_err(super::PRE_JSON_FILE, e))?;
        for (i, release) in pre.releases.iter().enumerate() {
            let mut apis = Vec::new();
            for a in &pre.api {
                let max = *a.max.get(i).ok_or_else(|| {
                    bad(
                        super::PRE_JSON_FILE,
                        format!(
                            "api {} has {} maxima for {} releases",
                            a.key,
                            a.max.len(),
                            pre.releases.len()
                        ),
                    )
                })?;
                if max >= 0 {
                    apis.push(ApiRow {
                        key: a.key,
                        name: a.name.clone(),
                        versions: Versions::new(0, max),
                        latest_unstable: false,
                        listeners: Vec::new(),
                    });
                }
            }
            if pre.api.iter().any(|a| a.max.len() != pre.releases.len()) {
                return Err(bad(
                    super::PRE_JSON_FILE,
                    "every api needs one maximum per release",
                ));
            }
            apis.sort_by_key(|a| a.key);
            h.lines.push(Line {
                release: release.clone(),
                source: LineSource::PreJson,
                apis,
            });
        }
        h.set_lines_toml(lines)?;
        let f: FeaturesFile =
            toml::from_str(features).map_err(|e| toml_err(super::FEATURES_FILE, e))?;
        for fe in f.feature {
            h.features.push(Feature {
                name: fe.name,
                kip: fe.kip,
                levels: Vec::new(),
            });
        }
        for l in f.level {
            let feature = h
                .features
                .iter_mut()
                .find(|f| f.name == l.feature)
                .ok_or_else(|| {
                    bad(
                        super::FEATURES_FILE,
                        format!("level for undeclared feature {}", l.feature),
                    )
                })?;
            if l.min > l.max || l.min < 0 {
                return Err(bad(
                    super::FEATURES_FILE,
                    format!("{} {}: levels {}-{}", l.feature, l.release, l.min, l.max),
                ));
            }
            feature.levels.push(FeatureLevels {
                release: l.release,
                min: l.min,
                max: l.max,
                source: l.source,
            });
        }
        let p: PatchesFile =
            toml::from_str(patches).map_err(|e| toml_err(super::PATCHES_FILE, e))?;
        for pe in p.patch {
            let (line, through) = split_release(&pe.through)
                .filter(|(l, _)| *l == pe.line)
                .ok_or_else(|| {
                    bad(
                        super::PATCHES_FILE,
                        format!(
                            "{}: `through` {:?} is not a patch release of it",
                            pe.line, pe.through
                        ),
                    )
                })?;
            let versions = Versions::parse(&pe.versions).ok_or_else(|| {
                bad(
                    super::PATCHES_FILE,
                    format!("{}: versions {:?}", pe.line, pe.versions),
                )
            })?;
            h.patches.push(Patch {
                line,
                through,
                key: pe.key,
                versions,
                source: pe.source,
            });
        }
        Ok(h)
    }

    /// Replaces the schema-derived lines with those of a `lines.toml` text.
    pub fn set_lines_toml(&mut self, text: &str) -> Result<(), GenError> {
        let file = super::LINES_FILE;
        let parsed: LinesFile = toml::from_str(text).map_err(|e| toml_err(file, e))?;
        self.lines.retain(|l| l.source == LineSource::PreJson);
        for entry in parsed.line {
            let mut apis = entry
                .apis
                .iter()
                .map(|r| parse_row(file, r))
                .collect::<Result<Vec<_>, _>>()?;
            apis.sort_by_key(|a| a.key);
            self.put_line(Line {
                release: entry.release,
                source: LineSource::Schemas,
                apis,
            });
        }
        Ok(())
    }

    /// Adds or replaces a line, keeping the lines in release order.
    pub fn put_line(&mut self, line: Line) {
        self.lines.retain(|l| l.release != line.release);
        self.lines.push(line);
        self.lines.sort_by(|a, b| cmp_lines(&a.release, &b.release));
    }

    pub fn line(&self, release: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.release == release)
    }

    /// Checks the files agree: lines in order, features and patches name known lines and keys.
    pub fn validate(&self) -> Result<(), GenError> {
        let mut prev: Option<&Line> = None;
        for l in &self.lines {
            if l.release != TRUNK && split_release(&format!("{}.0", l.release)).is_none() {
                return Err(bad(
                    super::LINES_FILE,
                    format!("{:?} is not a release line", l.release),
                ));
            }
            if let Some(p) = prev {
                if line_order(&p.release) >= line_order(&l.release) {
                    return Err(bad(
                        super::LINES_FILE,
                        format!("line {} given twice", l.release),
                    ));
                }
                if p.source == LineSource::Schemas && l.source == LineSource::PreJson {
                    return Err(bad(
                        super::PRE_JSON_FILE,
                        format!("{} is newer than the schema line {}", l.release, p.release),
                    ));
                }
            }
            let mut keys: Vec<i16> = l.apis.iter().map(|a| a.key).collect();
            keys.dedup();
            if keys.len() != l.apis.len() {
                return Err(bad(
                    super::LINES_FILE,
                    format!("line {}: an api key is listed twice", l.release),
                ));
            }
            prev = Some(l);
        }
        for f in &self.features {
            for lv in &f.levels {
                if self.line(&lv.release).is_none() {
                    return Err(bad(
                        super::FEATURES_FILE,
                        format!("{}: no release line {}", f.name, lv.release),
                    ));
                }
            }
        }
        for p in &self.patches {
            let line = self
                .line(&p.line)
                .ok_or_else(|| bad(super::PATCHES_FILE, format!("no release line {}", p.line)))?;
            if line.api(p.key).is_none() {
                return Err(bad(
                    super::PATCHES_FILE,
                    format!("{}: api key {} is not in that line", p.line, p.key),
                ));
            }
        }
        Ok(())
    }

    /// The `lines.toml` text for the schema-derived lines.
    pub fn lines_toml(&self) -> String {
        let mut s = String::from(
            "# kwire release history: every API key of each Kafka release line, as that line's\n\
             # request schemas declare it (its newest patch release). Written by\n\
             # `kwire-codegen history`; CI checks it against the release lines' schemas.\n\
             # Row: KEY NAME VERSIONS [unstable] [listeners=...]. VERSIONS \"none\": removed, key\n\
             # reserved; \"unstable\": the highest version is latestVersionUnstable.\n",
        );
        for l in self
            .lines
            .iter()
            .filter(|l| l.source == LineSource::Schemas)
        {
            let _ = write!(s, "\n[[line]]\nrelease = \"{}\"\napis = [\n", l.release);
            for a in &l.apis {
                let _ = writeln!(s, "  \"{}\",", format_row(a));
            }
            s.push_str("]\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        for row in [
            "0 Produce 3-13",
            "4 LeaderAndIsr none",
            "22 InitProducerId 0-6 unstable listeners=broker",
            "80 AddRaftVoter 0-1 listeners=controller,broker",
        ] {
            assert_eq!(format_row(&parse_row("t", row).unwrap()), row);
        }
        assert!(parse_row("t", "x Produce 0-1").is_err());
        assert!(parse_row("t", "0 Produce 0-1 stable").is_err());
    }

    #[test]
    fn releases_split_into_line_and_patch() {
        assert_eq!(split_release("4.0.0"), Some(("4.0".into(), 0)));
        assert_eq!(split_release("0.10.2.1"), Some(("0.10.2".into(), 1)));
        assert_eq!(split_release("4.0"), None);
        assert_eq!(split_release("4.0.x"), None);
    }
}
