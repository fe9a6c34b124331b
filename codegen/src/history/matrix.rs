//! `kwire-codegen matrix`: the support matrix, API x release -> versions,
//! as Markdown and as an SVG heatmap, plus the (release, API, version)
//! triples the broker tests proved against real brokers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use super::data::{split_release, ReleaseHistory};
use super::TRUNK;
use crate::error::GenError;

pub const MARKDOWN: &str = "docs/support-matrix.md";
pub const SVG: &str = "docs/support-matrix.svg";
/// Lists of exercised (release, api key, version) triples, one file per
/// broker test binary, checked by those tests on every run.
pub const EXERCISED_DIR: &str = "tests/exercised";

/// One proven pair: a request of `key` at `version` answered by a real
/// broker of `release` (a patch release, e.g. 4.4.0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Exercised {
    pub release: String,
    pub key: i16,
    pub version: i16,
}

impl Exercised {
    /// The release line the broker belongs to.
    pub fn line(&self) -> String {
        split_release(&self.release)
            .map(|(l, _)| l)
            .unwrap_or_else(|| self.release.clone())
    }
}

/// Parses an exercised list: `TEST RELEASE KEY VERSION` per line, `#`
/// comments.
pub fn parse_exercised(text: &str) -> Vec<Exercised> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            match p.as_slice() {
                [_, release, key, version] => Some(Exercised {
                    release: release.to_string(),
                    key: key.parse().ok()?,
                    version: version.parse().ok()?,
                }),
                _ => None,
            }
        })
        .collect()
}

pub fn load_exercised(root: &Path) -> Result<Vec<Exercised>, GenError> {
    let dir = root.join(EXERCISED_DIR);
    let mut out = BTreeSet::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        {
            let text = std::fs::read_to_string(&p).map_err(|e| GenError::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            })?;
            out.extend(parse_exercised(&text));
        }
    }
    Ok(out.into_iter().collect())
}

/// One cell: what a release line declares for an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Absent,
    /// Kept as a reserved key with no versions.
    Removed,
    /// Stable range; `unstable` is the latest unstable version, if any;
    /// `lost_min`: versions below `min` existed in an earlier line.
    Versions {
        min: i16,
        max: i16,
        unstable: Option<i16>,
        lost_min: bool,
    },
}

/// The matrix: rows are API keys (with their newest name), columns lines.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub lines: Vec<String>,
    pub apis: Vec<(i16, String)>,
    /// `cells[row][col]`.
    pub cells: Vec<Vec<Cell>>,
    /// (row, col) -> versions proven against a real broker of that line.
    pub proven: BTreeMap<(usize, usize), BTreeSet<i16>>,
}

impl Matrix {
    pub fn build(h: &ReleaseHistory, exercised: &[Exercised]) -> Matrix {
        let lines: Vec<String> = h.lines.iter().map(|l| l.release.clone()).collect();
        let mut names: BTreeMap<i16, String> = BTreeMap::new();
        for l in &h.lines {
            for a in &l.apis {
                names.insert(a.key, a.name.clone());
            }
        }
        let apis: Vec<(i16, String)> = names.into_iter().collect();
        let mut cells = Vec::new();
        for (key, _) in &apis {
            let mut row = Vec::new();
            let mut lowest_seen: Option<i16> = None;
            for l in &h.lines {
                let cell = match l.api(*key) {
                    None => Cell::Absent,
                    Some(a) if a.versions.is_empty() => Cell::Removed,
                    Some(a) => {
                        let stable = a.stable();
                        let unstable = a.latest_unstable.then_some(a.versions.hi);
                        let lost_min = lowest_seen.is_some_and(|m| m < a.versions.lo);
                        lowest_seen =
                            Some(lowest_seen.map_or(a.versions.lo, |m| m.min(a.versions.lo)));
                        if stable.is_empty() {
                            Cell::Versions {
                                min: a.versions.lo,
                                max: -1,
                                unstable,
                                lost_min,
                            }
                        } else {
                            Cell::Versions {
                                min: stable.lo,
                                max: stable.hi,
                                unstable,
                                lost_min,
                            }
                        }
                    }
                };
                row.push(cell);
            }
            cells.push(row);
        }
        let mut proven: BTreeMap<(usize, usize), BTreeSet<i16>> = BTreeMap::new();
        for e in exercised {
            let (Some(r), Some(c)) = (
                apis.iter().position(|(k, _)| *k == e.key),
                lines.iter().position(|l| *l == e.line()),
            ) else {
                continue;
            };
            proven.entry((r, c)).or_default().insert(e.version);
        }
        Matrix {
            lines,
            apis,
            cells,
            proven,
        }
    }

    pub fn row(&self, key: i16) -> Option<usize> {
        self.apis.iter().position(|(k, _)| *k == key)
    }

    pub fn col(&self, line: &str) -> Option<usize> {
        self.lines.iter().position(|l| l == line)
    }

    pub fn column_label(line: &str) -> &str {
        if line == TRUNK {
            "next"
        } else {
            line
        }
    }

    pub fn to_markdown(&self, h: &ReleaseHistory) -> String {
        let mut s = String::new();
        s.push_str(
            "# Kafka API support matrix\n\n\
             Written by `cargo run -p kwire-codegen -- matrix` from `schemas/history/`; CI fails when it\n\
             drifts. Each cell is the range of request versions a broker of that release line accepts by\n\
             default (its newest patch release); `(N*)` adds an unstable latest version brokers accept only\n\
             with `unstable.api.versions.enable`; `removed` is a key kept with no versions (KIP-896);\n\
             `↑` marks a minimum raised above what an earlier line accepted; an empty cell: no such API.\n\
             **✓** marks API/release pairs kwire's tests exercised against a real broker of that line\n\
             (the versions are listed below the table). Releases before 2.2 come from recorded maxima\n\
             (minimums 0); `next` is Kafka's trunk. The picture: [support-matrix.svg](support-matrix.svg).\n\n",
        );
        s.push_str("| key | API |");
        for l in &self.lines {
            let _ = write!(s, " {} |", Matrix::column_label(l));
        }
        s.push_str("\n|---:|---|");
        for _ in &self.lines {
            s.push_str("---|");
        }
        s.push('\n');
        for (r, (key, name)) in self.apis.iter().enumerate() {
            let _ = write!(s, "| {key} | {name} |");
            for c in 0..self.lines.len() {
                let mut t = match self.cells[r][c] {
                    Cell::Absent => String::new(),
                    Cell::Removed => "removed".into(),
                    Cell::Versions {
                        min,
                        max,
                        unstable,
                        lost_min,
                    } => {
                        let mut t = if max < 0 {
                            String::new()
                        } else if min == max {
                            format!("{min}")
                        } else {
                            format!("{min}-{max}")
                        };
                        if let Some(u) = unstable {
                            let _ = write!(t, " ({u}*)");
                        }
                        if lost_min {
                            t.push_str(" ↑");
                        }
                        t.trim().to_string()
                    }
                };
                if self.proven.contains_key(&(r, c)) {
                    t.push_str(" **✓**");
                }
                let _ = write!(s, " {} |", t.trim());
            }
            s.push('\n');
        }
        if !h.patches.is_empty() {
            s.push_str("\n## Patch releases that differ from their line\n\n");
            for p in &h.patches {
                let name = self
                    .row(p.key)
                    .map(|r| self.apis[r].1.clone())
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "- {}.0 – {}.{}: {name} ({}) {} ({})",
                    p.line, p.line, p.through, p.key, p.versions, p.source
                );
            }
        }
        s.push_str("\n## Feature levels (KIP-584) each line supports\n\n| feature | KIP |");
        let feature_lines: Vec<&String> = self
            .lines
            .iter()
            .filter(|l| {
                h.features
                    .iter()
                    .any(|f| f.levels.iter().any(|lv| &lv.release == *l))
            })
            .collect();
        for l in &feature_lines {
            let _ = write!(s, " {l} |");
        }
        s.push_str("\n|---|---|");
        for _ in &feature_lines {
            s.push_str("---|");
        }
        s.push('\n');
        for f in &h.features {
            let _ = write!(s, "| {} | {} |", f.name, f.kip);
            for l in &feature_lines {
                match f.levels.iter().find(|lv| &lv.release == *l) {
                    Some(lv) => {
                        let _ = write!(s, " {}-{} |", lv.min, lv.max);
                    }
                    None => s.push_str(" |"),
                }
            }
            s.push('\n');
        }
        s.push_str("\nSources for each level: `schemas/history/features.toml`.\n");
        s.push_str("\n## Proven against real brokers\n\n");
        if self.proven.is_empty() {
            s.push_str("None recorded yet.\n");
        } else {
            s.push_str(
                "Versions kwire's broker tests sent and decoded the answer of, per line (recorded in\n\
                 `tests/exercised/`; each test checks on every run that it still exercises exactly its list):\n\n",
            );
            for ((r, c), versions) in &self.proven {
                let v: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
                let _ = writeln!(
                    s,
                    "- {} {} ({}): {}",
                    Matrix::column_label(&self.lines[*c]),
                    self.apis[*r].1,
                    self.apis[*r].0,
                    v.join(", ")
                );
            }
        }
        s
    }
}

/// The files `matrix` writes, by path relative to the repository root.
pub fn render_files(root: &Path) -> Result<BTreeMap<String, String>, GenError> {
    let h = super::cli::load(root)?;
    let ex = load_exercised(root)?;
    let m = Matrix::build(&h, &ex);
    let mut out = BTreeMap::new();
    out.insert(MARKDOWN.to_string(), m.to_markdown(&h));
    out.insert(SVG.to_string(), super::svg::render(&m));
    Ok(out)
}

/// Paths whose committed content differs from `files`.
pub fn stale_files(root: &Path, files: &BTreeMap<String, String>) -> Vec<String> {
    files
        .iter()
        .filter(|(p, text)| {
            std::fs::read_to_string(root.join(p)).ok().as_deref() != Some(text.as_str())
        })
        .map(|(p, _)| p.clone())
        .collect()
}
