//! The schema pin: which Kafka release, where its JSON lives, and a sha256
//! per file. The JSON itself is never copied into the repository.
//!
//! `schemas/kafka.toml` holds `release` and `source` (relative to the
//! repository root); `schemas/kafka.sha256` is a `sha256sum`-format lock,
//! so `sha256sum -c` can verify a schema directory by hand too.

use std::path::{Path, PathBuf};

use crate::error::GenError;
use crate::fingerprint::{parse_lock, pin_value, sha256_hex};

pub const PIN_FILE: &str = "schemas/kafka.toml";
pub const LOCK_FILE: &str = "schemas/kafka.sha256";
/// Overrides the schema directory, like `--schemas`.
pub const ENV_SCHEMA_DIR: &str = "KWIRE_SCHEMA_DIR";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub release: String,
    /// As written in the pin (relative to the repository root).
    pub source: String,
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
        Ok(Pin {
            release: get("release")?,
            source: get("source")?,
        })
    }

    /// The schema directory: `--schemas`, else `$KWIRE_SCHEMA_DIR`, else the
    /// pin's source relative to the repository root. Any of them may be a
    /// Maven coordinate (`maven:org.apache.kafka:kafka-clients:4.4.0`, or
    /// `maven:4.4.0`): the kafka-clients jar carries the schemas from 2.2.0
    /// on, so a maintainer can regenerate without a Kafka checkout.
    pub fn schema_dir(&self, root: &Path, flag: Option<&Path>) -> Result<PathBuf, GenError> {
        let source = if let Some(f) = flag {
            f.to_string_lossy().into_owned()
        } else if let Some(e) = std::env::var_os(ENV_SCHEMA_DIR) {
            e.to_string_lossy().into_owned()
        } else {
            return resolve_source(root, &self.source);
        };
        if source.starts_with(MAVEN_PREFIX) {
            resolve_source(root, &source)
        } else {
            Ok(PathBuf::from(source))
        }
    }
}

pub const MAVEN_PREFIX: &str = "maven:";

/// A directory source as is (relative to `root`), or a Maven coordinate
/// resolved into `$KWIRE_SCHEMA_CACHE` (default `~/.cache/kwire/schemas`)
/// by `testsupport/kafka/fetch-schemas`, once.
pub fn resolve_source(root: &Path, source: &str) -> Result<PathBuf, GenError> {
    let Some(coord) = source.strip_prefix(MAVEN_PREFIX) else {
        return Ok(root.join(source));
    };
    let parts: Vec<&str> = coord.split(':').collect();
    let version = match parts.as_slice() {
        [v] => *v,
        ["org.apache.kafka", "kafka-clients", v] => *v,
        _ => {
            return Err(GenError::Pin(format!(
            "{source}: expected maven:org.apache.kafka:kafka-clients:<release> or maven:<release>"
        )))
        }
    };
    if version.is_empty()
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(GenError::Pin(format!(
            "{source}: {version:?} is not a release"
        )));
    }
    let cache = std::env::var_os("KWIRE_SCHEMA_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kwire/schemas")))
        .unwrap_or_else(|| std::env::temp_dir().join("kwire-schemas"))
        .join(format!("kafka-clients-{version}"));
    let has_json = |d: &Path| {
        std::fs::read_dir(d)
            .map(|it| {
                it.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
            })
            .unwrap_or(false)
    };
    if !has_json(&cache) {
        let script = root.join("testsupport/kafka/fetch-schemas");
        let staging = cache.with_extension("partial");
        let _ = std::fs::remove_dir_all(&staging);
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg(version)
            .arg(&staging)
            .output()
            .map_err(|e| GenError::Pin(format!("{}: {e}", script.display())))?;
        if !out.status.success() || !has_json(&staging) {
            return Err(GenError::Pin(format!(
                "{source}: could not fetch kafka-clients {version} from Maven Central (needs mvn and python3): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let _ = std::fs::remove_dir_all(&cache);
        std::fs::rename(&staging, &cache).map_err(|e| GenError::Io {
            path: cache.display().to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(cache)
}

/// The schema files of a directory (every `*.json`), sorted by name, with
/// their contents.
pub fn schema_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, GenError> {
    let io = |e: std::io::Error| GenError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && entry.file_type().map_err(io)?.is_file() {
            out.push((name, std::fs::read(entry.path()).map_err(io)?));
        }
    }
    if out.is_empty() {
        return Err(GenError::Pin(format!(
            "{}: no *.json schema files here (point --schemas or ${ENV_SCHEMA_DIR} at a Kafka \
             checkout's clients/src/main/resources/common/message)",
            dir.display()
        )));
    }
    out.sort();
    Ok(out)
}

pub use crate::fingerprint::lock_text;

/// Differences between a lock and a directory's files, as readable lines.
pub fn lock_differences(lock: &str, files: &[(String, Vec<u8>)]) -> Vec<String> {
    let locked = parse_lock(lock);
    let mut out = Vec::new();
    for (name, hash) in &locked {
        match files.iter().find(|(n, _)| n == name) {
            None => out.push(format!(
                "{name}: in the lock, missing from the schema directory"
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
            out.push(format!("{name}: in the schema directory, not in the lock"));
        }
    }
    out
}
