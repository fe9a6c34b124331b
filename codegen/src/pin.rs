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
    /// pin's source relative to the repository root.
    pub fn schema_dir(&self, root: &Path, flag: Option<&Path>) -> PathBuf {
        if let Some(f) = flag {
            return f.to_path_buf();
        }
        if let Some(e) = std::env::var_os(ENV_SCHEMA_DIR) {
            return PathBuf::from(e);
        }
        root.join(&self.source)
    }
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
