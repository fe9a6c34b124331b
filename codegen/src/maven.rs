//! Jars from a Maven repository (Maven Central by default), verified and
//! cached, without `mvn`.
//!
//! A jar is looked for, in order, in kwire's cache, in the local Maven
//! repository (`~/.m2/repository`, only when a sha256 is expected: Maven
//! itself does not guarantee what it left there), then downloaded over
//! HTTPS from `$KWIRE_MAVEN_URL` (default Maven Central; proxies from
//! `HTTPS_PROXY`/`ALL_PROXY`; certificates checked against the operating
//! system's store) into the cache. A download is verified before
//! it is renamed into the cache: against the sha256 the caller expects (the
//! lock), or, for a release nobody locked yet, against the checksum the
//! repository publishes beside it (`.sha256`, else `.sha1`: Maven Central
//! has `.sha256` files only for newer uploads, e.g. not for 2.2.0).

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha1::Digest as _;

use crate::cache::{Cache, CacheError, ENV_CACHE_DIR};
use crate::fingerprint::hex;

/// Overrides the Maven repository (a mirror or a proxy of Maven Central).
pub const ENV_MAVEN_URL: &str = "KWIRE_MAVEN_URL";
pub const MAVEN_CENTRAL: &str = "https://repo1.maven.org/maven2";
/// A kafka-clients jar is about 11 MB; anything far larger is not one, and
/// stopping keeps a broken mirror from filling the disk.
pub const MAX_ARTIFACT_BYTES: u64 = 256 << 20;
/// A checksum file is one hex digest and perhaps a file name.
const MAX_CHECKSUM_BYTES: u64 = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// No byte for this long: the transfer is stuck.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The whole exchange, body included.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(600);

/// Maven coordinates of a jar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub group: String,
    pub artifact: String,
    pub version: String,
}

impl Artifact {
    /// `org.apache.kafka:kafka-clients:<version>`, whose jar carries the
    /// message schemas under `common/message/` from 2.2.0 on.
    pub fn kafka_clients(version: &str) -> Result<Artifact, MavenError> {
        let ok = !version.is_empty()
            && !version.starts_with('.')
            && !version.contains("..")
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !ok {
            return Err(MavenError::BadVersion(version.to_string()));
        }
        Ok(Artifact {
            group: "org.apache.kafka".into(),
            artifact: "kafka-clients".into(),
            version: version.to_string(),
        })
    }

    /// `kafka-clients-4.4.0.jar`: the name the lock records.
    pub fn file_name(&self) -> String {
        format!("{}-{}.jar", self.artifact, self.version)
    }

    /// The jar's path in a Maven repository layout.
    pub fn repo_path(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.group.replace('.', "/"),
            self.artifact,
            self.version,
            self.file_name()
        )
    }
}

impl std::fmt::Display for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.group, self.artifact, self.version)
    }
}

/// What a jar must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The sha256 recorded in a lock.
    Sha256(String),
    /// Nothing recorded yet: the repository's own published checksum.
    Published,
}

/// Where a verified jar was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Cache,
    LocalRepository,
    Downloaded { url: String },
}

/// A jar on disk whose sha256 was checked in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedJar {
    pub artifact: Artifact,
    pub path: PathBuf,
    pub sha256: String,
    pub found: Found,
}

impl std::fmt::Display for VerifiedJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = match &self.found {
            Found::Cache => "cached".to_string(),
            Found::LocalRepository => "local Maven repository".to_string(),
            Found::Downloaded { url } => format!("downloaded from {url}"),
        };
        write!(
            f,
            "{} (sha256 {}, {from}: {})",
            self.artifact.file_name(),
            self.sha256,
            self.path.display()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MavenError {
    #[error("{0:?} is not a release version (letters, digits, '.', '-', '_')")]
    BadVersion(String),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(
        "{artifact} is not available; tried:\n{}\n    set {ENV_MAVEN_URL} to a reachable Maven \
         repository or mirror (now {base_url}), or {ENV_CACHE_DIR} to a directory that holds \
         {cache_path}",
        .tried.iter().map(|t| format!("    - {t}")).collect::<Vec<_>>().join("\n")
    )]
    Unavailable {
        artifact: String,
        tried: Vec<String>,
        base_url: String,
        cache_path: String,
        #[source]
        source: Box<DownloadError>,
    },
    /// The repository served different bytes than expected: never used.
    #[error("{artifact} failed verification; nothing was cached")]
    Verification {
        artifact: String,
        #[source]
        source: Box<DownloadError>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("GET {url}")]
    Request {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("GET {url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: reading the response")]
    Body {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("GET {url}: more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: {algorithm} is {found}, but {against} says {expected}")]
    Mismatch {
        url: String,
        algorithm: &'static str,
        expected: String,
        found: String,
        against: &'static str,
    },
    #[error("{url}: the repository publishes no usable checksum (.sha256 or .sha1) to verify it against")]
    NoPublishedChecksum {
        url: String,
        #[source]
        source: Box<DownloadError>,
    },
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// A Maven repository plus kwire's cache.
#[derive(Debug, Clone)]
pub struct Maven {
    base_url: String,
    cache: Cache,
    local_repo: Option<PathBuf>,
    agent: ureq::Agent,
}

impl Maven {
    /// `$KWIRE_MAVEN_URL` (default Maven Central), the user's cache and
    /// `~/.m2/repository`.
    pub fn from_env() -> Result<Maven, MavenError> {
        let base = std::env::var(ENV_MAVEN_URL)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| MAVEN_CENTRAL.to_string());
        let local = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".m2/repository"));
        Ok(Maven::new(&base, Cache::from_env()?).with_local_repository(local))
    }

    pub fn new(base_url: &str, cache: Cache) -> Maven {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .timeout_global(Some(TOTAL_TIMEOUT))
            .user_agent(concat!("kwire-codegen/", env!("CARGO_PKG_VERSION")))
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .into();
        Maven {
            base_url: base_url.trim().trim_end_matches('/').to_string(),
            cache,
            local_repo: None,
            agent,
        }
    }

    pub fn with_local_repository(mut self, dir: Option<PathBuf>) -> Maven {
        self.local_repo = dir;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The jar, verified: from the cache, the local Maven repository or the
    /// network (see the module docs).
    pub fn fetch(&self, artifact: &Artifact, expect: &Expect) -> Result<VerifiedJar, MavenError> {
        let rel = format!("maven/{}", artifact.repo_path());
        let verified = |path: PathBuf, sha256: String, found: Found| VerifiedJar {
            artifact: artifact.clone(),
            path,
            sha256,
            found,
        };
        let mut tried = Vec::new();
        let cached = self.cache.path_of(&rel);
        match sha256_file(&cached) {
            Ok(h) => match expect {
                Expect::Sha256(want) if *want != h => tried.push(format!(
                    "cache {}: sha256 {h}, not the expected {want} (replacing it)",
                    cached.display()
                )),
                // Only verified files are ever renamed into the cache.
                _ => return Ok(verified(cached, h, Found::Cache)),
            },
            Err(e) => tried.push(format!("cache {}: {}", cached.display(), absent_or(&e))),
        }
        match (&self.local_repo, expect) {
            (Some(repo), Expect::Sha256(want)) => {
                let p = repo.join(artifact.repo_path());
                match sha256_file(&p) {
                    Ok(h) if h == *want => return Ok(verified(p, h, Found::LocalRepository)),
                    Ok(h) => tried.push(format!(
                        "local Maven repository {}: sha256 {h}, not the expected {want}",
                        p.display()
                    )),
                    Err(e) => tried.push(format!(
                        "local Maven repository {}: {}",
                        p.display(),
                        absent_or(&e)
                    )),
                }
            }
            (Some(_), Expect::Published) => {
                tried.push("local Maven repository: not used without a locked sha256".into())
            }
            (None, _) => {}
        }
        let url = format!("{}/{}", self.base_url, artifact.repo_path());
        match self.download(&url, &rel, expect) {
            Ok((path, sha256)) => Ok(verified(path, sha256, Found::Downloaded { url })),
            Err(e @ DownloadError::Mismatch { .. }) => Err(MavenError::Verification {
                artifact: artifact.to_string(),
                source: Box::new(e),
            }),
            Err(e) => {
                tried.push(format!("download {url}: failed (below)"));
                Err(MavenError::Unavailable {
                    artifact: artifact.to_string(),
                    tried,
                    base_url: self.base_url.clone(),
                    cache_path: rel,
                    source: Box::new(e),
                })
            }
        }
    }

    fn get(&self, url: &str) -> Result<ureq::Body, DownloadError> {
        match self.agent.get(url).call() {
            Ok(r) => Ok(r.into_body()),
            Err(ureq::Error::StatusCode(status)) => Err(DownloadError::Status {
                url: url.to_string(),
                status,
            }),
            Err(e) => Err(DownloadError::Request {
                url: url.to_string(),
                source: Box::new(e),
            }),
        }
    }

    /// Streams `url` into the cache under `rel`, hashing on the way; the
    /// file is renamed into place only once verified.
    fn download(
        &self,
        url: &str,
        rel: &str,
        expect: &Expect,
    ) -> Result<(PathBuf, String), DownloadError> {
        let body = self.get(url)?;
        let mut pending = self.cache.begin(rel)?;
        let mut reader = body.into_reader();
        let mut sha256 = sha2::Sha256::new();
        let mut sha1 = sha1::Sha1::new();
        let mut total: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|source| DownloadError::Body {
                    url: url.to_string(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > MAX_ARTIFACT_BYTES {
                return Err(DownloadError::TooLarge {
                    url: url.to_string(),
                    limit: MAX_ARTIFACT_BYTES,
                });
            }
            sha256.update(&buf[..n]);
            sha1.update(&buf[..n]);
            let dest = pending.dest().to_path_buf();
            pending
                .file()
                .write_all(&buf[..n])
                .map_err(|source| CacheError::Io { path: dest, source })?;
        }
        let found256 = hex(&sha256.finalize());
        let mismatch = |algorithm, expected: &str, found: &str, against| DownloadError::Mismatch {
            url: url.to_string(),
            algorithm,
            expected: expected.to_string(),
            found: found.to_string(),
            against,
        };
        match expect {
            Expect::Sha256(want) => {
                if *want != found256 {
                    return Err(mismatch("sha256", want, &found256, "the lock"));
                }
            }
            Expect::Published => {
                let (algorithm, published) = self.published_checksum(url)?;
                let found = if algorithm == "sha256" {
                    found256.clone()
                } else {
                    hex(&sha1.finalize())
                };
                if published != found {
                    return Err(mismatch(
                        algorithm,
                        &published,
                        &found,
                        "the repository's checksum file",
                    ));
                }
            }
        }
        Ok((pending.commit()?, found256))
    }

    /// The `.sha256` published beside `url`, else its `.sha1`.
    fn published_checksum(&self, url: &str) -> Result<(&'static str, String), DownloadError> {
        let mut last = None;
        for (algorithm, ext, len) in [("sha256", "sha256", 64), ("sha1", "sha1", 40)] {
            let sum_url = format!("{url}.{ext}");
            let text = self.get(&sum_url).and_then(|body| {
                let mut s = String::new();
                body.into_reader()
                    .take(MAX_CHECKSUM_BYTES)
                    .read_to_string(&mut s)
                    .map_err(|source| DownloadError::Body {
                        url: sum_url.clone(),
                        source,
                    })?;
                Ok(s)
            });
            match text {
                Ok(t) => {
                    let digest = t
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if digest.len() == len && digest.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Ok((algorithm, digest));
                    }
                    last = Some(DownloadError::Status {
                        url: sum_url,
                        status: 200,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(DownloadError::NoPublishedChecksum {
            url: url.to_string(),
            source: Box::new(last.unwrap_or(DownloadError::TooLarge {
                url: url.to_string(),
                limit: MAX_CHECKSUM_BYTES,
            })),
        })
    }
}

fn absent_or(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "absent".into()
    } else {
        e.to_string()
    }
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_and_paths() {
        let a = Artifact::kafka_clients("4.4.0").unwrap();
        assert_eq!(a.to_string(), "org.apache.kafka:kafka-clients:4.4.0");
        assert_eq!(a.file_name(), "kafka-clients-4.4.0.jar");
        assert_eq!(
            a.repo_path(),
            "org/apache/kafka/kafka-clients/4.4.0/kafka-clients-4.4.0.jar"
        );
        for bad in ["", "../4.4.0", "4.4/0", "4..4", ".4", "4.4.0 "] {
            assert!(
                matches!(Artifact::kafka_clients(bad), Err(MavenError::BadVersion(_))),
                "{bad:?} accepted"
            );
        }
    }
}
