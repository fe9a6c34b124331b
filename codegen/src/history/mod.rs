//! Kafka's release history as data: per release line, every API key's
//! version range; the feature levels (KIP-584) each line can finalize; the
//! patch releases whose table differs from their line's newest one.
//!
//! The facts live in `schemas/history/*.toml`, files of the project's own
//! format (numbers, not upstream text):
//! * `lines.toml`: written by `kwire-codegen history` from each release
//!   line's schemas (2.2 and later) and checked for drift in CI;
//! * `pre-json.toml`: releases before the JSON schemas (0.8.0 – 2.1),
//!   maxima recorded by hand with their sources;
//! * `features.toml`, `patches.toml`: researched by hand, a source per row.
//!
//! The generator embeds the committed files, so `generate` needs nothing
//! but the pinned release to emit the per-release tables.

pub mod cli;
pub mod compare;
pub mod data;
pub mod diff;
pub mod matrix;
pub mod svg;
pub mod union;

use std::cmp::Ordering;
use std::collections::BTreeMap;

pub use data::{ApiRow, Feature, FeatureLevels, Line, LineSource, Patch, ReleaseHistory};

/// Where the committed history files live, relative to the repository root.
pub const HISTORY_DIR: &str = "schemas/history";
pub const LINES_FILE: &str = "lines.toml";
pub const PRE_JSON_FILE: &str = "pre-json.toml";
pub const FEATURES_FILE: &str = "features.toml";
pub const PATCHES_FILE: &str = "patches.toml";
/// The name of Kafka's development line in the data (schemas of `trunk`);
/// the runtime calls it `next`.
pub const TRUNK: &str = "trunk";

// `codegen/history-data` is a symlink to the repository's `schemas/history`,
// so the release history ships inside kwire-codegen's own package (a
// published crate cannot reach files outside its directory).
const COMMITTED_LINES: &str = include_str!("../../history-data/lines.toml");
const COMMITTED_PRE_JSON: &str = include_str!("../../history-data/pre-json.toml");
const COMMITTED_FEATURES: &str = include_str!("../../history-data/features.toml");
const COMMITTED_PATCHES: &str = include_str!("../../history-data/patches.toml");

/// The history committed with this generator (the files are compiled in,
/// so a user's `generate` needs no other input than the pinned schemas).
pub fn committed() -> Result<ReleaseHistory, crate::GenError> {
    ReleaseHistory::from_texts(
        COMMITTED_PRE_JSON,
        COMMITTED_LINES,
        COMMITTED_FEATURES,
        COMMITTED_PATCHES,
    )
}

/// A release line's sort key: `0.10.2` < `1.0` < `2.2` < `4.4` < `trunk`.
pub fn line_order(name: &str) -> (u32, u32, u32) {
    if name == TRUNK {
        return (u32::MAX, 0, 0);
    }
    let mut it = name
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(u32::MAX));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

pub fn cmp_lines(a: &str, b: &str) -> Ordering {
    line_order(a).cmp(&line_order(b))
}

/// The name `KafkaRelease` gives a line: `V3_8`, `V0_10_2`; trunk is `NEXT`.
pub fn const_name(line: &str) -> String {
    if line == TRUNK {
        "NEXT".into()
    } else {
        format!("V{}", line.replace('.', "_"))
    }
}

/// The API table of a model (one release line's schemas): per api key, the
/// request's valid versions, unstable flag and listeners.
pub fn apis_of_model(model: &crate::model::Model) -> Result<Vec<ApiRow>, crate::GenError> {
    let mut out: BTreeMap<i16, ApiRow> = BTreeMap::new();
    // The model pairs every request with its response when it is built.
    for a in &model.apis {
        let request = &model.messages[a.request];
        out.insert(
            a.key,
            ApiRow {
                key: a.key,
                name: a.name.clone(),
                versions: request.valid,
                latest_unstable: request.latest_unstable,
                listeners: request.listeners.clone(),
            },
        );
    }
    Ok(out.into_values().collect())
}
