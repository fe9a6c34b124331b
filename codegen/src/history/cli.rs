//! The `history`, `diff` and `matrix` commands: thin I/O around the pure
//! functions of this module.

use std::path::{Path, PathBuf};

use super::data::{Line, LineSource, ReleaseHistory};
use super::{apis_of_model, HISTORY_DIR, LINES_FILE};
use crate::error::GenError;
use crate::model::Model;
use crate::pin::Pin;
use crate::source::SchemaSource;

fn io_err(path: &Path, e: std::io::Error) -> GenError {
    GenError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// A schema source given on the command line: a directory, a Maven
/// release (`maven:4.4.0`, fetched, verified and cached by
/// [`crate::source`]), or `pin` for the pinned release's schemas.
pub fn schema_source(root: &Path, arg: &str) -> Result<SchemaSource, GenError> {
    if arg == "pin" {
        return Pin::read(root)?.pinned_source(root);
    }
    Ok(SchemaSource::parse(arg, Path::new(""))?)
}

/// Reads and models one schema source.
pub fn load_source(root: &Path, arg: &str) -> Result<Model, GenError> {
    let source = schema_source(root, arg)?;
    // The pinned release's jar is checked against the lock; any other
    // release against Maven's published checksum.
    let lock = crate::pin::read_lock(root);
    let jar_sha = match (&lock, source.jar_file_name()) {
        (Some(l), Some(f)) => crate::pin::locked_jar_sha256(l, &f),
        _ => None,
    };
    let schemas = source.load(jar_sha.as_deref())?;
    crate::run::load_model(&schemas.files)
}

/// The history files as they are in the working tree, checked.
pub fn load(root: &Path) -> Result<ReleaseHistory, GenError> {
    let h = load_unchecked(root)?;
    h.validate()?;
    Ok(h)
}

/// The history files as they are in the working tree, not yet checked.
pub fn load_unchecked(root: &Path) -> Result<ReleaseHistory, GenError> {
    let dir = root.join(HISTORY_DIR);
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| io_err(&p, e))
    };
    ReleaseHistory::parse_texts(
        &read(super::PRE_JSON_FILE)?,
        &read(LINES_FILE)?,
        &read(super::FEATURES_FILE)?,
        &read(super::PATCHES_FILE)?,
    )
}

/// `(line, source)` pairs: every subdirectory of `lines_dir` (named after
/// its release line, `trunk` included) and each `NAME=SOURCE` of `extra`.
pub fn line_sources(
    lines_dir: Option<&Path>,
    extra: &[String],
) -> Result<Vec<(String, String)>, GenError> {
    let mut out = Vec::new();
    if let Some(dir) = lines_dir {
        let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
        for e in entries {
            let e = e.map_err(|e| io_err(dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let is_line =
                name == super::TRUNK || super::data::split_release(&format!("{name}.0")).is_some();
            if e.path().is_dir() && is_line {
                out.push((name, e.path().display().to_string()));
            }
        }
    }
    for x in extra {
        let (name, source) = x.split_once('=').ok_or_else(|| {
            GenError::Pin(format!(
                "--line {x:?}: expected LINE=SOURCE, e.g. 4.5=maven:4.5.0"
            ))
        })?;
        out.push((name.to_string(), source.to_string()));
    }
    out.sort_by(|a, b| super::cmp_lines(&a.0, &b.0));
    Ok(out)
}

/// Derives the given lines from their schemas and merges them into the
/// history. Returns the history and, per line, what differed from before.
pub fn refresh(
    root: &Path,
    mut history: ReleaseHistory,
    sources: &[(String, String)],
) -> Result<(ReleaseHistory, Vec<String>), GenError> {
    let mut changes = Vec::new();
    for (name, source) in sources {
        let model = load_source(root, source)?;
        let line = Line {
            release: name.clone(),
            source: LineSource::Schemas,
            apis: apis_of_model(&model)?,
        };
        match history.line(name) {
            Some(old) if *old == line => {}
            Some(old) => {
                for a in &line.apis {
                    if old.api(a.key) != Some(a) {
                        changes.push(format!("{name}: {}", super::data::format_row(a)));
                    }
                }
                for a in &old.apis {
                    if line.api(a.key).is_none() {
                        changes.push(format!("{name}: api key {} is gone", a.key));
                    }
                }
            }
            None => changes.push(format!("{name}: new line ({} api keys)", line.apis.len())),
        }
        history.put_line(line);
    }
    history.validate()?;
    Ok((history, changes))
}

pub fn write_lines(root: &Path, history: &ReleaseHistory) -> Result<PathBuf, GenError> {
    let p = root.join(HISTORY_DIR).join(LINES_FILE);
    std::fs::write(&p, history.lines_toml()).map_err(|e| io_err(&p, e))?;
    Ok(p)
}
