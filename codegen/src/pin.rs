//! The schema pin: which Kafka release, where its JSON comes from, and a
//! sha256 per file. The JSON itself is never copied into the repository.
//!
//! `schemas/kafka.toml` holds `release` (the label generated code carries)
//! and `source`: by default the release's `kafka-clients` jar on Maven
//! Central (`maven:org.apache.kafka:kafka-clients:4.4.0`), or a directory
//! relative to the repository root. `schemas/kafka.sha256` is the lock, in
//! `sha256sum` format: a line per schema file, then one for the jar.
//!
//! The pin also marks the root: tools look for `schemas/kafka.toml` in the
//! current directory and its parents, as cargo looks for `Cargo.toml`.

use std::path::{Path, PathBuf};

use crate::error::GenError;
use crate::fingerprint::{is_schema_entry, parse_lock, pin_value, sha256_hex};
use crate::source::{load_dir, SchemaSource};

pub const PIN_FILE: &str = "schemas/kafka.toml";
pub const LOCK_FILE: &str = "schemas/kafka.sha256";
/// Overrides the pin's source, like `--schemas`: a directory or `maven:<release>`.
pub const ENV_SCHEMA_DIR: &str = "KWIRE_SCHEMA_DIR";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub release: String,
    /// As written in the pin (a directory is relative to the root).
    pub source: String,
    /// `historic`: the sources of versions below the pin's minimum, newest
    /// release first (KIP-896 removed Produce v0-2, Fetch v0-3, ... in 4.0;
    /// their layouts come from the newest release that still defined them).
    /// Empty when the pin names none.
    pub historic: Vec<String>,
}

impl Pin {
    pub fn read(root: &Path) -> Result<Pin, GenError> {
        let path = root.join(PIN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| GenError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let get = |k: &str| {
            pin_value(&text, k).ok_or_else(|| {
                GenError::Pin(format!("{}: missing `{k} = \"...\"`", path.display()))
            })
        };
        let historic = pin_value(&text, "historic")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Pin {
            release: get("release")?,
            source: get("source")?,
            historic,
        })
    }

    /// The nearest directory at or above `start` that holds the pin.
    pub fn find_root(start: &Path) -> Result<PathBuf, GenError> {
        start
            .ancestors()
            .find(|d| d.join(PIN_FILE).is_file())
            .map(Path::to_path_buf)
            .ok_or_else(|| {
                GenError::Pin(format!(
                    "no {PIN_FILE} in {} or any parent directory: run kwire-codegen inside the \
                     repository (or crate) it works on, or pass --root DIR",
                    start.display()
                ))
            })
    }

    /// The pin's own source (relative directories from `root`).
    pub fn pinned_source(&self, root: &Path) -> Result<SchemaSource, GenError> {
        Ok(SchemaSource::parse(&self.source, root)?)
    }

    /// The historic sources, newest first (relative directories from `root`).
    /// `--schemas` and `$KWIRE_SCHEMA_DIR` replace the pin's source only:
    /// historic versions always come from these.
    pub fn historic_sources(&self, root: &Path) -> Result<Vec<SchemaSource>, GenError> {
        self.historic
            .iter()
            .map(|s| Ok(SchemaSource::parse(s, root)?))
            .collect()
    }

    /// The source to read: `--schemas`, else `$KWIRE_SCHEMA_DIR`, else the
    /// pin's. A relative directory given by flag or environment is taken
    /// from the current directory, the pin's from the root.
    pub fn source(&self, root: &Path, flag: Option<&Path>) -> Result<SchemaSource, GenError> {
        let given = flag
            .map(|f| f.as_os_str().to_os_string())
            .or_else(|| std::env::var_os(ENV_SCHEMA_DIR).filter(|v| !v.is_empty()));
        match given {
            Some(s) => Ok(SchemaSource::parse(&s.to_string_lossy(), Path::new(""))?),
            None => self.pinned_source(root),
        }
    }
}

/// The schema files of a directory (every `*.json`), sorted by name, with
/// their contents.
pub fn schema_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, GenError> {
    Ok(load_dir(dir)?.files)
}

pub use crate::fingerprint::lock_text;

/// The committed lock, if there is one.
pub fn read_lock(root: &Path) -> Option<String> {
    std::fs::read_to_string(root.join(LOCK_FILE)).ok()
}

/// The sha256 a lock records for a jar file name.
pub fn locked_jar_sha256(lock: &str, jar_file: &str) -> Option<String> {
    parse_lock(lock)
        .into_iter()
        .find(|(f, _)| f == jar_file)
        .map(|(_, h)| h)
}

/// Differences between a lock's schema lines and a set of schema files, as
/// readable lines.
pub fn lock_differences(lock: &str, files: &[(String, Vec<u8>)]) -> Vec<String> {
    let locked: Vec<(String, String)> = parse_lock(lock)
        .into_iter()
        .filter(|(f, _)| is_schema_entry(f))
        .collect();
    let mut out = Vec::new();
    for (name, hash) in &locked {
        match files.iter().find(|(n, _)| n == name) {
            None => out.push(format!(
                "{name}: in the lock, missing from the schema source"
            )),
            Some((_, data)) => {
                let h = sha256_hex(data);
                if &h != hash {
                    out.push(format!("{name}: sha256 {h} differs from the lock's {hash}"));
                }
            }
        }
    }
    for (name, _) in files {
        if !locked.iter().any(|(n, _)| n == name) {
            out.push(format!("{name}: in the schema source, not in the lock"));
        }
    }
    out
}
