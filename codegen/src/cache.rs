//! kwire's user cache: where fetched artifacts stay between runs.
//!
//! `$KWIRE_CACHE_DIR`, else `$XDG_CACHE_HOME/kwire`, else `~/.cache/kwire`
//! (the XDG base directory convention; the Kafka test support keeps its
//! brokers under the same `~/.cache/kwire`). Files enter the cache only
//! through [`Pending::commit`]: written to a temporary file beside their
//! final place, checked by the caller, then renamed, so a reader never sees
//! a half-written or unverified file, and two runs racing each other both
//! end with a complete one.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Overrides the cache directory.
pub const ENV_CACHE_DIR: &str = "KWIRE_CACHE_DIR";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache directory: set ${ENV_CACHE_DIR} (neither XDG_CACHE_HOME nor HOME is set)")]
    NoDirectory,
    #[error("cache {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The user's cache (see the module docs for the order).
    pub fn from_env() -> Result<Cache, CacheError> {
        let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(dir) = non_empty(ENV_CACHE_DIR) {
            return Ok(Cache::at(dir));
        }
        if let Some(xdg) = non_empty("XDG_CACHE_HOME") {
            return Ok(Cache::at(PathBuf::from(xdg).join("kwire")));
        }
        match non_empty("HOME") {
            Some(home) => Ok(Cache::at(PathBuf::from(home).join(".cache/kwire"))),
            None => Err(CacheError::NoDirectory),
        }
    }

    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `rel` (a `/`-separated relative path) lives in the cache.
    pub fn path_of(&self, rel: &str) -> PathBuf {
        rel.split('/')
            .filter(|c| !c.is_empty())
            .fold(self.root.clone(), |p, c| p.join(c))
    }

    /// Starts writing `rel`: nothing is visible under its name until
    /// [`Pending::commit`].
    pub fn begin(&self, rel: &str) -> Result<Pending, CacheError> {
        let dest = self.path_of(rel);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".partial-");
        // Readable by all like any downloaded file (tempfile's default is
        // owner-only), so a cache shared between users works.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let file = builder.tempfile_in(&dir).map_err(io(&dir))?;
        Ok(Pending { file, dest })
    }
}

/// A file being written into the cache. Dropped without a commit, it is
/// deleted.
#[derive(Debug)]
pub struct Pending {
    file: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl Pending {
    pub fn file(&mut self) -> &mut File {
        self.file.as_file_mut()
    }

    /// Where the file will be once committed.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes the file to disk and renames it into place (replacing an
    /// older copy atomically).
    pub fn commit(mut self) -> Result<PathBuf, CacheError> {
        let tmp = self.file.path().to_path_buf();
        self.file.as_file_mut().flush().map_err(io(&tmp))?;
        self.file.as_file().sync_all().map_err(io(&tmp))?;
        self.file.persist(&self.dest).map_err(|e| CacheError::Io {
            path: self.dest.clone(),
            source: e.error,
        })?;
        Ok(self.dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_visible_before_commit_and_a_dropped_write_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path());
        let mut p = cache.begin("maven/a/b/x.jar").unwrap();
        p.file().write_all(b"half").unwrap();
        let dest = cache.path_of("maven/a/b/x.jar");
        assert!(!dest.exists());
        drop(p);
        assert!(!dest.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap()).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        let mut p = cache.begin("maven/a/b/x.jar").unwrap();
        p.file().write_all(b"whole").unwrap();
        assert_eq!(p.commit().unwrap(), dest);
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");

        let mut p = cache.begin("maven/a/b/x.jar").unwrap();
        p.file().write_all(b"newer").unwrap();
        p.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"newer");
    }
}
