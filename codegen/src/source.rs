//! Where schema JSON comes from: a directory (a Kafka checkout's
//! `clients/src/main/resources/common/message`, a release's extracted
//! schemas), or a release's `kafka-clients` jar, read in place from the
//! cache (see [`crate::maven`]). The rest of the generator asks this module
//! for [`Schemas`] and never cares which it was.
//!
//! ```no_run
//! // The schema files of any Kafka release (2.2.0 and later), e.g. to
//! // compare releases: fetched once, verified, then read from the cache.
//! let schemas = kwire_codegen::source::kafka_release("3.9.1")?;
//! println!("{} files from {}", schemas.files.len(), schemas.origin);
//! # Ok::<(), kwire_codegen::source::SourceError>(())
//! ```

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::maven::{Artifact, Expect, Maven, MavenError, VerifiedJar};

/// Spelling of a jar source: `maven:<release>` or the full coordinate
/// `maven:org.apache.kafka:kafka-clients:<release>`.
pub const MAVEN_PREFIX: &str = "maven:";
/// Where the jar keeps the schemas.
pub const JAR_SCHEMA_DIR: &str = "common/message/";
/// The largest schema file is about 40 KB; a larger entry is not a schema,
/// and reading it whole would let a bad jar take memory at will.
pub const MAX_SCHEMA_BYTES: u64 = 4 << 20;

/// A source of schema files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSource {
    Dir(PathBuf),
    /// The `org.apache.kafka:kafka-clients` jar of a release.
    KafkaClients {
        version: String,
    },
}

/// Schema files (name, contents), sorted by name, and where they came from.
#[derive(Debug, Clone)]
pub struct Schemas {
    pub files: Vec<(String, Vec<u8>)>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub enum Origin {
    Dir(PathBuf),
    Jar(VerifiedJar),
}

impl Origin {
    /// The verified jar, when the schemas came from one.
    pub fn jar(&self) -> Option<&VerifiedJar> {
        match self {
            Origin::Jar(j) => Some(j),
            Origin::Dir(_) => None,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Dir(d) => write!(f, "{}", d.display()),
            Origin::Jar(j) => write!(f, "{j}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "{0:?}: expected maven:org.apache.kafka:kafka-clients:<release>, maven:<release> or a directory"
    )]
    BadSpec(String),
    #[error(
        "the schemas of kafka-clients {version} could not be had (a directory of schema JSON \
         works too: KWIRE_SCHEMA_DIR=DIR or --schemas DIR)"
    )]
    Maven {
        version: String,
        #[source]
        source: Box<MavenError>,
    },
    #[error("schema directory {path}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("opening {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable jar")]
    Jar {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{path}: entry {entry}")]
    JarEntry {
        path: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: entry {entry} is larger than {MAX_SCHEMA_BYTES} bytes: not a schema")]
    EntryTooLarge { path: PathBuf, entry: String },
    #[error(
        "{origin}: no *.json schema files (point --schemas or $KWIRE_SCHEMA_DIR at a Kafka \
         checkout's clients/src/main/resources/common/message; kafka-clients jars carry them from 2.2.0 on)"
    )]
    Empty { origin: String },
}

impl SchemaSource {
    /// Parses a source as written in the pin, `--schemas` or
    /// `$KWIRE_SCHEMA_DIR`; a relative directory is taken from `base`.
    pub fn parse(spec: &str, base: &Path) -> Result<SchemaSource, SourceError> {
        let Some(coord) = spec.strip_prefix(MAVEN_PREFIX) else {
            return Ok(SchemaSource::Dir(base.join(spec)));
        };
        let version = match coord.split(':').collect::<Vec<_>>().as_slice() {
            [v] => *v,
            ["org.apache.kafka", "kafka-clients", v] => *v,
            _ => return Err(SourceError::BadSpec(spec.to_string())),
        };
        // Validated here so a bad pin fails before anything is fetched.
        Artifact::kafka_clients(version).map_err(|source| SourceError::Maven {
            version: version.to_string(),
            source: Box::new(source),
        })?;
        Ok(SchemaSource::KafkaClients {
            version: version.to_string(),
        })
    }

    /// The canonical spelling (what the pin holds).
    pub fn spec(&self) -> String {
        match self {
            SchemaSource::Dir(d) => d.display().to_string(),
            SchemaSource::KafkaClients { version } => {
                format!("{MAVEN_PREFIX}org.apache.kafka:kafka-clients:{version}")
            }
        }
    }

    /// The jar's file name as the lock records it (jar sources only).
    pub fn jar_file_name(&self) -> Option<String> {
        match self {
            SchemaSource::KafkaClients { version } => {
                Artifact::kafka_clients(version).ok().map(|a| a.file_name())
            }
            SchemaSource::Dir(_) => None,
        }
    }

    /// Reads the schema files. A jar comes from the repository configured
    /// by the environment ([`Maven::from_env`]) and must hash to
    /// `jar_sha256` when one is given (the lock), else to the repository's
    /// published checksum.
    pub fn load(&self, jar_sha256: Option<&str>) -> Result<Schemas, SourceError> {
        match self {
            SchemaSource::Dir(d) => load_dir(d),
            SchemaSource::KafkaClients { version } => {
                let maven = Maven::from_env().map_err(|source| SourceError::Maven {
                    version: version.clone(),
                    source: Box::new(source),
                })?;
                self.load_from(&maven, jar_sha256)
            }
        }
    }

    /// [`SchemaSource::load`] with an explicit repository and cache.
    pub fn load_from(
        &self,
        maven: &Maven,
        jar_sha256: Option<&str>,
    ) -> Result<Schemas, SourceError> {
        match self {
            SchemaSource::Dir(d) => load_dir(d),
            SchemaSource::KafkaClients { version } => {
                let maven_err = |source| SourceError::Maven {
                    version: version.clone(),
                    source: Box::new(source),
                };
                let artifact = Artifact::kafka_clients(version).map_err(maven_err)?;
                let expect = match jar_sha256 {
                    Some(h) => Expect::Sha256(h.to_string()),
                    None => Expect::Published,
                };
                let jar = maven.fetch(&artifact, &expect).map_err(maven_err)?;
                let files = read_jar(&jar.path)?;
                non_empty(Schemas {
                    files,
                    origin: Origin::Jar(jar),
                })
            }
        }
    }
}

/// The schema files of Kafka release `version` (e.g. `"3.9.1"`; 2.2.0 and
/// later): its kafka-clients jar from the cache or the configured Maven
/// repository, verified against the repository's published checksum.
pub fn kafka_release(version: &str) -> Result<Schemas, SourceError> {
    SchemaSource::KafkaClients {
        version: version.to_string(),
    }
    .load(None)
}

fn non_empty(s: Schemas) -> Result<Schemas, SourceError> {
    if s.files.is_empty() {
        return Err(SourceError::Empty {
            origin: s.origin.to_string(),
        });
    }
    Ok(s)
}

/// Every `*.json` file of a directory, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Schemas, SourceError> {
    let err = |source| SourceError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    let files = crate::fingerprint::read_schema_dir(dir).map_err(err)?;
    non_empty(Schemas {
        files,
        origin: Origin::Dir(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())),
    })
}

/// The `common/message/*.json` entries of a jar (not those of deeper
/// directories), sorted by file name, read in place.
pub fn read_jar(path: &Path) -> Result<Vec<(String, Vec<u8>)>, SourceError> {
    let file = std::fs::File::open(path).map_err(|source| SourceError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let jar_err = |source| SourceError::Jar {
        path: path.to_path_buf(),
        source,
    };
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(jar_err)?;
    // Chosen by name first: other entries are never decompressed.
    let mut wanted = Vec::new();
    for name in zip.file_names() {
        let full = name.map_err(jar_err)?;
        let is_schema = full
            .strip_prefix(JAR_SCHEMA_DIR)
            .is_some_and(|n| !n.contains('/') && n.ends_with(".json"));
        if is_schema {
            wanted.push(full.into_owned());
        }
    }
    let mut files = Vec::new();
    for full in wanted {
        let mut entry = zip.by_name(&full).map_err(jar_err)?;
        if !entry.is_file() {
            continue;
        }
        let name = full[JAR_SCHEMA_DIR.len()..].to_string();
        let mut data = Vec::new();
        // One byte over the limit tells "too large" from "exactly the limit".
        (&mut entry)
            .take(MAX_SCHEMA_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|source| SourceError::JarEntry {
                path: path.to_path_buf(),
                entry: full.clone(),
                source,
            })?;
        if data.len() as u64 > MAX_SCHEMA_BYTES {
            return Err(SourceError::EntryTooLarge {
                path: path.to_path_buf(),
                entry: full,
            });
        }
        files.push((name, data));
    }
    files.sort();
    Ok(files)
}
